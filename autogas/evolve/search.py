"""The proxy evolution loop (the paper's Algorithm 1) on a feature cache.

Generation 0 evaluates an initial pool of ``population`` candidates (given seeds, then random
trees). Each later generation (``generations`` of them, the paper's T):

1. the top-k candidates so far are the parents (:func:`select_topk`: elitist, so the best
   fitness never decreases; parsimonious, the smallest of equally fit proxies wins; one parent
   per distinct fitness value first, for diversity);
2. a new pool of ``round(ratio * population)`` offspring is bred from them: with probability
   ``crossover`` a typed subtree crossover of two distinct parents (both children kept), else a
   mutation of one parent (:mod:`autogas.evolve.variation`);
3. random immigrants fill the pool up to ``population`` (the paper's "introduce random samples
   when the pool is short"), and also replace offspring that could not be made new;
4. the pool is evaluated (:mod:`autogas.evolve.fitness`: Kendall tau on each labelled bench's
   validation split, combined by ``min`` or ``mean``; constraint benches and the activation
   rule can make a candidate invalid) and the state is checkpointed.

A search runs on one or more benches (:mod:`autogas.evolve.benches`): at least one labelled, any
number of unlabelled constraint benches. By default only activation-reading proxies are accepted
(:mod:`autogas.evolve.activation`; ``allow_shape_only`` turns the rule off).

Every candidate is canonicalised (:class:`ProxyGraph` text) and evaluated at most once per search;
offspring beyond ``max_depth`` / ``max_size`` are rejected. Invalid candidates get fitness
:data:`~autogas.evolve.fitness.INVALID_FITNESS` and the search carries on.
"""
from __future__ import annotations

import dataclasses
import functools
import json
import os
import random
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence, Union

import numpy as np

from deap import gp

from autogas.errors import AutogasError
from autogas.evolve.benches import BenchPlan, plan_benches
from autogas.evolve.checkpoint import SearchState, load_state, save_state
from autogas.evolve.fitness import COMBINES, DEFAULT_MAX_NAN_SHARE, Fitness, SearchFitness
from autogas.evolve.generate import random_tree
from autogas.evolve.language import Language
from autogas.evolve.maps import FitnessMap, SerialMap, partition
from autogas.evolve.variation import crossover, mutate
from autogas.proxy import ProxyGraph

MAX_ATTEMPTS_PER_SLOT = 50


@dataclasses.dataclass(frozen=True)
class EvolutionSettings:
    """Search settings; the defaults are the paper's (P, T, r, k) = (20, 100, 0.9, 5), 50 val.

    ``val_size``: validation archs per labelled bench (one int for all, or a tuple with one entry
    per labelled bench). ``combine``: how the labelled benches' taus make the fitness (``min`` or
    ``mean``). ``constraint_size``: archs of each constraint bench evaluated per candidate.
    ``max_nan_share``: the largest share of a bench's archs that may be NaN (ranked last).
    ``allow_shape_only``: accept proxies that do not read the activations.
    """

    population: int = 20
    generations: int = 100
    topk: int = 5
    val_size: Union[int, tuple[int, ...]] = 50
    seed: int = 0
    ratio: float = 0.9
    crossover: float = 0.5
    max_depth: int = 10
    max_size: int = 24
    init_depth: int = 7
    language: str = "full"
    combine: str = "min"
    constraint_size: int = 50
    max_nan_share: float = DEFAULT_MAX_NAN_SHARE
    allow_shape_only: bool = False

    @property
    def val_sizes(self) -> tuple[int, ...]:
        return (self.val_size,) if isinstance(self.val_size, int) else tuple(self.val_size)

    def check(self) -> "EvolutionSettings":
        """Raise AutogasError on an impossible setting; returns self."""
        if self.population < 2:
            raise AutogasError(f"--population must be at least 2, got {self.population}")
        if self.generations < 0:
            raise AutogasError(f"--generations must be >= 0, got {self.generations}")
        if not 1 <= self.topk <= self.population:
            raise AutogasError(f"--topk must be between 1 and the population "
                               f"({self.population}), got {self.topk}")
        if not 0 <= self.ratio <= 1 or not 0 <= self.crossover <= 1:
            raise AutogasError("ratio and crossover probabilities must be in [0, 1]")
        if self.init_depth < 2 or self.max_depth < self.init_depth or self.max_size < 3:
            raise AutogasError("need 2 <= init_depth <= max_depth and max_size >= 3")
        if self.combine not in COMBINES:
            raise AutogasError(f"--combine must be one of {', '.join(COMBINES)}, "
                               f"got {self.combine!r}")
        if not 0 <= self.max_nan_share < 1:
            raise AutogasError(f"--max-nan-share must be in [0, 1), got {self.max_nan_share}")
        if not self.val_sizes:
            raise AutogasError("--val-size needs a value")
        Language.build(self.language)
        return self


@dataclasses.dataclass
class SearchResult:
    """The finished state plus the plan of its benches (splits and constraint samples)."""

    state: SearchState
    plans: list[BenchPlan]

    @property
    def best(self) -> str:
        return self.state.elite[0]

    @property
    def val_archs(self) -> list[str]:
        """Validation split of the first labelled bench."""
        return list(next(p for p in self.plans if p.labelled).fit)

    @property
    def test_archs(self) -> list[str]:
        """Test split of the first labelled bench."""
        return list(next(p for p in self.plans if p.labelled).test)



class _Breeder:
    """Makes new, canonical, size-limited candidates from parents or from scratch."""

    def __init__(self, language: Language, settings: EvolutionSettings, rng: random.Random,
                 seen: Callable[[str], bool]):
        self.language, self.settings, self.rng, self.seen = language, settings, rng, seen
        self.trees: dict[str, gp.PrimitiveTree] = {}

    def tree(self, text: str) -> gp.PrimitiveTree:
        if text not in self.trees:
            self.trees[text] = self.language.to_tree(ProxyGraph.parse(text))
        return self.trees[text]

    def accept(self, tree: gp.PrimitiveTree, pool: list[str]) -> bool:
        """Add ``tree`` to ``pool`` if it is within limits and new; returns whether it was."""
        graph = Language.to_graph(tree)
        if (graph.depth > self.settings.max_depth or graph.size > self.settings.max_size
                or self.seen(graph.text) or graph.text in pool):
            return False
        pool.append(graph.text)
        return True

    def offspring(self, parents: Sequence[str], count: int, pool: list[str]) -> None:
        s, rng = self.settings, self.rng
        target = len(pool) + count
        for _ in range(MAX_ATTEMPTS_PER_SLOT * count):
            if len(pool) >= target:
                return
            if len(parents) >= 2 and rng.random() < s.crossover:
                a, b = rng.sample(list(parents), 2)
                children: Iterable[gp.PrimitiveTree] = crossover(self.tree(a), self.tree(b), rng)
            else:
                children = (mutate(self.language, self.tree(rng.choice(parents)), rng,
                                   s.max_depth),)
            for child in children:
                if len(pool) < target:
                    self.accept(child, pool)

    def immigrants(self, size: int, pool: list[str]) -> None:
        for _ in range(MAX_ATTEMPTS_PER_SLOT * size):
            if len(pool) >= size:
                return
            self.accept(random_tree(self.language, self.rng, max_depth=self.settings.init_depth),
                        pool)


@functools.lru_cache(maxsize=1 << 16)
def proxy_size(text: str) -> int:
    """Number of nodes of a proxy."""
    return ProxyGraph.parse(text).size


def select_topk(texts: Iterable[str], fitness: dict[str, Fitness], k: int) -> list[str]:
    """The ``k`` parents: best fitness first, smallest proxy first among equal fitness, and one
    proxy per distinct fitness value before any repeat (equal-scoring variants such as
    ``abs(abs(x))`` would otherwise fill the top-k and end the search's diversity)."""
    ranked = sorted(set(texts), key=lambda t: (-fitness[t].value, proxy_size(t), t))
    distinct: list[str] = []
    repeats: list[str] = []
    seen: set[float] = set()
    for t in ranked:
        (repeats if fitness[t].value in seen else distinct).append(t)
        seen.add(fitness[t].value)
    return (distinct + repeats)[:k]


def _open_state(checkpoint: Path | None, resume: bool, settings: EvolutionSettings,
                plans: Sequence[BenchPlan]) -> SearchState:
    wanted = json.loads(json.dumps(dataclasses.asdict(settings)))  # tuples as JSON lists
    benches = [p.path for p in plans]
    fit_archs = [list(p.fit) for p in plans]
    if checkpoint is None or not checkpoint.exists():
        return SearchState.start(wanted, benches, fit_archs, settings.seed)
    if not resume:
        raise AutogasError(f"checkpoint {checkpoint} exists; pass --resume to continue it or "
                           "remove it to start over")
    state = load_state(checkpoint)
    differs = [k for k in wanted if k != "generations" and state.settings.get(k) != wanted[k]]
    if differs:
        k = differs[0]
        raise AutogasError(f"checkpoint {checkpoint} was made with {k}={state.settings.get(k)!r}, "
                           f"not {wanted[k]!r}")
    if state.benches != benches:
        raise AutogasError(f"checkpoint {checkpoint} was made on the benches "
                           f"{', '.join(state.benches)}, not {', '.join(benches)}")
    if state.fit_archs != fit_archs:
        raise AutogasError(f"checkpoint {checkpoint} used another validation split or "
                           "constraint sample (has a cache changed?)")
    state.settings["generations"] = settings.generations
    return state


def evolve(
    bench: str | os.PathLike | Sequence[str | os.PathLike],
    settings: EvolutionSettings = EvolutionSettings(),
    *,
    init: Sequence[ProxyGraph] = (),
    fitness_map: FitnessMap | None = None,
    checkpoint: str | os.PathLike | None = None,
    resume: bool = False,
    progress: bool = True,
    stop_after: int | None = None,
) -> SearchResult:
    """Run (or, with ``resume``, continue) a proxy search on one feature cache or several.

    ``init`` proxies join the initial pool (they must belong to the language). The state is
    saved to ``checkpoint`` after every generation. ``stop_after`` stops once that generation is
    complete (to test interruption). Returns the final state; see :mod:`autogas.evolve.report`
    for the val/test scores of the best proxy.
    """
    from tqdm import tqdm

    settings.check()
    language = Language.build(settings.language)
    for graph in init:
        language.to_tree(graph)  # raises if the proxy is outside the language
    paths = [bench] if isinstance(bench, (str, os.PathLike)) else list(bench)
    plans = plan_benches(paths, settings.val_sizes, settings.constraint_size, settings.seed)
    ckpt = Path(checkpoint) if checkpoint is not None else None
    state = _open_state(ckpt, resume, settings, plans)
    fitness_fn = SearchFitness.of(plans, combine=settings.combine,
                                  max_nan_share=settings.max_nan_share,
                                  allow_shape_only=settings.allow_shape_only, seed=settings.seed)
    rng = random.Random()
    rng.setstate(state.rng_state)
    breeder = _Breeder(language, settings, rng, lambda t: t in state.fitness)
    fmap = fitness_map or SerialMap()

    def run_generation(generation: int) -> None:
        started = time.perf_counter()
        pool: list[str] = []
        if generation == 0:
            for graph in init:
                breeder.accept(language.to_tree(graph), pool)
        else:
            breeder.offspring(state.elite, round(settings.ratio * settings.population), pool)
        breeder.immigrants(settings.population, pool)
        graphs = [ProxyGraph.parse(t) for t in pool]
        parts = partition(graphs, fmap.workers)
        results = fmap.run(fitness_fn, [[pool[i] for i in p] for p in parts])
        by_text = {pool[i]: r for p, rs in zip(parts, results) for i, r in zip(p, rs)}
        for text in pool:  # evaluation order = pool order, whatever the map
            state.fitness[text] = by_text[text]
        state.elite = select_topk(state.elite + pool, state.fitness, settings.topk)
        state.generation = generation
        state.rng_state = rng.getstate()
        state.seconds += time.perf_counter() - started
        best = state.fitness[state.elite[0]]
        valid = [state.fitness[t].kendall for t in pool if state.fitness[t].kendall is not None]
        state.history.append({
            "generation": generation, "best": state.elite[0], "kendall": best.kendall,
            "median": float(np.median(valid)) if valid else None,
            "parts": [p.to_json() for p in best.parts],
            "pool": len(pool), "invalid": sum(state.fitness[t].kendall is None for t in pool),
            "evaluations": len(state.fitness), "seconds": round(state.seconds, 3),
        })
        if ckpt is not None:
            save_state(ckpt, state)

    total = settings.generations + 1
    with tqdm(total=total, initial=state.generation + 1, desc="evolve", unit="gen",
              disable=not progress or None) as bar:
        for generation in range(state.generation + 1, total):
            run_generation(generation)
            best = state.fitness[state.elite[0]].kendall
            bar.set_postfix(best_tau="invalid" if best is None else f"{best:.4f}",
                            evals=len(state.fitness))
            bar.update(1)
            if stop_after is not None and generation >= stop_after:
                break
    return SearchResult(state, plans)


def state_summary(state: SearchState) -> dict[str, Any]:
    """Counts for reports: evaluations, invalid ones, seconds, evaluations per second."""
    n = len(state.fitness)
    return {"evaluations": n,
            "invalid": sum(f.kendall is None for f in state.fitness.values()),
            "seconds": round(state.seconds, 3),
            "evals_per_second": round(n / state.seconds, 2) if state.seconds > 0 else None}
