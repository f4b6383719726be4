"""Each baseline proxy on a tiny network against a hand computation or an independent formula."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from autogas.baselines import get_baseline, list_baselines, register_baseline, score_network
from autogas.baselines.activation import zen_inputs, zen_network
from autogas.errors import AutogasError
from autogas.score.resolve import resolve_proxy

B, D, H = 4, 5, 3  # batch (two halves of 2), input width, hidden width


@pytest.fixture()
def linear_net():
    """x -> W2 W1 x without biases or nonlinearities, fixed float64 weights."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(D, H, bias=False), nn.Linear(H, D, bias=False)).double()
    x = torch.randn(B, D, dtype=torch.float64)
    return net, x


def _halves(x):
    return [x[:B // 2], x[B // 2:]]


def _linear_terms(net, x):
    """Per half s: residual sign weights r_s, hidden a1 = X W1^T, output y, and the L1 grads."""
    w1, w2 = (m.weight.detach().numpy() for m in net)
    terms = []
    for xs in _halves(x.numpy()):
        a1 = xs @ w1.T
        y = a1 @ w2.T
        r = np.sign(y - xs) / xs.size  # dL/dy of mean |y - x|
        terms.append({"x": xs, "a1": a1, "y": y, "r": r,
                      "g1": (r @ w2).T @ xs, "g2": r.T @ a1})
    return w1, w2, terms


def test_snip_plain_grad_norm_against_closed_form_gradients(linear_net):
    net, x = linear_net
    w1, w2, terms = _linear_terms(net, x)
    g1 = sum(t["g1"] for t in terms)
    g2 = sum(t["g2"] for t in terms)
    two = {"protocol": "cache"}  # two splits, per-channel Fisher (the halves of _linear_terms)
    assert get_baseline("snip")(net, x, **two) == pytest.approx(np.abs(w1 * g1).sum() + np.abs(w2 * g2).sum())
    assert get_baseline("plain")(net, x, **two) == pytest.approx((w1 * g1).sum() + (w2 * g2).sum())
    assert get_baseline("grad_norm")(net, x, **two) == pytest.approx(np.linalg.norm(g1) + np.linalg.norm(g2))


def test_fisher_closed_form(linear_net):
    net, x = linear_net
    w1, w2, terms = _linear_terms(net, x)
    expected = 0.0
    for t in terms:
        for act, grad in ((t["a1"], t["r"] @ w2), (t["y"], t["r"])):
            expected += 0.5 * ((act * grad) ** 2).mean(axis=0).sum()
    assert get_baseline("fisher")(net, x, protocol="cache") == pytest.approx(expected)


def test_grasp_closed_form_hessian_of_bilinear_loss(linear_net):
    """With the residual signs fixed, L is bilinear in (W1, W2): H has only cross blocks."""
    net, x = linear_net
    w1, w2, terms = _linear_terms(net, x)
    g1 = sum(t["g1"] for t in terms)
    g2 = sum(t["g2"] for t in terms)
    hg1 = sum(g2.T @ t["r"].T @ t["x"] for t in terms)
    hg2 = sum(t["r"].T @ t["x"] @ g1.T for t in terms)
    expected = -((w1 * hg1).sum() + (w2 * hg2).sum())
    assert get_baseline("grasp")(net, x, protocol="cache") == pytest.approx(expected)


def test_jacov_identical_rows_closed_form(linear_net):
    """Every sample's Jacobian is 1^T W2 W1, so corrcoef = all ones: eigenvalues B, 0, ..., 0."""
    net, x = linear_net
    k = 1e-5
    expected = -(math.log(B + k) + 1 / (B + k) + (B - 1) * (math.log(k) + 1 / k))
    assert get_baseline("jacov")(net, x) == pytest.approx(expected, rel=1e-6)


def test_zico_per_parameter_statistics_across_the_two_halves(linear_net):
    net, x = linear_net
    _, _, terms = _linear_terms(net, x)
    expected = 0.0
    for key in ("g1", "g2"):
        a, b = (t[key].ravel() for t in terms)
        std = np.abs(a - b) / 2  # population std of two values
        keep = std > 0
        expected += math.log(((np.abs(a) + np.abs(b)) / 2)[keep].__truediv__(std[keep]).sum())
    assert get_baseline("zico")(net, x) == pytest.approx(expected)


def test_zico_needs_two_batches():
    net = nn.Sequential(nn.Linear(D, D)).double()
    result = score_network(net, torch.randn(2, D, dtype=torch.float64), ["zico", "snip"])
    assert math.isnan(result["zico"].value) and "at least 2 batches" in result["zico"].error
    assert math.isfinite(result["snip"].value)


def test_synflow_linear_net_equals_twice_the_path_sum():
    """|W|-network on all-ones input: R = 1^T |W2| |W1| 1 and each layer's sum theta dR/dtheta = R.

    BatchNorm and the output tanh must be removed (with them in place, tanh saturates)."""
    torch.manual_seed(1)
    net = nn.Sequential(nn.Linear(D, H, bias=False), nn.BatchNorm1d(H), nn.ReLU(),
                        nn.Linear(H, D, bias=False), nn.Tanh())
    w1, w2 = net[0].weight.detach().double().numpy(), net[3].weight.detach().double().numpy()
    path_sum = np.ones(D) @ np.abs(w2) @ np.abs(w1) @ np.ones(D)
    before = [p.detach().clone() for p in net.parameters()]
    assert get_baseline("synflow")(net, torch.randn(B, D)) == pytest.approx(2 * path_sum, rel=1e-9)
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters()))


class TinyConv(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1)
        self.lrelu = nn.LeakyReLU(0.2)
        self.conv3 = nn.Conv2d(4, 3, 1)

    def forward(self, x):
        return self.conv3(self.lrelu(self.conv2(self.relu(self.conv1(x)))))


@pytest.fixture()
def conv_net():
    torch.manual_seed(2)
    return TinyConv().double(), torch.randn(B, 3, 6, 6, dtype=torch.float64)


@torch.no_grad()
def _preacts(net, x):
    a1 = F.conv2d(x, net.conv1.weight, net.conv1.bias, padding=1)
    a2 = F.conv2d(F.relu(a1), net.conv2.weight, net.conv2.bias, padding=1)
    return a1, a2


def test_nwot_is_slogdet_of_the_hamming_kernel_written_out(conv_net):
    net, x = conv_net
    k = np.zeros((B, B))
    for a in _preacts(net, x):
        c = (a.reshape(B, -1) > 0).double().numpy()
        k += np.array([[np.sum(c[i] == c[j]) for j in range(B)] for i in range(B)])
    assert get_baseline("nwot")(net, x) == pytest.approx(np.linalg.slogdet(k)[1], rel=1e-6)


def test_gram_slogdet_written_out(conv_net):
    net, x = conv_net
    k = sum(a.reshape(B, -1).numpy() @ a.reshape(B, -1).numpy().T for a in _preacts(net, x))
    assert get_baseline("gram_slogdet")(net, x) == pytest.approx(np.linalg.slogdet(k)[1], rel=1e-5)


def test_meco_min_eigenvalue_of_channel_correlations(conv_net):
    net, x = conv_net
    a1, a2 = _preacts(net, x)
    with torch.no_grad():
        y = net(x)
    outputs = [y, a1, F.relu(a1), a2, F.leaky_relu(a2, 0.2), y]  # root, then the leaves
    expected = 0.0
    for out in outputs:
        f = out[0].reshape(out.shape[1], -1).detach().numpy()
        corr = np.corrcoef(f)
        corr[~np.isfinite(corr)] = 0
        expected += np.real(np.linalg.eigvals(corr)).min()
    assert get_baseline("meco")(net, x) == pytest.approx(expected, abs=1e-9)


def test_meco_rank_deficient_layer_is_exactly_zero():
    from autogas.baselines.activation import meco_layer

    sample = np.random.default_rng(0).normal(size=(8, 4))  # 8 channels, 4 positions
    assert meco_layer(sample) == 0.0
    assert np.linalg.eigvalsh(np.corrcoef(sample))[0] == pytest.approx(0.0, abs=1e-12)


def test_zen_by_hand_including_running_variance_quirk():
    torch.manual_seed(3)
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                        nn.Conv2d(4, 2, 1))
    inputs = torch.randn(B, 3, 5, 5)
    value = get_baseline("zen")(net, inputs, seed=7)
    copy = zen_network(net, 7)
    assert torch.equal(copy[1].running_var, torch.ones(4)) and net[0].weight.abs().max() < 1
    x, mixed = zen_inputs(tuple(inputs.shape), 7)
    with torch.no_grad():
        h1, h2 = (F.conv2d(v, copy[0].weight, copy[0].bias, padding=1) for v in (x, mixed))
    var1, var2 = (h.transpose(0, 1).reshape(4, -1).var(dim=1, unbiased=True) for h in (h1, h2))
    running_var = 0.9 * (0.9 * 1 + 0.1 * var1) + 0.1 * var2  # momentum 0.1, two forwards
    with torch.no_grad():
        out1, out2 = copy(x), copy(mixed)  # the copy's BN statistics are irrelevant in train mode
    delta = (out1 - out2).abs().sum(dim=(1, 2, 3)).mean()
    expected = math.log(delta) + math.log(math.sqrt(running_var.mean()))
    assert value == pytest.approx(expected, rel=1e-4)


def test_l2_norm_sums_layer_norms(conv_net):
    net, x = conv_net
    expected = sum(np.linalg.norm(m.weight.detach().numpy()) for m in (net.conv1, net.conv2, net.conv3))
    assert get_baseline("l2_norm")(net, x) == pytest.approx(expected)


def test_params_and_flops_equal_the_stored_benchmark_counts(macro_labels):
    from autogas.transnas.labels import load_labels
    from autogas.transnas.network import build_network

    row = load_labels(macro_labels).loc["64-1314-basic"]
    net = build_network("64-1314-basic", seed=0)
    x = torch.zeros(2, 3, 32, 32)
    assert get_baseline("params")(net, x) == round(row["params"] * 1e6)
    assert get_baseline("flops")(net, x) == round(row["flops"] * 1e6)


def test_score_network_shares_passes_and_leaves_the_model_unchanged():
    torch.manual_seed(4)
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                        nn.Conv2d(4, 3, 3, padding=1)).train()
    x = torch.randn(B, 3, 6, 6)
    state = {k: v.clone() for k, v in net.state_dict().items()}
    names = [n for n in list_baselines() if n not in ("params", "flops")]
    together = score_network(net, x, names, seed=3)
    for name in names:
        alone = get_baseline(name)(net, x, seed=3)
        assert together[name].value == pytest.approx(alone, rel=1e-5, nan_ok=True), name
        assert together[name].seconds >= 0 and together[name].error is None, name
    assert all(torch.equal(state[k], v) for k, v in net.state_dict().items())
    assert all(p.requires_grad for p in net.parameters())


def test_registry_metadata_and_resolver():
    for name in list_baselines():
        b = get_baseline(name)
        assert b.definition and b.source and b.deviation and b.family
    assert {n for n in list_baselines() if get_baseline(n).needs_grad} == {
        "synflow", "snip", "grasp", "fisher", "grad_norm", "plain", "jacov", "zico"}
    assert resolve_proxy("nwot") is get_baseline("nwot")
    assert resolve_proxy("slogdet(ksum(gram(F)))").text == "slogdet(ksum(gram(F)))"
    with pytest.raises(AutogasError):
        get_baseline("nope")
    with pytest.raises(AutogasError):
        resolve_proxy("not_a_proxy(")


def test_register_more_baselines(monkeypatch):
    from autogas.baselines import registry

    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))

    @register_baseline("test_depth", family="data-free", source="test")
    def depth(probe) -> float:
        """number of prunable layers"""
        return float(len(probe.prunable()))

    net = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
    assert get_baseline("test_depth")(net, torch.zeros(1, 2)) == 2.0
    with pytest.raises(ValueError):
        register_baseline("test_depth", family="data-free", source="x")(depth)
