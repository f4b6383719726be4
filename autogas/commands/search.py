"""``autogas search``: training-free evolutionary search of CycleGAN's four networks.

A thin layer over :mod:`autogas.search.cyclegan` (which documents the four searches): ``G_A`` /
``G_B`` under the generator budget (``--budget-macs``, ``--budget-params``), scored on the
images of ``--images-a`` / ``--images-b`` (by default two disjoint halves of the packaged
photos); ``D_A`` / ``D_B`` in the CycleGANAS discriminator space under ``--d-budget-macs`` /
``--d-budget-params`` if given (GAN-Compression's discriminators are the standard PatchGAN,
not searched). The result, ``--out`` (written atomically), holds per network the best
architecture, its score, params and MACs, the top of the final population and the
per-generation history, plus ``train_args`` to retrain the four networks with ``autogas train``.

``--method cycleganas`` runs the differentiable CycleGANAS search instead (:mod:`autogas.supernet`:
supernets trained with ``autogas train``'s losses, ``--epochs``, ``--variant``, ``--search-hidden``,
``--mixing``; checkpoints in ``--run``, default ``<out>.run/``, continued by ``--resume``) and
writes a report of the same format; ``--space``, ``--proxy`` and the budgets are for ``proxy``.
"""
from __future__ import annotations

import json

from autogas.commands.rank import add_space_arguments, check_batch
from autogas.search.budget import parse_amount


def register(subparsers) -> None:
    p = subparsers.add_parser("search", help="training-free evolutionary search of G_A, G_B, D_A, D_B")
    add_space_arguments(p)
    for action in p._actions:  # required by --method proxy only (checked in run)
        if action.dest in ("space", "proxy"):
            action.required = False
    p.add_argument("--method", default="proxy", help="proxy (training-free, default) or cycleganas")
    p.add_argument("--budget-macs", help="generator MAC budget, in GMACs or with a suffix (2600M); "
                   "required by --method proxy")
    p.add_argument("--budget-params", help="generator parameter budget, in millions or with a suffix")
    p.add_argument("--d-budget-macs", help="discriminator MAC budget (cyclegan), in GMACs")
    p.add_argument("--d-budget-params", help="discriminator parameter budget (cyclegan), in millions")
    p.add_argument("--population", type=int, default=32)
    p.add_argument("--generations", type=int, default=16)
    p.add_argument("--mutation-rate", type=float, default=0.2, help="per-gene mutation probability")
    p.add_argument("--images-a", help="folder of domain A images (default: packaged photos 1-4)")
    p.add_argument("--images-b", help="folder of domain B images (default: packaged photos 5-7)")
    p.add_argument("--out", required=True, help="result JSON")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out (else refused)")
    cyc = p.add_argument_group("--method cycleganas (--hidden, --n-cells, --resolution, --seed, --device, "
                               "--cost-resolution and --out as above; batch size 1)")
    cyc.add_argument("--data", help="CycleGAN dataset root (trainA/, trainB/)")
    cyc.add_argument("--task", help="built-in task instead of --data: unsharp (the default) or photos")
    cyc.add_argument("--epochs", type=int, help="search epochs (default 1)")
    cyc.add_argument("--variant", help="of (one-step, default), tf, th or ths (two-step, paper section 4.1)")
    cyc.add_argument("--search-hidden", type=int, help="supernet width during the search (default 16)")
    cyc.add_argument("--mixing", help="softmax (paper, default) or gumbel (released code, tau 5 -> 0.1)")
    cyc.add_argument("--run", help="checkpoint folder (default <out>.run/)")
    cyc.add_argument("--resume", action="store_true", help="continue the search in --run")
    cyc.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


_SUPERNET_OPTIONS = ("variant", "epochs", "search_hidden", "mixing", "hidden", "n_cells")


def run_cycleganas(args) -> int:
    """``--method cycleganas``: the differentiable search (:func:`autogas.supernet.run_search`)."""
    from autogas.atomic import write_text_atomic
    from autogas.errors import AutogasError
    from autogas.supernet import SupernetSettings, run_search, summary_lines

    proxy_only = [flag for flag, value in (("--proxy", args.proxy), ("--budget-macs", args.budget_macs),
                                           ("--budget-params", args.budget_params),
                                           ("--d-budget-macs", args.d_budget_macs),
                                           ("--d-budget-params", args.d_budget_params),
                                           ("--images-a", args.images_a), ("--images-b", args.images_b),
                                           ("--config-set", args.config_set)) if value is not None]
    if proxy_only:
        raise AutogasError(f"{', '.join(proxy_only)} apply to --method proxy, not cycleganas")
    if args.space not in (None, "cyclegan"):
        raise AutogasError(f"--method cycleganas searches the cyclegan space, not {args.space!r}")
    given = {name: getattr(args, name) for name in _SUPERNET_OPTIONS if getattr(args, name) is not None}
    run_dir = args.run or f"{args.out}.run"
    if args.resume:
        report = run_search(None, run_dir, data=args.data, task=args.task, resume=True, device=args.device,
                            progress=not args.no_progress, expect=given)
    else:
        settings = SupernetSettings(resolution=args.resolution, seed=args.seed,
                                    cost_resolution=args.cost_resolution, **given)
        report = run_search(settings, run_dir, data=args.data, task=args.task, device=args.device,
                            progress=not args.no_progress)
    write_text_atomic(args.out, json.dumps(report, indent=2) + "\n")
    print("\n".join(summary_lines(report)))
    print(f"-> {args.out} (run: {run_dir})")
    return 0


def budget_options(args) -> dict[str, float | None]:
    """The four budget options as raw counts (fields of :class:`~autogas.search.cyclegan.NetworkSearchSettings`)."""
    return {"budget_macs": parse_amount(args.budget_macs, 1e9, "--budget-macs"),
            "budget_params": parse_amount(args.budget_params, 1e6, "--budget-params"),
            "d_budget_macs": parse_amount(args.d_budget_macs, 1e9, "--d-budget-macs"),
            "d_budget_params": parse_amount(args.d_budget_params, 1e6, "--d-budget-params")}


def run(args) -> int:
    from autogas.atomic import check_output

    check_output(args.out, refuse_existing=not (args.overwrite or getattr(args, "resume", False)),
                 existing_hint="--overwrite")  # before the search, not after it
    if args.method == "cycleganas":
        return run_cycleganas(args)
    from autogas.errors import AutogasError

    if args.method != "proxy":
        raise AutogasError(f"unknown --method {args.method!r}; known: proxy, cycleganas")
    cycleganas_only = [f"--{name.replace('_', '-')}" for name in ("data", "task", "epochs", "variant", "search_hidden",
                                                                  "mixing", "run") if getattr(args, name) is not None]
    missing = [flag for flag, value in (("--space", args.space), ("--proxy", args.proxy),
                                        ("--budget-macs", args.budget_macs)) if value is None]
    if cycleganas_only or args.resume:
        raise AutogasError(f"{', '.join(cycleganas_only) or '--resume'} apply to --method cycleganas only")
    if missing:
        raise AutogasError(f"--method proxy needs {', '.join(missing)}")
    from autogas.atomic import write_text_atomic
    from autogas.search.cyclegan import NetworkSearchSettings, plan_network_search, summary_lines
    from autogas.search.genetic import ArchSearchSettings

    check_batch(args)
    search = plan_network_search(NetworkSearchSettings(
        args.space, args.proxy, **budget_options(args), cost_resolution=args.cost_resolution,
        evolution=ArchSearchSettings(population=args.population, generations=args.generations,
                                     mutation_rate=args.mutation_rate),
        images_a=args.images_a, images_b=args.images_b, hidden=args.hidden, n_cells=args.n_cells,
        config_set=args.config_set, resolution=args.resolution, batch=args.batch, seed=args.seed),
        device=args.device)
    report = search.run()
    write_text_atomic(args.out, json.dumps(report, indent=2) + "\n")
    print("\n".join(summary_lines(report)))
    print(f"-> {args.out}")
    return 0
