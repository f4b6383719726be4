"""Typed mutation and crossover of proxy trees (DEAP :class:`~deap.gp.PrimitiveTree`).

Every operator keeps trees well-typed: a node or subtree is only replaced by one of the same
type, so the result is always a valid :class:`ProxyGraph` (size and depth limits are checked by
the caller). Randomness comes from an explicit :class:`random.Random`, never the global one, so
a search is reproducible from its seed and resumable from the generator's state.

Mutations (one drawn uniformly; an inapplicable one falls back to ``subtree``):

``point``    replace one op by another op of the same signature (swish -> mish, ksum -> kmean)
``subtree``  replace a random subtree by a fresh random subtree of the same type
``insert``   wrap a subtree in a type-preserving unary op (a transform, kernel map or augment)
``delete``   remove such a unary op, keeping its argument
"""
from __future__ import annotations

import random

from deap import gp

from autogas.evolve.generate import random_specs, to_primitives
from autogas.evolve.language import Language
from autogas.proxy.registry import OpSpec, spec_by_key

MUTATIONS = ("point", "subtree", "insert", "delete")


def _specs(tree: gp.PrimitiveTree) -> list[OpSpec]:
    return [spec_by_key(node.name) for node in tree]


def node_depths(tree: gp.PrimitiveTree) -> list[int]:
    """Depth of each node in prefix order (the root has depth 1)."""
    depths: list[int] = []
    stack = [1]
    for node in tree:
        depth = stack.pop()
        depths.append(depth)
        stack.extend([depth + 1] * node.arity)
    return depths


def _is_unary_same_type(spec: OpSpec) -> bool:
    return spec.in_types == (spec.out_type,)


def mutate(language: Language, tree: gp.PrimitiveTree, rng: random.Random,
           max_depth: int) -> gp.PrimitiveTree:
    """A mutated copy of ``tree`` (one of :data:`MUTATIONS`, drawn uniformly)."""
    specs = _specs(tree)
    kind = rng.choice(MUTATIONS)
    i = rng.randrange(len(tree))
    if kind == "point":
        spec = specs[i]
        options = [s for s in language.specs if s.in_types == spec.in_types
                   and s.out_type == spec.out_type and s.key != spec.key]
        if options:
            new = list(tree)
            new[i] = language.pset.mapping[rng.choice(options).key]
            return gp.PrimitiveTree(new)
    elif kind == "insert":
        t = specs[i].out_type
        options = [s for s in language.specs if s.in_types == (t,) and s.out_type == t]
        if options:
            wrapper = language.pset.mapping[rng.choice(options).key]
            return gp.PrimitiveTree(list(tree[:i]) + [wrapper] + list(tree[i:]))
    elif kind == "delete":
        positions = [j for j, s in enumerate(specs) if _is_unary_same_type(s)]
        if positions:
            j = rng.choice(positions)
            return gp.PrimitiveTree(list(tree[:j]) + list(tree[j + 1:]))
    return _replace_subtree(language, tree, specs, i, rng, max_depth)


def _replace_subtree(language: Language, tree: gp.PrimitiveTree, specs: list[OpSpec], i: int,
                     rng: random.Random, max_depth: int) -> gp.PrimitiveTree:
    budget = max(max_depth - node_depths(tree)[i] + 1, language.min_depth[specs[i].out_type])
    fresh = to_primitives(language, random_specs(language, rng, specs[i].out_type, budget))
    span = tree.searchSubtree(i)
    return gp.PrimitiveTree(list(tree[:span.start]) + fresh + list(tree[span.stop:]))


def crossover(tree_a: gp.PrimitiveTree, tree_b: gp.PrimitiveTree, rng: random.Random,
              ) -> tuple[gp.PrimitiveTree, gp.PrimitiveTree]:
    """Swap one random subtree of ``tree_a`` with a random subtree of the same type in ``tree_b``.

    The roots are excluded (swapping them only exchanges the parents); with no shared type below
    the roots the parents are returned unchanged.
    """
    types_a = [s.out_type for s in _specs(tree_a)]
    types_b = [s.out_type for s in _specs(tree_b)]
    common = sorted(set(types_a[1:]) & set(types_b[1:]))
    if not common:
        return gp.PrimitiveTree(list(tree_a)), gp.PrimitiveTree(list(tree_b))
    t = rng.choice(common)
    i = rng.choice([j for j in range(1, len(tree_a)) if types_a[j] == t])
    k = rng.choice([j for j in range(1, len(tree_b)) if types_b[j] == t])
    sa, sb = tree_a.searchSubtree(i), tree_b.searchSubtree(k)
    child_a = list(tree_a[:sa.start]) + list(tree_b[sb]) + list(tree_a[sa.stop:])
    child_b = list(tree_b[:sb.start]) + list(tree_a[sa]) + list(tree_b[sb.stop:])
    return gp.PrimitiveTree(child_a), gp.PrimitiveTree(child_b)
