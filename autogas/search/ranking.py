"""Ranking candidates of a generator space by a proxy, into a resumable ranked CSV.

:func:`rank_candidates` drops candidates over the budget (costs counted at the budget's
resolution), scores the rest with a :class:`autogas.search.scorer.GeneratorScorer` and keeps
them in a :class:`RankingJournal`:

Resumable: each scored row is appended to the CSV and flushed as it completes; the settings
that determine a score are recorded beside it in ``<out>.json``. A rerun with the same settings
skips the rows already there (a torn last line from a killed run is discarded), and a rerun
with different settings is refused, unless the earlier run scored nothing (a run that fails
before its first row removes its CSV and record; one killed then is simply restarted). At the
end the CSV is rewritten atomically, sorted best
first (higher score; NaN, where the proxy is invalid on a network, last), with a ``rank``
column: ``rank,arch,score,params,macs,seconds``.
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
import time
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
from tqdm import tqdm

from autogas.atomic import write_text_atomic
from autogas.progress import progress_bar
from autogas.errors import AutogasError
from autogas.search.budget import Budget, BudgetedSpace, format_count, sample_distinct
from autogas.search.scorer import GeneratorScorer, proxy_name
from autogas.spaces import ArchCost
from autogas.spaces.base import Arch

FIELDS = ("arch", "score", "params", "macs", "seconds")


def read_arch_file(path: str | os.PathLike, space) -> list:
    """Distinct architectures of a file of canonical strings (optionally ``<space>:`` prefixed)."""
    try:
        lines = Path(path).read_text().splitlines()
    except (OSError, UnicodeDecodeError) as err:
        reason = getattr(err, "strerror", None) or err
        raise AutogasError(f"cannot read architecture list {path}: {reason}") from None
    archs: dict = {}
    for number, line in enumerate(lines, 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        if text.startswith(f"{space.name}:"):
            text = text[len(space.name) + 1:]
        try:
            archs.setdefault(space.parse(text), None)
        except AutogasError as err:
            raise AutogasError(f"{path} line {number}: {err}") from None
    if not archs:
        raise AutogasError(f"no architectures in {path}")
    return list(archs)


def candidate_archs(space, *, archs: str | os.PathLike | None, n: int, seed: int,
                    at_least: int = 1) -> list:
    """The candidates to rank: those listed in the file ``archs`` (:func:`read_arch_file`), else
    ``n`` distinct uniform draws of ``space`` from a generator seeded with ``seed``
    (:func:`autogas.search.budget.sample_distinct`). :class:`AutogasError` if ``n < at_least``."""
    if archs:
        return read_arch_file(archs, space)
    if n < at_least:
        raise AutogasError(f"--n must be at least {at_least}, got {n}")
    return sample_distinct(space, n, np.random.default_rng(seed))


def _format_row(row: dict[str, Any]) -> dict[str, str]:
    return {"arch": row["arch"], "score": repr(float(row["score"])), "params": str(int(row["params"])),
            "macs": str(int(row["macs"])), "seconds": f"{float(row['seconds']):.4f}"}


def _csv_text(rows: Iterable[dict[str, Any]], *, ranked: bool, header: bool = True) -> str:
    buffer = io.StringIO()
    fields = (("rank",) if ranked else ()) + FIELDS
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    if header:
        writer.writeheader()
    for i, row in enumerate(rows, 1):
        writer.writerow({**({"rank": i} if ranked else {}), **_format_row(row)})
    return buffer.getvalue()


def sort_rows(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Best first: higher score, NaN last, ties by arch string."""
    def key(row):
        score = float(row["score"])
        return (not math.isfinite(score), -score if math.isfinite(score) else 0.0, row["arch"])
    return sorted(rows, key=key)


class RankingJournal:
    """The resumable ranked CSV of the module doc, with its settings record ``<out>.json``."""

    def __init__(self, out: str | os.PathLike, settings: dict[str, Any]) -> None:
        self.out = Path(out)
        self.meta = self.out.with_name(self.out.name + ".json")
        self.settings = json.loads(json.dumps(settings))
        self.rows: dict[str, dict[str, Any]] = {}
        if self.out.exists():
            self.rows = self._read_rows()
            if self.rows:  # a start that scored nothing holds no result to protect
                self._check_settings()

    def start(self) -> None:
        """Write the settings record and the CSV of the rows so far (dropping a torn line)."""
        if not self.meta.exists() or not self.rows:
            write_text_atomic(self.meta, json.dumps({"settings": self.settings}, indent=2) + "\n")
        write_text_atomic(self.out, _csv_text(self.rows.values(), ranked=False))

    def _check_settings(self) -> None:
        try:
            recorded = json.loads(self.meta.read_text())["settings"]
        except (OSError, ValueError, KeyError, TypeError):
            raise AutogasError(f"{self.out} exists but {self.meta.name} (its settings record) is missing "
                               "or unreadable; delete it or choose another --out") from None
        for key in sorted(set(recorded) | set(self.settings)):
            if recorded.get(key) != self.settings.get(key):
                raise AutogasError(f"{self.out} was ranked with {key}={recorded.get(key)!r}, not "
                                   f"{self.settings.get(key)!r}; delete it or choose another --out")

    def _read_rows(self) -> dict[str, dict[str, Any]]:
        text = self.out.read_text()
        lines = text.splitlines(keepends=True)
        if lines and not lines[-1].endswith("\n"):
            lines.pop()  # torn by a kill mid-write
        rows: dict[str, dict[str, Any]] = {}
        reader = csv.DictReader(lines)
        if reader.fieldnames is not None and not set(FIELDS) <= set(reader.fieldnames):
            raise AutogasError(f"{self.out} is not an autogas ranking (columns {reader.fieldnames})")
        for number, raw in enumerate(reader, 2):
            try:
                row = {"arch": raw["arch"], "score": float(raw["score"]), "params": int(raw["params"]),
                       "macs": int(raw["macs"]), "seconds": float(raw["seconds"])}
            except (TypeError, ValueError):
                raise AutogasError(f"{self.out} line {number} is malformed; delete the file to start "
                                   "again") from None
            rows[row["arch"]] = row
        return rows

    def discard_if_empty(self) -> None:
        """Remove the CSV and its settings record if no row was scored (a failed start)."""
        if not self.rows:
            for path in (self.out, self.meta):
                path.unlink(missing_ok=True)

    def append(self, row: dict[str, Any]) -> None:
        """Add one scored row to the CSV now (flushed to disk)."""
        with open(self.out, "a") as handle:
            handle.write(_csv_text([row], ranked=False, header=False))
            handle.flush()
            os.fsync(handle.fileno())
        self.rows[row["arch"]] = row

    def finish(self, archs: list[str], summary: dict[str, Any]) -> list[dict[str, Any]]:
        """Rewrite the CSV atomically with the rows of ``archs``, sorted best first."""
        ranked = sort_rows(self.rows[a] for a in archs)
        write_text_atomic(self.out, _csv_text(ranked, ranked=True))
        write_text_atomic(self.meta, json.dumps({"settings": self.settings, "summary": summary},
                                                indent=2) + "\n")
        return ranked


def format_top(rows: list[dict[str, Any]], k: int = 10) -> str:
    """Text table of the best ``k`` rows."""
    lines = [f"{'rank':>4}  {'score':>12}  {'params':>8}  {'MACs':>8}  arch"]
    for i, row in enumerate(rows[:k], 1):
        lines.append(f"{i:>4}  {row['score']:>12.6g}  {format_count(row['params']):>8}  "
                     f"{format_count(row['macs']):>8}  {row['arch']}")
    return "\n".join(lines)


def ranking_settings(scorer: GeneratorScorer, budget: Budget, images: str | os.PathLike | None) -> dict[str, Any]:
    """The settings that determine a ranking's scores (recorded in ``<out>.json``)."""
    space = scorer.space
    return {"space": space.name, "part": getattr(space, "part", None),
            "n_cells": getattr(space, "n_cells", None), "hidden": getattr(space, "hidden", None),
            "config_set": getattr(space, "config_set", None), "proxy": proxy_name(scorer.proxy),
            "seed": scorer.seed, "resolution": int(scorer.inputs.shape[-1]),
            "batch": int(scorer.inputs.shape[0]),
            "images": str(Path(images).resolve()) if images else "packaged",
            "max_dims": scorer.max_dims, "cost_resolution": budget.resolution}


def rank_candidates(scorer: GeneratorScorer, candidates: Sequence[Arch], budget: Budget,
                    out: str | os.PathLike, *, images: str | os.PathLike | None = None,
                    progress: bool = True) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Rank ``candidates`` of ``scorer.space`` within ``budget`` into the CSV ``out``.

    ``images`` is the input folder the scorer's batch came from (``None``: the packaged
    photos), recorded with the settings. Returns the ranked rows (best first) and a summary
    (``candidates``, ``over_budget``, ``scored``, ``resumed``, ``device``, ``budget``,
    ``scoring_seconds``). :class:`AutogasError` if no candidate meets the budget or ``out``
    holds a ranking made with other settings.
    """
    space = scorer.space
    budgeted = BudgetedSpace(space, budget)
    journal = RankingJournal(out, ranking_settings(scorer, budget, images))
    disable = None if progress else True

    def recorded(arch: Arch) -> ArchCost | None:
        done = journal.rows.get(space.to_string(arch))
        return ArchCost(done["params"], done["macs"], budget.resolution) if done else None

    counting = tqdm(candidates, desc="counting", unit="arch", disable=disable, leave=False)
    kept, costs = [], {}
    for arch, cost in budgeted.within(counting, known=recorded):
        kept.append((arch, space.to_string(arch)))
        costs[kept[-1][1]] = cost
    todo = [(arch, name) for arch, name in kept if name not in journal.rows]
    journal.start()
    start = time.perf_counter()
    try:
        for arch, name in progress_bar(todo, desc="scoring", unit="arch", enabled=progress):
            result = scorer.score(arch)
            journal.append({"arch": name, "score": result.score, "params": costs[name].params,
                            "macs": costs[name].macs, "seconds": result.seconds})
    except BaseException:
        journal.discard_if_empty()  # a run failing before its first result leaves nothing
        raise
    elapsed = time.perf_counter() - start
    summary = {"candidates": len(candidates), "over_budget": len(candidates) - len(kept),
               "scored": len(todo), "resumed": len(kept) - len(todo), "device": str(scorer.device),
               "budget": budget.describe(), "scoring_seconds": elapsed}
    ranked = journal.finish([name for _, name in kept], summary)
    return ranked, summary
