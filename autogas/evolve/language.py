"""The searchable language: which registry signatures evolution may use, as a DEAP primitive set.

A :class:`Language` is a subset of the proxy registry chosen by *ingredients*. The base is always
the paper's chain (transform -> encoding -> kernel -> sum over layers -> reduction -> augment),
so the paper's proxy is a member of every language; each ingredient adds ops on top:

=============  ==========================================================================
``norm``       per-layer kernel normalisation (``kernel_map``: per_dim, unit_diag, ...)
``agg``        layer aggregation choices: ``kmean`` and per-layer reductions followed by an
               ``aggregation`` (sum, mean, depth- or size-weighted, encoder/decoder mean ...)
``combine``    nodes joining two branches: ``arithmetic`` (add, mul) and the population-level
               ``combine`` ops (rank_add, z_add: ranks / z-scores within the evaluated split)
``stats``      cheap architecture statistics from the forward pass as terminals (``statistic``,
               ``layer_statistic``: layer count, feature sizes, activation statistics)
=============  ==========================================================================

Every op of the registry with the allowed stage becomes one primitive (or terminal, if it takes no
argument) of a strongly-typed :class:`deap.gp.PrimitiveSetTyped`, named by :attr:`OpSpec.key`, so a
:class:`deap.gp.PrimitiveTree` over it is exactly a :class:`ProxyGraph` in prefix order.
"""
from __future__ import annotations

import dataclasses
from typing import Iterable, Sequence

from deap import gp

from autogas.errors import AutogasError
from autogas.proxy import ProxyGraph, signatures
from autogas.proxy.registry import TYPES, OpSpec

PAPER_STAGES = ("input", "transform", "encoding", "kernel", "reduction", "augment")
PAPER_KERNEL_AGGREGATION = ("ksum",)
INGREDIENTS: dict[str, tuple[str, ...]] = {
    "norm": ("kernel_map",),
    "agg": ("kernel_aggregation", "aggregation"),
    "combine": ("arithmetic", "combine"),
    "stats": ("statistic", "layer_statistic"),
}
FULL = "paper+" + "+".join(INGREDIENTS)

#: One Python class per value type, as DEAP's typed GP wants classes.
TYPE_CLASSES: dict[str, type] = {t: type(f"T_{t}", (), {}) for t in TYPES}


def parse_ingredients(name: str) -> tuple[str, ...]:
    """``"full"``, ``"paper"`` or ``"paper+norm+agg..."`` -> the sorted ingredient names."""
    name = name.strip()
    if name == "full":
        return tuple(sorted(INGREDIENTS))
    parts = [p.strip() for p in name.split("+")]
    if not parts or parts[0] != "paper":
        raise AutogasError(f"language '{name}' must be 'full', 'paper' or 'paper+<ingredient>...' "
                           f"with ingredients {', '.join(INGREDIENTS)}")
    unknown = [p for p in parts[1:] if p not in INGREDIENTS]
    if unknown:
        raise AutogasError(f"unknown language ingredient '{unknown[0]}'; choose from "
                           f"{', '.join(INGREDIENTS)}")
    return tuple(sorted(set(parts[1:])))


def _allowed(spec: OpSpec, ingredients: Sequence[str]) -> bool:
    if spec.stage in PAPER_STAGES:
        return True
    if spec.stage == "kernel_aggregation" and spec.name in PAPER_KERNEL_AGGREGATION:
        return True
    return any(spec.stage in INGREDIENTS[i] for i in ingredients)


@dataclasses.dataclass(frozen=True)
class Language:
    """The allowed signatures, their DEAP primitive set and grammar facts for tree generation."""

    name: str
    specs: tuple[OpSpec, ...]
    pset: gp.PrimitiveSetTyped
    min_depth: dict[str, int]  # fewest levels a complete subtree of each type needs

    @classmethod
    def build(cls, name: str = "full") -> "Language":
        ingredients = parse_ingredients(name)
        canonical = "paper" + "".join(f"+{i}" for i in ingredients)
        specs = tuple(s for s in signatures() if _allowed(s, ingredients))
        min_depth = _min_depths(specs)
        # keep only signatures that can be completed (their argument types have finite depth)
        specs = tuple(s for s in specs if all(t in min_depth for t in s.in_types))
        return cls(canonical, specs, _primitive_set(specs), min_depth)

    def producing(self, out_type: str) -> list[OpSpec]:
        """Signatures returning ``out_type``, in registry order."""
        return [s for s in self.specs if s.out_type == out_type]

    def spec_depth(self, spec: OpSpec) -> int:
        """Fewest levels a complete subtree rooted at ``spec`` needs."""
        return 1 + max((self.min_depth[t] for t in spec.in_types), default=0)

    def contains(self, graph: ProxyGraph) -> bool:
        """True if every op of ``graph`` belongs to this language."""
        keys = {s.key for s in self.specs}
        return all(k in keys for k in graph.prefix())

    # -- DEAP trees <-> proxy graphs ----------------------------------------------------------
    def to_tree(self, graph: ProxyGraph) -> gp.PrimitiveTree:
        """The DEAP tree of ``graph`` (AutogasError if it uses ops outside the language)."""
        try:
            return gp.PrimitiveTree([self.pset.mapping[k] for k in graph.prefix()])
        except KeyError as err:
            raise AutogasError(f"proxy '{graph.text}' uses op {err.args[0]} which is not in "
                               f"language '{self.name}'") from None

    @staticmethod
    def to_graph(tree: Iterable) -> ProxyGraph:
        """The proxy graph of a DEAP tree (or any prefix sequence of primitives)."""
        return ProxyGraph.from_prefix([node.name for node in tree])


def _min_depths(specs: Sequence[OpSpec]) -> dict[str, int]:
    """Fixed point of min_depth(type) = min over producers of 1 + max(min_depth(args))."""
    depth: dict[str, int] = {}
    changed = True
    while changed:
        changed = False
        for s in specs:
            if all(t in depth for t in s.in_types):
                d = 1 + max((depth[t] for t in s.in_types), default=0)
                if d < depth.get(s.out_type, 1 << 30):
                    depth[s.out_type] = d
                    changed = True
    return depth


def _primitive_set(specs: Sequence[OpSpec]) -> gp.PrimitiveSetTyped:
    pset = gp.PrimitiveSetTyped("proxy", [], TYPE_CLASSES["score"])
    for s in specs:
        ret = TYPE_CLASSES[s.out_type]
        if s.in_types:
            pset.addPrimitive(s.fn, [TYPE_CLASSES[t] for t in s.in_types], ret, name=s.key)
        else:
            pset.addTerminal(s.key, ret, name=s.key)
    return pset
