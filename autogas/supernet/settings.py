"""Settings of a CycleGANAS supernet search (frozen; saved in the run's ``config.json``)."""
from __future__ import annotations

import dataclasses

from autogas.errors import AutogasError
from autogas.supernet.mixed import MIXINGS
from autogas.supernet.variants import check_variant
from autogas.train.trainer import CycleGanOptimization


@dataclasses.dataclass(frozen=True)
class SupernetSettings(CycleGanOptimization):
    """Everything that defines a search besides its data.

    ``search_hidden`` is the supernet's width H during the search (the paper's hidden-dimension
    reduction), ``hidden`` the width of the derived discrete networks (generators and
    discriminators alike, as in the training-free search's report). ``mixing`` is ``softmax``
    (paper, default) or ``gumbel`` (released code; temperature ``tau_max -> tau_min`` over the
    epochs). Optimizer, pool and loss weights: the retraining's (:class:`CycleGanOptimization`:
    Adam ``lr``, ``(beta1, beta2)``, ``pool_size``, ``loss_weights``), at a constant learning rate
    (the released search never decays it). ``resolution`` must suit both networks: a multiple of
    16, >= 32. ``cost_resolution`` is where the report counts MACs.
    """

    config_name = "search config"

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
    seed: int = 0
    cost_resolution: int = 256

    def __post_init__(self) -> None:
        check_variant(self.variant)
        if self.mixing not in MIXINGS:
            raise AutogasError(f"unknown mixing {self.mixing!r}; known: {', '.join(MIXINGS)}")
        ints = {"epochs": 1, "batch_size": 1, "seed": 0, "n_cells": 3}
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
        if not (0 < self.tau_min <= self.tau_max):
            raise AutogasError(f"need 0 < tau_min <= tau_max, got {self.tau_min}, {self.tau_max}")
        super().__post_init__()
