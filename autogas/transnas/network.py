"""The TransNAS-Bench-101 autoencoder-task network (encoder + generative decoder).

Built from ``shared/specs/transnas-autoencoder.md`` §3-§6: a stem, 2 macro basic blocks or 2
micro cells per skeleton digit, then the 14-layer generative decoder with ``U = k + 2`` ×2
upsamplings (``k`` = number of stride-2 modules). The pix2pix discriminator is not part of it
(the benchmark's params/FLOPs exclude it). Activations are modules (``nn.ReLU``,
``nn.LeakyReLU``) so :mod:`autogas.measure.features` can hook their inputs.

Parameter names: ``encoder.stem``, ``encoder.body.<module>.<block>`` and ``decoder.<layer>``.
"""
from __future__ import annotations

import contextlib

import torch
from torch import nn
from torch.nn import functional as F

from autogas.transnas.archs import CELL_EDGES, MACRO, TransNasArch, parse_arch

STEM_WIDTH = 32
DECODER_LEAK = 0.2


class ReLUConvBN(nn.Sequential):
    """Pre-activation unit: ReLU, then a bias-free k×k conv, then BatchNorm."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int) -> None:
        super().__init__()
        self.relu = nn.ReLU(inplace=False)
        self.conv = nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False)
        self.bn = nn.BatchNorm2d(c_out)


class BasicBlock(nn.Module):
    """ResNet basic block with pre-activation units and no ReLU after the addition."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, stride)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1)
        self.shortcut: nn.Module | None = None
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential()
            self.shortcut.add_module("conv", nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False))
            self.shortcut.add_module("bn", nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = x if self.shortcut is None else self.shortcut(x)
        return self.conv_b(self.conv_a(x)) + residual


class Zero(nn.Module):
    """The 'none' op: zeros with ``c_out`` channels at ``ceil(H / stride)``.

    Like the benchmark, it multiplies the (strided) input by 0 when the width is unchanged,
    so the output stays attached to the graph, and makes fresh zeros otherwise.
    """

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.c_in, self.c_out, self.stride = c_in, c_out, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.c_in == self.c_out:
            return x[:, :, ::self.stride, ::self.stride].mul(0.0)
        height, width = (-(-size // self.stride) for size in x.shape[2:])
        return x.new_zeros((x.shape[0], self.c_out, height, width))


class FactorizedReduce(nn.Module):
    """Skip op that changes width/resolution: ReLU, two 1×1 convs on x and x shifted by one pixel."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, stride=stride, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out - c_out // 2, 1, stride=stride, bias=False)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        shifted = F.pad(x, (0, 1, 0, 1))[:, :, 1:, 1:]
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(shifted)], dim=1))


def make_op(op: int, c_in: int, c_out: int, stride: int) -> nn.Module:
    """One micro-cell edge op from its TransNAS id (0 none, 1 skip, 2 conv1x1, 3 conv3x3)."""
    if op == 0:
        return Zero(c_in, c_out, stride)
    if op == 1:
        if stride == 1 and c_in == c_out:
            return nn.Identity()
        return FactorizedReduce(c_in, c_out, stride)
    if op in (2, 3):
        return ReLUConvBN(c_in, c_out, 1 if op == 2 else 3, stride)
    raise ValueError(f"unknown micro op id {op}")


class MicroCell(nn.Module):
    """4-node DAG cell: node_j is the plain sum of its incoming edge ops; output is node3."""

    def __init__(self, ops: tuple[int, ...], c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        edges: list[nn.Module] = [None] * len(ops)  # type: ignore[list-item]
        for incoming in CELL_EDGES:
            for source, position in incoming:
                if source == 0:
                    edges[position] = make_op(ops[position], c_in, c_out, stride)
                else:
                    edges[position] = make_op(ops[position], c_out, c_out, 1)
        self.edges = nn.ModuleList(edges)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for incoming in CELL_EDGES:
            total = None
            for source, position in incoming:
                out = self.edges[position](nodes[source])
                total = out if total is None else total + out
            nodes.append(total)
        return nodes[-1]


class Encoder(nn.Module):
    """Stem (H/4, 64 channels) followed by one 2-block module per skeleton digit."""

    def __init__(self, arch: TransNasArch) -> None:
        super().__init__()
        width = 2 * STEM_WIDTH
        self.stem = nn.Sequential()
        self.stem.add_module("conv", nn.Conv2d(3, STEM_WIDTH, 3, stride=2, padding=1, bias=False))
        self.stem.add_module("bn", nn.BatchNorm2d(STEM_WIDTH))
        self.stem.add_module("rcb", ReLUConvBN(STEM_WIDTH, width, 3, 2))
        self.body = nn.Sequential()
        for digit in arch.skeleton:
            c_out = 2 * width if digit % 2 == 0 else width
            stride = 2 if digit > 2 else 1
            module = nn.Sequential(_block(arch, width, c_out, stride), _block(arch, c_out, c_out, 1))
            self.body.append(module)
            width = c_out
        self.out_channels = width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(self.stem(x))


def _block(arch: TransNasArch, c_in: int, c_out: int, stride: int) -> nn.Module:
    if arch.space == MACRO:
        return BasicBlock(c_in, c_out, stride)
    return MicroCell(arch.ops, c_in, c_out, stride)


def _decoder_layer(c_in: int, c_out: int, upsample: bool) -> nn.Sequential:
    """Conv 3×3 (or ×2 transposed conv) with bias, BN, LeakyReLU(0.2): post-activation."""
    layer = nn.Sequential()
    if upsample:
        layer.add_module("deconv", nn.ConvTranspose2d(c_in, c_out, 3, stride=2, padding=1, output_padding=1))
    else:
        layer.add_module("conv", nn.Conv2d(c_in, c_out, 3, stride=1, padding=1))
    layer.add_module("bn", nn.BatchNorm2d(c_out))
    layer.add_module("lrelu", nn.LeakyReLU(DECODER_LEAK))
    return layer


class Decoder(nn.Sequential):
    """The 14-layer generative decoder with ``num_upsamplings`` (3-6) ×2 upsamplings, tanh output."""

    def __init__(self, c_enc: int, num_upsamplings: int) -> None:
        super().__init__()
        u = num_upsamplings
        plan = [  # (c_in, c_out, upsample?)
            (c_enc, 1024, False), (1024, 1024, False), (1024, 512, u >= 6), (512, 512, False),
            (512, 256, u >= 5), (256, 128, False), (128, 64, u >= 4), (64, 64, False),
            (64, 32, u >= 3), (32, 32, False), (32, 16, True), (16, 32, False), (32, 16, True),
        ]
        for c_in, c_out, upsample in plan:
            self.append(_decoder_layer(c_in, c_out, upsample))
        head = nn.Sequential()
        head.add_module("conv", nn.Conv2d(16, 3, 3, stride=1, padding=1))
        head.add_module("tanh", nn.Tanh())
        self.append(head)


class TransNasAutoencoder(nn.Module):
    """``decoder(encoder(x))`` for one TransNAS-Bench-101 arch (no discriminator)."""

    def __init__(self, arch: TransNasArch) -> None:
        super().__init__()
        self.arch = arch.string
        self.encoder = Encoder(arch)
        self.decoder = Decoder(self.encoder.out_channels, num_upsamplings(arch))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))


def num_upsamplings(arch: TransNasArch) -> int:
    """``U = k + 2``: the benchmark's ``int(log2(256 / (56 // 2**k)))``, equal for k = 1..4."""
    return arch.num_downsamplings + 2


def init_encoder(encoder: nn.Module) -> None:
    """Benchmark encoder init: Kaiming-normal (fan_out, relu) convs, BN weight 1 / bias 0."""
    for module in encoder.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)


def build_network(arch: str, *, seed: int | None = None,
                  device: str | torch.device | None = None) -> TransNasAutoencoder:
    """Build the benchmark's autoencoder network for ``arch`` (a TransNAS arch string).

    ``seed``: when given, all random init (PyTorch's default init of every layer, then the
    encoder's Kaiming init) runs on a forked CPU RNG seeded with it, so the weights are a
    function of ``(arch, seed)`` and the global RNG state is left untouched. Without it the
    global RNG is used, as plain PyTorch does.
    ``device``: ``"meta"`` builds shape-only tensors (no memory, encoder init skipped), which
    is enough for counting params/FLOPs; any other device builds on the CPU and moves there.
    """
    parsed = parse_arch(arch)
    meta = device is not None and torch.device(device).type == "meta"
    rng = torch.random.fork_rng(devices=[]) if seed is not None and not meta else contextlib.nullcontext()
    with rng, (torch.device("meta") if meta else contextlib.nullcontext()):
        if seed is not None and not meta:
            torch.default_generator.manual_seed(seed)  # CPU only: other devices untouched
        model = TransNasAutoencoder(parsed)
        if not meta:  # meta tensors hold no values to initialise
            init_encoder(model.encoder)
    if device is not None and not meta:
        model = model.to(device)
    return model
