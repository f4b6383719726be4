"""Data-free baselines: functions of the initial weights only."""
from __future__ import annotations

import torch

from autogas.baselines.registry import register_baseline


@register_baseline("l2_norm", family="data-free",
                   source="Abdelfattah et al., Zero-Cost Proxies for Lightweight NAS, ICLR 2021")
def l2_norm(probe) -> float:
    """Sum over prunable layers (Conv2d, Linear) of the Frobenius norm of the weight tensor."""
    with torch.no_grad():
        return float(sum(m.weight.double().norm() for _, m in probe.prunable()))
