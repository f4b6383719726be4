"""Built-in operations of the proxy language (exact definitions; see registry.STAGES for types).

Conventions. A feature stack ``x`` is float32 ``(n, B, d)``: ``n`` layers, each a ``B x d``
matrix (batch x subsampled coordinates). "Per layer" statistics run over the last two axes,
"per sample" over the last axis, "over the batch" over axis -2. Divisions whose denominator is
exactly zero (a constant layer, an all-zero row) return 0 for that entry, because the numerator
is then 0 too. Kernels, reductions and everything after them are float64. Any NaN/inf an op
produces makes the proxy invalid (the evaluator checks every op's output).

Mapping to the paper's four stages: transform = ``transform``; encoding = ``encoding`` (binary
codes) followed by ``kernel`` (gram / hamming / pearson: the ``B x B`` matrix); reduction =
``kernel_map`` / ``kernel_aggregation`` / ``reduction``; augment = ``augment``, ``aggregation``
(the paper's sum / mean / l2-norm over layer scores), ``arithmetic`` and ``combine``. The
paper's "pow" is ``square``; its "abslog" reduction is ``logabsdet`` (the elementwise
``abslog`` of the released code exists as a kernel map and as an augment); its "eigenvalue" is
``eig_max`` / ``eig_min``.
"""
from __future__ import annotations

import numpy as np

from autogas.proxy.population import LayerTable
from autogas.proxy.registry import CODE, FEATURES, register_op

LAYER_AXES = (-2, -1)
BN_EPS = 1e-5  # BatchNorm's default epsilon
LEAKY_SLOPE = 0.01  # torch's default negative slope


def _nonzero(denominator: np.ndarray) -> np.ndarray:
    """``denominator`` with exact zeros replaced by 1 (their numerators are 0)."""
    return np.where(denominator == 0, 1, denominator)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """Overflow-free logistic function."""
    return 0.5 * (1 + np.tanh(0.5 * x))


def _softmax(x: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


# ----------------------------------------------------------------------------- transforms
@register_op("transform", "identity")
def identity(x):
    """x"""
    return x


@register_op("transform", "relu")
def relu(x):
    """max(x, 0)"""
    return np.maximum(x, 0)


@register_op("transform", "swish")
def swish(x):
    """x * sigmoid(x)"""
    return x * _sigmoid(x)


@register_op("transform", "mish")
def mish(x):
    """x * tanh(softplus(x)), softplus(x) = log(1 + e^x)"""
    # tanh(log(1 + e)) = n / (n + 2) with n = e (e + 2), e = e^x; for x > 20 it is 1 in float32
    e = np.exp(np.minimum(x, 20))
    n = e * (e + 2)
    return x * (n / (n + 2))


@register_op("transform", "scale")
def scale(x):
    """(x + 1) / 2"""
    return (x + 1) * 0.5


@register_op("transform", "exp")
def exp(x):
    """e^x (overflow makes the proxy invalid)"""
    return np.exp(x)


@register_op("transform", "sigmoid")
def sigmoid(x):
    """1 / (1 + e^-x)"""
    return _sigmoid(x)


@register_op("transform", "tanh")
def tanh(x):
    """tanh(x)"""
    return np.tanh(x)


@register_op("transform", "abs")
def absolute(x):
    """|x|"""
    return np.abs(x)


@register_op("transform", "square")
def square_features(x):
    """x^2"""
    return x * x


@register_op("transform", "leaky_relu")
def leaky_relu(x):
    """x if x > 0 else 0.01 x"""
    return np.where(x > 0, x, x * LEAKY_SLOPE)


@register_op("transform", "log_sign")
def log_sign(x):
    """sign(x) * log(1 + |x|) (continuous; the released code's log jumps at 0)"""
    return np.sign(x) * np.log1p(np.abs(x))


@register_op("transform", "sqrt")
def sqrt(x):
    """sqrt(max(x, 0))"""
    return np.sqrt(np.maximum(x, 0))


@register_op("transform", "norm_sample")
def norm_sample(x):
    """L2-normalise each sample's feature vector (zero vectors stay 0)"""
    return x / _nonzero(np.sqrt((x * x).sum(axis=-1, keepdims=True)))


@register_op("transform", "norm_batch")
def norm_batch(x):
    """L2-normalise each coordinate over the batch (zero columns stay 0)"""
    return x / _nonzero(np.sqrt((x * x).sum(axis=-2, keepdims=True)))


@register_op("transform", "softmax_sample")
def softmax_sample(x):
    """softmax over the coordinates of each sample"""
    return _softmax(x, -1)


@register_op("transform", "softmax_batch")
def softmax_batch(x):
    """softmax over the batch, per coordinate"""
    return _softmax(x, -2)


@register_op("transform", "log_softmax_sample")
def log_softmax_sample(x):
    """log-softmax over the coordinates of each sample"""
    shifted = x - x.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


@register_op("transform", "min_max_normalize")
def min_max_normalize(x):
    """(x - min) / (max - min) over the layer's B x d values (constant layer -> 0)"""
    lo = x.min(axis=LAYER_AXES, keepdims=True)
    return (x - lo) / _nonzero(x.max(axis=LAYER_AXES, keepdims=True) - lo)


@register_op("transform", "batchnorm")
def batchnorm(x):
    """(x - mean_batch) / sqrt(var_batch + 1e-5) per coordinate (BatchNorm in train mode)"""
    centred = x - x.mean(axis=-2, keepdims=True)
    return centred / np.sqrt((centred * centred).mean(axis=-2, keepdims=True) + BN_EPS)


@register_op("transform", "standardize")
def standardize(x):
    """(x - mean) / std over the layer's B x d values (constant layer -> 0)"""
    centred = x - x.mean(axis=LAYER_AXES, keepdims=True)
    return centred / _nonzero(np.sqrt((centred * centred).mean(axis=LAYER_AXES, keepdims=True)))


# ----------------------------------------------------------------------------- encodings
@register_op("encoding", "sign")
def sign(x):
    """sign(x) in {-1, 0, 1}"""
    return np.sign(x).astype(np.float32)


@register_op("encoding", "above_zero")
def above_zero(x):
    """1[x > 0]"""
    return (x > 0).astype(np.float32)


@register_op("encoding", "above_mean")
def above_mean(x):
    """1[x > mean of the layer's B x d values]"""
    return (x > x.mean(axis=LAYER_AXES, keepdims=True, dtype=np.float64)).astype(np.float32)


@register_op("encoding", "above_median")
def above_median(x):
    """1[x > median of the layer's B x d values] (lower median for an even count, as torch)"""
    flat = x.reshape(x.shape[0], -1)
    # a full sort: np.partition degrades badly on the many ties of e.g. relu outputs
    median = np.sort(flat, axis=1)[:, (flat.shape[1] - 1) // 2]
    return (x > median[:, None, None]).astype(np.float32)


@register_op("encoding", "above_batch_mean")
def above_batch_mean(x):
    """1[x > mean over the batch of the same coordinate]"""
    return (x > x.mean(axis=-2, keepdims=True, dtype=np.float64)).astype(np.float32)


# ----------------------------------------------------------------------------- kernels
def _matmul_t(x: np.ndarray) -> np.ndarray:
    return np.matmul(x, np.swapaxes(x, -1, -2))


def _normalise_kernel(k: np.ndarray) -> np.ndarray:
    """K_ij / sqrt(K_ii K_jj); entries with a non-positive diagonal factor -> 0; diagonal 1."""
    root = np.sqrt(np.maximum(np.diagonal(k, axis1=-2, axis2=-1), 0))
    out = k / _nonzero(root[..., :, None] * root[..., None, :])
    diagonal = np.arange(k.shape[-1])
    out[..., diagonal, diagonal] = 1.0
    return out


def _code_gram(c: np.ndarray) -> np.ndarray:
    """C C^T of codes: integer counts, exact in float32 for d < 2^24, returned as float64."""
    return _matmul_t(c).astype(np.float64)


@register_op("kernel", "gram", inputs=(FEATURES,), extensive=True)
def gram_features(x):
    """X X^T in float64"""
    x = x.astype(np.float64)
    return _matmul_t(x)


@register_op("kernel", "gram", inputs=(CODE,), extensive=True)
def gram_code(c):
    """C C^T (integer counts)"""
    return _code_gram(c)


@register_op("kernel", "hamming", inputs=(CODE,), extensive=True)
def hamming(c):
    """number of coordinates where two samples' codes agree (= d - Hamming distance)"""
    d = c.shape[-1]
    if not (c < 0).any():  # binary: CC^T + (1-C)(1-C)^T = 2 CC^T + d - r_i - r_j
        r = c.sum(axis=-1, dtype=np.float64)
        return 2 * _code_gram(c) + d - r[..., :, None] - r[..., None, :]
    total = np.zeros(c.shape[:-1] + (c.shape[-2],), dtype=np.float64)
    for indicator in (c > 0, c == 0, c < 0):
        total += _code_gram(indicator.astype(np.float32))
    return total


@register_op("kernel", "pearson", inputs=(FEATURES,))
def pearson_features(x):
    """Pearson correlation between samples across coordinates (zero-variance row -> 0, diag 1)"""
    centred = x - x.mean(axis=-1, keepdims=True, dtype=np.float64)
    return _normalise_kernel(_matmul_t(centred))


@register_op("kernel", "pearson", inputs=(CODE,))
def pearson_code(c):
    """Pearson (phi) correlation between samples' codes (constant row -> 0, diag 1)"""
    d = c.shape[-1]
    g = _code_gram(c)
    m = c.sum(axis=-1, dtype=np.float64)
    return _normalise_kernel(g - m[..., :, None] * m[..., None, :] / d)


@register_op("kernel", "cosine", inputs=(FEATURES,))
def cosine_features(x):
    """cosine similarity between samples (zero row -> 0, diag 1)"""
    return _normalise_kernel(_matmul_t(x.astype(np.float64)))


@register_op("kernel", "cosine", inputs=(CODE,))
def cosine_code(c):
    """cosine similarity between samples' codes (zero row -> 0, diag 1)"""
    return _normalise_kernel(_code_gram(c))


# ----------------------------------------------------------------------------- kernel maps
@register_op("kernel_map", "per_dim")
def per_dim(k, layers: LayerTable):
    """K_l / dims_l (the kernel per coordinate of the full layer)"""
    return k / layers.dims[:, None, None]


@register_op("kernel_map", "unit_trace")
def unit_trace(k, layers: LayerTable):
    """K_l * B / trace(K_l) (mean diagonal 1; zero trace -> 0)"""
    trace = np.trace(k, axis1=-2, axis2=-1)
    return k * (k.shape[-1] / _nonzero(trace))[:, None, None]


@register_op("kernel_map", "unit_diag")
def unit_diag(k, layers: LayerTable):
    """K_ij / sqrt(K_ii K_jj) (non-positive diagonal entry -> 0 off-diagonal, diag 1)"""
    return _normalise_kernel(k)


@register_op("kernel_map", "center")
def center(k, layers: LayerTable):
    """H K H with H = I - 11^T/B (double centring, as in HSIC/CKA)"""
    return (k - k.mean(axis=-1, keepdims=True) - k.mean(axis=-2, keepdims=True)
            + k.mean(axis=LAYER_AXES, keepdims=True))


@register_op("kernel_map", "square")
def square_kernel(k, layers: LayerTable):
    """elementwise K_ij^2"""
    return k * k


@register_op("kernel_map", "abslog")
def abslog_kernel(k, layers: LayerTable):
    """elementwise log|K_ij|, with 0 -> 0 (the released code's abslog)"""
    a = np.abs(k)
    return np.log(np.where(a == 0, 1, a))


# ----------------------------------------------------------------------------- kernel aggregation
@register_op("kernel_aggregation", "ksum")
def ksum(k, layers: LayerTable):
    """sum of the layer kernels of each architecture (the released code's aggregation)"""
    return layers.segment_sum(k)


@register_op("kernel_aggregation", "kmean")
def kmean(k, layers: LayerTable):
    """mean of the layer kernels of each architecture"""
    return layers.segment_mean(k)


# ----------------------------------------------------------------------------- reductions
def _singular(eig: np.ndarray) -> np.ndarray:
    """True where the smallest |eigenvalue| is below numpy's matrix_rank tolerance."""
    amax = np.abs(eig).max(axis=-1)
    return np.abs(eig).min(axis=-1) <= amax * eig.shape[-1] * np.finfo(np.float64).eps


@register_op("reduction", "slogdet", spectral=True)
def slogdet(eig):
    """log det K; det <= 0 or numerically singular -> invalid"""
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.log(eig).sum(axis=-1)
    return np.where(_singular(eig) | (eig.min(axis=-1) <= 0), np.nan, value)


@register_op("reduction", "logabsdet", spectral=True)
def logabsdet(eig):
    """log |det K| (sign ignored); numerically singular -> invalid"""
    with np.errstate(divide="ignore"):
        value = np.log(np.abs(eig)).sum(axis=-1)
    return np.where(_singular(eig), np.nan, value)


@register_op("reduction", "eig_max", spectral=True)
def eig_max(eig):
    """largest eigenvalue"""
    return eig[..., -1]


@register_op("reduction", "eig_min", spectral=True)
def eig_min(eig):
    """smallest eigenvalue"""
    return eig[..., 0]


@register_op("reduction", "spectral_norm", spectral=True)
def spectral_norm(eig):
    """largest |eigenvalue| (the spectral norm of a symmetric matrix)"""
    return np.abs(eig).max(axis=-1)


@register_op("reduction", "log_cond", spectral=True)
def log_cond(eig):
    """log(lambda_max / lambda_min); lambda_min <= 0 or singular -> invalid"""
    bad = _singular(eig) | (eig[..., 0] <= 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(bad, np.nan, np.log(eig[..., -1] / eig[..., 0]))


@register_op("reduction", "eig_entropy", spectral=True)
def eig_entropy(eig):
    """-sum p log p of p = max(lambda, 0) / sum (von Neumann entropy); zero spectrum -> invalid"""
    pos = np.maximum(eig, 0)
    total = pos.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = pos / total
        terms = np.where(p > 0, p * np.log(np.where(p > 0, p, 1)), 0.0)
    return np.where(total[..., 0] > 0, -terms.sum(axis=-1), np.nan)


@register_op("reduction", "trace")
def trace(k):
    """sum of the diagonal"""
    return np.trace(k, axis1=-2, axis2=-1)


@register_op("reduction", "frobenius")
def frobenius(k):
    """sqrt(sum K_ij^2)"""
    return np.sqrt((k * k).sum(axis=LAYER_AXES))


@register_op("reduction", "mean")
def mean_entries(k):
    """mean of all entries"""
    return k.mean(axis=LAYER_AXES)


# ----------------------------------------------------------------------------- augments
@register_op("augment", "abs")
def abs_value(v):
    """|v|"""
    return np.abs(v)


@register_op("augment", "square")
def square(v):
    """v^2 (the paper's pow)"""
    return v * v


@register_op("augment", "sqrt")
def sqrt_value(v):
    """sqrt(v); v < 0 -> invalid"""
    return np.sqrt(v)


@register_op("augment", "log")
def log(v):
    """log(v); v <= 0 -> invalid"""
    return np.log(v)


@register_op("augment", "abslog")
def abslog(v):
    """log|v|; v == 0 -> invalid"""
    return np.log(np.abs(v))


@register_op("augment", "exp")
def exp_value(v):
    """e^v; overflow -> invalid"""
    return np.exp(v)


@register_op("augment", "neg")
def neg(v):
    """-v"""
    return -v


@register_op("augment", "reciprocal")
def reciprocal(v):
    """1 / v; v == 0 -> invalid"""
    return 1.0 / v


@register_op("augment", "sigmoid")
def sigmoid_value(v):
    """1 / (1 + e^-v)"""
    return _sigmoid(v)


@register_op("augment", "tanh")
def tanh_value(v):
    """tanh(v)"""
    return np.tanh(v)


# ----------------------------------------------------------------------------- aggregations
@register_op("aggregation", "sum")
def sum_layers(v, layers: LayerTable):
    """sum over layers"""
    return layers.segment_sum(v)


@register_op("aggregation", "mean")
def mean_layers(v, layers: LayerTable):
    """mean over layers"""
    return layers.segment_mean(v)


@register_op("aggregation", "l2_norm")
def l2_norm_layers(v, layers: LayerTable):
    """sqrt(sum over layers of v^2)"""
    return np.sqrt(layers.segment_sum(v * v))


@register_op("aggregation", "max")
def max_layers(v, layers: LayerTable):
    """max over layers"""
    return layers.segment_max(v)


@register_op("aggregation", "min")
def min_layers(v, layers: LayerTable):
    """min over layers"""
    return layers.segment_min(v)


@register_op("aggregation", "depth_weighted")
def depth_weighted(v, layers: LayerTable):
    """mean over layers weighted by depth 1, 2, ..., L"""
    return layers.weighted_mean(v, layers.position + 1.0)


@register_op("aggregation", "size_weighted")
def size_weighted(v, layers: LayerTable):
    """mean over layers weighted by the full layer size dims_l"""
    return layers.weighted_mean(v, layers.dims)


@register_op("aggregation", "encoder_mean")
def encoder_mean(v, layers: LayerTable):
    """mean over encoder layers (none -> invalid)"""
    return layers.weighted_mean(v, (layers.part == "encoder").astype(np.float64))


@register_op("aggregation", "decoder_mean")
def decoder_mean(v, layers: LayerTable):
    """mean over decoder layers (none -> invalid)"""
    return layers.weighted_mean(v, (layers.part == "decoder").astype(np.float64))


# ----------------------------------------------------------------------------- arithmetic
@register_op("arithmetic", "add", commutative=True)
def add(a, b):
    """a + b"""
    return a + b


@register_op("arithmetic", "mul", commutative=True)
def mul(a, b):
    """a * b"""
    return a * b


# ----------------------------------------------------------------------------- population combine
def rank_normalize(v: np.ndarray) -> np.ndarray:
    """Average ranks (ties share their mean rank) scaled to [0, 1]; constant -> 0.5."""
    order = np.argsort(v, kind="stable")
    ranks = np.empty(len(v), dtype=np.float64)
    ranks[order] = np.arange(len(v), dtype=np.float64)
    _, inverse, counts = np.unique(v, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=ranks)
    averaged = sums[inverse] / counts[inverse]
    return averaged / (len(v) - 1) if len(v) > 1 else np.full(len(v), 0.5)


def z_normalize(v: np.ndarray) -> np.ndarray:
    """(v - mean) / std over the split (population std); constant -> invalid."""
    std = v.std()
    return (v - v.mean()) / std if std > 0 else np.full(len(v), np.nan)


@register_op("combine", "rank_add", commutative=True)
def rank_add(a, b):
    """rank(a) + rank(b), ranks over the architectures of the split scaled to [0, 1]"""
    return rank_normalize(a) + rank_normalize(b)


@register_op("combine", "z_add", commutative=True)
def z_add(a, b):
    """z(a) + z(b), z-scores over the architectures of the split (constant branch -> invalid)"""
    return z_normalize(a) + z_normalize(b)


# ----------------------------------------------------------------------------- statistics
@register_op("statistic", "n_layers")
def n_layers(layers: LayerTable):
    """number of feature layers"""
    return layers.counts.astype(np.float64)


@register_op("statistic", "n_encoder")
def n_encoder(layers: LayerTable):
    """number of encoder feature layers"""
    return layers.segment_sum((layers.part == "encoder").astype(np.float64))


@register_op("statistic", "n_decoder")
def n_decoder(layers: LayerTable):
    """number of decoder feature layers"""
    return layers.segment_sum((layers.part == "decoder").astype(np.float64))


@register_op("statistic", "log_dims")
def log_dims(layers: LayerTable):
    """log of the total feature size sum_l dims_l"""
    return np.log(layers.segment_sum(layers.dims))


@register_op("layer_statistic", "layer_log_dims")
def layer_log_dims(layers: LayerTable):
    """log dims_l"""
    return np.log(layers.dims)


@register_op("layer_statistic", "layer_depth")
def layer_depth(layers: LayerTable):
    """relative depth (position + 1) / L"""
    return (layers.position + 1.0) / layers.counts[layers.arch]


@register_op("layer_statistic", "layer_std")
def layer_std(layers: LayerTable):
    """standard deviation of the full layer tensor"""
    return layers.std.copy()


@register_op("layer_statistic", "layer_frac_positive")
def layer_frac_positive(layers: LayerTable):
    """fraction of positive entries of the full layer tensor"""
    return layers.frac_positive.copy()
