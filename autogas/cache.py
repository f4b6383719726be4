"""The feature cache: per-layer latent features of many networks on one fixed batch, in HDF5.

Layout (format ``autogas-feature-cache``, version 2)::

    /                     attrs: format, version, space, task, seed, batch, resolution,
                                 inputs, max_dims, train_mode, autogas_version, torch_version
    /inputs               float16 [B, 3, R, R]   the fixed input batch (in [-1, 1])
    /archs/<arch>/        one group per architecture, <arch> = canonical TransNAS arch string
        attrs:            label (NaN if unlabelled), params (M), flops (M) as stored in the
                          labels file, n_layers, init_seed, forward_seconds
        features          float16 [B, sum_i d_i]  layer i's B x d_i features, concatenated
        offsets           int64 [n_layers + 1]    layer i is features[:, offsets[i]:offsets[i+1]]
        layers            compound [n_layers]     name, part (fixed-length bytes), channels,
                                                  height, width, dims, mean, std, frac_positive
                                                  (see LayerInfo)
    /scores/<name>        float64 [n]  network-level proxy values (e.g. gradient baselines);
                          attrs: archs (the n arch strings, fixed-length bytes), plus any
                          metadata given

Integrity (new in version 2). Every dataset is stored as one chunk with HDF5's Fletcher-32
filter, and the file is written in the HDF5 1.10 object format (``libver=("v110", "latest")``),
whose superblock, object headers (hence every attribute), B-trees and heaps carry checksums.
No variable-length strings are stored (they live in HDF5's global heap, which has no checksum),
so every byte a reader uses is checked by HDF5 when it is read. A failed check becomes one
:class:`AutogasError` naming the file, the architecture and the dataset; :func:`verify_cache`
reads every dataset (``autogas bench info --check``). The checks cost little on read
(``benchmarks/cache_read.py`` → ``benchmarks/results/cache_read.md``). Version-1 caches (no
checksums) are still read, unchecked, with a one-line warning on stderr asking for a rebuild:
refusing them would force an ~15 min rebuild of every existing cache for no change in its
values; ``bench info --check`` refuses them because it cannot verify them.

Writing: append in place under an undo journal. One writer call (store one architecture with
:meth:`FeatureCacheWriter.add`, or one score set with :func:`store_scores`) is one
*transaction* on the main file, so each byte of features is written once and a score set
writes only its own few kilobytes (earlier versions copied the whole file every 30 s and once
per score set: quadratic in the number of archs). A transaction:

1. takes an exclusive ``flock`` on the main file (readers in this module take a shared one,
   so a reader never sees a half-applied transaction; HDF5's own read lock is compatible);
2. writes ``<file>.undo`` with the file's current size, then lets HDF5 write through a file
   object that sends every write beyond that size straight to the file (new data, appended)
   and keeps every write *below* it (HDF5's metadata updates) in memory;
3. commits: ``fsync`` the appended bytes, append the original content of every range about to
   be overwritten to the undo file with a checksummed trailer, ``fsync`` it, apply the
   overwrites, ``fsync``, delete the undo file.

A process killed at any point leaves either no undo file (the transaction is complete) or one
that restores the file exactly: without a trailer nothing below the old size was touched (cut
the file back to it), with a trailer the saved ranges are written back. The next writer (or
reader with write access) does this repair under the exclusive lock, so a killed process
loses at most the architecture in flight. SIGINT/SIGTERM are held during a transaction and
delivered after it. A ``<file>.parts/`` journal left by an older version's killed build is
imported on the next open for writing.
"""
from __future__ import annotations

import collections
import contextlib
import dataclasses
import fcntl
import io
import os
import signal
import struct
import sys
import threading
import time
import zlib
from pathlib import Path
from typing import Iterable, Iterator, Mapping

import h5py
import numpy as np
import pandas as pd
import torch

from autogas import __version__
from autogas.atomic import atomic_path
from autogas.errors import AutogasError
from autogas.measure.features import FeatureSet, LayerInfo

FORMAT = "autogas-feature-cache"
VERSION = 2
READABLE_VERSIONS = (1, 2)  # 1: no checksums, read with a warning
SETTING_KEYS = ("space", "task", "seed", "batch", "resolution", "inputs", "max_dims", "train_mode")
LIBVER = ("v110", "latest")  # checksummed metadata; readable by HDF5 >= 1.10
LOCK_TIMEOUT_SECONDS = 120.0

_NUMERIC_LAYER_FIELDS = [("channels", "i8"), ("height", "i8"), ("width", "i8"), ("dims", "i8"),
                         ("mean", "f8"), ("std", "f8"), ("frac_positive", "f8")]
_READ_ERRORS = (OSError, KeyError, RuntimeError, ValueError, TypeError, IndexError)


def journal_dir(path: str | os.PathLike) -> Path:
    """The per-arch journal folder older versions kept beside ``path`` (imported on open)."""
    path = Path(path)
    return path.with_name(path.name + ".parts")


def undo_path(path: str | os.PathLike) -> Path:
    """The undo journal of an unfinished write transaction on ``path`` (see module docstring)."""
    path = Path(path)
    return path.with_name(path.name + ".undo")


# ---------------------------------------------------------------------------------------------
# locking and the undo journal


def _lock(fd: int, mode: int, path: Path, timeout: float = LOCK_TIMEOUT_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise AutogasError(f"{path} stayed locked by another process for {timeout:.0f} s "
                                   f"(a writer, or a reader holding it open)") from None
            time.sleep(0.01)


_UNDO_MAGIC = b"AGUNDO1\n"
_UNDO_TRAILER = b"AGCOMMIT"
_RECORD = struct.Struct("<QQ")  # offset, length
_TRAILER = struct.Struct("<8sQI")  # magic, record count, crc32 of the records


def _read_undo(undo: Path) -> tuple[int | None, list[tuple[int, bytes]] | None]:
    """(original size, saved ranges or None if the commit never started) of an undo file."""
    data = undo.read_bytes()
    if len(data) < len(_UNDO_MAGIC) + 8 or not data.startswith(_UNDO_MAGIC):
        return None, None  # killed while writing the header: the main file was not touched
    (size,) = struct.unpack_from("<Q", data, len(_UNDO_MAGIC))
    pos = len(_UNDO_MAGIC) + 8
    start, records = pos, []
    while pos + _RECORD.size <= len(data):
        if data[pos:pos + 8] == _UNDO_TRAILER and pos + _TRAILER.size == len(data):
            _, count, crc = _TRAILER.unpack_from(data, pos)
            if count == len(records) and crc == zlib.crc32(data[start:pos]):
                return size, records
            break
        offset, length = _RECORD.unpack_from(data, pos)
        pos += _RECORD.size
        if pos + length > len(data):
            break
        records.append((offset, data[pos:pos + length]))
        pos += length
    return size, None


def _repair(path: Path, fd: int) -> bool:
    """Undo an interrupted transaction on ``path`` (caller holds the exclusive lock on ``fd``)."""
    undo = undo_path(path)
    if not undo.exists():
        return False
    size, records = _read_undo(undo)
    if size is not None:
        for offset, original in records or ():
            os.pwrite(fd, original, offset)
        os.ftruncate(fd, size)
        os.fsync(fd)
    undo.unlink()
    return True


class _DeferredFile(io.RawIOBase):
    """File object for ``h5py.File``: writes past ``base`` go to disk, writes below it wait.

    :meth:`commit` applies the waiting writes under the undo journal; dropping the object
    without committing (and cutting the file back to ``base``) leaves the file as it was.
    """

    def __init__(self, fd: int, undo: Path):
        super().__init__()
        self.fd, self.undo = fd, undo
        self.base = os.fstat(fd).st_size
        self.pos = 0
        self.pending: list[tuple[int, bytes]] = []
        self.cut: int | None = None  # a truncation below base, applied at commit
        self.written = 0

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            self.pos = offset
        elif whence == io.SEEK_CUR:
            self.pos += offset
        else:
            self.pos = self._size() + offset
        return self.pos

    def tell(self) -> int:
        return self.pos

    def _size(self) -> int:
        return self.cut if self.cut is not None else os.fstat(self.fd).st_size

    def readinto(self, buffer) -> int:
        view = memoryview(buffer).cast("B")
        n, start = len(view), self.pos
        data = bytearray(os.pread(self.fd, n, start))
        data.extend(bytes(n - len(data)))
        for offset, chunk in self.pending:
            lo, hi = max(start, offset), min(start + n, offset + len(chunk))
            if lo < hi:
                data[lo - start:hi - start] = chunk[lo - offset:hi - offset]
        view[:] = data
        self.pos += n
        return n

    def write(self, buffer) -> int:
        data = bytes(buffer)
        start, n = self.pos, len(data)
        split = min(max(self.base - start, 0), n)
        if split:
            self.pending.append((start, data[:split]))
        if split < n:
            os.pwrite(self.fd, data[split:], start + split)
        self.written += n
        self.pos += n
        return n

    def truncate(self, size: int | None = None) -> int:
        size = self.pos if size is None else size
        if size >= self.base:
            os.ftruncate(self.fd, size)
            self.cut = None
        else:
            os.ftruncate(self.fd, self.base)
            self.cut = size
        return size

    def flush(self) -> None:
        pass

    def commit(self) -> None:
        os.fsync(self.fd)  # appended data reach the disk before anything points at them
        ranges = list(self.pending)
        if self.cut is not None:
            ranges.append((self.cut, bytes(self.base - self.cut)))
        body = bytearray()
        for offset, chunk in ranges:
            body += _RECORD.pack(offset, len(chunk)) + os.pread(self.fd, len(chunk), offset)
        with open(self.undo, "ab") as log:
            log.write(bytes(body) + _TRAILER.pack(_UNDO_TRAILER, len(ranges), zlib.crc32(body)))
            log.flush()
            os.fsync(log.fileno())
        for offset, chunk in self.pending:
            os.pwrite(self.fd, chunk, offset)
        if self.cut is not None:
            os.ftruncate(self.fd, self.cut)
        os.fsync(self.fd)
        self.written += len(body)
        self.undo.unlink()


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT/SIGTERM (delivered on exit) so a transaction is not cut by them."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


@dataclasses.dataclass(frozen=True)
class Transaction:
    """Cost of one committed write transaction: wall seconds (lock to commit), bytes handed to
    the file (appended data, overwrites and undo records) and bytes the file grew by."""

    path: str
    seconds: float
    written: int
    grown: int


TRANSACTIONS: collections.deque[Transaction] = collections.deque(maxlen=100_000)
"""This process's committed transactions, oldest first (read by the write-cost benchmarks)."""


@contextlib.contextmanager
def write_transaction(path: str | os.PathLike) -> Iterator[h5py.File]:
    """An ``h5py.File`` open for appending to ``path``, applied all-or-nothing on exit.

    See the module docstring for the protocol; an exception in the block leaves the file
    exactly as it was.
    """
    path = Path(path)
    undo = undo_path(path)
    started = time.perf_counter()
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError as err:
        raise AutogasError(f"cannot open {path} for writing: {err.strerror}") from None
    try:
        _lock(fd, fcntl.LOCK_EX, path)
        with _signals_held():
            _repair(path, fd)
            base = os.fstat(fd).st_size
            with open(undo, "wb") as log:
                log.write(_UNDO_MAGIC + struct.pack("<Q", base))
            target = _DeferredFile(fd, undo)
            try:
                with h5py.File(target, "a", libver=LIBVER) as f:
                    yield f
            except BaseException:
                os.ftruncate(fd, base)
                undo.unlink()
                raise
            target.commit()
            TRANSACTIONS.append(Transaction(str(path), time.perf_counter() - started,
                                            target.written, os.fstat(fd).st_size - base))
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------------------------
# reading


_warned_unchecked: set[str] = set()


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


@contextlib.contextmanager
def _reading(path: Path) -> Iterator[h5py.File]:
    """``path`` open for reading, under a shared lock (after repairing an interrupted write)."""
    if path.is_dir():
        raise AutogasError(f"{path} is a directory, not a feature cache file")
    if not path.exists():
        raise AutogasError(f"feature cache not found: {path}")
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as err:
        raise AutogasError(f"cannot read {path}: {err.strerror}") from None
    try:
        _lock(fd, fcntl.LOCK_SH, path)
        if undo_path(path).exists():  # no live writer holds it (we have the shared lock)
            _repair_as_reader(path, fd)
        try:
            f = h5py.File(path, "r")
        except OSError as err:
            raise AutogasError(f"{path} is not a readable HDF5 file (corrupt or truncated?): "
                               f"{_first_line(err)}") from None
        with f:
            yield f
    finally:
        os.close(fd)


def _repair_as_reader(path: Path, fd: int) -> None:
    try:
        wfd = os.open(path, os.O_RDWR)
    except OSError:
        raise AutogasError(f"{path} has an interrupted write ({undo_path(path).name}) and this "
                           f"user cannot repair it; rerun the writing command with write access"
                           ) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_UN)
        _lock(wfd, fcntl.LOCK_EX, path)
        _repair(path, wfd)
        fcntl.flock(wfd, fcntl.LOCK_UN)
        _lock(fd, fcntl.LOCK_SH, path)
    finally:
        os.close(wfd)


def _damaged(path: Path, where: str, err: BaseException) -> AutogasError:
    return AutogasError(f"{path} is corrupt: {where} failed to read ({_first_line(err)}); "
                        f"rebuild the cache or restore a copy")


def _read_dataset(path: Path, group: h5py.Group, name: str, where: str) -> np.ndarray:
    try:
        return group[name][()]
    except _READ_ERRORS as err:
        raise _damaged(path, f"{where} dataset '{name}'", err) from None


def write_arch_group(group: h5py.Group, fs: FeatureSet, attrs: Mapping[str, object]) -> None:
    """Store one architecture's features and metadata in ``group`` (checksummed datasets)."""
    widths = [f.shape[1] for f in fs.features]
    offsets = np.concatenate([[0], np.cumsum(widths)]).astype(np.int64)
    features = (np.concatenate(fs.features, axis=1) if fs.features
                else np.zeros((0, 0))).astype(np.float16)
    _checked_dataset(group, "features", features)
    _checked_dataset(group, "offsets", offsets)
    text = max([len(s.encode()) for l in fs.layers for s in (l.name, l.part)] + [1])
    dtype = np.dtype([("name", f"S{text}"), ("part", f"S{text}"), *_NUMERIC_LAYER_FIELDS])
    table = np.array([
        (l.name.encode(), l.part.encode(), l.channels, l.height, l.width, l.dims, l.mean, l.std,
         l.frac_positive)
        for l in fs.layers
    ], dtype=dtype)
    _checked_dataset(group, "layers", table)
    for key, value in attrs.items():
        group.attrs[key] = _attr(value)
    group.attrs["n_layers"] = len(fs.layers)


def _checked_dataset(group: h5py.Group, name: str, data: np.ndarray) -> h5py.Dataset:
    """One-chunk dataset with a Fletcher-32 checksum (empty arrays cannot be chunked)."""
    if data.size == 0:
        return group.create_dataset(name, data=data)
    return group.create_dataset(name, data=data, chunks=data.shape, fletcher32=True)


def _attr(value: object) -> object:
    """An attribute value with strings as fixed-length bytes (see :func:`_fixed_text`)."""
    array = np.asarray(value)
    if array.dtype.kind in "OUS":
        return _fixed_text(array.ravel()) if array.ndim else _fixed_text([value])[0]
    return value


def _fixed_text(values: Iterable[object]) -> np.ndarray:
    """Strings as fixed-length UTF-8 bytes (checksummed in an object header, unlike vlen)."""
    encoded = [(v.decode() if isinstance(v, bytes) else str(v)).encode() for v in values]
    return np.array(encoded, dtype=f"S{max([len(e) for e in encoded] + [1])}")


def read_arch_group(group: h5py.Group, path: Path | None = None) -> FeatureSet:
    """Inverse of :func:`write_arch_group` (features come back as float32).

    Raises :class:`AutogasError` naming the arch and dataset if one fails its checksum or is
    inconsistent with the others.
    """
    path = Path(group.file.filename) if path is None else path
    where = f"arch {group.name.rsplit('/', 1)[-1]}"
    data = _read_dataset(path, group, "features", where).astype(np.float32)
    offsets = _read_dataset(path, group, "offsets", where)
    table = _read_dataset(path, group, "layers", where)
    if (offsets.ndim != 1 or len(offsets) != len(table) + 1 or offsets[0] != 0
            or np.any(np.diff(offsets) < 0) or (len(table) and offsets[-1] != data.shape[1])):
        raise AutogasError(f"{path} is corrupt: {where} has inconsistent features/offsets/layers "
                           f"shapes; rebuild the cache or restore a copy")
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

    Opening reads (and so checks) all metadata; feature data are checked as they are loaded.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        with _reading(self.path) as f:
            try:
                self._read_metadata(f)
            except AutogasError:
                raise
            except _READ_ERRORS as err:
                raise _damaged(self.path, "the metadata", err) from None

    def _read_metadata(self, f: h5py.File) -> None:
        if _plain(f.attrs.get("format")) != FORMAT:
            raise AutogasError(f"{self.path} is not an autogas feature cache (no '{FORMAT}' format tag)")
        self.version = int(f.attrs.get("version", -1))
        if self.version not in READABLE_VERSIONS:
            raise AutogasError(f"{self.path} has cache version {f.attrs.get('version')}, "
                               f"expected one of {READABLE_VERSIONS}")
        if not self.checked and str(self.path.resolve()) not in _warned_unchecked:
            _warned_unchecked.add(str(self.path.resolve()))
            print(f"autogas: warning: {self.path} is a version-{self.version} cache without "
                  f"checksums, so corruption cannot be detected; rebuild it with 'autogas bench "
                  f"build' to add them", file=sys.stderr)
        self.settings = {k: _plain(f.attrs[k]) for k in SETTING_KEYS if k in f.attrs}
        rows = []
        for arch in f["archs"]:
            try:
                attrs = f["archs"][arch].attrs
                rows.append({"arch": arch, **{k: _plain(attrs[k]) for k in attrs}})
            except _READ_ERRORS as err:
                raise _damaged(self.path, f"the metadata of arch {arch}", err) from None
        for name in f.get("scores", {}):
            try:
                dict(f["scores"][name].attrs)
            except _READ_ERRORS as err:
                raise _damaged(self.path, f"the metadata of scores '{name}'", err) from None
        table = pd.DataFrame(rows)
        if table.empty:
            table = pd.DataFrame(columns=["arch", "label", "params", "flops", "n_layers"])
        self.table = table.set_index("arch")

    @property
    def checked(self) -> bool:
        """Whether the file carries checksums (version >= 2)."""
        return self.version >= 2

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
        with _reading(self.path) as f:
            for name in f.get("scores", {}):
                ds = f["scores"][name]
                values = _read_dataset(self.path, f["scores"], name, "scores")
                archs = [_text(a) for a in ds.attrs["archs"]]
                columns[name] = pd.Series(values, index=archs, dtype=np.float64)
        return pd.DataFrame(columns, index=self.table.index)

    def inputs(self) -> np.ndarray:
        """The fixed input batch the features were computed on."""
        with _reading(self.path) as f:
            return _read_dataset(self.path, f, "inputs", "the input batch").astype(np.float32)

    def features(self, arch: str) -> FeatureSet:
        """Features of one architecture."""
        return self.load([arch])[0]

    def load(self, archs: Iterable[str] | None = None) -> list[FeatureSet]:
        """Features of ``archs`` (all by default), in that order."""
        names = self.archs if archs is None else list(archs)
        missing = [a for a in names if a not in self.table.index]
        if missing:
            raise AutogasError(f"{len(missing)} arch(s) not in {self.path}, e.g. {missing[0]}")
        with _reading(self.path) as f:
            out = []
            for a in names:
                try:
                    group = f["archs"][a]
                except _READ_ERRORS as err:
                    raise _damaged(self.path, f"arch {a}", err) from None
                out.append(read_arch_group(group, self.path))
            return out


def verify_cache(path: str | os.PathLike) -> dict:
    """Read every dataset of a version-2 cache, checking its checksum; returns what was read.

    Raises :class:`AutogasError` naming the first damaged arch/dataset (and how many failed).
    """
    cache = FeatureCache(path)
    if not cache.checked:
        raise AutogasError(f"{cache.path} is a version-{cache.version} cache without checksums: it "
                           f"cannot be verified; rebuild it with 'autogas bench build'")
    failures: list[str] = []
    datasets = nbytes = 0
    with _reading(cache.path) as f:
        def read(group: h5py.Group, name: str, where: str) -> None:
            nonlocal datasets, nbytes
            try:
                data = _read_dataset(cache.path, group, name, where)
                datasets += 1
                nbytes += data.nbytes
            except AutogasError as err:
                failures.append(str(err))

        read(f, "inputs", "the input batch")
        for arch in cache.archs:
            try:
                read_arch_group(f["archs"][arch], cache.path)
                datasets += 3
                nbytes += sum(f["archs"][arch][n].nbytes for n in ("features", "offsets", "layers"))
            except AutogasError as err:
                failures.append(str(err))
            except _READ_ERRORS as err:
                failures.append(str(_damaged(cache.path, f"arch {arch}", err)))
        for name in f.get("scores", {}):
            read(f["scores"], name, "scores")
    if failures:
        more = f" ({len(failures)} damaged items in all)" if len(failures) > 1 else ""
        raise AutogasError(failures[0] + more)
    return {"file": str(cache.path), "archs": len(cache.archs), "datasets": datasets,
            "bytes": int(nbytes), "ok": True}


def _plain(value: object) -> object:
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.generic):
        return value.item()
    return value


# ---------------------------------------------------------------------------------------------
# writing


class FeatureCacheWriter:
    """Appends architectures to a cache in place, one crash-safe transaction per arch.

    Opening an existing cache checks that it was built with the same settings, verifies every
    stored dataset (so a build never extends a corrupt file) and imports a ``.parts/`` journal
    left by an older version; the architectures it holds are reported by :attr:`done`.
    """

    def __init__(self, path: str | os.PathLike, settings: Mapping[str, object], inputs: np.ndarray):
        self.path = Path(path)
        self.journal = journal_dir(self.path)
        self.settings = dict(settings)
        self._check_or_create(inputs)
        self.consolidate()
        self._stored_archs = set(FeatureCache(self.path).archs)

    def _check_or_create(self, inputs: np.ndarray) -> None:
        if self.path.exists() or self.path.is_symlink():
            existing = FeatureCache(self.path)
            diff = {k: (existing.settings.get(k), v) for k, v in self.settings.items()
                    if existing.settings.get(k) != v}
            if diff:
                desc = ", ".join(f"{k}: file has {a!r}, asked {b!r}" for k, (a, b) in diff.items())
                raise AutogasError(f"{self.path} was built with other settings ({desc}); choose another --out")
            if existing.checked:
                verify_cache(self.path)
            return
        with atomic_path(self.path) as tmp, h5py.File(tmp, "w", libver=LIBVER) as f:
            f.attrs["format"] = _attr(FORMAT)
            f.attrs["version"] = VERSION
            f.attrs["autogas_version"] = _attr(__version__)
            f.attrs["torch_version"] = _attr(str(torch.__version__))
            for key, value in self.settings.items():
                f.attrs[key] = _attr(value)
            _checked_dataset(f, "inputs", inputs.astype(np.float16))
            f.create_group("archs", track_order=True)

    @property
    def done(self) -> set[str]:
        """Architectures stored in the file."""
        return set(self._stored_archs)

    def add(self, arch: str, fs: FeatureSet, attrs: Mapping[str, object]) -> None:
        """Store one finished architecture (atomic: it is either all there or absent)."""
        with write_transaction(self.path) as f:
            if arch in f["archs"]:
                return
            write_arch_group(f["archs"].create_group(arch), fs, attrs)
        self._stored_archs.add(arch)

    def consolidate(self) -> int:
        """Import a ``.parts/`` journal of an older version; returns how many archs it added.

        :meth:`add` stores in place, so there is nothing else to consolidate.
        """
        if not self.journal.is_dir():
            return 0
        parts = sorted((p for p in self.journal.glob("*.h5") if not p.name.startswith(".")),
                       key=lambda p: p.stat().st_mtime)
        added = 0
        if parts:
            with write_transaction(self.path) as f:
                archs = f["archs"]
                for file in parts:
                    arch = file.name[: -len(".h5")]
                    if arch in archs:
                        continue
                    with h5py.File(file, "r") as part:
                        fs = read_arch_group(part, file)
                        write_arch_group(archs.create_group(arch), fs, dict(part.attrs))
                    added += 1
        for file in self.journal.iterdir():
            file.unlink()
        self.journal.rmdir()
        return added

    def close(self) -> None:
        """Nothing is buffered: kept so callers can close writers uniformly."""


def merge_caches(sources: Iterable[str | os.PathLike], out: str | os.PathLike,
                 settings: Mapping[str, object] | None = None) -> int:
    """Write the new cache ``out`` holding every architecture of ``sources``, in source order.

    Each arch group (features and per-arch attributes such as labels) is copied verbatim, its
    checksums included; stored ``/scores`` are not copied (they were computed for one file:
    recompute them on ``out``). Every source is verified first (a damaged one is an error), all
    must share the input batch, and an arch present in two sources is an error. ``settings`` are
    ``out``'s settings attributes; by default the first source's, and then every source must have
    the same ones. ``out`` must not exist; it is written atomically. Returns the number of archs.
    """
    paths = [Path(p) for p in sources]
    if not paths:
        raise AutogasError("nothing to merge: give at least one cache")
    out = Path(out)
    if out.exists() or out.is_symlink():
        raise AutogasError(f"{out} exists; choose another --out")
    caches = [FeatureCache(p) for p in paths]
    for cache in caches:
        if cache.checked:
            verify_cache(cache.path)
    if settings is None:
        for cache in caches[1:]:
            if cache.settings != caches[0].settings:
                diff = sorted(k for k in set(cache.settings) | set(caches[0].settings)
                              if cache.settings.get(k) != caches[0].settings.get(k))
                raise AutogasError(f"{cache.path} was built with other settings than {caches[0].path} "
                                   f"({', '.join(diff)})")
        settings = caches[0].settings
    inputs = caches[0].inputs()
    for cache in caches[1:]:
        if not np.array_equal(cache.inputs(), inputs):
            raise AutogasError(f"{cache.path} has another input batch than {caches[0].path}")
    seen: dict[str, Path] = {}
    for cache in caches:
        for arch in cache.archs:
            if arch in seen:
                raise AutogasError(f"arch {arch} is in both {seen[arch]} and {cache.path}")
            seen[arch] = cache.path
    with atomic_path(out) as tmp, h5py.File(tmp, "w", libver=LIBVER) as f:
        f.attrs["format"] = _attr(FORMAT)
        f.attrs["version"] = VERSION
        f.attrs["autogas_version"] = _attr(__version__)
        f.attrs["torch_version"] = _attr(str(torch.__version__))
        f.attrs["merged_from"] = _attr(", ".join(str(p) for p in paths))
        for key, value in settings.items():
            f.attrs[key] = _attr(value)
        _checked_dataset(f, "inputs", inputs.astype(np.float16))
        archs = f.create_group("archs", track_order=True)
        for cache in caches:
            with _reading(cache.path) as src:
                for arch in cache.archs:
                    src.copy(src["archs"][arch], archs, name=arch)
    return len(seen)


def store_scores(path: str | os.PathLike, name: str, values: pd.Series, **metadata: object) -> None:
    """Store (or replace) network-level proxy ``values`` (indexed by arch) under ``/scores/name``.

    Written in place in one transaction (see the module docstring): the features are not
    copied, and a killed process leaves the previous scores.
    """
    path = Path(path)
    FeatureCache(path)  # validates the file
    with write_transaction(path) as f:
        group = f.require_group("scores")
        if name in group:
            del group[name]
        ds = _checked_dataset(group, name, values.to_numpy(dtype=np.float64))
        ds.attrs["archs"] = _fixed_text(values.index)
        for key, value in metadata.items():
            ds.attrs[key] = _attr(value)
