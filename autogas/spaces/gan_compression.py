"""GAN Compression search space for the CycleGAN ResNet generator (spec §2).

An architecture is the 8 widths ``c0_c1_..._c7`` of the *mobile* ResNet generator, built
here as a standalone network at those widths (GAN Compression's "sub generator")::

    reflect-pad 3, conv 7x7 3 -> c0, IN, ReLU
    conv 3x3 s2 c0 -> 2*c1, IN, ReLU;  conv 3x3 s2 2*c1 -> 4*c2, IN, ReLU   (trunk width 4*c2)
    9 mobile residual blocks at 4*c2; inner width 4*c3 (blocks 1-3), 4*c4 (4-6), 4*c5 (7-9)
    conv-T 3x3 s2 4*c2 -> 2*c6, IN, ReLU;  conv-T 3x3 s2 2*c6 -> c7, IN, ReLU
    reflect-pad 3, conv 7x7 c7 -> 3, tanh

A mobile block is ``x + IN(sep(m -> C)(pad(ReLU(IN(sep(C -> m)(pad(x)))))))`` where
``sep(a -> b)`` is a depthwise 3x3 conv (groups a), IN, and a pointwise 1x1 conv ``a -> b``;
every conv has a bias and IN is affine-free. The dropout of the original (rate 0) is omitted.
:func:`cyclegan_resnet_generator` builds the full CycleGAN ResNet-9 generator (the
teacher, 11,378,179 parameters at ngf 64) for reference.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import torch
from torch import nn

from autogas.errors import AutogasError
from autogas.spaces.base import Arch, SearchSpace, instantiate


def _same(values: Sequence[int]) -> tuple[tuple[int, ...], ...]:
    """The same candidates at all 8 positions."""
    return (tuple(values),) * 8

CONFIG_SETS: dict[str, tuple[tuple[int, ...], ...]] = {
    "channels-32": _same((32, 24, 16)),
    "channels-48": ((48, 32),) * 2 + ((48, 40, 32),) * 4 + ((48, 32, 24, 16),) * 2,
    "channels-64-cycleGAN": _same((64, 48, 32, 24, 16)),
}

POSITIONS = ("c0 stem", "c1 down-conv 1", "c2 down-conv 2 / trunk", "c3 blocks 1-3",
             "c4 blocks 4-6", "c5 blocks 7-9", "c6 up-conv 1", "c7 up-conv 2")


class ResnetBlock(nn.Module):
    """CycleGAN residual block: two reflect-padded 3x3 convs with IN, ReLU between, identity skip."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(width, width, 3), nn.InstanceNorm2d(width), nn.ReLU(),
            nn.ReflectionPad2d(1), nn.Conv2d(width, width, 3), nn.InstanceNorm2d(width),
        )

    def forward(self, x):
        return x + self.body(x)


def separable_conv(c_in: int, c_out: int) -> nn.Sequential:
    """Depthwise 3x3 (no padding), IN, pointwise 1x1 ``c_in -> c_out``."""
    return nn.Sequential(nn.Conv2d(c_in, c_in, 3, groups=c_in), nn.InstanceNorm2d(c_in),
                         nn.Conv2d(c_in, c_out, 1))


class MobileResnetBlock(nn.Module):
    """GAN Compression's mobile block: two separable convs ``width -> inner -> width``."""

    def __init__(self, width: int, inner: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), separable_conv(width, inner), nn.InstanceNorm2d(inner), nn.ReLU(),
            nn.ReflectionPad2d(1), separable_conv(inner, width), nn.InstanceNorm2d(width),
        )

    def forward(self, x):
        return x + self.body(x)


def resnet_skeleton(widths: Sequence[int], blocks: Sequence[nn.Module]) -> nn.Sequential:
    """CycleGAN ResNet generator around ``blocks``; ``widths`` = (stem, down 1, trunk, up 1, up 2)."""
    stem, down, trunk, up1, up2 = widths

    def unit(conv: nn.Module, width: int) -> list[nn.Module]:
        return [conv, nn.InstanceNorm2d(width), nn.ReLU()]

    return nn.Sequential(
        nn.ReflectionPad2d(3), *unit(nn.Conv2d(3, stem, 7), stem),
        *unit(nn.Conv2d(stem, down, 3, stride=2, padding=1), down),
        *unit(nn.Conv2d(down, trunk, 3, stride=2, padding=1), trunk),
        *blocks,
        *unit(nn.ConvTranspose2d(trunk, up1, 3, stride=2, padding=1, output_padding=1), up1),
        *unit(nn.ConvTranspose2d(up1, up2, 3, stride=2, padding=1, output_padding=1), up2),
        nn.ReflectionPad2d(3), nn.Conv2d(up2, 3, 7), nn.Tanh(),
    )


def mobile_resnet_generator(channels: Sequence[int]) -> nn.Sequential:
    """Standalone mobile ResNet-9 generator at widths ``c0..c7`` (spec §2.2 table)."""
    c = list(channels)
    blocks = [MobileResnetBlock(4 * c[2], 4 * c[3 + i // 3]) for i in range(9)]
    return resnet_skeleton((c[0], 2 * c[1], 4 * c[2], 2 * c[6], c[7]), blocks)


def cyclegan_resnet_generator(ngf: int = 64, n_blocks: int = 9, *, seed: int = 0,
                              device: str | torch.device = "cpu") -> nn.Module:
    """The full CycleGAN ResNet generator (``resnet_9blocks`` at ``ngf``), seeded like
    :meth:`SearchSpace.build`; ``device="meta"`` for counting."""
    return instantiate(
        lambda: resnet_skeleton((ngf, 2 * ngf, 4 * ngf, 2 * ngf, ngf),
                                [ResnetBlock(4 * ngf) for _ in range(n_blocks)]),
        seed=seed, device=device)


class GanCompressionSpace(SearchSpace):
    """Widths of the mobile ResNet generator drawn from one GAN Compression candidate set."""

    name = "gan-compression"

    def __init__(self, config_set: str = "channels-32") -> None:
        if config_set not in CONFIG_SETS:
            raise AutogasError(f"gan-compression: unknown config set {config_set!r}; "
                               f"known: {', '.join(CONFIG_SETS)}")
        self.config_set = config_set
        self.choices = CONFIG_SETS[config_set]

    def describe_position(self, pos: int) -> str:
        return f"{POSITIONS[pos]} (set {self.config_set})"

    def to_string(self, arch: Sequence[int]) -> str:
        """GAN Compression's own form, e.g. ``16_16_32_16_32_32_16_16``."""
        return "_".join(str(c) for c in self.validate(arch))

    def parse(self, text: str) -> Arch:
        if not isinstance(text, str):
            raise AutogasError(f"gan-compression: an architecture string is text, got {text!r}")
        parts = text.strip().split("_")
        if len(parts) != len(self.choices):
            raise AutogasError(f"gan-compression: {text!r} has {len(parts)} widths, expected "
                               f"{len(self.choices)} joined by '_' (c0_c1_..._c7)")
        bad = [p for p in parts if not (p.isascii() and p.isdigit())]
        if bad:
            raise AutogasError(f"gan-compression: {text!r}: {bad[0]!r} is not a width")
        return self.validate(tuple(int(p) for p in parts))

    def to_json(self, arch: Sequence[int]) -> dict[str, Any]:
        return {"space": self.name, "config_set": self.config_set, "channels": list(self.validate(arch))}

    def _arch_from_json(self, data: Mapping[str, Any]) -> Arch:
        if data.get("config_set", self.config_set) != self.config_set:
            raise AutogasError(f"gan-compression: JSON config set is {data.get('config_set')!r}, "
                               f"this space uses {self.config_set!r}")
        channels = data.get("channels")
        if not isinstance(channels, list):
            raise AutogasError("gan-compression: JSON needs 'channels': a list of 8 widths")
        return tuple(channels)

    def _construct(self, arch: Arch, hidden: int | None) -> nn.Module:
        if hidden is not None:
            raise AutogasError("gan-compression: the widths are the architecture; 'hidden' does not apply")
        return mobile_resnet_generator(arch)
