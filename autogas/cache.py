"""The feature cache: per-layer latent features of many networks on one fixed batch, in HDF5.

Layout (format ``autogas-feature-cache``, version 1)::

    /                     attrs: format, version, space, task, seed, batch, resolution,
                                 inputs, max_dims, train_mode, autogas_version, torch_version
    /inputs               float16 [B, 3, R, R]   the fixed input batch (in [-1, 1])
    /archs/<arch>/        one group per architecture, <arch> = canonical TransNAS arch string
        attrs:            label (NaN if unlabelled), params (M), flops (M) as stored in the
                          labels file, n_layers, init_seed, forward_seconds
        features          float16 [B, sum_i d_i]  layer i's B x d_i features, concatenated
        offsets           int64 [n_layers + 1]    layer i is features[:, offsets[i]:offsets[i+1]]
        layers            compound [n_layers]     name, part, channels, height, width, dims,
                                                  mean, std, frac_positive (see LayerInfo)
    /scores/<name>        float64 [n]  network-level proxy values (e.g. gradient baselines);
                          attrs: archs (the n arch strings), plus any metadata given

Crash safety: a writer never edits the main file in place. Finished architectures go to a
journal folder ``<out>.parts/`` (one small HDF5 file each, written to a temporary name and
renamed). :meth:`FeatureCacheWriter.consolidate` copies the main file, appends the journal to
the copy and atomically renames it over the main file, so the main file is always a complete,
readable cache; a killed process loses at most the architecture in flight.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Iterable, Mapping

import h5py
import numpy as np
import pandas as pd
import torch

from autogas import __version__
from autogas.atomic import atomic_path
from autogas.errors import AutogasError
from autogas.features import FeatureSet, LayerInfo

FORMAT = "autogas-feature-cache"
VERSION = 1
SETTING_KEYS = ("space", "task", "seed", "batch", "resolution", "inputs", "max_dims", "train_mode")

_LAYER_DTYPE = np.dtype([
    ("name", h5py.string_dtype()), ("part", h5py.string_dtype()), ("channels", "i8"),
    ("height", "i8"), ("width", "i8"), ("dims", "i8"), ("mean", "f8"), ("std", "f8"),
    ("frac_positive", "f8"),
])


def journal_dir(path: str | os.PathLike) -> Path:
    """The folder holding finished-but-not-consolidated architectures of ``path``."""
    path = Path(path)
    return path.with_name(path.name + ".parts")


def _open_h5(path: Path, mode: str = "r") -> h5py.File:
    if not path.exists():
        raise AutogasError(f"feature cache not found: {path}")
    try:
        return h5py.File(path, mode)
    except OSError as err:
        raise AutogasError(f"{path} is not a readable HDF5 file (corrupt or truncated?): {err}") from None


def write_arch_group(group: h5py.Group, fs: FeatureSet, attrs: Mapping[str, object]) -> None:
    """Store one architecture's features and metadata in ``group``."""
    widths = [f.shape[1] for f in fs.features]
    offsets = np.concatenate([[0], np.cumsum(widths)]).astype(np.int64)
    group.create_dataset("features", data=np.concatenate(fs.features, axis=1).astype(np.float16))
    group.create_dataset("offsets", data=offsets)
    table = np.array([
        (l.name, l.part, l.channels, l.height, l.width, l.dims, l.mean, l.std, l.frac_positive)
        for l in fs.layers
    ], dtype=_LAYER_DTYPE)
    group.create_dataset("layers", data=table)
    for key, value in attrs.items():
        group.attrs[key] = value
    group.attrs["n_layers"] = len(fs.layers)


def read_arch_group(group: h5py.Group) -> FeatureSet:
    """Inverse of :func:`write_arch_group` (features come back as float32)."""
    data = group["features"][()].astype(np.float32)
    offsets = group["offsets"][()]
    table = group["layers"][()]
    features = [data[:, offsets[i]:offsets[i + 1]] for i in range(len(offsets) - 1)]
    layers = [
        LayerInfo(
            name=_text(row["name"]), part=_text(row["part"]), channels=int(row["channels"]),
            height=int(row["height"]), width=int(row["width"]), dims=int(row["dims"]),
            mean=float(row["mean"]), std=float(row["std"]), frac_positive=float(row["frac_positive"]),
        )
        for row in table
    ]
    return FeatureSet(features=features, layers=layers)


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class FeatureCache:
    """Read access to a feature cache file.

    >>> cache = FeatureCache("transnas.h5")            # doctest: +SKIP
    >>> cache.table.head()                             # label, params, flops, n_layers per arch
    >>> feats = cache.load(cache.archs[:50])           # list of FeatureSet
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        with _open_h5(self.path) as f:
            if f.attrs.get("format") != FORMAT:
                raise AutogasError(f"{self.path} is not an autogas feature cache (no '{FORMAT}' format tag)")
            if int(f.attrs.get("version", -1)) != VERSION:
                raise AutogasError(f"{self.path} has cache version {f.attrs.get('version')}, expected {VERSION}")
            self.settings = {k: _plain(f.attrs[k]) for k in SETTING_KEYS if k in f.attrs}
            rows = []
            for arch, group in f["archs"].items():
                rows.append({"arch": arch, **{k: _plain(v) for k, v in group.attrs.items()}})
        table = pd.DataFrame(rows)
        if table.empty:
            table = pd.DataFrame(columns=["arch", "label", "params", "flops", "n_layers"])
        self.table = table.set_index("arch")

    @property
    def archs(self) -> list[str]:
        """Architectures in the cache, in the order they were stored."""
        return list(self.table.index)

    @property
    def labels(self) -> np.ndarray:
        """Labels (SSIM) aligned with :attr:`archs`; NaN where unlabelled."""
        return self.table["label"].to_numpy(dtype=np.float64)

    def scores(self) -> pd.DataFrame:
        """Stored network-level proxy values: one column per name, indexed like :attr:`table`."""
        columns = {}
        with _open_h5(self.path) as f:
            for name, ds in f.get("scores", {}).items():
                archs = [_text(a) for a in ds.attrs["archs"]]
                columns[name] = pd.Series(ds[()], index=archs, dtype=np.float64)
        return pd.DataFrame(columns, index=self.table.index)

    def inputs(self) -> np.ndarray:
        """The fixed input batch the features were computed on."""
        with _open_h5(self.path) as f:
            return f["inputs"][()].astype(np.float32)

    def features(self, arch: str) -> FeatureSet:
        """Features of one architecture."""
        return self.load([arch])[0]

    def load(self, archs: Iterable[str] | None = None) -> list[FeatureSet]:
        """Features of ``archs`` (all by default), in that order."""
        names = self.archs if archs is None else list(archs)
        missing = [a for a in names if a not in self.table.index]
        if missing:
            raise AutogasError(f"{len(missing)} arch(s) not in {self.path}, e.g. {missing[0]}")
        with _open_h5(self.path) as f:
            try:
                return [read_arch_group(f["archs"][a]) for a in names]
            except (OSError, KeyError) as err:
                raise AutogasError(f"{self.path} is damaged: {err}") from None


def _plain(value: object) -> object:
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.generic):
        return value.item()
    return value


class FeatureCacheWriter:
    """Appends architectures to a cache safely (journal + atomic consolidation).

    Opening an existing cache checks that it was built with the same settings; the
    architectures it (and its journal) already holds are reported by :attr:`done`.
    """

    def __init__(self, path: str | os.PathLike, settings: Mapping[str, object], inputs: np.ndarray):
        self.path = Path(path)
        self.journal = journal_dir(self.path)
        self.settings = dict(settings)
        self._check_or_create(inputs)
        self.journal.mkdir(exist_ok=True)
        self._drop_stale_journal()

    def _check_or_create(self, inputs: np.ndarray) -> None:
        if self.path.exists():
            existing = FeatureCache(self.path).settings
            diff = {k: (existing.get(k), v) for k, v in self.settings.items() if existing.get(k) != v}
            if diff:
                desc = ", ".join(f"{k}: file has {a!r}, asked {b!r}" for k, (a, b) in diff.items())
                raise AutogasError(f"{self.path} was built with other settings ({desc}); choose another --out")
            return
        with atomic_path(self.path) as tmp, h5py.File(tmp, "w") as f:
            f.attrs["format"] = FORMAT
            f.attrs["version"] = VERSION
            f.attrs["autogas_version"] = __version__
            f.attrs["torch_version"] = str(torch.__version__)
            for key, value in self.settings.items():
                f.attrs[key] = value
            f.create_dataset("inputs", data=inputs.astype(np.float16))
            f.create_group("archs", track_order=True)

    def _stored(self) -> set[str]:
        with _open_h5(self.path) as f:
            return set(f["archs"].keys())

    def _journal_files(self) -> dict[str, Path]:
        return {_journal_arch(p): p for p in self.journal.glob("*.h5") if not p.name.startswith(".")}

    def _drop_stale_journal(self) -> None:
        stored = self._stored()
        for arch, file in self._journal_files().items():
            if arch in stored:
                file.unlink()
        for tmp in self.journal.glob(".*"):
            tmp.unlink()

    @property
    def done(self) -> set[str]:
        """Architectures stored in the main file or waiting in the journal."""
        return self._stored() | set(self._journal_files())

    def add(self, arch: str, fs: FeatureSet, attrs: Mapping[str, object]) -> None:
        """Journal one finished architecture (atomic: it is either all there or absent)."""
        with atomic_path(self.journal / _journal_name(arch)) as tmp, h5py.File(tmp, "w") as f:
            write_arch_group(f, fs, attrs)

    def consolidate(self) -> int:
        """Move journaled architectures into the main file; returns how many were moved."""
        pending = self._journal_files()
        if not pending:
            return 0
        with atomic_path(self.path) as tmp:
            shutil.copyfile(self.path, tmp)
            with h5py.File(tmp, "a") as f:
                archs = f["archs"]
                for arch, file in sorted(pending.items(), key=lambda kv: kv[1].stat().st_mtime):
                    if arch in archs:
                        continue
                    with h5py.File(file, "r") as part:
                        group = archs.create_group(arch)
                        for name in part:
                            part.copy(part[name], group, name=name)
                        for key, value in part.attrs.items():
                            group.attrs[key] = value
        for file in pending.values():
            file.unlink()
        return len(pending)

    def close(self) -> None:
        """Consolidate and remove the empty journal folder."""
        self.consolidate()
        try:
            self.journal.rmdir()
        except OSError:
            pass


def _journal_name(arch: str) -> str:
    return f"{arch}.h5"


def _journal_arch(path: Path) -> str:
    return path.name[: -len(".h5")]


def store_scores(path: str | os.PathLike, name: str, values: pd.Series, **metadata: object) -> None:
    """Store (or replace) network-level proxy ``values`` (indexed by arch) under ``/scores/name``.

    The main file is rewritten atomically (copy, modify, rename), so it is never half-written.
    """
    path = Path(path)
    FeatureCache(path)  # validates the file
    with atomic_path(path) as tmp:
        shutil.copyfile(path, tmp)
        with h5py.File(tmp, "a") as f:
            group = f.require_group("scores")
            if name in group:
                del group[name]
            ds = group.create_dataset(name, data=values.to_numpy(dtype=np.float64))
            ds.attrs["archs"] = np.array([str(a) for a in values.index], dtype=h5py.string_dtype())
            for key, value in metadata.items():
                ds.attrs[key] = value
