"""Proxy evolution: language, typed generation/variation, fitness, Algorithm-1 loop, resume, maps."""
from __future__ import annotations

import collections
import json
import random

import numpy as np
import pytest
import scipy.stats

from autogas.cache import FeatureCache, FeatureCacheWriter
from autogas.cli import main
from autogas.errors import AutogasError
from autogas.evolve import (
    EvolutionSettings, Language, SearchFitness, SerialMap, crossover, evolve, mutate, partition,
    plan_benches, random_tree, select_topk, split_archs,
)
from autogas.evolve.fitness import Fitness
from autogas.evolve.variation import node_depths
from autogas.measure.features import FeatureSet, LayerInfo
from autogas.proxy import ProxyGraph, evaluate_proxy

PAPER = "square(slogdet(ksum(gram(above_mean(swish(F))))))"
SETTINGS = {"space": "macro", "task": "autoencoder", "seed": 0, "batch": 4, "resolution": 8,
            "inputs": "noise", "max_dims": 8, "train_mode": True}
TINY = EvolutionSettings(population=6, generations=3, topk=2, val_size=5, seed=0, max_depth=8,
                         init_depth=5)


def _synthetic_arch(rng: np.random.Generator, a: int) -> tuple[FeatureSet, float]:
    n_layers = 2 + a % 3
    scale = float(rng.uniform(0.5, 2.0))
    features = [(rng.standard_normal((4, 8)) * scale).astype(np.float32) for _ in range(n_layers)]
    layers = [LayerInfo(f"encoder.l{i}", "encoder" if i else "decoder", 2, 2, 2 * (i + 1),
                        8 * (i + 1), 0.0, scale, 0.5) for i in range(n_layers)]
    return FeatureSet(features, layers), scale + 0.3 * n_layers + 0.1 * float(rng.normal())


@pytest.fixture(scope="module")
def bench(tmp_path_factory) -> str:
    """A 12-arch synthetic cache whose labels grow with the feature scale and layer count."""
    path = tmp_path_factory.mktemp("evolve") / "tiny.h5"
    rng = np.random.default_rng(0)
    writer = FeatureCacheWriter(path, SETTINGS, np.zeros((4, 3, 8, 8), np.float32))
    for a in range(12):
        fs, label = _synthetic_arch(rng, a)
        writer.add(f"64-{a}-basic", fs, {"label": label, "params": 1.0, "flops": 1.0})
    writer.close()
    return str(path)


def _trace(result) -> list:
    """Everything a search decided, without timings."""
    state = result.state
    return [list((t, f.kendall, f.reason) for t, f in state.fitness.items()), state.elite,
            [{k: v for k, v in h.items() if k != "seconds"} for h in state.history]]


# ----------------------------------------------------------------------------- language
def test_languages_contain_the_paper_chain_and_ingredients_add_stages():
    paper, full = Language.build("paper"), Language.build("full")
    assert full.name == "paper+agg+combine+norm+stats"
    for lang in (paper, full, Language.build("paper+norm")):
        assert lang.contains(ProxyGraph.parse(PAPER))
    assert {s.stage for s in paper.specs} == {"input", "transform", "encoding", "kernel",
                                              "kernel_aggregation", "reduction", "augment"}
    assert [s.name for s in paper.specs if s.stage == "kernel_aggregation"] == ["ksum"]
    assert not paper.contains(ProxyGraph.parse("mean(slogdet(gram(F)))"))
    # fewest levels: F=1, gram(F)=2, ksum(..)=3, slogdet(ksum(..))=4; a statistic is 1 level
    assert (paper.min_depth["features"], paper.min_depth["kernels"], paper.min_depth["netkernel"],
            paper.min_depth["score"]) == (1, 2, 3, 4)
    assert full.min_depth["score"] == 1 and full.min_depth["layerscores"] == 1
    with pytest.raises(AutogasError, match="ingredient 'nope'"):
        Language.build("paper+nope")
    with pytest.raises(AutogasError, match="not in language 'paper'"):
        paper.to_tree(ProxyGraph.parse("n_layers"))


def test_deap_tree_round_trip_is_the_prefix_form():
    lang = Language.build("full")
    graph = ProxyGraph.parse("rank_add(log_dims, mean(slogdet(unit_diag(gram(relu(F))))))")
    tree = lang.to_tree(graph)
    assert [n.name for n in tree] == graph.prefix()
    assert Language.to_graph(tree) == graph
    assert node_depths(tree) == [1, 2, 2, 3, 4, 5, 6, 7]


@pytest.mark.parametrize("name", ["paper", "full"])
def test_random_trees_are_well_typed_and_within_depth(name):
    lang, rng = Language.build(name), random.Random(1)
    for _ in range(200):
        graph = Language.to_graph(random_tree(lang, rng, max_depth=6))
        assert graph.depth <= 6 and lang.contains(graph)


def test_variation_keeps_types_and_crossover_exchanges_subtrees():
    lang, rng = Language.build("full"), random.Random(2)
    trees = [random_tree(lang, rng, max_depth=6) for _ in range(30)]
    changed = 0
    for a, b in zip(trees, trees[1:]):
        child = Language.to_graph(mutate(lang, a, rng, max_depth=8))  # raises if ill-typed
        assert lang.contains(child)
        changed += child != Language.to_graph(a)
        ca, cb = crossover(a, b, rng)
        names = collections.Counter(n.name for n in list(a) + list(b))
        assert collections.Counter(n.name for n in list(ca) + list(cb)) == names
        Language.to_graph(ca), Language.to_graph(cb)
    assert changed >= 20  # mutations almost always change the proxy


# ----------------------------------------------------------------------------- fitness
def test_split_is_seeded_disjoint_and_complete(bench):
    cache = FeatureCache(bench)
    val, test = split_archs(cache, 5, seed=3)
    assert len(val) == 5 and len(test) == 7 and not set(val) & set(test)
    assert sorted(val + test) == sorted(cache.archs)
    assert split_archs(cache, 5, seed=3) == (val, test)
    assert split_archs(cache, 5, seed=4)[0] != val
    with pytest.raises(AutogasError, match="too few"):
        split_archs(cache, 10, seed=0)


def test_fitness_is_kendall_on_the_split_and_invalid_candidates_do_not_raise(bench):
    cache = FeatureCache(bench)
    val, _ = split_archs(cache, 6, seed=0)
    fitness = SearchFitness.of(plan_benches([bench], (6,), 50, seed=0), allow_shape_only=True)
    texts = [PAPER, "log(neg(trace(ksum(gram(F)))))", "gram(F", "n_layers"]
    results = fitness(texts)
    labels = cache.table.loc[val, "label"].to_numpy()
    values = evaluate_proxy(PAPER, cache.load(val)).values
    assert results[0].kendall == pytest.approx(scipy.stats.kendalltau(values, labels).statistic)
    assert results[1].kendall is None and "NaN" in results[1].reason
    assert results[2].kendall is None and "malformed" in results[2].reason
    assert results[3].kendall is not None  # shape-only proxies are allowed here
    assert results[1].value < -1
    assert results[0].parts[0].kendall == results[0].kendall and results[0].parts[0].n == 6


def test_partition_keeps_shared_kernel_sets_together():
    graphs = [ProxyGraph.parse(t) for t in (
        "slogdet(ksum(gram(relu(F))))", "square(trace(ksum(gram(relu(F)))))",
        "slogdet(ksum(hamming(sign(F))))", "n_layers")]
    parts = partition(graphs, 3)
    assert sorted(i for p in parts for i in p) == [0, 1, 2, 3]
    assert any({0, 1} <= set(p) for p in parts)


# ----------------------------------------------------------------------------- search loop
def test_search_is_deterministic_and_elitist(bench):
    first, again = evolve(bench, TINY, progress=False), evolve(bench, TINY, progress=False)
    assert _trace(first) == _trace(again)
    other = evolve(bench, EvolutionSettings(**{**TINY.__dict__, "seed": 1}), progress=False)
    assert _trace(other) != _trace(first)
    state = first.state
    assert [h["generation"] for h in state.history] == [0, 1, 2, 3]
    assert len(state.fitness) == 6 * 4  # every candidate new, pools always full
    best = [h["kendall"] for h in state.history]
    assert best == sorted(best)  # elitism: best-so-far never drops
    assert state.fitness[first.best].kendall == max(f.value for f in state.fitness.values())


def test_topk_prefers_small_proxies_and_distinct_fitness():
    fitness = {"abs(abs(n_layers))": Fitness(0.5), "n_layers": Fitness(0.5),
               "abs(n_layers)": Fitness(0.5), "log_dims": Fitness(0.3), "n_encoder": Fitness(None),
               "n_decoder": Fitness(0.1)}
    assert select_topk(fitness, fitness, 3) == ["n_layers", "log_dims", "n_decoder"]
    assert select_topk(fitness, fitness, 5) == ["n_layers", "log_dims", "n_decoder",
                                                "n_encoder", "abs(n_layers)"]


def test_resume_equals_uninterrupted(bench, tmp_path):
    ckpt = tmp_path / "state.json"
    evolve(bench, TINY, checkpoint=ckpt, stop_after=1, progress=False)
    assert json.loads(ckpt.read_text())["generation"] == 1
    resumed = evolve(bench, TINY, checkpoint=ckpt, resume=True, progress=False)
    assert _trace(resumed) == _trace(evolve(bench, TINY, progress=False))
    with pytest.raises(AutogasError, match="pass --resume"):
        evolve(bench, TINY, checkpoint=ckpt, progress=False)
    with pytest.raises(AutogasError, match="seed=0"):
        evolve(bench, EvolutionSettings(**{**TINY.__dict__, "seed": 2}), checkpoint=ckpt,
               resume=True, progress=False)


def test_invalid_seed_candidates_do_not_stop_the_search(bench):
    bad = ProxyGraph.parse("log(neg(trace(ksum(gram(F)))))")
    result = evolve(bench, TINY, init=[bad], progress=False)
    assert result.state.fitness[bad.text].kendall is None
    assert result.state.fitness[result.best].kendall is not None


def test_dask_and_process_maps_give_the_serial_result(bench):
    distributed = pytest.importorskip("distributed")
    from autogas.evolve import DaskMap, ProcessMap

    settings = EvolutionSettings(**{**TINY.__dict__, "generations": 1})
    serial = _trace(evolve(bench, settings, fitness_map=SerialMap(), progress=False))
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        with DaskMap(cluster.scheduler_address) as fmap:
            assert fmap.workers == 1
            assert _trace(evolve(bench, settings, fitness_map=fmap, progress=False)) == serial
    with ProcessMap(2) as fmap:
        assert _trace(evolve(bench, settings, fitness_map=fmap, progress=False)) == serial


# ----------------------------------------------------------------------------- CLI
def test_cli_output_rescored_by_autogas_score(bench, tmp_path, capsys):
    out = tmp_path / "best.json"
    args = ["evolve", "--bench", bench, "--out", str(out), "--population", "6",
            "--generations", "2", "--topk", "2", "--val-size", "5", "--workers", "1", "--quiet",
            "--init", PAPER]
    assert main(args) == 0
    report = json.loads(out.read_text())
    assert report["settings"]["population"] == 6 and report["seed"] == 0
    assert report["n_val"] == 5 and report["n_test"] == 7 and report["evaluations"] == 18
    evaluated = json.loads((tmp_path / "best.json.checkpoint.json").read_text())["fitness"]
    assert evaluated[0][0] == PAPER  # --init joins the initial pool first
    assert report["top_k"][0]["val_kendall"] == pytest.approx(report["scores"]["val"]["kendall"])
    capsys.readouterr()
    assert main(["score", "--proxy", str(out), "--bench", bench, "--json"]) == 0
    rescored = json.loads(capsys.readouterr().out)
    for key in ("kendall", "spearman", "pearson"):
        assert rescored[key] == pytest.approx(report["scores"]["all"][key], abs=1e-6)
    assert main(args) == 2  # the checkpoint exists: refuse to overwrite without --resume
    assert "pass --resume" in capsys.readouterr().err
    assert main(args + ["--resume"]) == 0  # a finished checkpoint: only re-reports
    assert json.loads(out.read_text())["proxy"] == report["proxy"]


@pytest.mark.parametrize("extra, message", [
    (["--init", "gram(F"], "malformed proxy"),
    (["--init", "n_layers", "--language", "paper"], "not in language"),
    (["--topk", "9"], "--topk"),
    (["--language", "paper+x"], "ingredient"),
    (["--val-size", "11"], "too few"),
])
def test_cli_bad_input_is_one_line_and_exit_2(bench, tmp_path, capsys, extra, message):
    args = ["evolve", "--bench", bench, "--out", str(tmp_path / "o.json"), "--population", "6",
            "--generations", "1", "--workers", "1", "--quiet"]
    assert main(args + extra) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_cli_missing_bench_and_damaged_checkpoint(bench, tmp_path, capsys):
    assert main(["evolve", "--bench", str(tmp_path / "no.h5"), "--out", str(tmp_path / "o.json"),
                 "--workers", "1"]) == 2
    assert "not found" in capsys.readouterr().err
    ckpt = tmp_path / "c.json"
    ckpt.write_text("{not json")
    assert main(["evolve", "--bench", bench, "--out", str(tmp_path / "o.json"), "--val-size", "5",
                 "--checkpoint", str(ckpt), "--resume", "--workers", "1"]) == 2
    assert "damaged" in capsys.readouterr().err
