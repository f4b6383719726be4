"""The network factory (autogas.spaces.networks): sizes from hand formulas and the published
counts, the same weights as the builders it routes to, names, parts and errors."""
import numpy as np
import pytest
import torch

from autogas.errors import AutogasError
from autogas.spaces import create_network, get_space, network_spec
from autogas.spaces.gan_compression import cyclegan_resnet_generator
from autogas.spaces import networks
from autogas.spaces.networks import NETWORKS, network_family, network_name_of_json, register_network
from autogas.transnas.network import build_network


def resnet_params(ngf: int, blocks: int) -> int:
    """CycleGAN ResNet generator, counted by hand: biased convs, affine-free InstanceNorm."""
    conv = lambda c_in, c_out, k: c_in * c_out * k * k + c_out  # noqa: E731
    return (conv(3, ngf, 7) + conv(ngf, 2 * ngf, 3) + conv(2 * ngf, 4 * ngf, 3)
            + blocks * 2 * conv(4 * ngf, 4 * ngf, 3)
            + conv(4 * ngf, 2 * ngf, 3) + conv(2 * ngf, ngf, 3) + conv(ngf, 3, 7))


def patchgan_params(ndf: int) -> int:
    """70x70 PatchGAN (3 layers), counted by hand: 4x4 biased convs, affine-free InstanceNorm."""
    widths = [3, ndf, 2 * ndf, 4 * ndf, 8 * ndf, 1]
    return sum(a * b * 16 + b for a, b in zip(widths, widths[1:]))


def state(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def same_state(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_published_and_hand_counted_sizes():
    g = network_spec("resnet9").cost(256)
    assert g["params"] == 11_378_179 == resnet_params(64, 9)  # CycleGAN's resnet_9blocks at ngf 64
    assert abs(g["macs"] / 1e9 - 56.8) < 0.1
    assert network_spec("patchgan").cost(256)["params"] == 2_764_737 == patchgan_params(64)
    assert network_spec("resnet6", width=8).cost(128)["params"] == resnet_params(8, 6)
    assert network_spec("patchgan", width=16).cost(64)["params"] == patchgan_params(16)
    assert network_spec("gan-compression:16_16_32_16_32_32_16_16").cost(256)["params"] == 356_867  # spec §2.4
    out = create_network("patchgan", device="meta")(torch.zeros(1, 3, 256, 256, device="meta"))
    assert tuple(out.shape) == (1, 1, 30, 30)


@pytest.mark.parametrize("width", [None, 16])
def test_factory_equals_the_builders_it_routes_to(width):
    g_space = get_space("cyclegan", n_cells=5)
    d_space = get_space("cyclegan", part="discriminator")
    gc_space = get_space("gan-compression", config_set="channels-48")
    rng = np.random.default_rng(7)
    g_arch, d_arch, gc_arch = g_space.sample(rng), d_space.sample(rng), gc_space.sample(rng)
    cases = [
        ("resnet6", lambda: cyclegan_resnet_generator(width or 64, 6, seed=3)),
        (f"cyclegan:{g_space.to_string(g_arch)}", lambda: g_space.build(g_arch, hidden=width, seed=3)),
        (f"cyclegan:{d_space.to_string(d_arch)}", lambda: d_space.build(d_arch, hidden=width, seed=3)),
        (f"gan-compression:{gc_space.to_string(gc_arch)}", lambda: gc_space.build(gc_arch, seed=3)),
        ("transnas:64-41414-1_02_333", lambda: build_network("64-41414-1_02_333", seed=3)),
        ("transnas:64-1242-basic", lambda: build_network("64-1242-basic", seed=3)),
    ]
    for name, old in cases:
        made = create_network(name, width=width, seed=3)
        assert same_state(state(made), state(old())), name
        assert not same_state(state(made), state(create_network(name, width=width, seed=4))), name


def test_seeded_and_global_rng_untouched():
    before = torch.get_rng_state()
    for name, width in (("resnet6", 8), ("patchgan", 8), ("cyclegan:D:22.22", 8), ("transnas:64-1242-basic", None)):
        a, b = (create_network(name, width=width, seed=5) for _ in range(2))
        assert same_state(state(a), state(b)), name
    assert torch.equal(before, torch.get_rng_state())


def test_canonical_names_and_parts():
    assert network_spec(" resnet9 ").canonical == "resnet9:ngf=64"
    assert network_spec("resnet9", width=32).canonical == "resnet9:ngf=32"
    assert network_spec("patchgan").canonical == "patchgan:ndf=64"
    spec = network_spec("cyclegan:G:23.00.14.32.21", width=16, part="generator")
    assert (spec.canonical, spec.part) == ("cyclegan:G:23.00.14.32.21", "generator")
    assert network_spec("cyclegan:D:22.22").part == "discriminator"
    assert network_spec("gan-compression:16_16_24_16_32_64_16_24", width=999).canonical == \
        "gan-compression:16_16_24_16_32_64_16_24"  # the widths are the architecture
    tn = network_spec("transnas:64-41414-1_02_333")
    assert (tn.canonical, tn.part) == ("transnas:64-41414-1_02_333", "autoencoder")
    assert network_family("cyclegan:G:..") == "cyclegan" and network_family("resnet9") == "resnet9"
    assert network_family("resnet9:ngf=8") is None and network_family("nope") is None


def test_space_json_names_the_same_network():
    for space in (get_space("cyclegan", n_cells=4), get_space("cyclegan", part="discriminator"),
                  get_space("gan-compression", config_set="channels-32")):
        arch = space.sample(np.random.default_rng(1))
        assert network_name_of_json(space.to_json(arch)) == f"{space.name}:{space.to_string(arch)}"
    with pytest.raises(AutogasError, match="expected 'cyclegan' or 'gan-compression'"):
        network_name_of_json({"space": "darts"})


@pytest.mark.parametrize("name, options, message", [
    ("resnet12", {}, "unknown network 'resnet12'"),
    ("patchgan", {"part": "generator"}, "unknown generator 'patchgan'"),
    ("cyclegan:D:22.22", {"part": "generator"}, "is a discriminator, expected a generator"),
    ("transnas:64-1242-basic", {"part": "generator"}, "is an autoencoder, expected a generator"),
    ("gan-compression:16_16_16", {}, "has 3 widths"),
    ("cyclegan:G:23.00", {}, "n_cells >= 3"),
    ("transnas:64-9999-basic", {}, "bad TransNAS arch"),
    ("resnet9", {"width": 0}, "positive integer"),
    ("cyclegan:G:23.00.12", {"width": 6}, "multiple of 4"),
])
def test_bad_names_are_one_line_errors(name, options, message):
    with pytest.raises(AutogasError, match=message):
        create_network(name, device="meta", **options)


def test_registry_takes_new_families_and_refuses_twins():
    try:
        @register_network("test-identity", fixed=False)
        def _identity(arch, width):
            return f"test-identity:{arch}", "generator", lambda seed, device: torch.nn.Identity()

        assert isinstance(create_network("test-identity:x"), torch.nn.Identity)
        with pytest.raises(ValueError, match="already registered"):
            register_network("test-identity", fixed=False)
        with pytest.raises(ValueError, match="needs its part"):
            register_network("test-fixed", fixed=True)
    finally:
        NETWORKS.pop("test-identity", None)
    assert "test-identity" not in networks.NETWORKS
