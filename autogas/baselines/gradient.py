"""Gradient baselines: the loss is the autoencoder's own reconstruction loss, L1 against the input.

All sums run over the prunable layers (``nn.Conv2d``, ``nn.Linear``) as in the NASLib /
NAS-Bench-Suite-Zero implementations, on the input batch in the protocol's splits
(:mod:`autogas.baselines.protocol`), with the model in the mode it is given (train mode for the
TransNAS networks under every protocol, BatchNorm on batch statistics). The loss,
``mean |f(x) - x|``, is NASLib's ``nn.L1Loss()`` for this task (its target is the input image).
"""
from __future__ import annotations

import copy
import math
from typing import Sequence

import numpy as np
import torch
from torch import nn

from autogas.baselines.probe import prunable_layers
from autogas.baselines.registry import register_baseline

_L1 = ("under --protocol naslib: inputs are the packaged photos, not Taskonomy training images "
       "(flip + colour jitter); the weights are drawn from a per-arch seed, not NASLib's "
       "sequential global RNG; CPU float order. Under naslib64: also 64x64 instead of 256x256. "
       "Under cache: the cache's batch (e.g. 4 images at 64x64) in two splits")
JACOV_EPS = 1e-5


def _weight_products(weights, others):
    return [(w.double() * o.double()) for w, o in zip(weights, others)]


@register_baseline("snip", family="gradient", needs_grad=True, stages=("forward", "loss_grads"),
                   source="Lee et al., SNIP: Single-shot Network Pruning, ICLR 2019", deviation=_L1)
def snip(probe) -> float:
    """sum |theta * dL/dtheta| over prunable weights (the connection sensitivity |dL/dmask|)."""
    shared = probe.shared("loss_grads")
    return float(sum(p.abs().sum() for p in _weight_products(shared.weights, shared.grads)))


@register_baseline("plain", family="gradient", needs_grad=True, stages=("forward", "loss_grads"),
                   source="Mozer & Smolensky, Skeletonization, NeurIPS 1989 (as in Abdelfattah "
                          "et al., ICLR 2021)", deviation=_L1)
def plain(probe) -> float:
    """sum theta * dL/dtheta over prunable weights (signed first-order saliency)."""
    shared = probe.shared("loss_grads")
    return float(sum(p.sum() for p in _weight_products(shared.weights, shared.grads)))


@register_baseline("grad_norm", family="gradient", needs_grad=True, stages=("forward", "loss_grads"),
                   source="Abdelfattah et al., Zero-Cost Proxies for Lightweight NAS, ICLR 2021",
                   deviation=_L1)
def grad_norm(probe) -> float:
    """sum over prunable layers of the Frobenius norm of dL/dW."""
    shared = probe.shared("loss_grads")
    return float(sum(g.double().norm() for g in shared.grads))


@register_baseline("grasp", family="gradient", needs_grad=True,
                   stages=("forward", "loss_grads", "hessian_grad"),
                   source="Wang et al., Picking Winning Tickets Before Training by Preserving "
                          "Gradient Flow (GraSP), ICLR 2020", deviation=_L1 + "; temperature 1")
def grasp(probe) -> float:
    """sum -theta * (H g) over prunable weights, g = dL/dtheta, H the Hessian of L (sign as NASLib)."""
    shared = probe.shared("hessian_grad")
    return float(-sum(p.sum() for p in _weight_products(shared.weights, shared.hessian_grad)))


@register_baseline("fisher", family="gradient", needs_grad=True, stages=("forward", "loss_grads"),
                   source="Turner et al., BlockSwap, ICLR 2020 (channel Fisher of Theis et al. 2018)",
                   deviation=_L1 + "; under cache each channel counts once (NASLib: once per "
                             "weight of the channel)")
def fisher(probe) -> float:
    """sum over prunable layer outputs a and channels k of w_k * 0.5 * mean_n
    (sum_spatial a_nk dL/da_nk)^2, where w_k is the number of weights of output channel k
    (C_in/groups * k_h * k_w, NASLib's broadcast) under the naslib protocols and 1 under cache."""
    shared = probe.shared("loss_grads")
    return float(sum(shared.fisher_fan_in if probe.protocol.fisher_fan_in else shared.fisher))


def jacov_score(jacobian: np.ndarray, eps: float = JACOV_EPS) -> float:
    """-sum_i [log(v_i + eps) + 1 / (v_i + eps)] over eigenvalues v of the B x B corrcoef."""
    with np.errstate(all="ignore"):
        corr = np.corrcoef(jacobian)
    if not np.all(np.isfinite(corr)):
        return float("nan")
    v = np.linalg.eigvalsh(corr)
    with np.errstate(all="ignore"):
        return float(-np.sum(np.log(v + eps) + 1.0 / (v + eps)))


@register_baseline("jacov", family="gradient", needs_grad=True, stages=("forward", "input_jacobian"),
                   source="Mellor et al., Neural Architecture Search without Training, v1 "
                          "(arXiv:2006.04647v1), in NASLib's form",
                   deviation="eigvalsh of the symmetric correlation matrix instead of eig; "
                             "NaN when a sample's Jacobian is constant (NASLib's query: -1e8); "
                             "inputs/seeds/resolution as for snip: " + _L1)
def jacov(probe) -> float:
    """Jacobian covariance: J_n = d sum(f(x)) / dx_n per sample, C = corrcoef(J), k = 1e-5,
    score = -sum_i [log(v_i + k) + 1 / (v_i + k)] over the eigenvalues v of C."""
    return jacov_score(probe.shared("input_jacobian").jacobian)


def zico_score(grads_per_batch: Sequence[Sequence[torch.Tensor | np.ndarray]]) -> float:
    """ZiCo from per-batch gradients ``grads_per_batch[b][layer]`` (any shape, flattened).

    Per layer: mean over batches of |g| divided by the (population) std over batches, summed over
    the weights whose std is non-zero; the score is the sum over layers of the log of that sum
    (layers whose sum is 0 are skipped, as the published code does).
    """
    total = 0.0
    for layer in range(len(grads_per_batch[0])):
        g = torch.stack([torch.as_tensor(batch[layer]).reshape(-1) for batch in grads_per_batch])
        std = (g - g.mean(dim=0)).square_().mean(dim=0).sqrt_()  # population std (torch's var
        # reduction over a leading dim of 2 is ~50x slower than this)
        ratio = g.abs_().mean(dim=0).div_(std)  # std == 0 gives inf or nan: those are dropped
        ratio_sum = float(torch.nan_to_num(ratio, nan=0.0, posinf=0.0).sum(dtype=torch.float64))
        if ratio_sum != 0:
            total += math.log(ratio_sum)
    return total


@register_baseline("zico", family="gradient", needs_grad=True,
                   stages=("forward", "loss_grads", "half_grads"),
                   source="Li et al., ZiCo: Zero-shot NAS via Inverse Coefficient of Variation "
                          "on Gradients, ICLR 2023",
                   deviation="not in NASLib; the batches are the two halves of the probe "
                             "batch (the published code draws loader batches); needs a batch "
                             "of >= 4")
def zico(probe) -> float:
    """sum over prunable layers of log sum_theta mean_b|g_b| / std_b(g_b), g_b = dL_b/dtheta
    on batch b (gradient statistics per parameter across batches, as published)."""
    splits = probe.shared("half_grads").half_grads
    if len(splits) < 2:
        raise ValueError("zico needs gradients of at least 2 batches (a probe batch of >= 4)")
    return zico_score(splits)


_SATURATING = (nn.Tanh, nn.Sigmoid)


def synflow_network(model: nn.Module) -> nn.Module:
    """The linearised float64 copy SynFlow scores: |theta| for every parameter, BatchNorm removed
    (NASLib's ``synflow``, bn=False) and saturating output activations (tanh, sigmoid) replaced
    by the identity; eval mode. The original model is untouched."""
    net = copy.deepcopy(model).double().eval()
    for name, module in list(net.named_modules()):
        if isinstance(module, (nn.modules.batchnorm._BatchNorm, *_SATURATING)) and name:
            parent, _, attr = name.rpartition(".")
            setattr(net.get_submodule(parent) if parent else net, attr, nn.Identity())
    with torch.no_grad():
        for p in net.parameters():
            p.abs_()
    return net


@register_baseline("synflow", family="gradient", needs_grad=True,
                   source="Tanaka et al., Pruning neural networks without any data by "
                          "iteratively conserving synaptic flow, NeurIPS 2020",
                   deviation="tanh/sigmoid are replaced by the identity: with |theta| and an "
                             "all-ones input the TransNAS output tanh saturates and every "
                             "gradient is 0 (Auto-GAS reports NaN for synflow)")
def synflow(probe) -> float:
    """R = sum f_|theta|(1) on one all-ones input in float64 through the linearised network
    (|theta|, no BatchNorm, no saturating output); score = sum |theta * dR/dtheta| over prunable
    weights."""
    net = synflow_network(probe.model)
    weights = [m.weight for _, m in prunable_layers(net)]
    ones = torch.ones((1,) + tuple(probe.inputs.shape[1:]), dtype=torch.float64,
                      device=probe.inputs.device)
    with torch.enable_grad():
        grads = torch.autograd.grad(net(ones).sum(), weights, allow_unused=True)
    with torch.no_grad():
        return float(sum((w * g).abs().sum() for w, g in zip(weights, grads) if g is not None))
