"""One rule for a degenerate network, whichever command scores it (issues 9 and 11).

A cache of seven networks, one of them all-zero (``logabsdet`` of its kernel is -inf). Through
``autogas score``, ``autogas baselines``' graph path, ``evolve``'s fitness and report, and the
value ``autogas rank`` gives one network, that arch is NaN, ranked last and counted; the six
others get the values they get when scored without it.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.stats

from autogas.baselines.runner import graph_values
from autogas.cache import FeatureCache, FeatureCacheWriter
from autogas.cli import main
from autogas.evolve import SearchFitness, plan_benches
from autogas.evolve.report import score_archs
from autogas.measure.features import FeatureSet, LayerInfo
from autogas.proxy import ProxyGraph, evaluate_proxy
from autogas.search.scorer import GeneratorScorer

PROXY = "logabsdet(ksum(gram(F)))"
SETTINGS = {"space": "macro", "task": "autoencoder", "seed": 0, "batch": 4, "resolution": 8,
            "inputs": "noise", "max_dims": 8, "train_mode": True}
DEGENERATE = "64-3-basic"


@pytest.fixture(scope="module")
def cache_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("degenerate") / "c.h5"
    rng = np.random.default_rng(1)
    writer = FeatureCacheWriter(path, SETTINGS, np.zeros((4, 3, 8, 8), np.float32))
    for i in range(7):
        scale = 0.5 + 0.3 * i
        arch = f"64-{i}-basic"
        zero = arch == DEGENERATE
        features = [np.zeros((4, 8), np.float32) if zero else
                    (rng.standard_normal((4, 8)) * scale).astype(np.float32) for _ in range(2)]
        layers = [LayerInfo(f"l{k}", "decoder", 2, 2, 2, 8, 0.0, scale, 0.5) for k in range(2)]
        writer.add(arch, FeatureSet(features, layers), {"label": scale, "params": 1.0, "flops": 1.0})
    writer.close()
    return path


def _expected(cache):
    """Oracle: each healthy arch scored on its own; the degenerate one last (below all)."""
    values = []
    for arch, fs in zip(cache.archs, cache.load()):
        values.append(-np.inf if arch == DEGENERATE else evaluate_proxy(PROXY, [fs]).values[0])
    values = np.array(values)
    return values, float(scipy.stats.kendalltau(values, cache.labels).statistic)


def test_score_baselines_evolve_and_rank_agree(cache_path, capsys):
    cache = FeatureCache(cache_path)
    values, tau = _expected(cache)
    d = cache.archs.index(DEGENERATE)

    assert main(["score", "--proxy", PROXY, "--bench", str(cache_path), "--json"]) == 0
    scored = json.loads(capsys.readouterr().out)
    assert not scored["invalid"] and scored["nan"] == 1 and scored["n"] == 7
    assert scored["kendall"] == pytest.approx(tau)

    by_arch, _ = graph_values(cache, ProxyGraph.parse(PROXY), cache.archs)
    got = np.array([by_arch[a] for a in cache.archs])
    assert np.isnan(got[d])
    np.testing.assert_allclose(np.delete(got, d), np.delete(values, d), rtol=1e-12)

    report = score_archs(PROXY, cache, cache.archs)
    assert report["kendall"] == pytest.approx(tau) and report["nan"] == 1

    plans = plan_benches([str(cache_path)], (4,), 50, seed=0)
    plans[0] = type(plans[0])(plans[0].path, plans[0].name, plans[0].role,
                              tuple(cache.archs), ())  # fitness on all seven archs
    (fitness,) = SearchFitness.of(plans, max_nan_share=0.2)([PROXY])
    assert fitness.kendall == pytest.approx(tau) and fitness.parts[0].nan == 1

    scorer = GeneratorScorer.__new__(GeneratorScorer)  # rank's per-network value, no network built
    scorer.proxy = ProxyGraph.parse(PROXY)
    per_network = [scorer.proxy_value(fs) for fs in cache.load()]
    assert np.isnan(per_network[d])
    np.testing.assert_allclose(np.delete(per_network, d), np.delete(values, d), rtol=1e-12)


def test_a_proxy_failing_everywhere_is_invalid(cache_path, capsys):
    cache = FeatureCache(cache_path)
    healthy = [a for a in cache.archs if a != DEGENERATE]
    result = evaluate_proxy(PROXY, cache.load([DEGENERATE]))
    assert result.invalid and result.nan == 1
    assert main(["score", "--proxy", "sum(trace(gram(F)))", "--bench", str(cache_path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["nan"] == 0
    assert not evaluate_proxy(PROXY, cache.load(healthy)).invalid


def test_graphs_and_baselines_share_one_network_interface():
    """``proxy(model, inputs, seed=...)`` for a graph equals the scorer's forward + proxy value;
    a baseline resolved by name answers the same call."""
    import torch
    from torch import nn

    from autogas.measure.features import collect_features
    from autogas.score import NetworkProxy, resolve_proxy

    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 4, 3), nn.ReLU())
    inputs = torch.randn(6, 3, 12, 12)
    graph, baseline = resolve_proxy("sum(trace(gram(F)))"), resolve_proxy("nwot")
    assert isinstance(graph, NetworkProxy) and isinstance(baseline, NetworkProxy)
    assert graph.name == "sum(trace(gram(F)))" and baseline.name == "nwot"
    features = collect_features(net, inputs, seed=3)
    # oracle: trace of a Gram matrix is the sum of squares, summed over layers (no subsampling here)
    expected = sum(float((f.astype(np.float64) ** 2).sum()) for f in features.features)
    assert graph(net, inputs, seed=3) == pytest.approx(expected, rel=1e-6)
    assert np.isfinite(baseline(net, inputs, seed=3))
