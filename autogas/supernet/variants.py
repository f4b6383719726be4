"""The four optimization schemes of the CycleGANAS paper (§3.3, §4.1), as data roles per epoch.

* ``of`` (one-step, full data; the paper's default and autogas's): ``alpha`` and the weights
  ``w`` are updated **jointly** by the same Adam steps on the CycleGAN loss over all of A, B
  (Algorithm 1; generator ``alpha`` follow the generator loss, discriminator ``alpha`` the
  discriminator loss, as in the released code).
* Two-step (bi-level, first-order) variants alternate, per iteration, a ``w`` step (Adam on the
  weights only) on a batch of the *weight data* and an ``alpha`` step (Adam on the ``alpha`` only)
  on a batch of the *architecture data*; both steps are the same CycleGAN update:

  - ``tf``: no split; both steps draw from the full A, B (independent batch streams). The paper's
    "w using A and alpha using B" cannot be taken literally for CycleGAN, whose every loss needs
    images of both domains; this is autogas's reading;
  - ``th``: w on ``A1, B1``, alpha on ``A2, B2`` throughout (halves of :func:`halve`);
  - ``ths``: as ``th`` for the first ``ceil(E / 2)`` epochs, then the halves swap roles (the paper
    swaps at epoch 200 of 400).

A two-step iteration costs two updates, so at equal epochs it does twice the work of ``of``.
"""
from __future__ import annotations

from autogas.errors import AutogasError
from autogas.supernet.data import halve
from autogas.train.data import UnpairedFolders

VARIANTS = ("of", "tf", "th", "ths")


def check_variant(variant: str) -> str:
    if variant not in VARIANTS:
        raise AutogasError(f"unknown variant {variant!r}; known: {', '.join(VARIANTS)}")
    return variant


def swap_epoch(epochs: int) -> int:
    """Last epoch before ``ths`` swaps the halves: ``ceil(epochs / 2)``."""
    return (epochs + 1) // 2


def data_roles(variant: str, folders: UnpairedFolders, *, seed: int, epoch: int,
               epochs: int) -> tuple[UnpairedFolders, UnpairedFolders | None]:
    """``(weight data, architecture data)`` of 1-based ``epoch``; ``None`` for ``of`` (joint step)."""
    check_variant(variant)
    if variant == "of":
        return folders, None
    if variant == "tf":
        return folders, folders
    first, second = halve(folders, seed)
    if variant == "ths" and epoch > swap_epoch(epochs):
        return second, first
    return first, second
