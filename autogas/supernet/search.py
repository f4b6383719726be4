"""The CycleGANAS search loop: four supernets trained by the variant's scheme, resumable exactly.

:class:`SupernetSearch` holds supernets of ``G_A, G_B`` (generator space) and ``D_A, D_B``
(discriminator space) at ``search_hidden`` (:mod:`autogas.supernet.network`), trained on the
CycleGAN objective of ``autogas train`` (:func:`autogas.train.trainer.cyclegan_update`: LSGAN,
cycle and identity L1 with the paper's weights, 50-image pools) under the scheme of
:mod:`autogas.supernet.variants`. Adam as in the paper (lr 2e-4, betas (0.5, 0.999)), one
optimizer per player (generators, discriminators) as in CycleGAN; in ``of`` it holds the
weights and ``alpha`` together, the two-step variants have separate weight and ``alpha``
optimizers, and their ``alpha`` steps use pools of their own.

After every epoch the run directory (``run_dir``) gets, in this order:

* ``checkpoint.pt`` (atomic): weights, ``alpha``, optimizer, pool and Gumbel-noise states, and
  the per-epoch history; everything random derives from the seed, the epoch and these states,
  so :meth:`SupernetSearch.resume` after a kill continues exactly (same device and threads);
* ``epochs.csv``: per epoch the temperature, the derived architecture of each network and the
  mean loss terms; ``alphas.csv``: ``softmax(alpha)`` of every op of every slot per epoch;
  ``alphas.png``: those probabilities over the epochs (:mod:`autogas.supernet.report`).

``config.json`` (settings and data source) is written when the run is created.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Iterator

import torch
from tqdm import tqdm

from autogas.atomic import atomic_path, write_text_atomic
from autogas.errors import AutogasError
from autogas.measure.device import resolve_device
from autogas.spaces.cyclegan import CycleGanSpace
from autogas.supernet.data import SearchData, open_search_data
from autogas.supernet.mixed import Mixer, temperature
from autogas.supernet.network import SuperNetwork, build_supernet
from autogas.supernet.report import write_epoch_outputs
from autogas.supernet.settings import SupernetSettings
from autogas.supernet.variants import data_roles
from autogas.torchfile import load_torch_file
from autogas.train.data import UnpairedFolders, epoch_batches
from autogas.train.losses import ImagePool, LossWeights
from autogas.train.trainer import LOSS_TERMS, cyclegan_update

CONFIG_FILE = "config.json"
CHECKPOINT_FILE = "checkpoint.pt"
ROLES = (("G_A", "generator", "A"), ("G_B", "generator", "B"),
         ("D_A", "discriminator", "A"), ("D_B", "discriminator", "B"))
_ALPHA_STREAM = 1 << 32  # epoch keys of the architecture-data batches (never a real epoch)


class SupernetSearch:
    """One search run in ``run_dir`` (see the module doc). Use :meth:`create` or :meth:`resume`."""

    roles = ROLES

    def __init__(self, settings: SupernetSettings, data: SearchData, run_dir: str | Path, *,
                 data_args: dict[str, str | None], device: str = "cpu") -> None:
        self.settings = s = settings
        self.data = data
        self.data_args = dict(data_args)
        self.run_dir = Path(run_dir)
        self.device = resolve_device(device)
        self.weights = LossWeights(*s.loss_weights)
        self.spaces = {"generator": CycleGanSpace("generator", s.n_cells, hidden=s.hidden),
                       "discriminator": CycleGanSpace("discriminator", hidden=s.hidden)}
        self.mixer = Mixer(s.mixing, seed=s.seed, tau=temperature(1, s.epochs, s.tau_max, s.tau_min))
        self.nets: dict[str, SuperNetwork] = {
            role: build_supernet(self.spaces[part], s.search_hidden, self.mixer, seed=s.seed * 4 + k,
                                 device=self.device)
            for k, (role, part, _) in enumerate(ROLES)}
        betas = (s.beta1, s.beta2)

        def adam(roles, which):
            params = [p for r in roles for p in getattr(self.nets[r], which)()]
            return torch.optim.Adam(params, lr=s.lr, betas=betas)

        gens, discs = ("G_A", "G_B"), ("D_A", "D_B")
        if s.variant == "of":
            self.optimizers = {"joint": (adam(gens, "parameters"), adam(discs, "parameters"))}
        else:
            self.optimizers = {"weights": (adam(gens, "weight_parameters"), adam(discs, "weight_parameters")),
                               "alpha": (adam(gens, "arch_parameters"), adam(discs, "arch_parameters"))}
        self.pools = {phase: {d: ImagePool(s.pool_size, seed=(s.seed, 2 * k + j)) for j, d in enumerate("AB")}
                      for k, phase in enumerate(self.optimizers)}
        self.epoch = 0
        self.history: list[dict[str, Any]] = []

    # --- construction and persistence ------------------------------------------------
    @classmethod
    def create(cls, settings: SupernetSettings, run_dir: str | Path, *, data: str | None = None,
               task: str | None = None, device: str = "auto") -> "SupernetSearch":
        """A fresh run; :class:`AutogasError` if ``run_dir`` already holds one."""
        run_dir = Path(run_dir)
        if (run_dir / CONFIG_FILE).exists() or (run_dir / CHECKPOINT_FILE).exists():
            raise AutogasError(f"{run_dir} already holds a search run; use --resume or another --run")
        data = None if data is None else str(Path(data).resolve())
        search = cls(settings, open_search_data(data, task, resolution=settings.resolution), run_dir,
                     data_args={"data": data, "task": task}, device=device)
        write_text_atomic(run_dir / CONFIG_FILE, json.dumps(
            {"settings": settings.to_json(), "data": search.data_args, "source": search.data.source},
            indent=2) + "\n")
        return search

    @classmethod
    def resume(cls, run_dir: str | Path, *, device: str = "auto",
               expect: dict[str, Any] | None = None) -> "SupernetSearch":
        """Reopen ``run_dir`` at its last checkpoint (a run killed before its first one restarts).

        ``expect`` maps settings fields (and ``data``, ``task``) to values the caller asked for;
        :class:`AutogasError` if the run was started with other values."""
        path = Path(run_dir) / CONFIG_FILE
        if not path.is_file():
            raise AutogasError(f"no search run to resume in {run_dir} ({CONFIG_FILE} not found)")
        try:
            config = json.loads(path.read_text())
            settings = SupernetSettings.from_json(config["settings"])
            data_args = {"data": config["data"]["data"], "task": config["data"]["task"]}
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise AutogasError(f"cannot read search config {path}: {err}") from None
        recorded = {**settings.to_json(), **data_args}
        for key, value in (expect or {}).items():
            if key == "data" and value is not None:
                value = str(Path(value).resolve())
            if recorded[key] != value:
                raise AutogasError(f"{run_dir} was started with {key}={recorded.get(key)!r}, not {value!r}; "
                                   "resume without changing it, or start another --run")
        search = cls(settings, open_search_data(**data_args, resolution=settings.resolution), run_dir,
                     data_args=data_args, device=device)
        checkpoint = Path(run_dir) / CHECKPOINT_FILE
        if checkpoint.exists():
            search.load_state(load_torch_file(checkpoint, what="search checkpoint", map_location=search.device))
        return search

    def state(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "settings": self.settings.to_json(), "history": self.history,
                "nets": {role: net.state_dict() for role, net in self.nets.items()},
                "optimizers": {phase: [opt.state_dict() for opt in opts] for phase, opts in self.optimizers.items()},
                "pools": {phase: {d: p.state_dict() for d, p in pools.items()} for phase, pools in self.pools.items()},
                "mixer": self.mixer.state_dict()}

    def load_state(self, state: dict[str, Any]) -> None:
        if state.get("settings") != self.settings.to_json():
            raise AutogasError(f"{self.run_dir / CHECKPOINT_FILE} belongs to other settings than "
                               f"{self.run_dir / CONFIG_FILE}")
        for role, net in self.nets.items():
            net.load_state_dict(state["nets"][role])
        for phase, opts in self.optimizers.items():
            for opt, opt_state in zip(opts, state["optimizers"][phase]):
                opt.load_state_dict(opt_state)
        for phase, pools in self.pools.items():
            for d, pool in pools.items():
                pool.load_state_dict(state["pools"][phase][d], self.device)
        self.mixer.load_state_dict(state["mixer"])
        self.history = list(state["history"])
        self.epoch = int(state["epoch"])

    def save_checkpoint(self) -> None:
        with atomic_path(self.run_dir / CHECKPOINT_FILE) as tmp:
            torch.save(self.state(), tmp)

    # --- the search ---------------------------------------------------------------------
    @property
    def done(self) -> bool:
        return self.epoch >= self.settings.epochs

    def derive(self) -> dict[str, tuple[int, ...]]:
        """The discrete architecture of each network now (argmax of ``alpha`` per slot)."""
        return {role: net.derive() for role, net in self.nets.items()}

    def _batches(self, folders: UnpairedFolders, epoch: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        s = self.settings
        return epoch_batches(folders, resolution=s.resolution, batch_size=s.batch_size, seed=s.seed, epoch=epoch)

    def _alpha_stream(self, folders: UnpairedFolders, epoch: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Architecture-data batches of ``epoch``: as many passes over ``folders`` as needed."""
        k = 0
        while True:
            yield from self._batches(folders, _ALPHA_STREAM + epoch * 1024 + k)
            k += 1

    def _update(self, phase: str, real_a: torch.Tensor, real_b: torch.Tensor) -> dict[str, float]:
        opt_g, opt_d = self.optimizers[phase]
        return cyclegan_update(self.nets, opt_g, opt_d, self.pools[phase], self.weights,
                               real_a.to(self.device), real_b.to(self.device))

    def run_epoch(self, *, progress: bool = True) -> dict[str, Any]:
        """Train one epoch, checkpoint it and return its history record."""
        s = self.settings
        epoch = self.epoch + 1
        start = time.perf_counter()
        self.mixer.tau = temperature(epoch, s.epochs, s.tau_max, s.tau_min)
        weight_data, arch_data = data_roles(s.variant, self.data.folders, seed=s.seed, epoch=epoch, epochs=s.epochs)
        arch_batches = self._alpha_stream(arch_data, epoch) if arch_data is not None else None
        phase = "joint" if arch_data is None else "weights"
        sums = {term: 0.0 for term in LOSS_TERMS}
        steps = -(-weight_data.epoch_length // s.batch_size)
        bar = tqdm(self._batches(weight_data, epoch), total=steps, disable=not progress,
                   desc=f"cycleganas {s.variant} epoch {epoch}/{s.epochs}")
        for real_a, real_b in bar:
            terms = self._update(phase, real_a, real_b)
            if arch_batches is not None:
                self._update("alpha", *next(arch_batches))
            for term in LOSS_TERMS:
                sums[term] += terms[term]
        self.epoch = epoch
        record = {"epoch": epoch, "tau": self.mixer.tau if s.mixing == "gumbel" else None,
                  "seconds": time.perf_counter() - start, "steps": steps,
                  "archs": {role: self.spaces[part].to_string(self.nets[role].derive()) for role, part, _ in ROLES},
                  "probabilities": {role: self.nets[role].probabilities() for role, _, _ in ROLES},
                  "losses": {term: value / steps for term, value in sums.items()}}
        self.history.append(record)
        self.save_checkpoint()
        return record

    def fit(self, *, progress: bool = True, until_epoch: int | None = None) -> list[dict[str, Any]]:
        """Run the remaining epochs (or up to ``until_epoch``), writing the per-epoch outputs."""
        last = self.settings.epochs if until_epoch is None else min(until_epoch, self.settings.epochs)
        records = []
        if self.history:
            write_epoch_outputs(self)  # outputs may lag the checkpoint after a kill
        while self.epoch < last:
            records.append(self.run_epoch(progress=progress))
            write_epoch_outputs(self)
        return records
