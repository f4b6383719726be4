"""The supernet of one CycleGANAS network (a generator or a discriminator) and its derivation.

:func:`build_supernet` lays out the space's skeleton (:meth:`CycleGanSpace.layout`: stem,
cells, head at the given width) with every op slot a :class:`~autogas.supernet.mixed.MixedOp`
of its cell type: a generator has ``2 * n_cells`` slots (encoding 8 ops, residual 5,
decoding 3), a discriminator 4 (two encoding cells, 8 ops each). Slots are numbered like the
space's genes (cell ``i`` op ``j`` is slot ``2 i + j``), so :meth:`SuperNetwork.derive`, the
argmax of ``alpha`` per slot, is directly an architecture of the space (ties: the first op).

Weights are initialized like discrete networks (:func:`autogas.spaces.base.instantiate`,
N(0, 0.02), zero biases, from ``seed``); then every ``alpha`` gets ``1e-3 * N(0, 1)`` from a
generator seeded by ``seed`` as well.
"""
from __future__ import annotations

import torch
from torch import nn

from autogas.spaces.base import Arch, instantiate
from autogas.spaces.cyclegan import Cell, CycleGanSpace
from autogas.supernet.mixed import Mixer, MixedOp


class SuperNetwork(nn.Module):
    """A supernet over ``space`` (see the module doc); ``body`` is the layout's ``nn.Sequential``."""

    def __init__(self, space: CycleGanSpace, hidden: int, mixer: Mixer) -> None:
        super().__init__()
        self.space = space
        self.hidden = hidden

        def make_cell(index, cell_type, widths, activation):
            return Cell(cell_type, (None, None), widths, activation,
                        make_op=lambda _, c_in, c_out: MixedOp(cell_type, c_in, c_out, mixer))

        self.body = space.layout(hidden, make_cell)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def slots(self) -> list[MixedOp]:
        """The mixed ops in gene order."""
        return [m for m in self.body.modules() if isinstance(m, MixedOp)]

    def arch_parameters(self) -> list[nn.Parameter]:
        """``alpha`` of every slot, in gene order."""
        return [slot.alpha for slot in self.slots()]

    def weight_parameters(self) -> list[nn.Parameter]:
        """Every parameter that is not an ``alpha``."""
        alphas = {id(p) for p in self.arch_parameters()}
        return [p for p in self.parameters() if id(p) not in alphas]

    def probabilities(self) -> list[list[float]]:
        """``softmax(alpha)`` of every slot, in gene order."""
        return [slot.probabilities().cpu().tolist() for slot in self.slots()]

    def derive(self) -> Arch:
        """The discrete architecture: the highest-weight op of every slot (validated by the space)."""
        return self.space.validate([int(torch.argmax(slot.alpha.detach())) for slot in self.slots()])


def build_supernet(space: CycleGanSpace, hidden: int, mixer: Mixer, *, seed: int = 0,
                   device: str | torch.device = "cpu") -> SuperNetwork:
    """A supernet over ``space`` at width ``hidden`` on ``device`` (see the module doc)."""
    net = instantiate(lambda: SuperNetwork(space, hidden, mixer), seed=seed, device=device)
    generator = torch.Generator(device="cpu").manual_seed(int(seed))
    for slot in net.slots():
        slot.reset_alpha(generator)
    return net
