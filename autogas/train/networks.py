"""Networks for retraining: the CycleGAN baselines and searched architectures, by name.

* ``resnet9`` / ``resnet6``: the standard CycleGAN ResNet generator (9 blocks for 256²,
  6 for 128²) at ``ngf = hidden`` (default 64); it is the reference builder of
  :mod:`autogas.spaces.gan_compression` (11,378,179 parameters at ngf 64).
* ``patchgan``: the 70x70 PatchGAN discriminator (``basic``, 3 layers) at ``ndf``:
  conv 4x4 s2 -> LReLU 0.2, two conv 4x4 s2 -> IN -> LReLU, conv 4x4 s1 -> IN -> LReLU,
  conv 4x4 s1 to one channel, all padding 1, no sigmoid (2,764,737 parameters at ndf 64).
* ``cyclegan:<string>`` (e.g. ``cyclegan:G:22.00.00.00.00.00.00.00.00.00.22`` or
  ``cyclegan:D:22.22``), ``gan-compression:<c0_..._c7>``, or the path of a JSON file: an
  architecture in a space's JSON form (``{"space": ..., ...}``, possibly under an ``"arch"`` key)
  or an ``autogas search`` report (``{"networks": {"G_A": {"network": ...}, ...}, "hidden": H}``,
  from which each role takes its own network).

Every network is initialized N(0, 0.02) with zero biases from its own seed
(:func:`autogas.spaces.base.instantiate`), leaving torch's global random state alone.
:func:`resolve_network` is the one place that maps these names to builders.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Callable, Mapping

import torch
from torch import nn

from autogas.errors import AutogasError
from autogas.spaces import get_space
from autogas.spaces.base import instantiate
from autogas.spaces.gan_compression import CONFIG_SETS, cyclegan_resnet_generator
from autogas.spaces.macs import count_macs, count_params

RESNET_BLOCKS = {"resnet9": 9, "resnet6": 6}
PARTS = ("generator", "discriminator")


def patchgan_discriminator(ndf: int = 64, n_layers: int = 3) -> nn.Sequential:
    """CycleGAN's ``basic`` PatchGAN discriminator (70x70 receptive field for 3 layers)."""
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


@dataclasses.dataclass(frozen=True)
class NetworkSpec:
    """A resolved network name: ``name`` as given, ``canonical`` text, and its builder."""

    name: str
    canonical: str
    factory: Callable[[int, str | torch.device], nn.Module]

    def build(self, seed: int = 0, device: str | torch.device = "cpu") -> nn.Module:
        """The network with weights initialized from ``seed`` (``device="meta"``: shapes only)."""
        return self.factory(seed, device)

    def cost(self, resolution: int) -> dict[str, int]:
        """Parameters and MACs (torchprofile convention) on one ``1x3xRxR`` input."""
        model = self.build(device="meta")
        return {"params": count_params(model),
                "macs": count_macs(model, (1, 3, resolution, resolution)),
                "resolution": resolution}


def _space_network(data: Mapping[str, Any], part: str, hidden: int | None) -> tuple[str, Callable]:
    """Builder of an architecture given in a space's JSON form."""
    space_name = data.get("space")
    if space_name == "cyclegan":
        cells = data.get("cells")
        n_cells = len(cells) if isinstance(cells, list) else None
        space = get_space("cyclegan", part=data.get("part", part), n_cells=n_cells)
    elif space_name == "gan-compression":
        space = get_space("gan-compression", config_set=data.get("config_set", "channels-64-cycleGAN"))
    else:
        raise AutogasError(f"architecture JSON names space {space_name!r}; "
                           "expected 'cyclegan' or 'gan-compression'")
    arch = space.from_json(data)
    return _space_builder(space, arch, part, hidden)


def _space_builder(space, arch, part: str, hidden: int | None) -> tuple[str, Callable]:
    if getattr(space, "part", "generator") != part:
        raise AutogasError(f"{space.to_string(arch)} is a {space.part}, expected a {part}")
    canonical = f"{space.name}:{space.to_string(arch)}"
    if space.name == "gan-compression":
        hidden = None
    return canonical, lambda seed, device: space.build(arch, hidden=hidden, seed=seed, device=device)


def _parse_space_string(space_name: str, text: str, part: str, hidden: int | None) -> tuple[str, Callable]:
    if space_name == "cyclegan":
        space_part = "discriminator" if text.strip().startswith("D:") else "generator"
        n_cells = len(text.strip()[2:].split(".")) if space_part == "generator" else None
        space = get_space("cyclegan", part=space_part, n_cells=n_cells)
        return _space_builder(space, space.parse(text), part, hidden)
    errors = []  # hidden does not apply: the widths are the architecture
    for config_set in CONFIG_SETS:  # the widths build the same network whichever set admits them
        space = get_space("gan-compression", config_set=config_set)
        try:
            return _space_builder(space, space.parse(text), part, None)
        except AutogasError as err:
            errors.append(str(err))
    raise AutogasError(errors[-1])


def resolve_network(name: str, *, part: str, hidden: int | None = None, ndf: int | None = None,
                    role: str | None = None) -> NetworkSpec:
    """Map a network name (see the module doc) to a :class:`NetworkSpec`.

    Widths: a generator takes ``hidden`` (ngf of ``resnet9``/``resnet6``, H of ``cyclegan:G:``),
    a discriminator ``ndf`` (of ``patchgan`` and ``cyclegan:D:``); ``None`` means the search
    report's H if the name is a report, else 64. A gan-compression architecture is its widths.
    ``role`` (``G_A``, ``G_B``, ``D_A``, ``D_B``) picks the network out of an ``autogas search`` report.
    """
    if part not in PARTS:
        raise ValueError(f"part must be one of {PARTS}, got {part!r}")
    text = name.strip()
    width = hidden if part == "generator" else ndf
    if part == "generator" and text in RESNET_BLOCKS:
        ngf, blocks = width or 64, RESNET_BLOCKS[text]
        return NetworkSpec(name, f"{text}:ngf={ngf}", lambda seed, device: cyclegan_resnet_generator(
            ngf, blocks, seed=seed, device=device))
    if part == "discriminator" and text == "patchgan":
        return NetworkSpec(name, f"patchgan:ndf={width or 64}", lambda seed, device: instantiate(
            lambda: patchgan_discriminator(width or 64), seed=seed, device=device))
    prefix, sep, rest = text.partition(":")
    if sep and prefix in ("cyclegan", "gan-compression"):
        canonical, factory = _parse_space_string(prefix, rest, part, width)
        return NetworkSpec(name, canonical, factory)
    path = Path(text)
    if text.lower().endswith(".json") or path.is_file():
        data = _read_arch_json(path)
        if isinstance(data.get("networks"), Mapping):  # an ``autogas search`` report
            entry = data["networks"].get(role) if role else None
            if not isinstance(entry, Mapping) or not isinstance(entry.get("network"), str):
                raise AutogasError(f"search report {path} has no network for role {role!r} "
                                   f"(it has {', '.join(map(str, data['networks']))})")
            report_width = data.get("hidden") if isinstance(data.get("hidden"), int) else None
            resolved = resolve_network(entry["network"], part=part, hidden=hidden or report_width,
                                       ndf=ndf or report_width)
            return dataclasses.replace(resolved, name=name)
        canonical, factory = _space_network(data, part, width)
        return NetworkSpec(name, canonical, factory)
    known = "resnet9, resnet6" if part == "generator" else "patchgan"
    raise AutogasError(f"unknown {part} {name!r}: use {known}, cyclegan:<arch>, "
                       "gan-compression:<c0_..._c7> or an architecture JSON file")


def _read_arch_json(path: Path) -> Mapping[str, Any]:
    if not path.is_file():
        raise AutogasError(f"architecture file not found: {path}")
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise AutogasError(f"cannot read architecture file {path}: {err}") from None
    if isinstance(data, Mapping) and "space" not in data and isinstance(data.get("arch"), Mapping):
        data = data["arch"]
    if not isinstance(data, Mapping) or ("space" not in data and "networks" not in data):
        raise AutogasError(f"architecture file {path} must hold a space's architecture JSON (an object "
                           "with a 'space' key, or one under 'arch') or an 'autogas search' report")
    return data
