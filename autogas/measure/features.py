"""Hooking rules: which latent features of a network a proxy sees, and how they are reduced.

The rule (shared by the TransNAS feature cache, the generator scorer and the Python API):

* A *feature layer* is the **input** of every activation module (``nn.ReLU``, ``nn.LeakyReLU``
  and the other classes in :data:`ACTIVATION_TYPES`), in forward-execution order. In the
  TransNAS networks these are the pre-activations of every ReLU-Conv-BN unit of the encoder
  (stem, blocks, cells) and of the 13 LeakyReLUs of the decoder, as in Auto-GAS.
  A module that runs several times contributes one layer per call.
* Each layer's tensor ``B x C x H x W`` is flattened per sample to ``B x D``.
* Size reduction: when ``D > max_dims`` a fixed subset of ``max_dims`` coordinates is kept,
  drawn uniformly without replacement by a generator seeded with ``(seed, D)``, so the same
  coordinates are kept for every network whose layer has the same size. Binary codes, Gram
  and Hamming kernels computed on the subset are unbiased (scaled) estimates of the full ones.
  Exact per-layer statistics of the full tensor (mean, std, fraction > 0) are kept too.
* Each layer belongs to a *part*, ``encoder`` or ``decoder``. A network with top-level
  submodules named ``encoder`` and ``decoder`` (the TransNAS autoencoders) uses those names.
  Any other network is split by its spatial trajectory: the decoder starts at the first layer
  whose spatial size (H x W) exceeds the smallest size seen before it, i.e. where upsampling
  begins; a network that never upsamples is all encoder. So proxies that read parts transfer
  from the benchmark to CycleGAN-style generators.
"""
from __future__ import annotations

import dataclasses
from typing import Callable, Iterable

import numpy as np
import torch
from torch import nn

DEFAULT_MAX_DIMS = 512  # features kept per layer and sample (same tau as 2048: benchmarks/results/input_settings.md)

ACTIVATION_TYPES: tuple[type[nn.Module], ...] = (
    nn.ReLU, nn.LeakyReLU, nn.ReLU6, nn.SiLU, nn.GELU, nn.ELU, nn.PReLU, nn.Mish, nn.Hardswish,
)


@dataclasses.dataclass(frozen=True)
class LayerInfo:
    """Where a feature layer comes from and its full (unreduced) size."""

    name: str
    part: str  # "encoder", "decoder" or "" when the network has no such split
    channels: int
    height: int
    width: int
    dims: int  # full per-sample size C*H*W before reduction
    mean: float
    std: float
    frac_positive: float


@dataclasses.dataclass
class FeatureSet:
    """Features of one network on one batch: ``features[i]`` is ``B x d_i`` float32."""

    features: list[np.ndarray]
    layers: list[LayerInfo]

    def __len__(self) -> int:
        return len(self.features)


def keep_indices(dims: int, max_dims: int | None, seed: int) -> np.ndarray | None:
    """Coordinates kept for a layer of ``dims`` features (``None`` means keep all)."""
    if max_dims is None or dims <= max_dims:
        return None
    rng = np.random.default_rng([seed, dims])
    return np.sort(rng.choice(dims, size=max_dims, replace=False))


def default_layer_filter(name: str, module: nn.Module) -> bool:
    """The standard rule: every activation module."""
    return isinstance(module, ACTIVATION_TYPES)


def _named_part(name: str) -> str:
    head = name.split(".", 1)[0]
    return head if head in ("encoder", "decoder") else ""


def assign_parts(names: list[str], sizes: list[int]) -> list[str]:
    """Encoder/decoder part of each layer (module names first, else the spatial rule above)."""
    named = [_named_part(n) for n in names]
    if any(named):
        return named
    parts, smallest, upsampled = [], None, False
    for size in sizes:
        upsampled = upsampled or (smallest is not None and size > smallest)
        smallest = size if smallest is None else min(smallest, size)
        parts.append("decoder" if upsampled else "encoder")
    return parts


def collect_features(
    model: nn.Module,
    inputs: torch.Tensor,
    *,
    max_dims: int | None = DEFAULT_MAX_DIMS,
    seed: int = 0,
    layer_filter: Callable[[str, nn.Module], bool] = default_layer_filter,
    dtype: np.dtype = np.float32,
) -> FeatureSet:
    """Run one forward pass of ``model`` on ``inputs`` and return its feature layers.

    The model is run as it is (train or eval mode is the caller's choice) under
    ``torch.inference_mode``; hooks are always removed afterwards.
    """
    records: list[tuple[str, torch.Tensor]] = []

    def make_hook(name: str):
        def hook(_module: nn.Module, args: tuple) -> None:
            if args and isinstance(args[0], torch.Tensor):
                records.append((name, args[0].detach()))
        return hook

    handles = [
        module.register_forward_pre_hook(make_hook(name))
        for name, module in model.named_modules()
        if layer_filter(name, module)
    ]
    try:
        with torch.inference_mode():
            model(inputs)
    finally:
        for handle in handles:
            handle.remove()
    return reduce_records(records, max_dims=max_dims, seed=seed, dtype=dtype)


def tensor_statistics(t: torch.Tensor) -> tuple[float, float, float]:
    """Mean, standard deviation (n - 1) and fraction of positive entries of all of ``t``.

    Positives are counted with ``count_nonzero`` rather than a float mask's mean (3x faster on
    large activations, measured on this 2-core CPU), which matters in the scorer's hot loop.
    """
    v = t.reshape(-1)
    return float(v.mean()), float(v.std()), int(torch.count_nonzero(v > 0)) / v.numel()


def reduce_records(
    records: Iterable[tuple[str, torch.Tensor]],
    *,
    max_dims: int | None,
    seed: int,
    dtype: np.dtype = np.float32,
) -> FeatureSet:
    """Flatten and subsample hooked tensors according to the module rule above."""
    records = list(records)
    parts = assign_parts([name for name, _ in records],
                         [int(np.prod(t.shape[2:])) if t.dim() > 2 else 1 for _, t in records])
    features: list[np.ndarray] = []
    layers: list[LayerInfo] = []
    for (name, tensor), part in zip(records, parts):
        t = tensor.float()
        batch = t.shape[0]
        flat = t.reshape(batch, -1)
        shape = tuple(t.shape[1:]) + (1,) * (3 - (t.dim() - 1))
        channels, height, width = (int(s) for s in shape[:3])
        idx = keep_indices(flat.shape[1], max_dims, seed)
        kept = flat if idx is None else flat[:, torch.from_numpy(idx)]
        features.append(kept.cpu().numpy().astype(dtype, copy=False))
        mean, std, frac_positive = tensor_statistics(flat)
        layers.append(LayerInfo(
            name=name, part=part, channels=channels, height=height, width=width,
            dims=int(flat.shape[1]), mean=mean, std=std, frac_positive=frac_positive,
        ))
    return FeatureSet(features=features, layers=layers)
