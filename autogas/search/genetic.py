"""Training-free genetic architecture search: the proxy is the fitness, budgets are hard.

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

Budgets and within-budget sampling are :mod:`autogas.search.budget`'s.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Callable, Sequence

import numpy as np
from autogas.progress import progress_bar

from autogas.errors import AutogasError
from autogas.search.budget import BudgetedSpace
from autogas.spaces.base import Arch, ArchCost


@dataclasses.dataclass(frozen=True)
class ArchSearchSettings:
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
class ArchSearchResult:
    """Final population (best first), per-generation history and the number of scored archs."""

    population: list[Candidate]
    history: list[dict]
    evaluations: int

    @property
    def best(self) -> Candidate:
        return self.population[0]


def evolve_archs(
    space: BudgetedSpace,
    fitness: Callable[[Arch], float],
    settings: ArchSearchSettings,
    seed: int | Sequence[int],
    *,
    progress: bool = True,
    desc: str = "search",
) -> ArchSearchResult:
    """Run the evolutionary search of the module doc; ``fitness(arch)`` is the proxy score."""
    space.check_feasible()
    rng = np.random.default_rng(seed)
    scores: dict[Arch, float] = {}
    total = settings.population * (settings.generations + 1)
    bar = progress_bar(total=total, desc=desc, unit="arch", enabled=progress)

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
    return ArchSearchResult(population, history, len(scores))
