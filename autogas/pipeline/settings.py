"""What defines a pipeline run (:class:`PipelineSettings`), what it produced (:class:`PipelineResult`),
and the names of its files inside the run directory."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

SETTINGS_FILE = "pipeline.json"
SEARCH_FILE = "search.json"
TRAIN_DIR = "train"
EVAL_DIR = "eval"


@dataclasses.dataclass(frozen=True)
class PipelineSettings:
    """Everything that defines a pipeline run (recorded in ``pipeline.json``).

    Budgets are raw counts (MACs counted at ``cost_resolution``); ``None`` means no limit.
    ``images_a`` / ``images_b`` (search inputs) default to the dataset's ``trainA`` / ``trainB``.
    ``search_resolution`` / ``search_batch`` size the proxy's input batch; ``resolution`` /
    ``batch`` are the training crop and batch size. ``hidden`` is the CycleGANAS width ``H`` of
    both the search and the retrained networks (default 64).

    ``method`` is ``proxy`` (the training-free search, default) or ``cycleganas`` (the
    differentiable search of :mod:`autogas.supernet` on the dataset's training images at
    ``search_resolution``: ``search_epochs`` epochs of scheme ``variant`` at width
    ``search_hidden`` with ``mixing``; no proxy or budgets, ``proxy`` is ``None``).
    """

    data: str
    proxy: Any  # proxy file, text or baseline name, or a ProxyGraph / Baseline / callable
    space: str = "cyclegan"
    budget_macs: float | None = None
    budget_params: float | None = None
    d_budget_macs: float | None = None
    d_budget_params: float | None = None
    cost_resolution: int = 256
    population: int = 32
    generations: int = 16
    mutation_rate: float = 0.2
    hidden: int | None = None
    n_cells: int | None = None
    config_set: str | None = None
    images_a: str | None = None
    images_b: str | None = None
    search_resolution: int = 128
    search_batch: int = 8
    epochs: int = 100
    decay_epochs: int = 100
    resolution: int = 256
    batch: int = 1
    seed: int = 0
    eval_batch: int = 8
    kid_subsets: int = 100
    kid_subset_size: int = 1000
    method: str = "proxy"
    search_epochs: int = 1
    variant: str = "of"
    search_hidden: int = 16
    mixing: str = "softmax"

    def search_images(self, domain: str) -> str:
        """Folder of the images the proxy sees for ``domain`` ("A" or "B")."""
        given = self.images_a if domain == "A" else self.images_b
        return str(given) if given is not None else str(Path(self.data) / f"train{domain}")


@dataclasses.dataclass
class PipelineResult:
    """What a pipeline run produced: stage statuses, the search report, the training run, the
    evaluation (``None`` when skipped) and the report paths."""

    run_dir: Path
    settings: dict[str, Any]
    stages: dict[str, str]
    search: dict[str, Any]
    train: dict[str, Any]
    evaluation: dict[str, Any] | None
    report: Path
    curves: Path
