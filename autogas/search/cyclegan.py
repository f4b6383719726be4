"""Training-free evolutionary search of CycleGAN's four networks (the API of ``autogas search``).

Four searches run one after the other (:func:`autogas.search.genetic.evolve_archs`, the proxy as
fitness, over-budget children redrawn, never kept):

* ``G_A`` (A -> B) scored on domain A's input batch, ``G_B`` (B -> A) on domain B's, under the
  generator budget. The batches come from one image folder per domain, by default two
  disjoint halves of the packaged photos (:func:`autogas.search.scorer.domain_batches`), so the two
  directions can end up different;
* ``D_A`` (judges domain A) and ``D_B`` in the CycleGANAS discriminator space with the same
  proxy on real images of their own domain (as Auto-GAS searches discriminators), under the
  discriminator budget if one is given. GAN-Compression searches the generator only: its
  discriminators are reported as the standard PatchGAN, not searched.

Each search uses its own random stream ``(seed, role)``; the same architecture gets the same
weights in every role. The result (:meth:`NetworkSearch.run`) holds per network the best
architecture, its score, params and MACs, the top of the final population and the
per-generation history, plus ``train_args`` to retrain the four networks with ``autogas train``.

:func:`plan_network_search` checks every setting (space, proxy, budgets, image folders) and
loads the input batches before any network is scored, so a caller can fail fast.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any

import torch

from autogas.measure.device import resolve_device
from autogas.search.budget import Budget, BudgetedSpace, format_count
from autogas.search.genetic import ArchSearchSettings, evolve_archs
from autogas.errors import AutogasError
from autogas.search.scorer import (
    GeneratorScorer, ProxyScorer, domain_batches, open_space, proxy_name, resolve_proxy,
)
from autogas.spaces import SearchSpace
from autogas.spaces.networks import network_spec

ROLES = (("G_A", "generator", "A"), ("G_B", "generator", "B"),
         ("D_A", "discriminator", "A"), ("D_B", "discriminator", "B"))
TOP = 5


def _candidate_json(space: SearchSpace, candidate) -> dict[str, Any]:
    score = candidate.score if math.isfinite(candidate.score) else None
    return {"arch": space.to_string(candidate.arch), "score": score,
            "params": candidate.cost.params, "macs": candidate.cost.macs}


def _network_json(space: SearchSpace, budgeted: BudgetedSpace, result, inputs: str) -> dict[str, Any]:
    arch = result.best.arch
    return {"searched": True, **_candidate_json(space, result.best),
            "network": f"{space.name}:{space.to_string(arch)}", "json": space.to_json(arch),
            "inputs": inputs, "budget": budgeted.budget.describe(), "evaluations": result.evaluations,
            "top": [_candidate_json(space, c) for c in result.population[:TOP]],
            "history": result.history}


def _patchgan_json(cost_resolution: int) -> dict[str, Any]:
    cost = network_spec("patchgan").cost(cost_resolution)
    return {"searched": False, "arch": "patchgan", "network": "patchgan", "params": cost["params"],
            "macs": cost["macs"], "note": "GAN Compression searches the generator only; the "
            "standard 70x70 PatchGAN (ndf 64) is used, not searched"}


def _describe_inputs(folder: str | None, domain: str) -> str:
    if folder:
        return f"folder {folder}"
    return ("packaged photos astronaut, chelsea, coffee, rocket" if domain == "A"
            else "packaged photos retina, hubble_deep_field, ihc")


@dataclasses.dataclass(frozen=True)
class NetworkSearchSettings:
    """Everything that defines a search of ``G_A, G_B, D_A, D_B`` (:func:`plan_network_search`).

    ``space`` is ``cyclegan`` or ``gan-compression``; ``proxy`` is what
    :func:`autogas.search.scorer.resolve_proxy` takes (a proxy file, text or baseline name, a
    :class:`~autogas.proxy.ProxyGraph`, a baseline or a callable). Budgets are raw counts (MACs
    counted at ``cost_resolution``); ``None`` means no limit; the ``d_budget_*`` apply to the
    CycleGANAS discriminators and are an error for gan-compression. ``evolution`` sizes the
    evolutionary search. ``images_a`` / ``images_b`` are folders of each domain's images (default:
    packaged photos), of which the proxy sees a ``batch`` of images at ``resolution``. ``hidden``
    and ``n_cells`` (cyclegan: width H and generator cells, default 64 and 11) or ``config_set``
    (gan-compression, default channels-32) shape the space. Every random choice derives from
    ``seed``. Nothing is checked on construction; :func:`plan_network_search` checks it all.
    """

    space: str
    proxy: Any
    budget_macs: float | None = None
    budget_params: float | None = None
    d_budget_macs: float | None = None
    d_budget_params: float | None = None
    cost_resolution: int = 256
    evolution: ArchSearchSettings = ArchSearchSettings()
    images_a: str | None = None
    images_b: str | None = None
    hidden: int | None = None
    n_cells: int | None = None
    config_set: str | None = None
    resolution: int = 128
    batch: int = 8
    seed: int = 0


@dataclasses.dataclass
class NetworkSearch:
    """A checked search of ``G_A, G_B, D_A, D_B``, ready to :meth:`run` (see the module doc):
    its ``settings``, the resolved ``proxy``, the spaces and budgets per part, and the input
    batches and their descriptions per domain."""

    settings: NetworkSearchSettings
    proxy: ProxyScorer
    spaces: dict[str, SearchSpace]
    budgeted: dict[str, BudgetedSpace]
    batches: dict[str, torch.Tensor]
    inputs: dict[str, str]
    device: torch.device

    def run(self, *, progress: bool = True) -> dict[str, Any]:
        """Run the four searches; returns the report (JSON-serializable)."""
        settings = self.settings
        networks: dict[str, Any] = {}
        for index, (role, part, domain) in enumerate(ROLES):
            if part not in self.spaces:
                networks[role] = _patchgan_json(settings.cost_resolution)
                continue
            space = self.spaces[part]
            scorer = GeneratorScorer(space, self.proxy, self.batches[domain], seed=settings.seed,
                                     device=self.device)
            result = evolve_archs(self.budgeted[part], lambda arch: scorer.score(arch).score, settings.evolution,
                                  [settings.seed, index], progress=progress, desc=f"search {role}")
            if not math.isfinite(result.best.score):
                raise AutogasError(f"proxy {proxy_name(self.proxy)} gives no valid score on any {part} "
                                   f"tried for {role}; use another proxy")
            networks[role] = _network_json(space, self.budgeted[part], result, self.inputs[domain])
        generator = self.spaces["generator"]
        evolution = settings.evolution
        return {
            "space": generator.name, "proxy": proxy_name(self.proxy), "seed": settings.seed,
            "hidden": getattr(generator, "hidden", None), "config_set": getattr(generator, "config_set", None),
            "settings": {"population": evolution.population, "generations": evolution.generations,
                         "parents": evolution.n_parents, "mutation_rate": evolution.mutation_rate,
                         "resolution": settings.resolution, "batch": settings.batch,
                         "cost_resolution": settings.cost_resolution, "device": str(self.device)},
            "networks": networks,
            "train_args": {"arch_a": networks["G_A"]["network"], "arch_b": networks["G_B"]["network"],
                           "disc_a": networks["D_A"]["network"], "disc_b": networks["D_B"]["network"]},
        }


def plan_network_search(settings: NetworkSearchSettings, *, device: str | torch.device = "auto") -> NetworkSearch:
    """Check ``settings`` and load the input batches (nothing is scored yet).

    Raises :class:`AutogasError` for any bad setting (a batch or resolution too small too), or a
    budget no architecture meets.
    """
    s = settings
    torch_device = resolve_device(device)
    spaces = {"generator": open_space(s.space, n_cells=s.n_cells, hidden=s.hidden, config_set=s.config_set)}
    if s.space == "cyclegan":
        spaces["discriminator"] = open_space(s.space, part="discriminator", n_cells=s.n_cells, hidden=s.hidden)
    elif s.d_budget_macs is not None or s.d_budget_params is not None:
        raise AutogasError("gan-compression: the discriminator is not searched, so --d-budget-* "
                           "do not apply")
    scorer_proxy = resolve_proxy(s.proxy)
    budgets = {"generator": Budget(s.budget_params, s.budget_macs, s.cost_resolution),
               "discriminator": Budget(s.d_budget_params, s.d_budget_macs, s.cost_resolution)}
    budgeted = {part: BudgetedSpace(space_, budgets[part]) for part, space_ in spaces.items()}
    for part, space_ in spaces.items():
        space_.check_resolution(s.resolution)
        budgeted[part].check_feasible()
    batches = dict(zip("AB", domain_batches(s.images_a, s.images_b, batch=s.batch, resolution=s.resolution,
                                            seed=s.seed)))
    inputs = {"A": _describe_inputs(s.images_a, "A"), "B": _describe_inputs(s.images_b, "B")}
    return NetworkSearch(settings, scorer_proxy, spaces, budgeted, batches, inputs, torch_device)


def summary_lines(report: dict[str, Any]) -> list[str]:
    """One line per network of a search report: architecture, score, params and MACs."""
    lines = []
    for role, _, _ in ROLES:
        net = report["networks"][role]
        score = "not searched" if not net["searched"] else f"score {net['score']:.6g}"
        lines.append(f"{role}: {net['arch']}  ({score}, {format_count(net['params'])} params, "
                     f"{format_count(net['macs'])} MACs)")
    return lines
