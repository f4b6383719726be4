"""CycleGAN training of two generators and two discriminators, resumable exactly.

Naming follows the CycleGANAS paper: ``G_A: A -> B``, ``G_B: B -> A``; ``D_A`` judges domain A
(real A against ``G_B``'s fakes), ``D_B`` judges domain B. (The CycleGAN code swaps the D names.)

One step, as in CycleGAN: generators first (D frozen), loss
``l1 LS(D_B(G_A(a)), 1) + l2 LS(D_A(G_B(b)), 1) + l3 (|G_B(G_A(a)) - a| + |G_A(G_B(b)) - b|)
+ l4 |G_A(b) - b| + l5 |G_B(a) - a|``, one Adam step on both generators; then the
discriminators on a real batch and a batch from their 50-image history pool,
``l2 * 0.5 (LS(D_A(a), 1) + LS(D_A(pool_A(fake_A)), 0))`` (and ``l1 *`` the same for ``D_B``), one
Adam step on both. Learning rate: constant for ``epochs`` epochs, then CycleGAN's linear
decay over ``decay_epochs`` (:func:`lr_factor`).

A run directory holds ``config.json``, ``checkpoint.pt`` (written atomically after every
epoch: weights, optimizer and pool states), ``losses.csv`` (one row per step, the weighted
terms) and ``samples/epoch_NNNN.png``. Every random choice derives from the seed, the epoch
and the saved pool states, so resuming from a checkpoint gives the same losses as an
uninterrupted run (on the same device and thread count).
"""
from __future__ import annotations

import csv
import dataclasses
import io
import json
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np
import torch
from PIL import Image
from torch import nn
from torch.nn import functional as F
from tqdm import tqdm

from autogas.atomic import atomic_path, write_text_atomic
from autogas.errors import AutogasError
from autogas.measure.device import resolve_device
from autogas.torchfile import load_torch_file
from autogas.train.data import UnpairedFolders, epoch_batches, load_eval_batch, to_uint8
from autogas.train.losses import ImagePool, LossWeights, lsgan_loss
from autogas.train.networks import NetworkSpec, resolve_network

CONFIG_FILE = "config.json"
CHECKPOINT_FILE = "checkpoint.pt"
LOSS_FILE = "losses.csv"
LOSS_TERMS = ("d_a", "d_b", "g_adv_a", "g_adv_b", "cycle_a", "cycle_b", "idt_a", "idt_b", "g_total")
LOSS_COLUMNS = ("epoch", "step", "lr") + LOSS_TERMS


@dataclasses.dataclass(frozen=True, kw_only=True)
class CycleGanOptimization:
    """How a CycleGAN step optimizes, shared by retraining (:class:`TrainRecipe`, so
    :class:`TrainConfig`) and the CycleGANAS supernet search
    (:class:`autogas.supernet.SupernetSettings`), which extend it.

    Adam with learning rate ``lr`` and ``(beta1, beta2)`` for the generators' and the
    discriminators' optimizers; ``pool_size`` fakes in each discriminator's history pool (0: no
    pool); the five ``loss_weights`` of :class:`autogas.train.losses.LossWeights`. The fields are
    keyword-only. :class:`AutogasError` on construction unless ``lr > 0``, ``0 <= beta < 1``,
    ``pool_size`` is an integer >= 0 and the loss weights are valid (stored as a tuple of floats).
    ``to_json`` / ``from_json`` (which refuses unknown keys, naming :attr:`config_name`) give
    the flat JSON object of every field of the extending class.
    """

    config_name = "config"  # what the JSON is called in errors (a class attribute, not a field)

    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    pool_size: int = 50
    loss_weights: tuple[float, ...] = LossWeights().as_tuple()

    def __post_init__(self) -> None:
        if isinstance(self.pool_size, bool) or not isinstance(self.pool_size, int) or self.pool_size < 0:
            raise AutogasError(f"pool size must be an integer >= 0, got {self.pool_size!r}")
        if not (self.lr > 0 and 0 <= self.beta1 < 1 and 0 <= self.beta2 < 1):
            raise AutogasError(f"bad Adam settings lr={self.lr}, betas=({self.beta1}, {self.beta2})")
        object.__setattr__(self, "loss_weights", tuple(float(v) for v in self.loss_weights))
        LossWeights(*self.loss_weights)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]):
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise AutogasError(f"{cls.config_name} has unknown keys: {', '.join(sorted(unknown))}")
        return cls(**data)


@dataclasses.dataclass(frozen=True, kw_only=True)
class TrainRecipe(CycleGanOptimization):
    """How a CycleGAN is trained, whatever its networks and data (what :class:`TrainConfig` adds):
    ``epochs`` at a constant learning rate then ``decay_epochs`` of linear decay, ``batch_size``
    random crops of side ``resolution``, the ``seed`` every random choice derives from, ``samples``
    preview images per domain (the rows of each epoch's sample grid), and the optimization
    (:class:`CycleGanOptimization`). The fields are keyword-only. :class:`AutogasError` on
    construction unless ``epochs``, ``decay_epochs`` >= 0 with a sum >= 1, ``batch_size``,
    ``samples`` >= 1 and ``resolution`` is a multiple of 4 and >= 32.
    """

    config_name = "training recipe"

    epochs: int = 100
    decay_epochs: int = 100
    batch_size: int = 1
    resolution: int = 256
    seed: int = 0
    samples: int = 4

    def __post_init__(self) -> None:
        checks = {
            "epochs": self.epochs >= 0, "decay_epochs": self.decay_epochs >= 0,
            "batch_size": self.batch_size >= 1, "samples": self.samples >= 1,
            "resolution": self.resolution >= 32 and self.resolution % 4 == 0,
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise AutogasError(f"bad training setting {bad[0]}={getattr(self, bad[0])!r} (resolution must be "
                               "a multiple of 4 and >= 32; counts non-negative; batch, samples >= 1)")
        if self.epochs + self.decay_epochs < 1:
            raise AutogasError("epochs + decay epochs must be at least 1")
        super().__post_init__()

    @property
    def total_epochs(self) -> int:
        return self.epochs + self.decay_epochs


@dataclasses.dataclass(frozen=True)
class TrainConfig(TrainRecipe):
    """Everything that defines a training run (saved as ``config.json``): the data, the four
    networks (:mod:`autogas.train.networks` names) at widths ``hidden`` / ``ndf`` (``None``: each
    network's default; else >= 1), and how they are trained (:class:`TrainRecipe`, keyword-only)."""

    config_name = "run config"

    data: str
    arch_a: str = "resnet9"
    arch_b: str = "resnet9"
    disc_a: str = "patchgan"
    disc_b: str = "patchgan"
    hidden: int | None = None
    ndf: int | None = None

    def __post_init__(self) -> None:
        if self.ndf is not None and self.ndf < 1:
            raise AutogasError(f"bad training setting ndf={self.ndf!r} (ndf must be >= 1)")
        if self.hidden is not None and self.hidden < 1:
            raise AutogasError(f"hidden width must be positive, got {self.hidden}")
        super().__post_init__()

    @classmethod
    def from_recipe(cls, recipe: TrainRecipe, data: str, **networks: Any) -> "TrainConfig":
        """The run of ``recipe`` on ``data`` with ``networks`` (the other fields of this class)."""
        how = {f.name: getattr(recipe, f.name) for f in dataclasses.fields(TrainRecipe)}
        return cls(data=data, **networks, **how)

    def networks(self) -> dict[str, NetworkSpec]:
        """Resolved specs of ``G_A``, ``G_B``, ``D_A``, ``D_B``."""
        names = {"G_A": self.arch_a, "G_B": self.arch_b, "D_A": self.disc_a, "D_B": self.disc_b}
        return {role: resolve_network(name, part="generator" if role[0] == "G" else "discriminator",
                                      hidden=self.hidden, ndf=self.ndf, role=role)
                for role, name in names.items()}


def lr_factor(epoch: int, epochs: int, decay_epochs: int) -> float:
    """Learning-rate multiplier during 1-based ``epoch`` (CycleGAN's ``linear`` policy):
    1 for the first ``epochs`` epochs, then ``1 - (epoch - epochs) / (decay_epochs + 1)``."""
    return 1.0 - max(0, epoch - epochs) / float(decay_epochs + 1)


def _set_requires_grad(nets: Iterable[nn.Module], flag: bool) -> None:
    for net in nets:
        for p in net.parameters():
            p.requires_grad_(flag)


def cyclegan_update(nets: Mapping[str, nn.Module], opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer,
                    pools: Mapping[str, ImagePool], weights: LossWeights, real_a: torch.Tensor,
                    real_b: torch.Tensor) -> dict[str, float]:
    """One CycleGAN step (module doc): the generator loss, one ``opt_g`` step, then the
    discriminator losses on ``real`` and ``pools[domain].query(fake)``, one ``opt_d`` step.

    ``nets`` maps ``G_A, G_B, D_A, D_B`` to networks; each optimizer steps only the parameters it
    holds (gradients reach every parameter, so a caller may hold a subset, e.g. architecture
    weights). Returns the weighted loss terms (:data:`LOSS_TERMS`).
    """
    w, n = weights, nets
    fake_b = n["G_A"](real_a)
    fake_a = n["G_B"](real_b)
    _set_requires_grad((n["D_A"], n["D_B"]), False)
    opt_g.zero_grad(set_to_none=True)
    terms = {
        "g_adv_a": w.adv_a * lsgan_loss(n["D_B"](fake_b), True),
        "g_adv_b": w.adv_b * lsgan_loss(n["D_A"](fake_a), True),
        "cycle_a": w.cycle * F.l1_loss(n["G_B"](fake_b), real_a),
        "cycle_b": w.cycle * F.l1_loss(n["G_A"](fake_a), real_b),
        "idt_a": w.idt_a * F.l1_loss(n["G_A"](real_b), real_b) if w.idt_a else real_a.new_zeros(()),
        "idt_b": w.idt_b * F.l1_loss(n["G_B"](real_a), real_a) if w.idt_b else real_a.new_zeros(()),
    }
    g_total = sum(terms.values())
    g_total.backward()
    opt_g.step()
    _set_requires_grad((n["D_A"], n["D_B"]), True)
    opt_d.zero_grad(set_to_none=True)
    d_a = w.adv_b * 0.5 * (lsgan_loss(n["D_A"](real_a), True)
                           + lsgan_loss(n["D_A"](pools["A"].query(fake_a)), False))
    d_b = w.adv_a * 0.5 * (lsgan_loss(n["D_B"](real_b), True)
                           + lsgan_loss(n["D_B"](pools["B"].query(fake_b)), False))
    (d_a + d_b).backward()
    opt_d.step()
    values = {name: float(t.detach()) for name, t in terms.items()}
    return {"d_a": float(d_a.detach()), "d_b": float(d_b.detach()), **values, "g_total": float(g_total.detach())}


class CycleGanTrainer:
    """Trains ``G_A, G_B, D_A, D_B`` of ``config`` into ``run_dir``; see the module doc."""

    def __init__(self, config: TrainConfig, run_dir: str | Path, *, device: str = "cpu") -> None:
        self.config = config
        self.run_dir = Path(run_dir)
        self.device = resolve_device(device)
        self.data = UnpairedFolders.open(config.data)
        self.weights = LossWeights(*config.loss_weights)
        self.specs = config.networks()
        self.nets = {name: spec.build(seed=config.seed * 4 + k, device=self.device)
                     for k, (name, spec) in enumerate(self.specs.items())}
        self._check_shapes()
        betas = (config.beta1, config.beta2)
        self.opt_g = torch.optim.Adam([*self.nets["G_A"].parameters(), *self.nets["G_B"].parameters()],
                                      lr=config.lr, betas=betas)
        self.opt_d = torch.optim.Adam([*self.nets["D_A"].parameters(), *self.nets["D_B"].parameters()],
                                      lr=config.lr, betas=betas)
        self.pools = {d: ImagePool(config.pool_size, seed=(config.seed, k))
                      for k, d in enumerate(("A", "B"))}
        self.epoch = 0
        self.preview = {d: load_eval_batch(self.data.preview_images(d, config.samples), config.resolution)
                        for d in ("A", "B")}

    # --- construction and persistence ------------------------------------------------
    @classmethod
    def create(cls, config: TrainConfig, run_dir: str | Path, *, device: str = "cpu") -> "CycleGanTrainer":
        """A fresh run; :class:`AutogasError` if ``run_dir`` already holds one."""
        run_dir = Path(run_dir)
        if (run_dir / CONFIG_FILE).exists() or (run_dir / CHECKPOINT_FILE).exists():
            raise AutogasError(f"{run_dir} already holds a training run; use --resume or another --out")
        trainer = cls(config, run_dir, device=device)
        write_text_atomic(run_dir / CONFIG_FILE, json.dumps(
            {"config": config.to_json(), "networks": trainer.describe_networks()}, indent=2) + "\n")
        return trainer

    @classmethod
    def resume(cls, run_dir: str | Path, *, data: str | None = None, device: str = "cpu") -> "CycleGanTrainer":
        """Reopen ``run_dir`` at its last checkpoint (``data`` overrides a moved dataset root)."""
        config = load_run_config(run_dir)
        if data is not None:
            config = dataclasses.replace(config, data=str(data))
        trainer = cls(config, run_dir, device=device)
        path = Path(run_dir) / CHECKPOINT_FILE
        if path.exists():
            trainer.load_state(load_checkpoint(path, trainer.device))
        _truncate_loss_log(trainer.run_dir / LOSS_FILE, trainer.epoch)
        return trainer

    def describe_networks(self) -> dict[str, dict[str, Any]]:
        """Canonical name, parameters and MACs (at the training resolution) of each network."""
        return {name: {"arch": spec.canonical, **spec.cost(self.config.resolution)}
                for name, spec in self.specs.items()}

    def state(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "config": self.config.to_json(),
                **{name: net.state_dict() for name, net in self.nets.items()},
                "opt_G": self.opt_g.state_dict(), "opt_D": self.opt_d.state_dict(),
                "pools": {d: pool.state_dict() for d, pool in self.pools.items()}}

    def load_state(self, state: dict[str, Any]) -> None:
        for name, net in self.nets.items():
            net.load_state_dict(state[name])
        self.opt_g.load_state_dict(state["opt_G"])
        self.opt_d.load_state_dict(state["opt_D"])
        for d, pool in self.pools.items():
            pool.load_state_dict(state["pools"][d], self.device)
        self.epoch = int(state["epoch"])

    def save_checkpoint(self) -> None:
        with atomic_path(self.run_dir / CHECKPOINT_FILE) as tmp:
            torch.save(self.state(), tmp)

    # --- training ---------------------------------------------------------------------
    def _check_shapes(self) -> None:
        """Fail early if a network does not map images to images / patch scores at this size."""
        res = self.config.resolution
        probe = torch.zeros(1, 3, res, res, device="meta")
        for name, spec in self.specs.items():
            try:
                out = spec.build(device="meta")(probe)
            except RuntimeError as err:
                raise AutogasError(f"{name} ({spec.canonical}) cannot run at resolution {res}: {err}") from None
            if name.startswith("G") and tuple(out.shape) != (1, 3, res, res):
                raise AutogasError(f"{name} ({spec.canonical}) maps {res}x{res} images to {tuple(out.shape)}")
            if name.startswith("D") and (out.shape[1] != 1 or out.numel() == 0):
                raise AutogasError(f"{name} ({spec.canonical}) gives {tuple(out.shape)} at {res}x{res}")

    def train_step(self, real_a: torch.Tensor, real_b: torch.Tensor) -> dict[str, float]:
        """One generator and one discriminator update; returns the weighted loss terms."""
        return cyclegan_update(self.nets, self.opt_g, self.opt_d, self.pools, self.weights,
                               real_a.to(self.device), real_b.to(self.device))

    def fit(self, until_epoch: int | None = None, *, progress: bool = True) -> list[dict[str, float]]:
        """Train from the current epoch to ``until_epoch`` (default: the last); one checkpoint,
        loss-log update and sample grid per epoch. Returns the logged rows of these epochs."""
        last = self.config.total_epochs if until_epoch is None else min(until_epoch, self.config.total_epochs)
        cfg = self.config
        rows: list[dict[str, float]] = []
        for epoch in range(self.epoch + 1, last + 1):
            lr = cfg.lr * lr_factor(epoch, cfg.epochs, cfg.decay_epochs)
            for opt in (self.opt_g, self.opt_d):
                for group in opt.param_groups:
                    group["lr"] = lr
            batches = epoch_batches(self.data, resolution=cfg.resolution, batch_size=cfg.batch_size,
                                    seed=cfg.seed, epoch=epoch)
            total = -(-self.data.epoch_length // cfg.batch_size)
            epoch_rows = []
            for step, (real_a, real_b) in enumerate(tqdm(batches, total=total, disable=not progress,
                                                         desc=f"epoch {epoch}/{cfg.total_epochs}"), 1):
                epoch_rows.append({"epoch": epoch, "step": step, "lr": lr, **self.train_step(real_a, real_b)})
            self.epoch = epoch
            self.write_samples()
            _append_loss_rows(self.run_dir / LOSS_FILE, epoch_rows)
            self.save_checkpoint()
            rows.extend(epoch_rows)
        return rows

    @torch.no_grad()
    def write_samples(self) -> Path:
        """PNG grid for this epoch: per preview row real A, G_A(A), G_B(G_A(A)), real B, G_B(B), G_A(G_B(B))."""
        n = self.nets
        real_a, real_b = self.preview["A"].to(self.device), self.preview["B"].to(self.device)
        fake_b, fake_a = n["G_A"](real_a), n["G_B"](real_b)
        columns = [real_a, fake_b, n["G_B"](fake_b), real_b, fake_a, n["G_A"](fake_a)]
        rows = min(len(real_a), len(real_b))
        grid = np.concatenate([np.concatenate(list(to_uint8(c[:rows])), axis=0) for c in columns], axis=1)
        path = self.run_dir / "samples" / f"epoch_{self.epoch:04d}.png"
        with atomic_path(path) as tmp:
            Image.fromarray(grid).save(tmp, format="PNG")
        return path


def load_run_config(run_dir: str | Path) -> TrainConfig:
    """The :class:`TrainConfig` saved in ``run_dir``; :class:`AutogasError` if absent or bad."""
    path = Path(run_dir) / CONFIG_FILE
    if not path.is_file():
        raise AutogasError(f"no training run in {run_dir} ({CONFIG_FILE} not found)")
    try:
        data = json.loads(path.read_text())["config"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise AutogasError(f"cannot read run config {path}: {err}") from None
    return TrainConfig.from_json(data)


def load_checkpoint(path: str | Path, device: torch.device | str = "cpu") -> dict[str, Any]:
    """A checkpoint written by :meth:`CycleGanTrainer.save_checkpoint`, loaded without running any
    code stored in it (:func:`autogas.torchfile.load_torch_file`)."""
    return load_torch_file(path, what="training checkpoint", map_location=device)


def read_loss_log(path: str | Path) -> list[dict[str, float]]:
    """Rows of ``losses.csv`` as dicts of numbers (``epoch`` and ``step`` as ints)."""
    with open(path, newline="") as fh:
        return [{k: (int(v) if k in ("epoch", "step") else float(v)) for k, v in row.items()}
                for row in csv.DictReader(fh)]


def _csv_text(rows: list[dict[str, float]], *, header: bool) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=LOSS_COLUMNS, lineterminator="\n")
    if header:
        writer.writeheader()
    for row in rows:
        writer.writerow({k: repr(v) if isinstance(v, float) else v for k, v in row.items()})
    return buffer.getvalue()


def _append_loss_rows(path: Path, rows: list[dict[str, float]]) -> None:
    """Rewrite the log atomically with ``rows`` appended (it stays consistent with the checkpoint)."""
    previous = path.read_text() if path.exists() else ""
    write_text_atomic(path, previous + _csv_text(rows, header=not previous))


def _truncate_loss_log(path: Path, epoch: int) -> None:
    """Drop rows of epochs after the checkpoint (written before a crash that lost the checkpoint)."""
    if path.exists():
        rows = read_loss_log(path)
        kept = [r for r in rows if r["epoch"] <= epoch]
        if len(kept) != len(rows):
            write_text_atomic(path, _csv_text(kept, header=True))
