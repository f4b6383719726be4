"""The output file of a search: the best proxy with its scores on every bench of the search.

The output file is a proxy JSON file (``{"proxy": text, ...}``, readable by ``autogas score``).
For each labelled bench it holds the best proxy's scores on the validation split (its fitness),
on the disjoint test split (the rest of the labelled archs: the honest number) and on all
labelled archs (what ``autogas score --proxy FILE --bench CACHE`` prints); for each constraint
bench, the figures on all its archs (n, NaN count, constant or not). All of it goes through
:func:`autogas.score.score_on_cache`, the scoring path of ``autogas score``. The top-level
``scores`` are the first labelled bench's (the one-bench layout of earlier versions).
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from autogas.cache import FeatureCache
from autogas.evolve.search import SearchResult, state_summary
from autogas.proxy import ProxyGraph
from autogas.score import score_on_cache


def score_archs(proxy: ProxyGraph | str, cache: FeatureCache, archs: Sequence[str]) -> dict:
    """Kendall / Spearman / Pearson (NaN archs ranked last, counted in ``nan``) of ``proxy`` with
    the labels of ``archs``. Population-level ops rank the given archs among themselves."""
    return score_on_cache(proxy, cache, archs).scores


def _rounded(scores: dict) -> dict:
    return {k: round(v, 6) if isinstance(v, float) else v for k, v in scores.items()}


def bench_scores(best: ProxyGraph, result: SearchResult) -> dict[str, dict[str, Any]]:
    """Per bench name: ``role``, ``path`` and the scores (val/test/all or constraint figures)."""
    out: dict[str, dict[str, Any]] = {}
    for plan in result.plans:
        cache = FeatureCache(plan.path)
        if plan.labelled:
            labelled = [a for a, y in zip(cache.archs, cache.labels) if np.isfinite(y)]
            scores = {"val": score_archs(best, cache, plan.fit),
                      "test": score_archs(best, cache, plan.test),
                      "all": score_archs(best, cache, labelled)}
        else:
            scores = {"all": score_on_cache(best, cache, plan.test).scores}
        out[plan.name] = {"role": plan.role, "path": plan.path, "n_fit": len(plan.fit),
                          "n_test": len(plan.test),
                          **{k: _rounded(v) for k, v in scores.items()}}
    return out


def search_report(result: SearchResult, *, command: str | None = None) -> dict[str, Any]:
    """The output-file object of a finished search (scores the best proxy on every bench)."""
    state = result.state
    best = ProxyGraph.parse(result.best)
    benches = bench_scores(best, result)
    first = next(b for b in benches.values() if b["role"] == "labelled")
    return best.to_json(
        name="autogas_evolved",
        description=("Proxy evolved by 'autogas evolve' (Kendall tau fitness on the validation "
                     "split of each labelled bench; test = the disjoint rest of its labelled "
                     "archs; constraint benches: NaN share and non-constancy)."),
        scores={k: first[k] for k in ("val", "test", "all")},
        benches=benches,
        seed=state.settings["seed"], settings=state.settings,
        bench=first["path"], bench_settings=FeatureCache(first["path"]).settings,
        n_val=first["n_fit"], n_test=first["n_test"], **state_summary(state),
        top_k=[{"proxy": t, "val_kendall": state.fitness[t].kendall} for t in state.elite],
        history=[round(h["kendall"], 6) if h["kendall"] is not None else None
                 for h in state.history],
        val_archs=result.val_archs, command=command,
    )
