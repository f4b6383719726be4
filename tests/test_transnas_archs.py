"""TransNAS arch strings: parsing, validation, spaces and NASLib tuple conversions."""
from __future__ import annotations

import itertools
import json

import pytest

from autogas.errors import AutogasError
from autogas.transnas.archs import (
    MACRO, MICRO, arch_space, arch_to_naslib, arch_to_naslib_key, infer_space_of_keys, naslib_to_arch,
    parse_arch, require_space,
)


def test_parse_examples():
    macro = parse_arch("64-1242-basic")
    assert (macro.space, macro.skeleton, macro.ops, macro.num_downsamplings) == (MACRO, (1, 2, 4, 2), None, 1)
    micro = parse_arch("64-41414-1_02_333")
    assert (micro.space, micro.skeleton, micro.ops, micro.num_downsamplings) == (
        MICRO, (4, 1, 4, 1, 4), (1, 0, 2, 3, 3, 3), 3)
    assert macro.string == "64-1242-basic" and micro.string == "64-41414-1_02_333"
    assert arch_space("64-121113-basic") == MACRO and arch_space("64-41414-0_00_000") == MICRO


@pytest.mark.parametrize("bad", [
    "64-1252-basic",        # unknown module code
    "64-124-basic",         # too short
    "64-1242111-basic",     # too long
    "32-1242-basic",        # wrong width
    "64-1111-basic",        # no stride-2 module
    "64-2424-basic",        # 4 width doublings
    "64-1242-bottleneck",   # unknown cell
    "64-41414-1_04_333",    # unknown op id
    "64-41414-1_02_33",     # too few ops
    "64-41413-1_02_333",    # wrong micro skeleton
    "64_1242_basic", "", "basic",
])
def test_bad_arch_strings_name_the_string(bad):
    with pytest.raises(AutogasError) as err:
        parse_arch(bad)
    assert repr(bad) in str(err.value)
    assert "\n" not in str(err.value)


def test_space_sizes_match_the_benchmark():
    """The README's space sizes: 3,256 macro and 4,096 micro archs are valid."""
    def valid(arch):
        try:
            parse_arch(arch)
        except AutogasError:
            return False
        return True

    macro = [f"64-{''.join(map(str, digits))}-basic"
             for n in (4, 5, 6) for digits in itertools.product("1234", repeat=n)]
    micro = [f"64-41414-{a}_{b}{c}_{d}{e}{f}" for a, b, c, d, e, f in itertools.product("0123", repeat=6)]
    assert sum(map(valid, macro)) == 3256
    assert sum(map(valid, micro)) == 4096


def test_require_space():
    assert require_space("64-1242-basic", MACRO).space == MACRO
    with pytest.raises(AutogasError, match="macro space, not the requested micro"):
        require_space("64-1242-basic", MICRO)
    with pytest.raises(AutogasError, match="unknown TransNAS search space"):
        require_space("64-1242-basic", "nano")


@pytest.mark.parametrize("key, space, arch", [
    ("(1, 2, 4, 2, 0, 0)", MACRO, "64-1242-basic"),
    ((1, 2, 1, 1, 1, 3), MACRO, "64-121113-basic"),
    ("(1, 0, 0, 2, 1, 0)", MICRO, "64-41414-1_00_210"),
    ((1, 2, 1, 1, 1, 3), MICRO, "64-41414-1_21_113"),
    ("(3,3,3,3,3,3)", MICRO, "64-41414-3_33_333"),
])
def test_naslib_conversions_both_ways(key, space, arch):
    assert naslib_to_arch(key, space) == arch
    values = key if isinstance(key, tuple) else tuple(int(v) for v in key.strip("()").split(","))
    assert arch_to_naslib(arch) == values


@pytest.mark.parametrize("key, space", [
    ("(1, 2, 0, 2, 0, 0)", MACRO),   # zero in the middle
    ("(1, 2, 4, 0, 0, 0)", MACRO),   # only 3 modules
    ("(1, 2, 4, 2, 0)", MACRO),      # 5 entries
    ("(1, 0, 0, 4, 1, 0)", MICRO),   # op id 4
    ("1, 0, 0, 2, 1, 0", MICRO),     # no parentheses
    ("(1, a, 0, 2, 1, 0)", MICRO),
    ((1, 0, 0, 2.0, 1, 0), MICRO),
])
def test_bad_naslib_keys(key, space):
    with pytest.raises(AutogasError, match="NASLib"):
        naslib_to_arch(key, space)


def test_round_trip_every_shared_key(macro_labels, micro_labels):
    for path, space in ((macro_labels, MACRO), (micro_labels, MICRO)):
        keys = list(json.loads(path.read_text())["autoencoder"])
        assert infer_space_of_keys(keys) == space
        archs = [naslib_to_arch(key, space) for key in keys]
        assert len(set(archs)) == len(keys)
        assert all(arch_space(a) == space for a in archs)
        assert [arch_to_naslib_key(a) for a in archs] == keys


def test_infer_space_errors():
    with pytest.raises(AutogasError, match="both"):
        infer_space_of_keys(["(1, 2, 1, 1, 1, 3)"])
    with pytest.raises(AutogasError, match=r"\(9, 9"):
        infer_space_of_keys(["(1, 2, 4, 2, 0, 0)", "(9, 9, 9, 9, 9, 9)"])
    with pytest.raises(AutogasError, match="mix"):
        infer_space_of_keys(["(1, 2, 4, 2, 0, 0)", "(1, 0, 0, 2, 1, 0)"])
