"""TransNAS-Bench-101 architecture strings and their NASLib tuple encodings.

Canonical form ``<C>-<skeleton>-<cell>`` with ``C = 64`` in both search spaces:

* **macro**: ``64-1242-basic``. 4 to 6 skeleton digits in {1, 2, 3, 4}; a digit doubles the
  width when even and halves the resolution when above 2. The benchmark's 3,256 macro archs
  are exactly those with 1-4 resolution-halving digits and 1-3 width-doubling digits, and
  :func:`parse_arch` accepts exactly those.
* **micro**: ``64-41414-1_02_333``. Fixed skeleton ``41414``; the cell is 6 op ids in
  {0 none, 1 skip, 2 conv1x1, 3 conv3x3} on the edges (0→1), (0→2, 1→2), (0→3, 1→3, 2→3).

NASLib (and the NAS-Bench-Suite-Zero json) key archs by 6-int tuples: macro skeleton digits
zero-padded at the end, e.g. ``(1, 2, 4, 2, 0, 0)``; micro raw TransNAS op ids in edge order,
e.g. ``(1, 0, 0, 2, 1, 0)`` -> ``64-41414-1_00_210`` (not NASLib's ``OP_NAMES`` order).
"""
from __future__ import annotations

import dataclasses
import re
from typing import Sequence

from autogas.errors import AutogasError

MACRO = "macro"
MICRO = "micro"
SPACES = (MACRO, MICRO)
BASE_WIDTH = 64
MICRO_SKELETON = (4, 1, 4, 1, 4)
MACRO_CELL = "basic"
NUM_EDGES = 6
OP_NAMES = {0: "none", 1: "skip", 2: "conv1x1", 3: "conv3x3"}
# Incoming edges of nodes 1, 2, 3 as (source node, position in the 6-op tuple).
CELL_EDGES = (((0, 0),), ((0, 1), (1, 2)), ((0, 3), (1, 4), (2, 5)))

_ARCH_RE = re.compile(r"^(\d+)-(\d+)-([A-Za-z0-9_]+)$")
_MICRO_CELL_RE = re.compile(r"^(\d)_(\d\d)_(\d\d\d)$")


@dataclasses.dataclass(frozen=True)
class TransNasArch:
    """A parsed, validated TransNAS-Bench-101 architecture."""

    space: str
    skeleton: tuple[int, ...]
    ops: tuple[int, ...] | None  # micro cell op ids, None for macro

    @property
    def string(self) -> str:
        """The canonical arch string."""
        skeleton = "".join(map(str, self.skeleton))
        if self.ops is None:
            return f"{BASE_WIDTH}-{skeleton}-{MACRO_CELL}"
        a, b, c, d, e, f = self.ops
        return f"{BASE_WIDTH}-{skeleton}-{a}_{b}{c}_{d}{e}{f}"

    @property
    def num_downsamplings(self) -> int:
        """Number of stride-2 modules (digits 3 or 4), ``k`` in the spec."""
        return sum(digit > 2 for digit in self.skeleton)

    def as_naslib_tuple(self) -> tuple[int, ...]:
        """The NASLib / NAS-Bench-Suite-Zero tuple of this arch."""
        if self.ops is None:
            return self.skeleton + (0,) * (6 - len(self.skeleton))
        return self.ops


def _check_macro_skeleton(skeleton: tuple[int, ...], what: str) -> None:
    if not 4 <= len(skeleton) <= 6:
        raise AutogasError(f"{what}: macro skeleton needs 4 to 6 digits, got {len(skeleton)}")
    if any(d not in (1, 2, 3, 4) for d in skeleton):
        raise AutogasError(f"{what}: macro skeleton digits must be 1, 2, 3 or 4")
    downs = sum(d > 2 for d in skeleton)
    doubles = sum(d % 2 == 0 for d in skeleton)
    if not 1 <= downs <= 4:
        raise AutogasError(f"{what}: macro skeleton needs 1 to 4 stride-2 digits (3/4), got {downs}")
    if not 1 <= doubles <= 3:
        raise AutogasError(f"{what}: macro skeleton needs 1 to 3 width-doubling digits (2/4), got {doubles}")


def _check_micro_ops(ops: tuple[int, ...], what: str) -> None:
    if len(ops) != NUM_EDGES:
        raise AutogasError(f"{what}: micro cell needs {NUM_EDGES} op ids, got {len(ops)}")
    if any(o not in OP_NAMES for o in ops):
        raise AutogasError(f"{what}: micro op ids must be 0, 1, 2 or 3")


def parse_arch(arch: str) -> TransNasArch:
    """Parse and validate a TransNAS arch string; raise :class:`AutogasError` naming it if bad."""
    what = f"bad TransNAS arch {arch!r}"
    if not isinstance(arch, str):
        raise AutogasError(f"{what}: expected a string like '64-1242-basic'")
    match = _ARCH_RE.match(arch.strip())
    if not match:
        raise AutogasError(f"{what}: expected '<width>-<skeleton>-<cell>', e.g. '64-1242-basic' "
                           "or '64-41414-1_02_333'")
    width, skeleton_str, cell = match.groups()
    if int(width) != BASE_WIDTH:
        raise AutogasError(f"{what}: base width must be {BASE_WIDTH}, got {width}")
    skeleton = tuple(int(ch) for ch in skeleton_str)
    if cell == MACRO_CELL:
        _check_macro_skeleton(skeleton, what)
        return TransNasArch(MACRO, skeleton, None)
    cell_match = _MICRO_CELL_RE.match(cell)
    if not cell_match:
        raise AutogasError(f"{what}: cell must be 'basic' (macro) or 'a_bc_def' with op ids 0-3 (micro)")
    if skeleton != MICRO_SKELETON:
        raise AutogasError(f"{what}: micro archs have skeleton 41414, got {skeleton_str}")
    ops = tuple(int(ch) for ch in "".join(cell_match.groups()))
    _check_micro_ops(ops, what)
    return TransNasArch(MICRO, skeleton, ops)


def arch_space(arch: str) -> str:
    """``'macro'`` or ``'micro'`` for a valid arch string."""
    return parse_arch(arch).space


def check_space(space: str) -> str:
    """Validate a search-space name."""
    if space not in SPACES:
        raise AutogasError(f"unknown TransNAS search space {space!r}; choose 'macro' or 'micro'")
    return space


def require_space(arch: str, space: str) -> TransNasArch:
    """Parse ``arch`` and check that it belongs to ``space``."""
    parsed = parse_arch(arch)
    if parsed.space != check_space(space):
        raise AutogasError(f"arch {arch!r} is in the {parsed.space} space, not the requested {space} space")
    return parsed


def _tuple_of_ints(key: str | Sequence[int]) -> tuple[int, ...]:
    if isinstance(key, str):
        body = key.strip()
        if not (body.startswith("(") and body.endswith(")")):
            raise AutogasError(f"bad NASLib arch key {key!r}: expected a tuple like '(1, 2, 4, 2, 0, 0)'")
        parts = [p.strip() for p in body[1:-1].split(",") if p.strip()]
        if not all(re.fullmatch(r"\d+", p) for p in parts):
            raise AutogasError(f"bad NASLib arch key {key!r}: entries must be non-negative integers")
        return tuple(int(p) for p in parts)
    try:
        values = tuple(key)
    except TypeError:
        raise AutogasError(f"bad NASLib arch key {key!r}: expected a tuple of ints") from None
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        raise AutogasError(f"bad NASLib arch key {key!r}: entries must be ints")
    return values


def naslib_to_arch(key: str | Sequence[int], space: str) -> str:
    """Convert a NASLib tuple (or its string form) of ``space`` to the canonical arch string."""
    values = _tuple_of_ints(key)
    what = f"bad NASLib {check_space(space)} arch key {key!r}"
    if len(values) != 6:
        raise AutogasError(f"{what}: expected 6 entries, got {len(values)}")
    if space == MICRO:
        _check_micro_ops(values, what)
        return TransNasArch(MICRO, MICRO_SKELETON, values).string
    digits = values
    while digits and digits[-1] == 0:
        digits = digits[:-1]
    if 0 in digits:
        raise AutogasError(f"{what}: zeros are only allowed as padding at the end")
    _check_macro_skeleton(digits, what)
    return TransNasArch(MACRO, digits, None).string


def arch_to_naslib(arch: str) -> tuple[int, ...]:
    """Convert an arch string to its NASLib tuple (macro zero-padded to 6, micro op ids)."""
    return parse_arch(arch).as_naslib_tuple()


def arch_to_naslib_key(arch: str) -> str:
    """The NASLib json key of an arch, e.g. ``'(1, 2, 4, 2, 0, 0)'``."""
    return str(arch_to_naslib(arch))


def _is_valid_key(key: str | Sequence[int], space: str) -> bool:
    try:
        naslib_to_arch(key, space)
    except AutogasError:
        return False
    return True


def infer_space_of_keys(keys: Sequence[str | Sequence[int]]) -> str:
    """The one space in which every NASLib key is valid; error if none or both fit."""
    fits = [space for space in SPACES if all(_is_valid_key(key, space) for key in keys)]
    if len(fits) == 1:
        return fits[0]
    if not fits:
        for key in keys:
            if not any(_is_valid_key(key, space) for space in SPACES):
                raise AutogasError(f"arch key {key!r} is not a valid macro or micro NASLib tuple")
        raise AutogasError("arch keys mix the macro and micro spaces; pass the space explicitly")
    raise AutogasError("arch keys are valid in both the macro and micro space; pass the space explicitly")
