"""``autogas bench train``: measured ground truth for a generator space (a trained-label cache).

Registered under ``autogas bench`` by :mod:`autogas.commands.bench`; the work is
:func:`autogas.groundtruth.build.build_groundtruth`.
"""
from __future__ import annotations

import os

from autogas.atomic import check_output
from autogas.errors import AutogasError

DEFAULTS = {"steps": 100, "resolution": 32, "hidden": 16, "lr": 2e-4, "seeds": 4}  # benchmarks/results/groundtruth_settings.md: 4-seed noise ceiling 0.775 at 38 s CPU per arch


def add_train_parser(sub) -> None:
    """Add ``train`` to the ``autogas bench`` actions ``sub`` (not a top-level command)."""
    p = sub.add_parser("train", help="ground truth for a generator space: train sampled or listed "
                                     "G_A candidates briefly, cache labels + random-init features")
    p.add_argument("--space", required=True, help="cyclegan or gan-compression")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--n", type=int, default=None, help="distinct random candidates (default 60)")
    source.add_argument("--archs", help="file of architecture strings, one per line (instead of sampling)")
    p.add_argument("--out", required=True, help="output HDF5 ground-truth cache (resumed if it exists)")
    p.add_argument("--steps", type=int, default=DEFAULTS["steps"], help="training steps per candidate and seed")
    p.add_argument("--resolution", type=int, default=DEFAULTS["resolution"], help="training image side (px)")
    p.add_argument("--hidden", type=int, default=DEFAULTS["hidden"],
                   help="width H of the CycleGANAS candidates, G_B and ndf of D_A/D_B")
    p.add_argument("--lr", type=float, default=DEFAULTS["lr"],
                   help="Adam learning rate (constant for the first half of the steps, then linear decay)")
    p.add_argument("--batch-size", type=int, default=1, help="training batch size")
    p.add_argument("--seed", type=int, default=0, help="seed of sampling, inputs, weight init and training")
    p.add_argument("--seeds", type=int, default=DEFAULTS["seeds"],
                   help="training seeds per candidate; the label is their mean (2 gives the noise "
                        "ceiling, 4 or more also the split-half ceiling)")
    task = p.add_mutually_exclusive_group()
    task.add_argument("--task", default=None, help="built-in known-answer task (default: unsharp)")
    task.add_argument("--data", help="your unpaired folder (trainA, trainB, testA, testB); label -FID")
    p.add_argument("--inception-weights", help="with --data: Inception weights file (as autogas evaluate)")
    p.add_argument("--n-cells", type=int, default=None, help="cyclegan: generator cells (default 11)")
    p.add_argument("--config-set", default=None, help="gan-compression: candidate set (default channels-32)")
    p.add_argument("--max-params", help="parameter budget, in millions or with a suffix (400K)")
    p.add_argument("--max-macs", help="MAC budget at 256 px, in GMACs or with a suffix (2600M)")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")
    p.add_argument("--workers", type=int, default=1, help="local processes, one torch thread each")
    p.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler address (instead of --workers)")
    p.set_defaults(func=run)


def run(args) -> int:
    from autogas.groundtruth.build import COST_RESOLUTION, GroundTruthSettings, build_groundtruth
    from autogas.groundtruth.training import TrainingSettings
    from autogas.search.budget import BudgetedSpace, parse_budget
    from autogas.search.ranking import candidate_archs

    check_output(args.out)
    if args.data is None and args.inception_weights is not None:
        raise AutogasError("--inception-weights applies to --data only (the built-in task needs none)")
    data = None
    if args.data is not None:
        data = os.path.abspath(args.data)
        if not os.path.isdir(data):
            raise AutogasError(f"--data folder not found: {args.data}")
    settings = GroundTruthSettings(
        space=args.space,
        training=TrainingSettings(steps=args.steps, resolution=args.resolution, hidden=args.hidden,
                                  batch_size=args.batch_size, lr=args.lr),
        seeds=args.seeds, seed=args.seed, task=args.task or "unsharp", data=data,
        inception_weights=(os.path.abspath(args.inception_weights) if args.inception_weights else None),
        n_cells=args.n_cells, config_set=args.config_set)
    space = settings.open_space()
    candidates = candidate_archs(space, archs=args.archs, n=60 if args.n is None else args.n, seed=args.seed,
                                 at_least=2)  # a ranking needs two architectures
    budget = parse_budget(args.max_params, args.max_macs, COST_RESOLUTION)
    kept = BudgetedSpace(space, budget).within(candidates, at_least=2)
    names = [space.to_string(a) for a, _ in kept]
    summary = build_groundtruth(names, args.out, settings, workers=args.workers,
                                scheduler=args.scheduler, device=args.device)
    per = summary["seconds_per_arch"]
    print(f"{args.out}: {summary['computed']} archs trained, {summary['skipped']} already there, "
          f"{len(candidates) - len(kept)} over budget dropped, device {summary['device']}"
          + (f", {per:.1f} s/arch" if per else ""))
    return 0
