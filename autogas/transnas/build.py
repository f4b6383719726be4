"""Build the TransNAS-Bench-101 feature cache: every architecture, random init, one forward pass.

For each architecture of the labels table:

1. build the autoencoder network (``create_network("transnas:<arch>")`` of
   :mod:`autogas.spaces.networks`, i.e. :func:`autogas.transnas.network.build_network`) with the
   init seed ``crc32("<seed>:<arch>")``, so an architecture's weights depend only on the
   global seed and its own name (not on order, ``--limit`` or resumption);
2. run the fixed input batch (:func:`autogas.measure.inputs.input_batch`) through it once, in train
   mode (BatchNorm uses batch statistics, as in Auto-GAS and NASWOT-style proxies) under
   ``torch.inference_mode``;
3. keep the hooked features under the rules of :mod:`autogas.measure.features` and journal them with
   the label and the stored params/FLOPs (:class:`autogas.cache.FeatureCacheWriter`).

Re-running with the same output skips architectures already stored.
"""
from __future__ import annotations

import dataclasses
import signal
import time
from pathlib import Path

import pandas as pd
import torch
from tqdm import tqdm

from autogas.cache import FeatureCacheWriter
from autogas.errors import AutogasError
from autogas.measure.features import DEFAULT_MAX_DIMS, collect_features
from autogas.measure.inputs import input_batch
from autogas.measure.seeds import init_seed
from autogas.spaces.networks import create_network


@dataclasses.dataclass(frozen=True)
class CacheSettings:
    """Everything that determines the cached features (stored in the file's attributes)."""

    space: str
    task: str = "autoencoder"
    seed: int = 0
    batch: int = 16
    resolution: int = 64
    inputs: str = "images"
    max_dims: int = DEFAULT_MAX_DIMS  # 0 keeps every coordinate
    train_mode: bool = True


def arch_features(arch: str, inputs: torch.Tensor, settings: CacheSettings):
    """Build ``arch`` at its init seed and return its features on ``inputs``."""
    model = create_network(f"transnas:{arch}", seed=init_seed(settings.seed, arch))
    model.train(settings.train_mode)
    return collect_features(model, inputs, max_dims=settings.max_dims or None, seed=settings.seed)


class _Terminated(Exception):
    pass


def _raise_terminated(signum, frame):  # pragma: no cover - exercised via subprocess test
    raise _Terminated()


def build_cache(
    table: pd.DataFrame,
    out: str | Path,
    settings: CacheSettings,
    *,
    limit: int | None = None,
    flush_seconds: float = 30.0,
    progress: bool = True,
) -> dict:
    """Cache features of the first ``limit`` archs of ``table`` into ``out``; returns a summary.

    ``table`` is indexed by arch string with columns ``label``, ``params``, ``flops``
    (as returned by :func:`autogas.transnas.labels.load_labels`).
    """
    archs = list(table.index if limit is None else table.index[:limit])
    if not archs:
        raise AutogasError("no architectures to cache (empty labels table or --limit 0)")
    inputs = input_batch(settings.inputs, settings.batch, settings.resolution, settings.seed)
    writer = FeatureCacheWriter(out, dataclasses.asdict(settings), inputs.numpy())
    todo = [a for a in archs if a not in writer.done]
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    times: list[float] = []
    last_flush = time.monotonic()
    try:
        bar = tqdm(todo, desc="caching features", unit="arch", disable=not progress)
        for arch in bar:
            start = time.perf_counter()
            fs = arch_features(arch, inputs, settings)
            elapsed = time.perf_counter() - start
            row = table.loc[arch]
            writer.add(arch, fs, {
                "label": float(row["label"]), "params": float(row["params"]),
                "flops": float(row["flops"]), "init_seed": init_seed(settings.seed, arch),
                "forward_seconds": elapsed,
            })
            times.append(elapsed)
            if time.monotonic() - last_flush > flush_seconds:
                writer.consolidate()
                last_flush = time.monotonic()
    except _Terminated:
        raise KeyboardInterrupt from None
    finally:
        signal.signal(signal.SIGTERM, previous)
        writer.close()
    return {
        "requested": len(archs), "skipped": len(archs) - len(todo), "computed": len(times),
        "seconds_per_arch": (sum(times) / len(times)) if times else None,
    }
