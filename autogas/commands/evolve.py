"""``autogas evolve``: evolve a zero-cost proxy on feature caches (the paper's Algorithm 1).

Several ``--bench`` files may be given: labelled ones are fitness benches (each with its own
seeded validation/test split; ``--combine`` joins their validation taus), unlabelled ones are
constraints (see :mod:`autogas.evolve.benches` and :mod:`autogas.evolve.fitness`). Only
activation-reading proxies are accepted unless ``--allow-shape-only``
(:mod:`autogas.evolve.activation`). Writes ``--out`` (the proxy JSON with per-bench scores) and
``<out>.png`` (fitness per generation, final proxy against the labels of each labelled bench).
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from autogas.errors import AutogasError


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "evolve", help="evolve a proxy on feature caches (Kendall tau on validation splits)")
    p.add_argument("--bench", "--cache", dest="benches", action="append", required=True,
                   metavar="H5", help="feature cache (HDF5) built by 'autogas bench build' "
                   "(repeatable: labelled caches are fitness benches, unlabelled ones constraints)")
    p.add_argument("--out", required=True, help="output proxy JSON file (with its scores)")
    p.add_argument("--population", type=int, default=20, help="candidates per generation (P)")
    p.add_argument("--generations", type=int, default=100, help="generations after the first (T)")
    p.add_argument("--topk", type=int, default=5, help="parents kept per generation (k)")
    p.add_argument("--val-size", type=int, action="append", metavar="N",
                   help="validation archs of each labelled bench (default 50; once for all, or "
                        "once per labelled bench in --bench order)")
    p.add_argument("--combine", choices=("min", "mean"), default="min",
                   help="fitness from the labelled benches' validation taus")
    p.add_argument("--constraint-size", type=int, default=50, metavar="N",
                   help="archs of each unlabelled (constraint) bench evaluated per candidate")
    p.add_argument("--max-nan-share", type=float, default=0.03, metavar="SHARE",
                   help="largest share of a bench's archs on which a proxy may be NaN "
                        "(those archs are ranked last)")
    p.add_argument("--allow-shape-only", action="store_true",
                   help="accept proxies that do not read the activations (research)")
    p.add_argument("--seed", type=int, default=0, help="seed of the split and of the search")
    p.add_argument("--ratio", type=float, default=0.9,
                   help="share of the pool bred from the top-k; the rest are random immigrants")
    p.add_argument("--language", default="full",
                   help="'full', 'paper' or 'paper+norm+agg+combine+stats' (any subset)")
    p.add_argument("--init", action="append", default=[], metavar="PROXY",
                   help="proxy text or JSON file joining the initial pool (repeatable)")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                   help="local worker processes for the fitness (1 = in this process; default: "
                        f"every core of this machine, os.cpu_count() = {os.cpu_count() or 1})")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="evaluate on a Dask distributed cluster instead (e.g. tcp://host:8786)")
    p.add_argument("--checkpoint", help="state saved after every generation "
                                        "(default: <out>.checkpoint.json)")
    p.add_argument("--resume", action="store_true",
                   help="continue from the checkpoint (an error if there is none)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an existing --out (without it an existing --out is refused)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args) -> int:
    from autogas.atomic import check_output, write_text_atomic
    from autogas.evolve import EvolutionSettings, evolve, make_map, search_report
    from autogas.proxy import load_proxy

    val_size = tuple(args.val_size or (50,))
    settings = EvolutionSettings(
        population=args.population, generations=args.generations, topk=args.topk,
        val_size=val_size[0] if len(val_size) == 1 else val_size, seed=args.seed,
        ratio=args.ratio, language=args.language, combine=args.combine,
        constraint_size=args.constraint_size, max_nan_share=args.max_nan_share,
        allow_shape_only=args.allow_shape_only,
    ).check()
    init = [load_proxy(p) for p in args.init]
    if args.workers < 1:
        raise AutogasError(f"--workers must be >= 1, got {args.workers}")
    out = check_output(args.out, refuse_existing=not (args.resume or args.overwrite),
                       existing_hint="--resume to continue its checkpoint, --overwrite to replace it,")
    checkpoint = Path(args.checkpoint) if args.checkpoint else out.with_name(
        out.name + ".checkpoint.json")
    check_output(checkpoint, option="--checkpoint")
    if args.resume and not checkpoint.exists():
        raise AutogasError(f"--resume: no checkpoint {checkpoint} to continue (run without --resume "
                           "to start a search)")
    with make_map(args.workers, args.scheduler) as fmap:
        result = evolve(args.benches, settings, init=init, fitness_map=fmap,
                        checkpoint=checkpoint, resume=args.resume, progress=not args.quiet)
    report = search_report(result, command=" ".join(["autogas"] + sys.argv[1:]))
    try:
        write_text_atomic(out, json.dumps(report, indent=2) + "\n")
    except OSError as err:
        raise AutogasError(f"cannot write {out}: {err.strerror or err}") from None
    from autogas.evolve.plot import plot_search
    from autogas.score import describe_scores

    picture = plot_search(result, report, out.with_name(out.stem + ".png"))
    for name, bench in report["benches"].items():
        splits = ("val", "test") if bench["role"] == "labelled" else ("all",)
        for split in splits:
            where = f"{name} {split}"
            print(f"{where:>16}: {describe_scores(bench[split])}")
    print(f"best: {report['proxy']}  ({report['evaluations']} evaluations, "
          f"{report['evals_per_second']} evals/s) -> {out}, {picture}")
    return 0
