"""Does storing an arch get slower as the cache grows? The cache's write path alone, at sizes up to
the full macro space (issue 9's write-cost targets, without the networks' forward passes).

    python benchmarks/cache_write.py [--archs 711 3256] [--layers 30] [--out-dir benchmarks/work]

For each ``--archs`` N, a new cache is written with :class:`autogas.cache.FeatureCacheWriter`
(the writer ``autogas bench build`` uses: one crash-safe transaction per arch), N synthetic
architectures of ``--layers`` layers of 16 x 512 random features (the shape of a TransNAS cache
at its default settings: batch 16, ``max_dims`` 512). Recorded from
:data:`autogas.cache.TRANSACTIONS`: median store time of the first and last 50 archs and their
ratio (target <= 2), the store time of the 10th and the (N-8)th arch, and all bytes written over
the final file size (target <= 1.5). Synthetic features make the figure independent of network
build cost and of other load on the machine's forward passes. Writes
``benchmarks/results/cache_write.{json,md}``; the caches are removed afterwards.
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from _common import REPO, RESULTS, write_result
from autogas import cache as cache_module
from autogas.atomic import write_text_atomic
from autogas.cache import FeatureCacheWriter
from autogas.measure.features import FeatureSet, LayerInfo

SETTINGS = {"space": "macro", "task": "autoencoder", "seed": 0, "batch": 16, "resolution": 64,
            "inputs": "synthetic", "max_dims": 512, "train_mode": True}


def synthetic(rng: np.random.Generator, layers: int) -> FeatureSet:
    features = [rng.standard_normal((16, 512)).astype(np.float32) for _ in range(layers)]
    infos = [LayerInfo(f"layer{i}", "decoder" if i >= layers // 2 else "encoder", 32, 4, 4, 512,
                       float(x.mean()), float(x.std()), float((x > 0).mean())) for i, x in enumerate(features)]
    return FeatureSet(features, infos)


def measure(n: int, layers: int, out: Path, seed: int) -> dict:
    out.unlink(missing_ok=True)
    rng = np.random.default_rng(seed)
    writer = FeatureCacheWriter(out, SETTINGS, np.zeros((16, 3, 64, 64), np.float32))
    cache_module.TRANSACTIONS.clear()
    tick = time.perf_counter()
    for i in range(n):
        writer.add(f"arch-{i:05d}", synthetic(rng, layers), {"label": float(i), "params": 1.0, "flops": 1.0})
    wall = time.perf_counter() - tick
    writer.close()
    stores = [t for t in cache_module.TRANSACTIONS if t.path == str(out)]
    ms = np.array([t.seconds for t in stores]) * 1000
    size = out.stat().st_size
    written = sum(t.written for t in stores)
    out.unlink()
    return {"archs": n, "layers": layers, "wall_seconds": round(wall, 1), "file_bytes": size,
            "written_over_size": written / size,
            "store_ms_first50_median": float(np.median(ms[:50])), "store_ms_last50_median": float(np.median(ms[-50:])),
            "last_over_first": float(np.median(ms[-50:]) / np.median(ms[:50])),
            "store_ms_10th": float(ms[9]), "store_ms_nminus8th": float(ms[-9]),
            "load_average_end": os.getloadavg()[0]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--archs", type=int, nargs="+", default=[711, 3256])
    p.add_argument("--layers", type=int, default=30)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out-dir", type=Path, default=REPO / "benchmarks" / "work")
    args = p.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for n in args.archs:
        row = measure(n, args.layers, args.out_dir / f"cache_write_{n}.h5", args.seed)
        rows.append(row)
        print(f"{n} archs: {row['wall_seconds']} s, {row['file_bytes'] / 1e6:.0f} MB, written "
              f"{row['written_over_size']:.3f}x, store first/last 50 median {row['store_ms_first50_median']:.1f}"
              f" / {row['store_ms_last50_median']:.1f} ms ({row['last_over_first']:.2f}x)", flush=True)
    write_result("cache_write", {"rows": rows, "settings": vars(args) | {"out_dir": str(args.out_dir)}})
    lines = ["# Cache write path: store time as the cache grows", "",
             f"`python benchmarks/cache_write.py --archs {' '.join(map(str, args.archs))} --layers {args.layers}` "
             "(synthetic 16 x 512 features per layer, one transaction per arch, seed "
             f"{args.seed}). Targets (issue 9): last/first <= 2x, bytes written <= 1.5x the file.", "",
             "| archs | wall s | file MB | written / file | store ms first 50 (median) | last 50 | last/first | 10th | (N-8)th | load |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['archs']} | {r['wall_seconds']} | {r['file_bytes'] / 1e6:.0f} | {r['written_over_size']:.3f} | "
                     f"{r['store_ms_first50_median']:.1f} | {r['store_ms_last50_median']:.1f} | {r['last_over_first']:.2f} | "
                     f"{r['store_ms_10th']:.1f} | {r['store_ms_nminus8th']:.1f} | {r['load_average_end']:.1f} |")
    write_text_atomic(RESULTS / "cache_write.md", "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
