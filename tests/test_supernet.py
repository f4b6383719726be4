"""CycleGANAS differentiable search (autogas.supernet, ``autogas search --method cycleganas``).

Tiny settings throughout (supernet width 4-8, 3 generator cells, 32x32 crops, 4 images per
domain, 1-2 epochs, one torch thread). Oracles: shapes from the op definitions (stride-2
encoding halves, residual keeps, decoding doubles), one-hot mixing weights select exactly one
candidate, hand-chosen argmax patterns, hand counts of steps and halves, the temperature's
closed form, and a real SIGKILL of a search subprocess compared with an uninterrupted one.
"""
from __future__ import annotations

import csv
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from autogas.cli import main
from autogas.errors import AutogasError
from autogas.spaces.cyclegan import OP_TABLES, CycleGanSpace
from autogas.supernet import Mixer, MixedOp, SupernetSettings, build_supernet, run_search, temperature
from autogas.supernet.data import halve, open_search_data
from autogas.supernet.search import CHECKPOINT_FILE, SupernetSearch
from autogas.supernet.variants import data_roles
from autogas.torchfile import load_torch_file
from autogas.train.data import UnpairedFolders
from conftest import REPO, make_unpaired_dataset

TINY = {"epochs": 2, "search_hidden": 4, "hidden": 8, "n_cells": 3, "resolution": 32}
TINY_CLI = ["--search-hidden", "4", "--hidden", "8", "--n-cells", "3", "--resolution", "32",
            "--device", "cpu", "--no-progress"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return make_unpaired_dataset(tmp_path_factory.mktemp("unpaired"),
                                 {"trainA": 4, "trainB": 4, "testA": 2, "testB": 2}, 40)


# --- mixed ops ------------------------------------------------------------------------------
@pytest.mark.parametrize("cell_type, side", [("encoding", 8), ("residual", 16), ("decoding", 32)])
def test_mixed_op_keeps_the_op_shape_and_one_hot_alpha_selects_one_op(one_thread, cell_type, side):
    torch.manual_seed(0)
    x = torch.randn(2, 8, 16, 16)
    mixed = MixedOp(cell_type, 8, 12, Mixer("softmax"))
    assert len(mixed.candidates) == {"encoding": 8, "residual": 5, "decoding": 3}[cell_type]  # paper 3.2
    with torch.no_grad():
        out = mixed(x)
        assert out.shape == (2, 12, side, side)
        for k, op in enumerate(mixed.candidates):
            assert op(x).shape == out.shape
            mixed.alpha.fill_(-math.inf)
            mixed.alpha[k] = 0.0  # softmax = one-hot at k: the mix is op k alone
            torch.testing.assert_close(mixed(x), op(x), rtol=0, atol=0)


def test_gumbel_mixing_is_random_but_seeded_and_sums_to_one():
    alpha = torch.tensor([0.3, -0.2, 0.0, 0.1, 0.05])
    first, again = Mixer("gumbel", seed=3, tau=1.0), Mixer("gumbel", seed=3, tau=1.0)
    draws = [first.weights(alpha) for _ in range(3)]
    assert all(torch.equal(w, again.weights(alpha)) for w in draws)
    assert not torch.equal(draws[0], draws[1])
    for w in draws:
        assert torch.all(w > 0) and abs(float(w.sum()) - 1.0) < 1e-6
    cold = Mixer("gumbel", seed=3, tau=1e-3).weights(alpha)  # tau -> 0: a one-hot draw
    assert float(cold.max()) > 0.999
    with pytest.raises(AutogasError):
        Mixer("sparsemax")


def test_temperature_anneals_geometrically_from_5_to_0_1():
    assert temperature(1, 3) == pytest.approx(5.0)
    assert temperature(2, 3) == pytest.approx(math.sqrt(5.0 * 0.1))
    assert temperature(3, 3) == pytest.approx(0.1)
    assert temperature(1, 1) == pytest.approx(5.0)


@pytest.mark.parametrize("mixing", ["softmax", "gumbel"])
@pytest.mark.parametrize("part", ["generator", "discriminator"])
def test_every_alpha_receives_a_gradient(one_thread, mixing, part):
    space = CycleGanSpace(part, 3 if part == "generator" else None, hidden=8)
    net = build_supernet(space, 8, Mixer(mixing, seed=1, tau=1.0), seed=1)
    net(torch.randn(1, 3, 32, 32)).square().mean().backward()
    alphas = net.arch_parameters()
    assert len(alphas) == 2 * len(space.cell_types)
    for alpha in alphas:
        assert alpha.grad is not None and torch.isfinite(alpha.grad).all() and alpha.grad.abs().sum() > 0
    assert {id(p) for p in alphas}.isdisjoint(id(p) for p in net.weight_parameters())


@pytest.mark.parametrize("part, n_cells", [("generator", 4), ("discriminator", None)])
def test_argmax_derivation_is_a_valid_arch_of_the_space(one_thread, part, n_cells):
    space = CycleGanSpace(part, n_cells, hidden=8)
    net = build_supernet(space, 8, Mixer("softmax"))
    sizes = [len(slot.op_names) for slot in net.slots()]
    assert sizes == ([8, 8, 5, 5, 5, 5, 3, 3] if part == "generator" else [8, 8, 8, 8])
    with torch.no_grad():
        for slot in net.slots():
            slot.alpha.zero_()
    assert net.derive() == (0,) * len(sizes)  # ties go to the first op
    wanted = tuple((3 * i + 2) % size for i, size in enumerate(sizes))
    with torch.no_grad():
        for slot, k in zip(net.slots(), wanted):
            slot.alpha[k] = 0.5
    arch = net.derive()
    assert arch == wanted
    assert space.parse(space.to_string(arch)) == arch
    out = space.build(arch, hidden=8)(torch.randn(1, 3, 32, 32))
    assert out.shape == ((1, 3, 32, 32) if part == "generator" else (1, 1, 1, 1))


# --- data roles and variants ------------------------------------------------------------------
def test_halves_partition_each_domain_and_ths_swaps_after_half_the_epochs(tmp_path):
    root = make_unpaired_dataset(tmp_path, {"trainA": 5, "trainB": 4}, 8)
    folders = UnpairedFolders.open(root)
    first, second = halve(folders, seed=0)
    for files, a, b in ((folders.train_a, first.train_a, second.train_a),
                        (folders.train_b, first.train_b, second.train_b)):
        assert set(a).isdisjoint(b) and sorted(a + b) == sorted(files)
    assert (len(first.train_a), len(second.train_a), len(first.train_b), len(second.train_b)) == (2, 3, 2, 2)
    assert data_roles("of", folders, seed=0, epoch=1, epochs=4) == (folders, None)
    assert data_roles("tf", folders, seed=0, epoch=1, epochs=4) == (folders, folders)
    for epoch in range(1, 5):
        assert data_roles("th", folders, seed=0, epoch=epoch, epochs=4) == (first, second)
        swapped = epoch > 2  # the paper swaps at epoch 200 of 400
        assert data_roles("ths", folders, seed=0, epoch=epoch, epochs=4) == ((second, first) if swapped
                                                                            else (first, second))
    with pytest.raises(AutogasError):
        halve(UnpairedFolders(root, folders.train_a[:1], folders.train_b), seed=0)


@pytest.mark.parametrize("variant, steps", [("of", 4), ("tf", 4), ("th", 2), ("ths", 2)])
def test_each_variant_runs_an_epoch_that_moves_alpha_and_weights(one_thread, tmp_path, dataset, variant, steps):
    settings = SupernetSettings(variant=variant, **TINY)
    search = SupernetSearch.create(settings, tmp_path / "run", data=str(dataset), device="cpu")
    alphas = {role: [a.detach().clone() for a in net.arch_parameters()] for role, net in search.nets.items()}
    weights = {role: [w.detach().clone() for w in net.weight_parameters()] for role, net in search.nets.items()}
    record = search.run_epoch(progress=False)
    assert record["epoch"] == 1 and record["steps"] == steps  # max(|A|, |B|) = 4 images, halves of 2
    assert all(math.isfinite(v) for v in record["losses"].values())
    for role, net in search.nets.items():
        assert all(not torch.equal(a, b) for a, b in zip(alphas[role], net.arch_parameters())), role
        assert any(not torch.equal(a, b) for a, b in zip(weights[role], net.weight_parameters())), role
    assert (tmp_path / "run" / CHECKPOINT_FILE).is_file()


def test_two_step_variants_keep_alpha_out_of_the_weight_optimizer(tmp_path, dataset):
    search = SupernetSearch.create(SupernetSettings(variant="th", **TINY), tmp_path / "run", data=str(dataset),
                                   device="cpu")
    for role_group, (weights_opt, alpha_opt) in zip(("G", "D"), zip(*search.optimizers.values())):
        nets = [net for role, net in search.nets.items() if role[0] == role_group]
        held_w = {id(p) for g in weights_opt.param_groups for p in g["params"]}
        held_a = {id(p) for g in alpha_opt.param_groups for p in g["params"]}
        assert held_a == {id(p) for net in nets for p in net.arch_parameters()}
        assert held_w == {id(p) for net in nets for p in net.weight_parameters()}


# --- the command: resume, report, retraining, errors ---------------------------------------------
def _cli(dataset: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "autogas", "search", "--method", "cycleganas", "--data", str(dataset),
            "--epochs", "2", "--mixing", "gumbel", "--seed", "1", *TINY_CLI, "--out", str(out), *extra]


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}


def _comparable(report: dict) -> dict:
    """The report without wall-clock time and the run folder's name."""
    report = json.loads(json.dumps(report))
    report.pop("search_seconds")
    report["settings"].pop("run_dir")
    return report


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, dataset) -> Path:
    out = tmp_path_factory.mktemp("search") / "best.json"
    done = subprocess.run(_cli(dataset, out), env=_env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return out


def test_resume_after_sigkill_equals_an_uninterrupted_run(tmp_path, dataset, uninterrupted):
    out = tmp_path / "best.json"
    run_dir = Path(f"{out}.run")
    proc = subprocess.Popen(_cli(dataset, out), env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while not (run_dir / "epochs.csv").exists():  # written right after epoch 1's checkpoint
            assert proc.poll() is None and time.monotonic() < deadline, "search ended before epoch 1 was seen"
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert load_torch_file(run_dir / CHECKPOINT_FILE, what="test")["epoch"] == 1 and not out.exists()

    done = subprocess.run(_cli(dataset, out, "--resume"), env=_env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    reference_dir = Path(f"{uninterrupted}.run")
    assert (run_dir / "alphas.csv").read_text() == (reference_dir / "alphas.csv").read_text()
    resumed, reference = (json.loads(p.read_text()) for p in (out, uninterrupted))
    assert _comparable(resumed) == _comparable(reference)
    assert resumed["settings"]["epochs_done"] == 2 and len(resumed["networks"]["G_A"]["history"]) == 2
    states = [load_torch_file(d / CHECKPOINT_FILE, what="test") for d in (run_dir, reference_dir)]
    for role in ("G_A", "G_B", "D_A", "D_B"):
        for name, tensor in states[0]["nets"][role].items():
            assert torch.equal(tensor, states[1]["nets"][role][name]), (role, name)
    assert torch.equal(states[0]["mixer"]["generator"], states[1]["mixer"]["generator"])


def test_report_has_the_training_free_format_and_trains(one_thread, tmp_path, dataset, uninterrupted, capsys):
    report = json.loads(uninterrupted.read_text())
    run_dir = Path(f"{uninterrupted}.run")
    with open(run_dir / "epochs.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["epoch"] for r in rows] == ["1", "2"]
    assert [float(r["tau"]) for r in rows] == [pytest.approx(5.0), pytest.approx(0.1)]
    assert [h["arch"] for h in report["networks"]["G_A"]["history"]] == [r["G_A"] for r in rows]
    with open(run_dir / "alphas.csv", newline="") as fh:
        probabilities = list(csv.DictReader(fh))
    # per epoch: G slots 8+8+5+5+3+3 ops, D slots 4 x 8 ops, for two of each
    assert len(probabilities) == 2 * (2 * 32 + 2 * 32)
    assert (run_dir / "alphas.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # the training-free search's report on the same space: same keys at both levels
    assert main(["search", "--space", "cyclegan", "--n-cells", "3", "--hidden", "8", "--resolution", "32",
                 "--batch", "2", "--population", "2", "--generations", "1", "--proxy", "nwot",
                 "--budget-macs", "100", "--d-budget-macs", "100", "--out", str(tmp_path / "proxy.json")]) == 0
    proxy_report = json.loads((tmp_path / "proxy.json").read_text())
    assert set(proxy_report) <= set(report)
    for role in ("G_A", "G_B", "D_A", "D_B"):
        assert set(proxy_report["networks"][role]) <= set(report["networks"][role])
        space = CycleGanSpace("generator" if role[0] == "G" else "discriminator",
                              3 if role[0] == "G" else None)
        assert space.to_string(space.from_json(report["networks"][role]["json"])) == report["networks"][role]["arch"]

    best = str(uninterrupted)
    capsys.readouterr()
    assert main(["train", "--data", str(dataset), "--out", str(tmp_path / "train"), "--arch-a", best,
                 "--arch-b", best, "--disc-a", best, "--disc-b", best, "--epochs", "1", "--decay-epochs", "0",
                 "--resolution", "32", "--no-progress"]) == 0
    trained = json.loads((tmp_path / "train" / "config.json").read_text())["networks"]
    for role, net in report["networks"].items():
        assert trained[role]["arch"] == net["network"]
        assert trained[role]["params"] == net["params"]  # rebuilt at the report's H = 8


def test_default_data_is_the_known_answer_task():
    from autogas.groundtruth.task import KnownAnswerTask

    data = open_search_data(resolution=32)
    assert data.source == "task unsharp"
    assert len(data.folders.train_a) == len(data.folders.train_b) == KnownAnswerTask(32).train_count


def test_resume_refuses_other_settings(tmp_path, dataset):
    SupernetSearch.create(SupernetSettings(**TINY), tmp_path / "run", data=str(dataset), device="cpu")
    with pytest.raises(AutogasError, match="epochs"):
        run_search(None, tmp_path / "run", resume=True, expect={"epochs": 3}, progress=False)


@pytest.mark.parametrize("case", ["variant", "epochs", "empty", "both sources", "no run", "proxy option",
                                  "method", "existing run"])
def test_bad_inputs_are_one_line_errors(tmp_path, dataset, capsys, case):
    empty = tmp_path / "empty"
    (empty / "trainA").mkdir(parents=True)
    (empty / "trainB").mkdir()
    (tmp_path / "taken.json.run").mkdir()
    (tmp_path / "taken.json.run" / "config.json").write_text("{}")
    base = ["search", "--method", "cycleganas", *TINY_CLI, "--out", str(tmp_path / "best.json")]
    data = ["--data", str(dataset)]
    argv = {
        "variant": base + data + ["--variant", "of2"],
        "epochs": base + data + ["--epochs", "0"],
        "empty": base + ["--data", str(empty)],
        "both sources": base + data + ["--task", "unsharp"],
        "no run": base + data + ["--resume"],
        "proxy option": base + data + ["--proxy", "nwot"],
        "method": ["search", "--method", "darts", "--out", str(tmp_path / "best.json")],
        "existing run": ["search", "--method", "cycleganas", *TINY_CLI, *data, "--out", str(tmp_path / "taken.json")],
    }[case]
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("autogas: error:"), err
    assert not (tmp_path / "best.json").exists()


def test_pipeline_runs_the_cycleganas_search_then_trains_its_networks(one_thread, tmp_path, dataset, capsys):
    argv = ["pipeline", "--method", "cycleganas", "--data", str(dataset), "--out", str(tmp_path / "run"),
            "--search-epochs", "1", "--search-hidden", "4", "--hidden", "8", "--n-cells", "3",
            "--search-resolution", "32", "--resolution", "32", "--epochs", "1", "--decay-epochs", "0",
            "--skip-eval", "--no-progress"]
    assert main(argv) == 0
    report = json.loads((tmp_path / "run" / "search.json").read_text())
    assert report["method"] == "cycleganas" and report["settings"]["epochs_done"] == 1
    trained = json.loads((tmp_path / "run" / "train" / "config.json").read_text())["networks"]
    assert {role: net["arch"] for role, net in trained.items()} == {
        role: net["network"] for role, net in report["networks"].items()}
    assert "CycleGANAS differentiable search (of, softmax mixing)" in (tmp_path / "run" / "report.md").read_text()
    capsys.readouterr()
    assert main(argv) == 0  # a rerun skips the finished stages
    assert "search: skipped (complete)" in capsys.readouterr().out
    for extra in (["--budget-macs", "1"], ["--variant", "xx"]):
        assert main(["pipeline", "--method", "cycleganas", "--data", str(dataset), "--out", str(tmp_path / "other"),
                     "--skip-eval", *extra]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("autogas: error:"), err
    assert main(["pipeline", "--data", str(dataset), "--out", str(tmp_path / "other"), "--space", "cyclegan",
                 "--budget-macs", "1", "--skip-eval"]) == 2  # --method proxy without --proxy
    assert capsys.readouterr().err.startswith("autogas: error: --method proxy needs")
