"""Typed operation registry of the proxy language.

A proxy is a tree of operations. Every operation has a *stage* (its place in the
transform -> encoding -> reduction -> augment chain of the paper) and one or more
*signatures* ``in_types -> out_type`` over the six value types below. The same name may be
registered for several input types (``gram`` of real features and ``gram`` of binary codes);
``(name, in_types)`` is unique, so a parser resolves an overloaded name from the types of its
arguments. Each signature has a unique identifier :attr:`OpSpec.key` (``gram__code``), which
maps one-to-one onto a primitive of a strongly-typed DEAP primitive set.

Value types, as the evaluator holds them for a split of ``A`` architectures with ``N`` layers in
total (``B`` = batch size):

========================  =======================================================================
``features``              per-layer real features; ops see float32 stacks ``(n, B, d)``
``code``                  per-layer codes in {0, 1} or {-1, 0, 1}; float32 stacks ``(n, B, d)``
``kernels``               per-layer symmetric ``B x B`` float64 matrices, ``(N, B, B)``
``netkernel``             one ``B x B`` float64 matrix per architecture, ``(A, B, B)``
``layerscores``           one float64 per layer, ``(N,)``
``score``                 one float64 per architecture, ``(A,)``
========================  =======================================================================
"""
from __future__ import annotations

import dataclasses
import inspect
import keyword
from typing import Callable, Iterable

FEATURES = "features"
CODE = "code"
KERNELS = "kernels"
NETKERNEL = "netkernel"
LAYER_SCORES = "layerscores"
SCORE = "score"
TYPES: tuple[str, ...] = (FEATURES, CODE, KERNELS, NETKERNEL, LAYER_SCORES, SCORE)

Signature = tuple[tuple[str, ...], str]

#: Signatures an op of each stage gets, and how its function is called.
STAGES: dict[str, tuple[list[Signature], str]] = {
    "input": ([((), FEATURES)], "the network's features (built in: F)"),
    "transform": ([((FEATURES,), FEATURES)], "fn(x): float32 (n, B, d) -> same shape"),
    "encoding": ([((FEATURES,), CODE)], "fn(x): float32 (n, B, d) -> codes, same shape"),
    "kernel": ([((FEATURES,), KERNELS), ((CODE,), KERNELS)],
               "fn(x): (n, B, d) -> float64 (n, B, B) on the given coordinates"),
    "kernel_map": ([((KERNELS,), KERNELS)], "fn(k, layers): (N, B, B) -> (N, B, B)"),
    "kernel_aggregation": ([((KERNELS,), NETKERNEL)], "fn(k, layers): (N, B, B) -> (A, B, B)"),
    "reduction": ([((KERNELS,), LAYER_SCORES), ((NETKERNEL,), SCORE)],
                  "fn(k): (..., B, B) -> (...); spectral: fn(ascending eigenvalues (..., B))"),
    "augment": ([((LAYER_SCORES,), LAYER_SCORES), ((SCORE,), SCORE)],
                "fn(v): elementwise on float64"),
    "aggregation": ([((LAYER_SCORES,), SCORE)], "fn(v, layers): (N,) -> (A,)"),
    "arithmetic": ([((LAYER_SCORES, LAYER_SCORES), LAYER_SCORES), ((SCORE, SCORE), SCORE)],
                   "fn(a, b): elementwise"),
    "combine": ([((SCORE, SCORE), SCORE)],
                "fn(a, b): population-level, sees the scores of every architecture of the split"),
    "statistic": ([((), SCORE)], "fn(layers) -> (A,): a cheap architecture statistic"),
    "layer_statistic": ([((), LAYER_SCORES)], "fn(layers) -> (N,): a cheap layer statistic"),
}


@dataclasses.dataclass(frozen=True)
class OpSpec:
    """One signature of one operation."""

    name: str
    stage: str
    in_types: tuple[str, ...]
    out_type: str
    fn: Callable | None
    doc: str = ""
    commutative: bool = False  # arguments are sorted in the canonical text
    extensive: bool = False  # kernel sums over coordinates: rescaled to the full layer size
    spectral: bool = False  # reduction computed from the ascending eigenvalues

    @property
    def key(self) -> str:
        """Unique identifier of this signature (a valid Python identifier, for DEAP)."""
        return "__".join((self.name,) + self.in_types) if self.in_types else self.name

    @property
    def arity(self) -> int:
        return len(self.in_types)

    @property
    def population(self) -> bool:
        """True if the op needs the scores of all architectures of the split at once."""
        return self.stage == "combine"


_BY_KEY: dict[str, OpSpec] = {}
_BY_NAME: dict[str, list[OpSpec]] = {}


def register_op(
    stage: str,
    name: str,
    *,
    inputs: Iterable[str] | None = None,
    commutative: bool = False,
    extensive: bool = False,
    spectral: bool = False,
) -> Callable[[Callable], Callable]:
    """Decorator adding ``fn`` to the language as ``name`` in ``stage`` (see :data:`STAGES`).

    ``inputs`` restricts the input types of a multi-signature stage (e.g. a kernel defined only
    on codes: ``inputs=("code",)``). ``extensive`` marks a kernel that sums over coordinates
    (it is rescaled by ``dims / d`` to estimate the kernel of the full, unsubsampled layer);
    ``spectral`` marks a reduction that receives eigenvalues instead of matrices. The first
    line of the function's docstring documents the op.
    """
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; choose from {', '.join(STAGES)}")
    if not name.isidentifier() or keyword.iskeyword(name) or "__" in name:
        raise ValueError(f"op name {name!r} must be an identifier without '__'")
    signatures = STAGES[stage][0]
    if inputs is not None:
        wanted = tuple(inputs)
        signatures = [s for s in signatures if s[0] and s[0][0] in wanted]
        if not signatures:
            raise ValueError(f"stage {stage!r} has no signature with inputs {wanted}")
    if extensive and stage != "kernel" or spectral and stage != "reduction":
        raise ValueError("extensive applies to kernels, spectral to reductions")

    def decorate(fn: Callable) -> Callable:
        doc = (inspect.getdoc(fn) or "").split("\n", 1)[0]
        specs = [OpSpec(name, stage, in_types, out_type, fn, doc, commutative, extensive,
                        spectral) for in_types, out_type in signatures]
        for spec in specs:
            if spec.key in _BY_KEY:
                raise ValueError(f"op {name!r} with inputs {spec.in_types} is already registered")
            if any(s.out_type != spec.out_type for s in _BY_NAME.get(name, ())
                   if s.in_types == spec.in_types):
                raise ValueError(f"op {name!r} is ambiguous for inputs {spec.in_types}")
        for spec in specs:
            _BY_KEY[spec.key] = spec
            _BY_NAME.setdefault(name, []).append(spec)
        return fn

    return decorate


def unregister_op(name: str) -> None:
    """Remove every signature of op ``name`` (a user op added by :func:`register_op`; tests use it
    to leave the language as they found it). KeyError if ``name`` is not registered."""
    specs = _BY_NAME.pop(name)
    for spec in specs:
        del _BY_KEY[spec.key]


def lookup(name: str, in_types: tuple[str, ...]) -> OpSpec | None:
    """The signature of ``name`` accepting ``in_types``, or ``None``."""
    return next((s for s in _BY_NAME.get(name, ()) if s.in_types == in_types), None)


def overloads(name: str) -> list[OpSpec]:
    """Every signature registered under ``name`` (empty if the name is unknown)."""
    return list(_BY_NAME.get(name, ()))


def spec_by_key(key: str) -> OpSpec:
    """The signature with identifier ``key`` (KeyError if unknown)."""
    return _BY_KEY[key]


def op_names() -> list[str]:
    """All registered op names, sorted."""
    return sorted(_BY_NAME)


def signatures(stage: str | None = None) -> list[OpSpec]:
    """All registered signatures (optionally of one stage), in registration order."""
    return [s for s in _BY_KEY.values() if stage is None or s.stage == stage]


def describe() -> str:
    """A human-readable listing of the language: one line per signature."""
    lines = []
    for stage in STAGES:
        specs = signatures(stage)
        if specs:
            lines.append(f"[{stage}]")
            for s in specs:
                args = f"({', '.join(s.in_types)})" if s.in_types else ""
                lines.append(f"  {s.name}{args} -> {s.out_type}    {s.doc}")
    return "\n".join(lines)


@register_op("input", "F")
def _input_terminal() -> None:
    """The network's per-layer features (evaluated by the evaluator itself)."""
