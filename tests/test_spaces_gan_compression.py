import json

import numpy as np
import pytest
import torch

from autogas.errors import AutogasError
from autogas.spaces import GanCompressionSpace
from autogas.spaces.gan_compression import cyclegan_resnet_generator
from autogas.spaces.macs import count_macs, count_params


def mobile_params(c):
    """Independent closed-form parameter count of the mobile ResNet-9 generator."""
    stem, down, trunk, up1, up2 = c[0], 2 * c[1], 4 * c[2], 2 * c[6], c[7]
    total = 3 * 49 * stem + stem
    total += stem * 9 * down + down + down * 9 * trunk + trunk
    for block in range(9):
        inner = 4 * c[3 + block // 3]
        total += (trunk * 9 + trunk) + (trunk * inner + inner)   # separable trunk -> inner
        total += (inner * 9 + inner) + (inner * trunk + trunk)   # separable inner -> trunk
    total += trunk * 9 * up1 + up1 + up1 * 9 * up2 + up2
    return total + up2 * 49 * 3 + 3


def test_candidate_set_sizes():
    assert GanCompressionSpace("channels-32").size() == 6561
    assert GanCompressionSpace("channels-48").size() == 5184
    assert GanCompressionSpace("channels-64-cycleGAN").size() == 390625
    archs = list(GanCompressionSpace("channels-32").all_archs())
    assert len(archs) == len(set(archs)) == 6561


@pytest.mark.parametrize("config_set, text, params, gmacs", [
    ("channels-32", "16_16_32_16_32_32_16_16", 0.357e6, 2.55),     # GAN Compression (retrained)
    ("channels-64-cycleGAN", "16_16_24_16_32_64_16_24", 0.355e6, 2.64),  # Fast GAN Compression
])
def test_published_sizes(config_set, text, params, gmacs):
    space = GanCompressionSpace(config_set)
    arch = space.parse(text)
    cost = space.cost(arch)
    assert cost.params == mobile_params(arch)
    assert abs(cost.params / params - 1) < 0.02
    assert abs(cost.macs / 1e9 / gmacs - 1) < 0.02


def test_params_closed_form_on_samples():
    space = GanCompressionSpace("channels-48")
    rng = np.random.default_rng(0)
    for _ in range(3):
        arch = space.sample(rng)
        assert space.cost(arch).params == mobile_params(arch)
    extremes = GanCompressionSpace("channels-64-cycleGAN")
    assert extremes.cost((64,) * 8).params == 1987075   # mobile teacher, spec §2.4
    assert extremes.cost((16,) * 8).params == 137347


def test_full_cyclegan_reference():
    model = cyclegan_resnet_generator(64, device="meta")
    assert count_params(model) == 11378179
    assert abs(count_macs(model, (1, 3, 256, 256)) / 56.8e9 - 1) < 0.02
    assert count_params(cyclegan_resnet_generator(32, device="meta")) == 2850563


def test_builds_map_images_to_images_deterministically():
    space = GanCompressionSpace("channels-32")
    rng = np.random.default_rng(3)
    x = torch.randn(1, 3, 64, 64)
    for seed in range(2):
        arch = space.sample(rng)
        net = space.build(arch, seed=seed)
        y = net(x)
        assert y.shape == (1, 3, 64, 64) and y.abs().max() <= 1
        again = space.build(arch, seed=seed)
        assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), again.state_dict().values()))


def test_strings_and_json_round_trip():
    space = GanCompressionSpace("channels-48")
    rng = np.random.default_rng(1)
    for _ in range(5):
        arch = space.sample(rng)
        assert space.parse(space.to_string(arch)) == arch
        assert space.from_json(json.dumps(space.to_json(arch))) == arch


@pytest.mark.parametrize("text, message", [
    ("16_16_32", "has 3 widths"),
    ("16_16_32_16_32_32_16_x", "'x' is not a width"),
    ("16_16_32_16_32_32_16_20", "c7 up-conv 2"),
    ("64_16_32_16_32_32_16_16", "c0 stem"),
])
def test_malformed_strings(text, message):
    with pytest.raises(AutogasError, match=message):
        GanCompressionSpace("channels-32").parse(text)


def test_json_and_build_errors():
    space = GanCompressionSpace("channels-32")
    arch = space.parse("16_16_32_16_32_32_16_16")
    with pytest.raises(AutogasError, match="config set"):
        space.from_json({"space": "gan-compression", "config_set": "channels-48", "channels": list(arch)})
    with pytest.raises(AutogasError, match="expected 'gan-compression'"):
        space.from_json({"space": "cyclegan", "channels": list(arch)})
    with pytest.raises(AutogasError, match="hidden"):
        space.build(arch, hidden=64)
