"""Training-free evolutionary architecture search: the proxy is the fitness, budgets are hard.

Algorithm (deterministic under the seed; the scheme of Fast GAN Compression's evolution search,
with a zero-cost proxy in place of the supernet's FID):

* generation 0: ``P`` distinct architectures drawn uniformly from the space within budget;
* every generation: the parents are the best ``max(2, round(P * parent_fraction))`` of the
  population; ``P`` children are made, the first half by mutating a random parent (each gene
  changes with probability ``mutation_rate``), the rest by uniform crossover of two distinct
  random parents. A child over budget, or already in the population, is redrawn (up to
  ``max_redraws`` times, then replaced by a fresh uniform sample within budget): an
  over-budget architecture is never kept. When fewer than ``P`` architectures meet the
  budget, the population holds every one found, once;
* the next population is the best ``P`` of parents and children together.

Fitness: a higher proxy score is better; NaN (proxy invalid on that network) ranks last; ties
go to the smaller gene tuple. Every architecture is scored at most once.

Budgets (:class:`Budget`) count parameters and MACs with :meth:`SearchSpace.cost` at
``Budget.resolution`` (default 256, GAN Compression's convention). Uniform sampling within a
budget draws up to ``max_redraws`` times, then *repairs* the last draw: its genes are replaced
one at a time, in random order, by those of the cheapest architecture until it fits. The
cheapest architecture is found by one pass of coordinate descent on ``Budget.load``; the pass
is exact for both spaces (CycleGANAS costs add up over ops; GAN-Compression costs grow with
every width), and if even it is over budget no architecture can meet the budget.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Callable, Sequence

import numpy as np
from tqdm import tqdm

from autogas.errors import AutogasError
from autogas.spaces import SearchSpace
from autogas.spaces.base import Arch, ArchCost


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


@dataclasses.dataclass(frozen=True)
class EvolutionSettings:
    """Sizes and rates of the evolutionary search."""

    population: int = 32
    generations: int = 16
    parent_fraction: float = 0.25
    mutation_rate: float = 0.2
    max_redraws: int = 50

    def __post_init__(self) -> None:
        if self.population < 2 or self.generations < 0 or self.max_redraws < 1:
            raise AutogasError(f"search needs population >= 2 and generations >= 0 "
                               f"(got {self.population}, {self.generations})")
        if not (0 < self.parent_fraction <= 1 and 0 < self.mutation_rate <= 1):
            raise AutogasError("parent fraction and mutation rate must be in (0, 1]")

    @property
    def n_parents(self) -> int:
        return min(self.population, max(2, round(self.population * self.parent_fraction)))


@dataclasses.dataclass(frozen=True)
class Candidate:
    """One scored architecture of a search."""

    arch: Arch
    score: float
    cost: ArchCost


def fitness_key(candidate: Candidate) -> tuple:
    """Sort key: best first (higher score), NaN last, ties by gene tuple."""
    finite = math.isfinite(candidate.score)
    return (not finite, -candidate.score if finite else 0.0, candidate.arch)


@dataclasses.dataclass
class SearchResult:
    """Final population (best first), per-generation history and the number of scored archs."""

    population: list[Candidate]
    history: list[dict]
    evaluations: int

    @property
    def best(self) -> Candidate:
        return self.population[0]


def evolve(
    space: BudgetedSpace,
    fitness: Callable[[Arch], float],
    settings: EvolutionSettings,
    seed: int | Sequence[int],
    *,
    progress: bool = True,
    desc: str = "search",
) -> SearchResult:
    """Run the evolutionary search of the module doc; ``fitness(arch)`` is the proxy score."""
    space.check_feasible()
    rng = np.random.default_rng(seed)
    scores: dict[Arch, float] = {}
    total = settings.population * (settings.generations + 1)
    bar = tqdm(total=total, desc=desc, unit="arch", disable=None if progress else True)

    def evaluate(archs: list[Arch]) -> list[Candidate]:
        out = []
        for arch in archs:
            if arch not in scores:
                scores[arch] = float(fitness(arch))
            bar.update(1)
            out.append(Candidate(arch, scores[arch], space.cost(arch)))
        return sorted(out, key=fitness_key)

    def draw(make: Callable[[], Arch], taken: set[Arch]) -> Arch:
        for _ in range(settings.max_redraws):
            arch = tuple(make())
            if arch not in taken and space.fits(arch):
                return arch
        # fall back to a uniform draw within budget (with a tight budget, possibly a duplicate)
        return space.sample(rng, settings.max_redraws)

    def record(generation: int, population: list[Candidate]) -> None:
        finite = [c.score for c in population if math.isfinite(c.score)]
        history.append({"generation": generation, "best": population[0].score,
                        "median": float(np.median(finite)) if finite else math.nan,
                        "best_arch": space.space.to_string(population[0].arch),
                        "evaluations": len(scores)})
        bar.set_postfix(best=f"{population[0].score:.4g}")

    history: list[dict] = []
    taken: set[Arch] = set()
    for _ in range(settings.population):
        taken.add(draw(lambda: space.space.sample(rng), taken))
    population = evaluate(sorted(taken))
    record(0, population)
    n_mutants = settings.population // 2
    for generation in range(1, settings.generations + 1):
        parents = population[:settings.n_parents]
        taken = {c.arch for c in population}
        children: list[Arch] = []
        for i in range(settings.population):
            if i < n_mutants or len(parents) < 2:
                def make() -> Arch:
                    parent = parents[rng.integers(len(parents))].arch
                    return space.space.mutate(parent, rng, rate=settings.mutation_rate)
            else:
                def make() -> Arch:
                    a, b = rng.choice(len(parents), size=2, replace=False)
                    return space.space.crossover(parents[a].arch, parents[b].arch, rng)
            child = draw(make, taken)
            taken.add(child)
            children.append(child)
        pool = {c.arch: c for c in parents + evaluate(children)}
        population = sorted(pool.values(), key=fitness_key)[:settings.population]
        record(generation, population)
    bar.close()
    return SearchResult(population, history, len(scores))


def sample_distinct(space: SearchSpace, n: int, rng: np.random.Generator) -> list[Arch]:
    """``n`` distinct uniform draws from ``space`` in draw order (every architecture, in
    lexicographic order, when ``n`` is at least the size of the space)."""
    if n >= space.size():
        return list(space.all_archs())
    seen: dict[Arch, None] = {}
    while len(seen) < n:
        seen.setdefault(space.sample(rng), None)
    return list(seen)
