"""The one network factory: every network autogas builds by name, from one registry.

``create_network(name, width=None, part=None, seed=0, device="cpu")`` returns the network
``name`` stands for; :func:`network_spec` returns its :class:`NetworkSpec` (canonical name, part,
builder, cost) without building it. A name is either a *fixed name* or ``<family>:<arch>``:

============================  ==============  ===================================================
name                          part            ``width``
============================  ==============  ===================================================
``resnet9`` / ``resnet6``     generator       ngf (default 64); CycleGAN's ResNet generator with
                                              9 / 6 blocks (11,378,179 parameters at ngf 64)
``patchgan``                  discriminator   ndf (default 64); CycleGAN's 70x70 PatchGAN
                                              (``basic``, 3 layers; 2,764,737 parameters at 64)
``cyclegan:G:<cells>``        generator       H of the CycleGANAS cell space (default 64); the
                                              number of cells is read from the string
``cyclegan:D:<cells>``        discriminator   H (default 64)
``gan-compression:<c0_.._c7>``  generator     ignored: the 8 widths are the architecture; any
                                              candidate set admitting them builds the same network
``transnas:<arch>``           autoencoder     ignored; the TransNAS-Bench-101 autoencoder-task
                                              network of a macro or micro arch string
============================  ==============  ===================================================

Initialization is a function of ``(name, width, seed)`` only and leaves torch's global random
state alone: the CycleGAN families (all but ``transnas``) are built on the meta device and
initialized N(0, 0.02), zero biases, from ``seed`` (:func:`autogas.spaces.base.instantiate`,
the same weights as ``space.build(arch, hidden=width, seed=seed)``); ``transnas`` networks get
the benchmark's init on a forked RNG seeded with ``seed``
(:func:`autogas.transnas.network.build_network`). ``device="meta"`` gives a shape-only network.

The canonical name is the family and the space's canonical arch string (``cyclegan:G:23.00.14``,
``transnas:64-1242-basic``); fixed names record their width (``resnet9:ngf=64``). ``part``, when
given, is checked: a fixed name of another part is unknown for that part, an architecture of
another part is an error naming both parts. Every bad name or width raises :class:`AutogasError`.

New families register with :func:`register_network`; :func:`network_name_of_json` turns an
architecture in a space's JSON form into its network name.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping

import torch
from torch import nn

from autogas.errors import AutogasError
from autogas.spaces.base import instantiate
from autogas.spaces.cyclegan import CycleGanSpace
from autogas.spaces.gan_compression import CONFIG_SETS, GanCompressionSpace, cyclegan_resnet_generator
from autogas.spaces.macs import count_macs, count_params

PARTS = ("generator", "discriminator", "autoencoder")
Builder = Callable[[int, "str | torch.device"], nn.Module]  # (seed, device) -> network


@dataclasses.dataclass(frozen=True)
class NetworkSpec:
    """A resolved network name: ``name`` as given, its ``canonical`` name, its ``part``
    (:data:`PARTS`) and its builder."""

    name: str
    canonical: str
    part: str
    factory: Builder

    def build(self, seed: int = 0, device: str | torch.device = "cpu") -> nn.Module:
        """The network with weights initialized from ``seed`` (``device="meta"``: shapes only)."""
        return self.factory(seed, device)

    def cost(self, resolution: int) -> dict[str, int]:
        """Parameters and MACs (torchprofile convention) on one ``1x3xRxR`` input."""
        model = self.build(device="meta")
        return {"params": count_params(model),
                "macs": count_macs(model, (1, 3, resolution, resolution)),
                "resolution": resolution}


@dataclasses.dataclass(frozen=True)
class NetworkFamily:
    """A registry entry: ``resolve(arch, width) -> (canonical, part, builder)``; ``arch`` is the
    text after ``<family>:`` (``None`` for a fixed name). ``part`` is the part of a fixed name
    (``None`` for a family whose part depends on the architecture); ``usage`` is how the name is
    written in error messages."""

    resolve: Callable[[str | None, int | None], tuple[str, str, Builder]]
    fixed: bool
    part: str | None
    usage: str


NETWORKS: dict[str, NetworkFamily] = {}


def register_network(name: str, *, fixed: bool, part: str | None = None,
                     usage: str | None = None) -> Callable:
    """Decorator adding ``resolve`` to :data:`NETWORKS` under ``name`` (a fixed name when
    ``fixed``, else the ``<name>:`` prefix of a family); a name is registered once."""
    if name in NETWORKS:
        raise ValueError(f"network {name!r} is already registered")
    if fixed and part not in PARTS:
        raise ValueError(f"a fixed network name needs its part, one of {PARTS}")

    def add(resolve):
        NETWORKS[name] = NetworkFamily(resolve, fixed, part, usage or (name if fixed else f"{name}:<arch>"))
        return resolve
    return add


def patchgan_discriminator(ndf: int = 64, n_layers: int = 3) -> nn.Sequential:
    """CycleGAN's ``basic`` PatchGAN discriminator (70x70 receptive field for 3 layers):
    conv 4x4 s2 -> LReLU 0.2, ``n_layers - 1`` conv 4x4 s2 -> IN -> LReLU, conv 4x4 s1 -> IN ->
    LReLU, conv 4x4 s1 to one channel, all padding 1, widths ``ndf * min(2**n, 8)``, no sigmoid."""
    layers: list[nn.Module] = [nn.Conv2d(3, ndf, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
    width = ndf
    for n in range(1, n_layers + 1):
        out = ndf * min(2 ** n, 8)
        stride = 2 if n < n_layers else 1
        layers += [nn.Conv2d(width, out, 4, stride=stride, padding=1), nn.InstanceNorm2d(out),
                   nn.LeakyReLU(0.2)]
        width = out
    layers.append(nn.Conv2d(width, 1, 4, stride=1, padding=1))
    return nn.Sequential(*layers)


def _resnet(blocks: int):
    def resolve(arch: str | None, width: int | None) -> tuple[str, str, Builder]:
        ngf = width or 64
        return f"resnet{blocks}:ngf={ngf}", "generator", lambda seed, device: cyclegan_resnet_generator(
            ngf, blocks, seed=seed, device=device)
    return resolve


register_network("resnet9", fixed=True, part="generator")(_resnet(9))
register_network("resnet6", fixed=True, part="generator")(_resnet(6))


@register_network("patchgan", fixed=True, part="discriminator")
def _patchgan(arch: str | None, width: int | None) -> tuple[str, str, Builder]:
    ndf = width or 64
    return f"patchgan:ndf={ndf}", "discriminator", lambda seed, device: instantiate(
        lambda: patchgan_discriminator(ndf), seed=seed, device=device)


def _space_network(space, genes, width: int | None) -> tuple[str, str, Builder]:
    return (f"{space.name}:{space.to_string(genes)}", getattr(space, "part", "generator"),
            lambda seed, device: space.build(genes, hidden=width, seed=seed, device=device))


@register_network("cyclegan", fixed=False, usage="cyclegan:<G:..|D:..>")
def _cyclegan(arch: str | None, width: int | None) -> tuple[str, str, Builder]:
    text = arch.strip()
    part = "discriminator" if text.startswith("D:") else "generator"
    n_cells = len(text[2:].split(".")) if part == "generator" else None
    space = CycleGanSpace(part=part, n_cells=n_cells)
    return _space_network(space, space.parse(text), width)


@register_network("gan-compression", fixed=False, usage="gan-compression:<c0_..._c7>")
def _gan_compression(arch: str | None, width: int | None) -> tuple[str, str, Builder]:
    errors = []  # width does not apply: the widths are the architecture
    for config_set in CONFIG_SETS:  # the widths build the same network whichever set admits them
        space = GanCompressionSpace(config_set)
        try:
            genes = space.parse(arch)
        except AutogasError as err:
            errors.append(str(err))
            continue
        return _space_network(space, genes, None)
    raise AutogasError(errors[-1])


@register_network("transnas", fixed=False)
def _transnas(arch: str | None, width: int | None) -> tuple[str, str, Builder]:
    from autogas.transnas import network as transnas_network
    from autogas.transnas.archs import parse_arch

    canonical = parse_arch(arch).string  # width does not apply: the arch string fixes the widths
    return f"transnas:{canonical}", "autoencoder", lambda seed, device: transnas_network.build_network(
        canonical, seed=seed, device=device)


def network_family(name: str) -> str | None:
    """The registry key ``name`` is written in (a fixed name, or the family of
    ``<family>:<arch>``), or ``None`` if it names no registered network."""
    text = name.strip() if isinstance(name, str) else ""
    if text in NETWORKS and NETWORKS[text].fixed:
        return text
    prefix, sep, _ = text.partition(":")
    return prefix if sep and prefix in NETWORKS and not NETWORKS[prefix].fixed else None


def _unknown(name: str, part: str | None) -> AutogasError:
    usages = [f.usage for f in NETWORKS.values() if not f.fixed or part in (None, f.part)]
    return AutogasError(f"unknown {part or 'network'} {name!r}: use {', '.join(usages)}")


def network_spec(name: str, *, width: int | None = None, part: str | None = None) -> NetworkSpec:
    """The :class:`NetworkSpec` of ``name`` at ``width`` (see the module doc), checked to be of
    ``part`` when given; :class:`AutogasError` for an unknown or malformed name, a bad width or
    another part."""
    if part is not None and part not in PARTS:
        raise ValueError(f"part must be one of {PARTS}, got {part!r}")
    if width is not None and (isinstance(width, bool) or not isinstance(width, int) or width < 1):
        raise AutogasError(f"network width must be a positive integer, got {width!r}")
    key = network_family(name)
    if key is None:
        raise _unknown(name, part)
    family = NETWORKS[key]
    if family.fixed and part not in (None, family.part):
        raise _unknown(name, part)
    arch = None if family.fixed else name.strip().partition(":")[2]
    canonical, actual, factory = family.resolve(arch, width)
    if part not in (None, actual):
        article = "an" if actual[0] in "aeiou" else "a"
        raise AutogasError(f"{canonical} is {article} {actual}, expected a {part}")
    return NetworkSpec(name, canonical, actual, factory)


def create_network(name: str, *, width: int | None = None, part: str | None = None, seed: int = 0,
                   device: str | torch.device = "cpu") -> nn.Module:
    """The network ``name`` at ``width``, initialized from ``seed`` on ``device`` (module doc);
    the same as ``network_spec(name, width=width, part=part).build(seed, device)``."""
    return network_spec(name, width=width, part=part).build(seed, device)


def network_name_of_json(data: Mapping[str, Any], part: str = "generator") -> str:
    """The canonical network name of an architecture in a space's JSON form
    (``{"space": "cyclegan", "part": ..., "cells": [...]}`` or ``{"space": "gan-compression",
    "config_set": ..., ...}``, as ``SearchSpace.to_json`` writes it). A CycleGANAS JSON without
    ``part`` is taken as ``part``; a GAN-Compression one without ``config_set`` as
    ``channels-64-cycleGAN`` (the widest set). :class:`AutogasError` for another space or an
    architecture its space does not admit."""
    space_name = data.get("space")
    if space_name == "cyclegan":
        cells = data.get("cells")
        n_cells = len(cells) if isinstance(cells, list) else None
        space = CycleGanSpace(part=data.get("part", part), n_cells=n_cells)
    elif space_name == "gan-compression":
        space = GanCompressionSpace(config_set=data.get("config_set", "channels-64-cycleGAN"))
    else:
        raise AutogasError(f"architecture JSON names space {space_name!r}; "
                           "expected 'cyclegan' or 'gan-compression'")
    return f"{space.name}:{space.to_string(space.from_json(data))}"
