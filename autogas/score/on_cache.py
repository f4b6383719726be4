"""Scoring a proxy on a feature cache: the one path ``autogas score``, ``evolve``'s report and
``autogas baselines`` (graph proxies) share.

:func:`score_on_cache` reads the features of ``archs`` 64 at a time, evaluates the proxy with
:func:`autogas.proxy.evaluate_proxy` (so a degenerate network gives that architecture NaN and
the others are scored; see :mod:`autogas.proxy.evaluate`) and, where the archs are labelled,
ranks the values against the labels with :func:`autogas.proxy.rank_scores` (NaN ranked last and
counted). An unlabelled selection (a constraint bench, a cache of sampled generators) gets the
figures that make sense without labels: ``n``, ``nan`` and whether the proxy is constant there.
"""
from __future__ import annotations

import dataclasses
import os
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from autogas.cache import FeatureCache
from autogas.proxy import ProxyGraph, evaluate_proxy, load_proxy, rank_scores

CHUNK_ARCHS = 64  # features read and evaluated 64 archs at a time (bounded memory)


@dataclasses.dataclass
class CacheScore:
    """A proxy's values on some archs of one cache and, if they are labelled, its rank scores."""

    bench: str
    archs: list[str]
    values: np.ndarray
    scores: dict[str, Any]  # kendall, spearman, pearson (None if unlabelled), n, nan, invalid, reason

    def row(self) -> dict[str, Any]:
        """One printable/serialisable row: bench name plus the scores."""
        return {"bench": self.bench, **self.scores}


def score_on_cache(proxy: ProxyGraph | str | os.PathLike, cache: FeatureCache | str | os.PathLike,
                   archs: Sequence[str] | None = None, *,
                   progress: Callable[[Iterable], Iterable] | None = None) -> CacheScore:
    """Values and scores of ``proxy`` on ``archs`` of ``cache`` (default: its labelled archs,
    or every arch when it has no label at all)."""
    cache = cache if isinstance(cache, FeatureCache) else FeatureCache(cache)
    graph = load_proxy(proxy)
    labels_all = cache.labels
    if archs is None:
        finite = np.isfinite(labels_all)
        archs = [a for a, ok in zip(cache.archs, finite) if ok] if finite.any() else list(cache.archs)
    archs = list(archs)
    labels = cache.table.loc[archs, "label"].to_numpy(dtype=np.float64) if archs else np.array([])
    chunks = [archs[i:i + CHUNK_ARCHS] for i in range(0, len(archs), CHUNK_ARCHS)]
    feature_sets = (fs for chunk in (progress(chunks) if progress else chunks)
                    for fs in cache.load(chunk))
    result = evaluate_proxy(graph, feature_sets, chunk_archs=CHUNK_ARCHS)
    labelled = len(labels) >= 3 and bool(np.all(np.isfinite(labels))) and not np.all(labels == labels[0])
    if labelled:
        scores = rank_scores(result.values, labels)
        if result.invalid:
            scores.update(kendall=None, spearman=None, pearson=None, invalid=True)
    else:
        scores = {"kendall": None, "spearman": None, "pearson": None, "n": len(archs),
                  "nan": result.nan, "invalid": result.invalid, "reason": None}
    if result.invalid or result.reason:
        scores["reason"] = result.reason
    return CacheScore(str(cache.path), archs, result.values, scores)


def describe_scores(scores: dict[str, Any]) -> str:
    """One line for a row of scores (as printed by ``autogas score`` and ``autogas evolve``)."""
    if scores["invalid"]:
        return f"invalid ({scores.get('reason')}) on {scores['n']} archs"
    if scores["kendall"] is None:
        return f"unlabelled, n={scores['n']}, NaN {scores['nan']}, non-constant"
    return (f"kendall {scores['kendall']:+.4f}  spearman {scores['spearman']:+.4f}  "
            f"pearson {scores['pearson']:+.4f}  (n={scores['n']}, NaN {scores['nan']})")
