"""End-to-end tests of ``autogas bench``: build, resume, kill safety and bad input."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from autogas.cache import FeatureCache, journal_dir
from autogas.cli import main

TINY = ["--batch", "2", "--resolution", "32", "--max-dims", "64"]


def _build_args(labels, out, limit):
    return ["bench", "build", "--space", "macro", "--labels", str(labels), "--out", str(out),
            "--limit", str(limit), *TINY]


def test_build_info_and_resume(macro_labels, tmp_path, capsys):
    out = tmp_path / "c.h5"
    assert main(_build_args(macro_labels, out, 2)) == 0
    assert main(_build_args(macro_labels, out, 3)) == 0
    assert "1 archs computed, 2 already cached" in capsys.readouterr().out
    assert main(["bench", "info", str(out), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["archs"], info["labelled"], info["resolution"], info["max_dims"]) == (3, 3, 32, 64)
    cache = FeatureCache(out)
    first = json.loads((macro_labels).read_text())["autoencoder"]
    stored = next(iter(first.values()))
    assert cache.archs[0] == "64-1242-basic" and cache.labels[0] == pytest.approx(stored["val_accuracy"])
    fs = cache.features("64-1242-basic")
    assert len(fs) == cache.table.loc["64-1242-basic", "n_layers"] >= 13
    assert all(f.shape == (2, min(64, l.dims)) for f, l in zip(fs.features, fs.layers))
    assert [l.part for l in fs.layers][-13:] == ["decoder"] * 13


def test_build_is_deterministic(macro_labels, tmp_path):
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    assert main(_build_args(macro_labels, a, 1)) == 0
    assert main(_build_args(macro_labels, b, 1)) == 0
    fa, fb = FeatureCache(a).load()[0], FeatureCache(b).load()[0]
    for x, y in zip(fa.features, fb.features):
        np.testing.assert_array_equal(x, y)


def _start(labels, out, limit):
    cmd = [sys.executable, "-m", "autogas", *_build_args(labels, out, limit)]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_journal(proc, out, n, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if out.exists() and len(FeatureCache(out).archs) >= n:  # archs are stored in place
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError("journal did not fill in time")


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_killed_build_leaves_readable_file_and_resumes(macro_labels, tmp_path, sig, capsys):
    out = tmp_path / "c.h5"
    proc = _start(macro_labels, out, 6)
    _wait_for_journal(proc, out, 2)
    proc.send_signal(sig)
    proc.wait(timeout=60)
    if sig == signal.SIGTERM:  # graceful: the journal is consolidated before exiting
        assert proc.returncode == 130
        assert len(FeatureCache(out).archs) >= 2
    else:  # hard kill: the main file is still a complete, readable cache
        FeatureCache(out).load()
    assert main(_build_args(macro_labels, out, 6)) == 0
    msg = capsys.readouterr().out
    skipped = int(msg.split(" already cached")[0].split(", ")[-1])
    assert skipped >= 2
    cache = FeatureCache(out)
    assert len(cache.archs) == 6 and not journal_dir(out).exists()
    reference = tmp_path / "ref.h5"
    assert main(_build_args(macro_labels, reference, 6)) == 0
    for x, y in zip(cache.load(), FeatureCache(reference).load(cache.archs)):
        for fx, fy in zip(x.features, y.features):
            np.testing.assert_array_equal(fx, fy)


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "autogas", *args], capture_output=True, text=True)


BAD_LABELS = {
    "missing": None,
    "not_json": "this is not json",
    "wrong_schema": json.dumps({"segmentsemantic": {}}),
    "unknown_code": json.dumps({"autoencoder": {"(1, 5, 1, 1, 0, 0)": {
        "params": {"score": 1.0}, "flops": {"score": 2.0}}}}),
}


@pytest.mark.parametrize("case", sorted(BAD_LABELS))
def test_bad_labels_exit_2_with_one_line(case, tmp_path):
    labels = tmp_path / "labels.json"
    if BAD_LABELS[case] is not None:
        labels.write_text(BAD_LABELS[case])
    out = tmp_path / "out.h5"
    res = _cli(*_build_args(labels, out, 1))
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1 and res.stderr.startswith("autogas: error:")
    assert "Traceback" not in res.stderr
    assert not out.exists() and not journal_dir(out).exists()


def test_arch_outside_space_and_empty_image_folder(micro_labels, macro_labels, tmp_path):
    out = tmp_path / "out.h5"
    res = _cli("bench", "build", "--space", "macro", "--labels", str(micro_labels), "--out", str(out))
    assert res.returncode == 2 and "macro" in res.stderr and "Traceback" not in res.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    res = _cli(*_build_args(macro_labels, out, 1), "--inputs", str(empty))
    assert res.returncode == 2 and "no images" in res.stderr
    assert not out.exists()


def test_corrupt_and_truncated_cache(macro_labels, tmp_path):
    good = tmp_path / "good.h5"
    assert main(_build_args(macro_labels, good, 1)) == 0
    truncated = tmp_path / "trunc.h5"
    truncated.write_bytes(good.read_bytes()[:4096])
    garbage = tmp_path / "garbage.h5"
    garbage.write_bytes(os.urandom(4096))
    for path in (truncated, garbage, tmp_path / "absent.h5"):
        res = _cli("bench", "info", str(path))
        assert res.returncode == 2 and res.stderr.count("\n") == 1 and "Traceback" not in res.stderr
