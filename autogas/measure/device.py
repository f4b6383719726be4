"""Device resolution: ``auto``, ``cpu``, ``cuda``, ``cuda:N``."""
from __future__ import annotations

import torch

from autogas.errors import AutogasError


def resolve_device(name: str | torch.device) -> torch.device:
    """``auto`` is CUDA when available, else CPU; any other name is passed to torch."""
    name = str(name)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as err:
        raise AutogasError(f"bad device {name!r}: {err}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise AutogasError(f"device {name!r} asked for, but CUDA is not available here")
    return device
