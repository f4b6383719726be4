"""Mixed ops: one searchable slot of the CycleGANAS space as a weighted sum of its op table.

A :class:`MixedOp` of cell type ``T`` holds every op of ``OP_TABLES[T]`` (built by
:func:`autogas.spaces.cyclegan.build_op`, the same builders as discrete networks) and one
architecture weight per op, ``alpha`` (initialized ``1e-3 * N(0, 1)`` as in the released code).
Its output is ``sum_o beta_o * o(x)`` with mixing weights ``beta`` from a shared :class:`Mixer`:

* ``softmax`` (the paper, §3.2, and autogas's **default**): ``beta = softmax(alpha)``;
* ``gumbel`` (the released code): ``beta = softmax((softmax(alpha) + g) / tau)`` with fresh
  Gumbel(0, 1) noise ``g`` at every forward, i.e. ``gumbel_softmax(softmax(alpha), tau,
  hard=False)`` exactly as the released code calls it (the *probabilities* are its logits).
  The temperature is annealed per epoch by :func:`temperature`.

The noise comes from the mixer's own ``torch.Generator`` (CPU, seeded, its state part of a
search checkpoint), so a run is reproducible and resumable and torch's global random state is
left alone.
"""
from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from autogas.errors import AutogasError
from autogas.spaces.cyclegan import OP_TABLES, build_op

MIXINGS = ("softmax", "gumbel")
ALPHA_INIT_STD = 1e-3


def temperature(epoch: int, epochs: int, tau_max: float = 5.0, tau_min: float = 0.1) -> float:
    """Gumbel temperature of 1-based ``epoch``: geometric from ``tau_max`` (epoch 1) to
    ``tau_min`` (epoch ``epochs``), the released code's ``tau_max * exp(-k * epoch)`` with ``k``
    chosen so that the last epoch reaches ``tau_min``; ``tau_max`` when ``epochs == 1``."""
    if epochs <= 1:
        return float(tau_max)
    fraction = min(max(epoch - 1, 0), epochs - 1) / (epochs - 1)
    return float(tau_max * math.exp(fraction * math.log(tau_min / tau_max)))


class Mixer:
    """How mixed ops turn ``alpha`` into mixing weights; shared by all slots of a search."""

    def __init__(self, mode: str = "softmax", *, seed: int = 0, tau: float = 5.0) -> None:
        if mode not in MIXINGS:
            raise AutogasError(f"unknown mixing {mode!r}; known: {', '.join(MIXINGS)}")
        self.mode = mode
        self.tau = float(tau)
        self.generator = torch.Generator(device="cpu").manual_seed(int(seed))

    def weights(self, alpha: torch.Tensor) -> torch.Tensor:
        """Mixing weights ``beta`` (sum 1) of one slot's ``alpha``; differentiable in ``alpha``."""
        probs = torch.softmax(alpha, dim=-1)
        if self.mode == "softmax":
            return probs
        uniform = torch.rand(alpha.shape, generator=self.generator).clamp_(1e-10, 1.0 - 1e-7)
        gumbel = -torch.log(-torch.log(uniform)).to(device=alpha.device, dtype=alpha.dtype)
        return torch.softmax((probs + gumbel) / self.tau, dim=-1)

    def state_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "tau": self.tau, "generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.mode, self.tau = state["mode"], float(state["tau"])
        self.generator.set_state(state["generator"])


class MixedOp(nn.Module):
    """All ops of the ``cell_type`` table from ``c_in`` to ``c_out`` channels, mixed by ``alpha``."""

    def __init__(self, cell_type: str, c_in: int, c_out: int, mixer: Mixer) -> None:
        super().__init__()
        self.cell_type = cell_type
        self.op_names = OP_TABLES[cell_type]
        self.candidates = nn.ModuleList(build_op(cell_type, name, c_in, c_out) for name in self.op_names)
        self.alpha = nn.Parameter(torch.zeros(len(self.op_names)))
        self._mixer = [mixer]  # a plain list: the mixer is shared state, not a submodule

    @property
    def mixer(self) -> Mixer:
        return self._mixer[0]

    def reset_alpha(self, generator: torch.Generator) -> None:
        """``alpha = 1e-3 * N(0, 1)`` drawn from ``generator`` (the released code's init)."""
        with torch.no_grad():
            values = torch.randn(self.alpha.shape, generator=generator) * ALPHA_INIT_STD
            self.alpha.copy_(values.to(self.alpha.device))

    def probabilities(self) -> torch.Tensor:
        """``softmax(alpha)``, detached (what derivation and the plots read)."""
        return torch.softmax(self.alpha.detach(), dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        beta = self.mixer.weights(self.alpha)
        out = beta[0] * self.candidates[0](x)
        for weight, op in zip(beta[1:], self.candidates[1:]):
            out = out + weight * op(x)
        return out
