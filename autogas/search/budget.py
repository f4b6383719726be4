"""Hard budgets on parameters and MACs, within-budget sampling, and count text.

Budgets (:class:`Budget`) count parameters and MACs with :meth:`SearchSpace.cost` at
``Budget.resolution`` (default 256, GAN Compression's convention). Uniform sampling within a
budget draws up to ``max_redraws`` times, then *repairs* the last draw: its genes are replaced
one at a time, in random order, by those of the cheapest architecture until it fits. The
cheapest architecture is found by one pass of coordinate descent on ``Budget.load``; the pass
is exact for both spaces (CycleGANAS costs add up over ops; GAN-Compression costs grow with
every width), and if even it is over budget no architecture can meet the budget.
:meth:`BudgetedSpace.within` is the one filter of a given candidate list (``rank``, ``bench train``).
"""
from __future__ import annotations

import dataclasses
import math
from typing import Callable, Iterable

import numpy as np

from autogas.errors import AutogasError
from autogas.spaces import SearchSpace
from autogas.spaces.base import Arch, ArchCost

_SUFFIXES = {"K": 1e3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}


def format_count(value: float) -> str:
    """``2.55G``-style text of a count."""
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= scale:
            return f"{value / scale:.3g}{suffix}"
    return f"{value:g}"


@dataclasses.dataclass(frozen=True)
class Budget:
    """Hard limits on parameters and MACs (``None``: no limit), counted at ``resolution``."""

    max_params: float | None = None
    max_macs: float | None = None
    resolution: int = 256

    def __post_init__(self) -> None:
        for name in ("max_params", "max_macs"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value > 0):
                raise AutogasError(f"budget {name.replace('_', ' ')} must be a positive number, got {value}")

    @property
    def limited(self) -> bool:
        return self.max_params is not None or self.max_macs is not None

    def admits(self, cost: ArchCost) -> bool:
        """True if ``cost`` is within every limit."""
        return ((self.max_params is None or cost.params <= self.max_params)
                and (self.max_macs is None or cost.macs <= self.max_macs))

    def load(self, cost: ArchCost) -> float:
        """Sum over the set limits of cost / limit (what the cheapest search minimizes)."""
        return ((0.0 if self.max_params is None else cost.params / self.max_params)
                + (0.0 if self.max_macs is None else cost.macs / self.max_macs))

    def describe(self) -> str:
        parts = [f"{label} <= {format_count(limit)}" for label, limit in
                 (("params", self.max_params), ("MACs", self.max_macs)) if limit is not None]
        return (", ".join(parts) or "no limit") + f" (MACs at {self.resolution}x{self.resolution})"


class BudgetedSpace:
    """A search space under a :class:`Budget`, with memoised costs."""

    def __init__(self, space: SearchSpace, budget: Budget) -> None:
        self.space = space
        self.budget = budget
        space.check_resolution(budget.resolution)
        self._costs: dict[Arch, ArchCost] = {}
        self._cheapest: Arch | None = None

    def cost(self, arch: Arch) -> ArchCost:
        arch = tuple(arch)
        if arch not in self._costs:
            self._costs[arch] = self.space.cost(arch, resolution=self.budget.resolution)
        return self._costs[arch]

    def fits(self, arch: Arch) -> bool:
        return not self.budget.limited or self.budget.admits(self.cost(arch))

    def within(self, candidates: Iterable[Arch], *, at_least: int = 1,
               known: Callable[[Arch], ArchCost | None] | None = None) -> list[tuple[Arch, ArchCost]]:
        """The candidates within the budget, in their order, each with its cost.

        A cost ``known(arch)`` returns (not ``None``) is used instead of counting the network
        (e.g. a resumed ranking's recorded cost). :class:`AutogasError` if fewer than ``at_least``
        candidates are within: with none, after :meth:`check_feasible` (no architecture of the
        space fits), the message names the cheapest architecture that does fit; with some, it
        says how many of the ``at_least`` there are.
        """
        kept, total = [], 0
        for arch in candidates:
            total += 1
            cost = known(arch) if known is not None else None
            cost = self.cost(arch) if cost is None else cost
            if self.budget.admits(cost):
                kept.append((arch, cost))
        if not kept and at_least > 0:
            self.check_feasible()
            raise AutogasError(f"none of the {total} candidates meets the budget {self.budget.describe()}; "
                               f"the cheapest architecture {self.space.to_string(self.cheapest())} does "
                               "(sample more or loosen the budget)")
        if len(kept) < at_least:
            raise AutogasError(f"only {len(kept)} of the {total} candidates meet the budget "
                               f"{self.budget.describe()}; need at least {at_least}")
        return kept

    def cheapest(self) -> Arch:
        """The architecture with the smallest budget load (one coordinate-descent pass)."""
        if self._cheapest is None:
            genes = [choices[0] for choices in self.space.choices]
            for pos, choices in enumerate(self.space.choices):
                if len(choices) > 1:
                    genes[pos] = min(choices, key=lambda v: self.budget.load(
                        self.cost(tuple(genes[:pos]) + (v,) + tuple(genes[pos + 1:]))))
            self._cheapest = tuple(genes)
        return self._cheapest

    def check_feasible(self) -> None:
        """:class:`AutogasError` if no architecture of the space meets the budget."""
        if not self.budget.limited:
            return
        arch = self.cheapest()
        cost = self.cost(arch)
        if not self.budget.admits(cost):
            raise AutogasError(
                f"no {self.space.name} architecture meets the budget {self.budget.describe()}: the "
                f"cheapest, {self.space.to_string(arch)}, has {format_count(cost.params)} params and "
                f"{format_count(cost.macs)} MACs")

    def repair(self, arch: Arch, rng: np.random.Generator) -> Arch:
        """``arch`` with genes swapped for the cheapest architecture's, in random order, until it fits."""
        genes, target = list(arch), self.cheapest()
        for pos in rng.permutation(len(genes)):
            if self.fits(tuple(genes)):
                break
            genes[pos] = target[pos]
        if not self.fits(tuple(genes)):
            self.check_feasible()
        return tuple(genes)

    def sample(self, rng: np.random.Generator, max_redraws: int = 50) -> Arch:
        """A uniform draw within budget (repaired after ``max_redraws`` failed draws)."""
        for _ in range(max(1, max_redraws)):
            arch = self.space.sample(rng)
            if self.fits(arch):
                return arch
        return self.repair(arch, rng)


def parse_amount(text: str | None, unit: float, option: str) -> float | None:
    """``--max-macs 2.6`` (in the option's unit) or with a suffix: ``2.6G``, ``400K``, ``0.4M``."""
    if text is None:
        return None
    body = text.strip()
    scale = unit
    if body[-1:] in _SUFFIXES:
        body, scale = body[:-1], _SUFFIXES[body[-1]]
    try:
        value = float(body) * scale
    except ValueError:
        raise AutogasError(f"{option}: {text!r} is not a number (e.g. 2.6 or 2.6G)") from None
    if not (math.isfinite(value) and value > 0):
        raise AutogasError(f"{option} must be a positive number, got {text!r}")
    return value


def parse_budget(max_params: str | None, max_macs: str | None, resolution: int = 256) -> Budget:
    """The budget of the ``--max-params`` (millions, or with a suffix) and ``--max-macs`` (GMACs,
    or with a suffix) options, MACs counted at ``resolution`` (:func:`parse_amount`)."""
    return Budget(parse_amount(max_params, 1e6, "--max-params"), parse_amount(max_macs, 1e9, "--max-macs"),
                  resolution)


def sample_distinct(space: SearchSpace, n: int, rng: np.random.Generator) -> list[Arch]:
    """``n`` distinct uniform draws from ``space`` in draw order (every architecture, in
    lexicographic order, when ``n`` is at least the size of the space)."""
    if n >= space.size():
        return list(space.all_archs())
    seen: dict[Arch, None] = {}
    while len(seen) < n:
        seen.setdefault(space.sample(rng), None)
    return list(seen)
