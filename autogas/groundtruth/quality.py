"""How good the labels of a ground-truth cache are: the noise ceiling and the label spread.

The *noise ceiling* is Kendall's tau (and Spearman's rho) between the labels of training seed 0
and seed 1 (attrs ``label_seed0``, ``label_seed1``) over the architectures with both finite. A
proxy can hardly rank the labels better than one training run ranks another, so it is the
ceiling against which a proxy's tau should be read. The *spread* is the standard deviation,
minimum and maximum of the labels (the seed mean).

With 2K >= 4 training seeds the label (the mean over all seeds) is less noisy than one seed's:
``half_tau`` is Kendall's tau between the mean of seeds 0..K-1 and the mean of seeds K..2K-1
over the architectures with all 2K finite (``half_k`` = K, ``half_n`` archs): the noise ceiling
of a K-seed label, a lower bound for that of the 2K-seed label the cache holds.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats


def label_quality(table: pd.DataFrame) -> dict[str, float | int | None]:
    """Noise ceiling and spread of the ``label`` / ``label_seed<k>`` columns of a cache table."""
    out: dict[str, float | int | None] = {"noise_tau": None, "noise_spearman": None, "noise_n": 0}
    labels = table["label"].to_numpy(dtype=float) if "label" in table else np.array([])
    finite = labels[np.isfinite(labels)]
    out.update(label_n=int(finite.size),
               label_std=float(np.std(finite)) if finite.size else None,
               label_min=float(np.min(finite)) if finite.size else None,
               label_max=float(np.max(finite)) if finite.size else None)
    if {"label_seed0", "label_seed1"} <= set(table.columns):
        y0 = table["label_seed0"].to_numpy(dtype=float)
        y1 = table["label_seed1"].to_numpy(dtype=float)
        ok = np.isfinite(y0) & np.isfinite(y1)
        out["noise_n"] = int(ok.sum())
        if ok.sum() >= 3:
            out["noise_tau"] = float(stats.kendalltau(y0[ok], y1[ok])[0])
            out["noise_spearman"] = float(stats.spearmanr(y0[ok], y1[ok])[0])
    seeds = 0
    while f"label_seed{seeds}" in table.columns:
        seeds += 1
    if seeds >= 4:
        k = seeds // 2
        tau, n = split_half_tau(table[[f"label_seed{s}" for s in range(seeds)]].to_numpy(dtype=float), k)
        out.update(half_k=k, half_n=n, half_tau=tau)
    return out


def split_half_tau(per_seed: np.ndarray, k: int) -> tuple[float | None, int]:
    """Kendall tau between the mean of seeds 0..k-1 and the mean of seeds k..2k-1 (columns of
    ``per_seed``, one row per arch) over the rows with all 2k finite, and that row count; tau is
    None below 3 rows. The noise ceiling of a label averaged over k training seeds."""
    block = per_seed[:, :2 * k]
    ok = np.isfinite(block).all(axis=1) if block.shape[1] == 2 * k else np.zeros(len(block), bool)
    if ok.sum() < 3:
        return None, int(ok.sum())
    first, second = block[ok, :k].mean(axis=1), block[ok, k:].mean(axis=1)
    return float(stats.kendalltau(first, second)[0]), int(ok.sum())
