"""The interface every generator search space implements.

An architecture (:data:`Arch`) is a plain tuple of ints, one *gene* per searchable
position; ``space.choices[i]`` lists the values position ``i`` may take. Sampling,
mutation, crossover, enumeration and the size of the space are defined once here on
that representation. A concrete space adds the meaning of the genes: a short canonical
string (:meth:`SearchSpace.to_string` / :meth:`SearchSpace.parse`), a JSON form and the
network it builds.

Networks are constructed on the ``meta`` device first, so parameter and MAC counts
(:meth:`SearchSpace.cost`) never allocate real tensors; :meth:`SearchSpace.build`
then materializes the weights with a deterministic, seeded initialization that does
not touch torch's global random state.
"""
from __future__ import annotations

import abc
import dataclasses
import itertools
import json
import math
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np
import torch
from torch import nn

from autogas.errors import AutogasError
from autogas.spaces.macs import count_macs, count_params

Arch = tuple[int, ...]

INIT_STD = 0.02  # CycleGAN "normal" init: conv/linear weights N(0, 0.02), biases 0


@dataclasses.dataclass(frozen=True)
class ArchCost:
    """Size of one built architecture: parameter elements and MACs at ``resolution``."""

    params: int
    macs: int
    resolution: int


def init_weights(model: nn.Module, seed: int) -> None:
    """Re-initialize every parameter of ``model`` deterministically from ``seed``.

    Weights of affine norm layers get N(1, 0.02), all other weights N(0, 0.02), every
    bias 0 (the CycleGAN "normal" recipe); running statistics are reset. A private
    ``torch.Generator`` is used, so the global random state is left alone.
    """
    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    with torch.no_grad():
        for module in model.modules():
            if hasattr(module, "reset_running_stats"):
                module.reset_running_stats()
            for name, param in module.named_parameters(recurse=False):
                if name == "bias":
                    param.zero_()
                    continue
                is_norm = hasattr(module, "reset_running_stats") or isinstance(
                    module, (nn.GroupNorm, nn.LayerNorm))
                values = torch.randn(param.shape, generator=gen) * INIT_STD + (1.0 if is_norm else 0.0)
                param.copy_(values.to(param.device))


def instantiate(factory: Callable[[], nn.Module], *, seed: int = 0,
                device: str | torch.device = "cpu") -> nn.Module:
    """Construct ``factory()`` on the meta device, then materialize it on ``device``.

    With ``device="meta"`` the shape-only network is returned (cheap to count);
    otherwise weights are allocated and set by :func:`init_weights` from ``seed``.
    """
    with torch.device("meta"):
        model = factory()
    if torch.device(device).type == "meta":
        return model
    model = model.to_empty(device=device)
    init_weights(model, seed)
    return model


class SearchSpace(abc.ABC):
    """A discrete space of networks; subclasses set :attr:`name` and :attr:`choices`."""

    name: str
    choices: tuple[tuple[int, ...], ...]
    resolution_step: int = 4  # input sides must be a multiple of this ...
    min_resolution: int = 8   # ... and at least this large

    def check_resolution(self, resolution: int) -> int:
        """``resolution`` if networks of this space map ``RxR`` inputs correctly, else
        :class:`AutogasError` saying which sizes are allowed."""
        if (isinstance(resolution, bool) or not isinstance(resolution, int)
                or resolution < self.min_resolution or resolution % self.resolution_step):
            raise AutogasError(f"{self.name}: resolution must be a multiple of {self.resolution_step} "
                               f"and >= {self.min_resolution}, got {resolution!r}")
        return resolution

    # --- the gene representation -------------------------------------------------
    def size(self) -> int:
        """Exact number of distinct architectures."""
        return math.prod(len(c) for c in self.choices)

    def validate(self, arch: Sequence[int]) -> Arch:
        """Return ``arch`` as a tuple, or raise :class:`AutogasError` naming the bad gene."""
        if isinstance(arch, str):
            raise AutogasError(f"{self.name}: got the string {arch!r}; use parse() for canonical strings")
        try:
            genes = tuple(arch)
        except TypeError:
            raise AutogasError(f"{self.name}: an architecture is a sequence of ints, got {arch!r}") from None
        if len(genes) != len(self.choices):
            raise AutogasError(
                f"{self.name}: an architecture has {len(self.choices)} genes, got {len(genes)}")
        for pos, (gene, allowed) in enumerate(zip(genes, self.choices)):
            if isinstance(gene, bool) or not isinstance(gene, (int, np.integer)) or gene not in allowed:
                raise AutogasError(f"{self.name}: {self.describe_position(pos)}: {gene!r} is not "
                                   f"one of {list(allowed)}")
        return tuple(int(g) for g in genes)

    def describe_position(self, pos: int) -> str:
        """Human name of gene position ``pos`` for error messages."""
        return f"gene {pos}"

    def sample(self, rng: np.random.Generator) -> Arch:
        """An architecture drawn uniformly from the space."""
        return tuple(int(c[rng.integers(len(c))]) for c in self.choices)

    def mutate(self, arch: Sequence[int], rng: np.random.Generator, *,
               rate: float | None = None) -> Arch:
        """Copy of ``arch`` with some genes replaced by a *different* allowed value.

        ``rate=None``: exactly one position, chosen uniformly, changes.
        ``rate=p``: each position changes independently with probability ``p``
        (so the child may equal the parent). Positions with one choice never change.
        """
        genes = list(self.validate(arch))
        mutable = [i for i, c in enumerate(self.choices) if len(c) > 1]
        if rate is None:
            positions = [mutable[rng.integers(len(mutable))]] if mutable else []
        else:
            if not 0.0 <= rate <= 1.0:
                raise AutogasError(f"mutation rate must be in [0, 1], got {rate}")
            positions = [i for i in mutable if rng.random() < rate]
        for i in positions:
            others = [v for v in self.choices[i] if v != genes[i]]
            genes[i] = int(others[rng.integers(len(others))])
        return tuple(genes)

    def crossover(self, a: Sequence[int], b: Sequence[int], rng: np.random.Generator) -> Arch:
        """Uniform crossover: each gene of the child comes from ``a`` or ``b`` with prob. 1/2."""
        a, b = self.validate(a), self.validate(b)
        take_a = rng.random(len(a)) < 0.5
        return tuple(x if t else y for x, y, t in zip(a, b, take_a))

    def all_archs(self) -> Iterator[Arch]:
        """Every architecture in lexicographic gene order (only sensible for small spaces)."""
        return (tuple(g) for g in itertools.product(*self.choices))

    # --- text forms ----------------------------------------------------------------
    @abc.abstractmethod
    def to_string(self, arch: Sequence[int]) -> str:
        """Short canonical string of ``arch``; :meth:`parse` inverts it."""

    @abc.abstractmethod
    def parse(self, text: str) -> Arch:
        """Architecture from its canonical string; :class:`AutogasError` if malformed."""

    @abc.abstractmethod
    def to_json(self, arch: Sequence[int]) -> dict[str, Any]:
        """JSON-serializable, self-describing form of ``arch``."""

    @abc.abstractmethod
    def _arch_from_json(self, data: Mapping[str, Any]) -> Arch:
        """Architecture from a decoded JSON object (see :meth:`from_json`)."""

    def from_json(self, data: Mapping[str, Any] | str) -> Arch:
        """Inverse of :meth:`to_json`; accepts the object or its JSON text."""
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except json.JSONDecodeError as err:
                raise AutogasError(f"{self.name}: architecture is not valid JSON: {err}") from None
        if not isinstance(data, Mapping):
            raise AutogasError(f"{self.name}: architecture JSON must be an object")
        if data.get("space") != self.name:
            raise AutogasError(
                f"{self.name}: architecture JSON has space {data.get('space')!r}, expected {self.name!r}")
        return self.validate(self._arch_from_json(data))

    # --- networks ------------------------------------------------------------------
    @abc.abstractmethod
    def _construct(self, arch: Arch, hidden: int | None) -> nn.Module:
        """The network of ``arch`` (called under the meta device by :meth:`build`)."""

    def build(self, arch: Sequence[int], *, hidden: int | None = None, seed: int = 0,
              device: str | torch.device = "cpu") -> nn.Module:
        """The network of ``arch`` with weights initialized deterministically from ``seed``.

        ``hidden`` overrides the space's hidden width where the space has one.
        ``device="meta"`` returns a shape-only network (for counting).
        """
        genes = self.validate(arch)
        return instantiate(lambda: self._construct(genes, hidden), seed=seed, device=device)

    def cost(self, arch: Sequence[int], *, hidden: int | None = None,
             resolution: int = 256) -> ArchCost:
        """Parameters and MACs (torchprofile convention, :mod:`autogas.spaces.macs`) of
        ``arch`` on one ``1x3xRxR`` input, counted on the meta device (no real forward)."""
        self.check_resolution(resolution)
        model = self.build(arch, hidden=hidden, device="meta")
        macs = count_macs(model, (1, 3, resolution, resolution))
        return ArchCost(params=count_params(model), macs=macs, resolution=resolution)
