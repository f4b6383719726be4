"""Search -> train -> evaluate in one call: the API of ``autogas pipeline``.

Stages, each writing its output into the run directory ``RUN_DIR``:

1. **search** (:mod:`autogas.search.cyclegan`): ``G_A, G_B, D_A, D_B`` under the budgets, the
   proxy scoring each domain's networks on that domain's training images (``trainA``,
   ``trainB``, unless other folders are given) -> ``search.json`` (the ``autogas search`` report);
   with :class:`~autogas.supernet.SupernetSettings` as the search settings (method
   ``cycleganas``) the differentiable search of :mod:`autogas.supernet` on the training images
   instead (checkpoints in ``search.run/``, continued after a kill), same report;
2. **train** (:class:`autogas.train.trainer.CycleGanTrainer`): the four searched networks
   retrained as a CycleGAN at width ``H`` (the search's) -> ``train/`` (config, checkpoint,
   ``losses.csv``, sample grids);
3. **evaluate** (:func:`autogas.train.evaluate.evaluate_run`): FID/KID of ``testA -> B`` and
   ``testB -> A`` with the Inception-v3 FID features (or an injected extractor) -> ``eval/``;
4. **report**: ``report.md`` and ``curves.png`` (:mod:`autogas.pipeline.report`), rewritten every run.

The settings (:class:`~autogas.pipeline.settings.PipelineSettings`) are the search, training
and evaluation settings of each stage; those each stage checks on construction are checked
then. Everything else that can be checked is checked before any stage runs: the dataset
folders, the Inception weights (unless evaluation is skipped), and (when the search has to run)
the search settings, the budgets and the training resolution against the searched spaces. Once the
search is done the settings are recorded in ``pipeline.json``
(:func:`~autogas.pipeline.settings.settings_record`); a rerun with other settings is refused,
naming the first differing setting by its path (``train.epochs``); the flat record of a run
made before the settings were composed is compared through
:func:`~autogas.pipeline.settings.settings_from_flat_record`. A rerun skips every
stage whose output is complete (``search.json`` present; training at its last epoch;
``eval/metrics.json`` of the final epoch) and resumes training from its last checkpoint.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Callable

from autogas.atomic import write_text_atomic
from autogas.errors import AutogasError
from autogas.pipeline.settings import (
    EVAL_DIR, SEARCH_FILE, SETTINGS_FILE, TRAIN_DIR, PipelineResult, PipelineSettings, settings_from_flat_record,
    settings_record,
)
from autogas.search.cyclegan import NetworkSearch, plan_network_search, summary_lines
from autogas.search.scorer import ProxyScorer, open_space, proxy_name, resolve_proxy
from autogas.train.data import UnpairedFolders, list_images
from autogas.train.metrics import FeatureExtractor


def _flat(record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"train": {"epochs": 1}}`` -> ``{"train.epochs": 1}``."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _check_record(run_dir: Path, record: dict[str, Any]) -> bool:
    """Refuse a rerun with other settings than ``pipeline.json``'s; False if there is no record.
    A flat record of an older run is read through :func:`settings_from_flat_record`."""
    path = run_dir / SETTINGS_FILE
    if not path.exists():
        return False
    try:
        recorded = json.loads(path.read_text())["settings"]
        if "search" not in recorded:
            recorded = settings_record(settings_from_flat_record(recorded), recorded["proxy"])
    except (OSError, ValueError, KeyError, TypeError, AutogasError):
        raise AutogasError(f"{path} is unreadable; delete {run_dir} or choose another output folder") from None
    recorded, wanted = _flat(recorded), _flat(record)
    for key in sorted(set(recorded) | set(wanted)):
        if recorded.get(key) != wanted.get(key):
            raise AutogasError(f"{run_dir} was started with {key}={recorded.get(key)!r}, not {wanted.get(key)!r}; "
                               "rerun with the same settings to resume, or choose another output folder")
    return True


SUPERNET_DIR = "search.run"


def _check_method(settings: PipelineSettings) -> ProxyScorer | None:
    """The proxy of a ``proxy`` search; ``None`` for ``cycleganas`` after checking that its
    networks can train at the training resolution."""
    if settings.method == "proxy":
        return resolve_proxy(settings.search.proxy)
    for part in ("generator", "discriminator"):  # the searched networks must train at this size
        open_space("cyclegan", part=part, n_cells=settings.search.n_cells).check_resolution(settings.train.resolution)
    return None


def _run_supernet(settings: PipelineSettings, run_dir: Path, device: str, progress: bool) -> dict[str, Any]:
    """The cycleganas search in ``run_dir/search.run`` (continued if a killed one is there)."""
    from autogas.supernet import run_search
    from autogas.supernet.search import CONFIG_FILE

    search_dir = run_dir / SUPERNET_DIR
    return run_search(settings.search, search_dir, data=str(Path(settings.data).resolve()),
                      resume=(search_dir / CONFIG_FILE).exists(), device=device, progress=progress)


def _summary_lines(report: dict[str, Any]) -> list[str]:
    if report.get("method") == "cycleganas":
        from autogas.supernet import summary_lines as supernet_lines

        return supernet_lines(report)
    return summary_lines(report)


def _plan_search(settings: PipelineSettings, proxy: ProxyScorer, device: str) -> NetworkSearch:
    """The search of ``settings``, every setting checked (budgets, images, both resolutions)."""
    search = plan_network_search(dataclasses.replace(
        settings.search, proxy=proxy, images_a=settings.search_images("A"), images_b=settings.search_images("B")),
        device=device)
    for space in search.spaces.values():
        space.check_resolution(settings.train.resolution)  # the searched networks must train at this size
    return search


def _train_config(settings: PipelineSettings, report: dict[str, Any]):
    """The training config: the searched networks at the search's width H."""
    from autogas.train.trainer import TrainConfig

    width = report.get("hidden")
    return TrainConfig.from_recipe(settings.train, str(Path(settings.data).resolve()), **report["train_args"],
                                   hidden=width, ndf=width)


def _load_search(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    try:
        report = json.loads(path.read_text())
        report["train_args"]["arch_a"]
    except (OSError, ValueError, KeyError, TypeError):
        raise AutogasError(f"{path} is not a search report; delete it to search again") from None
    return report


def _train(run_dir: Path, config, device: str, progress: bool, log: Callable[[str], None]):
    """Create, resume or skip the training run; returns the trainer and the stage status."""
    from autogas.train.trainer import CONFIG_FILE, CycleGanTrainer, load_run_config

    train_dir = run_dir / TRAIN_DIR
    if (train_dir / CONFIG_FILE).exists():
        if load_run_config(train_dir) != config:
            raise AutogasError(f"{train_dir} holds a training run of other networks or settings than "
                               f"{run_dir / SEARCH_FILE}; delete {train_dir} to train again")
        trainer = CycleGanTrainer.resume(train_dir, device=device)
    else:
        trainer = CycleGanTrainer.create(config, train_dir, device=device)
    total, start = config.total_epochs, trainer.epoch
    if start >= total:
        return trainer, f"skipped (complete at epoch {total})"
    log(f"train: epochs {start + 1}..{total} -> {train_dir}")
    trainer.fit(progress=progress)
    return trainer, (f"resumed from epoch {start}, trained to epoch {total}" if start
                     else f"ran (epochs 1..{total})")


def _evaluate(run_dir: Path, settings: PipelineSettings, extractor: FeatureExtractor, epoch: int, device: str,
              progress: bool, log: Callable[[str], None]) -> tuple[dict[str, Any], str]:
    from autogas.train.evaluate import METRICS_FILE, evaluate_run

    path = run_dir / EVAL_DIR / METRICS_FILE
    if path.exists():
        try:
            metrics = json.loads(path.read_text())
        except (OSError, ValueError):
            metrics = {}
        if metrics.get("epoch") == epoch:
            return metrics, "skipped (complete)"
    log(f"evaluate: FID/KID of the test folders -> {run_dir / EVAL_DIR}")
    metrics = evaluate_run(run_dir / TRAIN_DIR, settings.data, extractor, settings.evaluation,
                           out_dir=run_dir / EVAL_DIR, device=device, progress=progress)
    return metrics, "ran"


def run_pipeline(
    settings: PipelineSettings,
    out: str | Path,
    *,
    extractor: FeatureExtractor | None = None,
    inception_weights: str | None = None,
    skip_eval: bool = False,
    device: str = "auto",
    progress: bool = True,
    log: Callable[[str], None] = lambda line: None,
) -> PipelineResult:
    """Run (or resume) the pipeline of the module doc into ``out``.

    Evaluation uses ``extractor`` when given, else the Inception-v3 FID network loaded from
    ``inception_weights`` (or ``$AUTOGAS_INCEPTION_WEIGHTS``) before anything else runs, so
    missing weights fail at once; ``skip_eval`` leaves evaluation out (the report says so).
    ``log`` receives one line per stage event.
    """
    from autogas.pipeline.report import write_loss_curves, write_report
    from autogas.train.metrics import load_inception
    from autogas.measure.device import resolve_device
    from autogas.train.trainer import LOSS_FILE

    run_dir = Path(out)
    UnpairedFolders.open(settings.data)
    if not skip_eval:
        for domain in "AB":
            if len(list_images(Path(settings.data) / f"test{domain}")) < 2:
                raise AutogasError(f"FID needs at least 2 images in {Path(settings.data) / f'test{domain}'}")
        if extractor is None:
            extractor = load_inception(inception_weights, device=resolve_device(device))
    proxy = _check_method(settings)
    record = settings_record(settings, None if proxy is None else proxy_name(proxy))
    recorded = _check_record(run_dir, record)

    stages: dict[str, str] = {}
    report = _load_search(run_dir / SEARCH_FILE)
    if report is None and proxy is None:
        log(f"search: cycleganas ({settings.search.variant}, {settings.search.epochs} epochs) -> "
            f"{run_dir / SUPERNET_DIR}")
        report = _run_supernet(settings, run_dir, device, progress)
        write_text_atomic(run_dir / SEARCH_FILE, json.dumps(report, indent=2) + "\n")
        stages["search"] = "ran"
    elif report is None:
        search = _plan_search(settings, proxy, device)
        log(f"search: {settings.search.space} networks with proxy {record['search']['proxy']}")
        report = search.run(progress=progress)
        write_text_atomic(run_dir / SEARCH_FILE, json.dumps(report, indent=2) + "\n")
        stages["search"] = "ran"
    else:
        stages["search"] = "skipped (complete)"
    if not recorded:
        write_text_atomic(run_dir / SETTINGS_FILE, json.dumps({"settings": record}, indent=2) + "\n")
    for line in _summary_lines(report):
        log(f"search: {line}")

    trainer, stages["train"] = _train(run_dir, _train_config(settings, report), device, progress, log)
    train = {"dir": str(run_dir / TRAIN_DIR), "epoch": trainer.epoch, "config": trainer.config.to_json(),
             "networks": trainer.describe_networks()}

    evaluation = None
    if skip_eval:
        stages["evaluate"] = "skipped (--skip-eval)"
    else:
        evaluation, stages["evaluate"] = _evaluate(run_dir, settings, extractor, trainer.epoch, device,
                                                   progress, log)
    for stage, status in stages.items():
        log(f"{stage}: {status}")

    curves = write_loss_curves(run_dir / TRAIN_DIR / LOSS_FILE, run_dir / "curves.png")
    result = PipelineResult(run_dir, record, stages, report, train, evaluation, run_dir / "report.md", curves)
    write_report(result)
    log(f"-> {result.report}")
    return result
