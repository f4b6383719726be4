"""TransNAS autoencoder builder and exact params/FLOPs counting."""
from __future__ import annotations

import json
import math

import pandas as pd
import pytest
import torch
from torch import nn

from autogas.measure.features import collect_features
from autogas.transnas.archs import CELL_EDGES, MACRO, naslib_to_arch, parse_arch
from autogas.transnas.counting import count_flops, count_params, model_counts, verify_counts
from autogas.transnas.network import build_network

WORKED_EXAMPLES = {"64-1242-basic": 34_058_323, "64-41414-1_00_210": 23_750_227,
                   "64-41414-3_33_333": 64_283_475, "64-41414-0_00_000": 22_891_347}


def closed_form_params(arch: str) -> int:
    """Spec §9, written independently of the builder."""
    parsed = parse_arch(arch)

    def rcb(ci, co, k):
        return k * k * ci * co + 2 * co

    def op(o, ci, co, s):
        if o == 0:
            return 0
        if o == 1:
            return 0 if (s == 1 and ci == co) else ci * co + 2 * co
        return rcb(ci, co, 1 if o == 2 else 3)

    def block(ci, co, s):
        if parsed.space == MACRO:
            return rcb(ci, co, 3) + rcb(co, co, 3) + (ci * co + 2 * co if (s != 1 or ci != co) else 0)
        return sum(op(parsed.ops[pos], ci, co, s) if src == 0 else op(parsed.ops[pos], co, co, 1)
                   for incoming in CELL_EDGES for src, pos in incoming)

    total, c = 19488, 64
    for digit in parsed.skeleton:
        c_out, s = (2 * c if digit % 2 == 0 else c), (2 if digit > 2 else 1)
        total += block(c, c_out, s) + block(c_out, c_out, 1)
        c = c_out
    return total + 9216 * c + 18_153_267


def stored_table(path, space, every):
    records = json.loads(path.read_text())["autoencoder"]
    rows = {naslib_to_arch(k, space): (round(r["params"]["score"] * 1e6), round(r["flops"]["score"] * 1e6))
            for k, r in records.items()}
    return rows, dict(list(rows.items())[::every])


@pytest.fixture(scope="module")
def stored(macro_labels, micro_labels):
    macro_all, macro_sample = stored_table(macro_labels, MACRO, 50)
    micro_all, micro_sample = stored_table(micro_labels, "micro", 70)
    return {**macro_all, **micro_all}, {**macro_sample, **micro_sample}


def test_closed_form_matches_every_stored_params(stored):
    everything, _ = stored
    assert all(closed_form_params(a) == p for a, (p, _) in everything.items())
    for arch, params in WORKED_EXAMPLES.items():
        assert closed_form_params(arch) == params


def test_counts_equal_stored_values_on_a_sample(stored):
    everything, sample = stored
    sample = {**sample, **{a: everything[a] for a in WORKED_EXAMPLES if a in everything}}
    assert len(sample) >= 20
    for arch, (params, flops) in sample.items():
        counts = model_counts(arch)
        assert (counts.params, counts.flops) == (params, flops), arch
    for arch, params in WORKED_EXAMPLES.items():
        assert count_params(arch) == params


def test_count_rules_on_a_hand_computed_model():
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                          nn.Conv2d(4, 2, 1, stride=2, bias=False), nn.LeakyReLU(0.2),
                          nn.ConvTranspose2d(2, 2, 3, stride=2, padding=1, output_padding=1), nn.Tanh())
    model.train()
    conv1 = 9 * 3 * 4 * 64 + 4 * 64             # 8x8 output, with bias
    bn, relu = 2 * 4 * 64, 4 * 64
    conv2 = 1 * 4 * 2 * 16                        # 4x4 output, no bias
    lrelu = 2 * 16
    assert count_flops(model, resolution=8) == conv1 + bn + relu + conv2 + lrelu  # deconv, tanh: 0
    assert count_params(model) == sum(p.numel() for p in model.parameters())
    assert model.training and all(p.device.type == "cpu" for p in model.parameters())
    assert all("forward" not in vars(m) for m in model.modules())


def test_counting_a_built_cpu_model_equals_counting_the_arch():
    model = build_network("64-41414-1_00_210", seed=0)
    assert model_counts(model) == model_counts("64-41414-1_00_210")
    assert model.training and next(model.parameters()).device.type == "cpu"
    assert count_params(model) == sum(p.numel() for p in model.parameters())  # no discriminator


def test_verify_counts_reports_mismatches():
    table = pd.DataFrame({"params": [34.058323, 23.750227, math.nan], "flops": [37131.71456, 1.0, 1.0]},
                         index=["64-1242-basic", "64-41414-1_00_210", "64-41414-3_33_333"])
    report = verify_counts(table)
    assert report["n"] == 3
    assert report["params_match"] == pytest.approx(2 / 3) and report["flops_match"] == pytest.approx(1 / 3)
    assert [m["arch"] for m in report["mismatches"]] == ["64-41414-1_00_210", "64-41414-3_33_333"]
    assert report["mismatches"][0]["flops"] == 1_885_700_096


@pytest.mark.parametrize("arch, sizes", [
    ("64-3434-basic", {32: 64, 48: 64, 64: 64, 96: 128, 256: 256}),
    ("64-41414-3_33_333", {32: 32, 48: 64, 64: 64, 96: 96, 256: 256}),
    ("64-1242-basic", {64: 64, 256: 256}),
])
def test_output_sizes(arch, sizes):
    model = build_network(arch, device="meta").eval()
    for side, out_side in sizes.items():
        assert model(torch.empty(1, 3, side, side, device="meta")).shape == (1, 3, out_side, out_side)


def test_real_forward_64_and_structure():
    model = build_network("64-41414-1_02_333", seed=0).eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        y = model(x)
        assert torch.equal(y, model.decoder(model.encoder(x)))
    assert y.shape == (2, 3, 64, 64) and y.abs().max() <= 1
    assert dict(model.named_children()).keys() == {"encoder", "decoder"}
    macro = build_network("64-1242-basic", seed=0).eval()
    features = collect_features(macro, torch.randn(2, 3, 64, 64), max_dims=16)
    parts = [layer.part for layer in features.layers]
    assert parts == ["encoder"] * 17 + ["decoder"] * 13  # stem + 8 blocks x 2 ReLUs, 13 LeakyReLUs


def test_seeded_build_is_deterministic_and_keeps_global_rng():
    state = torch.get_rng_state()
    a = build_network("64-41414-1_00_210", seed=3).state_dict()
    b = build_network("64-41414-1_00_210", seed=3).state_dict()
    c = build_network("64-41414-1_00_210", seed=4).state_dict()
    assert torch.equal(torch.get_rng_state(), state)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["decoder.0.conv.weight"], c["decoder.0.conv.weight"])
    assert not torch.equal(a["encoder.stem.conv.weight"], c["encoder.stem.conv.weight"])


def test_encoder_kaiming_init_and_decoder_default_init():
    model = build_network("64-1242-basic", seed=0)
    enc = model.encoder.body[3][1].conv_a.conv.weight      # 512 -> 512, 3x3
    assert enc.std().item() == pytest.approx(math.sqrt(2 / (512 * 9)), rel=0.02)
    assert enc.mean().item() == pytest.approx(0, abs=1e-3)
    dec = model.decoder[1].conv.weight                       # 1024 -> 1024, 3x3, default init
    fan_in = 1024 * 9
    assert dec.abs().max().item() <= 1 / math.sqrt(fan_in)  # uniform(+-1/sqrt(fan_in))
    assert dec.std().item() == pytest.approx(1 / math.sqrt(3 * fan_in), rel=0.02)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            assert torch.all(module.weight == 1) and torch.all(module.bias == 0)
