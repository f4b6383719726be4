"""FID and KID, and the Inception-v3 feature extractor they are defined with.

Neither clean-fid nor torch-fidelity imports here (both need torchvision, which does not
load beside this torch build), so the math is implemented directly:

* **FID** (Heusel et al. 2017): ``|mu1 - mu2|^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2))`` on the
  feature means and covariances (``ddof = 1``), the matrix square root by
  :func:`scipy.linalg.sqrtm` (pytorch-fid's recipe: a small ridge if the product is singular,
  the real part if round-off leaves an imaginary one).
* **KID** (Binkowski et al. 2018): the unbiased MMD^2 estimate with the polynomial kernel
  ``k(x, y) = (x.y / d + 1)^3``, averaged over random subsets (torch-fidelity's defaults:
  100 subsets of 1000; the subset size is capped at the smaller set).

Features come from any :data:`FeatureExtractor`: a callable mapping a ``uint8`` batch
``N x 3 x H x W`` to ``N x D`` features. The standard one is :class:`InceptionV3Features`,
the FID port of TensorFlow's 2015-12-05 Inception-v3 (pool3, 2048-d) with pytorch-fid's
preprocessing (bilinear resize to 299, scale to [-1, 1]); its weights are never downloaded:
they load from a local file (:func:`inception_weights_path`).
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
import scipy.linalg
import torch
from torch import nn
from torch.nn import functional as F

from autogas.errors import AutogasError
from autogas.torchfile import load_torch_file

FeatureExtractor = Callable[[torch.Tensor], torch.Tensor]
INCEPTION_ENV = "AUTOGAS_INCEPTION_WEIGHTS"
INCEPTION_FILE = "pt_inception-2015-12-05-6726825d.pth"


# --- FID ------------------------------------------------------------------------------
def feature_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance (``ddof = 1``) of ``N x D`` features; needs ``N >= 2``."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or features.shape[0] < 2:
        raise AutogasError(f"FID needs at least 2 images, got features of shape {features.shape}")
    return features.mean(axis=0), np.atleast_2d(np.cov(features, rowvar=False))


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray,
                     *, eps: float = 1e-6) -> float:
    """Fréchet distance between ``N(mu1, sigma1)`` and ``N(mu2, sigma2)``."""
    mu1, mu2 = np.atleast_1d(mu1).astype(np.float64), np.atleast_1d(mu2).astype(np.float64)
    sigma1, sigma2 = np.atleast_2d(sigma1).astype(np.float64), np.atleast_2d(sigma2).astype(np.float64)
    with warnings.catch_warnings():  # fewer images than dimensions make S1 S2 singular: expected
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        covmean = scipy.linalg.sqrtm(sigma1 @ sigma2)
        if not np.isfinite(covmean).all():
            offset = np.eye(sigma1.shape[0]) * eps
            covmean = scipy.linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3 * max(1.0, np.abs(covmean).max())):
            raise ArithmeticError(f"FID: imaginary part {np.abs(covmean.imag).max():.3g} in sqrtm")
        covmean = covmean.real
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))


def fid_from_features(features1: np.ndarray, features2: np.ndarray) -> float:
    """FID between two ``N x D`` feature sets."""
    return frechet_distance(*feature_statistics(features1), *feature_statistics(features2))


# --- KID ------------------------------------------------------------------------------
def polynomial_kernel(x: np.ndarray, y: np.ndarray, *, degree: int = 3, gamma: float | None = None,
                      coef0: float = 1.0) -> np.ndarray:
    """``(gamma x.y + coef0)^degree`` for all pairs; ``gamma`` defaults to ``1 / D``."""
    gamma = 1.0 / x.shape[1] if gamma is None else gamma
    return (x @ y.T * gamma + coef0) ** degree


def mmd2_unbiased(x: np.ndarray, y: np.ndarray, **kernel_options) -> float:
    """Unbiased MMD^2 of two equal-size samples (diagonal terms of K_xx, K_yy left out)."""
    m = x.shape[0]
    k_xx = polynomial_kernel(x, x, **kernel_options)
    k_yy = polynomial_kernel(y, y, **kernel_options)
    k_xy = polynomial_kernel(x, y, **kernel_options)
    within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
    return float(within - 2.0 * k_xy.sum() / (m * m))


def kid_from_features(features1: np.ndarray, features2: np.ndarray, *, subsets: int = 100,
                      subset_size: int = 1000, seed: int = 0, **kernel_options) -> tuple[float, float]:
    """KID mean and standard deviation over ``subsets`` random subsets (each set sampled
    without replacement, size ``min(subset_size, N1, N2)``)."""
    x = np.asarray(features1, dtype=np.float64)
    y = np.asarray(features2, dtype=np.float64)
    size = min(subset_size, len(x), len(y))
    if size < 2:
        raise AutogasError(f"KID needs at least 2 images per side, got {len(x)} and {len(y)}")
    if subsets < 1:
        raise AutogasError(f"KID needs at least one subset, got {subsets}")
    rng = np.random.default_rng(seed)
    values = np.array([mmd2_unbiased(x[rng.choice(len(x), size, replace=False)],
                                     y[rng.choice(len(y), size, replace=False)], **kernel_options)
                       for _ in range(subsets)])
    return float(values.mean()), float(values.std())


# --- feature extraction ---------------------------------------------------------------
def extract_features(extractor: FeatureExtractor, images: Iterable[np.ndarray], *, batch_size: int = 16,
                     device: str | torch.device = "cpu") -> np.ndarray:
    """``N x D`` features of ``H x W x 3`` uint8 images; consecutive images of one size are batched."""
    out: list[np.ndarray] = []
    batch: list[np.ndarray] = []

    def flush() -> None:
        if batch:
            tensor = torch.from_numpy(np.stack(batch).transpose(0, 3, 1, 2).copy()).to(device)
            with torch.no_grad():
                out.append(extractor(tensor).detach().double().cpu().numpy().reshape(len(batch), -1))
            batch.clear()

    for image in images:
        if batch and (image.shape != batch[0].shape or len(batch) == batch_size):
            flush()
        batch.append(np.asarray(image, dtype=np.uint8))
    flush()
    if not out:
        raise AutogasError("no images to extract features from")
    return np.concatenate(out)


class _ConvBN(nn.Module):
    """Conv (no bias) -> BatchNorm (eps 1e-3) -> ReLU."""

    def __init__(self, c_in: int, c_out: int, kernel, stride=1, padding=0) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(c_out, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


def _avg_pool(x):
    return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)


class _BlockA(nn.Module):
    def __init__(self, c_in: int, pool_features: int) -> None:
        super().__init__()
        self.branch1x1 = _ConvBN(c_in, 64, 1)
        self.branch5x5_1, self.branch5x5_2 = _ConvBN(c_in, 48, 1), _ConvBN(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = _ConvBN(c_in, 64, 1)
        self.branch3x3dbl_2 = _ConvBN(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = _ConvBN(96, 96, 3, padding=1)
        self.branch_pool = _ConvBN(c_in, pool_features, 1)

    def forward(self, x):
        return torch.cat([self.branch1x1(x), self.branch5x5_2(self.branch5x5_1(x)),
                          self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
                          self.branch_pool(_avg_pool(x))], 1)


class _BlockB(nn.Module):
    def __init__(self, c_in: int) -> None:
        super().__init__()
        self.branch3x3 = _ConvBN(c_in, 384, 3, stride=2)
        self.branch3x3dbl_1 = _ConvBN(c_in, 64, 1)
        self.branch3x3dbl_2 = _ConvBN(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = _ConvBN(96, 96, 3, stride=2)

    def forward(self, x):
        return torch.cat([self.branch3x3(x), self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
                          F.max_pool2d(x, 3, stride=2)], 1)


class _BlockC(nn.Module):
    def __init__(self, c_in: int, c7: int) -> None:
        super().__init__()
        row, col = dict(kernel=(1, 7), padding=(0, 3)), dict(kernel=(7, 1), padding=(3, 0))
        self.branch1x1 = _ConvBN(c_in, 192, 1)
        self.branch7x7_1 = _ConvBN(c_in, c7, 1)
        self.branch7x7_2 = _ConvBN(c7, c7, **row)
        self.branch7x7_3 = _ConvBN(c7, 192, **col)
        self.branch7x7dbl_1 = _ConvBN(c_in, c7, 1)
        self.branch7x7dbl_2 = _ConvBN(c7, c7, **col)
        self.branch7x7dbl_3 = _ConvBN(c7, c7, **row)
        self.branch7x7dbl_4 = _ConvBN(c7, c7, **col)
        self.branch7x7dbl_5 = _ConvBN(c7, 192, **row)
        self.branch_pool = _ConvBN(c_in, 192, 1)

    def forward(self, x):
        seven = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        double = x
        for layer in (self.branch7x7dbl_1, self.branch7x7dbl_2, self.branch7x7dbl_3,
                      self.branch7x7dbl_4, self.branch7x7dbl_5):
            double = layer(double)
        return torch.cat([self.branch1x1(x), seven, double, self.branch_pool(_avg_pool(x))], 1)


class _BlockD(nn.Module):
    def __init__(self, c_in: int) -> None:
        super().__init__()
        self.branch3x3_1, self.branch3x3_2 = _ConvBN(c_in, 192, 1), _ConvBN(192, 320, 3, stride=2)
        self.branch7x7x3_1 = _ConvBN(c_in, 192, 1)
        self.branch7x7x3_2 = _ConvBN(192, 192, (1, 7), padding=(0, 3))
        self.branch7x7x3_3 = _ConvBN(192, 192, (7, 1), padding=(3, 0))
        self.branch7x7x3_4 = _ConvBN(192, 192, 3, stride=2)

    def forward(self, x):
        seven = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
        return torch.cat([self.branch3x3_2(self.branch3x3_1(x)), seven, F.max_pool2d(x, 3, stride=2)], 1)


class _BlockE(nn.Module):
    """Last blocks; the FID port pools with an average (first) or a max (second block)."""

    def __init__(self, c_in: int, max_pool: bool) -> None:
        super().__init__()
        self.max_pool = max_pool
        self.branch1x1 = _ConvBN(c_in, 320, 1)
        self.branch3x3_1 = _ConvBN(c_in, 384, 1)
        self.branch3x3_2a = _ConvBN(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3_2b = _ConvBN(384, 384, (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = _ConvBN(c_in, 448, 1)
        self.branch3x3dbl_2 = _ConvBN(448, 384, 3, padding=1)
        self.branch3x3dbl_3a = _ConvBN(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = _ConvBN(384, 384, (3, 1), padding=(1, 0))
        self.branch_pool = _ConvBN(c_in, 192, 1)

    def forward(self, x):
        a = self.branch3x3_1(x)
        b = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        pooled = F.max_pool2d(x, 3, stride=1, padding=1) if self.max_pool else _avg_pool(x)
        return torch.cat([self.branch1x1(x), self.branch3x3_2a(a), self.branch3x3_2b(a),
                          self.branch3x3dbl_3a(b), self.branch3x3dbl_3b(b), self.branch_pool(pooled)], 1)


class InceptionV3Features(nn.Module):
    """FID Inception-v3: uint8 images -> 2048-d pool3 features (parameter names as in
    pytorch-fid / torch-fidelity weight files, so their state dict loads as is)."""

    name = "inception-v3-fid"

    def __init__(self) -> None:
        super().__init__()
        self.Conv2d_1a_3x3 = _ConvBN(3, 32, 3, stride=2)
        self.Conv2d_2a_3x3 = _ConvBN(32, 32, 3)
        self.Conv2d_2b_3x3 = _ConvBN(32, 64, 3, padding=1)
        self.Conv2d_3b_1x1 = _ConvBN(64, 80, 1)
        self.Conv2d_4a_3x3 = _ConvBN(80, 192, 3)
        self.Mixed_5b, self.Mixed_5c, self.Mixed_5d = _BlockA(192, 32), _BlockA(256, 64), _BlockA(288, 64)
        self.Mixed_6a = _BlockB(288)
        self.Mixed_6b, self.Mixed_6c = _BlockC(768, 128), _BlockC(768, 160)
        self.Mixed_6d, self.Mixed_6e = _BlockC(768, 160), _BlockC(768, 192)
        self.Mixed_7a = _BlockD(768)
        self.Mixed_7b, self.Mixed_7c = _BlockE(1280, max_pool=False), _BlockE(2048, max_pool=True)
        self.fc = nn.Linear(2048, 1008)  # unused for features; kept so the weight files load strictly

    @classmethod
    def from_file(cls, path: str | Path) -> "InceptionV3Features":
        """The network with the state dict saved at ``path``; :class:`AutogasError` naming the file."""
        model = cls()
        state = load_torch_file(path, what=f"Inception-v3 FID weight file ({INCEPTION_FILE})")
        try:
            result = model.load_state_dict(state, strict=False)
        except (RuntimeError, TypeError, AttributeError, ValueError) as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise AutogasError(f"{path} is not an Inception-v3 FID weight file ({INCEPTION_FILE}): "
                               f"{first}") from None
        # BatchNorm step counters are absent from files saved by old torch versions: harmless.
        missing = [k for k in result.missing_keys if not k.endswith("num_batches_tracked")]
        if missing or result.unexpected_keys:
            bad = (missing or result.unexpected_keys)[:3]
            raise AutogasError(f"{path} is not an Inception-v3 FID weight file ({INCEPTION_FILE}): "
                               f"{len(missing)} missing and {len(result.unexpected_keys)} unexpected "
                               f"keys, e.g. {', '.join(bad)}")
        return model.eval()

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images.float() / 255.0
        x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False) * 2.0 - 1.0
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(F.max_pool2d(x, 3, stride=2)))
        x = F.max_pool2d(x, 3, stride=2)
        for block in (self.Mixed_5b, self.Mixed_5c, self.Mixed_5d, self.Mixed_6a, self.Mixed_6b,
                      self.Mixed_6c, self.Mixed_6d, self.Mixed_6e, self.Mixed_7a, self.Mixed_7b, self.Mixed_7c):
            x = block(x)
        return F.adaptive_avg_pool2d(x, 1).flatten(1)


def inception_weights_path(path: str | os.PathLike | None = None) -> Path:
    """The Inception weight file: ``path``, else ``$AUTOGAS_INCEPTION_WEIGHTS``; never downloaded.

    :class:`AutogasError` explaining how to provide the file when neither names an existing file.
    """
    chosen = path or os.environ.get(INCEPTION_ENV)
    how = (f"FID/KID need the Inception-v3 FID weights, the file {INCEPTION_FILE} that pytorch-fid "
           "downloads (torch-fidelity's weights-inception-2015-12-05-6726825d.pth has the same layer names "
           "and loads too). autogas never downloads it: copy it onto this machine and pass "
           f"--inception-weights PATH or set {INCEPTION_ENV}=PATH")
    if not chosen:
        raise AutogasError(f"no Inception weights given. {how}")
    if not Path(chosen).is_file():
        raise AutogasError(f"Inception weights not found at {chosen}. {how}")
    return Path(chosen)


def load_inception(path: str | os.PathLike | None = None,
                   device: str | torch.device = "cpu") -> InceptionV3Features:
    """:class:`InceptionV3Features` with weights from :func:`inception_weights_path`."""
    return InceptionV3Features.from_file(inception_weights_path(path)).to(device)


def score_features(fake: np.ndarray, real: np.ndarray, *, kid_subsets: int = 100,
                   kid_subset_size: int = 1000, seed: int = 0) -> dict[str, float]:
    """FID and KID (mean, std) of generated against real features, with the counts used."""
    kid_mean, kid_std = kid_from_features(fake, real, subsets=kid_subsets, subset_size=kid_subset_size,
                                          seed=seed)
    return {"fid": fid_from_features(fake, real), "kid_mean": kid_mean, "kid_std": kid_std,
            "kid_subset_size": min(kid_subset_size, len(fake), len(real)),
            "n_fake": int(len(fake)), "n_real": int(len(real))}


__all__: Sequence[str] = (
    "FeatureExtractor", "InceptionV3Features", "extract_features", "feature_statistics", "fid_from_features",
    "frechet_distance", "inception_weights_path", "kid_from_features", "load_inception", "mmd2_unbiased",
    "polynomial_kernel", "score_features",
)
