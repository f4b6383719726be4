"""Proxy search that transfers: activation-reading rule, per-arch NaN, several benches, constraints."""
from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.stats

from autogas.cache import FeatureCache, FeatureCacheWriter
from autogas.cli import main
from autogas.errors import AutogasError
from autogas.evolve import (
    ActivationCheck, EvolutionSettings, SearchFitness, evolve, plan_benches, structural_reason,
)
from autogas.evolve.activation import redraw
from autogas.measure.features import FeatureSet, LayerInfo
from autogas.proxy import ProxyGraph, evaluate_proxy

SETTINGS = {"space": "macro", "task": "autoencoder", "seed": 0, "batch": 4, "resolution": 8,
            "inputs": "noise", "max_dims": 8, "train_mode": True}
ACTIVATION = "sum(trace(gram(F)))"  # sum of squared features: reads the values
COUNTING = "sum(trace(gram(above_median(F))))"  # reads F, but counts coordinates
TINY = EvolutionSettings(population=6, generations=2, topk=2, val_size=5, seed=0, max_depth=8,
                         init_depth=5)


def _arch(rng, n_layers: int, scale: float, zero: bool = False) -> FeatureSet:
    features = [np.zeros((4, 8), np.float32) if zero else
                (rng.standard_normal((4, 8)) * scale).astype(np.float32) for _ in range(n_layers)]
    layers = [LayerInfo(f"l{i}", "decoder", 2, 2, 2, 8, 0.0, scale, 0.5) for i in range(n_layers)]
    return FeatureSet(features, layers)


def _write(path, archs: list[tuple[FeatureSet, float]]) -> str:
    writer = FeatureCacheWriter(path, SETTINGS, np.zeros((4, 3, 8, 8), np.float32))
    for a, (fs, label) in enumerate(archs):
        writer.add(f"64-{a}-basic", fs, {"label": label, "params": 1.0, "flops": 1.0})
    writer.close()
    return str(path)


@pytest.fixture(scope="module")
def benches(tmp_path_factory):
    """Two labelled caches (labels grow with the feature scale; the second also with depth), an
    unlabelled one, one with a degenerate all-zero network and an unlabelled one whose
    networks all have identical features."""
    root = tmp_path_factory.mktemp("transfer")
    rng = np.random.default_rng(0)
    scales = rng.uniform(0.5, 3.0, 12)
    a = _write(root / "a.h5", [(_arch(rng, 2 + i % 3, s), float(s)) for i, s in enumerate(scales)])
    b = _write(root / "b.h5", [(_arch(rng, 2 + i % 2, s), float(s + 0.5 * (i % 2)))
                               for i, s in enumerate(scales[::-1])])
    free = _write(root / "free.h5", [(_arch(rng, 3, s), float("nan")) for s in scales[:8]])
    degenerate = _write(root / "degenerate.h5",
                        [(_arch(rng, 3, s, zero=(i == 4)), float(s))
                         for i, s in enumerate(scales[:10])])
    same = _arch(rng, 3, 1.0)
    copies = _write(root / "copies.h5", [(same, float("nan")) for _ in range(5)])
    free_zero = _write(root / "free_zero.h5", [(_arch(rng, 3, s, zero=(i == 2)), float("nan"))
                                               for i, s in enumerate(scales[:5])])
    return {"a": a, "b": b, "free": free, "degenerate": degenerate, "copies": copies,
            "free_zero": free_zero}


def _fitness(paths, val=5, **options):
    return SearchFitness.of(plan_benches(paths, (val,), 50, seed=0), **options)


# ----------------------------------------------------------------------------- activation rule
def test_structural_rule_rejects_graphs_without_activation_leaves():
    assert structural_reason(ProxyGraph.parse("decoder_mean(layer_log_dims)"))
    assert structural_reason(ProxyGraph.parse("add(n_layers, log_dims)"))
    assert structural_reason(ProxyGraph.parse(ACTIVATION)) is None
    assert structural_reason(ProxyGraph.parse("mean(layer_std)")) is None  # an activation statistic


def test_redraw_keeps_shapes_and_changes_values():
    rng = np.random.default_rng(0)
    fs = _arch(rng, 3, 2.0)
    (new,) = redraw([fs], np.random.default_rng(1))
    for x, y, a, b in zip(fs.features, new.features, fs.layers, new.layers):
        assert x.shape == y.shape and (a.name, a.part, a.dims) == (b.name, b.part, b.dims)
        assert not np.allclose(x, y)
        assert b.std == pytest.approx(float(y.std()))


def test_counting_proxy_is_a_hand_count_on_redrawn_features_and_is_rejected(benches):
    features = FeatureCache(benches["a"]).load()
    check = ActivationCheck(features, seed=0)
    graph = ProxyGraph.parse(COUNTING)
    # oracle: with tie-free values, the codes above the lower median of the B x d = 32 values of
    # a layer are 32 - 16 = 16 ones, so trace(gram(code)) = 16 per layer, whatever the values
    for draw in redraw(features[:3], np.random.default_rng(5)):
        assert evaluate_proxy(graph, [draw]).values[0] == pytest.approx(16.0 * len(draw))
    assert "does not change" in check.reason(graph)
    assert check.reason(ProxyGraph.parse(ACTIVATION)) is None
    assert "reads no activations" in check.reason(ProxyGraph.parse("sum(layer_log_dims)"))


def test_fitness_rejects_shape_only_unless_allowed(benches):
    texts = ["sum(layer_log_dims)", COUNTING, ACTIVATION]
    strict = _fitness([benches["a"]])(texts)
    assert [f.kendall is None for f in strict] == [True, True, False]
    assert "shape-only" in strict[0].reason and "shape-only" in strict[1].reason
    loose = _fitness([benches["a"]], allow_shape_only=True)(texts)
    assert all(f.kendall is not None for f in loose)
    assert loose[2].kendall == strict[2].kendall


# ----------------------------------------------------------------------------- per-arch NaN
def test_degenerate_network_is_nan_ranked_last_and_counted(benches):
    proxy = "logabsdet(ksum(gram(F)))"  # -inf on the all-zero network
    cache = FeatureCache(benches["degenerate"])
    plans = plan_benches([benches["degenerate"]], (7,), 50, seed=0)
    val = list(plans[0].fit)
    labels = cache.table.loc[val, "label"].to_numpy()
    degenerate = "64-4-basic"
    assert degenerate in val
    others = [a for a in val if a != degenerate]
    finite = evaluate_proxy(proxy, cache.load(others)).values
    whole = evaluate_proxy(proxy, cache.load(val))  # the failing network alone is NaN
    assert not whole.invalid and whole.nan == 1 and "logabsdet" in whole.reason
    assert np.isnan(whole.values[val.index(degenerate)])
    np.testing.assert_allclose(np.delete(whole.values, val.index(degenerate)), finite)
    expected = np.array([finite.min() - 1e9 if a == degenerate else finite[others.index(a)]
                         for a in val])
    tau = scipy.stats.kendalltau(expected, labels).statistic
    (ok,) = SearchFitness.of(plans, max_nan_share=0.2)([proxy])
    assert ok.kendall == pytest.approx(tau) and ok.parts[0].nan == 1 and ok.parts[0].n == 7
    (out,) = SearchFitness.of(plans, max_nan_share=0.1)([proxy])
    assert out.kendall is None and "NaN on 1 of 7" in out.reason


# ----------------------------------------------------------------------------- several benches
def test_each_labelled_bench_has_its_own_split_and_fitness_combines_them(benches):
    plans = plan_benches([benches["a"], benches["b"], benches["free"]], (5,), 4, seed=0)
    assert [p.role for p in plans] == ["labelled", "labelled", "constraint"]
    assert [p.name for p in plans] == ["a", "b", "free"]
    assert len(plans[0].fit) == 5 and len(plans[0].test) == 7
    assert not set(plans[1].fit) & set(plans[1].test)
    assert len(plans[2].fit) == 4 and len(plans[2].test) == 8
    texts = [ACTIVATION, "sum(eig_max(gram(F)))", "mean(frobenius(cosine(F)))"]
    single = [_fitness([p])(texts) for p in (benches["a"], benches["b"])]
    both_min = _fitness([benches["a"], benches["b"]])(texts)
    both_mean = _fitness([benches["a"], benches["b"]], combine="mean")(texts)
    for i in range(len(texts)):
        taus = [single[0][i].kendall, single[1][i].kendall]
        assert [p.kendall for p in both_min[i].parts] == pytest.approx(taus)
        assert both_min[i].kendall == pytest.approx(min(taus))
        assert both_mean[i].kendall == pytest.approx(np.mean(taus))
    with pytest.raises(AutogasError, match="combine"):
        _fitness([benches["a"]], combine="max")


def test_constraint_bench_invalidates_constant_and_nan_proxies(benches):
    fit = _fitness([benches["a"], benches["copies"]])
    (res,) = fit([ACTIVATION])
    assert res.kendall is None and "copies: constant score" in res.reason
    with_free = _fitness([benches["a"], benches["free"]])([ACTIVATION])[0]
    assert with_free.kendall == _fitness([benches["a"]])([ACTIVATION])[0].kendall
    assert with_free.parts[1].kendall is None and with_free.parts[1].nan == 0
    nan_proxy = "logabsdet(ksum(gram(F)))"  # NaN on the all-zero network of free_zero
    assert _fitness([benches["a"]])([nan_proxy])[0].kendall is not None
    (res,) = _fitness([benches["a"], benches["free_zero"]])([nan_proxy])
    assert res.kendall is None and "free_zero: NaN on 1 of 5" in res.reason
    (res,) = _fitness([benches["a"], benches["free_zero"]], max_nan_share=0.2)([nan_proxy])
    assert res.kendall is not None and res.parts[1].nan == 1
    with pytest.raises(AutogasError, match="labelled"):
        plan_benches([benches["free"]], (5,), 50, seed=0)


def test_multi_bench_search_is_deterministic_and_resumable(benches, tmp_path):
    paths = [benches["a"], benches["b"], benches["free"]]
    first = evolve(paths, TINY, progress=False)
    again = evolve(paths, TINY, progress=False)
    assert first.state.fitness == again.state.fitness and first.best == again.best
    best = first.state.fitness[first.best]
    assert [p.bench for p in best.parts] == ["a", "b", "free"]
    assert best.kendall == min(p.kendall for p in best.parts[:2])
    assert structural_reason(ProxyGraph.parse(first.best)) is None
    ckpt = tmp_path / "state.json"
    evolve(paths, TINY, checkpoint=ckpt, stop_after=0, progress=False)
    resumed = evolve(paths, TINY, checkpoint=ckpt, resume=True, progress=False)
    assert resumed.state.fitness == first.state.fitness
    with pytest.raises(AutogasError, match="benches"):
        evolve(paths[:2], TINY, checkpoint=ckpt, resume=True, progress=False)


# ----------------------------------------------------------------------------- CLI: report and picture
def test_cli_multi_bench_report_summary_and_picture(benches, tmp_path, capsys):
    out = tmp_path / "best.json"
    assert main(["evolve", "--bench", benches["a"], "--bench", benches["b"], "--bench",
                 benches["free"], "--out", str(out), "--population", "6", "--generations", "2",
                 "--topk", "2", "--val-size", "5", "--constraint-size", "4", "--workers", "1",
                 "--quiet"]) == 0
    printed = capsys.readouterr().out
    report = json.loads(out.read_text())
    assert {n: b["role"] for n, b in report["benches"].items()} == {
        "a": "labelled", "b": "labelled", "free": "constraint"}
    for name in ("a", "b"):
        bench = report["benches"][name]
        assert bench["n_fit"] == 5 and bench["test"]["n"] == 7
        assert f"{name} test: kendall {bench['test']['kendall']:+.4f}" in printed
    assert report["benches"]["free"]["all"]["n"] == 8 and "free all: unlabelled, n=8" in printed
    assert report["scores"] == {k: report["benches"]["a"][k] for k in ("val", "test", "all")}
    # the evolved proxy reads activations: the default rule accepted it, and it passes the check
    best = ProxyGraph.parse(report["proxy"])
    assert structural_reason(best) is None
    assert ActivationCheck(FeatureCache(benches["a"]).load(), seed=0).reason(best) is None
    png = out.with_name("best.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
    capsys.readouterr()
    assert main(["score", "--proxy", str(out), "--bench", benches["a"], "--bench",
                 benches["free"], "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["benches"]
    assert rows[0]["kendall"] == pytest.approx(report["benches"]["a"]["all"]["kendall"], abs=1e-6)
    assert rows[1]["kendall"] is None and rows[1]["n"] == 8 and rows[1]["nan"] == 0
