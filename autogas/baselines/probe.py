"""One network, one input batch: the passes baseline proxies read, computed once and shared.

Stages (a baseline lists the ones it reads; a :class:`Probe` runs the union of what its
baselines want in **one** forward pass and the backward passes that follow it):

``forward``         the forward pass of the batch in the protocol's splits (NASLib's
                    ``split_data``: 1 under ``naslib``, 2 under ``cache``; one split when a
                    part would hold < 2 samples), autograd on, mode as given
``loss_grads``      gradients of the reconstruction loss ``mean |f(x) - x|`` (L1 against the
                    input) of each split w.r.t. every prunable weight (summed over splits, and
                    kept per split), plus Fisher's per-layer activation statistic taken
                    from the gradients of the prunable layers' outputs
``half_grads``      the loss gradients of each half of the batch (ZiCo's two batches): the
                    per-split gradients when the protocol has >= 2 splits, else one more
                    forward/backward pass per half
``hessian_grad``    ``H g``: the loss Hessian (w.r.t. the prunable weights) times the detached
                    gradient ``g``, from a second forward and a double backward per split
                    (as NASLib's GraSP; the first pass never builds a double-backward graph)
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

from autogas.baselines.protocol import get_protocol

STAGES = ("forward", "loss_grads", "half_grads", "hessian_grad", "input_jacobian",
          "module_outputs", "counts")
PRUNABLE_TYPES: tuple[type[nn.Module], ...] = (nn.Conv2d, nn.Linear)
_GRAD_STAGES = {"loss_grads", "hessian_grad", "half_grads"}
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
    half_grads: list[list[torch.Tensor]] | None = None  # dL_h/dW per half h of the batch
    fisher: list[float] | None = None  # Fisher's sum over channels, per prunable layer call
    fisher_fan_in: list[float] | None = None  # the same, each channel times its weights' count
    hessian_grad: list[torch.Tensor] | None = None  # H g per prunable weight
    jacobian: np.ndarray | None = None  # B x D, float64
    module_outputs: list[np.ndarray] | None = None  # C x (H*W) float64, sample 0 per module call


def _fisher_terms(acts: list[torch.Tensor], act_grads: Iterable[torch.Tensor | None],
                  fan_ins: list[int]) -> list[tuple[float, float]]:
    """Per layer output: ``(sum_k d_k, sum_k fan_in * d_k)`` with
    d_k = 0.5 * mean_n (sum_spatial a_nk * g_nk)^2 (Turner et al.); ``fan_in`` is the number of
    weights of one output channel of the layer (NASLib's broadcast of d_k to them)."""
    terms = []
    for act, grad, fan_in in zip(acts, act_grads, fan_ins):
        if grad is None:
            terms.append((0.0, 0.0))
            continue
        prod = (act.detach() * grad.detach()).double()
        g_nk = prod.sum(dim=tuple(range(2, prod.dim()))) if prod.dim() > 2 else prod
        total = float(0.5 * g_nk.pow(2).mean(0).sum())
        terms.append((total, total * fan_in))
    return terms


def _zeros_for_none(grads: Iterable[torch.Tensor | None], like: list[torch.Tensor]) -> list[torch.Tensor]:
    return [torch.zeros_like(w) if g is None else g for g, w in zip(grads, like)]


def split_sizes(batch: int, splits: int = SPLITS) -> int:
    """How many splits the shared pass uses: ``splits`` parts when each keeps >= 2 samples,
    else 1."""
    return splits if batch >= 2 * splits else 1


def run_shared_pass(model: nn.Module, inputs: torch.Tensor, stages: Iterable[str],
                    seconds: dict[str, float] | None = None, *, splits: int = SPLITS) -> SharedPass:
    """Run the forward passes and the backward passes ``stages`` need; time each into ``seconds``.

    The batch is processed in :func:`split_sizes` splits (NASLib's ``split_data``): gradients
    are summed over splits, Fisher terms accumulated, BatchNorm (train mode) uses each split's
    statistics. GraSP's ``H g`` uses the summed ``g`` and the Hessians of every split's loss,
    as NASLib does. ``half_grads`` reuses the per-split gradients when there are 2 splits and
    runs one gradient pass per half of the batch otherwise.
    """
    stages = frozenset(stages) | {"forward"}
    if "hessian_grad" in stages:
        stages |= {"loss_grads"}
    seconds = {} if seconds is None else seconds
    for stage in stages:
        seconds[stage] = 0.0
    layers = [m for _, m in prunable_layers(model)]
    weights = [m.weight for m in layers]
    fan_in = {id(m): m.weight[0].numel() for m in layers}
    want_grads = bool(stages & _GRAD_STAGES)
    want_jacobian = "input_jacobian" in stages
    want_hessian = "hessian_grad" in stages
    acts: list[torch.Tensor] = []
    act_fan_ins: list[int] = []
    samples: list[np.ndarray] = []

    def keep_act(module, _inp, out):
        acts.append(out)
        act_fan_ins.append(fan_in[id(module)])

    def keep_sample(_module, _inp, out):
        if isinstance(out, torch.Tensor) and out.dim() >= 3:
            samples.append(out[0].detach().reshape(out.shape[1], -1).double().cpu().numpy())

    def timed(stage, fn):
        start = time.perf_counter()
        value = fn()
        seconds[stage] += time.perf_counter() - start
        return value

    result = SharedPass(stages=stages, weights=[w.detach() for w in weights])
    split_grads, fisher, jacobians = [], [], []
    n_splits = split_sizes(len(inputs), splits)
    with torch.enable_grad(), requiring_grad(weights):
        for index, chunk in enumerate(torch.tensor_split(inputs.detach(), n_splits)):
            handles = [m.register_forward_hook(keep_act) for m in layers] if want_grads else []
            if "module_outputs" in stages and index == 0:
                handles += [m.register_forward_hook(keep_sample) for m in model.modules()]
            x = chunk.clone().requires_grad_(want_jacobian)
            acts.clear()
            act_fan_ins.clear()
            try:
                output = timed("forward", lambda: model(x))
            finally:
                for handle in handles:
                    handle.remove()
            if want_grads:
                grads = timed("loss_grads", lambda: torch.autograd.grad(
                    reconstruction_loss(output, chunk), weights + acts, allow_unused=True,
                    retain_graph=want_jacobian))
                split_grads.append([g.detach() for g in _zeros_for_none(grads[:len(weights)], weights)])
                fisher += _fisher_terms(acts, grads[len(weights):], act_fan_ins)
            if want_jacobian:
                (jac,) = timed("input_jacobian", lambda: torch.autograd.grad(
                    output.sum(), x))
                jacobians.append(jac.reshape(jac.shape[0], -1).double().cpu().numpy())
        if want_grads:
            result.split_grads = split_grads
            result.grads = [sum(parts) for parts in zip(*split_grads)]
            result.fisher = [plain for plain, _ in fisher]
            result.fisher_fan_in = [weighted for _, weighted in fisher]
        if "half_grads" in stages:
            halves_in_pass = n_splits == 2 or len(inputs) < 2 * SPLITS  # < 4: no 2 halves of 2
            result.half_grads = split_grads if halves_in_pass else timed(
                "half_grads", lambda: _half_grads(model, inputs, weights))
        if want_hessian:
            result.hessian_grad = timed("hessian_grad", lambda: _hessian_grad(
                model, inputs, weights, result.grads, n_splits))
    if want_jacobian:
        result.jacobian = np.concatenate(jacobians)
    if "module_outputs" in stages:
        result.module_outputs = samples
    return result


def _hessian_grad(model: nn.Module, inputs: torch.Tensor, weights: list[torch.Tensor],
                  grads: list[torch.Tensor], n_splits: int) -> list[torch.Tensor]:
    """``H g``: per split, a second forward and a double backward of ``sum(g * dL_s/dW)``
    (``g`` detached), summed over the splits, as GraSP / NASLib do. Kept apart from the first
    pass, so the other stages run without ``create_graph`` (much slower on CPU)."""
    total = [torch.zeros_like(w) for w in weights]
    for chunk in torch.tensor_split(inputs.detach(), n_splits):
        loss = reconstruction_loss(model(chunk), chunk)
        parts = torch.autograd.grad(loss, weights, allow_unused=True, create_graph=True)
        z = sum((g * part).sum() for g, part in zip(grads, parts) if part is not None)
        if isinstance(z, torch.Tensor) and z.requires_grad:
            hg = torch.autograd.grad(z, weights, allow_unused=True)
            total = [t + h for t, h in zip(total, _zeros_for_none(hg, weights))]
    return total


def _half_grads(model: nn.Module, inputs: torch.Tensor, weights: list[torch.Tensor]
                ) -> list[list[torch.Tensor]]:
    """Loss gradients w.r.t. ``weights`` of each half of ``inputs``, one pass per half."""
    halves = []
    for chunk in torch.tensor_split(inputs.detach(), 2):
        grads = torch.autograd.grad(reconstruction_loss(model(chunk), chunk), weights,
                                    allow_unused=True)
        halves.append([g.detach() for g in _zeros_for_none(grads, weights)])
    return halves


class Probe:
    """A network and its input batch; baselines read memoised passes from it.

    ``stages`` are the shared stages to compute together in the first pass (a later request
    for a stage the pass lacks reruns it with the union). ``seconds[stage]`` is the measured
    time of each stage that ran. ``protocol`` (a name or
    :class:`~autogas.baselines.protocol.Protocol`; default the default protocol) sets the
    number of splits and how Fisher is summed; the batch, resolution and train/eval mode are
    the caller's (``inputs`` and the model as given).
    """

    def __init__(self, model: nn.Module, inputs: torch.Tensor, *, seed: int = 0,
                 stages: Iterable[str] = (), protocol=None):
        self.model = model
        self.inputs = inputs
        self.seed = seed
        self.protocol = get_protocol(protocol)
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
            self._pass = run_shared_pass(self.model, self.inputs, shared, self.seconds,
                                         splits=self.protocol.splits)
        return self._pass

    def counts(self):
        """Params and FLOPs by the TransNAS-Bench rules (memoised)."""
        if self._counts is None:
            from autogas.transnas.counting import model_counts

            start = time.perf_counter()
            self._counts = model_counts(self.model)
            self.seconds["counts"] = time.perf_counter() - start
        return self._counts
