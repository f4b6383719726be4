"""Evaluating proxies: values vs independent numpy, invalid handling, chunking, API, CLI."""
import json

import numpy as np
import pytest
import scipy.stats
import torch
from torch import nn

from autogas.cli import main
from autogas.errors import AutogasError
from autogas.measure.features import FeatureSet, LayerInfo, collect_features
from autogas.proxy import (Evaluator, Population, ProxyGraph, evaluate_proxy, rank_scores,
                           register_op, score_module, score_modules, unregister_op)

PAPER = "square(slogdet(ksum(gram(above_mean(swish(F))))))"


def synthetic_sets(n_archs=6, batch=5, seed=0):
    """Archs with 2-4 layers; some layers are subsampled (d < dims)."""
    rng = np.random.default_rng(seed)
    sets = []
    for a in range(n_archs):
        feats, infos = [], []
        for i in range(2 + a % 3):
            dims = int(rng.choice([12, 20, 40]))
            d = min(dims, 16)
            x = (rng.normal(size=(batch, d)) * (1 + a) + 0.3 * i).astype(np.float32)
            feats.append(x)
            infos.append(LayerInfo(f"l{i}", "encoder" if i == 0 else "decoder", 1, 1, dims, dims,
                                   float(x.mean()), float(x.std()), float((x > 0).mean())))
        sets.append(FeatureSet(feats, infos))
    return sets


def paper_by_numpy(fs: FeatureSet) -> float:
    k = 0
    for x, info in zip(fs.features, fs.layers):
        x = x.astype(np.float64)
        s = x / (1 + np.exp(-x))
        c = (s > s.mean()).astype(np.float64)
        k = k + c @ c.T * info.dims / x.shape[1]
    return np.linalg.slogdet(k)[1] ** 2


def test_paper_proxy_matches_independent_numpy():
    sets = synthetic_sets()
    values = Evaluator(Population(sets)).evaluate(PAPER).values
    np.testing.assert_allclose(values, [paper_by_numpy(fs) for fs in sets], rtol=1e-9)


def test_per_layer_pipeline_matches_numpy():
    sets = synthetic_sets()
    got = evaluate_proxy("depth_weighted(logabsdet(per_dim(hamming(sign(F)))))", sets).values
    want = []
    for fs in sets:
        scores = []
        for x, info in zip(fs.features, fs.layers):
            s = np.sign(x)
            agree = sum((s == v).astype(float) @ (s == v).astype(float).T for v in (-1, 0, 1))
            scores.append(np.linalg.slogdet(agree * info.dims / x.shape[1] / info.dims)[1])
        w = np.arange(1, len(scores) + 1)
        want.append(np.dot(w, scores) / w.sum())
    np.testing.assert_allclose(got, want, rtol=1e-9)


def test_population_ops_and_chunked_evaluation_agree():
    sets = synthetic_sets(n_archs=7)
    text = "add(rank_add(sum(trace(gram(F))), n_layers), neg(z_add(log_dims, mean(eig_max(pearson(F))))))"
    whole = evaluate_proxy(text, sets)
    chunked = evaluate_proxy(text, iter(sets), chunk_archs=3)
    assert not whole.invalid
    np.testing.assert_allclose(chunked.values, whole.values, rtol=1e-12)
    trace = np.array([sum(float((x.astype(np.float64) ** 2).sum()) * i.dims / x.shape[1]
                          for x, i in zip(fs.features, fs.layers)) for fs in sets])
    n_layers = np.array([len(fs) for fs in sets], dtype=float)
    rank = lambda v: (scipy.stats.rankdata(v) - 1) / (len(v) - 1)  # noqa: E731
    np.testing.assert_allclose(
        evaluate_proxy("rank_add(sum(trace(gram(F))), n_layers)", sets).values,
        rank(trace) + rank(n_layers), rtol=1e-12)


@pytest.mark.parametrize("text, reason", [
    ("log(neg(sum(trace(gram(F)))))", "'log' produced NaN/inf"),
    ("mean(trace(pearson(F)))", "constant score"),
    ("exp(exp(exp(sum(trace(gram(F))))))", "'exp' produced NaN/inf"),
    ("slogdet(ksum(center(gram(F))))", "'slogdet' produced NaN/inf"),
    ("sum(trace(gram(exp(exp(exp(exp(F)))))))", "'exp' produced NaN/inf"),
    ("z_add(n_layers, mean(trace(pearson(F))))", "'z_add' produced NaN/inf"),
])
def test_invalid_proxies_are_flagged_not_raised(text, reason):
    ev = Evaluator(Population(synthetic_sets()))
    result = ev.evaluate(text)
    assert result.invalid and reason in result.reason and np.isnan(result.values).all()
    assert ev.evaluate(text).reason == result.reason  # memoised failure, same answer
    scores = rank_scores(result.values, np.arange(6.0))
    assert scores["invalid"] and scores["kendall"] is None


def test_raising_op_marks_invalid():
    @register_op("transform", "test_raises_eval")
    def boom(x):
        """always fails"""
        raise RuntimeError("boom")

    try:
        result = evaluate_proxy("sum(trace(gram(test_raises_eval(F))))", synthetic_sets())
    finally:
        unregister_op("test_raises_eval")
    assert result.invalid and "RuntimeError: boom" in result.reason


def test_memoisation_and_prefetch_share_kernels():
    ev = Evaluator(Population(synthetic_sets()))
    graphs = [ProxyGraph.parse(t) for t in (PAPER, "sum(trace(gram(above_mean(swish(F)))))",
                                             "mean(eig_min(hamming(above_mean(swish(F)))))")]
    ev.prefetch(graphs)
    assert ev.cache.get("gram(above_mean(swish(F)))") is not None
    assert ev.cache.get("hamming(above_mean(swish(F)))") is not None
    first = [ev.evaluate(g).values for g in graphs]
    fresh = Evaluator(Population(synthetic_sets()), cache_bytes=1)
    for g, v in zip(graphs, first):
        np.testing.assert_allclose(fresh.evaluate(g).values, v, rtol=1e-12)


def test_callable_proxy():
    sets = synthetic_sets()
    result = evaluate_proxy(lambda fs: float(len(fs)) + fs.features[0][0, 0], sets)
    assert not result.invalid
    np.testing.assert_allclose(result.values, [len(fs) + fs.features[0][0, 0] for fs in sets])
    assert evaluate_proxy(lambda fs: 1.0, sets).reason == "constant score"


def test_rank_scores_matches_scipy_and_validates_labels():
    rng = np.random.default_rng(1)
    v, y = rng.normal(size=20), rng.normal(size=20)
    r = rank_scores(v, y)
    assert r["kendall"] == pytest.approx(scipy.stats.kendalltau(v, y).statistic)
    assert r["spearman"] == pytest.approx(scipy.stats.spearmanr(v, y).statistic)
    assert r["pearson"] == pytest.approx(np.corrcoef(v, y)[0, 1])
    assert r["n"] == 20 and r["invalid"] is False
    assert rank_scores(1e6 + 1e-8 * v, y)["invalid"]  # near-constant: relative spread ~1e-14
    for bad, msg in [((v[:3], y), "labels"), ((v[:2], y[:2]), "at least 3"),
                     ((v, np.full(20, 0.5)), "constant"), ((v, y * np.nan), "NaN")]:
        with pytest.raises(AutogasError, match=msg):
            rank_scores(*bad)


def test_population_rejects_bad_feature_sets():
    sets = synthetic_sets(2)
    with pytest.raises(AutogasError, match="no architectures"):
        Population([])
    bad = FeatureSet([np.full((5, 3), np.nan, dtype=np.float32)], sets[0].layers[:1])
    with pytest.raises(AutogasError, match="NaN"):
        Population([bad])
    other_batch = FeatureSet([np.zeros((4, 3), dtype=np.float32)], sets[0].layers[:1])
    with pytest.raises(AutogasError, match="batch"):
        Population([sets[0], other_batch])


def _tiny_nets():
    nets = []
    for width in (2, 3, 5):
        torch.manual_seed(width)
        nets.append(nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.ReLU(),
                                  nn.Conv2d(width, 4, 3, padding=1), nn.LeakyReLU(0.2)))
    return nets


def test_score_module_on_tiny_sequential():
    torch.manual_seed(0)
    x = torch.randn(6, 3, 8, 8)
    net = _tiny_nets()[0]
    got = score_module(PAPER, net, x, max_dims=50)
    want = paper_by_numpy(collect_features(net, x, max_dims=50))
    assert got == pytest.approx(want, rel=1e-9)
    only_first = score_module("sum(trace(gram(F)))", net, x, max_dims=None,
                              layer_filter=lambda name, m: isinstance(m, nn.ReLU))
    pre = net[0](x).detach().reshape(6, -1).double()
    assert only_first == pytest.approx(float((pre ** 2).sum()), rel=1e-9)
    callable_score = score_module(lambda fs: float(len(fs)), net, x)
    assert callable_score == 2.0
    assert np.isnan(score_module("slogdet(ksum(center(gram(F))))", net, x))
    with pytest.raises(AutogasError, match="score several modules"):
        score_module("rank_add(n_layers, sum(trace(gram(F))))", net, x)
    many = score_modules("rank_add(n_layers, sum(trace(gram(F))))", _tiny_nets(), x)
    assert many.shape == (3,) and np.isfinite(many).all()


def test_score_cli(tmp_path, capsys):
    from autogas.cache import FeatureCacheWriter

    path = tmp_path / "c.h5"
    sets = synthetic_sets(n_archs=5)
    writer = FeatureCacheWriter(path, {"space": "test"}, np.zeros((5, 3, 4, 4), np.float32))
    for i, fs in enumerate(sets):
        writer.add(f"arch{i}", fs, {"label": float(i), "params": 1.0, "flops": 1.0})
    writer.close()
    assert main(["score", "--proxy", "n_layers", "--bench", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    want = rank_scores([len(fs) for fs in sets], np.arange(5.0))
    assert {k: out[k] for k in ("kendall", "spearman", "pearson", "n", "invalid")} == \
        {k: want[k] for k in ("kendall", "spearman", "pearson", "n", "invalid")}
    proxy_file = tmp_path / "p.json"
    ProxyGraph.parse("mean(trace(pearson(F)))").save(proxy_file)
    assert main(["score", "--proxy", str(proxy_file), "--bench", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["invalid"] is True and out["kendall"] is None and out["reason"] == "constant score"
    assert main(["score", "--proxy", "gram(F)", "--bench", str(path)]) == 2
    assert "must produce a score" in capsys.readouterr().err
    assert main(["score", "--proxy", "n_layers", "--bench", str(tmp_path / "no.h5")]) == 2
    assert main(["score", "--list-ops"]) == 0
    assert "slogdet(kernels) -> layerscores" in capsys.readouterr().out


def test_score_cli_routes_baseline_names(tmp_path, capsys):
    """``autogas score --proxy nwot`` uses the baseline's graph; gradient baselines are refused."""
    import json as _json

    import numpy as _np
    import torch as _torch
    from torch import nn as _nn

    from autogas.cache import FeatureCacheWriter
    from autogas.cli import main
    from autogas.measure.features import collect_features

    settings = {"space": "macro", "task": "autoencoder", "seed": 0, "batch": 4, "resolution": 8,
                "inputs": "noise", "max_dims": 16, "train_mode": True}
    path = tmp_path / "c.h5"
    writer = FeatureCacheWriter(path, settings, _np.zeros((4, 3, 8, 8), _np.float32))
    x = _torch.randn(4, 3, 8, 8)
    for i, width in enumerate((2, 3, 5, 8)):
        _torch.manual_seed(i)
        net = _nn.Sequential(_nn.Conv2d(3, width, 3), _nn.ReLU(), _nn.Conv2d(width, 4, 3), _nn.ReLU())
        writer.add(f"64-{i + 1}1-basic", collect_features(net, x, max_dims=16),
                   {"label": float(i), "params": 1.0, "flops": 1.0})
    writer.close()
    assert main(["score", "--proxy", "nwot", "--bench", str(path), "--json"]) == 0
    by_name = _json.loads(capsys.readouterr().out)
    assert main(["score", "--proxy", "logabsdet(ksum(hamming(above_zero(F))))", "--bench", str(path),
                 "--json"]) == 0
    assert _json.loads(capsys.readouterr().out) == by_name
    assert main(["score", "--proxy", "synflow", "--bench", str(path)]) == 2
    assert "autogas baselines" in capsys.readouterr().err
