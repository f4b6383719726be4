"""Network names: CycleGAN baselines (sizes from the spec) and search-space architectures."""
import json

import numpy as np
import pytest
import torch

from autogas.errors import AutogasError
from autogas.spaces import get_space
from autogas.train.networks import resolve_network
from autogas.train.trainer import TrainConfig


def test_reference_sizes_at_256():
    g = resolve_network("resnet9", part="generator").cost(256)
    d = resolve_network("patchgan", part="discriminator").cost(256)
    assert g["params"] == 11_378_179 and abs(g["macs"] / 1e9 - 56.8) < 0.1
    assert d["params"] == 2_764_737
    out = resolve_network("patchgan", part="discriminator").build(device="meta")(
        torch.zeros(1, 3, 256, 256, device="meta"))
    assert tuple(out.shape) == (1, 1, 30, 30)


def test_init_is_seeded_normal_002():
    spec = resolve_network("resnet6", part="generator", hidden=8)
    a, b, c = spec.build(seed=1), spec.build(seed=1), spec.build(seed=2)
    wa = torch.cat([p.detach().flatten() for n, p in a.named_parameters() if n.endswith("weight")])
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not torch.equal(wa, torch.cat([p.flatten() for n, p in c.named_parameters() if n.endswith("weight")]))
    assert abs(float(wa.std()) - 0.02) < 0.002 and abs(float(wa.mean())) < 0.002
    assert all(float(p.detach().abs().sum()) == 0 for n, p in a.named_parameters() if n.endswith("bias"))
    assert sum(1 for m in a.modules() if m.__class__.__name__ == "ResnetBlock") == 6


def test_search_space_names_and_json(tmp_path):
    gc = resolve_network("gan-compression:16_16_32_16_32_32_16_16", part="generator")
    assert gc.cost(256)["params"] == 356_867  # spec §2.4
    assert resolve_network("gan-compression:16_16_24_16_32_64_16_24", part="generator").cost(256)["params"] \
        == 355_235
    space = get_space("cyclegan", n_cells=5)
    arch = space.parse("G:23.00.14.32.21")
    spec = resolve_network("cyclegan:G:23.00.14.32.21", part="generator", hidden=16)
    model = spec.build(seed=0)
    assert spec.canonical == "cyclegan:G:23.00.14.32.21"
    ref = space.build(arch, hidden=16, seed=0)
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), ref.parameters()))
    path = tmp_path / "arch.json"
    path.write_text(json.dumps({"score": 1.0, "arch": space.to_json(arch)}))
    assert resolve_network(str(path), part="generator", hidden=16).canonical == spec.canonical
    disc = resolve_network("cyclegan:D:22.22", part="discriminator", ndf=16).build()
    assert disc(torch.zeros(1, 3, 64, 64)).shape == (1, 1, 3, 3)
    assert sum(p.numel() for p in disc.parameters()) == sum(
        p.numel() for p in get_space("cyclegan", part="discriminator").build((2, 2, 2, 2), hidden=16).parameters())


def test_search_report_gives_each_role_its_network(tmp_path):
    g_space, d_space = get_space("cyclegan", hidden=32), get_space("cyclegan", part="discriminator")
    g_arch, d_arch = g_space.sample(np.random.default_rng(0)), d_space.sample(np.random.default_rng(1))
    report = {"space": "cyclegan", "hidden": 32, "networks": {
        "G_A": {"network": "cyclegan:" + g_space.to_string(g_arch)}, "G_B": {"network": "resnet9"},
        "D_A": {"network": "cyclegan:" + d_space.to_string(d_arch)}, "D_B": {"network": "patchgan"}}}
    path = tmp_path / "search.json"
    path.write_text(json.dumps(report))
    g_a = resolve_network(str(path), part="generator", role="G_A")
    assert g_a.canonical == "cyclegan:" + g_space.to_string(g_arch) and g_a.name == str(path)
    assert g_a.cost(64)["params"] == g_space.cost(g_arch, hidden=32, resolution=64).params
    assert resolve_network(str(path), part="generator", role="G_B").canonical == "resnet9:ngf=32"
    assert resolve_network(str(path), part="generator", hidden=8, role="G_B").canonical == "resnet9:ngf=8"
    assert resolve_network(str(path), part="discriminator", role="D_B").canonical == "patchgan:ndf=32"
    d_a = resolve_network(str(path), part="discriminator", role="D_A")
    assert d_a.cost(64)["params"] == d_space.cost(d_arch, hidden=32, resolution=64).params
    config = TrainConfig(data="unused", arch_a=str(path), arch_b=str(path), disc_a=str(path), disc_b=str(path))
    assert [spec.canonical for spec in config.networks().values()] == [
        g_a.canonical, "resnet9:ngf=32", d_a.canonical, "patchgan:ndf=32"]
    with pytest.raises(AutogasError, match="no network for role None"):
        resolve_network(str(path), part="generator")


@pytest.mark.parametrize("name, part, message", [
    ("resnet12", "generator", "unknown generator"),
    ("patchgan", "generator", "unknown generator"),
    ("cyclegan:D:22.22", "generator", "is a discriminator"),
    ("gan-compression:16_16_16", "generator", "has 3 widths"),
    ("missing.json", "generator", "architecture file not found"),
])
def test_bad_names_are_clear(name, part, message):
    with pytest.raises(AutogasError, match=message):
        resolve_network(name, part=part)
