"""Baseline zero-cost proxies computed on autogas's own networks.

Every baseline scores any ``torch.nn.Module`` on an input batch::

    from autogas.baselines import get_baseline, list_baselines, score_network
    get_baseline("snip")(model, inputs, seed=0)             # one value
    score_network(model, inputs, ["snip", "grasp", "nwot"])  # several, sharing the passes

Register more with ``@register_baseline(name, family=..., source=..., stages=...)`` over a
function ``probe -> float`` (see :mod:`autogas.baselines.registry` and
:mod:`autogas.baselines.probe`). Families: counts (params, flops), activation (nwot,
gram_slogdet, meco, zen), gradient (snip, grasp, fisher, grad_norm, plain, jacov, zico,
synflow), data-free (l2_norm).
"""
from __future__ import annotations

import dataclasses
import time
from typing import Sequence

import torch
from torch import nn

from autogas.baselines.registry import (
    FAMILIES, Baseline, get_baseline, is_baseline, list_baselines, register_baseline,
)
from autogas.baselines.probe import Probe, keep_buffers
from autogas.baselines.protocol import DEFAULT_PROTOCOL, PROTOCOLS, Protocol, get_protocol
from autogas.baselines import counts, activation, gradient, datafree  # noqa: F401,E402 (registers)


@dataclasses.dataclass(frozen=True)
class BaselineValue:
    """A baseline's value on one network and its cost.

    ``seconds``: the shared stages it reads plus its own arithmetic (what it would cost alone,
    measured inside the shared pass). ``error``: why the value is NaN, if it failed.
    """

    value: float
    seconds: float
    error: str | None = None


def score_network(model: nn.Module, inputs: torch.Tensor, names: Sequence[str], *,
                  seed: int = 0, protocol=None) -> dict[str, BaselineValue]:
    """Values of the baselines ``names`` on one network, sharing one forward/backward pass.

    ``protocol``: a name of :data:`autogas.baselines.protocol.PROTOCOLS` or a
    :class:`~autogas.baselines.protocol.Protocol` (splits, Fisher's sum; default the default
    protocol). The batch, resolution and train/eval mode are those of ``inputs`` and ``model``.

    A baseline that fails on this network (a torch/numpy error, e.g. BatchNorm on a one-sample
    batch) gets NaN and the error message instead of stopping the others.
    """
    baselines = [get_baseline(n) for n in names]
    probe = Probe(model, inputs, seed=seed, stages={s for b in baselines for s in b.stages},
                  protocol=protocol)
    out = {}
    with keep_buffers(model):
        for baseline in baselines:
            out[baseline.name] = _timed_value(baseline, probe)
    return out


def _timed_value(baseline: Baseline, probe: Probe) -> BaselineValue:
    """Compute one baseline on a shared probe; its seconds include the stages it reads."""
    before = dict(probe.seconds)
    start = time.perf_counter()
    error = None
    try:
        value = float(baseline.compute(probe))
    except (RuntimeError, ValueError, ArithmeticError, IndexError) as err:
        value, error = float("nan"), f"{type(err).__name__}: {err}".splitlines()[0]
    elapsed = time.perf_counter() - start
    new_stage_time = sum(t for s, t in probe.seconds.items() if before.get(s) != t)
    shared_time = sum(probe.seconds.get(s, 0.0) for s in baseline.stages)
    return BaselineValue(value, max(elapsed - new_stage_time, 0.0) + shared_time, error)


__all__ = ["DEFAULT_PROTOCOL", "FAMILIES", "PROTOCOLS", "Baseline", "BaselineValue", "Probe",
           "Protocol", "get_baseline", "get_protocol", "is_baseline", "list_baselines",
           "register_baseline", "score_network"]
