"""``autogas bench train``: the known-answer task, labels, the ground-truth cache and its readers.

Tiny settings throughout (2-step training at 32 px, width 4); one 6-arch cache with two training
seeds is built once per module and shared (``autogas evolve`` needs 3 validation + 3 test archs).
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from scipy import ndimage, stats

from autogas.cache import FeatureCache, FeatureCacheWriter, journal_dir
from autogas.cli import main
from autogas.groundtruth.build import (GroundTruthSettings, build_groundtruth, cached_generator,
                                       read_groundtruth_task)
from autogas.groundtruth.task import KnownAnswerTask, materialize, operator_t
from autogas.groundtruth.training import TrainingSettings, known_answer_label
from autogas.search.scorer import open_space
from autogas.train.data import list_images, load_eval_batch

REPO = Path(__file__).resolve().parents[1]
TINY = TrainingSettings(steps=2, resolution=32, hidden=4)
TINY_ARGS = ["--steps", "2", "--resolution", "32", "--hidden", "4"]
SETTINGS = GroundTruthSettings(space="cyclegan", training=TINY, seeds=2, seed=0)
N_ARCHS = 6


def t_by_definition(x: np.ndarray, sigma: float = 1.5, amount: float = 2.0) -> np.ndarray:
    """T of the task's docstring, straight from its words: blur each channel with a Gaussian of
    ``2 ceil(3 sigma) + 1`` taps and reflection padding that does not repeat the edge pixel
    (scipy's 'mirror'), then ``clip(x + amount (x - blur), -1, 1)``. ``x``: N x C x H x W."""
    radius = math.ceil(3 * sigma)
    blur = ndimage.gaussian_filter(x.astype(np.float64), sigma=(0, 0, sigma, sigma), mode="mirror",
                                   truncate=radius / sigma)
    return np.clip(x + amount * (x - blur), -1.0, 1.0)


class DefinitionT(torch.nn.Module):
    """A 'generator' computing T by :func:`t_by_definition` (one dummy parameter for its device)."""

    def __init__(self):
        super().__init__()
        self.anchor = torch.nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return torch.from_numpy(t_by_definition(x.numpy())).float()


class Constant(DefinitionT):
    def forward(self, x):
        return torch.zeros_like(x)


class Identity(DefinitionT):
    def forward(self, x):
        return x


@pytest.fixture(scope="module")
def test_a():
    root = materialize(KnownAnswerTask(32))
    return load_eval_batch(list_images(root / "testA"), 32)


@pytest.fixture(scope="module")
def names():
    from autogas.search.budget import sample_distinct

    space = SETTINGS.open_space()
    return [space.to_string(a) for a in sample_distinct(space, N_ARCHS, np.random.default_rng(0))]


@pytest.fixture(scope="module")
def gt(tmp_path_factory, names):
    """The shared 6-arch ground truth (built through the Python API, one process)."""
    out = tmp_path_factory.mktemp("gt") / "gt.h5"
    summary = build_groundtruth(names, out, SETTINGS, progress=False)
    assert summary["computed"] == N_ARCHS
    return out


def _arch_file(path: Path, archs) -> Path:
    path.write_text("\n".join(archs) + "\n")
    return path


def _same_archs(a: Path, b: Path, archs) -> None:
    """Labels, every per-seed value and the features of ``archs`` are identical in caches a, b."""
    ca, cb = FeatureCache(a), FeatureCache(b)
    keys = [k for k in ca.table.columns if k.startswith(("label", "ssim", "psnr", "g_loss", "d_loss"))]
    assert {"label", "label_seed0", "label_seed1"} <= set(keys)
    for arch in archs:
        assert ca.table.loc[arch, keys].to_dict() == cb.table.loc[arch, keys].to_dict()
        for x, y in zip(ca.features(arch).features, cb.features(arch).features):
            np.testing.assert_array_equal(x, y)


# ---------------------------------------------------------------------------------------------
# the task and the label, against independent definitions


def test_operator_t_matches_its_documented_definition():
    x = torch.rand(2, 3, 24, 20, generator=torch.Generator().manual_seed(0)) * 2 - 1
    np.testing.assert_allclose(operator_t(x).numpy(), t_by_definition(x.numpy()), atol=2e-6)
    flat = torch.full((1, 3, 16, 16), 0.3)
    np.testing.assert_allclose(operator_t(flat).numpy(), 0.3, atol=1e-6)  # blur of a constant: itself


def test_label_of_a_generator_that_outputs_t_is_perfect(test_a):
    exact = known_answer_label(DefinitionT(), test_a)
    assert exact["ssim"] == pytest.approx(1.0, abs=1e-6)
    assert exact["psnr"] > 80  # inf when bit-identical, else float32 rounding only
    ident = known_answer_label(Identity(), test_a)  # x is not T(x): imperfect, but better than grey
    const = known_answer_label(Constant(), test_a)
    assert const["ssim"] < ident["ssim"] < 0.99 and const["psnr"] < ident["psnr"] < exact["psnr"]


def test_materialized_task_folders(test_a):
    task = KnownAnswerTask(32)
    root = materialize(task)
    counts = {s: len(list_images(root / s)) for s in ("trainA", "trainB", "testA", "testB")}
    assert counts == {"trainA": 256, "trainB": 256, "testA": 40, "testB": 40}
    test_b = load_eval_batch(list_images(root / "testB"), 32)
    # testB is T(testA) stored as 8-bit PNG: equal up to one 8-bit step (plus the rounding of testA)
    np.testing.assert_allclose(test_b.numpy(), t_by_definition(test_a.numpy()), atol=7 * 2 / 255)
    assert materialize(task) == root  # written once, reused


# ---------------------------------------------------------------------------------------------
# the cache and its readers


def test_cache_labels_costs_and_noise_ceiling(gt, names, capsys):
    cache = FeatureCache(gt)
    assert cache.archs == names and cache.settings["space"] == "cyclegan"
    table = cache.table
    with h5py.File(gt, "r") as f:  # read the per-seed labels straight from the file
        y0 = np.array([f["archs"][a].attrs["label_seed0"] for a in names])
        y1 = np.array([f["archs"][a].attrs["label_seed1"] for a in names])
    assert np.isfinite(y0).all() and np.isfinite(y1).all() and ((0 < y0) & (y0 < 1)).all()
    np.testing.assert_allclose(table.loc[names, "label"], (y0 + y1) / 2, rtol=0, atol=1e-15)
    np.testing.assert_array_equal(table.loc[names, "ssim_seed1"], y1)
    space = open_space("cyclegan", hidden=4)
    for arch in names[:2]:  # params counted afresh on the rebuilt network, MACs by the space
        model = cached_generator(cache.settings, arch)
        assert sum(p.numel() for p in model.parameters()) == round(table.loc[arch, "params"] * 1e6)
        assert table.loc[arch, "macs"] == space.cost(space.parse(arch), resolution=256).macs
    assert main(["bench", "info", str(gt), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["noise_n"] == N_ARCHS and info["label_n"] == N_ARCHS
    assert info["noise_tau"] == pytest.approx(stats.kendalltau(y0, y1)[0])
    assert info["noise_spearman"] == pytest.approx(stats.spearmanr(y0, y1)[0])
    mean = (y0 + y1) / 2
    assert (info["label_min"], info["label_max"]) == (pytest.approx(mean.min()), pytest.approx(mean.max()))
    assert info["label_std"] == pytest.approx(np.std(mean))
    assert main(["bench", "info", str(gt)]) == 0
    assert "noise_tau" in capsys.readouterr().out


def test_features_follow_rank(gt, names, tmp_path, capsys):
    """`autogas rank` with a graph proxy scores fresh builds; the same proxy on the cached
    features gives the same values (features stored in float16) and the same params/MACs."""
    from autogas.score import score_on_cache

    proxy = str(REPO / "proxies" / "autogas_paper.json")
    archs = _arch_file(tmp_path / "archs.txt", names[:3])
    csv = tmp_path / "r.csv"
    assert main(["rank", "--space", "cyclegan", "--hidden", "4", "--proxy", proxy, "--archs", str(archs),
                 "--out", str(csv), "--device", "cpu"]) == 0
    import pandas as pd

    ranked = pd.read_csv(csv).set_index("arch")
    scored = score_on_cache(proxy, gt, names[:3])
    np.testing.assert_allclose(ranked.loc[scored.archs, "score"], scored.values, rtol=1e-4)
    table = FeatureCache(gt).table.loc[names[:3]]
    np.testing.assert_array_equal(ranked.loc[names[:3], "macs"], table["macs"])
    np.testing.assert_array_equal(ranked.loc[names[:3], "params"], np.round(table["params"] * 1e6))


def test_score_baselines_and_evolve_read_the_cache(gt, tmp_path, capsys):
    bench = tmp_path / "gt.h5"
    bench.write_bytes(gt.read_bytes())  # baselines store values in the file
    assert main(["score", "--proxy", str(REPO / "proxies" / "autogas_evolved.json"), "--bench", str(bench),
                 "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["n"] == N_ARCHS and row["nan"] == 0 and row["kendall"] is not None
    assert main(["baselines", "--bench", str(bench), "--proxies", "nwot,params", "--json"]) == 0
    capsys.readouterr()
    from autogas.baselines.runner import compute_on_cache

    values = compute_on_cache(bench, ["nwot", "params"], progress=False).values  # read back, stored
    cache = FeatureCache(bench)
    assert np.isfinite(values["nwot"]).all()
    for arch in cache.archs[:2]:  # the params baseline counts the rebuilt generator
        model = cached_generator(cache.settings, arch)
        assert values.loc[arch, "params"] == sum(p.numel() for p in model.parameters())
    out = tmp_path / "evolved.json"
    assert main(["evolve", "--bench", str(bench), "--out", str(out), "--population", "4",
                 "--generations", "1", "--topk", "2", "--val-size", "3", "--workers", "1", "--quiet"]) == 0
    assert json.loads(out.read_text())["proxy"]


# ---------------------------------------------------------------------------------------------
# resumable and deterministic


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "autogas", "bench", "train", *args]


def test_resume_after_sigkill_equals_uninterrupted_run(gt, names, tmp_path):
    archs = _arch_file(tmp_path / "archs.txt", names[:3])
    out, log = tmp_path / "killed.h5", tmp_path / "progress.log"
    cmd = _cli("--space", "cyclegan", "--archs", str(archs), *TINY_ARGS, "--seeds", "2",
               "--device", "cpu", "--out", str(out))
    with open(log, "w") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, cwd=tmp_path)
        deadline = time.monotonic() + 240
        while "1/3" not in log.read_text() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, log.read_text()[-500:]
    stored = FeatureCache(out).archs
    assert 1 <= len(stored) < 3 and stored == names[:len(stored)]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-500:]
    assert f"{3 - len(stored)} archs trained, {len(stored)} already there" in done.stdout
    assert FeatureCache(out).archs == names[:3] and not journal_dir(out).exists()
    _same_archs(out, gt, names[:3])


def test_two_workers_equal_one(gt, names, tmp_path):
    out = tmp_path / "w2.h5"
    summary = build_groundtruth(names[3:5], out, SETTINGS, workers=2, progress=False)
    assert summary["computed"] == 2
    _same_archs(out, gt, names[3:5])


def test_local_dask_cluster_equals_serial(gt, names, tmp_path):
    distributed = pytest.importorskip("distributed")
    out = tmp_path / "dask.h5"
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        summary = build_groundtruth(names[5:], out, SETTINGS, scheduler=cluster.scheduler_address,
                                    progress=False)
    assert summary["computed"] == 1
    _same_archs(out, gt, names[5:])


# ---------------------------------------------------------------------------------------------
# bad input: one line, exit 2, nothing written


def _fails(capsys, args, out: Path, before: bytes | None = None) -> str:
    assert main(["bench", "train", *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("autogas: error: ") and err.count("\n") == 1, err
    if before is None:
        assert not out.exists() and not journal_dir(out).exists()
    else:
        assert hashlib.sha1(out.read_bytes()).digest() == hashlib.sha1(before).digest()
    return err


def test_bad_inputs(gt, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("AUTOGAS_INCEPTION_WEIGHTS", raising=False)
    out = tmp_path / "bad.h5"
    common = [*TINY_ARGS, "--device", "cpu"]
    assert "unknown search space" in _fails(capsys, ["--space", "stylegan", "--n", "2", *common], out)
    assert "unknown task" in _fails(capsys, ["--space", "cyclegan", "--n", "2", "--task", "blur", *common], out)
    assert "at least 2" in _fails(capsys, ["--space", "cyclegan", "--n", "1", *common], out)
    assert "budget" in _fails(capsys, ["--space", "gan-compression", "--n", "3", "--max-params", "1K",
                                       "--steps", "2", "--resolution", "32"], out)
    weights = tmp_path / "inception.pth"
    weights.write_bytes(b"not used: the data are checked first")
    empty = tmp_path / "empty"
    empty.mkdir()
    data = ["--space", "cyclegan", "--n", "2", *common, "--inception-weights", str(weights)]
    _fails(capsys, [*data, "--data", str(empty)], out)
    broken = tmp_path / "broken"
    for split in ("trainA", "trainB", "testA", "testB"):
        (broken / split).mkdir(parents=True)
        for i in range(2):
            (broken / split / f"{i}.png").write_bytes(b"\x89PNG not really")
    assert "cannot read image" in _fails(capsys, [*data, "--data", str(broken)], out)
    assert "Inception" in _fails(capsys, ["--space", "cyclegan", "--n", "2", *common,
                                          "--data", str(broken)], out)
    # an existing --out: a TransNAS cache, or a ground truth of other settings, is left as it was
    transnas = tmp_path / "transnas.h5"
    FeatureCacheWriter(transnas, {"space": "macro", "task": "autoencoder", "seed": 0, "batch": 2,
                                  "resolution": 32, "inputs": "images", "max_dims": 64,
                                  "train_mode": True}, np.zeros((2, 3, 32, 32), np.float32))
    before = transnas.read_bytes()
    assert "not a ground truth" in _fails(capsys, ["--space", "cyclegan", "--n", "2", *common], transnas,
                                          before)
    other = tmp_path / "other.h5"
    other.write_bytes(gt.read_bytes())
    before = other.read_bytes()
    args = ["--space", "cyclegan", "--n", "2", "--steps", "3", "--resolution", "32", "--hidden", "4",
            "--seeds", "2", "--device", "cpu"]
    assert "other settings" in _fails(capsys, args, other, before)


# ---------------------------------------------------------------------------------------------
# merging caches (a build with some archs at two seeds and the rest at one writes two caches)


def test_merge_keeps_every_arch_label_and_feature(gt, names, tmp_path, capsys):
    one_seed = tmp_path / "one.h5"
    extra = [a for a in _more_names(8) if a not in names][:2]
    build_groundtruth(extra, one_seed, GroundTruthSettings(space="cyclegan", training=TINY, seeds=1, seed=0),
                      progress=False)
    merged = tmp_path / "merged.h5"
    assert main(["bench", "merge", str(gt), str(one_seed), "--out", str(merged)]) == 0
    assert f"{N_ARCHS + 2} archs from 2 caches" in capsys.readouterr().out
    cache = FeatureCache(merged)
    assert cache.archs == names + extra
    _same_archs(merged, gt, names)
    source = FeatureCache(one_seed)
    for arch in extra:
        assert cache.table.loc[arch, "label"] == source.table.loc[arch, "label"]
        assert math.isnan(cache.table.loc[arch, "label_seed1"])
        for x, y in zip(cache.features(arch).features, source.features(arch).features):
            np.testing.assert_array_equal(x, y)
    assert read_groundtruth_task(cache.settings["task"])["seeds"] == [1, 2]
    assert cached_generator(cache.settings, extra[0]) is not None  # baselines can rebuild its networks
    assert main(["bench", "info", str(merged), "--check", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["archs"] == N_ARCHS + 2
    assert main(["score", "--proxy", "slogdet(ksum(gram(F)))", "--bench", str(merged)]) == 0


def test_merge_refuses_other_settings_duplicates_and_an_existing_out(gt, names, tmp_path, capsys):
    other = tmp_path / "other.h5"
    wider = GroundTruthSettings(space="cyclegan", training=TrainingSettings(steps=2, resolution=32, hidden=8),
                                seeds=1, seed=0)
    build_groundtruth([names[0]], other, wider, progress=False)
    for args, message in [([str(gt), str(other)], "other settings"),
                          ([str(gt), str(gt)], f"arch {names[0]} is in both"),
                          ([str(tmp_path / "absent.h5")], "no such cache file")]:
        out = tmp_path / "m.h5"
        assert main(["bench", "merge", *args, "--out", str(out)]) == 2
        assert message in capsys.readouterr().err
        assert not out.exists() and not list(tmp_path.glob(".m.h5*"))
    existing = tmp_path / "exists.h5"
    existing.write_bytes(b"keep")
    assert main(["bench", "merge", str(gt), "--out", str(existing)]) == 2
    assert "exists" in capsys.readouterr().err and existing.read_bytes() == b"keep"


def _more_names(n: int) -> list[str]:
    from autogas.search.budget import sample_distinct

    space = SETTINGS.open_space()
    return [space.to_string(a) for a in sample_distinct(space, n, np.random.default_rng(1))]


def test_label_quality_split_half_ceiling_with_four_seeds():
    """Hand-made labels: with 4 seeds the split-half ceiling compares the mean of seeds 0-1 with
    the mean of seeds 2-3 (here the two halves rank 4 archs identically except one swap)."""
    import pandas as pd
    from autogas.groundtruth.quality import label_quality

    table = pd.DataFrame({"label_seed0": [0.1, 0.2, 0.3, 0.4], "label_seed1": [0.1, 0.2, 0.3, 0.4],
                          "label_seed2": [0.2, 0.1, 0.3, 0.4], "label_seed3": [0.2, 0.1, 0.3, 0.4]})
    table["label"] = table.mean(axis=1)
    q = label_quality(table)
    assert (q["half_k"], q["half_n"]) == (2, 4)
    assert q["half_tau"] == pytest.approx(4 / 6)  # 5 concordant pairs, 1 discordant, of 6
    assert q["noise_tau"] == pytest.approx(1.0)
    assert "half_tau" not in label_quality(table.drop(columns=["label_seed2", "label_seed3"]))
    table.loc[0, "label_seed3"] = np.nan  # an arch missing one seed leaves the split-half
    assert label_quality(table)["half_n"] == 3
