"""``autogas train``: retrain two generators as a CycleGAN (or resume a run)."""
from __future__ import annotations

import json
from pathlib import Path

from autogas.errors import AutogasError

# Options that define a run; on --resume they come from RUN_DIR/config.json instead.
RUN_OPTIONS = ("arch_a", "arch_b", "disc_a", "disc_b", "hidden", "ndf", "epochs", "decay_epochs", "batch",
               "resolution", "lr", "pool_size", "loss_weights", "lambda_cycle", "lambda_identity", "seed")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "train", help="train G_A, G_B with D_A, D_B (CycleGAN recipe) on an unpaired dataset",
        description="Train two generators (searched architectures or the resnet9 baseline) with "
                    "LSGAN, cycle and identity losses; checkpoint, loss log and sample grid every epoch.")
    p.add_argument("--data", help="dataset root with trainA/, trainB/ (testA/, testB/ for samples)")
    p.add_argument("--out", required=True, help="run directory")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    p.add_argument("--arch-a", help="G_A (A->B): resnet9 (default), resnet6, cyclegan:G:..., "
                                    "gan-compression:c0_..._c7, an architecture JSON file or an "
                                    "'autogas search' report (each role takes its own network)")
    p.add_argument("--arch-b", help="G_B (B->A), same forms (default resnet9)")
    p.add_argument("--disc-a", help="D_A (judges domain A): patchgan (default), cyclegan:D:... or JSON")
    p.add_argument("--disc-b", help="D_B (judges domain B), same forms")
    p.add_argument("--hidden", type=int, help="ngf of resnet9/resnet6, H of cyclegan:G: archs (default: a search "
                                                 "report's H, else 64); gan-compression archs are their widths")
    p.add_argument("--ndf", type=int, help="width of patchgan and cyclegan:D: discriminators (default 64)")
    p.add_argument("--epochs", type=int, help="epochs at constant learning rate (default 100)")
    p.add_argument("--decay-epochs", type=int, help="epochs of linear decay afterwards (default 100)")
    p.add_argument("--batch", type=int, help="batch size (default 1)")
    p.add_argument("--resolution", type=int, help="crop size in pixels (default 256)")
    p.add_argument("--lr", type=float, help="Adam learning rate (default 2e-4; betas 0.5, 0.999)")
    p.add_argument("--pool-size", type=int, help="history pool of fakes per discriminator (default 50)")
    p.add_argument("--lambda-cycle", type=float, help="CycleGAN cycle weight lambda (default 10)")
    p.add_argument("--lambda-identity", type=float,
                   help="identity weight as a fraction of lambda (default 0.5)")
    p.add_argument("--loss-weights", help="CycleGANAS eq. 4 weights 'l1,l2,l3,l4,l5' (adv G_A, adv G_B, "
                                          "cycle, identity G_A, identity G_B) or 'cycleganas' = 1,1,10,5,5, "
                                          "which equals the default CycleGAN recipe")
    p.add_argument("--seed", type=int, help="seed of weights, data order, augmentation and pools (default 0)")
    p.add_argument("--device", default="auto", help="auto (CUDA if available), cpu, cuda, cuda:1, ...")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def _config(args):
    from autogas.train.losses import LossWeights
    from autogas.train.trainer import TrainConfig

    if args.data is None:
        raise AutogasError("--data is required for a new run")
    if args.loss_weights is not None and (args.lambda_cycle is not None or args.lambda_identity is not None):
        raise AutogasError("give either --loss-weights or --lambda-cycle/--lambda-identity, not both")
    if args.loss_weights is not None:
        weights = LossWeights.parse(args.loss_weights)
    else:
        weights = LossWeights.cyclegan(10.0 if args.lambda_cycle is None else args.lambda_cycle,
                                       0.5 if args.lambda_identity is None else args.lambda_identity)
    options = {"arch_a": args.arch_a, "arch_b": args.arch_b, "disc_a": args.disc_a, "disc_b": args.disc_b,
               "hidden": args.hidden, "ndf": args.ndf, "epochs": args.epochs, "decay_epochs": args.decay_epochs,
               "batch_size": args.batch, "resolution": args.resolution, "lr": args.lr,
               "pool_size": args.pool_size, "seed": args.seed}
    return TrainConfig(data=args.data, loss_weights=weights.as_tuple(),
                       **{k: v for k, v in options.items() if v is not None})


def _remove_new_entries(out: Path, before: set[Path] | None) -> None:
    """Undo a fresh run that failed before its first checkpoint: remove what it created in ``out``
    (``before``: the entries ``out`` held already; ``None``: ``out`` itself was created)."""
    import shutil

    if not out.is_dir():
        return
    for entry in set(out.iterdir()) - (before or set()):
        shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
    if before is None and not any(out.iterdir()):
        out.rmdir()


def run(args) -> int:
    from autogas.atomic import check_output
    from autogas.train.trainer import CHECKPOINT_FILE, CycleGanTrainer, load_run_config

    out = check_output(args.out, directory=True)
    if args.resume:
        load_run_config(args.out)  # a missing run is reported as such, before the options
        given = [f"--{name.replace('_', '-')}" for name in RUN_OPTIONS if getattr(args, name, None) is not None]
        if given:
            raise AutogasError(f"{', '.join(given)} cannot change on --resume (the run's config.json holds them)")
        return _train(CycleGanTrainer.resume(args.out, data=args.data, device=args.device), args)
    before = set(out.iterdir()) if out.is_dir() else None
    try:
        return _train(CycleGanTrainer.create(_config(args), args.out, device=args.device), args)
    except BaseException:
        if not (out / CHECKPOINT_FILE).exists():  # failed before its first result: leave nothing
            _remove_new_entries(out, before)
        raise


def _train(trainer, args) -> int:
    print(json.dumps(trainer.describe_networks()))
    if trainer.epoch >= trainer.config.total_epochs:
        print(f"run {args.out} is complete ({trainer.epoch} epochs)")
        return 0
    trainer.fit(progress=not args.no_progress)
    print(f"trained {args.out} to epoch {trainer.epoch}/{trainer.config.total_epochs}")
    return 0
