"""Cost of one CycleGANAS supernet step against one discrete CycleGAN step at the same width, on this CPU.

    nice -n 10 python benchmarks/supernet_cost.py                       # widths 16 and 32, 128x128
    python benchmarks/supernet_cost.py --widths 8 --resolution 32 --steps 2 --warmup 1   # quick check

Each measurement runs in a fresh subprocess (so its peak memory is its own):

* **supernet**: the one-step (``of``) update of :class:`autogas.supernet.search.SupernetSearch`
  (four supernets of the cyclegan space, every slot a mixed op over its whole op table, softmax
  mixing, ``alpha`` and weights in the same Adam step, the losses of ``autogas train``), at
  search width ``H``;
* **discrete**: :meth:`autogas.train.trainer.CycleGanTrainer.train_step` (the same
  :func:`~autogas.train.trainer.cyclegan_update`) of four discrete networks of the same space at
  the same ``H``: the CycleGAN-like architecture (every encoding and residual op conv_3x3, every
  decoding op conv_transpose_3x3: ``G:22.00...00.22``, ``D:22.22``).

Both use 11 generator cells, batch 1, one fixed random image pair per domain (seeded), ``--threads``
torch threads. Time: median and min of ``--steps`` timed steps after ``--warmup``. Memory: the
process's peak resident set (``resource.getrusage(RUSAGE_SELF).ru_maxrss``) after the steps,
and its growth over the peak measured just before the networks are built (imports, data and a
probe conv step done), i.e. what the networks, optimizers and one step's activations and gradients add.
Writes ``benchmarks/results/supernet_cost.json`` and ``.md``. Timings are noisy when other
work shares the cores; the machine's load average is recorded with each row.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, write_result  # noqa: E402

N_CELLS = 11


def _discrete_names() -> dict[str, str]:
    generator = "cyclegan:G:" + ".".join(["22"] + ["00"] * (N_CELLS - 2) + ["22"])
    return {"arch_a": generator, "arch_b": generator, "disc_a": "cyclegan:D:22.22", "disc_b": "cyclegan:D:22.22"}


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def _count(nets) -> int:
    return sum(p.numel() for net in nets.values() for p in net.parameters())


def child(kind: str, width: int, resolution: int, steps: int, warmup: int, seed: int) -> dict:
    """One measurement (runs in its own process)."""
    from autogas.supernet import SupernetSettings
    from autogas.supernet.search import SupernetSearch
    from autogas.train.trainer import CycleGanTrainer, TrainConfig

    gen = torch.Generator().manual_seed(seed)
    real_a = torch.rand(1, 3, resolution, resolution, generator=gen) * 2 - 1
    real_b = torch.rand(1, 3, resolution, resolution, generator=gen) * 2 - 1
    with tempfile.TemporaryDirectory() as tmp:
        for split in ("trainA", "trainB"):  # both need a dataset folder; the timed steps use the fixed tensors
            (Path(tmp) / split).mkdir()
            Image.fromarray(np.zeros((resolution, resolution, 3), np.uint8)).save(Path(tmp) / split / "0.png")
        probe = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.InstanceNorm2d(4))
        probe_opt = torch.optim.Adam(probe.parameters())  # a probe step loads torch's lazy runtime parts first
        probe(real_a).square().mean().backward()
        probe_opt.step()
        before = _maxrss_mb()
        if kind == "supernet":
            settings = SupernetSettings(variant="of", search_hidden=width, hidden=width, n_cells=N_CELLS,
                                        resolution=resolution, seed=seed)
            search = SupernetSearch(settings, _open(tmp), Path(tmp) / "run", data_args={}, device="cpu")
            nets = search.nets

            def step():
                search._update("joint", real_a, real_b)
        else:
            config = TrainConfig(data=tmp, **_discrete_names(), hidden=width, ndf=width, resolution=resolution,
                                 samples=1, seed=seed)
            trainer = CycleGanTrainer(config, Path(tmp) / "run", device="cpu")
            nets = trainer.nets

            def step():
                trainer.train_step(real_a, real_b)

        for _ in range(warmup):
            step()
        times = []
        for _ in range(steps):
            start = time.perf_counter()
            step()
            times.append(time.perf_counter() - start)
    return {"kind": kind, "width": width, "resolution": resolution, "params": _count(nets),
            "median_s": statistics.median(times), "min_s": min(times), "steps": steps, "warmup": warmup,
            "peak_rss_mb": _maxrss_mb(), "rss_growth_mb": _maxrss_mb() - before,
            "load_average_1min": os.getloadavg()[0]}


def _open(root: str):
    from autogas.supernet.data import SearchData
    from autogas.train.data import UnpairedFolders

    return SearchData(UnpairedFolders.open(root), f"folder {root}")


def _markdown(record: dict) -> str:
    lines = ["# Supernet step cost (CycleGANAS one-step vs a discrete CycleGAN step)", "",
             f"Command: `{record['command']}` (n = {record['steps']} timed steps after {record['warmup']} warm-up, "
             f"seed {record['seed']}, {record['threads']} torch thread(s), batch 1, {N_CELLS} generator cells, "
             f"torch {record['machine']['torch']}, {record['machine']['cpus']} CPUs shared with other work).", "",
             "Discrete networks: " + ", ".join(f"`{v}`" for v in dict.fromkeys(_discrete_names().values()))
             + " at the same width H (generators and discriminators).", "",
             "| H | resolution | network | params (4 nets) | step median s | step min s | peak RSS MB "
             "| RSS growth MB | load avg |",
             "|---|---|---|---|---|---|---|---|---|"]
    for row in record["rows"]:
        lines.append(f"| {row['width']} | {row['resolution']} | {row['kind']} | {row['params']:,} | "
                     f"{row['median_s']:.3f} | {row['min_s']:.3f} | {row['peak_rss_mb']:.0f} | "
                     f"{row['rss_growth_mb']:.0f} | {row['load_average_1min']:.1f} |")
    lines += ["", "| H | resolution | time ratio (median) | params ratio | RSS growth ratio |", "|---|---|---|---|---|"]
    for ratio in record["ratios"]:
        lines.append(f"| {ratio['width']} | {ratio['resolution']} | {ratio['time']:.1f}x | {ratio['params']:.1f}x | "
                     f"{ratio['rss_growth']:.1f}x |")
    lines += ["", "Peak RSS is the whole process's (Python, torch and the data included); RSS growth is what the "
              "networks, optimizers and the steps add over the peak just before the networks were built.", ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--widths", type=int, nargs="+", default=[16, 32])
    parser.add_argument("--resolution", type=int, default=128)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--name", default="supernet_cost", help="results file stem")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "WIDTH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.child:
        kind, width = args.child
        print(json.dumps(child(kind, int(width), args.resolution, args.steps, args.warmup, args.seed)))
        return 0

    rows, ratios = [], []
    for width in args.widths:
        pair = {}
        for kind in ("discrete", "supernet"):
            cmd = [sys.executable, __file__, "--child", kind, str(width), "--resolution", str(args.resolution),
                   "--steps", str(args.steps), "--warmup", str(args.warmup), "--threads", str(args.threads),
                   "--seed", str(args.seed)]
            done = subprocess.run(cmd, capture_output=True, text=True, check=True)
            pair[kind] = json.loads(done.stdout.strip().splitlines()[-1])
            rows.append(pair[kind])
            row = pair[kind]
            print(f"H={width} {kind:8s} params {row['params']:,} step median {row['median_s']:.3f}s "
                  f"min {row['min_s']:.3f}s peak RSS {row['peak_rss_mb']:.0f} MB (+{row['rss_growth_mb']:.0f})",
                  flush=True)
        s, d = pair["supernet"], pair["discrete"]
        ratios.append({"width": width, "resolution": args.resolution, "time": s["median_s"] / d["median_s"],
                       "params": s["params"] / d["params"],
                       "rss_growth": s["rss_growth_mb"] / max(d["rss_growth_mb"], 1e-9)})
    payload = {"what": "one CycleGANAS supernet step (of) vs one discrete CycleGAN step at the same width",
               "steps": args.steps, "warmup": args.warmup, "threads": args.threads, "seed": args.seed,
               "n_cells": N_CELLS, "rows": rows, "ratios": ratios}
    path = write_result(args.name, payload)
    record = json.loads(path.read_text())
    from autogas.atomic import write_text_atomic

    write_text_atomic(RESULTS / f"{args.name}.md", _markdown(record))
    print(f"wrote {path} and {RESULTS / (args.name + '.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
