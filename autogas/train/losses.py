"""CycleGAN objective pieces: LSGAN loss, loss weights and the history pool of fakes.

Loss weights follow eq. (4) of the CycleGANAS paper,
``L = l1 Ladv(G_A, D_B) + l2 Ladv(G_B, D_A) + l3 Lcyc + l4 Lidt(G_A) + l5 Lidt(G_B)``, where
``Lcyc = |G_B(G_A(a)) - a| + |G_A(G_B(b)) - b|`` (both directions under one weight) and
``Lidt(G_A) = |G_A(b) - b|``. The CycleGAN recipe (lambda_A = lambda_B = 10, identity
0.5 * lambda) is ``(1, 1, 10, 5, 5)``: the same numbers as the paper's default, because
CycleGAN weights each cycle term by 10 and each identity term by 0.5 * 10 = 5.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Sequence

import numpy as np
import torch
from torch.nn import functional as F

from autogas.errors import AutogasError


@dataclasses.dataclass(frozen=True)
class LossWeights:
    """``(adv_a, adv_b, cycle, idt_a, idt_b)`` = the paper's ``(l1, ..., l5)``.

    ``adv_a`` weighs G_A against D_B (and D_B's own loss), ``adv_b`` G_B against D_A.
    """

    adv_a: float = 1.0
    adv_b: float = 1.0
    cycle: float = 10.0
    idt_a: float = 5.0
    idt_b: float = 5.0

    @classmethod
    def cyclegan(cls, lambda_cycle: float = 10.0, lambda_identity: float = 0.5) -> "LossWeights":
        """CycleGAN's parametrization: cycle weight ``lambda``, identity ``lambda_identity * lambda``."""
        return cls(1.0, 1.0, lambda_cycle, lambda_identity * lambda_cycle, lambda_identity * lambda_cycle)

    @classmethod
    def parse(cls, text: str) -> "LossWeights":
        """From ``"l1,l2,l3,l4,l5"`` or a preset name (``cycleganas``, ``cyclegan``: both
        ``1,1,10,5,5``); :class:`AutogasError` if malformed or negative."""
        if text.strip().lower() in ("cycleganas", "cyclegan"):
            return cls()
        try:
            values = [float(v) for v in text.split(",")]
        except ValueError:
            raise AutogasError(f"loss weights must be 5 numbers 'l1,l2,l3,l4,l5', got {text!r}") from None
        if len(values) != 5 or any(not np.isfinite(v) or v < 0 for v in values):
            raise AutogasError(f"loss weights must be 5 non-negative numbers 'l1,l2,l3,l4,l5', got {text!r}")
        return cls(*values)

    def as_tuple(self) -> tuple[float, ...]:
        return dataclasses.astuple(self)


def lsgan_loss(prediction: torch.Tensor, target_is_real: bool) -> torch.Tensor:
    """Least-squares GAN loss: mean squared distance of every patch score to 1 (real) or 0."""
    target = torch.ones_like(prediction) if target_is_real else torch.zeros_like(prediction)
    return F.mse_loss(prediction, target)


class ImagePool:
    """CycleGAN's history of generated images for discriminator updates.

    Until ``size`` images are stored, each query image is stored and returned. Afterwards
    each image is, with probability 1/2, swapped with a random stored one (the stored one
    is returned), else returned as is. ``size = 0`` disables the pool. Randomness comes
    from the pool's own seeded generator, whose state is part of :meth:`state_dict`.
    """

    def __init__(self, size: int = 50, seed: int | Sequence[int] = 0) -> None:
        if size < 0:
            raise AutogasError(f"pool size must be >= 0, got {size}")
        self.size = size
        self.images: list[torch.Tensor] = []
        self.rng = np.random.default_rng(seed)

    def query(self, images: torch.Tensor) -> torch.Tensor:
        """Images to show the discriminator in place of ``images`` (detached)."""
        images = images.detach()
        if self.size == 0:
            return images
        out = []
        for image in images:
            image = image.unsqueeze(0).clone()
            if len(self.images) < self.size:
                self.images.append(image)
                out.append(image)
            elif self.rng.random() < 0.5:
                index = int(self.rng.integers(self.size))
                out.append(self.images[index].clone())
                self.images[index] = image
            else:
                out.append(image)
        return torch.cat(out, 0)

    def state_dict(self) -> dict[str, Any]:
        return {"size": self.size, "images": [img.cpu() for img in self.images],
                "rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict[str, Any], device: str | torch.device = "cpu") -> None:
        self.size = int(state["size"])
        self.images = [img.to(device) for img in state["images"]]
        self.rng.bit_generator.state = state["rng"]
