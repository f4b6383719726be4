"""``autogas evolve``: evolve a zero-cost proxy on a feature cache (the paper's Algorithm 1)."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from autogas.errors import AutogasError


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "evolve", help="evolve a proxy on a feature cache (Kendall tau on a validation split)")
    p.add_argument("--bench", required=True, help="feature cache (HDF5) built by 'autogas bench build'")
    p.add_argument("--out", required=True, help="output proxy JSON file (with its scores)")
    p.add_argument("--population", type=int, default=20, help="candidates per generation (P)")
    p.add_argument("--generations", type=int, default=100, help="generations after the first (T)")
    p.add_argument("--topk", type=int, default=5, help="parents kept per generation (k)")
    p.add_argument("--val-size", type=int, default=50, help="validation archs for the fitness")
    p.add_argument("--seed", type=int, default=0, help="seed of the split and of the search")
    p.add_argument("--ratio", type=float, default=0.9,
                   help="share of the pool bred from the top-k; the rest are random immigrants")
    p.add_argument("--language", default="full",
                   help="'full', 'paper' or 'paper+norm+agg+combine+stats' (any subset)")
    p.add_argument("--init", action="append", default=[], metavar="PROXY",
                   help="proxy text or JSON file joining the initial pool (repeatable)")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                   help="local worker processes for the fitness (1 = in this process)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="evaluate on a Dask distributed cluster instead (e.g. tcp://host:8786)")
    p.add_argument("--checkpoint", help="state saved after every generation "
                                        "(default: <out>.checkpoint.json)")
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args) -> int:
    from autogas.atomic import write_text_atomic
    from autogas.evolve import EvolutionSettings, evolve, make_map, search_report
    from autogas.proxy import load_proxy

    settings = EvolutionSettings(
        population=args.population, generations=args.generations, topk=args.topk,
        val_size=args.val_size, seed=args.seed, ratio=args.ratio, language=args.language,
    ).check()
    init = [load_proxy(p) for p in args.init]
    out = Path(args.out)
    if out.is_dir():
        raise AutogasError(f"--out {out} is a directory")
    checkpoint = Path(args.checkpoint) if args.checkpoint else out.with_name(
        out.name + ".checkpoint.json")
    with make_map(args.workers, args.scheduler) as fmap:
        result = evolve(args.bench, settings, init=init, fitness_map=fmap,
                        checkpoint=checkpoint, resume=args.resume, progress=not args.quiet)
    report = search_report(result, args.bench,
                           command=" ".join(["autogas"] + sys.argv[1:]))
    try:
        write_text_atomic(out, json.dumps(report, indent=2) + "\n")
    except OSError as err:
        raise AutogasError(f"cannot write {out}: {err.strerror or err}") from None
    scores = report["scores"]
    for split in ("val", "test"):
        s = scores[split]
        if s["invalid"]:
            print(f"{split:>4}: invalid ({s.get('reason')}) on {s['n']} archs")
        else:
            print(f"{split:>4}: kendall {s['kendall']:+.4f}  spearman {s['spearman']:+.4f}  "
                  f"pearson {s['pearson']:+.4f}  (n={s['n']})")
    print(f"best: {report['proxy']}  ({report['evaluations']} evaluations, "
          f"{report['evals_per_second']} evals/s) -> {out}")
    return 0
