"""What defines a pipeline run (:class:`PipelineSettings`), its record in ``pipeline.json``
(:func:`settings_record`, and :func:`settings_from_flat_record` for the flat records of older
runs), what it produced (:class:`PipelineResult`), and the names of its files inside the run
directory."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from autogas.errors import AutogasError
from autogas.search.cyclegan import NetworkSearchSettings
from autogas.search.genetic import ArchSearchSettings
from autogas.supernet.settings import SupernetSettings
from autogas.train.evaluate import EvalSettings
from autogas.train.trainer import TrainRecipe

SETTINGS_FILE = "pipeline.json"
SEARCH_FILE = "search.json"
TRAIN_DIR = "train"
EVAL_DIR = "eval"


@dataclasses.dataclass(frozen=True)
class PipelineSettings:
    """Everything that defines a pipeline run: each stage's own settings, and the one thing no
    stage owns, the dataset.

    * ``data``: the dataset root (``trainA/``, ``trainB/``, ``testA/``, ``testB/``): what is
      trained on, what the search sees unless ``search`` names other folders
      (:meth:`search_images`), and whose test folders are evaluated;
    * ``search``: a :class:`~autogas.search.cyclegan.NetworkSearchSettings` runs the
      training-free proxy search (:attr:`method` ``"proxy"``), except that its ``images_a`` /
      ``images_b`` default to ``DATA/trainA`` / ``DATA/trainB`` here, not to the packaged photos;
      a :class:`~autogas.supernet.SupernetSettings` runs the CycleGANAS differentiable search on
      the dataset's training images (:attr:`method` ``"cycleganas"``);
    * ``train``: how the four searched networks are retrained
      (:class:`~autogas.train.trainer.TrainRecipe`: a recipe, not a ``TrainConfig``, because the
      networks come from the search and the data is ``data``);
    * ``evaluation``: how the trained generators are scored
      (:class:`~autogas.train.evaluate.EvalSettings`).

    Values more than one stage uses have one rule each:

    * seed: each stage's settings own a ``seed`` and they must be equal (``search.seed ==
      train.seed == evaluation.seed``, :attr:`seed`), so a run has one seed, as
      ``autogas pipeline --seed`` sets it;
    * width: the search owns it (``search.hidden``, ``search.n_cells``); the retrained networks
      are built at the width the search report records, so ``train`` has no width;
    * resolution: ``search.resolution`` (the proxy's input side, or the supernet's crops) and
      ``train.resolution`` (the training crop) are different settings; the searched networks
      must train at ``train.resolution`` (:func:`~autogas.pipeline.run.run_pipeline` checks it
      before the search).

    :class:`AutogasError` on construction if a component has another type (``train`` exactly a
    :class:`TrainRecipe`) or the seeds differ.
    """

    data: str
    search: NetworkSearchSettings | SupernetSettings
    train: TrainRecipe = TrainRecipe()
    evaluation: EvalSettings = EvalSettings()

    def __post_init__(self) -> None:
        if not isinstance(self.search, (NetworkSearchSettings, SupernetSettings)):
            raise AutogasError(f"pipeline search settings must be NetworkSearchSettings (proxy search) or "
                               f"SupernetSettings (cycleganas), not {type(self.search).__name__}")
        if type(self.train) is not TrainRecipe:
            raise AutogasError(f"pipeline train settings must be a TrainRecipe (the networks come from the "
                               f"search, the data is the pipeline's), not {type(self.train).__name__}")
        if not isinstance(self.evaluation, EvalSettings):
            raise AutogasError(f"pipeline evaluation settings must be EvalSettings, not "
                               f"{type(self.evaluation).__name__}")
        seeds = {"search": self.search.seed, "train": self.train.seed, "evaluation": self.evaluation.seed}
        if len(set(seeds.values())) > 1:
            raise AutogasError("a pipeline has one seed, but " + ", ".join(
                f"{stage}.seed={seed!r}" for stage, seed in seeds.items()))

    @property
    def method(self) -> str:
        """``"proxy"`` or ``"cycleganas"``, by the type of ``search``."""
        return "proxy" if isinstance(self.search, NetworkSearchSettings) else "cycleganas"

    @property
    def seed(self) -> int:
        """The run's one seed (every stage's)."""
        return self.train.seed

    def search_images(self, domain: str) -> str:
        """Folder of the images the search sees for ``domain`` ("A" or "B"): the proxy search's
        ``images_a`` / ``images_b`` when given, else ``DATA/trainA`` / ``DATA/trainB``."""
        given = getattr(self.search, f"images_{domain.lower()}", None)
        return str(given) if given is not None else str(Path(self.data) / f"train{domain}")


def settings_record(settings: PipelineSettings, proxy: str | None) -> dict[str, Any]:
    """The JSON record of ``settings`` (``pipeline.json``'s ``"settings"``): ``data`` (resolved),
    ``method``, and the fields of ``search``, ``train`` and ``evaluation`` nested under those
    names. In a proxy search's record ``proxy`` is the name given (the resolved proxy's, e.g.
    canonical proxy text), and ``images_a`` / ``images_b`` are :meth:`~PipelineSettings.search_images`
    resolved."""
    search = settings.search
    if isinstance(search, NetworkSearchSettings):
        record = dataclasses.asdict(dataclasses.replace(search, proxy=None))
        record.update(proxy=proxy, **{f"images_{d.lower()}": str(Path(settings.search_images(d)).resolve())
                                      for d in "AB"})
    else:
        record = search.to_json()
    record = {"data": str(Path(settings.data).resolve()), "method": settings.method, "search": record,
              "train": settings.train.to_json(), "evaluation": dataclasses.asdict(settings.evaluation)}
    return json.loads(json.dumps(record))


def settings_from_flat_record(flat: dict[str, Any]) -> PipelineSettings:
    """The settings of a flat record, as ``pipeline.json`` held them before the settings were
    composed: one key per setting, named as the options of ``autogas pipeline`` (``batch``,
    ``eval_batch``, ``search_resolution``, ...), with ``method`` and the cycleganas keys
    (``search_epochs``, ``variant``, ``search_hidden``, ``mixing``) only in cycleganas runs.
    ``proxy`` stays the recorded proxy name. :class:`KeyError` for a missing key."""
    seed = flat["seed"]
    if flat.get("method", "proxy") == "cycleganas":
        widths = {name: flat[name] for name in ("hidden", "n_cells") if flat[name] is not None}
        search = SupernetSettings(variant=flat["variant"], epochs=flat["search_epochs"],
                                  search_hidden=flat["search_hidden"], mixing=flat["mixing"],
                                  resolution=flat["search_resolution"], cost_resolution=flat["cost_resolution"],
                                  seed=seed, **widths)
    else:
        evolution = ArchSearchSettings(population=flat["population"], generations=flat["generations"],
                                       mutation_rate=flat["mutation_rate"])
        search = NetworkSearchSettings(
            flat["space"], flat["proxy"], **{name: flat[name] for name in (
                "budget_macs", "budget_params", "d_budget_macs", "d_budget_params", "cost_resolution",
                "images_a", "images_b", "hidden", "n_cells", "config_set")},
            evolution=evolution, resolution=flat["search_resolution"], batch=flat["search_batch"], seed=seed)
    train = TrainRecipe(epochs=flat["epochs"], decay_epochs=flat["decay_epochs"], batch_size=flat["batch"],
                        resolution=flat["resolution"], seed=seed)
    evaluation = EvalSettings(batch_size=flat["eval_batch"], kid_subsets=flat["kid_subsets"],
                              kid_subset_size=flat["kid_subset_size"], seed=seed)
    return PipelineSettings(flat["data"], search, train, evaluation)


@dataclasses.dataclass
class PipelineResult:
    """What a pipeline run produced: its settings' record (:func:`settings_record`), stage
    statuses, the search report, the training run, the evaluation (``None`` when skipped) and
    the report paths."""

    run_dir: Path
    settings: dict[str, Any]
    stages: dict[str, str]
    search: dict[str, Any]
    train: dict[str, Any]
    evaluation: dict[str, Any] | None
    report: Path
    curves: Path
