import os

import h5py
import numpy as np
import pytest
import torch
from torch import nn

import autogas.cache as cache_module
from autogas.cache import (FeatureCache, FeatureCacheWriter, journal_dir, store_scores, undo_path,
                           verify_cache, write_arch_group, write_transaction)
from autogas.errors import AutogasError
from autogas.measure.features import collect_features

SETTINGS = {"space": "macro", "task": "autoencoder", "seed": 0, "batch": 4, "resolution": 8,
            "inputs": "noise", "max_dims": 16, "train_mode": True}


def _features(width: int):
    torch.manual_seed(width)
    net = nn.Sequential(nn.Conv2d(3, width, 3), nn.ReLU(), nn.Conv2d(width, 2, 1), nn.LeakyReLU())
    return collect_features(net, torch.randn(4, 3, 8, 8), max_dims=16)


def _writer(path):
    return FeatureCacheWriter(path, SETTINGS, np.zeros((4, 3, 8, 8), np.float32))


def test_round_trip_in_place(tmp_path):
    path = tmp_path / "c.h5"
    w = _writer(path)
    fs_a, fs_b = _features(3), _features(5)
    w.add("64-11-basic", fs_a, {"label": 0.5, "params": 1.0, "flops": 2.0})
    assert FeatureCache(path).archs == ["64-11-basic"]  # stored in place, readable at once
    w.add("64-22-basic", fs_b, {"label": float("nan"), "params": 3.0, "flops": 4.0})
    assert w.done == {"64-11-basic", "64-22-basic"}
    w.close()
    assert not journal_dir(path).exists() and not undo_path(path).exists()
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


def _small_cache(path, n=3):
    w = _writer(path)
    for i in range(n):
        w.add(f"64-{i + 1}1-basic", _features(3 + i), {"label": 0.1 * i, "params": 1.0, "flops": 2.0})
    return w


# where the killed child stops: the n-th call of os.fsync (1: appended data, 2: undo log with
# its trailer, 3: overwrites applied) or the n-th overwrite after the undo log was made durable
KILL_POINTS = {"in_body": None, "after_append_fsync": ("fsync", 1),
               "after_undo_fsync": ("fsync", 2), "after_first_overwrite": ("pwrite", 1),
               "before_undo_unlink": ("fsync", 3)}


@pytest.mark.parametrize("point", sorted(KILL_POINTS))
def test_killed_transaction_leaves_the_file_exactly_as_before(tmp_path, point):
    path = tmp_path / "c.h5"
    _small_cache(path)
    before = path.read_bytes()
    extra = _features(7)  # torch runs in the parent only: a forked child must not start its thread pool
    pid = os.fork()
    if pid == 0:  # child: store one more arch and die hard at the chosen point
        try:
            calls = {"fsync": 0, "pwrite": 0}
            real_fsync, real_pwrite = os.fsync, os.pwrite
            stop = KILL_POINTS[point]

            def fsync(fd):
                real_fsync(fd)
                calls["fsync"] += 1
                if stop == ("fsync", calls["fsync"]):
                    os._exit(9)

            def pwrite(fd, data, offset):
                if calls["fsync"] >= 2:  # the overwrite phase of the commit
                    if stop == ("pwrite", calls["pwrite"]):
                        os._exit(9)
                    calls["pwrite"] += 1
                return real_pwrite(fd, data, offset)

            os.fsync, os.pwrite = fsync, pwrite
            w = _writer(path)
            if stop is None:
                with write_transaction(path) as f:
                    write_arch_group(f["archs"].create_group("64-99-basic"), extra, {})
                    f.flush()
                    os._exit(9)
            w.add("64-99-basic", extra, {"label": 0.9, "params": 1.0, "flops": 2.0})
        finally:
            os._exit(3)  # the kill point was never reached
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 9
    assert undo_path(path).exists()
    assert path.read_bytes() != before or point in ("in_body", "after_append_fsync",
                                                    "after_undo_fsync")
    cache = FeatureCache(path)  # a reader repairs the file first
    assert not undo_path(path).exists()
    assert path.read_bytes() == before
    assert len(cache.load()) == 3 and "64-99-basic" not in cache.archs
    w = _writer(path)  # and the next writer carries on
    w.add("64-99-basic", _features(7), {"label": 0.9, "params": 1.0, "flops": 2.0})
    assert FeatureCache(path).archs[-1] == "64-99-basic"


def test_an_exception_in_a_transaction_changes_nothing(tmp_path):
    path = tmp_path / "c.h5"
    _small_cache(path)
    before = path.read_bytes()
    with pytest.raises(ZeroDivisionError):
        with write_transaction(path) as f:
            write_arch_group(f["archs"].create_group("64-99-basic"), _features(7), {})
            1 / 0
    assert path.read_bytes() == before and not undo_path(path).exists()


def test_appending_writes_each_feature_byte_about_once(tmp_path):
    """Bytes passed to write() for 12 archs vs the final file size (the old design: ~n/2 x)."""
    path = tmp_path / "c.h5"
    written = []
    real = cache_module._DeferredFile.commit

    def commit(self):
        real(self)
        written.append(self.written)

    cache_module._DeferredFile.commit = commit
    try:
        w = _writer(path)
        start = path.stat().st_size
        torch.manual_seed(0)  # ~115 KB of float16 features per arch, as a real arch has hundreds
        net = nn.Sequential(nn.Conv2d(3, 16, 3), nn.ReLU())
        big = collect_features(net, torch.randn(4, 3, 32, 32), max_dims=None)
        for i in range(12):
            w.add(f"64-{i + 1}1-basic", big, {"label": 0.1, "params": 1.0, "flops": 2.0})
    finally:
        cache_module._DeferredFile.commit = real
    assert len(written) == 12
    assert sum(written) <= 1.5 * (path.stat().st_size - start)
    assert max(written) <= 1.2 * min(written)  # the 12th arch costs what the 1st did


def test_old_journal_is_imported(tmp_path):
    path = tmp_path / "c.h5"
    _small_cache(path, n=1)
    parts = journal_dir(path)
    parts.mkdir()
    fs = _features(5)
    with h5py.File(parts / "64-22-basic.h5", "w") as f:  # as version 1 wrote them
        write_arch_group(f, fs, {"label": 0.7, "params": 1.0, "flops": 2.0})
    w = _writer(path)
    assert w.done == {"64-11-basic", "64-22-basic"} and not parts.exists()
    assert FeatureCache(path).features("64-22-basic").layers == fs.layers


def _flip(path, offset, n):
    data = bytearray(path.read_bytes())
    data[offset:offset + n] = bytes(b ^ 255 for b in data[offset:offset + n])
    path.write_bytes(bytes(data))


def _read_all(path):
    cache = FeatureCache(path)
    cache.load()
    cache.inputs()
    cache.scores()


@pytest.mark.parametrize("offset", [0.5, 2000, 0.25, 0.75, 0.9])
def test_flipped_bytes_are_detected(tmp_path, offset):
    import pandas as pd

    path = tmp_path / "c.h5"
    _small_cache(path, n=6)
    store_scores(path, "synflow", pd.Series([1.0, 2.0], index=["64-11-basic", "64-21-basic"]))
    _read_all(path)
    assert verify_cache(path)["archs"] == 6
    size = path.stat().st_size
    start = int(size * offset) if isinstance(offset, float) else offset
    _flip(path, start, 4096 if offset == 0.5 else 2048)
    with pytest.raises(AutogasError, match="corrupt|not a readable HDF5|not an autogas") as err:
        _read_all(path)
    assert "\n" not in str(err.value)
    with pytest.raises(AutogasError, match="corrupt|not a readable HDF5|not an autogas"):
        verify_cache(path)


def test_version_1_cache_is_read_unchecked_with_a_warning(tmp_path, capsys):
    path = tmp_path / "c.h5"
    _small_cache(path, n=1)
    with h5py.File(path, "a") as f:
        f.attrs["version"] = 1
    capsys.readouterr()
    assert len(FeatureCache(path).load()) == 1
    FeatureCache(path)
    err = capsys.readouterr().err
    assert err.count("warning") == 1 and "without checksums" in err
    with pytest.raises(AutogasError, match="cannot be verified"):
        verify_cache(path)


def test_directory_is_not_a_cache(tmp_path):
    with pytest.raises(AutogasError, match="is a directory"):
        FeatureCache(tmp_path)
