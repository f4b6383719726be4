"""Time one CycleGAN training step on the CPU: ``CycleGanTrainer.train_step`` against a
hand-written minimal step with the same four modules and losses (no pool bookkeeping, no
logging), to show the trainer adds no measurable overhead.

    python benchmarks/train_step.py                 # ResNet-9 + PatchGAN, ngf = ndf = 64, 128x128
    python benchmarks/train_step.py --steps 2 --warmup 1 --hidden 8 --ndf 8   # quick check

Prints seconds per step (median and min over ``--steps`` timed steps after ``--warmup``) and
writes ``benchmarks/results/train_step.json``. Run it on a quiet machine: timings are noisy
when other work shares the cores.
"""
from __future__ import annotations

import argparse
import copy
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.nn import functional as F

from autogas.atomic import write_text_atomic
from autogas.train.losses import lsgan_loss
from autogas.train.trainer import CycleGanTrainer, TrainConfig

RESULTS = Path(__file__).resolve().parent / "results" / "train_step.json"


def minimal_step(nets, opt_g, opt_d, real_a, real_b, lam=10.0, lam_idt=5.0):
    """The textbook CycleGAN step (D_A judges domain A, D_B domain B), no history pool."""
    g_a, g_b, d_a, d_b = nets
    fake_b, fake_a = g_a(real_a), g_b(real_b)
    for p in [*d_a.parameters(), *d_b.parameters()]:
        p.requires_grad_(False)
    opt_g.zero_grad(set_to_none=True)
    loss_g = (lsgan_loss(d_b(fake_b), True) + lsgan_loss(d_a(fake_a), True)
              + lam * (F.l1_loss(g_b(fake_b), real_a) + F.l1_loss(g_a(fake_a), real_b))
              + lam_idt * (F.l1_loss(g_a(real_b), real_b) + F.l1_loss(g_b(real_a), real_a)))
    loss_g.backward()
    opt_g.step()
    for p in [*d_a.parameters(), *d_b.parameters()]:
        p.requires_grad_(True)
    opt_d.zero_grad(set_to_none=True)
    loss_d = 0.5 * (lsgan_loss(d_a(real_a), True) + lsgan_loss(d_a(fake_a.detach()), False)
                    + lsgan_loss(d_b(real_b), True) + lsgan_loss(d_b(fake_b.detach()), False))
    loss_d.backward()
    opt_d.step()


def time_steps(step, warmup: int, steps: int) -> list[float]:
    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return times


def summary(times: list[float]) -> dict[str, float]:
    return {"median_s": statistics.median(times), "min_s": min(times), "steps": len(times)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolution", type=int, default=128)
    parser.add_argument("--hidden", type=int, default=64, help="ngf of the ResNet-9 generators")
    parser.add_argument("--ndf", type=int, default=64)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory() as tmp:
        for split in ("trainA", "trainB"):  # the trainer needs a dataset; the timed steps use fixed tensors
            (Path(tmp) / split).mkdir()
            Image.fromarray(np.zeros((args.resolution, args.resolution, 3), np.uint8)).save(
                Path(tmp) / split / "0.png")
        config = TrainConfig(data=tmp, hidden=args.hidden, ndf=args.ndf, resolution=args.resolution, samples=1)
        trainer = CycleGanTrainer(config, Path(tmp) / "run", device="cpu")
    gen = torch.Generator().manual_seed(0)
    real_a = torch.rand(1, 3, args.resolution, args.resolution, generator=gen) * 2 - 1
    real_b = torch.rand(1, 3, args.resolution, args.resolution, generator=gen) * 2 - 1

    nets = [copy.deepcopy(trainer.nets[k]) for k in ("G_A", "G_B", "D_A", "D_B")]
    opt_g = torch.optim.Adam([*nets[0].parameters(), *nets[1].parameters()], lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam([*nets[2].parameters(), *nets[3].parameters()], lr=2e-4, betas=(0.5, 0.999))

    minimal = time_steps(lambda: minimal_step(nets, opt_g, opt_d, real_a, real_b), args.warmup, args.steps)
    autogas = time_steps(lambda: trainer.train_step(real_a, real_b), args.warmup, args.steps)
    result = {
        "what": "one CycleGAN training step (G_A, G_B ResNet-9; D_A, D_B PatchGAN), batch 1, CPU",
        "resolution": args.resolution, "ngf": args.hidden, "ndf": args.ndf, "threads": args.threads,
        "torch": torch.__version__, "python": sys.version.split()[0], "machine": platform.machine(),
        "networks": trainer.describe_networks(),
        "autogas_train_step": summary(autogas), "minimal_step": summary(minimal),
        "overhead_ratio_median": statistics.median(autogas) / statistics.median(minimal),
    }
    write_text_atomic(args.out, json.dumps(result, indent=2) + "\n")
    print(f"{args.resolution}x{args.resolution}, ngf {args.hidden}, ndf {args.ndf}, {args.threads} threads")
    print(f"autogas train_step: median {result['autogas_train_step']['median_s']:.3f}s "
          f"min {result['autogas_train_step']['min_s']:.3f}s")
    print(f"minimal step:       median {result['minimal_step']['median_s']:.3f}s "
          f"min {result['minimal_step']['min_s']:.3f}s")
    print(f"ratio (median): {result['overhead_ratio_median']:.3f}; wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
