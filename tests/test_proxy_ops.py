"""Every built-in op against hand computations or an independent formula."""
import numpy as np
import pytest
import scipy.special
import scipy.stats
import torch

from autogas.measure.features import FeatureSet, LayerInfo
from autogas.proxy import Population, signatures
from autogas.proxy import ops as P

# B = 3 samples x d = 4 coordinates; sum 4 -> mean 1/3; sorted values give lower median 0.5
X = np.array([[1, -2, 0, 3], [0.5, 0.5, -1, 2], [-3, 1, 2, 0]], dtype=np.float32)
XS = X[None]  # a stack of one layer
ABOVE_MEAN = np.array([[1, 0, 0, 1], [1, 1, 0, 1], [0, 1, 1, 0]])
HAMMING = np.array([[4, 3, 0], [3, 4, 1], [0, 1, 4]], dtype=np.float64)  # det 24


def t(fn, x=XS):
    return np.asarray(fn(x))[0]


def test_elementwise_transforms_match_independent_formulas():
    x = X.astype(np.float64)
    tx = torch.from_numpy(X)
    sig = 1 / (1 + np.exp(-x))
    expected = {
        P.identity: x, P.relu: np.maximum(x, 0), P.swish: x * sig,
        P.mish: torch.nn.functional.mish(tx).numpy(), P.scale: (x + 1) / 2, P.exp: np.exp(x),
        P.sigmoid: sig, P.tanh: np.tanh(x), P.absolute: np.abs(x), P.square_features: x ** 2,
        P.leaky_relu: torch.nn.functional.leaky_relu(tx).numpy(),
        P.sqrt: np.sqrt(np.clip(x, 0, None)),
    }
    for fn, want in expected.items():
        np.testing.assert_allclose(t(fn), want, rtol=1e-6, atol=1e-6, err_msg=fn.__name__)
    # log_sign by hand: sign(x) log(1 + |x|); continuous at 0
    np.testing.assert_allclose(t(P.log_sign)[0], [np.log(2), -np.log(3), 0, np.log(4)], rtol=1e-6)


def test_axis_transforms():
    x = X.astype(np.float64)
    np.testing.assert_allclose(t(P.norm_sample), x / np.linalg.norm(x, axis=1, keepdims=True),
                               rtol=1e-6)
    np.testing.assert_allclose(t(P.norm_batch), x / np.linalg.norm(x, axis=0, keepdims=True),
                               rtol=1e-6)
    np.testing.assert_allclose(t(P.softmax_sample), scipy.special.softmax(x, axis=1), rtol=1e-6)
    np.testing.assert_allclose(t(P.softmax_batch), scipy.special.softmax(x, axis=0), rtol=1e-6)
    np.testing.assert_allclose(t(P.log_softmax_sample), scipy.special.log_softmax(x, axis=1),
                               rtol=1e-5)
    np.testing.assert_allclose(t(P.min_max_normalize), (x + 3) / 6, rtol=1e-6)
    bn = torch.nn.functional.batch_norm(torch.from_numpy(X), None, None, training=True, eps=1e-5)
    np.testing.assert_allclose(t(P.batchnorm), bn.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(t(P.standardize), (x - x.mean()) / x.std(), rtol=1e-6)


def test_degenerate_layers_give_zeros_not_nan():
    zero = np.zeros((1, 3, 4), dtype=np.float32)
    for fn in (P.norm_sample, P.norm_batch, P.min_max_normalize, P.standardize, P.batchnorm):
        assert np.array_equal(fn(zero), zero), fn.__name__


def test_stacked_layers_are_independent():
    both = np.stack([X, 10 * X + 5])
    for fn in (P.above_mean, P.above_median, P.min_max_normalize, P.standardize, P.hamming,
               P.pearson_code, P.mish):
        stacked = fn(both)
        np.testing.assert_allclose(stacked[1], fn(both[1:])[0], rtol=1e-6, err_msg=fn.__name__)


def test_encodings_by_hand():
    assert np.array_equal(t(P.above_mean), ABOVE_MEAN)
    assert np.array_equal(t(P.above_median),
                          [[1, 0, 0, 1], [0, 0, 0, 1], [0, 1, 1, 0]])  # threshold 0.5
    assert np.array_equal(t(P.above_zero), X > 0)
    assert np.array_equal(t(P.sign), np.sign(X))
    batch_mean = X.mean(axis=0)
    assert np.array_equal(t(P.above_batch_mean), X > batch_mean)


def test_kernels_by_hand():
    code = ABOVE_MEAN[None].astype(np.float32)
    np.testing.assert_array_equal(P.gram_code(code)[0], [[2, 2, 0], [2, 3, 1], [0, 1, 2]])
    np.testing.assert_array_equal(P.hamming(code)[0], HAMMING)
    # sign codes {-1, 0, 1}: agreements 2, 0, 1 off the diagonal
    np.testing.assert_array_equal(P.hamming(np.sign(XS))[0], [[4, 2, 0], [2, 4, 1], [0, 1, 4]])
    x = X.astype(np.float64)
    np.testing.assert_allclose(P.gram_features(XS)[0], x @ x.T)
    assert P.gram_features(XS).dtype == np.float64
    np.testing.assert_allclose(P.pearson_features(XS)[0], np.corrcoef(x), rtol=1e-12)
    norms = np.linalg.norm(x, axis=1)
    np.testing.assert_allclose(P.cosine_features(XS)[0], x @ x.T / np.outer(norms, norms),
                               rtol=1e-12)
    c = ABOVE_MEAN.astype(np.float64)
    np.testing.assert_allclose(P.pearson_code(code)[0], np.corrcoef(c), rtol=1e-12)
    np.testing.assert_allclose(P.pearson_code(np.sign(XS))[0], np.corrcoef(np.sign(x)),
                               rtol=1e-12)
    counts = np.sqrt(c.sum(axis=1))
    np.testing.assert_allclose(P.cosine_code(code)[0], c @ c.T / np.outer(counts, counts),
                               rtol=1e-12)


def test_similarity_kernels_guard_zero_rows():
    x = np.array([[[1, 1, 1], [1, 2, 3], [0, 0, 0]]], dtype=np.float32)
    for pearson in (P.pearson_features, P.pearson_code):
        k = pearson(x)[0]
        assert np.isfinite(k).all() and np.array_equal(np.diag(k), [1, 1, 1])
        assert k[0, 1] == 0 and k[1, 2] == 0
    for cosine in (P.cosine_features, P.cosine_code):
        c = cosine(x)[0]
        assert c[2, 0] == 0 and c[2, 2] == 1 and c[0, 1] == pytest.approx(6 / np.sqrt(3 * 14))


def _layers(counts=(1,), dims=None, parts=None):
    """A LayerTable through the public Population (B = 3, d = 4)."""
    n = sum(counts)
    dims = dims or [8] * n
    parts = parts or ["encoder"] * n
    rng = np.random.default_rng(0)
    infos = [LayerInfo(f"l{i}", parts[i], 1, 1, dims[i], dims[i], 0.1 * i, 1.0 + i, 0.5)
             for i in range(n)]
    sets, start = [], 0
    for c in counts:
        sets.append(FeatureSet([rng.normal(size=(3, 4)).astype(np.float32) for _ in range(c)],
                               infos[start:start + c]))
        start += c
    return Population(sets).layers


def test_kernel_maps_by_hand():
    k = HAMMING[None]
    layers = _layers(dims=[8])
    np.testing.assert_allclose(P.per_dim(k, layers)[0], HAMMING / 8)
    np.testing.assert_allclose(P.unit_trace(k, layers)[0], HAMMING * 3 / 12)
    np.testing.assert_allclose(P.unit_diag(k, layers)[0], HAMMING / 4)
    h = np.eye(3) - 1 / 3
    np.testing.assert_allclose(P.center(k, layers)[0], h @ HAMMING @ h, atol=1e-12)
    np.testing.assert_allclose(P.square_kernel(k, layers)[0], HAMMING ** 2)
    want = np.where(HAMMING == 0, 0, np.log(np.where(HAMMING == 0, 1, HAMMING)))
    np.testing.assert_allclose(P.abslog_kernel(k, layers)[0], want)


def test_reductions_by_hand():
    k = HAMMING[None]
    eig = np.linalg.eigvalsh(k)
    assert P.slogdet(eig)[0] == pytest.approx(np.log(24))
    assert P.logabsdet(eig)[0] == pytest.approx(np.log(24))
    assert P.trace(k)[0] == 12
    assert P.frobenius(k)[0] == pytest.approx(np.sqrt(68))
    assert P.mean_entries(k)[0] == pytest.approx(20 / 9)
    assert P.eig_max(eig)[0] == pytest.approx(eig[0, -1])
    assert P.eig_min(eig)[0] == pytest.approx(eig[0, 0])
    assert P.spectral_norm(eig)[0] == pytest.approx(np.linalg.norm(HAMMING, 2))
    assert P.log_cond(eig)[0] == pytest.approx(np.log(np.linalg.cond(HAMMING)))
    ident = np.linalg.eigvalsh(np.eye(3)[None])
    assert P.eig_entropy(ident)[0] == pytest.approx(np.log(3))


def test_reductions_guard_singular_and_indefinite():
    singular = np.linalg.eigvalsh(np.ones((1, 2, 2)))
    indefinite = np.linalg.eigvalsh(np.array([[[0.0, 1.0], [1.0, 0.0]]]))  # det -1
    with np.errstate(all="ignore"):
        assert np.isnan(P.slogdet(singular)[0]) and np.isnan(P.logabsdet(singular)[0])
        assert np.isnan(P.slogdet(indefinite)[0]) and np.isnan(P.log_cond(indefinite)[0])
        assert P.logabsdet(indefinite)[0] == pytest.approx(0.0)
        assert np.isnan(P.eig_entropy(np.zeros((1, 3))))[0]


def test_augments():
    v = np.array([-2.0, 0.5, 3.0])
    with np.errstate(all="ignore"):
        np.testing.assert_allclose(P.square(v), [4, 0.25, 9])
        np.testing.assert_allclose(P.abslog(v), np.log([2, 0.5, 3]))
        assert np.isnan(P.log(v)[0]) and np.isnan(P.sqrt_value(v)[0])
        assert np.isinf(P.reciprocal(np.array([0.0])))[0] and np.isinf(P.abslog(np.zeros(1)))[0]
    np.testing.assert_allclose(P.neg(v), -v)
    np.testing.assert_allclose(P.abs_value(v), [2, 0.5, 3])
    np.testing.assert_allclose(P.exp_value(v), np.exp(v))
    np.testing.assert_allclose(P.tanh_value(v), np.tanh(v))
    np.testing.assert_allclose(P.sigmoid_value(v), scipy.special.expit(v))


def test_aggregations_and_statistics_by_hand():
    layers = _layers(counts=(2, 3), dims=[4, 8, 6, 4, 10],
                     parts=["encoder", "decoder", "decoder", "decoder", "decoder"])
    v = np.array([1.0, 3.0, 2.0, 4.0, 6.0])
    np.testing.assert_allclose(P.sum_layers(v, layers), [4, 12])
    np.testing.assert_allclose(P.mean_layers(v, layers), [2, 4])
    np.testing.assert_allclose(P.l2_norm_layers(v, layers), [np.sqrt(10), np.sqrt(56)])
    np.testing.assert_allclose(P.max_layers(v, layers), [3, 6])
    np.testing.assert_allclose(P.min_layers(v, layers), [1, 2])
    np.testing.assert_allclose(P.depth_weighted(v, layers), [(1 + 6) / 3, (2 + 8 + 18) / 6])
    np.testing.assert_allclose(P.size_weighted(v, layers), [(4 + 24) / 12, (12 + 16 + 60) / 20])
    np.testing.assert_allclose(P.decoder_mean(v, layers), [3, 4])
    enc = P.encoder_mean(v, layers)
    assert enc[0] == 1 and np.isnan(enc[1])
    np.testing.assert_allclose(P.n_layers(layers), [2, 3])
    np.testing.assert_allclose(P.n_encoder(layers), [1, 0])
    np.testing.assert_allclose(P.n_decoder(layers), [1, 3])
    np.testing.assert_allclose(P.log_dims(layers), np.log([12, 20]))
    np.testing.assert_allclose(P.layer_depth(layers), [0.5, 1, 1 / 3, 2 / 3, 1])
    np.testing.assert_allclose(P.layer_log_dims(layers), np.log([4, 8, 6, 4, 10]))
    np.testing.assert_allclose(P.layer_std(layers), [1, 2, 3, 4, 5])
    np.testing.assert_allclose(P.layer_frac_positive(layers), [0.5] * 5)
    k = np.stack([np.eye(2) * i for i in range(1, 6)])
    np.testing.assert_allclose(P.ksum(k, layers), [np.eye(2) * 3, np.eye(2) * 12])
    np.testing.assert_allclose(P.kmean(k, layers), [np.eye(2) * 1.5, np.eye(2) * 4])


def test_population_combines():
    a = np.array([3.0, 1.0, 3.0, 2.0])
    np.testing.assert_allclose(P.rank_normalize(a), (scipy.stats.rankdata(a) - 1) / 3)
    b = np.array([1.0, 2.0, 3.0, 4.0])
    np.testing.assert_allclose(P.rank_add(a, b), P.rank_normalize(a) + np.arange(4) / 3)
    np.testing.assert_allclose(P.z_add(a, b), scipy.stats.zscore(a) + scipy.stats.zscore(b))
    assert np.isnan(P.z_add(np.ones(4), b)).all()
    np.testing.assert_allclose(P.add(a, b), a + b)
    np.testing.assert_allclose(P.mul(a, b), a * b)


def test_every_registered_builtin_is_tested_somewhere():
    """Guard against adding an op without a test: names below are all exercised above."""
    import inspect
    source = inspect.getsource(inspect.getmodule(test_augments))
    untested = [s.fn.__name__ for s in signatures()
                if s.fn.__module__ == P.__name__ and f"P.{s.fn.__name__}" not in source]
    assert not untested
