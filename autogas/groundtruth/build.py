"""Build a ground-truth cache: for each architecture, its random-init features and trained labels.

The output is a feature cache in the TransNAS cache's HDF5 format (:mod:`autogas.cache`), so
``autogas score``, ``autogas baselines`` and ``autogas evolve --bench`` read it unchanged. Per
architecture (the cache key is the space's canonical string, as in ``autogas rank``'s CSV):

* **features** exactly as ``autogas rank`` scores it (:class:`autogas.search.scorer.GeneratorScorer`):
  built at ``init_seed(seed, arch)`` (width ``hidden`` for CycleGANAS, the widths themselves for
  GAN-Compression), train mode, one forward under inference mode on the packaged-photo batch
  ``input_batch("images", FEATURE_BATCH, FEATURE_RESOLUTION, seed)`` (rank's defaults, 8 x 128 px),
  the hooks and ``max_dims`` of :mod:`autogas.measure.features`;
* **attrs**: ``label`` (the mean over training seeds of the per-seed label, see
  :mod:`autogas.groundtruth.training`), ``label_seed<k>`` and the metric values per seed
  (``ssim_seed<k>``/``psnr_seed<k>`` or ``fid_seed<k>``/``kid_seed<k>``), ``params`` and
  ``flops`` in millions (MACs at 256 px, torchprofile convention, as ``autogas rank``),
  ``macs``, ``init_seed``, ``forward_seconds``, ``train_seconds`` (wall, all seeds),
  ``train_cpu_seconds`` and ``device``.

The file's ``task`` attribute is ``groundtruth <JSON>`` with everything that determines a
label (task or data folder, training settings, reference networks, seeds, space options), so
resuming with other settings is refused by the cache writer. Training seed ``k`` of global
``seed`` is ``1000 * seed + k``.

Resumable with an architecture as the unit: finished architectures are journaled by the cache
writer as they arrive, so a killed build loses only the architectures in flight (at most
``workers``). Deterministic: every network and data order comes from seeds, and every
worker (including the serial path) uses one torch thread, so ``workers`` 1, 2 or a Dask
cluster give the same labels on the same device.
"""
from __future__ import annotations

import dataclasses
import functools
import json
import math
import os
import signal
import time
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import torch
from tqdm import tqdm

from autogas.errors import AutogasError
from autogas.groundtruth.task import KnownAnswerTask, materialize
from autogas.groundtruth.training import REFERENCE_D, REFERENCE_G, TrainingSettings, label_candidate

FEATURE_RESOLUTION = 128  # autogas rank's --resolution default
FEATURE_BATCH = 8         # autogas rank's --batch default
COST_RESOLUTION = 256     # autogas rank's --cost-resolution default
TASK_PREFIX = "groundtruth "


def training_seed(seed: int, k: int) -> int:
    """Training seed ``k`` (0-based) under global ``seed``."""
    return 1000 * int(seed) + int(k)


@dataclasses.dataclass(frozen=True)
class GroundTruthSettings:
    """Everything that determines the labels and features of a ground-truth cache.

    ``data`` is ``None`` for the built-in task ``task``, else a CycleGAN-layout folder (labels
    are then -FID with the Inception weights at ``inception_weights``).
    """

    space: str = "cyclegan"
    training: TrainingSettings = TrainingSettings()
    seeds: int = 1
    seed: int = 0
    task: str = "unsharp"
    data: str | None = None
    inception_weights: str | None = None
    n_cells: int | None = None
    config_set: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.seeds, bool) or not isinstance(self.seeds, int) or self.seeds < 1:
            raise AutogasError(f"--seeds must be a positive integer, got {self.seeds!r}")
        if self.data is None:
            KnownAnswerTask(self.training.resolution, name=self.task)  # checks the task name
        self.open_space()  # checks space and its options

    def open_space(self):
        from autogas.search.scorer import open_space

        hidden = self.training.hidden if self.space == "cyclegan" else None
        return open_space(self.space, n_cells=self.n_cells, hidden=hidden, config_set=self.config_set)

    def describe(self) -> dict[str, Any]:
        """The JSON record stored in the cache's ``task`` attribute."""
        space = self.open_space()
        source = ({"task": KnownAnswerTask(self.training.resolution, name=self.task).describe()}
                  if self.data is None else {"data": self.data, "label": "-fid"})
        return {**source, "training": dataclasses.asdict(self.training), "seeds": self.seeds,
                "G_B": REFERENCE_G, "D_A": f"{REFERENCE_D}:ndf={self.training.hidden}",
                "D_B": f"{REFERENCE_D}:ndf={self.training.hidden}",
                "n_cells": getattr(space, "n_cells", None), "config_set": getattr(space, "config_set", None),
                "hidden": self.training.hidden if self.space == "cyclegan" else None}

    def cache_settings(self) -> dict[str, Any]:
        """The cache file's settings attributes (:data:`autogas.cache.SETTING_KEYS`)."""
        from autogas.measure.features import DEFAULT_MAX_DIMS

        return {"space": self.space, "task": TASK_PREFIX + json.dumps(self.describe(), sort_keys=True),
                "seed": self.seed, "batch": FEATURE_BATCH, "resolution": FEATURE_RESOLUTION,
                "inputs": "images", "max_dims": DEFAULT_MAX_DIMS, "train_mode": True}


def read_groundtruth_task(task_attr: object) -> dict[str, Any] | None:
    """The settings record of a cache's ``task`` attribute; ``None`` if not a ground truth."""
    if not isinstance(task_attr, str) or not task_attr.startswith(TASK_PREFIX):
        return None
    try:
        return json.loads(task_attr[len(TASK_PREFIX):])
    except json.JSONDecodeError:
        return None


def merge_groundtruth(sources: Sequence[str | os.PathLike], out: str | os.PathLike) -> int:
    """Merge ground-truth caches of one space, task and training settings into ``out``.

    They may differ only in the number of training seeds (a build that trains some archs with two
    seeds and the rest with one writes two caches); the merged ``task`` record lists the distinct
    seed counts (``"seeds": [1, 2]``). Each arch keeps its own label(s). See
    :func:`autogas.cache.merge_caches` for the rest (verbatim copy, no ``/scores``, atomic).
    """
    from autogas.cache import FeatureCache, merge_caches

    settings = [FeatureCache(p).settings for p in sources]
    records = [read_groundtruth_task(s.get("task")) for s in settings]
    for path, record in zip(sources, records):
        if record is None:
            raise AutogasError(f"{path} is not a ground-truth cache (autogas bench train)")
    def without_seeds(record, file_settings):
        return ({k: v for k, v in record.items() if k != "seeds"},
                {k: v for k, v in file_settings.items() if k != "task"})
    first = without_seeds(records[0], settings[0])
    for path, record, file_settings in zip(sources[1:], records[1:], settings[1:]):
        if without_seeds(record, file_settings) != first:
            raise AutogasError(f"{path} was built with other settings than {sources[0]} "
                               "(only the number of training seeds may differ)")
    counts = sorted({c for r in records for c in (r["seeds"] if isinstance(r["seeds"], list) else [r["seeds"]])})
    merged = {**records[0], "seeds": counts if len(counts) > 1 else counts[0]}
    out_settings = {**settings[0], "task": TASK_PREFIX + json.dumps(merged, sort_keys=True)}
    return merge_caches(sources, out, out_settings)


def cached_generator(file_settings: Mapping[str, Any], arch: str) -> torch.nn.Module | None:
    """The generator ``arch`` at random init exactly as the ground-truth cache whose file
    settings are ``file_settings`` built it for its features (space and its options from the
    ``task`` record, init seed ``init_seed(seed, arch)``; train/eval mode left to the caller);
    ``None`` when the settings are not a ground truth's (a TransNAS cache)."""
    from autogas.measure.seeds import init_seed
    from autogas.spaces.networks import create_network

    record = read_groundtruth_task(file_settings.get("task"))
    if record is None:
        return None
    seed = int(file_settings.get("seed", 0))
    return create_network(f"{file_settings.get('space')}:{arch}", width=record.get("hidden"), part="generator",
                          seed=init_seed(seed, arch))


def _features_only(fs) -> float:  # the scorer's proxy slot; only its build and features are used
    return math.nan


@dataclasses.dataclass(frozen=True)
class _Job:
    """What a worker needs to measure architectures (picklable)."""

    settings: GroundTruthSettings
    data_root: str
    device: str


def measure_archs(job: _Job, names: Sequence[str]) -> list[tuple[str, Any, dict[str, Any]]]:
    """Features and labels of the architectures ``names`` (canonical strings): a list of
    ``(name, FeatureSet, attrs)``. Runs with one torch thread (the determinism rule)."""
    from autogas.measure.inputs import input_batch
    from autogas.measure.seeds import init_seed
    from autogas.search.scorer import GeneratorScorer
    from autogas.train.data import list_images, load_eval_batch

    torch.set_num_threads(1)
    settings = job.settings
    space = settings.open_space()
    inputs = input_batch("images", FEATURE_BATCH, FEATURE_RESOLUTION, settings.seed)
    scorer = GeneratorScorer(space, _features_only, inputs, seed=settings.seed, device=job.device)
    test_a = extractor = None
    data_root = Path(job.data_root)
    if settings.data is None:  # a remote worker writes its own copy of the task
        data_root = materialize(KnownAnswerTask(settings.training.resolution, name=settings.task))
        test_a = load_eval_batch(list_images(data_root / "testA"), settings.training.resolution)
    else:
        from autogas.train.metrics import load_inception

        extractor = load_inception(settings.inception_weights).to(scorer.device)
    out = []
    for name in names:
        arch = space.parse(name)
        tick = time.perf_counter()
        fs = scorer.features(scorer.build(arch))
        forward = time.perf_counter() - tick
        cost = space.cost(arch, resolution=COST_RESOLUTION)
        attrs: dict[str, Any] = {"params": cost.params / 1e6, "flops": cost.macs / 1e6,
                                 "macs": float(cost.macs), "init_seed": init_seed(settings.seed, name),
                                 "forward_seconds": forward, "device": str(scorer.device)}
        wall, cpu = time.perf_counter(), time.process_time()
        labels = []
        for k in range(settings.seeds):
            result = label_candidate(f"{space.name}:{name}", data_root, settings.training,
                                     training_seed(settings.seed, k), test_a=test_a,
                                     extractor=extractor, device=job.device)
            labels.append(result["label"])
            for key, value in result.items():
                attrs[f"{key}_seed{k}"] = value
        attrs["train_seconds"] = time.perf_counter() - wall
        attrs["train_cpu_seconds"] = time.process_time() - cpu
        finite = [v for v in labels if math.isfinite(v)]
        attrs["label"] = (sum(labels) / len(labels)) if len(finite) == len(labels) else math.nan
        out.append((name, fs, attrs))
    return out


def prepare_data(settings: GroundTruthSettings) -> Path:
    """The unpaired folder the candidates train on: the built-in task's folders (written once),
    or the user's ``data`` folder after checking its four sub-folders (every image is decoded
    once, so an unreadable file fails here, before the output exists) and the Inception weights."""
    if settings.data is None:
        return materialize(KnownAnswerTask(settings.training.resolution, name=settings.task))
    from autogas.train.data import UnpairedFolders, list_images, read_rgb
    from autogas.train.metrics import inception_weights_path

    folders = UnpairedFolders.open(settings.data)
    for split in ("testA", "testB"):
        if len(list_images(folders.root / split)) < 2:
            raise AutogasError(f"{folders.root / split} needs at least 2 images for FID")
    inception_weights_path(settings.inception_weights)  # the same error as autogas evaluate
    for split in ("trainA", "trainB", "testA", "testB"):
        for path in list_images(folders.root / split):
            read_rgb(path).close()
    return folders.root


class _Terminated(Exception):
    pass


def _raise_terminated(signum, frame):  # pragma: no cover - exercised via subprocess test
    raise _Terminated()


def build_groundtruth(names: Sequence[str], out: str | os.PathLike, settings: GroundTruthSettings, *,
                      workers: int = 1, scheduler: str | None = None, device: str = "cpu",
                      progress: bool = True, flush_seconds: float = 60.0) -> dict[str, Any]:
    """Measure the architectures ``names`` (canonical strings of ``settings.space``) into ``out``.

    Everything is checked (names, data, device, an existing ``out`` of other settings) before
    ``out`` is created. Returns a summary: requested, skipped (already in ``out``), computed,
    seconds per arch (wall, whole job) and the device.
    """
    from autogas.cache import FeatureCacheWriter
    from autogas.evolve.maps import make_map
    from autogas.measure.device import resolve_device
    from autogas.measure.inputs import input_batch

    if len(set(names)) != len(names):
        raise AutogasError("duplicate architectures in the list")
    space = settings.open_space()
    for name in names:
        space.parse(name)
    if workers < 1:
        raise AutogasError(f"--workers must be at least 1, got {workers}")
    torch_device = str(resolve_device(device))
    data_root = prepare_data(settings)
    out = Path(out)
    if out.exists() and out.is_dir():
        raise AutogasError(f"--out {out} is a directory")
    if not out.parent.is_dir():
        raise AutogasError(f"folder of --out does not exist: {out.parent}")
    cache_settings = settings.cache_settings()
    if out.exists():
        from autogas.cache import FeatureCache

        existing = FeatureCache(out).settings
        if read_groundtruth_task(existing.get("task")) is None:
            raise AutogasError(f"{out} is a feature cache but not a ground truth; choose another --out")
    inputs = input_batch("images", FEATURE_BATCH, FEATURE_RESOLUTION, settings.seed)
    created = not out.exists()
    writer = FeatureCacheWriter(out, cache_settings, inputs.numpy())
    todo = [n for n in names if n not in writer.done]
    job = _Job(settings, str(data_root), torch_device)
    measure: Callable = functools.partial(measure_archs, job)
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    threads = torch.get_num_threads()
    computed, start, last_flush = 0, time.perf_counter(), time.monotonic()
    try:
        with make_map(workers, scheduler) as fmap:
            wave = max(1, fmap.workers)
            bar = tqdm(total=len(todo), desc=f"ground truth ({torch_device})", unit="arch",
                       disable=not progress, smoothing=0.1)
            for i in range(0, len(todo), wave):
                chunk = todo[i:i + wave]
                for records in fmap.run(measure, [[n] for n in chunk]):
                    for name, fs, attrs in records:
                        writer.add(name, fs, attrs)
                        computed += 1
                bar.update(len(chunk))
                if time.monotonic() - last_flush > flush_seconds:
                    writer.consolidate()
                    last_flush = time.monotonic()
            bar.close()
    except _Terminated:
        raise KeyboardInterrupt from None
    finally:
        torch.set_num_threads(threads)
        signal.signal(signal.SIGTERM, previous)
        writer.close()
        if created and not writer.done:  # failed before the first arch: leave no empty cache
            out.unlink(missing_ok=True)
    elapsed = time.perf_counter() - start
    return {"requested": len(names), "skipped": len(names) - len(todo), "computed": computed,
            "seconds_per_arch": elapsed / computed if computed else None, "device": torch_device,
            "out": str(out)}
