"""Activation baselines: statistics of one forward pass (no gradients).

``nwot`` and ``gram_slogdet`` are proxy-language graphs over the hooked features of
:mod:`autogas.measure.features` (inputs of activation modules): on a module they are evaluated on the
full, unsubsampled features; on a feature cache, on the cached (subsampled, rescaled) ones.
"""
from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from autogas.baselines.registry import register_baseline

NWOT_GRAPH = "logabsdet(ksum(hamming(above_zero(F))))"
GRAM_SLOGDET_GRAPH = "slogdet(ksum(gram(F)))"
ZEN_MIXUP = 0.01
_INIT_TYPES = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)


def _graph_value(graph: str, probe) -> float:
    from autogas.proxy import score_module

    return score_module(graph, probe.model, probe.inputs, max_dims=None, seed=probe.seed)


@register_baseline("nwot", family="activation", graph=NWOT_GRAPH,
                   source="Mellor et al., Neural Architecture Search without Training, ICML 2021 "
                          "(NASWOT)",
                   deviation="none on a module; on a feature cache the Hamming kernels are "
                             "estimated from the cached coordinate subset (rescaled)")
def nwot(probe) -> float:
    """log |det K|, K = sum over activation modules of c c^T + (1 - c)(1 - c)^T, c = 1[input > 0]
    (the binary code of each sample at every ReLU/LeakyReLU input)."""
    return _graph_value(NWOT_GRAPH, probe)


@register_baseline("gram_slogdet", family="activation", graph=GRAM_SLOGDET_GRAPH,
                   source="Auto-GAS (the search's vanilla starting point: slogdet of the Gram "
                          "matrix of raw features, no transform or encoding)",
                   deviation="invalid (NaN) when det K <= 0; on a feature cache the Gram "
                             "kernels are estimated from the cached coordinate subset (rescaled)")
def gram_slogdet(probe) -> float:
    """log det K, K = sum over activation modules of X X^T, X = the B x D activation inputs."""
    return _graph_value(GRAM_SLOGDET_GRAPH, probe)


def meco_layer(sample: np.ndarray) -> float:
    """Smallest eigenvalue of the channel correlation matrix of one C x (H*W) feature map.

    NaN/inf entries (constant channels) are set to 0, as published. With H*W <= C the matrix
    has rank < C, so its smallest eigenvalue is exactly 0 (returned without rounding noise).
    """
    channels, positions = sample.shape
    if positions <= channels:
        return 0.0
    with np.errstate(all="ignore"):
        corr = np.atleast_2d(np.corrcoef(sample))  # one channel: corrcoef is a scalar
    corr[~np.isfinite(corr)] = 0.0
    return float(np.linalg.eigvalsh(corr)[0])


@register_baseline("meco", family="activation", stages=("forward", "module_outputs"),
                   source="Jiang et al., MeCo: Zero-Shot NAS with One Data and Single Forward "
                          "Pass via Minimum Eigenvalue of Correlation, NeurIPS 2023",
                   deviation="eigvalsh on the symmetric matrix (published: real part of eig); "
                             "exact 0 for rank-deficient layers; modules with tuple outputs "
                             "are skipped")
def meco(probe) -> float:
    """sum over every module call (containers included) of lambda_min(corrcoef(F)), F the
    C x (H*W) output of the first sample of the batch."""
    return float(sum(meco_layer(s) for s in probe.shared("module_outputs").module_outputs))


def zen_network(model: nn.Module, seed: int) -> nn.Module:
    """Zen-NAS's re-initialised copy: conv/linear weights N(0, 1), biases 0, BatchNorm weight 1,
    bias 0 and fresh running statistics; train mode. The original model is untouched."""
    net = copy.deepcopy(model).train()
    gen = torch.Generator(device=next(net.parameters(), torch.empty(0)).device).manual_seed(seed)
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, _INIT_TYPES):
                module.weight.normal_(generator=gen)
                if module.bias is not None:
                    module.bias.zero_()
            elif isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.reset_running_stats()
                if module.affine:
                    module.weight.fill_(1.0)
                    module.bias.zero_()
    return net


def zen_inputs(shape: tuple[int, ...], seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Gaussian inputs x and x + 0.01 * eps, both from ``seed`` (after the weights' draws)."""
    gen = torch.Generator().manual_seed(seed + 1)
    x = torch.randn(shape, generator=gen)
    return x, x + ZEN_MIXUP * torch.randn(shape, generator=gen)


def zen_formula(net: nn.Module, x: torch.Tensor, mixed: torch.Tensor) -> float:
    """log mean_n ||f(x_n) - f(x'_n)||_1 + sum over BatchNorms of log sqrt(mean running_var)."""
    with torch.no_grad():
        delta = (net(x) - net(mixed)).abs().flatten(1).sum(1).mean()
        bn = sum(torch.log(torch.sqrt(m.running_var.mean())) for m in net.modules()
                 if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.running_var is not None)
    return float(torch.log(delta.double()) + bn)


@register_baseline("zen", family="activation",
                   source="Lin et al., Zen-NAS: A Zero-Shot NAS for High-Performance Image "
                          "Recognition, ICCV 2021",
                   deviation="f is the whole network's output (the autoencoder has no global "
                             "pooling); transposed convs are re-initialised like convs; one "
                             "repeat; running_var after both forwards (momentum 0.1), as the "
                             "published code")
def zen(probe) -> float:
    """Expressivity after Gaussian re-init: log E||f(x) - f(x + 0.01 eps)||_1 plus the sum over
    BatchNorm layers of log sqrt(mean running_var), x, eps ~ N(0, 1) of the probe's shape."""
    net = zen_network(probe.model, probe.seed)
    x, mixed = zen_inputs(tuple(probe.inputs.shape), probe.seed)
    device = probe.inputs.device
    return zen_formula(net, x.to(device), mixed.to(device))
