"""Evolutionary search: budgets, cheapest architecture, determinism, elitism, the search CLI."""
import json
import math

import numpy as np
import pytest

from autogas.search.budget import Budget, BudgetedSpace, sample_distinct
from autogas.search.genetic import ArchSearchSettings, Candidate, evolve_archs, fitness_key
from autogas.measure.seeds import init_seed
from autogas.cli import main
from autogas.errors import AutogasError
from autogas.measure.features import collect_features
from autogas.proxy import ProxyGraph, evaluate_proxy
from autogas.search.scorer import domain_batches, open_space
from autogas.spaces import ArchCost

PAPER = "square(slogdet(ksum(gram(above_mean(swish(F))))))"


@pytest.fixture(scope="module")
def gc_space():
    return open_space("gan-compression")


def test_cheapest_architecture_by_hand(gc_space):
    budgeted = BudgetedSpace(gc_space, Budget(max_macs=3e9))
    assert budgeted.cheapest() == (16,) * 8  # every cost grows with every width
    disc = BudgetedSpace(open_space("cyclegan", part="discriminator", hidden=8), Budget(max_params=1e6))
    assert disc.cheapest() == (0, 0, 0, 0)  # max-pool + 1x1 conv in every op (ties go to gene 0)
    with pytest.raises(AutogasError, match="cheapest, 16_16_16_16_16_16_16_16"):
        BudgetedSpace(gc_space, Budget(max_macs=1e9)).check_feasible()


def test_budget_checks():
    cost = ArchCost(params=100, macs=1000, resolution=256)
    assert Budget(max_params=100, max_macs=1000).admits(cost)
    assert not Budget(max_params=99).admits(cost) and not Budget(max_macs=999).admits(cost)
    assert Budget(max_params=200, max_macs=4000).load(cost) == pytest.approx(0.75)
    with pytest.raises(AutogasError):
        Budget(max_macs=-1)


def test_repair_and_sample_stay_within_budget(gc_space):
    budget = Budget(max_macs=1.6e9)  # just above the all-16 generator (1.42G)
    budgeted = BudgetedSpace(gc_space, budget)
    rng = np.random.default_rng(0)
    assert budgeted.fits(budgeted.repair((32,) * 8, rng))
    for _ in range(3):
        assert budget.admits(gc_space.cost(budgeted.sample(rng, max_redraws=2)))


def test_fitness_order_puts_nan_last():
    cost = ArchCost(1, 1, 256)
    cands = [Candidate((2,), math.nan, cost), Candidate((1,), 1.0, cost), Candidate((0,), 1.0, cost),
             Candidate((3,), 5.0, cost)]
    assert [c.arch for c in sorted(cands, key=fitness_key)] == [(3,), (0,), (1,), (2,)]


def _synthetic_search(budgeted, seed, settings=ArchSearchSettings(population=6, generations=3)):
    seen = []

    def fitness(arch):  # the highest op indices win: mostly the big kernels, against the budget
        seen.append(arch)
        return float(sum(arch))

    return evolve_archs(budgeted, fitness, settings, seed, progress=False), seen


def test_evolve_respects_budget_is_elitist_and_deterministic():
    budget = Budget(max_params=4000, max_macs=5e6)
    disc = open_space("cyclegan", part="discriminator", hidden=8)
    budgeted = BudgetedSpace(disc, budget)  # shared: its cost memo makes reruns cheap
    result, seen = _synthetic_search(budgeted, 7)
    assert seen and len(seen) == len(set(seen)) == result.evaluations <= 6 * 4
    assert all(budget.admits(budgeted.cost(a)) for a in seen)  # never scored over budget
    assert all(budget.admits(c.cost) for c in result.population)
    bests = [h["best"] for h in result.history]
    assert bests == sorted(bests) and len(bests) == 4
    assert result.best.score == max(sum(a) for a in seen)
    assert not budgeted.fits((7, 7, 7, 7)) and result.best.score < 28  # the budget binds
    again, seen_again = _synthetic_search(budgeted, 7)
    assert seen_again == seen and again.history == result.history
    _, seen_other = _synthetic_search(budgeted, 8)
    assert seen_other != seen


def test_sample_distinct_covers_small_spaces():
    disc = open_space("cyclegan", part="discriminator", hidden=8)
    archs = sample_distinct(disc, 20, np.random.default_rng(0))
    assert len(set(archs)) == 20
    assert sample_distinct(disc, 20, np.random.default_rng(0)) == archs
    assert len(sample_distinct(disc, 10 ** 6, np.random.default_rng(0))) == disc.size() == 8 ** 4


TINY = ["--space", "cyclegan", "--n-cells", "3", "--hidden", "8", "--resolution", "32", "--batch", "2",
        "--population", "3", "--generations", "1", "--proxy", PAPER]


@pytest.fixture(scope="module")
def search_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("search") / "best.json"
    assert main(["search", *TINY, "--budget-macs", "0.06", "--d-budget-params", "0.005",
                 "--out", str(out)]) == 0
    return out, json.loads(out.read_text())


def test_search_report(search_report):
    _, report = search_report
    nets = report["networks"]
    assert set(nets) == {"G_A", "G_B", "D_A", "D_B"} and report["hidden"] == 8
    gen = open_space("cyclegan", n_cells=3, hidden=8)
    disc = open_space("cyclegan", part="discriminator", hidden=8)
    for role in ("G_A", "G_B"):
        assert nets[role]["macs"] <= 0.06e9
        assert all(c["macs"] <= 0.06e9 for c in nets[role]["top"])
        assert gen.cost(gen.parse(nets[role]["arch"])).macs == nets[role]["macs"]
        assert nets[role]["network"] == f"cyclegan:{nets[role]['arch']}"
    for role in ("D_A", "D_B"):
        assert disc.cost(disc.parse(nets[role]["arch"])).params == nets[role]["params"] <= 5000
    # G_A's score is its proxy value on domain A's batch (the first half of the packaged photos)
    batch_a, _ = domain_batches(None, None, batch=2, resolution=32, seed=0)
    arch = nets["G_A"]["arch"]
    model = gen.build(gen.parse(arch), seed=init_seed(0, arch)).train()
    fs = collect_features(model, batch_a, max_dims=512, seed=0)
    assert nets["G_A"]["score"] == evaluate_proxy(ProxyGraph.parse(PAPER), [fs]).values[0]
    assert nets["G_A"]["score"] == max(c["score"] for c in nets["G_A"]["top"])
    assert report["train_args"]["arch_a"] == nets["G_A"]["network"]


def test_search_is_deterministic(search_report, tmp_path):
    _, first = search_report
    out = tmp_path / "again.json"
    assert main(["search", *TINY, "--budget-macs", "0.06", "--d-budget-params", "0.005",
                 "--out", str(out)]) == 0
    assert json.loads(out.read_text())["networks"] == first["networks"]


def test_search_report_trains(search_report):
    from autogas.train.networks import resolve_network

    path, report = search_report
    for role, part in (("G_A", "generator"), ("D_B", "discriminator")):
        spec = resolve_network(str(path), part=part, role=role)
        assert spec.canonical == report["networks"][role]["network"]


@pytest.mark.parametrize("case", ["unknown space", "impossible budget", "empty folder",
                                  "invalid proxy", "discriminator budget on gan-compression"])
def test_search_bad_input_is_one_line_and_exit_2(case, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    bad = tmp_path / "bad.json"
    bad.write_text('{"proxy": "slogdet(nope(F))"}')
    out = tmp_path / "best.json"
    argv = {
        "unknown space": ["--space", "stylegan", "--proxy", PAPER, "--budget-macs", "1"],
        "impossible budget": [*TINY, "--budget-macs", "0.001"],
        "empty folder": [*TINY, "--budget-macs", "1", "--images-b", str(empty)],
        "invalid proxy": [*TINY[:-1], str(bad), "--budget-macs", "1"],
        "discriminator budget on gan-compression": [
            "--space", "gan-compression", "--proxy", PAPER, "--budget-macs", "3", "--d-budget-macs", "1"],
    }[case]
    assert main(["search", *argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("autogas: error: "), err
    assert not out.exists()


def test_budget_admitting_fewer_archs_than_the_population():
    disc = open_space("cyclegan", part="discriminator", hidden=8)
    budgeted = BudgetedSpace(disc, Budget(max_params=disc.cost((0, 0, 0, 0)).params))
    settings = ArchSearchSettings(population=20, generations=2, max_redraws=3)
    result, seen = _synthetic_search(budgeted, 0, settings)
    pools = {(a, b, c, d) for a in (0, 1) for b in (0, 1) for c in (0, 1) for d in (0, 1)}
    assert set(seen) <= pools  # only the 16 all-pooling discriminators fit
    assert len({c.arch for c in result.population}) == len(result.population) <= 16
    assert result.best.score == max(sum(a) for a in seen)


def test_budget_filter_keeps_order_uses_known_costs_and_says_why():
    space = open_space("gan-compression", config_set="channels-32")
    archs = sample_distinct(space, 6, np.random.default_rng(3))
    costs = [space.cost(a) for a in archs]
    limit = sorted(c.params for c in costs)[2]
    budgeted = BudgetedSpace(space, Budget(max_params=limit))
    expected = [(a, c) for a, c in zip(archs, costs) if c.params <= limit]
    assert budgeted.within(iter(archs)) == expected and len(expected) >= 3
    tiny = ArchCost(1, 1, 256)  # a recorded cost is used instead of counting
    assert budgeted.within(archs, known=lambda a: tiny if a == archs[0] else None)[0] == (archs[0], tiny)
    with pytest.raises(AutogasError, match=f"only {len(expected)} of the 6 candidates meet the budget"):
        budgeted.within(archs, at_least=len(expected) + 1)
    dearest = max(zip(archs, costs), key=lambda pair: pair[1].params)[0]
    with pytest.raises(AutogasError, match=f"none of the 1 candidates .* the cheapest architecture "
                                           f"{space.to_string(budgeted.cheapest())} does"):
        budgeted.within([dearest])
