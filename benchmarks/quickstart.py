"""How long the README's quick start takes on this machine, and what it ends on (issue 11, item 6).

    python benchmarks/quickstart.py [--work benchmarks/work/quickstart]

Runs the ``autogas`` commands of the README's first line exactly as written (the ``pip install``
parts are skipped: the package is installed), each as a subprocess in ``--work`` (emptied first;
the labels path is taken relative to the repository, as the README is run from its root), timing
each. Records the wall seconds per command and in all, the evolved proxy with its validation and
test tau, and the ranking's score spread (how many distinct finite scores among the generators),
in ``benchmarks/results/quickstart.{json,md}``.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from _common import REPO, RESULTS, machine, write_result
from autogas.atomic import write_text_atomic


def readme_line() -> str:
    block = (REPO / "README.md").read_text().split("```bash", 1)[1].split("```", 1)[0]
    return [line for line in block.strip().splitlines() if line.strip()][0]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--work", type=Path, default=REPO / "benchmarks" / "work" / "quickstart")
    args = p.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    line = readme_line()
    steps = []
    for part in (c.strip() for c in line.split("&&")):
        words = shlex.split(part)
        if words[0] != "autogas":
            continue
        words = [str((REPO / w).resolve()) if w.startswith("../shared/") else w for w in words]
        tick = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "autogas", *words[1:]], cwd=args.work,
                              capture_output=True, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        seconds = time.perf_counter() - tick
        if done.returncode != 0:
            raise SystemExit(f"'{part}' failed ({done.returncode}): {done.stderr.strip().splitlines()[-1:]}")
        steps.append({"command": part, "seconds": round(seconds, 1),
                      "last_line": done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""})
        print(f"{seconds:7.1f} s  {part}", flush=True)
    evolved = json.loads((args.work / "evolved.json").read_text())
    ranking = pd.read_csv(args.work / "ranking.csv")
    score = ranking["score"].to_numpy(float)
    finite = score[np.isfinite(score)]
    record = {"readme_line": line, "steps": steps, "total_seconds": round(sum(s["seconds"] for s in steps), 1),
              "proxy": evolved["proxy"],
              "scores": evolved.get("scores"),
              "generators_ranked": int(len(ranking)), "finite_scores": int(len(finite)),
              "distinct_scores": int(np.unique(finite).size)}
    write_result("quickstart", record)
    lines = ["# The README quick start, timed", "",
             f"`python benchmarks/quickstart.py` ran the `autogas` commands of the README's first line as "
             f"written (pip steps skipped), from an empty folder, on this machine "
             f"({machine()['cpus']} CPUs, load average at the end {os.getloadavg()[0]:.1f}).", "",
             "| command | wall s |", "|---|---|"]
    lines += [f"| `{s['command']}` | {s['seconds']:.1f} |" for s in steps]
    lines += [f"| **total** | **{record['total_seconds']:.1f}** |", "",
              f"Evolved proxy: `{record['proxy']}`; its scores: `{json.dumps(record['scores'])}`.",
              f"Ranking: {record['generators_ranked']} generators, {record['finite_scores']} finite scores, "
              f"{record['distinct_scores']} distinct."]
    lines += ["", "Last line of each command:", ""] + [f"- `{s['last_line']}`" for s in steps]
    write_text_atomic(RESULTS / "quickstart.md", "\n".join(lines) + "\n")
    print(f"total {record['total_seconds']:.1f} s -> {RESULTS / 'quickstart.md'}")


if __name__ == "__main__":
    main()
