"""``autogas rank``: score sampled or listed architectures with a proxy and write a ranked CSV.

Candidates are ``--n`` distinct uniform draws (seeded) or the architecture strings of
``--archs FILE`` (one per line; blank lines and ``#`` comments ignored). Those over
``--max-params`` / ``--max-macs`` (counted at ``--cost-resolution``, default 256) are dropped,
the rest are scored and ranked by :func:`autogas.search.ranking.rank_candidates` (resumable
CSV, see there).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from autogas.errors import AutogasError


# --- arguments shared with ``autogas search`` -------------------------------------------
def add_space_arguments(p: argparse.ArgumentParser) -> None:
    """``--space``, its options, ``--proxy`` and the scoring settings."""
    p.add_argument("--space", required=True, help="cyclegan or gan-compression")
    p.add_argument("--proxy", required=True, help="proxy JSON file (e.g. proxies/autogas_paper.json), "
                   "proxy text, or a baseline name (nwot, synflow, ...); not rank/z combinations")
    p.add_argument("--hidden", type=int, default=None, help="cyclegan: hidden width H (default 64)")
    p.add_argument("--n-cells", type=int, default=None, help="cyclegan: generator cells (default 11)")
    p.add_argument("--config-set", default=None,
                   help="gan-compression: channel candidate set (default channels-32)")
    p.add_argument("--resolution", type=int, default=128, help="input side in pixels for scoring")
    p.add_argument("--batch", type=int, default=8, help="images in the fixed input batch")
    p.add_argument("--seed", type=int, default=0, help="seed of sampling, inputs and weight init")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")
    p.add_argument("--cost-resolution", type=int, default=256,
                   help="input side at which MACs are counted for budgets and the CSV")


def space_from_args(args, part: str = "generator"):
    """The search space (``part`` of it for cyclegan) named by the arguments."""
    from autogas.search.scorer import open_space

    return open_space(args.space, part=part, n_cells=args.n_cells, hidden=args.hidden,
                      config_set=args.config_set)


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (Linux ``MemAvailable``), else ``None``."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def check_batch(args) -> None:
    """``--batch`` and ``--resolution`` must be positive, ``--cost-resolution`` too, and the
    scoring must fit in memory: the fixed input batch (``batch x 3 x R x R`` float32) and every
    network's output, of the same size, are a lower bound on what scoring allocates, checked
    against the available memory before any work (each space checks its resolution step)."""
    if args.batch < 1:
        raise AutogasError(f"--batch must be >= 1, got {args.batch}")
    for option, value in (("--resolution", args.resolution), ("--cost-resolution", args.cost_resolution)):
        if value < 1:
            raise AutogasError(f"{option} must be >= 1, got {value}")
    check_input_memory(args.batch, args.resolution)


def check_input_memory(batch: int, resolution: int) -> None:
    """:class:`AutogasError` unless the input batch and one output of its size, ``2 x batch x 3 x
    R x R`` float32 values (a lower bound on a forward pass), fit in the available memory."""
    need = 2 * batch * 3 * resolution ** 2 * 4
    free = available_memory()
    if free is not None and need > free:
        raise AutogasError(f"--batch {batch} at --resolution {resolution} needs at least "
                           f"{need:,} bytes of memory, {free:,} are available")


# --- the command --------------------------------------------------------------------------
def register(subparsers) -> None:
    p = subparsers.add_parser("rank", help="rank sampled or listed architectures by a proxy (CSV)")
    add_space_arguments(p)
    source = p.add_mutually_exclusive_group()
    source.add_argument("--n", type=int, default=None, help="distinct random candidates (default 100)")
    source.add_argument("--archs", help="file of architecture strings, one per line")
    p.add_argument("--max-params", help="parameter budget, in millions or with a suffix (400K)")
    p.add_argument("--max-macs", help="MAC budget, in GMACs or with a suffix (2600M)")
    p.add_argument("--images", help="folder of input images (default: the packaged photos)")
    p.add_argument("--out", required=True, help="ranked CSV (resumed if it exists)")
    p.set_defaults(func=run)


def run(args) -> int:
    import math

    from autogas.measure.inputs import input_batch
    from autogas.search.budget import parse_budget
    from autogas.search.ranking import candidate_archs, format_top, rank_candidates
    from autogas.search.scorer import GeneratorScorer, resolve_proxy

    from autogas.atomic import check_output

    check_output(args.out)
    check_batch(args)
    space = space_from_args(args)
    proxy = resolve_proxy(args.proxy)
    space.check_resolution(args.resolution)
    budget = parse_budget(args.max_params, args.max_macs, args.cost_resolution)
    candidates = candidate_archs(space, archs=args.archs, n=100 if args.n is None else args.n, seed=args.seed)
    inputs = input_batch(args.images or "images", args.batch, args.resolution, args.seed)
    scorer = GeneratorScorer(space, proxy, inputs, seed=args.seed, device=args.device)
    ranked, summary = rank_candidates(scorer, candidates, budget, args.out, images=args.images)
    print(format_top(ranked))
    invalid = sum(not math.isfinite(r["score"]) for r in ranked)
    elapsed = summary["scoring_seconds"]
    print(f"{len(ranked)} ranked ({summary['scored']} scored now, {summary['resumed']} resumed, "
          f"{summary['over_budget']} over budget dropped"
          + (f", {invalid} with an invalid score" if invalid else "")
          + f") -> {args.out}" + (f"  [{summary['scored'] / elapsed:.2f} archs/s on {scorer.device}]"
                                  if summary['scored'] and elapsed > 0 else ""))
    return 0
