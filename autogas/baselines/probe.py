"""One network, one input batch: the passes baseline proxies read, computed once and shared.

Stages (a baseline lists the ones it reads; a :class:`Probe` runs the union of what its
baselines want in **one** forward pass and the backward passes that follow it):

``forward``         one forward pass of the batch, with autograd on, model mode as given
``loss_grads``      gradients of the reconstruction loss ``mean |f(x) - x|`` (L1 against the
                    input) w.r.t. every prunable weight, plus Fisher's per-layer activation
                    statistic taken from the gradients of the prunable layers' outputs
``hessian_grad``    ``H g``: the loss Hessian (w.r.t. the prunable weights) times the detached
                    gradient ``g`` (double backward through the same graph, as GraSP)
``input_jacobian``  ``d sum(f(x)) / dx`` per sample (one backward to the input)
``module_outputs``  sample 0 of every module's tensor output (MeCo), recorded in the forward
``counts``          parameter and FLOP counts by the TransNAS-Bench rules (shapes only)

*Prunable layers* are the ``nn.Conv2d`` and ``nn.Linear`` modules, as in the NASLib /
NAS-Bench-Suite-Zero and Auto-GAS implementations (transposed convolutions are not among them).
The model's weights and buffers are never modified; ``requires_grad`` flags are restored.
"""
from __future__ import annotations

import contextlib
import dataclasses
import time
from typing import Iterable, Iterator

import numpy as np
import torch
from torch import nn

STAGES = ("forward", "loss_grads", "hessian_grad", "input_jacobian", "module_outputs", "counts")
PRUNABLE_TYPES: tuple[type[nn.Module], ...] = (nn.Conv2d, nn.Linear)
_GRAD_STAGES = {"loss_grads", "hessian_grad"}


def prunable_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """``(name, module)`` of every Conv2d / Linear module, in ``named_modules`` order."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, PRUNABLE_TYPES)]


def reconstruction_loss(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The autoencoder's own loss: mean absolute error (L1) between output and input."""
    return (output - target).abs().mean()


@contextlib.contextmanager
def requiring_grad(tensors: Iterable[torch.Tensor]) -> Iterator[None]:
    """Temporarily set ``requires_grad`` on ``tensors`` (restored afterwards)."""
    tensors = list(tensors)
    before = [t.requires_grad for t in tensors]
    try:
        for t in tensors:
            t.requires_grad_(True)
        yield
    finally:
        for t, flag in zip(tensors, before):
            t.requires_grad_(flag)


@dataclasses.dataclass
class SharedPass:
    """What one shared forward (and its backward passes) produced; ``None`` where not asked."""

    stages: frozenset[str]
    weights: list[torch.Tensor]  # detached prunable weights
    grads: list[torch.Tensor] | None = None  # dL/dW per prunable weight
    fisher: list[float] | None = None  # Fisher's sum over channels, per prunable layer call
    hessian_grad: list[torch.Tensor] | None = None  # H g per prunable weight
    jacobian: np.ndarray | None = None  # B x D, float64
    module_outputs: list[np.ndarray] | None = None  # C x (H*W) float64, sample 0 per module call


def _fisher_terms(acts: list[torch.Tensor], act_grads: Iterable[torch.Tensor | None]) -> list[float]:
    """Per layer output: sum_k 0.5 * mean_n (sum_spatial a_nk * g_nk)^2 (Turner et al.)."""
    terms = []
    for act, grad in zip(acts, act_grads):
        if grad is None:
            terms.append(0.0)
            continue
        prod = (act.detach() * grad.detach()).double()
        g_nk = prod.sum(dim=tuple(range(2, prod.dim()))) if prod.dim() > 2 else prod
        terms.append(float(0.5 * g_nk.pow(2).mean(0).sum()))
    return terms


def _zeros_for_none(grads: Iterable[torch.Tensor | None], like: list[torch.Tensor]) -> list[torch.Tensor]:
    return [torch.zeros_like(w) if g is None else g.detach() for g, w in zip(grads, like)]


def run_shared_pass(model: nn.Module, inputs: torch.Tensor, stages: Iterable[str],
                    seconds: dict[str, float] | None = None) -> SharedPass:
    """Run one forward pass and the backward passes ``stages`` need; time each into ``seconds``."""
    stages = frozenset(stages) | {"forward"}
    if "hessian_grad" in stages:
        stages |= {"loss_grads"}
    seconds = {} if seconds is None else seconds
    layers = [m for _, m in prunable_layers(model)]
    weights = [m.weight for m in layers]
    want_grads = bool(stages & _GRAD_STAGES)
    want_jacobian = "input_jacobian" in stages
    acts: list[torch.Tensor] = []
    samples: list[np.ndarray] = []

    def keep_act(_module, _inp, out):
        acts.append(out)

    def keep_sample(_module, _inp, out):
        if isinstance(out, torch.Tensor) and out.dim() >= 3:
            samples.append(out[0].detach().reshape(out.shape[1], -1).double().numpy())

    handles = []
    if want_grads:
        handles += [m.register_forward_hook(keep_act) for m in layers]
    if "module_outputs" in stages:
        handles += [m.register_forward_hook(keep_sample) for m in model.modules()]
    x = inputs.detach().clone().requires_grad_(want_jacobian)
    result = SharedPass(stages=stages, weights=[w.detach() for w in weights])
    with torch.enable_grad(), requiring_grad(weights):
        start = time.perf_counter()
        try:
            output = model(x)
        finally:
            for handle in handles:
                handle.remove()
        seconds["forward"] = time.perf_counter() - start
        if want_grads:
            start = time.perf_counter()
            create = "hessian_grad" in stages
            grads = torch.autograd.grad(
                reconstruction_loss(output, inputs), weights + acts, allow_unused=True,
                retain_graph=want_jacobian or create, create_graph=create)
            result.grads = _zeros_for_none(grads[:len(weights)], weights)
            result.fisher = _fisher_terms(acts, grads[len(weights):])
            seconds["loss_grads"] = time.perf_counter() - start
        if want_jacobian:
            start = time.perf_counter()
            (jac,) = torch.autograd.grad(output.sum(), x, retain_graph="hessian_grad" in stages)
            result.jacobian = jac.reshape(jac.shape[0], -1).double().numpy()
            seconds["input_jacobian"] = time.perf_counter() - start
        if "hessian_grad" in stages:
            start = time.perf_counter()
            z = sum((g.detach() * g).sum() for g in grads[:len(weights)] if g is not None)
            hg = torch.autograd.grad(z, weights, allow_unused=True)
            result.hessian_grad = _zeros_for_none(hg, weights)
            seconds["hessian_grad"] = time.perf_counter() - start
    if "module_outputs" in stages:
        result.module_outputs = samples
    return result


class Probe:
    """A network and its input batch; baselines read memoised passes from it.

    ``stages`` are the shared stages to compute together in the first pass (a later request
    for a stage the pass lacks reruns it with the union). ``seconds[stage]`` is the measured
    time of each stage that ran.
    """

    def __init__(self, model: nn.Module, inputs: torch.Tensor, *, seed: int = 0,
                 stages: Iterable[str] = ()):
        self.model = model
        self.inputs = inputs
        self.seed = seed
        self.wanted = set(stages)
        self.seconds: dict[str, float] = {}
        self._pass: SharedPass | None = None
        self._counts = None

    def prunable(self) -> list[tuple[str, nn.Module]]:
        """The model's prunable layers (Conv2d, Linear)."""
        return prunable_layers(self.model)

    def shared(self, *stages: str) -> SharedPass:
        """The shared pass, guaranteed to include ``stages``."""
        self.wanted |= set(stages)
        if self._pass is None or not set(stages) <= self._pass.stages:
            shared = self.wanted - {"counts"}
            self._pass = run_shared_pass(self.model, self.inputs, shared, self.seconds)
        return self._pass

    def counts(self):
        """Params and FLOPs by the TransNAS-Bench rules (memoised)."""
        if self._counts is None:
            from autogas.transnas.counting import model_counts

            start = time.perf_counter()
            self._counts = model_counts(self.model)
            self.seconds["counts"] = time.perf_counter() - start
        return self._counts
