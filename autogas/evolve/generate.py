"""Random well-typed proxy trees, generated from the language's grammar (its signatures).

DEAP's own generators (``genGrow``/``genFull``) need a terminal for every type they may stop on,
and ``code``, ``kernels`` and ``netkernel`` have none; this generator instead knows the fewest
levels each type needs to be completed (:attr:`Language.min_depth`) and only picks ops that fit
in the remaining depth. At each node it first picks a *stage* uniformly among the stages able to
produce the wanted type, then an op of that stage uniformly, so large stages (ten augments) do not
crowd out small ones (the single kernel aggregation).
"""
from __future__ import annotations

import random

from deap import gp

from autogas.evolve.language import Language
from autogas.proxy.registry import SCORE, OpSpec


def random_specs(language: Language, rng: random.Random, out_type: str = SCORE,
                 max_depth: int = 8) -> list[OpSpec]:
    """A random complete subtree producing ``out_type``, as signatures in prefix order."""
    if language.min_depth.get(out_type, max_depth + 1) > max_depth:
        raise ValueError(f"no {out_type} subtree fits in depth {max_depth}")
    fitting = [s for s in language.producing(out_type) if language.spec_depth(s) <= max_depth]
    stages = sorted({s.stage for s in fitting})
    stage = rng.choice(stages)
    spec = rng.choice([s for s in fitting if s.stage == stage])
    out = [spec]
    for t in spec.in_types:
        out.extend(random_specs(language, rng, t, max_depth - 1))
    return out


def random_tree(language: Language, rng: random.Random, out_type: str = SCORE,
                max_depth: int = 8) -> gp.PrimitiveTree:
    """:func:`random_specs` as a DEAP primitive tree."""
    return gp.PrimitiveTree(to_primitives(language, random_specs(language, rng, out_type,
                                                                  max_depth)))


def to_primitives(language: Language, specs: list[OpSpec]) -> list:
    """DEAP primitives/terminals of ``specs``."""
    return [language.pset.mapping[s.key] for s in specs]
