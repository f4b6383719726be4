"""Baseline values for every architecture of a feature cache, cached in the same HDF5 file.

Two passes:

* **features** - baselines with a proxy-language graph (``nwot``, ``gram_slogdet``) and any
  extra graph are evaluated on the cached forward-only features, like any searched proxy;
* **networks** - every other baseline needs the network itself (gradients, a re-initialised or
  linearised copy, counts): each architecture is rebuilt exactly as the cache built it
  (:func:`autogas.measure.seeds.init_seed`, the cache's stored input batch, its train/eval mode) and all
  requested baselines share that one build and its forward/backward passes
  (:func:`autogas.baselines.score_network`).

Values go to ``/scores/baseline_<name>`` (attrs: ``seconds`` and ``errors`` per arch, ``pass``),
so a rerun only computes what is missing. While the network pass runs, finished architectures
are journaled to ``<cache>.baselines.json`` (written atomically), so a killed run resumes.
"""
from __future__ import annotations

import contextlib
import dataclasses
import gc
import json
import multiprocessing
import os
import time
from pathlib import Path
from typing import Callable, Iterable, Sequence

import h5py
import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from autogas.atomic import write_text_atomic
from autogas.baselines import get_baseline, score_network
from autogas.cache import FeatureCache, store_scores
from autogas.errors import AutogasError

SCORE_PREFIX = "baseline_"
FEATURE_PASS, NETWORK_PASS, GRADIENT_PASS = "features", "network", "network+gradients"
CHUNK_ARCHS = 32


def baseline_pass(name: str) -> str:
    """Which pass computes baseline ``name`` on a cache."""
    baseline = get_baseline(name)
    if baseline.graph:
        return FEATURE_PASS
    return GRADIENT_PASS if baseline.needs_grad else NETWORK_PASS


def journal_path(path: str | os.PathLike) -> Path:
    """The side journal of an unfinished network pass over ``path``."""
    path = Path(path)
    return path.with_name(path.name + ".baselines.json")


@dataclasses.dataclass
class CacheBaselines:
    """Values (``values[name][arch]``), seconds per arch and errors of baselines on a cache."""

    values: pd.DataFrame
    seconds: pd.DataFrame
    errors: dict[str, dict[str, str]]
    passes: dict[str, str]
    computed: dict[str, int]  # archs computed in this call (0: everything came from the file)
    build_seconds: float | None  # mean network rebuild time in this call
    net_batch: int  # images of the cached batch the network pass used


def _read_stored(path: Path, names: Iterable[str], net_batch: int
                 ) -> dict[str, dict[str, tuple[float, float, str]]]:
    """Stored rows of ``names``; network values computed on another batch size are ignored."""
    out: dict[str, dict[str, tuple[float, float, str]]] = {}
    with h5py.File(path, "r") as f:
        scores = f.get("scores", {})
        for name in names:
            ds = scores.get(SCORE_PREFIX + name)
            if ds is None or (baseline_pass(name) != FEATURE_PASS
                              and int(ds.attrs.get("net_batch", -1)) != net_batch):
                continue
            archs = [a.decode() if isinstance(a, bytes) else str(a) for a in ds.attrs["archs"]]
            values = ds[()]
            seconds = ds.attrs.get("seconds", np.full(len(archs), np.nan))
            errors = ds.attrs.get("errors", [""] * len(archs))
            out[name] = {a: (float(v), float(s), e.decode() if isinstance(e, bytes) else str(e))
                         for a, v, s, e in zip(archs, values, seconds, errors)}
    return out


def _read_journal(path: Path, net_batch: int) -> dict[str, dict[str, list]]:
    journal = journal_path(path)
    if not journal.exists():
        return {}
    try:
        record = json.loads(journal.read_text())
    except (OSError, json.JSONDecodeError):
        return {}  # a damaged journal only loses unflushed work
    return record.get("rows", {}) if record.get("net_batch") == net_batch else {}


def _write_journal(path: Path, rows: dict[str, dict[str, tuple[float, float, str]]],
                   net_batch: int) -> None:
    write_text_atomic(journal_path(path), json.dumps({"net_batch": net_batch, "rows": rows}))


def _store(path: Path, name: str, rows: dict[str, tuple[float, float, str]], net_batch: int) -> None:
    archs = list(rows)
    values = pd.Series([rows[a][0] for a in archs], index=archs, dtype=np.float64)
    store_scores(path, SCORE_PREFIX + name, values,
                 seconds=np.array([rows[a][1] for a in archs], dtype=np.float64),
                 errors=np.array([rows[a][2] for a in archs], dtype=h5py.string_dtype()),
                 net_batch=net_batch,
                 **{"pass": baseline_pass(name), "definition": get_baseline(name).summary})


def graph_values(cache: FeatureCache, graph, archs: Sequence[str],
                 progress: Callable[[Iterable], Iterable] = lambda it: it
                 ) -> tuple[dict[str, float], float]:
    """Values of a proxy graph on ``archs`` of ``cache`` and the seconds per arch it took,
    through :func:`autogas.score.score_on_cache` (a network the proxy fails on gives NaN)."""
    from autogas.score import score_on_cache

    tick = time.perf_counter()
    scored = score_on_cache(graph, cache, archs, progress=progress)
    spent = time.perf_counter() - tick
    return ({a: float(v) for a, v in zip(scored.archs, scored.values)},
            spent / max(len(archs), 1))


def compute_on_cache(
    path: str | os.PathLike,
    names: Sequence[str],
    *,
    archs: Sequence[str] | None = None,
    net_batch: int | None = None,
    progress: bool = True,
    flush_seconds: float = 120.0,
    workers: int = 1,
) -> CacheBaselines:
    """Values of baselines ``names`` on ``archs`` (default: the labelled archs) of a cache.

    ``net_batch``: the network pass uses the first ``net_batch`` images of the cached batch
    (default: all of them). Stored network values of another ``net_batch`` are recomputed.
    ``workers`` > 1 spreads the network pass over that many processes, one torch thread each
    (every arch is rebuilt from its own seed, so values equal a one-thread serial run; other
    thread counts change float summation order, which ill-conditioned networks amplify).
    """
    if workers < 1:
        raise AutogasError(f"workers must be >= 1, got {workers}")
    path = Path(path)
    cache = FeatureCache(path)
    names = list(dict.fromkeys(names))
    passes = {n: baseline_pass(n) for n in names}
    if archs is None:
        archs = [a for a, y in zip(cache.archs, cache.labels) if np.isfinite(y)]
    archs = list(archs)
    inputs = torch.from_numpy(cache.inputs())
    net_batch = len(inputs) if net_batch is None else int(net_batch)
    if not 1 <= net_batch <= len(inputs):
        raise AutogasError(f"--net-batch must be between 1 and the cache's batch ({len(inputs)})")
    inputs = inputs[:net_batch]
    rows = _read_stored(path, names, net_batch)
    journal = _read_journal(path, net_batch)
    for name, journaled in journal.items():
        if name in passes:
            rows.setdefault(name, {}).update({a: tuple(v) for a, v in journaled.items()})
    missing = {n: [a for a in archs if a not in rows.get(n, {})] for n in names}
    computed = {n: len(m) for n, m in missing.items()}
    seed = int(cache.settings.get("seed", 0))

    for name in [n for n in names if passes[n] == FEATURE_PASS and missing[n]]:
        bar = (lambda it, name=name: tqdm(it, desc=f"{name} on cached features", unit="chunk",
                                          disable=not progress))
        values, per_arch = graph_values(cache, get_baseline(name).graph, missing[name], bar)
        rows.setdefault(name, {}).update({a: (v, per_arch, "") for a, v in values.items()})
        _store(path, name, rows[name], net_batch)

    network_names = [n for n in names if passes[n] != FEATURE_PASS and missing[n]]
    wanted = {n: set(missing[n]) for n in network_names}
    todo = [a for a in archs if any(a in wanted[n] for n in network_names)]
    build_times: list[float] = []
    if todo:
        train_mode = bool(cache.settings.get("train_mode", True))
        new: dict[str, dict[str, tuple[float, float, str]]] = {
            n: {a: tuple(v) for a, v in journal.get(n, {}).items()} for n in network_names}
        kinds = sorted({passes[n] for n in network_names})
        bar = (lambda it: tqdm(it, total=len(todo), unit="arch", disable=not progress,
                               desc=f"second pass: rebuilding networks ({', '.join(kinds)})"))
        last_flush = time.monotonic()
        tasks = [(arch, [n for n in network_names if arch in wanted[n]], seed, train_mode, inputs,
                  dict(cache.settings)) for arch in todo]
        with _task_map(workers) as mapper:
            for arch, build_seconds, arch_rows in bar(mapper(_network_values, tasks)):
                build_times.append(build_seconds)
                for name, row in arch_rows.items():
                    new[name][arch] = row
                    rows.setdefault(name, {})[arch] = row
                if time.monotonic() - last_flush > flush_seconds:
                    _write_journal(path, new, net_batch)
                    last_flush = time.monotonic()
        _write_journal(path, new, net_batch)
        for name in network_names:
            _store(path, name, rows[name], net_batch)
        journal_path(path).unlink(missing_ok=True)

    frame = {n: pd.Series({a: rows[n][a][0] for a in archs}, dtype=np.float64) for n in names}
    secs = {n: pd.Series({a: rows[n][a][1] for a in archs}, dtype=np.float64) for n in names}
    errors = {n: {a: rows[n][a][2] for a in archs if rows[n][a][2]} for n in names}
    index = pd.Index(archs, name="arch")
    return CacheBaselines(
        values=pd.DataFrame(frame, index=index), seconds=pd.DataFrame(secs, index=index),
        errors=errors, passes=passes, computed=computed,
        build_seconds=float(np.mean(build_times)) if build_times else None, net_batch=net_batch)


def _network_values(task: tuple) -> tuple[str, float, dict[str, tuple[float, float, str]]]:
    """Rebuild one arch as the cache built it and score it: ``(arch, build seconds, rows)``."""
    from autogas.groundtruth.build import cached_generator  # a ground truth's generators
    from autogas.measure.seeds import init_seed
    from autogas.transnas.network import build_network

    arch, names, seed, train_mode, inputs, cache_settings = task
    start = time.perf_counter()
    model = cached_generator(cache_settings, arch)
    model = build_network(arch, seed=init_seed(seed, arch)) if model is None else model
    model.train(train_mode)
    build_seconds = time.perf_counter() - start
    rows = {name: (result.value, result.seconds, result.error or "")
            for name, result in score_network(model, inputs, names, seed=seed).items()}
    del model
    gc.collect()
    return arch, build_seconds, rows


def _one_thread() -> None:
    torch.set_num_threads(1)


@contextlib.contextmanager
def _task_map(workers: int):
    """An ordered lazy ``map``: in this process, or over ``workers`` spawned processes."""
    if workers == 1:
        yield map
        return
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(workers, initializer=_one_thread) as pool:
        yield lambda fn, tasks: pool.imap(fn, tasks, chunksize=1)


def check_names(names: Sequence[str]) -> list[str]:
    """Validate baseline names (unknown ones raise :class:`AutogasError`)."""
    if not names:
        raise AutogasError("no baseline proxies requested")
    return [get_baseline(n).name for n in names]
