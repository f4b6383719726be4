"""Registry of named baseline zero-cost proxies that score any ``torch.nn.Module``.

A baseline is a function of a :class:`~autogas.baselines.probe.Probe` (the network, its input
batch and a seed, with the expensive passes memoised so several baselines share them). Each
entry documents its definition (the function's docstring), its source paper, how it deviates
from the authors' implementation, which probe stages it needs (for timing and for sharing
passes) and, when the proxy language can express it on cached features, its proxy text.
"""
from __future__ import annotations

import dataclasses
import inspect
from typing import Callable, Iterable

import torch
from torch import nn

from autogas.errors import AutogasError

FAMILIES = ("counts", "activation", "gradient", "data-free")


@dataclasses.dataclass(frozen=True)
class Baseline:
    """One named baseline proxy; call it as ``baseline(model, inputs, seed=0) -> float``
    (``protocol=`` a name of :data:`autogas.baselines.protocol.PROTOCOLS`: splits and Fisher's
    sum; default the default protocol)."""

    name: str
    family: str
    needs_grad: bool
    source: str
    definition: str
    deviation: str
    stages: tuple[str, ...]
    compute: Callable[["Probe"], float]  # noqa: F821 - Probe is imported lazily (cycle)
    graph: str | None = None

    def __call__(self, model: nn.Module, inputs: torch.Tensor, *, seed: int = 0,
                 protocol=None) -> float:
        """The proxy value of ``model`` on ``inputs`` (the model is left unchanged)."""
        from autogas.baselines.probe import Probe, keep_buffers

        with keep_buffers(model):
            return float(self.compute(Probe(model, inputs, seed=seed, stages=self.stages,
                                            protocol=protocol)))

    @property
    def summary(self) -> str:
        """One line: the first line of the definition."""
        return self.definition.split("\n", 1)[0]


_REGISTRY: dict[str, Baseline] = {}


def register_baseline(
    name: str,
    *,
    family: str,
    source: str,
    needs_grad: bool = False,
    stages: Iterable[str] = (),
    deviation: str = "none",
    graph: str | None = None,
) -> Callable[[Callable], Callable]:
    """Decorator registering ``fn(probe) -> float`` as baseline ``name``.

    ``stages`` lists the shared probe passes the baseline reads (see
    :data:`autogas.baselines.probe.STAGES`); ``graph`` is its proxy-language text when it can be
    computed from cached features. The docstring of ``fn`` is the definition.
    """
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}; choose from {', '.join(FAMILIES)}")
    if name in _REGISTRY:
        raise ValueError(f"baseline {name!r} is already registered")

    def decorate(fn: Callable) -> Callable:
        from autogas.baselines.probe import STAGES

        unknown = [s for s in stages if s not in STAGES]
        if unknown:
            raise ValueError(f"baseline {name!r}: unknown probe stages {unknown}")
        _REGISTRY[name] = Baseline(
            name=name, family=family, needs_grad=needs_grad, source=source,
            definition=inspect.getdoc(fn) or "", deviation=deviation, stages=tuple(stages),
            compute=fn, graph=graph)
        return fn

    return decorate


def get_baseline(name: str) -> Baseline:
    """The baseline called ``name``; unknown names raise :class:`AutogasError`."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise AutogasError(f"unknown baseline proxy {name!r}; choose from "
                           f"{', '.join(list_baselines())}") from None


def list_baselines() -> list[str]:
    """Names of all registered baselines, in registration order."""
    return list(_REGISTRY)


def is_baseline(name: str) -> bool:
    """True if ``name`` is a registered baseline."""
    return name in _REGISTRY
