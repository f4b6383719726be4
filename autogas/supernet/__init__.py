"""CycleGANAS, the differentiable search of ``G_A, G_B, D_A, D_B`` over autogas's cyclegan space.

One concept per module: :mod:`~autogas.supernet.mixed` (mixed ops, softmax / Gumbel mixing),
:mod:`~autogas.supernet.network` (a supernet over the space, ``alpha`` per slot, argmax
derivation), :mod:`~autogas.supernet.variants` (``of``, ``tf``, ``th``, ``ths``),
:mod:`~autogas.supernet.data` (where the images come from, halving),
:mod:`~autogas.supernet.settings`, :mod:`~autogas.supernet.search` (the resumable loop) and
:mod:`~autogas.supernet.report` (per-epoch CSV/PNG, the search report).

The search minimizes the losses of ``autogas train`` (:func:`autogas.train.trainer.cyclegan_update`,
:class:`~autogas.train.losses.LossWeights`, :class:`~autogas.train.losses.ImagePool`) over the
supernets' weights and ``alpha``; the result is a report in the format of the training-free
search (:mod:`autogas.search.cyclegan`), so ``autogas train --arch-a best.json`` retrains it.
The command is ``autogas search --method cycleganas``.

Python API (what a side-by-side benchmark calls)::

    from autogas.supernet import SupernetSettings, run_search
    from autogas.train.trainer import CycleGanTrainer, TrainConfig

    settings = SupernetSettings(variant="of", epochs=2, search_hidden=8, hidden=16, resolution=32, seed=0)
    report = run_search(settings, "run/", data="DATASET_ROOT", progress=False)  # or task="unsharp"
    report["search_seconds"]          # seconds of the search epochs (sum; excludes building data and nets)
    report["networks"]["G_A"]["arch"] # derived G_A, e.g. "G:23.00.00...", params/MACs at ``hidden``
    config = TrainConfig(data="DATASET_ROOT", **report["train_args"], hidden=report["hidden"],
                         ndf=report["hidden"], epochs=1, decay_epochs=0, resolution=32)
    CycleGanTrainer.create(config, "train/").fit()

``data`` is a CycleGAN dataset root; without ``data`` and ``task`` the search runs on the
built-in known-answer task of :mod:`autogas.groundtruth.task` (``unsharp``, made at the search
resolution). ``run_dir`` receives ``config.json``, ``checkpoint.pt``, ``epochs.csv``,
``alphas.csv`` and ``alphas.png``; ``run_search(None, run_dir, resume=True)`` continues a
killed run exactly where its last epoch checkpoint left it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from autogas.errors import AutogasError
from autogas.supernet.mixed import MIXINGS, Mixer, MixedOp, temperature
from autogas.supernet.network import SuperNetwork, build_supernet
from autogas.supernet.report import build_report, summary_lines
from autogas.supernet.search import SupernetSearch
from autogas.supernet.settings import SupernetSettings
from autogas.supernet.variants import VARIANTS


def run_search(settings: SupernetSettings | None, run_dir: str | Path, *, data: str | None = None,
               task: str | None = None, resume: bool = False, device: str = "auto",
               progress: bool = True, expect: dict[str, Any] | None = None) -> dict[str, Any]:
    """Create (or, with ``resume``, reopen) the search in ``run_dir``, run it to the end and
    return its report (:func:`build_report`).

    With ``resume`` the settings and data are the run's own (``config.json``); ``settings``
    (if given) and ``expect`` (settings fields, ``data``, ``task``) must agree with them, else
    :class:`~autogas.errors.AutogasError`. Without ``resume``, ``settings`` is required.
    """
    if resume:
        wanted = dict(expect or {})
        if settings is not None:
            wanted.update(settings.to_json())
        if data is not None or task is not None:
            wanted.update(data=data, task=task)
        search = SupernetSearch.resume(run_dir, device=device, expect=wanted)
    else:
        if settings is None:
            raise AutogasError("a new search needs its settings")
        search = SupernetSearch.create(settings, run_dir, data=data, task=task, device=device)
    search.fit(progress=progress)
    return build_report(search)


__all__ = ["MIXINGS", "Mixer", "MixedOp", "SuperNetwork", "SupernetSearch", "SupernetSettings", "VARIANTS",
           "build_report", "build_supernet", "run_search", "summary_lines", "temperature"]
