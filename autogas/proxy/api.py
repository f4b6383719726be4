"""Scoring any ``torch.nn.Module`` with a proxy (text, graph, JSON path or Python callable)."""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn

from autogas.errors import AutogasError
from autogas.measure.features import DEFAULT_MAX_DIMS, collect_features, default_layer_filter
from autogas.proxy.evaluate import ProxyLike, evaluate_proxy
from autogas.proxy.graph import ProxyGraph, load_proxy


def _as_proxy(proxy: ProxyLike) -> ProxyGraph | Callable:
    return proxy if callable(proxy) and not isinstance(proxy, ProxyGraph) else load_proxy(proxy)


def score_modules(
    proxy: ProxyLike,
    modules: Sequence[nn.Module],
    inputs: torch.Tensor,
    *,
    layer_filter: Callable[[str, nn.Module], bool] = default_layer_filter,
    max_dims: int | None = DEFAULT_MAX_DIMS,
    seed: int = 0,
) -> np.ndarray:
    """Proxy scores of several networks on the same ``inputs`` (NaN everywhere if invalid).

    Features follow :func:`autogas.measure.features.collect_features` (inputs of activation modules by
    default). Population-level ops (rank/z combinations) rank the given networks among
    themselves.
    """
    proxy = _as_proxy(proxy)
    feature_sets = []
    for i, module in enumerate(modules):
        fs = collect_features(module, inputs, max_dims=max_dims, seed=seed,
                              layer_filter=layer_filter)
        if len(fs) == 0:
            raise AutogasError(f"module {i} has no feature layers under the layer filter")
        feature_sets.append(fs)
    if len(feature_sets) < 2 and isinstance(proxy, ProxyGraph) and proxy.uses_population:
        raise AutogasError(f"proxy '{proxy.text}' compares architectures (rank/z combination); "
                           "score several modules together with score_modules")
    return evaluate_proxy(proxy, feature_sets).values


def score_module(
    proxy: ProxyLike,
    module: nn.Module,
    inputs: torch.Tensor,
    *,
    layer_filter: Callable[[str, nn.Module], bool] = default_layer_filter,
    max_dims: int | None = DEFAULT_MAX_DIMS,
    seed: int = 0,
) -> float:
    """Proxy score of one network on ``inputs``; NaN if the proxy is invalid on it."""
    return float(score_modules(proxy, [module], inputs, layer_filter=layer_filter,
                               max_dims=max_dims, seed=seed)[0])
