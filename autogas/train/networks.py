"""Networks for retraining, by name: a network name of the factory, or a JSON file.

A name is resolved by :func:`resolve_network` for one part (``generator`` or ``discriminator``):

* a network name of :func:`autogas.spaces.networks.create_network`: ``resnet9`` / ``resnet6``
  (generators, ``ngf = hidden``), ``patchgan`` (discriminator, ``ndf``), ``cyclegan:G:<cells>``,
  ``cyclegan:D:<cells>`` and ``gan-compression:<c0_..._c7>``;
* or the path of a JSON file: an architecture in a space's JSON form (``{"space": ..., ...}``,
  possibly under an ``"arch"`` key), or an ``autogas search`` report
  (``{"networks": {"G_A": {"network": ...}, ...}, "hidden": H}``, from which each role takes its
  own network).

Building, initialization (N(0, 0.02), zero biases, from the network's own seed) and the
canonical names are the factory's; this module only reads files and picks the widths.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Mapping

from autogas.errors import AutogasError
from autogas.spaces.networks import (
    NETWORKS, NetworkSpec, network_family, network_name_of_json, network_spec, patchgan_discriminator,
)

PARTS = ("generator", "discriminator")

__all__ = ["PARTS", "NetworkSpec", "patchgan_discriminator", "resolve_network"]


def resolve_network(name: str, *, part: str, hidden: int | None = None, ndf: int | None = None,
                    role: str | None = None) -> NetworkSpec:
    """Map a network name (see the module doc) to a :class:`NetworkSpec` of ``part``.

    Widths: a generator takes ``hidden`` (ngf of ``resnet9``/``resnet6``, H of ``cyclegan:G:``),
    a discriminator ``ndf`` (of ``patchgan`` and ``cyclegan:D:``); ``None`` means the search
    report's H if the name is a report, else 64. A gan-compression architecture is its widths.
    ``role`` (``G_A``, ``G_B``, ``D_A``, ``D_B``) picks the network out of an ``autogas search`` report.
    """
    if part not in PARTS:
        raise ValueError(f"part must be one of {PARTS}, got {part!r}")
    text = name.strip()
    width = hidden if part == "generator" else ndf
    family = network_family(text)
    if family is not None and NETWORKS[family].part in (None, part):  # not a fixed name of the other part
        return dataclasses.replace(network_spec(text, width=width, part=part), name=name)
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
        spec = network_spec(network_name_of_json(data, part), width=width, part=part)
        return dataclasses.replace(spec, name=name)
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
