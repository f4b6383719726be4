"""Fitness of candidate proxies over the benches of a search (:mod:`autogas.evolve.benches`).

A candidate's fitness is computed as follows; the first failing step makes it **invalid**
(fitness :data:`INVALID_FITNESS`, below any Kendall tau, with the reason kept):

1. it must parse (a malformed text is invalid);
2. unless shape-only proxies are allowed, it must pass the structural activation rule
   (:func:`autogas.evolve.activation.structural_reason`, free);
3. on each bench, in the given order, its per-architecture values on the bench's fitness archs
   are computed with the per-arch failure rule of :mod:`autogas.evolve.values` (a degenerate
   network gives that arch NaN, the others are scored). Then, on that bench:

   - **NaN share**: more than ``max_nan_share`` of the archs NaN -> invalid; at or below it the
     NaN archs are kept and **ranked last** (below every finite value, tied among themselves);
   - **constant**: the finite values (near-)constant -> invalid (it cannot rank this bench);
   - labelled bench only: its term is Kendall tau-b between the values (NaN last) and the
     labels of the bench's validation split;
4. unless shape-only proxies are allowed, the empirical activation rule
   (:class:`autogas.evolve.activation.ActivationCheck`, on redrawn features of the first bench's
   probe archs) must pass;
5. fitness = ``min`` (default: the worst labelled bench decides, so a proxy must hold on all of
   them) or ``mean`` of the labelled benches' taus.

So NaN archs cost fitness twice over: each one is ranked last (a discordant pair with every
better-labelled arch), and above the share the whole candidate is out. The per-bench terms are
kept in :attr:`Fitness.parts` (bench name, tau or None for a constraint, NaN count, n).

:class:`SearchFitness` is what travels to the workers of a map (a process, a Dask worker): it
holds only cache paths, architecture names and labels. The first call in a process loads the
features and builds the evaluators (:class:`~autogas.evolve.values.ArchValues`, one per bench,
and the activation check), kept for the life of the process, so their memo of kernel sets (the
costly part of an evaluation) is reused by every later call. Population-level ops (rank_add,
z_add) rank within the archs being evaluated: one bench's fitness archs during the search, its
test split in the final report.
"""
from __future__ import annotations

import dataclasses
import hashlib
import threading
from typing import Sequence

import numpy as np
import scipy.stats

from autogas.cache import FeatureCache
from autogas.errors import AutogasError
from autogas.evolve.activation import ActivationCheck, structural_reason
from autogas.evolve.benches import BenchPlan
from autogas.evolve.values import ArchValues
from autogas.proxy import ProxyGraph
from autogas.proxy.evaluate import constant_reason, nan_last

INVALID_FITNESS = -2.0  # below any Kendall tau: invalid candidates are never selected
EVALUATOR_CACHE_BYTES = 1 << 30  # per process, shared out among the benches
COMBINES = ("min", "mean")
DEFAULT_MAX_NAN_SHARE = 0.03


@dataclasses.dataclass(frozen=True)
class BenchPart:
    """One bench's figures for a candidate: tau (None on a constraint bench), NaN count, n."""

    bench: str
    kendall: float | None
    nan: int
    n: int

    def to_json(self) -> list:
        return [self.bench, self.kendall, self.nan, self.n]

    @classmethod
    def from_json(cls, obj: Sequence) -> "BenchPart":
        bench, kendall, nan, n = obj
        return cls(str(bench), None if kendall is None else float(kendall), int(nan), int(n))


@dataclasses.dataclass(frozen=True)
class Fitness:
    """One candidate's result: combined tau, or None with the reason it is invalid."""

    kendall: float | None
    reason: str | None = None
    parts: tuple[BenchPart, ...] = ()

    @property
    def value(self) -> float:
        """The quantity evolution maximises (:data:`INVALID_FITNESS` when invalid)."""
        return INVALID_FITNESS if self.kendall is None else self.kendall


def nan_last_kendall(values: np.ndarray, labels: np.ndarray) -> float:
    """Kendall tau-b of ``values`` (NaN ranked last) with ``labels``."""
    return float(scipy.stats.kendalltau(nan_last(np.asarray(values, np.float64)),
                                        labels).statistic)


@dataclasses.dataclass(frozen=True)
class FitnessTerm:
    """The picklable part of one bench: cache path, name, fitness archs, labels (None: constraint)."""

    path: str
    name: str
    archs: tuple[str, ...]
    labels: tuple[float, ...] | None

    @classmethod
    def of(cls, plan: BenchPlan) -> "FitnessTerm":
        labels = None
        if plan.labelled:
            table = FeatureCache(plan.path).table
            labels = tuple(float(y) for y in table.loc[list(plan.fit), "label"])
        return cls(plan.path, plan.name, plan.fit, labels)


_LOADED: dict[str, "_Loaded"] = {}  # this process's evaluators, keyed by the fitness's token
_LOCK = threading.Lock()


@dataclasses.dataclass
class _Loaded:
    values: list[ArchValues]
    check: ActivationCheck | None


@dataclasses.dataclass(frozen=True)
class SearchFitness:
    """Picklable fitness function: ``fitness(texts) -> [Fitness, ...]`` (see the module doc)."""

    terms: tuple[FitnessTerm, ...]
    combine: str = "min"
    max_nan_share: float = DEFAULT_MAX_NAN_SHARE
    allow_shape_only: bool = False
    seed: int = 0
    cache_bytes: int = EVALUATOR_CACHE_BYTES

    def __post_init__(self):
        if self.combine not in COMBINES:
            raise AutogasError(f"--combine must be one of {', '.join(COMBINES)}, "
                               f"got {self.combine!r}")
        if not any(t.labels is not None for t in self.terms):
            raise AutogasError("fitness needs at least one labelled bench")

    @classmethod
    def of(cls, plans: Sequence[BenchPlan], **options) -> "SearchFitness":
        return cls(tuple(FitnessTerm.of(p) for p in plans), **options)

    @property
    def token(self) -> str:
        text = "\n".join([str(self.seed), str(self.allow_shape_only)]
                         + [t.path + "\t" + "\t".join(t.archs) for t in self.terms])
        return hashlib.sha1(text.encode()).hexdigest()

    def loaded(self) -> _Loaded:
        """This process's evaluators of the fitness archs (built on first use).

        A process keeps one set: a fitness of other splits replaces it, so a long-lived worker
        running several searches holds one search's features and memo at a time.
        """
        loaded = _LOADED.get(self.token)
        if loaded is None:
            _LOADED.clear()
            share = self.cache_bytes // len(self.terms)
            features = [FeatureCache(t.path).load(t.archs) for t in self.terms]
            check = None if self.allow_shape_only else ActivationCheck(features[0], self.seed)
            loaded = _Loaded([ArchValues(f, cache_bytes=share) for f in features], check)
            _LOADED[self.token] = loaded
        return loaded

    def __call__(self, texts: Sequence[str]) -> list[Fitness]:
        """Fitness of each proxy text; never raises for a bad candidate."""
        with _LOCK:  # one set of evaluators per process; threads (Dask) take turns
            loaded = self.loaded()
            graphs: list[ProxyGraph | Fitness] = []
            for text in texts:
                try:
                    graph = ProxyGraph.parse(text)
                except AutogasError as err:
                    graphs.append(Fitness(None, str(err)))
                    continue
                why = None if self.allow_shape_only else structural_reason(graph)
                graphs.append(Fitness(None, why) if why else graph)
            todo = [g for g in graphs if isinstance(g, ProxyGraph)]
            for values in loaded.values:  # one pass over each bench for the batch's kernel sets
                values.prefetch(todo)
            return [g if isinstance(g, Fitness) else self._score(loaded, g) for g in graphs]

    def _score(self, loaded: _Loaded, graph: ProxyGraph) -> Fitness:
        parts: list[BenchPart] = []
        for term, arch_values in zip(self.terms, loaded.values):
            values = arch_values.values(graph)
            if isinstance(values, str):
                return Fitness(None, f"{term.name}: {values}", tuple(parts))
            nan = int(np.isnan(values).sum())
            if nan > self.max_nan_share * len(values):
                return Fitness(None, f"{term.name}: NaN on {nan} of {len(values)} archs "
                                     f"(more than {self.max_nan_share:g})", tuple(parts))
            reason = constant_reason(values[np.isfinite(values)])
            if reason:
                return Fitness(None, f"{term.name}: {reason}", tuple(parts))
            tau = None
            if term.labels is not None:
                tau = nan_last_kendall(values, np.asarray(term.labels))
                if not np.isfinite(tau):
                    return Fitness(None, f"{term.name}: undefined Kendall tau", tuple(parts))
            parts.append(BenchPart(term.name, tau, nan, len(values)))
        if loaded.check is not None:
            why = loaded.check.reason(graph)
            if why:
                return Fitness(None, why, tuple(parts))
        taus = [p.kendall for p in parts if p.kendall is not None]
        combined = min(taus) if self.combine == "min" else float(np.mean(taus))
        return Fitness(float(combined), None, tuple(parts))
