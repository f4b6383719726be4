"""The ranking report: correlations of every proxy with the labels, next to the stored scores.

Per proxy: Kendall tau-b, Spearman rho and Pearson r against the labels (on the architectures
where the proxy is finite), mean seconds per architecture, and - where the labels file carries
NAS-Bench-Suite-Zero's stored score of the same proxy - the stored score's correlations and the
rank agreement (Kendall tau) between our values and the stored ones. Rendered as a Markdown
table, a JSON record and a PNG scatter grid (proxy rank vs label, one panel per proxy).
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from autogas.atomic import atomic_path, write_text_atomic
from autogas.errors import AutogasError
from autogas.proxy import rank_scores

COLUMNS = ("proxy", "pass", "kendall", "spearman", "pearson", "n", "failed", "seconds_per_arch",
           "stored_kendall", "stored_spearman", "stored_pearson", "agreement_kendall", "agreement_n")
_STORED_COUNTS = {"params": "params", "flops": "flops"}


def stored_column(name: str, columns: Sequence[str]) -> str | None:
    """The labels-table column holding NAS-Bench-Suite-Zero's stored score of proxy ``name``."""
    column = _STORED_COUNTS.get(name, f"zc_{name}")
    return column if column in columns else None


def correlations(values: pd.Series | np.ndarray, labels: pd.Series | np.ndarray) -> dict:
    """Kendall / Spearman / Pearson (via :func:`rank_scores`) on the pairs where both are finite.

    Returns ``{"kendall", "spearman", "pearson", "n"}``; the correlations are None when fewer
    than 3 pairs remain or either side is constant there.
    """
    v = np.asarray(values, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    keep = np.isfinite(v) & np.isfinite(y)
    empty = {"kendall": None, "spearman": None, "pearson": None, "n": int(keep.sum())}
    if keep.sum() < 3 or np.all(y[keep] == y[keep][0]):
        return empty
    scores = rank_scores(v[keep], y[keep])
    return {k: scores[k] for k in ("kendall", "spearman", "pearson", "n")}


def build_table(
    values: pd.DataFrame,
    labels: pd.Series,
    *,
    seconds: pd.DataFrame | None = None,
    passes: Mapping[str, str] | None = None,
    stored: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per column of ``values`` (indexed by arch), in the order of :data:`COLUMNS`.

    ``labels`` and ``stored`` (a labels table with ``params``, ``flops`` and ``zc_<name>``
    columns) are aligned to ``values.index``; a missing stored score leaves its columns None.
    """
    labels = labels.reindex(values.index)
    if labels.notna().sum() < 3:
        raise AutogasError(f"need at least 3 labelled architectures, got {int(labels.notna().sum())}")
    rows = []
    for name in values.columns:
        ours = values[name]
        row = {"proxy": name, "pass": (passes or {}).get(name, ""),
               **correlations(ours, labels), "failed": int((~np.isfinite(ours)).sum()),
               "seconds_per_arch": (float(seconds[name].mean()) if seconds is not None
                                    and name in seconds else None)}
        column = stored_column(name, list(stored.columns)) if stored is not None else None
        if column is None:
            row.update(stored_kendall=None, stored_spearman=None, stored_pearson=None,
                       agreement_kendall=None, agreement_n=None)
        else:
            theirs = stored[column].reindex(values.index)
            ref = correlations(theirs, labels)
            agree = correlations(ours, theirs)
            row.update(stored_kendall=ref["kendall"], stored_spearman=ref["spearman"],
                       stored_pearson=ref["pearson"], agreement_kendall=agree["kendall"],
                       agreement_n=agree["n"])
        rows.append(row)
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _fmt(value: object, spec: str = "+.3f") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return format(value, spec)
    return str(value)


def _seconds(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def to_markdown(table: pd.DataFrame, *, title: str = "Baseline zero-cost proxies",
                notes: Sequence[str] = ()) -> str:
    """The table as Markdown, sorted by Kendall tau (invalid proxies last)."""
    order = table.assign(_k=table["kendall"].astype(float).fillna(-np.inf)).sort_values(
        "_k", ascending=False, kind="stable")
    head = ("| proxy | pass | Kendall τ | Spearman ρ | Pearson r | n | failed | s/arch | "
            "stored τ | stored ρ | stored r | τ(ours, stored) |")
    lines = [f"# {title}", "", head, "|" + "---|" * (head.count("|") - 1)]
    for row in order.to_dict("records"):
        lines.append("| " + " | ".join([
            row["proxy"], row["pass"] or "-", _fmt(row["kendall"]), _fmt(row["spearman"]),
            _fmt(row["pearson"]), _fmt(row["n"]), _fmt(row["failed"]),
            _seconds(row["seconds_per_arch"]), _fmt(row["stored_kendall"]),
            _fmt(row["stored_spearman"]), _fmt(row["stored_pearson"]),
            _fmt(row["agreement_kendall"])]) + " |")
    if notes:
        lines += [""] + [f"- {note}" for note in notes]
    return "\n".join(lines) + "\n"


def scatter_grid(values: pd.DataFrame, labels: pd.Series, path: str | Path,
                 table: pd.DataFrame | None = None, *, label_name: str = "SSIM") -> Path:
    """PNG grid, one panel per proxy: the proxy's rank (as a fraction) against the label.

    Ranks rather than raw values keep heavy-tailed proxies (synflow spans tens of orders of
    magnitude) readable; the panel title carries Kendall tau.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = labels.reindex(values.index)
    taus = dict(zip(table["proxy"], table["kendall"])) if table is not None else {}
    n = len(values.columns)
    cols = min(4, max(n, 1))
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.8 * rows), squeeze=False)
    for ax, name in zip(axes.flat, values.columns):
        v = values[name].to_numpy(dtype=np.float64)
        keep = np.isfinite(v) & np.isfinite(labels.to_numpy(dtype=np.float64))
        ranks = pd.Series(v[keep]).rank(pct=True).to_numpy()
        ax.scatter(ranks, labels.to_numpy()[keep], s=6, alpha=0.6)
        tau = taus.get(name)
        short = name if len(name) <= 32 else name[:31] + "…"
        ax.set_title(f"{short}  τ={_fmt(tau)}" if tau is not None and not pd.isna(tau)
                     else f"{short}  (invalid)", fontsize=9)
        ax.set_xlabel("proxy rank (fraction)", fontsize=8)
        ax.set_ylabel(label_name, fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return path


def write_report(out_dir: str | Path, table: pd.DataFrame, values: pd.DataFrame,
                 labels: pd.Series, *, notes: Sequence[str] = (), meta: Mapping | None = None,
                 name: str = "baselines") -> dict[str, Path]:
    """Write ``<name>.md``, ``<name>.json`` and ``<name>.png`` into ``out_dir``."""
    out = Path(out_dir)
    paths = {"markdown": out / f"{name}.md", "json": out / f"{name}.json",
             "png": out / f"{name}.png"}
    write_text_atomic(paths["markdown"], to_markdown(table, notes=notes))
    record = {**(meta or {}), "notes": list(notes), "rows": table_records(table)}
    write_text_atomic(paths["json"], json.dumps(record, indent=2) + "\n")
    scatter_grid(values, labels, paths["png"], table)
    return paths


def table_records(table: pd.DataFrame) -> list[dict]:
    """The table as JSON-ready dicts (NaN -> None)."""
    records = []
    for row in table.to_dict("records"):
        records.append({k: (None if isinstance(v, float) and math.isnan(v) else
                            (v.item() if isinstance(v, np.generic) else v)) for k, v in row.items()})
    return records
