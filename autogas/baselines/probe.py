"""One network, one input batch: the passes baseline proxies read, computed once and shared.

Stages (a baseline lists the ones it reads; a :class:`Probe` runs the union of what its
baselines want in **one** forward pass and the backward passes that follow it):

``forward``         the forward pass of the batch in two halves (NASLib's ``split_data=2``;
                    one split when a half would hold < 2 samples), autograd on, mode as given
``loss_grads``      gradients of the reconstruction loss ``mean |f(x) - x|`` (L1 against the
                    input) of each split w.r.t. every prunable weight (summed over splits, and
                    kept per split for ZiCo), plus Fisher's per-layer activation statistic
                    taken from the gradients of the prunable layers' outputs
``hessian_grad``    ``H g``: the loss Hessian (w.r.t. the prunable weights) times the detached
                    gradient ``g`` (double backward through the same graph, as GraSP)
``input_jacobian``  ``d sum(f(x)) / dx`` per sample (one backward to the input)
``module_outputs``  sample 0 of every module's tensor output (MeCo), recorded in the first
                    split's forward
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
SPLITS = 2


def prunable_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """``(name, module)`` of every Conv2d / Linear module, in ``named_modules`` order."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, PRUNABLE_TYPES)]


def reconstruction_loss(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The autoencoder's own loss: mean absolute error (L1) between output and input.

    When the output's spatial size differs from the input's (TransNAS networks at inputs below
    64 x 64 decode to more pixels than they were given), the input is resized to the output's
    size (bilinear, antialiased) first.
    """
    if output.shape[2:] != target.shape[2:] and target.dim() == 4:
        target = torch.nn.functional.interpolate(target, size=output.shape[2:], mode="bilinear",
                                                 align_corners=False, antialias=True)
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


@contextlib.contextmanager
def keep_buffers(model: nn.Module) -> Iterator[None]:
    """Restore every buffer (BatchNorm running statistics) of ``model`` afterwards: forward
    passes in train mode update them, and a proxy must leave the network as it found it."""
    saved = [(b, b.detach().clone()) for b in model.buffers()]
    try:
        yield
    finally:
        with torch.no_grad():
            for buffer, value in saved:
                buffer.copy_(value)


@dataclasses.dataclass
class SharedPass:
    """What one shared forward (and its backward passes) produced; ``None`` where not asked."""

    stages: frozenset[str]
    weights: list[torch.Tensor]  # detached prunable weights
    grads: list[torch.Tensor] | None = None  # dL/dW per prunable weight, summed over splits
    split_grads: list[list[torch.Tensor]] | None = None  # dL_s/dW per split s
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
    return [torch.zeros_like(w) if g is None else g for g, w in zip(grads, like)]


def split_sizes(batch: int) -> int:
    """How many splits the shared pass uses: 2 halves when each keeps >= 2 samples, else 1."""
    return SPLITS if batch >= 2 * SPLITS else 1


def run_shared_pass(model: nn.Module, inputs: torch.Tensor, stages: Iterable[str],
                    seconds: dict[str, float] | None = None) -> SharedPass:
    """Run the forward passes and the backward passes ``stages`` need; time each into ``seconds``.

    The batch is processed in :func:`split_sizes` splits (NASLib's ``split_data``): gradients
    are summed over splits, Fisher terms accumulated, BatchNorm (train mode) uses each split's
    statistics, and ZiCo reads the per-split gradients. GraSP's ``H g`` uses the summed ``g``
    and the Hessians of every split's loss, as NASLib does.
    """
    stages = frozenset(stages) | {"forward"}
    if "hessian_grad" in stages:
        stages |= {"loss_grads"}
    seconds = {} if seconds is None else seconds
    for stage in stages:
        seconds[stage] = 0.0
    layers = [m for _, m in prunable_layers(model)]
    weights = [m.weight for m in layers]
    want_grads = bool(stages & _GRAD_STAGES)
    want_jacobian = "input_jacobian" in stages
    create = "hessian_grad" in stages
    acts: list[torch.Tensor] = []
    samples: list[np.ndarray] = []

    def keep_act(_module, _inp, out):
        acts.append(out)

    def keep_sample(_module, _inp, out):
        if isinstance(out, torch.Tensor) and out.dim() >= 3:
            samples.append(out[0].detach().reshape(out.shape[1], -1).double().cpu().numpy())

    def timed(stage, fn):
        start = time.perf_counter()
        value = fn()
        seconds[stage] += time.perf_counter() - start
        return value

    result = SharedPass(stages=stages, weights=[w.detach() for w in weights])
    split_grads, fisher, jacobians, graph_grads = [], [], [], []
    with torch.enable_grad(), requiring_grad(weights):
        for index, chunk in enumerate(torch.tensor_split(inputs.detach(), split_sizes(len(inputs)))):
            handles = [m.register_forward_hook(keep_act) for m in layers] if want_grads else []
            if "module_outputs" in stages and index == 0:
                handles += [m.register_forward_hook(keep_sample) for m in model.modules()]
            x = chunk.clone().requires_grad_(want_jacobian)
            acts.clear()
            try:
                output = timed("forward", lambda: model(x))
            finally:
                for handle in handles:
                    handle.remove()
            if want_grads:
                grads = timed("loss_grads", lambda: torch.autograd.grad(
                    reconstruction_loss(output, chunk), weights + acts, allow_unused=True,
                    retain_graph=want_jacobian or create, create_graph=create))
                split_grads.append([g.detach() for g in _zeros_for_none(grads[:len(weights)], weights)])
                fisher += _fisher_terms(acts, grads[len(weights):])
                if create:
                    graph_grads.append(grads[:len(weights)])
            if want_jacobian:
                (jac,) = timed("input_jacobian", lambda: torch.autograd.grad(
                    output.sum(), x, retain_graph=create))
                jacobians.append(jac.reshape(jac.shape[0], -1).double().cpu().numpy())
        if want_grads:
            result.split_grads = split_grads
            result.grads = [sum(parts) for parts in zip(*split_grads)]
            result.fisher = fisher
        if create:
            def hessian_grad():
                z = sum((g.detach() * part).sum() for grads in graph_grads
                        for g, part in zip(result.grads, grads) if part is not None)
                return _zeros_for_none(torch.autograd.grad(z, weights, allow_unused=True), weights)
            result.hessian_grad = timed("hessian_grad", hessian_grad)
    if want_jacobian:
        result.jacobian = np.concatenate(jacobians)
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
