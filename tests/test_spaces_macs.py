import numpy as np
import pytest
import torch
from torch import nn

from autogas.errors import AutogasError
from autogas.spaces import CycleGanSpace, GanCompressionSpace, get_space
from autogas.spaces.macs import count_macs, count_params


def _net() -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),                      # 10x10 out
        nn.InstanceNorm2d(8), nn.ReLU(),
        nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=4),  # 5x5 out
        nn.ConvTranspose2d(8, 2, 3, stride=2, padding=1, output_padding=1),  # 10x10 out
        nn.Flatten(), nn.Linear(200, 7),
    )


# Hand counts for a 1x3x10x10 input.
_CONV = 8 * 10 * 10 * 3 * 9
_NORM = 8 * 10 * 10
_GROUPED = 8 * 5 * 5 * (8 // 4) * 9
_TRANSPOSED = 2 * 10 * 10 * 8 * 9  # output elements x C_in x k^2 (torchprofile convention)
_LINEAR = 7 * 200


def test_macs_match_hand_counts_on_cpu_and_meta():
    expected = _CONV + _NORM + _GROUPED + _TRANSPOSED + _LINEAR
    assert count_macs(_net(), (1, 3, 10, 10)) == expected
    with torch.device("meta"):
        meta = _net()
    assert count_macs(meta, (1, 3, 10, 10)) == expected
    assert count_macs(_net(), (2, 3, 10, 10)) == 2 * expected
    net = _net()
    count_macs(net, (1, 3, 10, 10))
    assert all(not m._forward_hooks for m in net.modules())


def test_params_hand_count():
    expected = (3 * 9 * 8 + 8) + (8 * 2 * 9 + 8) + (8 * 2 * 9 + 2) + (200 * 7 + 7)
    assert count_params(_net()) == expected


def test_registry_names_and_errors():
    assert isinstance(get_space("cyclegan"), CycleGanSpace)
    assert isinstance(get_space("gan-compression", config_set="channels-48"), GanCompressionSpace)
    with pytest.raises(AutogasError, match="known: cyclegan, gan-compression"):
        get_space("darts")
    with pytest.raises(AutogasError, match="bad options"):
        get_space("gan-compression", hidden=3)
    with pytest.raises(AutogasError, match="known: channels-32, channels-48, channels-64-cycleGAN"):
        get_space("gan-compression", config_set="channels-99")


@pytest.mark.parametrize("name", ["cyclegan", "gan-compression"])
def test_macs_scale_with_area(name):
    space = get_space(name)
    arch = space.sample(np.random.default_rng(1))
    small, large = space.cost(arch, resolution=64), space.cost(arch, resolution=128)
    assert small.params == large.params
    assert large.macs == 4 * small.macs


@pytest.mark.parametrize("space, bad, good", [
    (CycleGanSpace(), 16, 20),
    (CycleGanSpace(), 66, 68),
    (CycleGanSpace(part="discriminator"), 48 + 8, 48),
    (GanCompressionSpace(), 4, 8),
])
def test_resolution_checks(space, bad, good):
    with pytest.raises(AutogasError, match="resolution must be a multiple"):
        space.cost(space.sample(np.random.default_rng(0)), resolution=bad)
    arch = space.sample(np.random.default_rng(0))
    hidden = 8 if isinstance(space, CycleGanSpace) else None
    with torch.no_grad():
        space.build(arch, hidden=hidden)(torch.randn(1, 3, good, good))
