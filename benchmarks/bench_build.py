"""Cost of ``autogas bench build`` on the 498 macro dev archs: wall time, disk, peak memory,
per-arch forward time. Targets (issue 2): <= 20 min, <= 2 GB, peak RSS <= 4 GB on 2 CPU cores.

    python benchmarks/bench_build.py [--space macro] [--limit N] [--out benchmarks/work/transnas.h5]

The build runs as a child process (exactly the CLI a user runs) so its peak RSS can be read.
An existing output file is removed first, so the figure is for a full build.
"""
from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from _common import MACRO_LABELS, MICRO_LABELS, REPO, write_result

from autogas.cache import FeatureCache, journal_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", choices=("macro", "micro"), default="macro")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "work" / "transnas.h5"))
    args = parser.parse_args()
    out = Path(args.out)
    out.unlink(missing_ok=True)
    shutil.rmtree(journal_dir(out), ignore_errors=True)
    labels = MACRO_LABELS if args.space == "macro" else MICRO_LABELS
    cmd = [sys.executable, "-m", "autogas", "bench", "build", "--space", args.space,
           "--labels", str(labels), "--out", str(out)]
    if args.limit:
        cmd += ["--limit", str(args.limit)]
    start = time.perf_counter()
    subprocess.run(cmd, check=True)
    wall = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    cache = FeatureCache(out)
    fwd = cache.table["forward_seconds"].to_numpy()
    figures = {
        "space": args.space, "archs": len(cache.archs), "settings": cache.settings,
        "wall_seconds": round(wall, 1), "archs_per_second": round(len(cache.archs) / wall, 3),
        "disk_bytes": out.stat().st_size, "peak_rss_bytes": peak_kib * 1024,
        "forward_seconds": {"median": float(np.median(fwd)), "p90": float(np.percentile(fwd, 90)),
                            "max": float(fwd.max()), "sum": float(fwd.sum())},
    }
    print(figures)
    write_result(f"bench_build_{args.space}", figures)


if __name__ == "__main__":
    main()
