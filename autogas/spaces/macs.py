"""Multiply-accumulate (MAC) and parameter counting with the torchprofile convention.

GAN Compression reports generator cost with ``torchprofile.profile_macs`` on one
``1x3x256x256`` input; this module reproduces that convention with forward hooks so
the published figures can be matched without the dependency (spec §2.4):

* convolution: ``output elements x (C_in / groups) x prod(kernel)`` (bias not counted);
* transposed convolution: ``output elements x C_in x prod(kernel) / groups``, i.e. counted
  on the *output* size, which is ``stride^2`` times the true multiply count;
* linear: ``output elements x in_features``;
* normalization layers (instance, batch, group, layer norm): one MAC per output element.
  torchprofile 0.1.0 counts nothing for affine-free norms, but the README figures
  (2.55G, 2.64G, 2.67G, 56.8G) are reproduced to <1% only when they are counted;
* everything else (activations, padding, pooling, interpolation, additions): zero.

Only ``nn.Module`` layers are seen, so networks must use modules rather than functional
calls for the layers above. Counting works on the ``meta`` device (shapes only), which
makes it cheap: no real tensors are allocated.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

_NORM_TYPES: tuple[type[nn.Module], ...] = (
    nn.modules.instancenorm._InstanceNorm, nn.modules.batchnorm._BatchNorm,
    nn.GroupNorm, nn.LayerNorm,
)


def layer_macs(module: nn.Module, output: torch.Tensor) -> int:
    """MACs of one call of ``module`` that produced ``output`` (0 for uncounted layers)."""
    out = output.numel()
    if isinstance(module, nn.modules.conv._ConvTransposeNd):
        return out * module.in_channels * math.prod(module.kernel_size) // module.groups
    if isinstance(module, nn.modules.conv._ConvNd):
        return out * (module.in_channels // module.groups) * math.prod(module.kernel_size)
    if isinstance(module, nn.Linear):
        return out * module.in_features
    if isinstance(module, _NORM_TYPES):
        return out
    return 0


def count_macs(model: nn.Module, input_shape: Sequence[int]) -> int:
    """MACs of one forward pass of ``model`` on a zero tensor of ``input_shape``.

    The input is created on the device of the model's first parameter (or CPU), so a
    model built on the ``meta`` device is counted from shapes alone. Hooks are removed
    afterwards.
    """
    first = next(model.parameters(), None)
    device = first.device if first is not None else torch.device("cpu")
    total = 0

    def hook(module: nn.Module, _args: tuple, output: torch.Tensor) -> None:
        nonlocal total
        total += layer_macs(module, output)

    handles = [m.register_forward_hook(hook) for m in model.modules()]
    try:
        with torch.no_grad():
            model(torch.zeros(*input_shape, device=device))
    finally:
        for handle in handles:
            handle.remove()
    return total


def count_params(model: nn.Module) -> int:
    """Number of parameter elements (each shared tensor counted once)."""
    return sum(p.numel() for p in model.parameters())
