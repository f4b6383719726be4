"""The benches of a search: which caches are labelled fitness benches, which are constraints,
and the seeded splits of each.

A search runs on one or more feature caches (``autogas evolve --bench a.h5 --bench b.h5``):

- a **labelled** bench (at least one finite label) gets its own validation/test split
  (:func:`split_archs`, drawn by the search's seed from that bench's labelled archs): fitness
  reads its validation split, the final report its test split (never seen by the search);
- an **unlabelled** bench (no label at all: a micro cache built from the no-label file, a cache
  of sampled generators) is a **constraint**: fitness evaluates the proxy on
  ``constraint_size`` of its archs (drawn by the seed; all if it has fewer) and the proxy is
  invalid if it is constant there or NaN on more than ``max_nan_share`` of them; the final report
  gives the same figures on all its archs.

Each bench has a short name for outputs: its file stem (``transnas`` for ``work/transnas.h5``),
made unique with ``#2``, ``#3`` ... when two stems are equal.
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from autogas.cache import FeatureCache
from autogas.errors import AutogasError

LABELLED = "labelled"
CONSTRAINT = "constraint"


def split_archs(cache: FeatureCache, val_size: int, seed: int) -> tuple[list[str], list[str]]:
    """``(val, test)``: ``val_size`` labelled archs drawn by ``seed``; test = the other labelled.

    Both lists keep the cache's order.
    """
    labelled = [a for a, y in zip(cache.archs, cache.labels) if np.isfinite(y)]
    if val_size < 3:
        raise AutogasError(f"--val-size must be at least 3, got {val_size}")
    if len(labelled) - val_size < 3:
        raise AutogasError(f"{cache.path} has {len(labelled)} labelled archs: too few for "
                           f"{val_size} validation archs and at least 3 test archs")
    chosen = np.random.default_rng(seed).choice(len(labelled), size=val_size, replace=False)
    is_val = np.zeros(len(labelled), dtype=bool)
    is_val[chosen] = True
    return ([a for a, v in zip(labelled, is_val) if v],
            [a for a, v in zip(labelled, is_val) if not v])


def constraint_sample(cache: FeatureCache, size: int, seed: int) -> list[str]:
    """``size`` archs of ``cache`` drawn by ``seed`` (all if it has fewer), in cache order."""
    if size < 2:
        raise AutogasError(f"--constraint-size must be at least 2, got {size}")
    archs = cache.archs
    if len(archs) < 2:
        raise AutogasError(f"{cache.path} has {len(archs)} archs: a constraint bench needs >= 2")
    if len(archs) <= size:
        return list(archs)
    chosen = np.sort(np.random.default_rng(seed).choice(len(archs), size=size, replace=False))
    return [archs[i] for i in chosen]


@dataclasses.dataclass(frozen=True)
class BenchPlan:
    """One bench of a search: ``fit`` = the archs fitness reads; ``test`` = the report's archs
    (labelled: the other labelled archs; constraint: every arch of the cache)."""

    path: str
    name: str
    role: str  # LABELLED or CONSTRAINT
    fit: tuple[str, ...]
    test: tuple[str, ...]

    @property
    def labelled(self) -> bool:
        return self.role == LABELLED


def bench_names(paths: Sequence[str | os.PathLike]) -> list[str]:
    """File stems, made unique with ``#2``, ``#3``, ... in order."""
    names: list[str] = []
    for p in paths:
        stem = Path(p).stem
        name, k = stem, 1
        while name in names:
            k += 1
            name = f"{stem}#{k}"
        names.append(name)
    return names


def plan_benches(paths: Sequence[str | os.PathLike], val_sizes: Sequence[int],
                 constraint_size: int, seed: int) -> list[BenchPlan]:
    """The plan of each bench, in the given order.

    ``val_sizes`` has one entry for all labelled benches or one per labelled bench (in order).
    At least one bench must be labelled (fitness is a Kendall tau).
    """
    if not paths:
        raise AutogasError("a search needs at least one --bench")
    caches = [FeatureCache(p) for p in paths]
    n_labelled = sum(bool(np.isfinite(c.labels).any()) for c in caches)
    if n_labelled == 0:
        raise AutogasError("no bench has labels: at least one --bench must be labelled "
                           "(unlabelled benches are constraints only)")
    if len(val_sizes) not in (1, n_labelled):
        raise AutogasError(f"--val-size given {len(val_sizes)} times for {n_labelled} labelled "
                           "benches: give it once (all benches) or once per labelled bench")
    sizes = list(val_sizes) * (n_labelled if len(val_sizes) == 1 else 1)
    plans = []
    for path, name, cache in zip(paths, bench_names(paths), caches):
        if np.isfinite(cache.labels).any():
            val, test = split_archs(cache, sizes.pop(0), seed)
            plans.append(BenchPlan(str(path), name, LABELLED, tuple(val), tuple(test)))
        else:
            fit = constraint_sample(cache, constraint_size, seed)
            plans.append(BenchPlan(str(path), name, CONSTRAINT, tuple(fit), tuple(cache.archs)))
    return plans
