import h5py
import numpy as np
import pytest
import torch
from torch import nn

from autogas.cache import FeatureCache, FeatureCacheWriter, journal_dir
from autogas.errors import AutogasError
from autogas.features import collect_features

SETTINGS = {"space": "macro", "task": "autoencoder", "seed": 0, "batch": 4, "resolution": 8,
            "inputs": "noise", "max_dims": 16, "train_mode": True}


def _features(width: int):
    torch.manual_seed(width)
    net = nn.Sequential(nn.Conv2d(3, width, 3), nn.ReLU(), nn.Conv2d(width, 2, 1), nn.LeakyReLU())
    return collect_features(net, torch.randn(4, 3, 8, 8), max_dims=16)


def _writer(path):
    return FeatureCacheWriter(path, SETTINGS, np.zeros((4, 3, 8, 8), np.float32))


def test_round_trip_through_journal_and_consolidation(tmp_path):
    path = tmp_path / "c.h5"
    w = _writer(path)
    fs_a, fs_b = _features(3), _features(5)
    w.add("64-11-basic", fs_a, {"label": 0.5, "params": 1.0, "flops": 2.0})
    w.add("64-22-basic", fs_b, {"label": float("nan"), "params": 3.0, "flops": 4.0})
    assert w.done == {"64-11-basic", "64-22-basic"}
    assert FeatureCache(path).archs == []  # journal only: main file untouched but readable
    assert w.consolidate() == 2
    w.close()
    assert not journal_dir(path).exists()
    cache = FeatureCache(path)
    assert cache.archs == ["64-11-basic", "64-22-basic"]
    assert cache.settings == SETTINGS
    assert cache.table.loc["64-11-basic", "n_layers"] == 2
    assert np.isnan(cache.labels[1]) and cache.labels[0] == 0.5
    back = cache.features("64-22-basic")
    for got, want in zip(back.features, fs_b.features):
        np.testing.assert_allclose(got, want.astype(np.float16).astype(np.float32))
    assert back.layers == fs_b.layers


def test_resume_skips_stored_and_rejects_other_settings(tmp_path):
    path = tmp_path / "c.h5"
    w = _writer(path)
    w.add("64-11-basic", _features(3), {"label": 0.5, "params": 1.0, "flops": 2.0})
    w.close()
    again = _writer(path)
    assert again.done == {"64-11-basic"}
    with pytest.raises(AutogasError, match="other settings.*seed"):
        FeatureCacheWriter(path, {**SETTINGS, "seed": 1}, np.zeros((4, 3, 8, 8), np.float32))


def test_bad_files_give_clear_errors(tmp_path):
    with pytest.raises(AutogasError, match="not found"):
        FeatureCache(tmp_path / "missing.h5")
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"not an hdf5 file at all")
    with pytest.raises(AutogasError, match="not a readable HDF5"):
        FeatureCache(junk)
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f.attrs["x"] = 1
    with pytest.raises(AutogasError, match="not an autogas feature cache"):
        FeatureCache(other)
    good = tmp_path / "good.h5"
    w = _writer(good)
    w.add("64-11-basic", _features(3), {"label": 0.5, "params": 1.0, "flops": 2.0})
    w.close()
    truncated = tmp_path / "trunc.h5"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(AutogasError):
        FeatureCache(truncated).load()


def test_store_scores_round_trip(tmp_path):
    import pandas as pd

    from autogas.cache import store_scores

    path = tmp_path / "c.h5"
    w = _writer(path)
    for arch in ("64-11-basic", "64-22-basic"):
        w.add(arch, _features(3), {"label": 0.5, "params": 1.0, "flops": 2.0})
    w.close()
    store_scores(path, "synflow", pd.Series([2.5], index=["64-22-basic"]), seconds=0.1)
    store_scores(path, "snip", pd.Series([1.0, 3.0], index=["64-11-basic", "64-22-basic"]))
    store_scores(path, "synflow", pd.Series([7.0], index=["64-22-basic"]))  # replaces
    scores = FeatureCache(path).scores()
    assert list(scores.index) == ["64-11-basic", "64-22-basic"]
    assert np.isnan(scores.loc["64-11-basic", "synflow"]) and scores.loc["64-22-basic", "synflow"] == 7.0
    assert scores["snip"].tolist() == [1.0, 3.0]
    assert FeatureCache(path).archs == ["64-11-basic", "64-22-basic"]
