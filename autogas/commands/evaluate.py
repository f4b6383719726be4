"""``autogas evaluate``: translate the test folders with a trained run and report FID/KID."""
from __future__ import annotations

import json


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "evaluate", help="translate testA->B and testB->A with a trained run; FID, KID, params, MACs",
        description="Translate the test folders with G_A and G_B of a run, write the images and score them "
                    "against the target test folder with FID and KID (Inception-v3 FID features).")
    p.add_argument("--run", required=True, help="run directory written by 'autogas train'")
    p.add_argument("--data", help="dataset root with testA/ and testB/ (default: the run's dataset)")
    p.add_argument("--out", help="output directory (default RUN/eval)")
    p.add_argument("--inception-weights", help="local Inception-v3 FID weights file "
                                               "(pt_inception-2015-12-05-6726825d.pth); default "
                                               "$AUTOGAS_INCEPTION_WEIGHTS; never downloaded")
    p.add_argument("--batch", type=int, default=8, help="images per forward pass (default 8)")
    p.add_argument("--kid-subsets", type=int, default=100, help="KID subsets (default 100)")
    p.add_argument("--kid-subset-size", type=int, default=1000,
                   help="KID subset size, capped at the smaller image set (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the KID subsets")
    p.add_argument("--device", default="auto", help="auto (CUDA if available), cpu, cuda, ...")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def check_kid_options(args) -> None:
    """``--kid-subsets`` and ``--kid-subset-size`` must be >= 1 (a size above the image count is capped)."""
    from autogas.errors import AutogasError

    for option, value in (("--kid-subsets", args.kid_subsets), ("--kid-subset-size", args.kid_subset_size)):
        if value < 1:
            raise AutogasError(f"{option} must be >= 1, got {value}")


def run(args) -> int:
    from autogas.atomic import check_output
    from autogas.errors import AutogasError
    from autogas.train.evaluate import EvalSettings, evaluate_run, format_report
    from autogas.train.metrics import load_inception
    from autogas.measure.device import resolve_device

    if args.batch < 1:
        raise AutogasError(f"--batch must be >= 1, got {args.batch}")
    check_kid_options(args)
    if args.out is not None:
        check_output(args.out, directory=True)
    extractor = load_inception(args.inception_weights, device=resolve_device(args.device))
    settings = EvalSettings(batch_size=args.batch, kid_subsets=args.kid_subsets,
                            kid_subset_size=args.kid_subset_size, seed=args.seed)
    result = evaluate_run(args.run, args.data, extractor, settings, out_dir=args.out, device=args.device,
                          progress=not args.no_progress)
    print(json.dumps(result, indent=2) if args.json else format_report(result))
    return 0
