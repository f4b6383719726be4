"""CycleGANAS cell search space (the paper's §3.2 cell design, not the released code).

Generator, hidden width ``H`` (a multiple of 4), input ``3xRxR``, ``R`` a multiple of 4::

    stem:      reflect-pad 3, conv 7x7 3 -> H/4, IN, ReLU                   (R)
    cell 1:    encoding cell  H/4 -> H/2 -> H, both ops stride 2         (R -> R/4)
    cells 2..N-1: residual cells H -> H -> H                               (R/4)
    cell N:    decoding cell  H -> H/2 -> H/4, both ops upsample x2      (R/4 -> R)
    head:      reflect-pad 3, conv 7x7 H/4 -> 3, tanh                       (R)

Discriminator, hidden width ``H`` (default 64 = ndf): two encoding cells
``3 -> H/4 -> H/2`` and ``H/2 -> H -> 2H`` (every op stride 2, so R -> R/16), then a patch head
conv 4x4, stride 1, pad 1, ``2H -> 1`` with no sigmoid (15x15 patches at R = 256).

Op tables (gene = index; the canonical string writes one digit per op)::

    encoding: 0 max_pool 1 avg_pool 2 conv_3x3 3 conv_4x4 4 conv_5x5 5 conv_7x7
              6 dil_conv_3x3 7 dil_conv_5x5                      (all 8 of the paper)
    residual: 0 conv_3x3 1 conv_5x5 2 conv_7x7 3 dil_conv_3x3 4 dil_conv_5x5
    decoding: 0 nearest 1 bilinear 2 conv_transpose_3x3

Choices the paper leaves open, and what autogas does (documented design decisions):

* **Op order.** A cell applies its two ops in sequence, op 1 then op 2 (the paper's
  "two mixed operations in order"); genes are stored in forward order, so there is no
  decoder-swap ambiguity as in the released builder.
* **Norm and activation.** Every op is followed by InstanceNorm (affine off, no running
  stats; convs keep their bias) and an activation *module*: ``nn.ReLU`` in the generator,
  ``nn.LeakyReLU(0.2)`` in the discriminator, as the paper says "each op followed by a
  normalization layer and an activation layer".
* **Skip.** Residual cells add an identity skip to the second normalized op output,
  *before* the second activation (ResNet style): ``y = act(x + IN(op2(act(IN(op1(x))))))``.
  Encoding and decoding cells change the shape and have no skip.
* **Where the channel change happens.** Each resolution-changing op also doubles (encoding)
  or halves (decoding) the width, like CycleGAN's two stride-2 downsamplers and two
  transposed-conv upsamplers: ``H/4 -> H/2 -> H`` and ``H -> H/2 -> H/4``. Stem and head are
  CycleGAN's fixed 7x7 convs at width ``H/4`` (the legacy CycleGANAS code's ``ngf/4``). So at
  ``H = 256`` with conv_3x3 / conv_transpose_3x3 everywhere the generator has exactly the
  CycleGAN ResNet-9 parameters (11,378,179). (The legacy code's cells change width in one
  op; that choice is not in the repo, see spec §1.3.)
* **Stride and padding.** Both encoding ops have stride 2 (256 -> 128 -> 64, the paper's
  "256 -> 64"); stride-2 convs use zero padding ``dilation*(k-1)//2``, which halves any even
  size exactly; pools are 2x2/stride 2 followed by a 1x1 conv that changes the width.
  Residual convs keep the size with reflection padding ``dilation*(k-1)//2`` (CycleGAN's
  trunk padding). Decoding: nearest / bilinear (``align_corners=False``) x2 upsampling
  followed by a 1x1 conv, or a transposed conv 3x3, stride 2, pad 1, output padding 1.
* **Dilation** is 2 for every dilated op (effective 5x5 and 9x9 kernels).
* **Discriminator.** No spectral norm (the released code wraps its convs in it; at
  initialization it only rescales weights, and the discriminator is not scored here).
"""
from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

from torch import nn

from autogas.errors import AutogasError
from autogas.spaces.base import Arch, SearchSpace

ENCODING_OPS = ("max_pool", "avg_pool", "conv_3x3", "conv_4x4", "conv_5x5", "conv_7x7",
                "dil_conv_3x3", "dil_conv_5x5")
RESIDUAL_OPS = ("conv_3x3", "conv_5x5", "conv_7x7", "dil_conv_3x3", "dil_conv_5x5")
DECODING_OPS = ("nearest", "bilinear", "conv_transpose_3x3")
OP_TABLES = {"encoding": ENCODING_OPS, "residual": RESIDUAL_OPS, "decoding": DECODING_OPS}
PARTS = ("generator", "discriminator")
_PREFIX = {"generator": "G", "discriminator": "D"}


def _kernel(name: str) -> tuple[int, int]:
    """(kernel size, dilation) of a conv op name such as ``dil_conv_5x5``."""
    k = int(name.rsplit("x", 1)[1])
    return k, 2 if name.startswith("dil_") else 1


def encoding_op(name: str, c_in: int, c_out: int) -> nn.Module:
    """Stride-2 op of the encoding table (halves an even size exactly)."""
    if name in ("max_pool", "avg_pool"):
        pool = nn.MaxPool2d(2) if name == "max_pool" else nn.AvgPool2d(2)
        return nn.Sequential(pool, nn.Conv2d(c_in, c_out, 1))
    k, d = _kernel(name)
    return nn.Conv2d(c_in, c_out, k, stride=2, padding=d * (k - 1) // 2, dilation=d)


def residual_op(name: str, c_in: int, c_out: int) -> nn.Module:
    """Size-preserving op of the residual table (reflection padding)."""
    k, d = _kernel(name)
    return nn.Sequential(nn.ReflectionPad2d(d * (k - 1) // 2), nn.Conv2d(c_in, c_out, k, dilation=d))


def decoding_op(name: str, c_in: int, c_out: int) -> nn.Module:
    """x2 upsampling op of the decoding table."""
    if name == "conv_transpose_3x3":
        return nn.ConvTranspose2d(c_in, c_out, 3, stride=2, padding=1, output_padding=1)
    return nn.Sequential(nn.Upsample(scale_factor=2, mode=name), nn.Conv2d(c_in, c_out, 1))


_OP_BUILDERS = {"encoding": encoding_op, "residual": residual_op, "decoding": decoding_op}


def build_op(cell_type: str, name: str, c_in: int, c_out: int) -> nn.Module:
    """Op ``name`` of the ``cell_type`` table (``OP_TABLES``) mapping ``c_in`` to ``c_out`` channels."""
    return _OP_BUILDERS[cell_type](name, c_in, c_out)


class Cell(nn.Module):
    """Two ops in sequence, each followed by InstanceNorm and an activation module;
    residual cells add the input before the second activation.

    ``make_op(op, c_in, c_out)`` builds each op from its entry of ``ops`` (default: the op
    of that name in the cell type's table; the supernet passes a builder of mixed ops).
    """

    def __init__(self, cell_type: str, ops: Sequence[Any], widths: Sequence[int],
                 activation: type[nn.Module] | None = None,
                 make_op: Callable[[Any, int, int], nn.Module] | None = None) -> None:
        super().__init__()
        make_op = make_op or _OP_BUILDERS[cell_type]
        act = activation or nn.ReLU
        self.residual = cell_type == "residual"
        self.op1 = make_op(ops[0], widths[0], widths[1])
        self.norm1 = nn.InstanceNorm2d(widths[1])
        self.act1 = act()
        self.op2 = make_op(ops[1], widths[1], widths[2])
        self.norm2 = nn.InstanceNorm2d(widths[2])
        self.act2 = act()

    def forward(self, x):
        y = self.norm2(self.op2(self.act1(self.norm1(self.op1(x)))))
        return self.act2(x + y if self.residual else y)


def _leaky_relu() -> nn.Module:
    return nn.LeakyReLU(0.2)


class CycleGanSpace(SearchSpace):
    """CycleGANAS cell space for one network: ``part`` is "generator" (``n_cells`` cells,
    default 11) or "discriminator" (2 encoding cells); ``hidden`` is the default width H."""

    name = "cyclegan"

    def __init__(self, part: str = "generator", n_cells: int | None = None, hidden: int = 64) -> None:
        if part not in PARTS:
            raise AutogasError(f"cyclegan: part must be one of {', '.join(PARTS)}, got {part!r}")
        if part == "discriminator" and n_cells not in (None, 2):
            raise AutogasError("cyclegan: the discriminator always has 2 encoding cells")
        n_cells = (11 if part == "generator" else 2) if n_cells is None else n_cells
        if part == "generator" and (isinstance(n_cells, bool) or not isinstance(n_cells, int) or n_cells < 3):
            raise AutogasError(f"cyclegan: a generator needs n_cells >= 3, got {n_cells!r}")
        self.part = part
        self.n_cells = n_cells
        # generator: the dil_conv_5x5 reflection pad (4) needs a trunk side R/4 >= 5;
        # discriminator: four exact halvings, then the 4x4 head needs a side >= 2.
        self.resolution_step, self.min_resolution = (4, 20) if part == "generator" else (16, 32)
        self.hidden = self._check_hidden(hidden)
        if part == "generator":
            self.cell_types = ("encoding",) + ("residual",) * (n_cells - 2) + ("decoding",)
        else:
            self.cell_types = ("encoding", "encoding")
        self.choices = tuple(tuple(range(len(OP_TABLES[t]))) for t in self.cell_types for _ in (0, 1))

    @staticmethod
    def _check_hidden(hidden: Any) -> int:
        if isinstance(hidden, bool) or not isinstance(hidden, int) or hidden < 4 or hidden % 4:
            raise AutogasError(f"cyclegan: hidden width H must be a positive multiple of 4, got {hidden!r}")
        return hidden

    def describe_position(self, pos: int) -> str:
        cell, op = divmod(pos, 2)
        return f"cell {cell + 1} ({self.cell_types[cell]}) op {op + 1}"

    def cell_ops(self, arch: Sequence[int]) -> list[tuple[str, str]]:
        """Op names of each cell, in forward order."""
        genes = self.validate(arch)
        return [tuple(OP_TABLES[t][g] for g in genes[2 * i:2 * i + 2])
                for i, t in enumerate(self.cell_types)]

    # --- text forms ----------------------------------------------------------------
    def to_string(self, arch: Sequence[int]) -> str:
        """E.g. ``G:23.00.00.00.00.00.00.00.00.00.22``: part letter, then two op digits per cell."""
        genes = self.validate(arch)
        cells = (f"{genes[i]}{genes[i + 1]}" for i in range(0, len(genes), 2))
        return f"{_PREFIX[self.part]}:" + ".".join(cells)

    def parse(self, text: str) -> Arch:
        if not isinstance(text, str):
            raise AutogasError(f"cyclegan: an architecture string is text, got {text!r}")
        prefix = f"{_PREFIX[self.part]}:"
        body = text.strip()
        if not body.startswith(prefix):
            raise AutogasError(f"cyclegan: {self.part} string {text!r} must start with {prefix!r}")
        cells = body[len(prefix):].split(".")
        if len(cells) != self.n_cells:
            raise AutogasError(f"cyclegan: {text!r} has {len(cells)} cells, the {self.part} has "
                               f"{self.n_cells} (cells are separated by '.')")
        genes: list[int] = []
        for i, (cell, cell_type) in enumerate(zip(cells, self.cell_types)):
            if len(cell) != 2 or not cell.isdigit() or not cell.isascii():
                raise AutogasError(f"cyclegan: cell {i + 1} of {text!r} is {cell!r}; "
                                   f"a cell is two op digits")
            table = OP_TABLES[cell_type]
            for j, char in enumerate(cell):
                if int(char) >= len(table):
                    listing = " ".join(f"{n}={op}" for n, op in enumerate(table))
                    raise AutogasError(f"cyclegan: cell {i + 1} ({cell_type}) op {j + 1} of {text!r}: "
                                       f"{char} is not a {cell_type} op ({listing})")
                genes.append(int(char))
        return tuple(genes)

    def to_json(self, arch: Sequence[int]) -> dict[str, Any]:
        return {"space": self.name, "part": self.part,
                "cells": [{"type": t, "ops": list(ops)}
                          for t, ops in zip(self.cell_types, self.cell_ops(arch))]}

    def _arch_from_json(self, data: Mapping[str, Any]) -> Arch:
        if data.get("part") != self.part:
            raise AutogasError(f"cyclegan: JSON part is {data.get('part')!r}, expected {self.part!r}")
        cells = data.get("cells")
        if not isinstance(cells, list) or len(cells) != self.n_cells:
            raise AutogasError(f"cyclegan: JSON 'cells' must be a list of {self.n_cells} cells")
        genes: list[int] = []
        for i, (cell, cell_type) in enumerate(zip(cells, self.cell_types)):
            ops = cell.get("ops") if isinstance(cell, Mapping) else None
            if not isinstance(ops, list) or len(ops) != 2:
                raise AutogasError(f"cyclegan: JSON cell {i + 1} needs 'ops': a list of two op names")
            if cell.get("type", cell_type) != cell_type:
                raise AutogasError(f"cyclegan: JSON cell {i + 1} has type {cell.get('type')!r}, "
                                   f"expected {cell_type!r}")
            table = OP_TABLES[cell_type]
            for op in ops:
                if op not in table:
                    raise AutogasError(f"cyclegan: JSON cell {i + 1}: {op!r} is not a {cell_type} op "
                                       f"({', '.join(table)})")
                genes.append(table.index(op))
        return tuple(genes)

    # --- networks ------------------------------------------------------------------
    def _construct(self, arch: Arch, hidden: int | None) -> nn.Module:
        ops = self.cell_ops(arch)
        return self.layout(hidden, lambda index, cell_type, widths, activation: Cell(
            cell_type, ops[index], widths, activation))

    def layout(self, hidden: int | None, make_cell: Callable[[int, str, tuple[int, int, int], Any], nn.Module]
               ) -> nn.Sequential:
        """The network skeleton at width ``hidden`` (default: the space's H), see the module doc.

        ``make_cell(index, cell_type, widths, activation)`` builds cell ``index`` (0-based, of
        type ``self.cell_types[index]``) with channel widths ``(in, middle, out)`` and the
        activation module class (``None``: ReLU). Discrete networks make :class:`Cell` of the
        architecture's ops; :mod:`autogas.supernet` makes cells of mixed ops.
        """
        h = self.hidden if hidden is None else self._check_hidden(hidden)
        if self.part == "discriminator":
            return nn.Sequential(
                make_cell(0, "encoding", (3, h // 4, h // 2), _leaky_relu),
                make_cell(1, "encoding", (h // 2, h, 2 * h), _leaky_relu),
                nn.Conv2d(2 * h, 1, 4, stride=1, padding=1),
            )
        q = h // 4
        last = self.n_cells - 1
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(3, q, 7), nn.InstanceNorm2d(q), nn.ReLU()]
        layers.append(make_cell(0, "encoding", (q, h // 2, h), None))
        layers.extend(make_cell(i, "residual", (h, h, h), None) for i in range(1, last))
        layers.append(make_cell(last, "decoding", (h, h // 2, q), None))
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(q, 3, 7), nn.Tanh()]
        return nn.Sequential(*layers)
