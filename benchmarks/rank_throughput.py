"""Scoring throughput of CycleGANAS candidates, and the scorer's overhead over a bare forward pass.

    python benchmarks/rank_throughput.py                      # 128x128, batch 8, H 64, CPU (+ CUDA if present)
    python benchmarks/rank_throughput.py --candidates 3 --resolution 32 --batch 2 --hidden 8   # smoke

For each of ``--candidates`` random generators (after one warm-up candidate) it times, on the
same built network: the full :meth:`GeneratorScorer.score` (seeded build, hooked forward with
feature reduction, proxy), and a bare ``model(x)`` under ``torch.inference_mode`` in train mode.
Reported per device: candidates/s of the full scorer, and the overhead of the scorer on top of
the bare forward, both without the build (hooks + feature reduction + proxy) and with it.
Writes ``benchmarks/results/rank_throughput.json``.
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch
from _common import REPO, write_result

from autogas.measure.inputs import input_batch
from autogas.search.scorer import GeneratorScorer, open_space


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bare_forward_seconds(model: torch.nn.Module, inputs: torch.Tensor) -> float:
    """Seconds of one plain forward pass (train mode, inference mode, no hooks)."""
    _sync(inputs.device)
    start = time.perf_counter()
    with torch.inference_mode():
        model(inputs)
    _sync(inputs.device)
    return time.perf_counter() - start


def measure(device: str, args) -> dict:
    space = open_space("cyclegan", n_cells=args.n_cells, hidden=args.hidden)
    inputs = input_batch("images", args.batch, args.resolution, args.seed)
    scorer = GeneratorScorer(space, args.proxy, inputs, seed=args.seed, device=device)
    rng = np.random.default_rng(args.seed)
    archs = [space.sample(rng) for _ in range(args.candidates + 1)]
    rows = []
    for i, arch in enumerate(archs):
        result = scorer.score(arch)
        model = scorer.build(arch)
        bare = bare_forward_seconds(model, scorer.inputs)
        if i:  # the first candidate warms up allocators and kernels
            rows.append({"arch": result.arch, "score": result.score, "build": result.build_seconds,
                         "forward_hooked": result.forward_seconds, "proxy": result.proxy_seconds,
                         "bare_forward": bare})
    total = sum(r["build"] + r["forward_hooked"] + r["proxy"] for r in rows)
    scored = sum(r["forward_hooked"] + r["proxy"] for r in rows)
    bare = sum(r["bare_forward"] for r in rows)
    return {
        "device": str(scorer.device), "candidates": len(rows),
        "candidates_per_second": len(rows) / total,
        "mean_seconds": {k: float(np.mean([r[k] for r in rows]))
                         for k in ("build", "forward_hooked", "proxy", "bare_forward")},
        "overhead_vs_bare_forward": scored / bare - 1.0,
        "overhead_vs_bare_forward_with_build": total / bare - 1.0,
        "targets": {"candidates_per_second>=2": len(rows) / total >= 2.0,
                    "overhead<=20%": scored / bare - 1.0 <= 0.20},
        "rows": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=20)
    parser.add_argument("--resolution", type=int, default=128)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--n-cells", type=int, default=11)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--proxy", default=str(REPO / "proxies" / "autogas_paper.json"))
    parser.add_argument("--devices", default="cpu,cuda", help="comma list; cuda is skipped if absent")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch intra-op threads (default: torch's own); a busy machine makes "
                             "2-thread reductions far slower, so record quiet runs only")
    parser.add_argument("--name", default="rank_throughput", help="result file name")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    load_at_start = os.getloadavg()[0]
    results = {}
    for device in args.devices.split(","):
        if device == "cuda" and not torch.cuda.is_available():
            results[device] = "not available on this machine"
            continue
        results[device] = measure(device, args)
        r = results[device]
        print(f"{device}: {r['candidates_per_second']:.2f} candidates/s; scorer overhead over bare "
              f"forward {100 * r['overhead_vs_bare_forward']:.1f}% "
              f"({100 * r['overhead_vs_bare_forward_with_build']:.1f}% with the build)")
    settings = {k: getattr(args, k) for k in ("candidates", "resolution", "batch", "hidden", "n_cells",
                                              "seed", "proxy", "threads")}
    settings["load_average_at_start"] = load_at_start
    path = write_result(args.name, {"settings": settings, "results": results})
    print(f"-> {path}")


if __name__ == "__main__":
    main()
