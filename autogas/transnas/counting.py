"""Parameter and FLOP counts exactly as NAS-Bench-Suite-Zero stores them (spec §8).

NASLib runs tensorwatch ``ModelStats`` on one ``1 x 3 x 256 x 256`` forward pass in eval mode
with hooks on every *leaf* module, and sums over the leaf modules that ran:

* params: each module's own parameters (BN weight + bias; running stats are buffers);
* FLOPs (really MACs): Conv2d ``kh·kw·C_in·(C_out/groups)·H_out·W_out`` plus
  ``C_out·H_out·W_out`` with a bias; BatchNorm2d 2 × input numel (1 × without affine);
  ReLU / LeakyReLU (and ReLU6, PReLU, ELU) 1 × input numel; everything that occurs in these
  networks besides (ConvTranspose2d, Tanh, Identity, zeros, additions) 0. tensorwatch's rules
  for Linear, pooling and Upsample are not implemented: those modules count 0 here.

We count the network from :func:`autogas.transnas.network.build_network` (built through the
network factory, ``create_network("transnas:<arch>")``) the same way, on the
meta device (shapes only, no arithmetic), so a count takes milliseconds. The json stores
``count / 1e6`` as a float with no further rounding (on all 1,209 shared records
``stored == round(stored * 1e6) / 1e6``), so counts are compared as integers:
``round(stored * 1e6) == count``.
"""
from __future__ import annotations

import dataclasses
import math

import pandas as pd
import torch
from torch import nn
from torch.func import functional_call

from autogas.spaces.networks import create_network

DEFAULT_RESOLUTION = 256


@dataclasses.dataclass(frozen=True)
class ModelCounts:
    """Exact counts of one network at one input resolution (units of 1, not millions)."""

    params: int
    flops: int


_COUNTED_ACTIVATIONS = (nn.ReLU, nn.ReLU6, nn.PReLU, nn.ELU, nn.LeakyReLU)


def _leaf_flops(module: nn.Module, inputs: tuple, output: torch.Tensor) -> int:
    if isinstance(module, nn.Conv2d):
        c_out, h_out, w_out = output.shape[1:]
        kh, kw = module.kernel_size
        macs = kh * kw * inputs[0].shape[1] * (c_out // module.groups) * h_out * w_out
        return macs + (c_out * h_out * w_out if module.bias is not None else 0)
    if isinstance(module, nn.BatchNorm2d):
        return (2 if module.affine else 1) * inputs[0].numel()
    if isinstance(module, _COUNTED_ACTIVATIONS):
        return inputs[0].numel()
    return 0


# Leaf modules whose output has the shape of their input: on the meta device there are no
# values, so only shapes matter and their forward is replaced by the identity while counting.
_SHAPE_PRESERVING = (nn.BatchNorm2d, nn.ReLU, nn.LeakyReLU, nn.Tanh)


def _same_shape(x: torch.Tensor) -> torch.Tensor:
    return x


def _meta_forward_counts(model: nn.Module, resolution: int) -> ModelCounts:
    """Run ``model`` once in eval mode on a meta input, counting ran leaf modules."""
    params = 0
    flops = 0
    seen: set[int] = set()

    def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        nonlocal params, flops
        if id(module) not in seen:
            seen.add(id(module))
            # a leaf's own tensors; read directly since parameters() is slow per call
            params += sum(p.numel() for p in module._parameters.values() if p is not None)
        flops += _leaf_flops(module, inputs, output)

    leaves = [m for m in model.modules() if next(m.children(), None) is None]
    modes = {m: m.training for m in model.modules()}
    handles = [m.register_forward_hook(hook) for m in leaves]
    shape_only = [m for m in leaves if isinstance(m, _SHAPE_PRESERVING)]
    x = torch.empty(1, 3, resolution, resolution, device="meta")
    try:
        model.eval()
        for module in shape_only:  # skip their (slow, python-decomposed) meta kernels
            module.forward = _same_shape
        with torch.no_grad():
            if _on_meta(model):
                model(x)
            else:  # same module tree, tensors swapped for meta stand-ins: nothing is copied
                state = {name: t.to("meta") for name, t in
                         list(model.named_parameters()) + list(model.named_buffers())}
                functional_call(model, state, (x,), tie_weights=False)
    finally:
        for handle in handles:
            handle.remove()
        for module in shape_only:
            del module.forward
        for module, training in modes.items():
            module.training = training
    return ModelCounts(params=params, flops=flops)


def _on_meta(model: nn.Module) -> bool:
    tensors = list(model.parameters()) + list(model.buffers())
    return all(t.is_meta for t in tensors)


def model_counts(arch_or_model: str | nn.Module, resolution: int = DEFAULT_RESOLUTION) -> ModelCounts:
    """Exact params and FLOPs of an arch string (built on the meta device) or a built model."""
    if isinstance(arch_or_model, str):
        model = create_network(f"transnas:{arch_or_model}", device="meta")
    else:
        model = arch_or_model
    return _meta_forward_counts(model, resolution)


def count_params(arch_or_model: str | nn.Module) -> int:
    """Parameters of the leaf modules that run in the forward pass (= encoder + decoder)."""
    return model_counts(arch_or_model).params


def count_flops(arch_or_model: str | nn.Module, resolution: int = DEFAULT_RESOLUTION) -> int:
    """tensorwatch-rule FLOPs (MACs) of one forward pass at ``1 x 3 x resolution²``."""
    return model_counts(arch_or_model, resolution).flops


def millions_to_count(value: float) -> int | None:
    """A stored ``count / 1e6`` back to the integer count (``None`` for NaN)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return int(round(float(value) * 1e6))


def verify_counts(table: pd.DataFrame, resolution: int = DEFAULT_RESOLUTION) -> dict:
    """Rebuild every arch of a :func:`autogas.transnas.labels.load_labels` table and compare counts.

    Returns ``{"n", "params_match", "flops_match", "mismatches"}``: the match fields are the
    fractions of archs whose rebuilt count equals the stored one exactly; each mismatch is a
    dict with the arch and the stored and rebuilt integer counts. Archs whose stored value is
    NaN count as mismatches.
    """
    from tqdm import tqdm

    mismatches = []
    params_ok = flops_ok = 0
    for arch, row in tqdm(table.iterrows(), total=len(table), desc="verify counts", leave=False):
        counts = model_counts(str(arch), resolution)
        stored_params = millions_to_count(row["params"])
        stored_flops = millions_to_count(row["flops"])
        params_ok += stored_params == counts.params
        flops_ok += stored_flops == counts.flops
        if stored_params != counts.params or stored_flops != counts.flops:
            mismatches.append({"arch": str(arch), "stored_params": stored_params, "params": counts.params,
                               "stored_flops": stored_flops, "flops": counts.flops})
    n = len(table)
    return {"n": n, "params_match": params_ok / n if n else float("nan"),
            "flops_match": flops_ok / n if n else float("nan"), "mismatches": mismatches}
