"""``autogas search``: training-free evolutionary search of CycleGAN's four networks.

Four searches run one after the other (:func:`autogas.arch_search.evolve`, the proxy as
fitness, over-budget children redrawn, never kept):

* ``G_A`` (A -> B) scored on domain A's input batch, ``G_B`` (B -> A) on domain B's, under the
  generator budget (``--budget-macs``, ``--budget-params``). The batches come from
  ``--images-a`` / ``--images-b``, by default two disjoint halves of the packaged photos
  (:func:`autogas.scoring.domain_batches`), so the two directions can end up different;
* ``D_A`` (judges domain A) and ``D_B`` in the CycleGANAS discriminator space with the same
  proxy on real images of their own domain (as Auto-GAS searches discriminators), under
  ``--d-budget-macs`` / ``--d-budget-params`` if given. GAN-Compression searches the generator
  only: its discriminators are reported as the standard PatchGAN, not searched.

Each search uses its own random stream ``(seed, role)``; the same architecture gets the same
weights in every role. The result, ``--out`` (written atomically), holds per network the best
architecture, its score, params and MACs, the top of the final population and the
per-generation history, plus ``train_args`` to retrain the four networks with ``autogas train``.
"""
from __future__ import annotations

import json
import math
from typing import Any

from autogas.commands.rank import add_space_arguments, check_batch, parse_amount, space_from_args
from autogas.errors import AutogasError

ROLES = (("G_A", "generator", "A"), ("G_B", "generator", "B"),
         ("D_A", "discriminator", "A"), ("D_B", "discriminator", "B"))
TOP = 5


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


def _candidate_json(space, candidate) -> dict[str, Any]:
    score = candidate.score if math.isfinite(candidate.score) else None
    return {"arch": space.to_string(candidate.arch), "score": score,
            "params": candidate.cost.params, "macs": candidate.cost.macs}


def _network_json(space, budgeted, result, inputs: str) -> dict[str, Any]:
    arch = result.best.arch
    return {"searched": True, **_candidate_json(space, result.best),
            "network": f"{space.name}:{space.to_string(arch)}", "json": space.to_json(arch),
            "inputs": inputs, "budget": budgeted.budget.describe(), "evaluations": result.evaluations,
            "top": [_candidate_json(space, c) for c in result.population[:TOP]],
            "history": result.history}


def _patchgan_json(cost_resolution: int) -> dict[str, Any]:
    from autogas.train.networks import resolve_network

    cost = resolve_network("patchgan", part="discriminator").cost(cost_resolution)
    return {"searched": False, "arch": "patchgan", "network": "patchgan", "params": cost["params"],
            "macs": cost["macs"], "note": "GAN Compression searches the generator only; the "
            "standard 70x70 PatchGAN (ndf 64) is used, not searched"}


def _describe_inputs(folder: str | None, domain: str) -> str:
    if folder:
        return f"folder {folder}"
    return ("packaged photos astronaut, chelsea, coffee, rocket" if domain == "A"
            else "packaged photos retina, hubble_deep_field, ihc")


def run(args) -> int:
    from autogas.arch_search import Budget, BudgetedSpace, EvolutionSettings, evolve, format_count
    from autogas.atomic import write_text_atomic
    from autogas.scoring import GeneratorScorer, domain_batches, proxy_name, resolve_device, resolve_proxy

    check_batch(args)
    device = resolve_device(args.device)
    spaces = {"generator": space_from_args(args)}
    if args.space == "cyclegan":
        spaces["discriminator"] = space_from_args(args, part="discriminator")
    elif args.d_budget_macs or args.d_budget_params:
        raise AutogasError("gan-compression: the discriminator is not searched, so --d-budget-* "
                           "do not apply")
    proxy = resolve_proxy(args.proxy)
    settings = EvolutionSettings(population=args.population, generations=args.generations,
                                 mutation_rate=args.mutation_rate)
    budgets = {
        "generator": Budget(parse_amount(args.budget_params, 1e6, "--budget-params"),
                            parse_amount(args.budget_macs, 1e9, "--budget-macs"), args.cost_resolution),
        "discriminator": Budget(parse_amount(args.d_budget_params, 1e6, "--d-budget-params"),
                                parse_amount(args.d_budget_macs, 1e9, "--d-budget-macs"),
                                args.cost_resolution),
    }
    budgeted = {part: BudgetedSpace(space, budgets[part]) for part, space in spaces.items()}
    for part, space in spaces.items():
        space.check_resolution(args.resolution)
        budgeted[part].check_feasible()
    batches = dict(zip("AB", domain_batches(args.images_a, args.images_b, batch=args.batch,
                                            resolution=args.resolution, seed=args.seed)))
    folders = {"A": args.images_a, "B": args.images_b}

    networks: dict[str, Any] = {}
    for index, (role, part, domain) in enumerate(ROLES):
        if part not in spaces:
            networks[role] = _patchgan_json(args.cost_resolution)
            continue
        space = spaces[part]
        scorer = GeneratorScorer(space, proxy, batches[domain], seed=args.seed, device=device)
        result = evolve(budgeted[part], lambda arch: scorer.score(arch).score, settings,
                        [args.seed, index], desc=f"search {role}")
        if not math.isfinite(result.best.score):
            raise AutogasError(f"proxy {proxy_name(proxy)} gives no valid score on any {part} tried "
                               f"for {role}; use another proxy")
        networks[role] = _network_json(space, budgeted[part], result,
                                       _describe_inputs(folders[domain], domain))

    generator = spaces["generator"]
    report = {
        "space": generator.name, "proxy": proxy_name(proxy), "seed": args.seed,
        "hidden": getattr(generator, "hidden", None), "config_set": getattr(generator, "config_set", None),
        "settings": {"population": settings.population, "generations": settings.generations,
                     "parents": settings.n_parents, "mutation_rate": settings.mutation_rate,
                     "resolution": args.resolution, "batch": args.batch,
                     "cost_resolution": args.cost_resolution, "device": str(device)},
        "networks": networks,
        "train_args": {"arch_a": networks["G_A"]["network"], "arch_b": networks["G_B"]["network"],
                       "disc_a": networks["D_A"]["network"], "disc_b": networks["D_B"]["network"]},
    }
    write_text_atomic(args.out, json.dumps(report, indent=2) + "\n")
    for role, _, _ in ROLES:
        net = networks[role]
        score = "not searched" if not net["searched"] else f"score {net['score']:.6g}"
        print(f"{role}: {net['arch']}  ({score}, {format_count(net['params'])} params, "
              f"{format_count(net['macs'])} MACs)")
    print(f"-> {args.out}")
    return 0
