"""Size baselines: parameter and FLOP counts under the TransNAS-Bench-101 / NASLib rules."""
from __future__ import annotations

from autogas.baselines.registry import register_baseline

_COUNT_RULE = ("counted by autogas.transnas.counting (tensorwatch rules, as NAS-Bench-Suite-Zero "
               "stores them); needs a model taking a 3-channel image")


@register_baseline("params", family="counts", source="model size (NAS-Bench-Suite-Zero 'params')",
                   stages=("counts",), deviation=f"units of 1, not millions; {_COUNT_RULE}")
def params(probe) -> float:
    """Number of parameters of the leaf modules that run in a forward pass."""
    return float(probe.counts().params)


@register_baseline("flops", family="counts", source="model cost (NAS-Bench-Suite-Zero 'flops')",
                   stages=("counts",), deviation=f"units of 1, not millions; {_COUNT_RULE}")
def flops(probe) -> float:
    """Multiply-accumulates of one 1 x 3 x 256 x 256 forward pass (tensorwatch rules).

    Conv2d kh*kw*C_in*C_out/groups*H_out*W_out (+ C_out*H_out*W_out with a bias),
    BatchNorm2d 2 x input size, ReLU-family 1 x input size, everything else 0; always at the
    benchmark's 256 x 256 resolution, whatever the probe's input batch.
    """
    return float(probe.counts().flops)
