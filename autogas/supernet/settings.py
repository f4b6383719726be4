"""Settings of a CycleGANAS supernet search (frozen; saved in the run's ``config.json``)."""
from __future__ import annotations

import dataclasses
from typing import Any

from autogas.errors import AutogasError
from autogas.supernet.mixed import MIXINGS
from autogas.supernet.variants import check_variant
from autogas.train.losses import LossWeights


@dataclasses.dataclass(frozen=True)
class SupernetSettings:
    """Everything that defines a search besides its data.

    ``search_hidden`` is the supernet's width H during the search (the paper's hidden-dimension
    reduction), ``hidden`` the width of the derived discrete networks (generators and
    discriminators alike, as in the training-free search's report). ``mixing`` is ``softmax``
    (paper, default) or ``gumbel`` (released code; temperature ``tau_max -> tau_min`` over the
    epochs). Optimizer: Adam ``lr``, ``(beta1, beta2)``, constant learning rate (the released
    search never decays it). ``resolution`` must suit both networks: a multiple of 16, >= 32.
    ``cost_resolution`` is where the report counts MACs.
    """

    variant: str = "of"
    epochs: int = 1
    search_hidden: int = 16
    hidden: int = 64
    n_cells: int = 11
    resolution: int = 64
    batch_size: int = 1
    mixing: str = "softmax"
    tau_max: float = 5.0
    tau_min: float = 0.1
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    pool_size: int = 50
    loss_weights: tuple[float, ...] = LossWeights().as_tuple()
    seed: int = 0
    cost_resolution: int = 256

    def __post_init__(self) -> None:
        check_variant(self.variant)
        if self.mixing not in MIXINGS:
            raise AutogasError(f"unknown mixing {self.mixing!r}; known: {', '.join(MIXINGS)}")
        ints = {"epochs": 1, "batch_size": 1, "pool_size": 0, "seed": 0, "n_cells": 3}
        for name, low in ints.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise AutogasError(f"{name.replace('_', ' ')} must be an integer >= {low}, got {value!r}")
        for name in ("search_hidden", "hidden"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 4 or value % 4:
                raise AutogasError(f"{name.replace('_', '-')} must be a positive multiple of 4, got {value!r}")
        for name in ("resolution", "cost_resolution"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 32 or value % 16:
                raise AutogasError(f"{name.replace('_', '-')} must be a multiple of 16 and >= 32 (generator "
                                   f"and discriminator both run on it), got {value!r}")
        if not (self.lr > 0 and 0 <= self.beta1 < 1 and 0 <= self.beta2 < 1):
            raise AutogasError(f"bad Adam settings lr={self.lr}, betas=({self.beta1}, {self.beta2})")
        if not (0 < self.tau_min <= self.tau_max):
            raise AutogasError(f"need 0 < tau_min <= tau_max, got {self.tau_min}, {self.tau_max}")
        object.__setattr__(self, "loss_weights", tuple(float(v) for v in self.loss_weights))
        LossWeights(*self.loss_weights)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "SupernetSettings":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise AutogasError(f"search config has unknown keys: {', '.join(sorted(unknown))}")
        return cls(**data)
