"""Baseline values for every architecture of a feature cache, cached in the same HDF5 file.

Two passes:

* **features** - baselines with a proxy-language graph (``nwot``, ``gram_slogdet``) and any
  extra graph are evaluated on the cached forward-only features, like any searched proxy;
* **networks** - every other baseline needs the network itself (gradients, a re-initialised or
  linearised copy, counts): each architecture is rebuilt exactly as the cache built it
  (:func:`autogas.measure.seeds.init_seed`) and fed the batch of the protocol
  (:mod:`autogas.baselines.protocol`: the cache's stored batch and train/eval mode under
  ``cache``; 32 fresh images of the cache's input source at 256 or 64 pixels, train mode, under
  ``naslib`` / ``naslib64``); all requested baselines share that one build and its
  forward/backward passes (:func:`autogas.baselines.score_network`).

Values go to ``/scores/baseline_<name>`` (attrs: ``seconds`` and ``errors`` per arch, ``pass``,
and for network values ``net_batch`` and ``protocol``; values without ``protocol`` were computed
under ``cache``), so a rerun only computes what is missing. While the network pass runs, finished architectures
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
from autogas.baselines import BaselineValue, Protocol, get_baseline, get_protocol, score_network
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
    net_batch: int  # images of the batch the network pass used
    protocol: str  # the network pass's protocol


def _read_stored(path: Path, names: Iterable[str], net_batch: int, protocol: str
                 ) -> dict[str, dict[str, tuple[float, float, str]]]:
    """Stored rows of ``names``; network values computed on another batch size or under another
    protocol are ignored."""
    out: dict[str, dict[str, tuple[float, float, str]]] = {}
    with h5py.File(path, "r") as f:
        scores = f.get("scores", {})
        for name in names:
            ds = scores.get(SCORE_PREFIX + name)
            if ds is None or (baseline_pass(name) != FEATURE_PASS
                              and (int(ds.attrs.get("net_batch", -1)) != net_batch
                                   or _attr_text(ds.attrs.get("protocol", "cache")) != protocol)):
                continue
            archs = [a.decode() if isinstance(a, bytes) else str(a) for a in ds.attrs["archs"]]
            values = ds[()]
            seconds = ds.attrs.get("seconds", np.full(len(archs), np.nan))
            errors = ds.attrs.get("errors", [""] * len(archs))
            out[name] = {a: (float(v), float(s), e.decode() if isinstance(e, bytes) else str(e))
                         for a, v, s, e in zip(archs, values, seconds, errors)}
    return out


def _attr_text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _read_journal(path: Path, net_batch: int, protocol: str) -> dict[str, dict[str, list]]:
    journal = journal_path(path)
    if not journal.exists():
        return {}
    try:
        record = json.loads(journal.read_text())
    except (OSError, json.JSONDecodeError):
        return {}  # a damaged journal only loses unflushed work
    same = (record.get("net_batch") == net_batch
            and record.get("protocol", "cache") == protocol)
    return record.get("rows", {}) if same else {}


def _write_journal(path: Path, rows: dict[str, dict[str, tuple[float, float, str]]],
                   net_batch: int, protocol: str) -> None:
    write_text_atomic(journal_path(path), json.dumps(
        {"net_batch": net_batch, "protocol": protocol, "rows": rows}))


def _store(path: Path, name: str, rows: dict[str, tuple[float, float, str]], net_batch: int,
           protocol: str) -> None:
    archs = list(rows)
    values = pd.Series([rows[a][0] for a in archs], index=archs, dtype=np.float64)
    store_scores(path, SCORE_PREFIX + name, values,
                 seconds=np.array([rows[a][1] for a in archs], dtype=np.float64),
                 errors=np.array([rows[a][2] for a in archs], dtype=h5py.string_dtype()),
                 net_batch=net_batch, protocol=protocol,
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
    protocol: str | Protocol | None = None,
) -> CacheBaselines:
    """Values of baselines ``names`` on ``archs`` (default: the labelled archs) of a cache.

    ``protocol``: the network pass's protocol (:func:`network_inputs`; default
    :data:`autogas.baselines.protocol.DEFAULT_PROTOCOL`). ``net_batch``: the number of images
    of the network pass (under ``cache``: the first ``net_batch`` images of the cached batch,
    default all of them; otherwise it replaces the protocol's batch). Stored network values of
    another ``net_batch`` or protocol are recomputed.
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
    protocol = get_protocol(protocol)
    net_batch = network_batch(cache, protocol, net_batch)
    rows = _read_stored(path, names, net_batch, protocol.name)
    journal = _read_journal(path, net_batch, protocol.name)
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
        _store(path, name, rows[name], net_batch, protocol.name)

    network_names = [n for n in names if passes[n] != FEATURE_PASS and missing[n]]
    wanted = {n: set(missing[n]) for n in network_names}
    todo = [a for a in archs if any(a in wanted[n] for n in network_names)]
    build_times: list[float] = []
    if todo:
        train_mode = (bool(cache.settings.get("train_mode", True)) if protocol.train_mode is None
                      else protocol.train_mode)
        new: dict[str, dict[str, tuple[float, float, str]]] = {
            n: {a: tuple(v) for a, v in journal.get(n, {}).items()} for n in network_names}
        kinds = sorted({passes[n] for n in network_names})
        bar = (lambda it: tqdm(it, total=len(todo), unit="arch", disable=not progress,
                               desc=f"second pass: rebuilding networks ({', '.join(kinds)})"))
        last_flush = time.monotonic()
        inputs = network_inputs(cache, protocol, net_batch)
        tasks = [(arch, [n for n in network_names if arch in wanted[n]], seed, train_mode, inputs,
                  protocol, dict(cache.settings)) for arch in todo]
        with _task_map(workers) as mapper:
            for arch, build_seconds, arch_rows in bar(mapper(_network_values, tasks)):
                build_times.append(build_seconds)
                for name, row in arch_rows.items():
                    new[name][arch] = row
                    rows.setdefault(name, {})[arch] = row
                if time.monotonic() - last_flush > flush_seconds:
                    _write_journal(path, new, net_batch, protocol.name)
                    last_flush = time.monotonic()
        _write_journal(path, new, net_batch, protocol.name)
        for name in network_names:
            _store(path, name, rows[name], net_batch, protocol.name)
        journal_path(path).unlink(missing_ok=True)

    frame = {n: pd.Series({a: rows[n][a][0] for a in archs}, dtype=np.float64) for n in names}
    secs = {n: pd.Series({a: rows[n][a][1] for a in archs}, dtype=np.float64) for n in names}
    errors = {n: {a: rows[n][a][2] for a in archs if rows[n][a][2]} for n in names}
    index = pd.Index(archs, name="arch")
    return CacheBaselines(
        values=pd.DataFrame(frame, index=index), seconds=pd.DataFrame(secs, index=index),
        errors=errors, passes=passes, computed=computed,
        build_seconds=float(np.mean(build_times)) if build_times else None, net_batch=net_batch,
        protocol=protocol.name)


def network_inputs(cache: FeatureCache, protocol: Protocol, net_batch: int | None = None
                   ) -> torch.Tensor:
    """The batch the network pass of ``protocol`` feeds every network of ``cache``.

    A protocol without a resolution (``cache``) uses the cache's stored batch, its first
    ``net_batch`` images (default all). Otherwise the batch is drawn afresh from the cache's
    input source and seed (:func:`autogas.measure.inputs.input_batch`) at the protocol's
    resolution, with ``net_batch`` (default the protocol's batch) images.
    """
    from autogas.measure.inputs import input_batch

    batch = network_batch(cache, protocol, net_batch)
    if protocol.resolution is None:
        return torch.from_numpy(cache.inputs())[:batch]
    return input_batch(str(cache.settings.get("inputs", "images")), batch, protocol.resolution,
                       int(cache.settings.get("seed", 0)))


def network_batch(cache: FeatureCache, protocol: Protocol, net_batch: int | None = None) -> int:
    """The number of images :func:`network_inputs` gives (validated; no images are drawn)."""
    if protocol.resolution is None:
        size = len(cache.inputs())
        batch = size if net_batch is None else int(net_batch)
        if not 1 <= batch <= size:
            raise AutogasError(f"--net-batch must be between 1 and the cache's batch ({size}) "
                               f"under protocol {protocol.name!r}")
        return batch
    batch = protocol.batch if net_batch is None else int(net_batch)
    if batch is None or batch < 1:
        raise AutogasError(f"--net-batch must be >= 1 (got {net_batch})")
    return batch


def score_arch(arch: str, names: Sequence[str], *, seed: int, train_mode: bool,
               inputs: torch.Tensor, protocol: str | Protocol | None = None,
               cache_settings: dict | None = None) -> tuple[float, dict[str, BaselineValue]]:
    """Build ``arch`` as a cache of global ``seed`` builds it (init seed
    :func:`autogas.measure.seeds.init_seed`), set its train/eval mode, and score baselines
    ``names`` on ``inputs`` under ``protocol``: ``(build seconds, values)``."""
    from autogas.measure.seeds import init_seed
    from autogas.spaces.networks import create_network

    start = time.perf_counter()
    from autogas.groundtruth.build import cached_generator  # a ground truth's generators

    model = cached_generator(cache_settings or {}, arch)
    if model is None:
        model = create_network(f"transnas:{arch}", seed=init_seed(seed, arch))
    model.train(train_mode)
    build_seconds = time.perf_counter() - start
    values = score_network(model, inputs, names, seed=seed, protocol=protocol)
    del model
    gc.collect()
    return build_seconds, values


def _network_values(task: tuple) -> tuple[str, float, dict[str, tuple[float, float, str]]]:
    """Rebuild one arch as the cache built it and score it: ``(arch, build seconds, rows)``."""
    arch, names, seed, train_mode, inputs, protocol, cache_settings = task
    build_seconds, values = score_arch(arch, names, seed=seed, train_mode=train_mode,
                                       inputs=inputs, protocol=protocol, cache_settings=cache_settings)
    rows = {name: (result.value, result.seconds, result.error or "")
            for name, result in values.items()}
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
