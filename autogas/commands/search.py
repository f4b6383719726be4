"""``autogas search``: training-free evolutionary search of CycleGAN's four networks.

A thin layer over :mod:`autogas.search.cyclegan` (which documents the four searches): ``G_A`` /
``G_B`` under the generator budget (``--budget-macs``, ``--budget-params``), scored on the
images of ``--images-a`` / ``--images-b`` (by default two disjoint halves of the packaged
photos); ``D_A`` / ``D_B`` in the CycleGANAS discriminator space under ``--d-budget-macs`` /
``--d-budget-params`` if given (GAN-Compression's discriminators are the standard PatchGAN,
not searched). The result, ``--out`` (written atomically), holds per network the best
architecture, its score, params and MACs, the top of the final population and the
per-generation history, plus ``train_args`` to retrain the four networks with ``autogas train``.
"""
from __future__ import annotations

import json

from autogas.commands.rank import add_space_arguments, check_batch
from autogas.search.budget import parse_amount


def register(subparsers) -> None:
    p = subparsers.add_parser("search", help="training-free evolutionary search of G_A, G_B, D_A, D_B")
    add_space_arguments(p)
    p.add_argument("--budget-macs", required=True,
                   help="generator MAC budget, in GMACs or with a suffix (2600M)")
    p.add_argument("--budget-params", help="generator parameter budget, in millions or with a suffix")
    p.add_argument("--d-budget-macs", help="discriminator MAC budget (cyclegan), in GMACs")
    p.add_argument("--d-budget-params", help="discriminator parameter budget (cyclegan), in millions")
    p.add_argument("--population", type=int, default=32)
    p.add_argument("--generations", type=int, default=16)
    p.add_argument("--mutation-rate", type=float, default=0.2, help="per-gene mutation probability")
    p.add_argument("--images-a", help="folder of domain A images (default: packaged photos 1-4)")
    p.add_argument("--images-b", help="folder of domain B images (default: packaged photos 5-7)")
    p.add_argument("--out", required=True, help="result JSON")
    p.set_defaults(func=run)


def budget_options(args) -> dict[str, float | None]:
    """The four budget options as raw counts (keyword arguments of ``plan_network_search``)."""
    return {"budget_macs": parse_amount(args.budget_macs, 1e9, "--budget-macs"),
            "budget_params": parse_amount(args.budget_params, 1e6, "--budget-params"),
            "d_budget_macs": parse_amount(args.d_budget_macs, 1e9, "--d-budget-macs"),
            "d_budget_params": parse_amount(args.d_budget_params, 1e6, "--d-budget-params")}


def run(args) -> int:
    from autogas.atomic import write_text_atomic
    from autogas.search.cyclegan import plan_network_search, summary_lines
    from autogas.search.genetic import ArchSearchSettings

    check_batch(args)
    search = plan_network_search(
        args.space, args.proxy, **budget_options(args), cost_resolution=args.cost_resolution,
        settings=ArchSearchSettings(population=args.population, generations=args.generations,
                                   mutation_rate=args.mutation_rate),
        images_a=args.images_a, images_b=args.images_b, hidden=args.hidden, n_cells=args.n_cells,
        config_set=args.config_set, resolution=args.resolution, batch=args.batch, seed=args.seed,
        device=args.device)
    report = search.run()
    write_text_atomic(args.out, json.dumps(report, indent=2) + "\n")
    print("\n".join(summary_lines(report)))
    print(f"-> {args.out}")
    return 0
