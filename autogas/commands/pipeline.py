"""``autogas pipeline``: search -> train -> evaluate in one command, with a markdown report.

A thin layer over :func:`autogas.pipeline.run.run_pipeline` (which documents the stages, the
files of ``--out`` and how a rerun resumes).
"""
from __future__ import annotations

from autogas.commands.search import budget_options


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "pipeline", help="search, retrain and evaluate CycleGAN networks in one run (resumable)",
        description="Training-free search of G_A, G_B, D_A, D_B under a budget, CycleGAN retraining of "
                    "the chosen networks, FID/KID on the test folders, and OUT/report.md with the "
                    "candidates, chosen architectures, loss curves (OUT/curves.png) and final scores. "
                    "Rerunning the same command skips completed stages and resumes training.")
    p.add_argument("--data", required=True, help="dataset root with trainA/, trainB/, testA/, testB/")
    p.add_argument("--out", required=True, help="run directory (search.json, train/, eval/, report.md)")
    p.add_argument("--space", help="cyclegan or gan-compression; required by --method proxy (cycleganas: cyclegan)")
    p.add_argument("--proxy", help="proxy JSON file (e.g. proxies/autogas_paper.json), "
                   "proxy text, or a baseline name (nwot, synflow, ...); required by --method proxy")
    search = p.add_argument_group("search")
    search.add_argument("--method", default="proxy", help="proxy (training-free, default) or cycleganas "
                        "(differentiable search on DATA's training images at --search-resolution)")
    search.add_argument("--budget-macs", help="generator MAC budget, in GMACs or with a suffix (2600M); "
                        "required by --method proxy")
    search.add_argument("--budget-params", help="generator parameter budget, in millions or with a suffix")
    search.add_argument("--d-budget-macs", help="discriminator MAC budget (cyclegan), in GMACs")
    search.add_argument("--d-budget-params", help="discriminator parameter budget (cyclegan), in millions")
    search.add_argument("--cost-resolution", type=int, default=256,
                        help="input side at which budgets count MACs (default 256)")
    search.add_argument("--population", type=int, default=32)
    search.add_argument("--generations", type=int, default=16)
    search.add_argument("--mutation-rate", type=float, default=0.2, help="per-gene mutation probability")
    search.add_argument("--hidden", type=int, default=None,
                        help="cyclegan: width H of the searched and retrained networks (default 64)")
    search.add_argument("--n-cells", type=int, default=None, help="cyclegan: generator cells (default 11)")
    search.add_argument("--config-set", default=None,
                        help="gan-compression: channel candidate set (default channels-32)")
    search.add_argument("--images-a", help="images the proxy sees for domain A (default DATA/trainA)")
    search.add_argument("--images-b", help="images the proxy sees for domain B (default DATA/trainB)")
    search.add_argument("--search-resolution", type=int, default=128, help="proxy input side (default 128)")
    search.add_argument("--search-batch", type=int, default=8, help="images in the proxy's batch (default 8)")
    for name, kind, text in (("--search-epochs", int, "cycleganas: search epochs (default 1)"),
                             ("--variant", str, "cycleganas: of (default), tf, th or ths"),
                             ("--search-hidden", int, "cycleganas: supernet width (default 16)"),
                             ("--mixing", str, "cycleganas: softmax (default) or gumbel")):
        search.add_argument(name, type=kind, default=None, help=text)
    train = p.add_argument_group("training")
    train.add_argument("--epochs", type=int, default=100, help="epochs at constant learning rate (default 100)")
    train.add_argument("--decay-epochs", type=int, default=100, help="epochs of linear decay (default 100)")
    train.add_argument("--resolution", type=int, default=256, help="training crop size (default 256)")
    train.add_argument("--batch", type=int, default=1, help="training batch size (default 1)")
    train.add_argument("--seed", type=int, default=0, help="seed of search, training and KID subsets")
    train.add_argument("--device", default="auto", help="auto (CUDA if available), cpu, cuda, ...")
    evaluation = p.add_argument_group("evaluation")
    evaluation.add_argument("--inception-weights", help="local Inception-v3 FID weights file "
                            "(pt_inception-2015-12-05-6726825d.pth); default $AUTOGAS_INCEPTION_WEIGHTS; "
                            "checked before the search starts")
    evaluation.add_argument("--skip-eval", action="store_true",
                            help="no FID/KID (no Inception weights needed); the report says so")
    evaluation.add_argument("--eval-batch", type=int, default=8, help="images per evaluation pass")
    evaluation.add_argument("--kid-subsets", type=int, default=100, help="KID subsets (default 100)")
    evaluation.add_argument("--kid-subset-size", type=int, default=1000,
                            help="KID subset size, capped at the smaller image set (default 1000)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def _search_settings(args):
    """The search settings of the flags: proxy search or CycleGANAS supernet search, after
    refusing the flags of the other method."""
    from autogas.errors import AutogasError
    from autogas.search.cyclegan import NetworkSearchSettings
    from autogas.search.genetic import ArchSearchSettings
    from autogas.supernet import SupernetSettings

    supernet = {name: getattr(args, name) for name in ("search_epochs", "variant", "search_hidden", "mixing")
                if getattr(args, name) is not None}
    if args.method == "proxy":
        if None in (args.space, args.proxy, args.budget_macs) or supernet:
            raise AutogasError("--method proxy needs --space, --proxy and --budget-macs and takes no "
                               "--search-epochs, --variant, --search-hidden or --mixing")
        return NetworkSearchSettings(
            args.space, args.proxy, **budget_options(args), cost_resolution=args.cost_resolution,
            evolution=ArchSearchSettings(population=args.population, generations=args.generations,
                                         mutation_rate=args.mutation_rate),
            images_a=args.images_a, images_b=args.images_b, hidden=args.hidden, n_cells=args.n_cells,
            config_set=args.config_set, resolution=args.search_resolution, batch=args.search_batch, seed=args.seed)
    if args.method != "cycleganas":
        raise AutogasError(f"unknown search method {args.method!r}; known: proxy, cycleganas")
    given = [name for name in ("proxy", "budget_macs", "budget_params", "d_budget_macs", "d_budget_params",
                               "images_a", "images_b", "config_set") if getattr(args, name) is not None]
    if given or args.space not in (None, "cyclegan"):
        flags = ", ".join(f"--{name.replace('_', '-')}" for name in given)
        raise AutogasError(f"the cycleganas search takes no {flags or 'space but cyclegan'}")
    widths = {name: getattr(args, name) for name in ("hidden", "n_cells") if getattr(args, name) is not None}
    if "search_epochs" in supernet:
        supernet["epochs"] = supernet.pop("search_epochs")
    return SupernetSettings(resolution=args.search_resolution, cost_resolution=args.cost_resolution, seed=args.seed,
                            **widths, **supernet)


def run(args) -> int:
    from autogas.atomic import check_output
    from autogas.commands.evaluate import check_kid_options
    from autogas.pipeline.run import run_pipeline
    from autogas.pipeline.settings import PipelineSettings
    from autogas.train.evaluate import EvalSettings
    from autogas.train.trainer import TrainRecipe

    check_output(args.out, directory=True)
    check_kid_options(args)
    settings = PipelineSettings(
        data=args.data, search=_search_settings(args),
        train=TrainRecipe(epochs=args.epochs, decay_epochs=args.decay_epochs, batch_size=args.batch,
                          resolution=args.resolution, seed=args.seed),
        evaluation=EvalSettings(batch_size=args.eval_batch, kid_subsets=args.kid_subsets,
                                kid_subset_size=args.kid_subset_size, seed=args.seed))
    run_pipeline(settings, args.out, inception_weights=args.inception_weights, skip_eval=args.skip_eval,
                 device=args.device, progress=not args.no_progress, log=print)
    return 0
