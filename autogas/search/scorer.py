"""Training-free scoring of search-space networks: seeded build, one hooked forward, proxy value.

A candidate is scored under the same rules as the TransNAS-Bench-101 feature cache
(:mod:`autogas.transnas.build`), so a proxy score means the same thing in both places:

1. the network of ``arch`` is built by its space with the init seed
   ``init_seed(seed, space.to_string(arch))`` (depends only on the global seed and the
   architecture, never on order or resumption);
2. it runs in train mode under ``torch.inference_mode`` on the fixed input batch of
   :func:`autogas.measure.inputs.input_batch` (``batch`` images at ``resolution``, seeded), the whole
   batch in one forward pass, on the chosen device;
3. the hooked features follow :func:`autogas.measure.features.collect_features` (inputs of activation
   modules, at most ``max_dims`` coordinates per layer drawn with ``seed``; the default is the
   cache's, :data:`autogas.measure.features.DEFAULT_MAX_DIMS`), and the proxy is
   evaluated on that one network.

Baseline proxies (``--proxy nwot``, ``snip``, ``synflow``, ... from :mod:`autogas.baselines`)
score the built network themselves: step 1 is the same, but a gradient baseline runs its own
forward/backward passes (not under inference mode) and a baseline that fails on a network
(e.g. a reconstruction loss on a discriminator's patch output) gives NaN.

Proxies that compare architectures (rank/z combinations, ``ProxyGraph.uses_population``) are
rejected by :func:`resolve_proxy`: their value for a candidate would depend on which other
candidates were scored with it, so a ranking could not be resumed or extended and a search's
fitness would drift between generations.

Two input domains: CycleGAN has two translation directions; :func:`domain_batches` gives each
its own batch (a folder per domain, or by default two disjoint halves of the packaged photos)
so the two directions' fitness can differ.
"""
from __future__ import annotations

import dataclasses
import os
import time
from typing import Callable

import torch
from torch import nn

from autogas.baselines import Baseline
from autogas.errors import AutogasError
from autogas.images import crop_batch, load_rgb
from autogas.measure.device import resolve_device
from autogas.measure.features import DEFAULT_MAX_DIMS, FeatureSet, collect_features
from autogas.measure.inputs import input_batch, packaged_image_paths
from autogas.measure.seeds import init_seed
from autogas.proxy import ProxyGraph, evaluate_proxy
from autogas.score.resolve import resolve_proxy as resolve_named_proxy
from autogas.spaces import SearchSpace, get_space
from autogas.spaces.base import Arch

ProxyScorer = ProxyGraph | Baseline | Callable[[FeatureSet], float]
BASELINE_ERRORS = (RuntimeError, ValueError, ArithmeticError, IndexError)


def resolve_proxy(spec: str | os.PathLike | ProxyGraph | Baseline | Callable[[FeatureSet], float],
                  ) -> ProxyScorer:
    """The one place that turns ``--proxy`` into something that scores one network.

    ``spec`` is a baseline name (``nwot``, ``snip``, ... of :mod:`autogas.baselines`), a proxy
    JSON file, proxy text, a :class:`ProxyGraph`, a :class:`Baseline`, or a Python callable
    ``FeatureSet -> float``; names and text go through :func:`autogas.score.resolve.resolve_proxy`.
    Population-level graphs are rejected (see the module doc).
    """
    if callable(spec) and not isinstance(spec, (ProxyGraph, Baseline)):
        return spec
    proxy = resolve_named_proxy(spec)
    if isinstance(proxy, ProxyGraph) and proxy.uses_population:
        raise AutogasError(f"proxy '{proxy.text}' compares architectures (rank/z combination), so a "
                           "candidate's score would depend on the others; rank and search need a "
                           "per-architecture proxy")
    return proxy


def proxy_name(proxy: ProxyScorer) -> str:
    """Canonical text of a graph, the name of a baseline, or the name of a callable."""
    if isinstance(proxy, ProxyGraph):
        return proxy.text
    if isinstance(proxy, Baseline):
        return proxy.name
    return getattr(proxy, "__name__", repr(proxy))


def open_space(name: str, *, part: str = "generator", n_cells: int | None = None,
               hidden: int | None = None, config_set: str | None = None) -> SearchSpace:
    """The search space ``name`` with only the options that apply to it.

    CycleGANAS takes ``part``, ``n_cells`` and ``hidden``; GAN-Compression takes ``config_set``
    (its widths are the architecture). An option given to the wrong space is an error.
    """
    if name == "gan-compression":
        if hidden is not None or n_cells is not None:
            raise AutogasError("gan-compression: --hidden and --n-cells do not apply "
                               "(the 8 widths are the architecture)")
        return get_space(name, config_set=config_set or "channels-32")
    if name == "cyclegan":
        if config_set is not None:
            raise AutogasError("cyclegan: --config-set applies to gan-compression only")
        options = {"part": part, "n_cells": n_cells if part == "generator" else None}
        return get_space(name, **options, **({} if hidden is None else {"hidden": hidden}))
    return get_space(name)  # raises the "unknown search space" error


def domain_batches(images_a: str | None, images_b: str | None, *, batch: int, resolution: int,
                   seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Input batches of domains A and B.

    A folder given for a domain is used as in :func:`autogas.measure.inputs.input_batch`. A domain
    without a folder uses its half of the packaged photographs: A the first four (astronaut,
    chelsea, coffee, rocket), B the last three (retina, hubble_deep_field, ihc), cropped with
    the same seeded rule.
    """
    if batch < 1 or resolution < 8:
        raise AutogasError(f"batch must be >= 1 and resolution >= 8 (got {batch}, {resolution})")
    paths = packaged_image_paths()
    halves = (paths[:4], paths[4:])
    out = []
    for folder, half in zip((images_a, images_b), halves):
        if folder is not None:
            out.append(input_batch(str(folder), batch, resolution, seed))
        else:
            out.append(crop_batch([load_rgb(p) for p in half], batch, resolution, seed))
    return out[0], out[1]


@dataclasses.dataclass(frozen=True)
class CandidateScore:
    """Proxy score of one architecture and where the time went (seconds)."""

    arch: str
    score: float
    build_seconds: float
    forward_seconds: float  # hooked forward pass and feature reduction
    proxy_seconds: float

    @property
    def seconds(self) -> float:
        return self.build_seconds + self.forward_seconds + self.proxy_seconds


class GeneratorScorer:
    """Scores architectures of ``space`` with ``proxy`` on a fixed input batch (see module doc).

    ``inputs`` is a ``B x 3 x R x R`` batch (from :func:`autogas.measure.inputs.input_batch` or
    :func:`domain_batches`); ``device`` is ``auto``, ``cpu`` or ``cuda``. Works for any part
    of a space (the discriminator space too).
    """

    def __init__(self, space: SearchSpace, proxy, inputs: torch.Tensor, *, seed: int = 0,
                 device: str | torch.device = "auto", max_dims: int | None = DEFAULT_MAX_DIMS) -> None:
        self.space = space
        self.proxy = resolve_proxy(proxy)
        self.seed = int(seed)
        self.device = resolve_device(device)
        self.max_dims = max_dims
        space.check_resolution(int(inputs.shape[-1]))
        self.inputs = inputs.to(self.device)

    def _sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def build(self, arch: Arch) -> nn.Module:
        """The network of ``arch`` at its init seed, in train mode, on the scorer's device."""
        name = self.space.to_string(arch)
        model = self.space.build(arch, seed=init_seed(self.seed, name), device=self.device)
        return model.train(True)

    def features(self, model: nn.Module) -> FeatureSet:
        """Hooked features of ``model`` on the input batch (one forward, inference mode)."""
        fs = collect_features(model, self.inputs, max_dims=self.max_dims, seed=self.seed)
        if len(fs) == 0:
            raise AutogasError("network has no activation layers for the proxy to see")
        return fs

    def proxy_value(self, fs: FeatureSet) -> float:
        """The proxy on one network's features; NaN where the proxy is invalid on it."""
        return float(evaluate_proxy(self.proxy, [fs]).values[0])

    def baseline_value(self, model: nn.Module) -> float:
        """A baseline proxy on ``model`` and the input batch; NaN if it fails on this network."""
        try:
            return float(self.proxy(model, self.inputs, seed=self.seed))
        except BASELINE_ERRORS:
            return float("nan")

    def score(self, arch: Arch) -> CandidateScore:
        """Build, forward and score ``arch``, timing each step (a baseline's own passes count as
        ``forward_seconds``)."""
        start = time.perf_counter()
        model = self.build(arch)
        self._sync()
        built = time.perf_counter()
        if isinstance(self.proxy, Baseline):
            value = self.baseline_value(model)
            forwarded = time.perf_counter()
        else:
            fs = self.features(model)
            forwarded = time.perf_counter()
            value = self.proxy_value(fs)
        done = time.perf_counter()
        return CandidateScore(self.space.to_string(arch), value, built - start, forwarded - built,
                              done - forwarded)
