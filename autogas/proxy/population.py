"""The architectures of a split, laid out for vectorised proxy evaluation.

All layers of all architectures are numbered ``0 .. N-1`` in architecture order. Layers with the
same (subsampled) feature size ``d`` are stacked into one float32 array ``(n_d, B, d)``, so an
op runs once per group instead of once per layer; per-layer kernels and scores are then plain
arrays indexed by layer, and per-architecture results are segment reductions over them.
"""
from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

from autogas.errors import AutogasError
from autogas.measure.features import FeatureSet


@dataclasses.dataclass(frozen=True)
class LayerTable:
    """Per-layer facts of a split (arrays of length ``N``) and segment helpers over archs."""

    arch: np.ndarray  # (N,) architecture index of each layer
    position: np.ndarray  # (N,) 0-based index of the layer inside its architecture
    starts: np.ndarray  # (A,) first layer of each architecture
    counts: np.ndarray  # (A,) number of layers of each architecture
    dims: np.ndarray  # (N,) float64 full per-sample size of the layer (before subsampling)
    part: np.ndarray  # (N,) "encoder", "decoder" or ""
    mean: np.ndarray  # (N,) exact statistics of the full layer tensor
    std: np.ndarray
    frac_positive: np.ndarray
    batch: int

    @property
    def n_archs(self) -> int:
        return len(self.starts)

    @property
    def n_layers(self) -> int:
        return len(self.arch)

    def segment_sum(self, values: np.ndarray) -> np.ndarray:
        """Sum of ``values`` (first axis = layers) over the layers of each architecture."""
        return np.add.reduceat(values, self.starts, axis=0)

    def segment_mean(self, values: np.ndarray) -> np.ndarray:
        counts = self.counts.reshape((-1,) + (1,) * (values.ndim - 1))
        return self.segment_sum(values) / counts

    def segment_max(self, values: np.ndarray) -> np.ndarray:
        return np.maximum.reduceat(values, self.starts, axis=0)

    def segment_min(self, values: np.ndarray) -> np.ndarray:
        return np.minimum.reduceat(values, self.starts, axis=0)

    def weighted_mean(self, values: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Per-architecture mean of ``values`` weighted by ``weights`` (both ``(N,)``).

        An architecture whose weights sum to zero gets NaN (which marks a proxy invalid).
        """
        total = self.segment_sum(weights)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(total > 0, self.segment_sum(values * weights) / total, np.nan)


class Population:
    """Features of several architectures, grouped by layer size, plus their :class:`LayerTable`."""

    def __init__(self, feature_sets: Sequence[FeatureSet]):
        if not feature_sets:
            raise AutogasError("no architectures to evaluate")
        batch = None
        layers: list = []
        arrays: list[np.ndarray] = []
        arch_index: list[int] = []
        positions: list[int] = []
        counts: list[int] = []
        for a, fs in enumerate(feature_sets):
            if len(fs.features) == 0 or len(fs.features) != len(fs.layers):
                raise AutogasError(f"architecture {a} has no feature layers or mismatched layer info")
            counts.append(len(fs.features))
            for i, (x, info) in enumerate(zip(fs.features, fs.layers)):
                if x.ndim != 2 or x.shape[1] == 0 or x.shape[1] > info.dims:
                    raise AutogasError(f"architecture {a} layer {i}: features of shape {x.shape} "
                                       f"do not fit a layer of {info.dims} dims")
                batch = x.shape[0] if batch is None else batch
                if x.shape[0] != batch or batch < 2:
                    raise AutogasError(f"architecture {a} layer {i}: batch {x.shape[0]}, "
                                       f"expected the same batch >= 2 everywhere (got {batch})")
                if not np.isfinite(x).all():
                    raise AutogasError(f"architecture {a} layer {i} has NaN/inf features")
                arrays.append(x)
                layers.append(info)
                arch_index.append(a)
                positions.append(i)
        counts_arr = np.asarray(counts, dtype=np.int64)
        self.layers = LayerTable(
            arch=np.asarray(arch_index, dtype=np.int64),
            position=np.asarray(positions, dtype=np.int64),
            starts=np.concatenate([[0], np.cumsum(counts_arr)[:-1]]).astype(np.int64),
            counts=counts_arr,
            dims=np.asarray([l.dims for l in layers], dtype=np.float64),
            part=np.asarray([l.part for l in layers]),
            mean=np.asarray([l.mean for l in layers], dtype=np.float64),
            std=np.asarray([l.std for l in layers], dtype=np.float64),
            frac_positive=np.asarray([l.frac_positive for l in layers], dtype=np.float64),
            batch=int(batch),
        )
        sizes = np.asarray([x.shape[1] for x in arrays])
        #: ``(d, layer indices, float32 stack (n_d, B, d))`` for each distinct feature size d
        self.groups: list[tuple[int, np.ndarray, np.ndarray]] = []
        for d in np.unique(sizes):
            idx = np.flatnonzero(sizes == d)
            stack = np.stack([arrays[j] for j in idx]).astype(np.float32, copy=False)
            self.groups.append((int(d), idx, stack))

    @property
    def n_archs(self) -> int:
        return self.layers.n_archs

    def chunks(self, max_elements: int):
        """Yield ``(layer indices, d, float32 view (n, B, d))`` chunks of at most ~max_elements."""
        for d, idx, stack in self.groups:
            step = max(1, max_elements // (self.layers.batch * d))
            for lo in range(0, len(idx), step):
                yield idx[lo:lo + step], d, stack[lo:lo + step]
