"""GeneratorScorer: the benchmark cache's seeding and hooking rules, proxies, devices, domains."""
import numpy as np
import pytest
import torch

from autogas.measure.seeds import init_seed
from autogas.search.budget import parse_amount
from autogas.errors import AutogasError
from autogas.measure.features import collect_features
from autogas.measure.inputs import input_batch
from autogas.proxy import ProxyGraph, evaluate_proxy, score_modules
from autogas.search.scorer import GeneratorScorer, domain_batches, open_space, proxy_name, resolve_proxy

PAPER = "square(slogdet(ksum(gram(above_mean(swish(F))))))"


@pytest.fixture(scope="module")
def tiny():
    space = open_space("cyclegan", n_cells=3, hidden=8)
    inputs = input_batch("images", 3, 32, 0)
    archs = [space.sample(np.random.default_rng(i)) for i in range(3)]
    return space, inputs, archs


def test_score_follows_the_cache_rules(tiny):
    space, inputs, archs = tiny
    scorer = GeneratorScorer(space, PAPER, inputs, seed=5, device="cpu")
    for arch in archs:
        name = space.to_string(arch)
        model = space.build(arch, seed=init_seed(5, name)).train()
        expected = evaluate_proxy(ProxyGraph.parse(PAPER),
                                  [collect_features(model, inputs, max_dims=512, seed=5)]).values[0]
        result = scorer.score(arch)
        assert result.arch == name and result.score == expected
        assert result.seconds == pytest.approx(
            result.build_seconds + result.forward_seconds + result.proxy_seconds)


def test_scorer_keeps_the_cache_feature_budget(tiny):
    """Every layer above the budget keeps exactly that many coordinates, the cache's default."""
    from autogas.transnas.build import CacheSettings

    space, inputs, archs = tiny
    scorer = GeneratorScorer(space, PAPER, inputs, device="cpu")
    fs = scorer.features(scorer.build(archs[0]))
    big = [(f.shape[1], info.dims) for f, info in zip(fs.features, fs.layers) if info.dims > 512]
    small = [(f.shape[1], info.dims) for f, info in zip(fs.features, fs.layers) if info.dims <= 512]
    assert big and {kept for kept, _ in big} == {512}  # hand count: 8 channels x 16 x 16 > 512
    assert all(kept == dims for kept, dims in small)
    assert CacheSettings(space="macro").max_dims == 512


def test_score_alone_equals_score_among_others(tiny):
    space, inputs, archs = tiny
    scorer = GeneratorScorer(space, PAPER, inputs, device="cpu")
    together = score_modules(PAPER, [scorer.build(a) for a in archs], inputs, max_dims=512)
    np.testing.assert_allclose([scorer.score(a).score for a in archs], together, rtol=1e-12)


def test_callable_proxy_sees_every_activation_input(tiny):
    space, inputs, archs = tiny

    def n_layers(fs):
        return len(fs)

    scorer = GeneratorScorer(space, n_layers, inputs, device="cpu")
    # stem ReLU + 2 activations in each of the 3 cells
    assert scorer.score(archs[0]).score == 7.0
    assert proxy_name(scorer.proxy) == "n_layers"


def test_population_proxies_are_rejected_and_baselines_resolve():
    with pytest.raises(AutogasError, match="compares architectures"):
        resolve_proxy("rank_add(slogdet(ksum(gram(F))), slogdet(ksum(hamming(above_zero(F)))))")
    assert proxy_name(resolve_proxy("nwot")) == "nwot"
    with pytest.raises(AutogasError):
        resolve_proxy("not_an_op(F)")


def test_device_choice(tiny):
    space, inputs, _ = tiny
    scorer = GeneratorScorer(space, PAPER, inputs, device="auto")
    assert scorer.device.type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(AutogasError, match="CUDA"):
            GeneratorScorer(space, PAPER, inputs, device="cuda")


def test_domain_batches_differ_and_use_folders(tmp_path):
    a, b = domain_batches(None, None, batch=3, resolution=32, seed=0)
    assert a.shape == b.shape == (3, 3, 32, 32) and not torch.equal(a, b)
    a2, _ = domain_batches(None, None, batch=3, resolution=32, seed=0)
    assert torch.equal(a, a2)
    from PIL import Image

    Image.fromarray(np.full((40, 40, 3), 255, np.uint8)).save(tmp_path / "white.png")
    _, white = domain_batches(None, str(tmp_path), batch=2, resolution=32, seed=0)
    assert torch.allclose(white, torch.ones_like(white))


def test_open_space_rejects_options_of_the_other_space():
    with pytest.raises(AutogasError, match="do not apply"):
        open_space("gan-compression", hidden=8)
    with pytest.raises(AutogasError, match="gan-compression only"):
        open_space("cyclegan", config_set="channels-32")
    with pytest.raises(AutogasError, match="unknown search space"):
        open_space("biggan")


def test_parse_amount_units():
    assert parse_amount("2.6", 1e9, "--max-macs") == pytest.approx(2.6e9)
    assert parse_amount("400K", 1e6, "--max-params") == pytest.approx(4e5)
    assert parse_amount("0.5M", 1e9, "--max-macs") == pytest.approx(5e5)
    assert parse_amount(None, 1e9, "--max-macs") is None
    for bad in ("two", "-1", "0", "nan"):
        with pytest.raises(AutogasError):
            parse_amount(bad, 1e9, "--max-macs")
