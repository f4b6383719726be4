"""Translate the test folders with a trained run's generators and score them (FID, KID).

Protocol (CycleGANAS'): ``G_A`` translates every ``testA`` image (resized to the training
resolution, no crop or flip) and the results are compared with the raw ``testB`` images;
``G_B`` likewise for ``testB -> A``. Translations are written as PNG (lossless), and the
generated features are taken from exactly those 8-bit images. Parameters and MACs of each
generator (at the training resolution, torchprofile convention) are reported beside the scores.
"""
from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from autogas.atomic import write_text_atomic
from autogas.errors import AutogasError
from autogas.train.data import list_images, load_eval_batch, read_rgb, to_uint8
from autogas.train.metrics import FeatureExtractor, extract_features, score_features
from autogas.measure.device import resolve_device
from autogas.train.trainer import CHECKPOINT_FILE, load_checkpoint, load_run_config

DIRECTIONS = {"A_to_B": ("G_A", "A", "B"), "B_to_A": ("G_B", "B", "A")}
METRICS_FILE = "metrics.json"


@dataclasses.dataclass(frozen=True)
class EvalSettings:
    """How a trained run is scored: ``batch_size`` images per forward pass (translation and
    features), KID as the mean and std over ``kid_subsets`` random subsets of ``kid_subset_size``
    images (capped at the smaller image set), drawn from ``seed``. :class:`AutogasError` on
    construction unless the first three are integers >= 1 and ``seed`` an integer >= 0.
    """

    batch_size: int = 8
    kid_subsets: int = 100
    kid_subset_size: int = 1000
    seed: int = 0

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value, low = getattr(self, field.name), 0 if field.name == "seed" else 1
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise AutogasError(f"evaluation {field.name.replace('_', ' ')} must be an integer >= {low}, "
                                   f"got {value!r}")


@torch.no_grad()
def translate_folder(generator: torch.nn.Module, paths: list[Path], out_dir: Path, *, resolution: int,
                     batch_size: int, device: torch.device, progress: bool = True) -> list[np.ndarray]:
    """Translate ``paths`` into PNGs named after them in ``out_dir`` (replaced as a whole once
    complete); returns the 8-bit translations."""
    tmp = out_dir.with_name(f".{out_dir.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    images: list[np.ndarray] = []
    for start in tqdm(range(0, len(paths), batch_size), disable=not progress, desc=out_dir.name):
        chunk = paths[start:start + batch_size]
        fakes = to_uint8(generator(load_eval_batch(chunk, resolution).to(device)))
        for path, fake in zip(chunk, fakes):
            Image.fromarray(fake).save(tmp / f"{path.stem}.png")
            images.append(fake)
    shutil.rmtree(out_dir, ignore_errors=True)
    tmp.rename(out_dir)
    return images


def evaluate_run(run_dir: str | Path, data_dir: str | Path | None, extractor: FeatureExtractor,
                 settings: EvalSettings = EvalSettings(), *, out_dir: str | Path | None = None,
                 device: str = "cpu", progress: bool = True) -> dict[str, Any]:
    """Translate both test folders, score them with ``extractor``'s features as ``settings`` say
    and write ``metrics.json`` (plus the images) to ``out_dir`` (default ``RUN_DIR/eval``)."""
    batch_size = settings.batch_size
    run_dir = Path(run_dir)
    config = load_run_config(run_dir)
    root = Path(data_dir if data_dir is not None else config.data)
    out = Path(out_dir) if out_dir is not None else run_dir / "eval"
    torch_device = resolve_device(device)
    state = load_checkpoint(run_dir / CHECKPOINT_FILE, torch_device)
    specs = config.networks()
    tests = {d: list_images(root / f"test{d}") for d in ("A", "B")}
    result: dict[str, Any] = {"run": str(run_dir), "data": str(root), "epoch": int(state["epoch"]),
                              "resolution": config.resolution,
                              "feature_extractor": getattr(extractor, "name", type(extractor).__name__)}
    for direction, (gen_name, source, target) in DIRECTIONS.items():
        generator = specs[gen_name].build(device=torch_device)
        generator.load_state_dict(state[gen_name])
        generator.eval()
        fakes = translate_folder(generator, tests[source], out / f"test{source}_to_{target}",
                                 resolution=config.resolution, batch_size=batch_size, device=torch_device,
                                 progress=progress)
        reals = (np.asarray(read_rgb(p)) for p in tests[target])
        fake_features = extract_features(extractor, fakes, batch_size=batch_size, device=torch_device)
        real_features = extract_features(extractor, reals, batch_size=batch_size, device=torch_device)
        scores = score_features(fake_features, real_features, kid_subsets=settings.kid_subsets,
                                kid_subset_size=settings.kid_subset_size, seed=settings.seed)
        result[direction] = {"generator": gen_name, "arch": specs[gen_name].canonical,
                             **specs[gen_name].cost(config.resolution), **scores}
    write_text_atomic(out / METRICS_FILE, json.dumps(result, indent=2) + "\n")
    return result


def format_report(result: dict[str, Any]) -> str:
    """Human-readable table of :func:`evaluate_run`'s result."""
    lines = [f"run {result['run']} (epoch {result['epoch']}, {result['resolution']}px, "
             f"features: {result['feature_extractor']})",
             f"{'direction':<8} {'generator':<40} {'params':>11} {'MACs':>9} {'FID':>9} {'KID':>18}"]
    for direction in DIRECTIONS:
        r = result[direction]
        lines.append(f"{direction:<8} {r['arch'][:40]:<40} {r['params']:>11,} {r['macs'] / 1e9:>8.3f}G "
                     f"{r['fid']:>9.3f} {r['kid_mean']:>9.5f}±{r['kid_std']:<8.5f}")
    return "\n".join(lines)
