"""One ground-truth label: train a candidate ``G_A`` briefly inside a fixed CycleGAN, then score it.

**Fixed reference networks.** Only ``G_A: A -> B`` is the candidate. The other three networks
are the same for every candidate, so a label measures the candidate's architecture alone:

* ``G_B`` = :data:`REFERENCE_G`, the CycleGANAS cell generator with conv_3x3 encoding ops,
  conv_3x3 residual ops and conv_transpose_3x3 decoding ops (CycleGAN's ResNet generator in
  the cell layout), at width ``hidden``;
* ``D_A`` = ``D_B`` = :data:`REFERENCE_D`, CycleGAN's 70x70 PatchGAN (``basic``, 3 layers) at
  ``ndf = hidden``.

**Training** is the existing CycleGAN trainer (:class:`autogas.train.trainer.CycleGanTrainer`:
LSGAN, cycle + identity with weights ``(1, 1, 10, 5, 5)``, 50-image history pool, Adam 2e-4,
betas (0.5, 0.999), N(0, 0.02) init, batches from :func:`autogas.train.data.epoch_batches`),
run for ``steps`` generator/discriminator steps instead of whole epochs: constant learning rate
for the first half, then CycleGAN's linear decay (:func:`autogas.train.trainer.lr_factor`,
applied per step) over the second half. Network init and data order come from the training
seed, so a label is a deterministic function of (architecture, settings, training seed) on a
given device and thread count.

**Labels.** Known-answer task: ``G_A`` (eval mode) translates the held-out ``testA`` crops and
the label is the mean SSIM (Wang et al. 2004: Gaussian window sigma 1.5, population
covariances, on [0, 1] with data range 1, colour channels averaged; scikit-image's
``structural_similarity``) between ``G_A(x)`` and ``T(x)``, with PSNR beside it. A user folder
(``--data``): the label is **minus** the FID (so higher is better, as for SSIM) of
``G_A(testA)`` against ``testB`` under :mod:`autogas.train.metrics`, with KID beside it. A run
whose losses become non-finite gets a NaN label. Beside the final SSIM, ``ssim_late`` is the mean SSIM
measured at :func:`late_steps` (60-100 % of the steps): recorded to measure whether averaging
snapshots makes a steadier label (``benchmarks/groundtruth_settings.py``).
"""
from __future__ import annotations

import dataclasses
import math
import tempfile
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from autogas.errors import AutogasError
from autogas.groundtruth.task import operator_t
from autogas.train.data import list_images, load_eval_batch, read_rgb, to_uint8
from autogas.train.trainer import CycleGanTrainer, TrainConfig, lr_factor

REFERENCE_G = "cyclegan:G:22.00.00.00.00.00.00.00.00.00.22"
REFERENCE_D = "patchgan"


@dataclasses.dataclass(frozen=True)
class TrainingSettings:
    """How each candidate is trained and labelled (all of it is recorded with a cache)."""

    steps: int = 400
    resolution: int = 64
    hidden: int = 32
    batch_size: int = 1
    lr: float = 2e-4

    def __post_init__(self) -> None:
        for name in ("steps", "resolution", "hidden", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise AutogasError(f"--{name.replace('_', '-')} must be a positive integer, got {value!r}")
        if self.resolution < 32 or self.resolution % 4:
            raise AutogasError(f"--resolution must be a multiple of 4 and >= 32, got {self.resolution}")
        if not (isinstance(self.lr, (int, float)) and 0 < self.lr < 1):
            raise AutogasError(f"--lr must be in (0, 1), got {self.lr!r}")
        if self.hidden % 4:
            raise AutogasError(f"--hidden must be a multiple of 4, got {self.hidden}")

    def describe(self) -> str:
        lr = "" if self.lr == 2e-4 else f",lr={self.lr:g}"  # the CycleGAN default is left out (older caches)
        return (f"steps={self.steps},res={self.resolution},hidden={self.hidden},batch={self.batch_size}{lr},"
                f"G_B={REFERENCE_G},D={REFERENCE_D}:ndf={self.hidden}")

    def config(self, candidate: str, data: str | Path, seed: int) -> TrainConfig:
        """The trainer's config for ``candidate`` (a network name of :mod:`autogas.train.networks`)."""
        return TrainConfig(data=str(data), arch_a=candidate, arch_b=REFERENCE_G, disc_a=REFERENCE_D,
                           disc_b=REFERENCE_D, hidden=self.hidden, ndf=self.hidden, epochs=1,
                           decay_epochs=0, batch_size=self.batch_size, resolution=self.resolution,
                           lr=self.lr, seed=seed, samples=1)


LATE_POINTS = 5  # evaluation points over the last 40 % of the steps (see late_steps)


def late_steps(steps: int, points: int = LATE_POINTS) -> list[int]:
    """Steps at 60, 70, 80, 90 and 100 % of ``steps`` (for 5 points), where the known-answer
    label is also measured: their mean (``ssim_late``) averages out the step-to-step swings of
    GAN training that make one final snapshot a noisy label."""
    if points == 1:
        return [steps]
    return sorted({max(1, round(steps * (0.6 + 0.4 * k / (points - 1)))) for k in range(points)})


def train_candidate(candidate: str, data: str | Path, settings: TrainingSettings, seed: int, *,
                    device: str = "cpu", probe=None, probe_steps: Sequence[int] = ()
                    ) -> tuple[torch.nn.Module, dict[str, float]]:
    """Train the four networks for ``settings.steps`` steps; returns the trained ``G_A`` and
    loss statistics (mean generator/discriminator loss over the last tenth of the steps,
    ``finite`` = 0 if any loss became non-finite). ``probe(G_A)`` is called (G_A in eval mode,
    then back to train mode) after each step in ``probe_steps``."""
    config = settings.config(candidate, data, seed)
    with tempfile.TemporaryDirectory(prefix="autogas-gt-run-") as run_dir:  # the trainer writes nothing here
        trainer = CycleGanTrainer(config, run_dir, device=device)
    steps, half = settings.steps, settings.steps // 2
    tail = max(1, steps // 10)
    g_tail, d_tail, finite = [], [], True
    step, epoch = 0, 0
    while step < steps and finite:
        epoch += 1
        for real_a, real_b in epoch_batches_for(trainer, seed, epoch):
            step += 1
            lr = config.lr * lr_factor(step, half, steps - half)
            for opt in (trainer.opt_g, trainer.opt_d):
                for group in opt.param_groups:
                    group["lr"] = lr
            losses = trainer.train_step(real_a, real_b)
            if not all(math.isfinite(v) for v in losses.values()):
                finite = False
                break
            if step > steps - tail:
                g_tail.append(losses["g_total"])
                d_tail.append(losses["d_a"] + losses["d_b"])
            if probe is not None and step in probe_steps:
                generator = trainer.nets["G_A"]
                probe(generator.eval())
                generator.train()
            if step == steps:
                break
    stats = {"g_loss": float(np.mean(g_tail)) if g_tail else math.nan,
             "d_loss": float(np.mean(d_tail)) if d_tail else math.nan, "finite": float(finite)}
    return trainer.nets["G_A"].eval(), stats


def epoch_batches_for(trainer: CycleGanTrainer, seed: int, epoch: int):
    """The trainer's batches of one epoch (CycleGAN's unaligned loading, seeded by the epoch)."""
    from autogas.train.data import epoch_batches

    cfg = trainer.config
    return epoch_batches(trainer.data, resolution=cfg.resolution, batch_size=cfg.batch_size,
                         seed=seed, epoch=epoch)


@torch.no_grad()
def known_answer_label(generator: torch.nn.Module, test_a: torch.Tensor, *,
                       batch_size: int = 8) -> dict[str, float]:
    """Mean SSIM and PSNR of ``generator(x)`` against ``T(x)`` over the ``test_a`` batch."""
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    device = next(generator.parameters()).device
    ssim, psnr = [], []
    for start in range(0, len(test_a), batch_size):
        x = test_a[start:start + batch_size]
        fake = generator(x.to(device)).float().cpu()
        if not torch.isfinite(fake).all():
            return {"ssim": math.nan, "psnr": math.nan}
        target = operator_t(x)
        for f, t in zip(fake, target):
            f01 = ((f.clamp(-1, 1) + 1) / 2).permute(1, 2, 0).double().numpy()
            t01 = ((t + 1) / 2).permute(1, 2, 0).double().numpy()
            ssim.append(structural_similarity(f01, t01, channel_axis=2, data_range=1.0,
                                              gaussian_weights=True, sigma=1.5,
                                              use_sample_covariance=False))
            psnr.append(peak_signal_noise_ratio(t01, f01, data_range=1.0))
    return {"ssim": float(np.mean(ssim)), "psnr": float(np.mean(psnr))}


@torch.no_grad()
def fid_label(generator: torch.nn.Module, data: str | Path, resolution: int, extractor, *,
              batch_size: int = 8, seed: int = 0) -> dict[str, float]:
    """``label = -FID`` of ``generator(testA)`` against ``testB`` (8-bit images, as
    ``autogas evaluate``), with FID and KID."""
    from autogas.train.metrics import extract_features, score_features

    device = next(generator.parameters()).device
    root = Path(data)
    paths = list_images(root / "testA")
    fakes: list[np.ndarray] = []
    for start in range(0, len(paths), batch_size):
        batch = load_eval_batch(paths[start:start + batch_size], resolution).to(device)
        fakes.extend(to_uint8(generator(batch)))
    reals = [np.asarray(read_rgb(p)) for p in list_images(root / "testB")]
    scores = score_features(extract_features(extractor, fakes, batch_size=batch_size, device=device),
                            extract_features(extractor, reals, batch_size=batch_size, device=device),
                            kid_subsets=100, kid_subset_size=1000, seed=seed)
    return {"fid": float(scores["fid"]), "kid": float(scores["kid_mean"])}


def label_candidate(candidate: str, data: str | Path, settings: TrainingSettings, seed: int, *,
                    test_a: torch.Tensor | None = None, extractor: Any = None,
                    device: str = "cpu") -> dict[str, float]:
    """Train ``candidate`` with training seed ``seed`` and label it: the known-answer labels when
    ``test_a`` is given, else the FID labels with ``extractor``. Keys: ``label`` plus the metric
    values and the loss statistics."""
    if (test_a is None) == (extractor is None):
        raise AutogasError("label_candidate needs either test_a (known-answer task) or an extractor")
    late: list[float] = []
    probe = None if test_a is None else (lambda g: late.append(known_answer_label(g, test_a)["ssim"]))
    points = late_steps(settings.steps)[:-1]  # the final step is measured below
    generator, stats = train_candidate(candidate, data, settings, seed, device=device, probe=probe,
                                       probe_steps=points)
    if not stats["finite"]:
        metrics = ({"ssim": math.nan, "psnr": math.nan, "ssim_late": math.nan} if test_a is not None
                   else {"fid": math.nan, "kid": math.nan})
    elif test_a is not None:
        metrics = known_answer_label(generator, test_a)
        late.append(metrics["ssim"])
        metrics["ssim_late"] = float(np.mean(late))
    else:
        metrics = fid_label(generator, data, settings.resolution, extractor, seed=seed)
    label = metrics["ssim"] if "ssim" in metrics else -metrics["fid"]
    return {"label": float(label), **metrics, **stats}
