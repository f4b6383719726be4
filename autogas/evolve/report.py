"""Scores of a proxy on a split of a feature cache, and the output file of a search.

The output file is a proxy JSON file (``{"proxy": text, ...}``, readable by ``autogas score``)
with the best proxy's scores on the validation split (its fitness), on the disjoint test split
(the rest of the labelled archs: the honest number) and on all labelled archs (what
``autogas score --proxy FILE --bench CACHE`` prints), plus the seed, settings and search counts.
"""
from __future__ import annotations

import os
from typing import Any, Sequence

import numpy as np

from autogas.cache import FeatureCache
from autogas.evolve.search import SearchResult, state_summary
from autogas.proxy import ProxyGraph, evaluate_proxy, rank_scores

CHUNK_ARCHS = 64  # as autogas score: features are read and scored 64 archs at a time


def score_archs(proxy: ProxyGraph | str, cache: FeatureCache, archs: Sequence[str]) -> dict:
    """Kendall / Spearman / Pearson of ``proxy`` with the labels of ``archs``.

    Population-level ops (rank_add, z_add) rank the given archs among themselves.
    """
    archs = list(archs)
    labels = cache.table.loc[archs, "label"].to_numpy(dtype=np.float64)
    chunks = [archs[i:i + CHUNK_ARCHS] for i in range(0, len(archs), CHUNK_ARCHS)]
    feature_sets = (fs for chunk in chunks for fs in cache.load(chunk))
    result = evaluate_proxy(proxy, feature_sets, chunk_archs=CHUNK_ARCHS)
    return rank_scores(result.values, labels) | ({"reason": result.reason} if result.invalid
                                                  else {})


def _rounded(scores: dict) -> dict:
    return {k: round(v, 6) if isinstance(v, float) else v for k, v in scores.items()}


def search_report(result: SearchResult, bench: str | os.PathLike, *,
                  command: str | None = None) -> dict[str, Any]:
    """The output-file object of a finished search (scores the best proxy on val/test/all)."""
    cache = FeatureCache(bench)
    state = result.state
    best = ProxyGraph.parse(result.best)
    labelled = [a for a, y in zip(cache.archs, cache.labels) if np.isfinite(y)]
    scores = {"val": score_archs(best, cache, result.val_archs),
              "test": score_archs(best, cache, result.test_archs),
              "all": score_archs(best, cache, labelled)}
    return best.to_json(
        name="autogas_evolved",
        description=("Proxy evolved by 'autogas evolve' (Kendall tau fitness on the validation "
                     "split; test = the disjoint rest of the labelled archs)."),
        scores={k: _rounded(v) for k, v in scores.items()},
        seed=state.settings["seed"], settings=state.settings, bench=str(bench),
        bench_settings=cache.settings, n_val=len(result.val_archs),
        n_test=len(result.test_archs), **state_summary(state),
        top_k=[{"proxy": t, "val_kendall": state.fitness[t].kendall} for t in state.elite],
        history=[round(h["kendall"], 6) if h["kendall"] is not None else None
                 for h in state.history],
        val_archs=result.val_archs, command=command,
    )
