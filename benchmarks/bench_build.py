"""Cost of ``autogas bench build`` on the 498 macro dev archs: wall time, disk, peak memory,
per-arch forward time, and the cost of writing the cache. Targets (issue 2): <= 20 min, <= 2 GB,
peak RSS <= 4 GB on 2 CPU cores; (issue 9) storing the 490th arch takes within 2x the time of the
10th, and all bytes written are <= 1.5x the final file size.

    python benchmarks/bench_build.py [--space macro] [--limit N] [--out benchmarks/work/transnas.h5]

The build runs as a child process (the CLI a user runs, through ``--child``, which also dumps
:data:`autogas.cache.TRANSACTIONS`: seconds and bytes of every write transaction) so its peak RSS
can be read. An existing output file is removed first, so the figure is for a full build.
"""
from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from _common import MACRO_LABELS, MICRO_LABELS, REPO, write_result

from autogas.cache import FeatureCache, journal_dir


def child(argv: list[str]) -> None:
    """Run ``autogas bench build`` in this process and dump its write transactions as JSON."""
    import json

    from autogas import cache
    from autogas.cli import main as cli

    stats_path, argv = argv[0], argv[1:]
    code = cli(argv)
    Path(stats_path).write_text(json.dumps([t.__dict__ for t in cache.TRANSACTIONS]))
    raise SystemExit(code)


def write_cost(stats: list[dict], final_bytes: int, start_bytes: int) -> dict:
    """Store seconds of the 10th and 490th (or last) arch, and written bytes vs file size."""
    store = [t["seconds"] for t in stats]
    written = sum(t["written"] for t in stats)
    late = min(489, len(store) - 1)
    return {"transactions": len(stats), "store_seconds_10th": store[9] if len(store) > 9 else None,
            f"store_seconds_{late + 1}th": store[late] if store else None,
            "store_seconds_median_first_50": float(np.median(store[:50])) if store else None,
            "store_seconds_median_last_50": float(np.median(store[-50:])) if store else None,
            "late_over_early_median": (float(np.median(store[-50:]) / np.median(store[:50]))
                                       if len(store) >= 100 else None),
            "bytes_written": written, "final_bytes": final_bytes,
            "written_over_final": round(written / max(final_bytes - start_bytes, 1), 4)}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", choices=("macro", "micro"), default="macro")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "work" / "transnas.h5"))
    args = parser.parse_args()
    out = Path(args.out)
    out.unlink(missing_ok=True)
    shutil.rmtree(journal_dir(out), ignore_errors=True)
    labels = MACRO_LABELS if args.space == "macro" else MICRO_LABELS
    stats_path = out.with_name(out.name + ".writes.json")
    cmd = [sys.executable, __file__, "--child", str(stats_path), "bench", "build", "--space", args.space,
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
        "write_cost": write_cost(json.loads(stats_path.read_text()), out.stat().st_size, 0),
    }
    print(figures)
    write_result(f"bench_build_{args.space}", figures)


if __name__ == "__main__":
    main()
