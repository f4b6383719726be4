"""Baseline protocols (naslib / naslib64 / cache): hand-computed gradients of a one-layer net
under one and two splits, Fisher's per-weight count, and every gradient baseline on a tiny cache
under two protocols."""
from __future__ import annotations

import math
import shutil

import numpy as np
import pytest
import torch
from torch import nn

from autogas.baselines import DEFAULT_PROTOCOL, get_baseline, get_protocol, score_network
from autogas.cli import main
from autogas.errors import AutogasError

B, D = 4, 5
GRADIENT = ["snip", "grad_norm", "fisher", "grasp", "jacov", "plain"]


@pytest.fixture()
def one_layer():
    """y = W x (no bias), float64, and a batch of 4."""
    torch.manual_seed(1)
    net = nn.Linear(D, D, bias=False).double()
    x = torch.randn(B, D, dtype=torch.float64)
    return net, x


def _hand_terms(w: np.ndarray, x: np.ndarray, parts: int) -> list[dict]:
    """Per part of the batch: dL/dW and dL/dy of L = mean |x W^T - x| (numpy, by hand)."""
    out = []
    for xs in np.split(x, parts):
        y = xs @ w.T
        r = np.sign(y - xs) / xs.size
        out.append({"y": y, "r": r, "g": r.T @ xs})
    return out


@pytest.mark.parametrize("protocol, parts", [("naslib", 1), ("naslib64", 1), ("cache", 2)])
def test_grad_norm_and_snip_of_one_linear_layer_by_hand(one_layer, protocol, parts):
    net, x = one_layer
    w = net.weight.detach().numpy()
    g = sum(t["g"] for t in _hand_terms(w, x.numpy(), parts))
    assert get_baseline("grad_norm")(net, x, protocol=protocol) == pytest.approx(np.linalg.norm(g))
    assert get_baseline("snip")(net, x, protocol=protocol) == pytest.approx(np.abs(w * g).sum())


def test_one_and_two_splits_differ(one_layer):
    net, x = one_layer
    w = net.weight.detach().numpy()
    one = np.linalg.norm(sum(t["g"] for t in _hand_terms(w, x.numpy(), 1)))
    two = np.linalg.norm(sum(t["g"] for t in _hand_terms(w, x.numpy(), 2)))
    assert not math.isclose(one, two, rel_tol=1e-3)  # the oracle can tell the protocols apart
    assert get_baseline("grad_norm")(net, x, protocol="naslib64") == pytest.approx(one)
    assert get_baseline("grad_norm")(net, x, protocol="cache") == pytest.approx(two)


def test_fisher_counts_each_channel_once_per_weight_under_naslib(one_layer):
    """Linear layer: a channel is an output unit with D weights; d_k = 0.5 mean_n (y_nk r_nk)^2."""
    net, x = one_layer
    w = net.weight.detach().numpy()
    (whole,) = _hand_terms(w, x.numpy(), 1)
    per_channel = 0.5 * ((whole["y"] * whole["r"]) ** 2).mean(axis=0)
    assert get_baseline("fisher")(net, x, protocol="naslib64") == pytest.approx(D * per_channel.sum())
    halves = _hand_terms(w, x.numpy(), 2)
    expected = sum((0.5 * ((t["y"] * t["r"]) ** 2).mean(axis=0)).sum() for t in halves)
    assert get_baseline("fisher")(net, x, protocol="cache") == pytest.approx(expected)


def test_grasp_of_one_linear_layer_is_zero_and_zico_still_gets_two_halves(one_layer):
    """L is piecewise linear in W (fixed residual signs), so H = 0 and GraSP = 0 under both;
    ZiCo reads two halves even when the protocol keeps the batch in one split."""
    net, x = one_layer
    for protocol in ("naslib64", "cache"):
        assert get_baseline("grasp")(net, x, protocol=protocol) == pytest.approx(0.0, abs=1e-12)
    w = net.weight.detach().numpy()
    a, b = (t["g"].ravel() for t in _hand_terms(w, x.numpy(), 2))
    std = np.abs(a - b) / 2
    keep = std > 0
    expected = math.log((((np.abs(a) + np.abs(b)) / 2)[keep] / std[keep]).sum())
    for protocol in ("naslib64", "cache"):
        assert get_baseline("zico")(net, x, protocol=protocol) == pytest.approx(expected)


def test_protocol_lookup_and_default():
    assert get_protocol().name == DEFAULT_PROTOCOL
    naslib = get_protocol("naslib")
    assert (naslib.batch, naslib.resolution, naslib.splits, naslib.train_mode) == (32, 256, 1, True)
    assert get_protocol(naslib) is naslib
    with pytest.raises(AutogasError, match="unknown baseline protocol"):
        get_protocol("nope")


@pytest.fixture(scope="module")
def tiny_cache(tmp_path_factory, macro_labels):
    out = tmp_path_factory.mktemp("protocol") / "tiny.h5"
    assert main(["bench", "build", "--space", "macro", "--labels", str(macro_labels), "--out",
                 str(out), "--limit", "3", "--batch", "4", "--resolution", "32",
                 "--max-dims", "64"]) == 0
    return out


def test_each_gradient_baseline_under_two_protocols_on_a_tiny_cache(tiny_cache, tmp_path):
    from autogas.baselines.runner import compute_on_cache
    from autogas.cache import FeatureCache

    path = tmp_path / "c.h5"
    shutil.copyfile(tiny_cache, path)
    archs = FeatureCache(path).archs[:2]
    cache_run = compute_on_cache(path, GRADIENT, archs=archs, protocol="cache", progress=False)
    naslib_run = compute_on_cache(path, GRADIENT, archs=archs, protocol="naslib64", net_batch=4,
                                  progress=False)
    assert cache_run.protocol == "cache" and naslib_run.protocol == "naslib64"
    assert cache_run.net_batch == naslib_run.net_batch == 4
    for run in (cache_run, naslib_run):
        assert np.isfinite(run.values.to_numpy()).all(), run.errors
        assert all(n == len(run.values) for n in run.computed.values())  # nothing reused
    # a different protocol sees other inputs (64x64 photos vs the cached 32x32 batch): values differ
    assert not np.allclose(cache_run.values["grad_norm"], naslib_run.values["grad_norm"])
    # the file keeps the values with their protocol: a rerun under the same one reads them,
    # another protocol recomputes
    again = compute_on_cache(path, ["grad_norm"], archs=archs, protocol="naslib64", net_batch=4,
                             progress=False)
    assert again.computed == {"grad_norm": 0}
    np.testing.assert_array_equal(again.values["grad_norm"], naslib_run.values["grad_norm"])
    other = compute_on_cache(path, ["grad_norm"], archs=archs, protocol="cache", progress=False)
    assert other.computed == {"grad_norm": 2}
    np.testing.assert_allclose(other.values["grad_norm"], cache_run.values["grad_norm"], rtol=1e-6)


def test_naslib_inputs_and_cli_protocol_errors(tiny_cache, capsys):
    from autogas.baselines.runner import network_inputs
    from autogas.cache import FeatureCache

    cache = FeatureCache(tiny_cache)
    assert tuple(network_inputs(cache, get_protocol("naslib")).shape) == (32, 3, 256, 256)
    assert tuple(network_inputs(cache, get_protocol("cache")).shape) == (4, 3, 32, 32)
    assert main(["baselines", "--bench", str(tiny_cache), "--protocol", "nope",
                 "--proxies", "snip"]) == 2
    assert "unknown baseline protocol 'nope'" in capsys.readouterr().err


def test_score_network_passes_the_protocol(one_layer):
    net, x = one_layer
    values = score_network(net, x, ["grad_norm", "fisher"], protocol="cache")
    assert values["grad_norm"].value == pytest.approx(get_baseline("grad_norm")(net, x, protocol="cache"))
    assert values["fisher"].value == pytest.approx(get_baseline("fisher")(net, x, protocol="cache"))
