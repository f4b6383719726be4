"""``autogas rank``: score sampled or listed architectures with a proxy and write a ranked CSV.

Candidates are ``--n`` distinct uniform draws (seeded) or the architecture strings of
``--archs FILE`` (one per line; blank lines and ``#`` comments ignored). Those over
``--max-params`` / ``--max-macs`` (counted at ``--cost-resolution``, default 256) are dropped,
the rest are scored by :class:`autogas.scoring.GeneratorScorer`.

Resumable: each scored row is appended to ``--out`` and flushed as it completes; the settings
that determine a score are recorded beside it in ``<out>.json``. A rerun with the same settings
skips the rows already there (a torn last line from a killed run is discarded), and a rerun
with different settings is refused. At the end the CSV is rewritten atomically, sorted best
first (higher score; NaN, where the proxy is invalid on a network, last), with a ``rank``
column: ``rank,arch,score,params,macs,seconds``.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
from pathlib import Path
from typing import Any, Iterable

from autogas.errors import AutogasError

FIELDS = ("arch", "score", "params", "macs", "seconds")
_SUFFIXES = {"K": 1e3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}


# --- arguments shared with ``autogas search`` -------------------------------------------
def add_space_arguments(p: argparse.ArgumentParser) -> None:
    """``--space``, its options, ``--proxy`` and the scoring settings."""
    p.add_argument("--space", required=True, help="cyclegan or gan-compression")
    p.add_argument("--proxy", required=True, help="proxy JSON file (e.g. proxies/autogas_paper.json), "
                   "proxy text, or a baseline name (nwot, synflow, ...); not rank/z combinations")
    p.add_argument("--hidden", type=int, default=None, help="cyclegan: hidden width H (default 64)")
    p.add_argument("--n-cells", type=int, default=None, help="cyclegan: generator cells (default 11)")
    p.add_argument("--config-set", default=None,
                   help="gan-compression: channel candidate set (default channels-32)")
    p.add_argument("--resolution", type=int, default=128, help="input side in pixels for scoring")
    p.add_argument("--batch", type=int, default=8, help="images in the fixed input batch")
    p.add_argument("--seed", type=int, default=0, help="seed of sampling, inputs and weight init")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")
    p.add_argument("--cost-resolution", type=int, default=256,
                   help="input side at which MACs are counted for budgets and the CSV")


def parse_amount(text: str | None, unit: float, option: str) -> float | None:
    """``--max-macs 2.6`` (in the option's unit) or with a suffix: ``2.6G``, ``400K``, ``0.4M``."""
    if text is None:
        return None
    body = text.strip()
    scale = unit
    if body[-1:] in _SUFFIXES:
        body, scale = body[:-1], _SUFFIXES[body[-1]]
    try:
        value = float(body) * scale
    except ValueError:
        raise AutogasError(f"{option}: {text!r} is not a number (e.g. 2.6 or 2.6G)") from None
    if not (math.isfinite(value) and value > 0):
        raise AutogasError(f"{option} must be a positive number, got {text!r}")
    return value


def space_from_args(args, part: str = "generator"):
    """The search space (``part`` of it for cyclegan) named by the arguments."""
    from autogas.scoring import open_space

    return open_space(args.space, part=part, n_cells=args.n_cells, hidden=args.hidden,
                      config_set=args.config_set)


def check_batch(args) -> None:
    """``--batch`` must be positive (each space checks the resolution itself)."""
    if args.batch < 1:
        raise AutogasError(f"--batch must be >= 1, got {args.batch}")


# --- the command --------------------------------------------------------------------------
def register(subparsers) -> None:
    p = subparsers.add_parser("rank", help="rank sampled or listed architectures by a proxy (CSV)")
    add_space_arguments(p)
    source = p.add_mutually_exclusive_group()
    source.add_argument("--n", type=int, default=None, help="distinct random candidates (default 100)")
    source.add_argument("--archs", help="file of architecture strings, one per line")
    p.add_argument("--max-params", help="parameter budget, in millions or with a suffix (400K)")
    p.add_argument("--max-macs", help="MAC budget, in GMACs or with a suffix (2600M)")
    p.add_argument("--images", help="folder of input images (default: the packaged photos)")
    p.add_argument("--out", required=True, help="ranked CSV (resumed if it exists)")
    p.set_defaults(func=run)


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
            self._check_settings()
            self.rows = self._read_rows()

    def start(self) -> None:
        """Write the settings record and the CSV of the rows so far (dropping a torn line)."""
        from autogas.atomic import write_text_atomic

        if not self.meta.exists():
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

    def append(self, row: dict[str, Any]) -> None:
        """Add one scored row to the CSV now (flushed to disk)."""
        with open(self.out, "a") as handle:
            handle.write(_csv_text([row], ranked=False, header=False))
            handle.flush()
            os.fsync(handle.fileno())
        self.rows[row["arch"]] = row

    def finish(self, archs: list[str], summary: dict[str, Any]) -> list[dict[str, Any]]:
        """Rewrite the CSV atomically with the rows of ``archs``, sorted best first."""
        from autogas.atomic import write_text_atomic

        ranked = sort_rows(self.rows[a] for a in archs)
        write_text_atomic(self.out, _csv_text(ranked, ranked=True))
        write_text_atomic(self.meta, json.dumps({"settings": self.settings, "summary": summary},
                                                indent=2) + "\n")
        return ranked


def format_top(rows: list[dict[str, Any]], k: int = 10) -> str:
    """Text table of the best ``k`` rows."""
    from autogas.arch_search import format_count

    lines = [f"{'rank':>4}  {'score':>12}  {'params':>8}  {'MACs':>8}  arch"]
    for i, row in enumerate(rows[:k], 1):
        lines.append(f"{i:>4}  {row['score']:>12.6g}  {format_count(row['params']):>8}  "
                     f"{format_count(row['macs']):>8}  {row['arch']}")
    return "\n".join(lines)


def run(args) -> int:
    import time

    import numpy as np
    from tqdm import tqdm

    from autogas.arch_search import Budget, BudgetedSpace, sample_distinct
    from autogas.inputs import input_batch
    from autogas.scoring import DEFAULT_MAX_DIMS, GeneratorScorer, proxy_name, resolve_proxy
    from autogas.spaces import ArchCost

    space = space_from_args(args)
    proxy = resolve_proxy(args.proxy)
    check_batch(args)
    space.check_resolution(args.resolution)
    budget = Budget(parse_amount(args.max_params, 1e6, "--max-params"),
                    parse_amount(args.max_macs, 1e9, "--max-macs"), args.cost_resolution)
    budgeted = BudgetedSpace(space, budget)
    if args.archs:
        candidates = read_arch_file(args.archs, space)
    else:
        n = 100 if args.n is None else args.n
        if n < 1:
            raise AutogasError(f"--n must be >= 1, got {n}")
        candidates = sample_distinct(space, n, np.random.default_rng(args.seed))
    inputs = input_batch(args.images or "images", args.batch, args.resolution, args.seed)
    settings = {"space": space.name, "part": getattr(space, "part", None),
                "n_cells": getattr(space, "n_cells", None), "hidden": getattr(space, "hidden", None),
                "config_set": getattr(space, "config_set", None), "proxy": proxy_name(proxy),
                "seed": args.seed, "resolution": args.resolution, "batch": args.batch,
                "images": str(Path(args.images).resolve()) if args.images else "packaged",
                "max_dims": DEFAULT_MAX_DIMS, "cost_resolution": args.cost_resolution}
    scorer = GeneratorScorer(space, proxy, inputs, seed=args.seed, device=args.device)
    journal = RankingJournal(args.out, settings)

    kept, costs = [], {}
    for arch in tqdm(candidates, desc="counting", unit="arch", disable=None, leave=False):
        name = space.to_string(arch)
        done = journal.rows.get(name)
        costs[name] = (ArchCost(done["params"], done["macs"], args.cost_resolution) if done
                       else budgeted.cost(arch))
        if budget.admits(costs[name]):
            kept.append((arch, name))
    if not kept:
        budgeted.check_feasible()
        cheapest = budgeted.cheapest()
        raise AutogasError(f"none of the {len(candidates)} candidates meets the budget {budget.describe()}; "
                           f"the cheapest architecture {space.to_string(cheapest)} does "
                           "(sample more or loosen the budget)")
    todo = [(arch, name) for arch, name in kept if name not in journal.rows]
    journal.start()
    start = time.perf_counter()
    for arch, name in tqdm(todo, desc="scoring", unit="arch", disable=None):
        result = scorer.score(arch)
        journal.append({"arch": name, "score": result.score, "params": costs[name].params,
                        "macs": costs[name].macs, "seconds": result.seconds})
    elapsed = time.perf_counter() - start
    summary = {"candidates": len(candidates), "over_budget": len(candidates) - len(kept),
               "scored": len(todo), "resumed": len(kept) - len(todo), "device": str(scorer.device),
               "budget": budget.describe(), "scoring_seconds": elapsed}
    ranked = journal.finish([name for _, name in kept], summary)
    print(format_top(ranked))
    invalid = sum(not math.isfinite(r["score"]) for r in ranked)
    print(f"{len(ranked)} ranked ({len(todo)} scored now, {len(kept) - len(todo)} resumed, "
          f"{summary['over_budget']} over budget dropped"
          + (f", {invalid} with an invalid score" if invalid else "")
          + f") -> {args.out}" + (f"  [{len(todo) / elapsed:.2f} archs/s on {scorer.device}]"
                                  if todo and elapsed > 0 else ""))
    return 0
