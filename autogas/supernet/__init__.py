"""CycleGANAS, the differentiable search of ``G_A, G_B, D_A, D_B`` over autogas's cyclegan space.

One concept per module: :mod:`~autogas.supernet.mixed` (mixed ops, softmax / Gumbel mixing),
:mod:`~autogas.supernet.network` (a supernet over the space, ``alpha`` per slot, argmax
derivation), :mod:`~autogas.supernet.variants` (``of``, ``tf``, ``th``, ``ths``),
:mod:`~autogas.supernet.data` (where the images come from, halving),
:mod:`~autogas.supernet.settings`, :mod:`~autogas.supernet.search` (the resumable loop) and
:mod:`~autogas.supernet.report` (per-epoch CSV/PNG, the search report).

API::

    from autogas.supernet import SupernetSettings, run_search
    report = run_search(SupernetSettings(epochs=2, search_hidden=8, resolution=32), "run/", task="photos")
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from autogas.supernet.mixed import MIXINGS, Mixer, MixedOp, temperature
from autogas.supernet.network import SuperNetwork, build_supernet
from autogas.supernet.report import build_report, summary_lines
from autogas.supernet.search import SupernetSearch
from autogas.supernet.settings import SupernetSettings
from autogas.supernet.variants import VARIANTS


def run_search(settings: SupernetSettings, run_dir: str | Path, *, data: str | None = None,
               task: str | None = None, resume: bool = False, device: str = "auto",
               progress: bool = True) -> dict[str, Any]:
    """Create (or, with ``resume``, reopen) the search in ``run_dir``, run it to the end and
    return its report (:func:`build_report`)."""
    if resume:
        search = SupernetSearch.resume(run_dir, device=device)
    else:
        search = SupernetSearch.create(settings, run_dir, data=data, task=task, device=device)
    search.fit(progress=progress)
    return build_report(search)


__all__ = ["MIXINGS", "Mixer", "MixedOp", "SuperNetwork", "SupernetSearch", "SupernetSettings", "VARIANTS",
           "build_report", "build_supernet", "run_search", "summary_lines", "temperature"]
