"""One proxy interface and one resolver for every ``--proxy`` argument.

Every proxy autogas scores networks with, a proxy-language graph (:class:`ProxyGraph`) or a
baseline (:class:`Baseline`), is a :class:`NetworkProxy`: it has a ``name`` and is called as
``proxy(model, inputs, seed=0) -> float`` (NaN, or for a baseline an exception, where it cannot
score that network). Graphs additionally score cached features (:func:`autogas.score.score_on_cache`).
"""
from __future__ import annotations

import os
from typing import Protocol, runtime_checkable

import torch
from torch import nn

from autogas.baselines import Baseline, get_baseline, is_baseline
from autogas.proxy import ProxyGraph, load_proxy


@runtime_checkable
class NetworkProxy(Protocol):
    """What every proxy is (see the module doc), as NASLib's predictors share one ``query``."""

    @property
    def name(self) -> str: ...

    def __call__(self, model: nn.Module, inputs: torch.Tensor, *, seed: int = 0) -> float: ...


def resolve_proxy(spec: str | os.PathLike | ProxyGraph | Baseline) -> ProxyGraph | Baseline:
    """``spec`` as a :class:`Baseline` (a registered name such as ``nwot`` or ``snip``) or a
    :class:`ProxyGraph` (proxy text or a proxy JSON file). Baseline names win over graph text;
    bad text raises :class:`AutogasError`."""
    if isinstance(spec, (ProxyGraph, Baseline)):
        return spec
    text = os.fspath(spec).strip()
    if is_baseline(text):
        return get_baseline(text)
    return load_proxy(text)
