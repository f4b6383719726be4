"""Fitness of candidate proxies: Kendall tau on a fixed validation split of a feature cache.

The split is chosen once from the seed (:func:`split_archs`): ``val_size`` labelled architectures
for fitness, all the other labelled ones for the final report, so the two never overlap.

:class:`SplitFitness` is what travels to the workers of a map (a process, a Dask worker): it holds
only the cache path, the architecture names and the labels. The first call in a process loads
the features and builds one :class:`~autogas.proxy.Evaluator`, kept for the life of the process,
so its memo of kernel sets (the costly part of an evaluation) is reused by every later call.
Population-level ops (rank_add, z_add) rank within the split being evaluated: the validation
split during the search, the test split in the final report.
"""
from __future__ import annotations

import dataclasses
import hashlib
import threading
from typing import Sequence

import numpy as np

from autogas.cache import FeatureCache
from autogas.errors import AutogasError
from autogas.proxy import Evaluator, Population, ProxyGraph, rank_scores

INVALID_FITNESS = -2.0  # below any Kendall tau: invalid candidates are never selected
EVALUATOR_CACHE_BYTES = 1 << 30


def split_archs(cache: FeatureCache, val_size: int, seed: int) -> tuple[list[str], list[str]]:
    """``(val, test)``: ``val_size`` labelled archs drawn by ``seed``; test = the other labelled.

    Both lists keep the cache's order.
    """
    labelled = [a for a, y in zip(cache.archs, cache.labels) if np.isfinite(y)]
    if val_size < 3:
        raise AutogasError(f"--val-size must be at least 3, got {val_size}")
    if len(labelled) - val_size < 3:
        raise AutogasError(f"{cache.path} has {len(labelled)} labelled archs: too few for "
                           f"{val_size} validation archs and at least 3 test archs")
    chosen = np.random.default_rng(seed).choice(len(labelled), size=val_size, replace=False)
    is_val = np.zeros(len(labelled), dtype=bool)
    is_val[chosen] = True
    return ([a for a, v in zip(labelled, is_val) if v],
            [a for a, v in zip(labelled, is_val) if not v])


@dataclasses.dataclass(frozen=True)
class Fitness:
    """One candidate's result: Kendall tau on the split, or None with the reason it is invalid."""

    kendall: float | None
    reason: str | None = None

    @property
    def value(self) -> float:
        """The quantity evolution maximises (:data:`INVALID_FITNESS` when invalid)."""
        return INVALID_FITNESS if self.kendall is None else self.kendall


_EVALUATOR: dict[str, Evaluator] = {}  # this process's evaluator, keyed by its split's token
_LOCK = threading.Lock()


@dataclasses.dataclass(frozen=True)
class SplitFitness:
    """Picklable fitness function: ``fitness(texts) -> [Fitness, ...]`` on one split."""

    bench: str
    archs: tuple[str, ...]
    labels: tuple[float, ...]
    cache_bytes: int = EVALUATOR_CACHE_BYTES

    @classmethod
    def of(cls, cache: FeatureCache, archs: Sequence[str]) -> "SplitFitness":
        labels = cache.table.loc[list(archs), "label"].to_numpy(dtype=np.float64)
        return cls(str(cache.path), tuple(archs), tuple(float(y) for y in labels))

    @property
    def token(self) -> str:
        text = "\n".join((self.bench,) + self.archs)
        return hashlib.sha1(text.encode()).hexdigest()

    def evaluator(self) -> Evaluator:
        """This process's evaluator of the split (built on first use).

        A process keeps one evaluator: a fitness of another split replaces it, so a long-lived
        worker running several searches holds one split's features and memo at a time.
        """
        evaluator = _EVALUATOR.get(self.token)
        if evaluator is None:
            _EVALUATOR.clear()
            feature_sets = FeatureCache(self.bench).load(self.archs)
            evaluator = Evaluator(Population(feature_sets), cache_bytes=self.cache_bytes)
            _EVALUATOR[self.token] = evaluator
        return evaluator

    def __call__(self, texts: Sequence[str]) -> list[Fitness]:
        """Fitness of each proxy text; never raises for a bad candidate."""
        with _LOCK:  # one evaluator per process; threads (Dask) take turns
            evaluator = self.evaluator()
            graphs: list[ProxyGraph | Fitness] = []
            for text in texts:
                try:
                    graphs.append(ProxyGraph.parse(text))
                except AutogasError as err:
                    graphs.append(Fitness(None, str(err)))
            try:  # one pass over the features for all new kernel sets of the batch
                evaluator.prefetch([g for g in graphs if isinstance(g, ProxyGraph)])
            except Exception:  # noqa: BLE001 - evaluate() below reports each candidate's failure
                pass
            return [g if isinstance(g, Fitness) else self._score(evaluator, g) for g in graphs]

    def _score(self, evaluator: Evaluator, graph: ProxyGraph) -> Fitness:
        result = evaluator.evaluate(graph)
        if result.invalid:
            return Fitness(None, result.reason)
        scores = rank_scores(result.values, self.labels)
        if scores["invalid"] or not np.isfinite(scores["kendall"]):
            return Fitness(None, scores["reason"] or "undefined Kendall tau")
        return Fitness(float(scores["kendall"]))
