"""Named protocols for the network pass of the baselines: which batch, splits, resolution and
BatchNorm mode the gradient proxies see, and how Fisher is summed.

``naslib`` is the NAS-Bench-Suite-Zero protocol for TransNAS-Bench-101 autoencoder (NASLib's
``predictive.find_measures`` as its zero-cost runner calls it): one loader batch of **32**
images at **256 x 256**, the batch in **one** split (``split_data=1``; NASLib splits only after
a CUDA out-of-memory error), the freshly built network in **train** mode (BatchNorm on batch
statistics), loss ``nn.L1Loss()`` (mean absolute error) of the output against the input
image (the task's target is the normalised input itself), prunable layers Conv2d / Linear, and
Fisher's per-channel value counted once per weight of that channel (NASLib broadcasts it to the
channel's ``C_in/groups * k_h * k_w`` weights before summing).

``naslib64`` (the default) is the same protocol at 64 x 64: the most faithful one this CPU
affords (one arch costs ~1/16 of the 256 x 256 pass: 194 s for snip, grad_norm, fisher, grasp
and jacov of ``64-2434-basic`` at 256 x 256 on the shared 2-core machine). ``cache`` is the
earlier default: the cache's own input batch (or its first ``--net-batch`` images), two splits,
the cache's train/eval mode, Fisher summed once per channel.
``benchmarks/results/baselines_agreement.md`` measures each factor against the stored
NAS-Bench-Suite-Zero scores.

What no protocol here reproduces (the remaining deviations, listed per baseline in the
registry): the reference's Taskonomy training images (with flip and colour jitter), and its
weights, which were one random draw per arch; inputs here are the packaged photos or noise and
the weights a seeded draw per arch.
"""
from __future__ import annotations

import dataclasses

from autogas.errors import AutogasError


@dataclasses.dataclass(frozen=True)
class Protocol:
    """How the network pass runs.

    ``batch``: images in the batch (``None``: the cache's batch, or its first ``--net-batch``);
    ``resolution``: side of the images (``None``: the cache's stored batch is used as it is;
    otherwise a fresh batch from the cache's input source at this side, see
    :func:`autogas.measure.inputs.input_batch`); ``splits``: the batch is processed in this many
    parts (gradients summed, BatchNorm statistics per part; a part keeps >= 2 images or the
    batch stays whole); ``train_mode``: BatchNorm on batch statistics (``None``: the cache's
    mode); ``fisher_fan_in``: Fisher counts each channel's value once per weight of the channel.
    """

    name: str
    batch: int | None
    resolution: int | None
    splits: int
    train_mode: bool | None
    fisher_fan_in: bool
    summary: str

    def __post_init__(self) -> None:
        if self.splits < 1:
            raise ValueError(f"protocol {self.name!r}: splits must be >= 1")
        if self.batch is not None and self.batch < 1:
            raise ValueError(f"protocol {self.name!r}: batch must be >= 1")


PROTOCOLS: dict[str, Protocol] = {p.name: p for p in (
    Protocol("naslib", batch=32, resolution=256, splits=1, train_mode=True, fisher_fan_in=True,
             summary="NAS-Bench-Suite-Zero: 32 images at 256x256, one split, train-mode BN, "
                     "Fisher per weight"),
    Protocol("naslib64", batch=32, resolution=64, splits=1, train_mode=True, fisher_fan_in=True,
             summary="the naslib protocol at 64x64 (affordable on this CPU)"),
    Protocol("cache", batch=None, resolution=None, splits=2, train_mode=None, fisher_fan_in=False,
             summary="the cache's batch (first --net-batch images) in two splits, the cache's "
                     "BN mode, Fisher per channel (the default before issue 13)"),
)}
DEFAULT_PROTOCOL = "naslib64"


def get_protocol(protocol: str | Protocol | None = None) -> Protocol:
    """The protocol called ``protocol`` (default :data:`DEFAULT_PROTOCOL`); a
    :class:`Protocol` is returned as it is. Unknown names raise :class:`AutogasError`."""
    if isinstance(protocol, Protocol):
        return protocol
    name = DEFAULT_PROTOCOL if protocol is None else protocol
    try:
        return PROTOCOLS[name]
    except KeyError:
        raise AutogasError(f"unknown baseline protocol {name!r}; choose from "
                           f"{', '.join(PROTOCOLS)}") from None
