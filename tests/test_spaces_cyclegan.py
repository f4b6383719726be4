import json

import numpy as np
import pytest
import torch
from torch import nn

from autogas.errors import AutogasError
from autogas.measure.features import collect_features
from autogas.spaces import CycleGanSpace
from autogas.spaces.cyclegan import DECODING_OPS, ENCODING_OPS, RESIDUAL_OPS, Cell
from autogas.spaces.gan_compression import cyclegan_resnet_generator
from autogas.spaces.macs import count_macs


def _covering_archs(space):
    """Archs that together use every op of every cell type in every position."""
    return [tuple(c[k % len(c)] for c in space.choices) for k in range(len(ENCODING_OPS))]


def _all_conv3(space):
    """conv_3x3 in encoding/residual cells, conv_transpose_3x3 in the decoding cell."""
    pick = {"encoding": ENCODING_OPS.index("conv_3x3"), "residual": RESIDUAL_OPS.index("conv_3x3"),
            "decoding": DECODING_OPS.index("conv_transpose_3x3")}
    return tuple(pick[t] for t in space.cell_types for _ in (0, 1))


def test_space_sizes():
    g = CycleGanSpace()
    assert g.size() == 8 ** 2 * 5 ** 18 * 3 ** 2 == 2_197_265_625_000_000
    assert abs(g.size() / 2.2e15 - 1) < 0.01
    assert CycleGanSpace(part="discriminator").size() == 8 ** 4
    assert CycleGanSpace(n_cells=5).size() == 8 ** 2 * 5 ** 6 * 3 ** 2


def test_every_op_builds_and_maps_image_to_image():
    space = CycleGanSpace(hidden=8)
    x = torch.randn(1, 3, 64, 64)
    rng = np.random.default_rng(0)
    for arch in _covering_archs(space) + [space.sample(rng) for _ in range(3)]:
        with torch.no_grad():
            y = space.build(arch, seed=1)(x)
        assert y.shape == (1, 3, 64, 64)
        assert y.abs().max() <= 1


def test_discriminator_patch_output():
    space = CycleGanSpace(part="discriminator", hidden=8)
    x = torch.randn(1, 3, 64, 64)
    for arch in _covering_archs(space):
        with torch.no_grad():
            assert space.build(arch)(x).shape == (1, 1, 3, 3)
    assert space.build(space.sample(np.random.default_rng(0)), device="meta")(
        torch.zeros(1, 3, 256, 256, device="meta")).shape == (1, 1, 15, 15)


def test_hidden_256_all_conv3_is_cyclegan_sized():
    space = CycleGanSpace()
    arch = _all_conv3(space)
    cost = space.cost(arch, hidden=256)
    reference = cyclegan_resnet_generator(64, device="meta")
    assert cost.params == 11378179
    assert cost.macs == count_macs(reference, (1, 3, 256, 256))


def test_hidden_64_params_hand_count():
    space = CycleGanSpace(hidden=64)
    q, h = 16, 64
    expected = (3 * 49 * q + q) + (q * 9 * 32 + 32) + (32 * 9 * h + h)
    expected += 18 * (h * 9 * h + h)
    expected += (h * 9 * 32 + 32) + (32 * 9 * q + q) + (q * 49 * 3 + 3)
    assert space.cost(_all_conv3(space)).params == expected
    # max pool + 1x1 conv in both encoding ops: 16->32 and 32->64 pointwise convs
    pooled = (ENCODING_OPS.index("max_pool"),) * 2 + _all_conv3(space)[2:]
    assert space.cost(pooled).params == expected - (q * 9 * 32 + 32 * 9 * h) + (q * 32 + 32 * h)


def test_residual_cell_skip_then_activation():
    cell = Cell("residual", ("conv_3x3", "dil_conv_5x5"), (4, 4, 4))
    for p in cell.parameters():
        nn.init.zeros_(p)
    x = torch.randn(1, 4, 12, 12)
    assert torch.equal(cell(x), torch.relu(x))


def test_activation_modules_are_feature_layers():
    space = CycleGanSpace(hidden=8, n_cells=5)
    net = space.build(space.sample(np.random.default_rng(2)))
    relus = [m for m in net.modules() if isinstance(m, nn.ReLU)]
    assert len(relus) == 1 + 2 * 5 and not any(m.inplace for m in relus)
    fs = collect_features(net, torch.randn(1, 3, 32, 32), max_dims=None)
    assert len(fs) == 11
    assert [l.channels for l in fs.layers][:3] == [2, 4, 8]


def test_seeded_init_is_deterministic_and_private():
    space = CycleGanSpace(hidden=8)
    arch = space.sample(np.random.default_rng(5))
    state = torch.random.get_rng_state()
    a, b, c = (space.build(arch, seed=s).state_dict() for s in (3, 3, 4))
    assert torch.equal(state, torch.random.get_rng_state())
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)
    weights = torch.cat([v.flatten() for k, v in a.items() if k.endswith("weight")])
    assert abs(weights.std().item() - 0.02) < 0.002
    assert all(v.abs().sum() == 0 for k, v in a.items() if k.endswith("bias"))


def test_strings_and_json_round_trip():
    space = CycleGanSpace()
    rng = np.random.default_rng(7)
    for _ in range(20):
        arch = space.sample(rng)
        text = space.to_string(arch)
        assert len(text) == 2 + 3 * 11 - 1 and text.startswith("G:")
        assert space.parse(text) == arch
        assert space.from_json(json.dumps(space.to_json(arch))) == arch
    d = CycleGanSpace(part="discriminator")
    assert d.to_string((0, 1, 6, 7)) == "D:01.67"
    assert d.to_json((0, 1, 6, 7))["cells"][1]["ops"] == ["dil_conv_3x3", "dil_conv_5x5"]


@pytest.mark.parametrize("text, message", [
    ("D:22.00.00.00.00.00.00.00.00.00.22", "must start with 'G:'"),
    ("G:22.00.00.22", "has 4 cells"),
    ("G:22.000.00.00.00.00.00.00.00.00.22", "cell 2 .* is '000'"),
    ("G:22.00.07.00.00.00.00.00.00.00.22", r"cell 3 \(residual\) op 2 .*7 is not a residual op"),
    ("G:22.00.00.00.00.00.00.00.00.00.23", r"cell 11 \(decoding\) op 2"),
    ("G:2a.00.00.00.00.00.00.00.00.00.22", "two op digits"),
])
def test_malformed_strings(text, message):
    with pytest.raises(AutogasError, match=message):
        CycleGanSpace().parse(text)


def test_malformed_json_and_tuples():
    space = CycleGanSpace(n_cells=3)
    good = space.to_json((0, 1, 2, 3, 0, 1))
    bad = json.loads(json.dumps(good))
    bad["cells"][1]["ops"][0] = "max_pool"
    with pytest.raises(AutogasError, match="'max_pool' is not a residual op"):
        space.from_json(bad)
    with pytest.raises(AutogasError, match="not valid JSON"):
        space.from_json("{")
    with pytest.raises(AutogasError, match=r"cell 2 \(residual\) op 1: 5 is not one of"):
        space.validate((0, 1, 5, 0, 0, 0))
    with pytest.raises(AutogasError, match="has 6 genes, got 2"):
        space.validate((0, 1))
    with pytest.raises(AutogasError, match="multiple of 4"):
        space.build((0, 1, 2, 3, 0, 1), hidden=6)


def test_mutation_changes_exactly_what_it_says():
    space = CycleGanSpace()
    rng = np.random.default_rng(11)
    parent = space.sample(rng)

    def diff(a, b):
        return sum(x != y for x, y in zip(a, b))

    for _ in range(20):
        child = space.mutate(parent, rng)
        assert diff(parent, child) == 1
        space.validate(child)
    assert diff(parent, space.mutate(parent, rng, rate=1.0)) == len(parent)
    assert space.mutate(parent, rng, rate=0.0) == parent
    changed = np.mean([diff(parent, space.mutate(parent, rng, rate=0.25)) for _ in range(200)])
    assert abs(changed - 0.25 * len(parent)) < 1.0


def test_crossover_children_only_carry_parental_genes():
    space = CycleGanSpace()
    rng = np.random.default_rng(13)
    a = (0,) * 2 + (0,) * 18 + (0,) * 2
    b = (7,) * 2 + (4,) * 18 + (2,) * 2
    from_a = 0
    for _ in range(20):
        child = space.crossover(a, b, rng)
        assert all(g in (x, y) for g, x, y in zip(child, a, b))
        from_a += sum(g == x for g, x in zip(child, a))
    assert 0.35 < from_a / (20 * len(a)) < 0.65
