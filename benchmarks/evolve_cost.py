"""What one ``autogas evolve`` search costs with several benches (issue 11: a two-bench search at
the paper's settings in <= 5 minutes on this CPU).

    python benchmarks/evolve_cost.py --bench benchmarks/work/transnas.h5 \\
        --bench benchmarks/work/groundtruth_cyclegan_s100_r32_h16_lr0.0002_seed0_all.h5 \\
        --val-size 50 --val-size 30 [--workers 1] [--seed 0] [--name evolve_cost_two_bench]

Runs the command ``autogas evolve --bench A --bench B ... --population 20 --generations 100
--topk 5 --seed S --workers W --quiet`` in this process (the CLI's own code path), timed by wall
clock and process CPU (workers' CPU included via ``resource``), with the 1-minute load average
before and after (other jobs on the 2 cores inflate wall time). Records the evaluations, the
evaluations per second, the best proxy and its val/test Kendall tau per labelled bench from the
output file. Writes ``benchmarks/results/<name>.{json,md}``.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from pathlib import Path

from _common import RESULTS, write_result
from autogas.atomic import write_text_atomic
from autogas.cli import main as cli


def cpu_seconds() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bench", action="append", required=True)
    ap.add_argument("--val-size", action="append", default=[])
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--name", default="evolve_cost_two_bench")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "best.json"
        argv = ["evolve", *[w for b in args.bench for w in ("--bench", b)],
                *[w for v in args.val_size for w in ("--val-size", v)],
                "--population", "20", "--generations", "100", "--topk", "5", "--seed", str(args.seed),
                "--workers", str(args.workers), "--out", str(out), "--quiet"]
        load_before = os.getloadavg()[0]
        wall, cpu = time.perf_counter(), cpu_seconds()
        code = cli(argv)
        wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
        load_after = os.getloadavg()[0]
        if code != 0:
            raise SystemExit(f"autogas evolve exited {code}")
        result = json.loads(out.read_text())
    benches = {name: {k: (b.get(k) or {}).get("kendall") for k in ("val", "test", "all")} | {"role": b["role"]}
               for name, b in result["benches"].items()}
    record = {"evolve_command": "autogas " + " ".join(argv).replace(str(out), "best.json"),
              "wall_seconds": round(wall, 1), "cpu_seconds": round(cpu, 1),
              "load1_before": load_before, "load1_after": load_after, "workers": args.workers,
              "evaluations": result["evaluations"], "evals_per_second": round(result["evaluations"] / wall, 2),
              "proxy": result["proxy"], "benches": benches}
    write_result(args.name, record)
    lines = [f"# Cost of one multi-bench `autogas evolve` ({len(args.bench)} benches, P=20, T=100, k=5)", "",
             f"`python benchmarks/evolve_cost.py {' '.join(f'--bench {b}' for b in args.bench)} "
             f"{' '.join(f'--val-size {v}' for v in args.val_size)} --workers {args.workers} "
             f"--seed {args.seed} --name {args.name}`", "",
             f"- wall **{wall:.0f} s**, CPU {cpu:.0f} s ({args.workers} worker(s)); 1-minute load average "
             f"{load_before:.1f} before, {load_after:.1f} after (other jobs share the 2 cores)",
             f"- {result['evaluations']} evaluations, {result['evaluations'] / wall:.2f} per second",
             f"- best: `{result['proxy']}`", "", "| bench | role | τ val | τ test | τ all |", "|---|---|---|---|---|"]
    for name, b in benches.items():
        lines.append(f"| {name} | {b['role']} | " + " | ".join(
            "-" if b[k] is None else f"{b[k]:+.3f}" for k in ("val", "test", "all")) + " |")
    write_text_atomic(RESULTS / f"{args.name}.md", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
