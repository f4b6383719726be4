"""Generator search spaces: a registry of the spaces autogas can sample, build and count, and
the one network factory.

``get_space("cyclegan", part="generator", n_cells=11, hidden=64)`` or
``get_space("gan-compression", config_set="channels-32")``; every space implements
:class:`autogas.spaces.base.SearchSpace`. ``create_network(name)`` builds any network by name
(``resnet9``, ``patchgan``, ``cyclegan:G:...``, ``gan-compression:...``, ``transnas:...``;
:mod:`autogas.spaces.networks`).
"""
from __future__ import annotations

from typing import Any

from autogas.errors import AutogasError
from autogas.spaces.base import Arch, ArchCost, SearchSpace
from autogas.spaces.cyclegan import CycleGanSpace
from autogas.spaces.gan_compression import GanCompressionSpace
from autogas.spaces.networks import NetworkSpec, create_network, network_spec

SPACES: dict[str, type[SearchSpace]] = {
    CycleGanSpace.name: CycleGanSpace,
    GanCompressionSpace.name: GanCompressionSpace,
}


def get_space(name: str, **options: Any) -> SearchSpace:
    """The space called ``name`` built with ``options``; :class:`AutogasError` for an unknown
    name (listing the known ones) or an option the space does not take."""
    if name not in SPACES:
        raise AutogasError(f"unknown search space {name!r}; known: {', '.join(SPACES)}")
    try:
        return SPACES[name](**options)
    except TypeError as err:
        raise AutogasError(f"search space {name!r}: bad options {sorted(options)}: {err}") from None


__all__ = ["Arch", "ArchCost", "CycleGanSpace", "GanCompressionSpace", "NetworkSpec", "SPACES", "SearchSpace",
           "create_network", "get_space", "network_spec"]
