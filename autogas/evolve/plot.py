"""The picture of a search (``<out>.png`` beside ``autogas evolve --out``): best and median
fitness per generation, and the final proxy against the labels of each labelled bench (test
split, NaN archs drawn at the bottom edge)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from autogas.atomic import atomic_path
from autogas.cache import FeatureCache
from autogas.evolve.search import SearchResult
from autogas.score import score_on_cache


def plot_search(result: SearchResult, report: dict[str, Any], path: str | os.PathLike) -> Path:
    """Draw the search picture to ``path`` (atomically) and return the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labelled = [p for p in result.plans if p.labelled]
    fig, axes = plt.subplots(1, 1 + len(labelled), figsize=(4.2 * (1 + len(labelled)), 3.6),
                             squeeze=False)
    ax = axes[0, 0]
    history = result.state.history
    gens = [h["generation"] for h in history]
    best = [np.nan if h["kendall"] is None else h["kendall"] for h in history]
    median = [np.nan if h.get("median") is None else h["median"] for h in history]
    ax.plot(gens, best, label="best", color="C0")
    ax.plot(gens, median, label="median (valid)", color="C1")
    ax.set_xlabel("generation")
    ax.set_ylabel(f"fitness ({result.state.settings.get('combine', 'min')} of val tau)")
    ax.set_title("fitness per generation")
    ax.legend(fontsize=8)
    for ax, plan in zip(axes[0, 1:], labelled):
        scored = score_on_cache(report["proxy"], FeatureCache(plan.path), plan.test)
        labels = FeatureCache(plan.path).table.loc[scored.archs, "label"].to_numpy(float)
        values = scored.values
        ok = np.isfinite(values)
        ax.scatter(values[ok], labels[ok], s=8, alpha=0.6)
        if (~ok).any():
            floor = np.nanmin(values) if ok.any() else 0.0
            ax.scatter(np.full((~ok).sum(), floor), labels[~ok], s=10, marker="x", color="C3",
                       label=f"NaN ({(~ok).sum()})")
            ax.legend(fontsize=8)
        tau = scored.scores.get("kendall")
        ax.set_title(f"{plan.name} test: tau {tau:+.3f}" if tau is not None else
                     f"{plan.name} test: invalid", fontsize=9)
        ax.set_xlabel("proxy")
        ax.set_ylabel("label")
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return path
