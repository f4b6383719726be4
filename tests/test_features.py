import numpy as np
import torch
from torch import nn

from autogas.measure.features import collect_features, keep_indices


def _net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 2, 3), nn.LeakyReLU(0.2))


def test_hooks_read_activation_inputs_and_are_removed():
    net = _net()
    x = torch.randn(3, 3, 8, 8)
    fs = collect_features(net, x, max_dims=None)
    assert [l.name for l in fs.layers] == ["1", "3"]
    expected = net[0](x).reshape(3, -1).detach().numpy()
    np.testing.assert_allclose(fs.features[0], expected, rtol=1e-6)
    assert (fs.layers[0].channels, fs.layers[0].height, fs.layers[0].width) == (4, 6, 6)
    assert fs.layers[1].dims == 2 * 4 * 4
    assert all(len(m._forward_pre_hooks) == 0 for m in net.modules())


def test_subsample_is_deterministic_and_shared_across_nets():
    a = keep_indices(1000, 64, seed=3)
    assert a is not None and len(a) == 64 and len(set(a)) == 64
    assert np.array_equal(a, keep_indices(1000, 64, seed=3))
    assert not np.array_equal(a, keep_indices(1000, 64, seed=4))
    assert keep_indices(50, 64, seed=3) is None
    fs = collect_features(_net(), torch.randn(2, 3, 8, 8), max_dims=10, seed=3)
    assert [f.shape for f in fs.features] == [(2, 10), (2, 10)]
    assert fs.layers[0].dims == 144


def test_parts_from_names_or_spatial_trajectory():
    from autogas.measure.features import assign_parts

    assert assign_parts(["encoder.0", "encoder.1", "decoder.0"], [64, 16, 16]) == ["encoder", "encoder", "decoder"]
    # no encoder/decoder names: the decoder starts where the spatial size first grows again
    assert assign_parts(["0", "1", "2", "3", "4"], [64, 16, 16, 64, 16]) == [
        "encoder", "encoder", "encoder", "decoder", "decoder"]
    assert assign_parts(["a", "b"], [64, 16]) == ["encoder", "encoder"]
    net = nn.Sequential(nn.Conv2d(3, 4, 3, stride=2, padding=1), nn.ReLU(), nn.Upsample(scale_factor=2),
                        nn.Conv2d(4, 4, 3, padding=1), nn.ReLU())
    fs = collect_features(net, torch.randn(2, 3, 8, 8))
    assert [l.part for l in fs.layers] == ["encoder", "decoder"]


def test_tensor_statistics_match_numpy():
    from autogas.measure.features import tensor_statistics

    x = torch.randn(4, 3, 5, 5) * 2 + 0.7
    mean, std, frac = tensor_statistics(x)
    ref = x.double().numpy()
    assert np.isclose(mean, ref.mean(), rtol=1e-5) and np.isclose(std, ref.std(ddof=1), rtol=1e-5)
    assert frac == (ref > 0).mean()
    shifted = torch.randn(1000) * 1e-3 + 100.0  # |mean| >> std: no cancellation
    _, std, frac = tensor_statistics(shifted)
    assert np.isclose(std, shifted.double().numpy().std(ddof=1), rtol=1e-3) and frac == 1.0
