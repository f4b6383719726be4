"""What the cache's checksums cost on read: ``FeatureCache.load`` of a checksummed (Fletcher-32,
version 2) cache against the same file with the filter stripped.

    python benchmarks/cache_read.py CACHE.h5 [--repeats 5]

The unchecked twin is a copy of ``CACHE.h5`` whose datasets are rewritten without the Fletcher-32
filter (same chunking, same bytes otherwise), read through the same ``FeatureCache.load``
(an unchecked dataset reads as usual). Both files are read ``--repeats`` times after one warm-up
read (page cache warm: the figure is the CPU cost of checking, not the disk); the median wall time
per read, MB/s of feature data and the ratio are written to ``benchmarks/results/cache_read.json``
and ``.md``.
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np
from _common import RESULTS, write_result

from autogas.atomic import write_text_atomic
from autogas.cache import FeatureCache


def strip_checksums(src: Path, dst: Path) -> None:
    """Copy ``src`` to ``dst`` with every Fletcher-32 dataset rewritten without the filter."""
    shutil.copyfile(src, dst)
    with h5py.File(dst, "a") as f:
        names: list[str] = []
        f.visititems(lambda name, obj: names.append(name)
                     if isinstance(obj, h5py.Dataset) and obj.fletcher32 else None)
        for name in names:
            ds = f[name]
            data, attrs, chunks = ds[()], dict(ds.attrs), ds.chunks
            del f[name]
            new = f.create_dataset(name, data=data, chunks=chunks)
            for key, value in attrs.items():
                new.attrs[key] = value


def time_reads(path: Path, repeats: int) -> tuple[float, int]:
    cache = FeatureCache(path)
    sets = cache.load()  # warm-up (page cache, h5py)
    nbytes = sum(f.nbytes for fs in sets for f in fs.features) // 2  # stored as float16
    times = []
    for _ in range(repeats):
        tick = time.perf_counter()
        FeatureCache(path).load()
        times.append(time.perf_counter() - tick)
    return float(np.median(times)), nbytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cache")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    src = Path(args.cache)
    with tempfile.TemporaryDirectory(dir=src.parent) as tmp:
        plain = Path(tmp) / "unchecked.h5"
        strip_checksums(src, plain)
        checked_s, nbytes = time_reads(src, args.repeats)
        plain_s, _ = time_reads(plain, args.repeats)
    archs = len(FeatureCache(src).archs)
    figures = {"cache": str(src), "archs": archs, "feature_bytes": nbytes, "repeats": args.repeats,
               "checked_seconds": round(checked_s, 4), "unchecked_seconds": round(plain_s, 4),
               "checked_mb_per_s": round(nbytes / checked_s / 1e6, 1),
               "unchecked_mb_per_s": round(nbytes / plain_s / 1e6, 1),
               "checked_over_unchecked": round(checked_s / plain_s, 3)}
    print(figures)
    write_result("cache_read", figures)
    write_text_atomic(RESULTS / "cache_read.md", "\n".join([
        "# Reading a feature cache: cost of the Fletcher-32 checksums", "",
        f"`python benchmarks/cache_read.py {args.cache} --repeats {args.repeats}`: `FeatureCache.load()` "
        f"of all {archs} archs ({nbytes / 1e6:.1f} MB of float16 features), median of {args.repeats} "
        "warm reads, against a copy whose datasets carry no checksum.", "",
        "| file | seconds per read | MB/s |", "|---|---|---|",
        f"| checksummed (version 2) | {checked_s:.4f} | {nbytes / checked_s / 1e6:.1f} |",
        f"| checksums stripped | {plain_s:.4f} | {nbytes / plain_s / 1e6:.1f} |", "",
        f"Ratio checked / unchecked: {checked_s / plain_s:.3f}.", ""]))


if __name__ == "__main__":
    main()
