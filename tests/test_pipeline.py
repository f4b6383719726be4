"""autogas pipeline: a tiny search -> train -> evaluate run, its report, skipping, resuming, errors."""
import dataclasses
import json
import typing
from pathlib import Path

import numpy as np
import pytest
from conftest import make_unpaired_dataset
import torch
from PIL import Image

from autogas.measure.seeds import init_seed
from autogas.cli import main
from autogas.errors import AutogasError
from autogas.measure.features import collect_features
from autogas.measure.inputs import input_batch
from autogas.pipeline.run import PipelineSettings, run_pipeline
from autogas.proxy import ProxyGraph, evaluate_proxy
from autogas.pipeline.report import epoch_means
from autogas.search.cyclegan import NetworkSearchSettings
from autogas.search.genetic import ArchSearchSettings
from autogas.search.scorer import open_space
from autogas.train.data import read_rgb
from autogas.train.evaluate import EvalSettings
from autogas.train.metrics import INCEPTION_ENV, fid_from_features
from autogas.train.trainer import CycleGanTrainer, TrainRecipe, read_loss_log

PAPER = "square(slogdet(ksum(gram(above_mean(swish(F))))))"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    """Four 64x64 images per folder: reddish domain A, bluish domain B."""
    return make_unpaired_dataset(tmp_path_factory.mktemp("tiny_unpaired"),
                                 {"trainA": 4, "trainB": 4, "testA": 4, "testB": 4}, size=64)


def colour_stats(batch: torch.Tensor) -> torch.Tensor:
    """A small injected feature extractor (Inception's weights are not on this machine)."""
    x = batch.float() / 255
    return torch.cat([x.mean(dim=(2, 3)), x.std(dim=(2, 3))], 1)


def tiny_settings(data: Path, **changes) -> PipelineSettings:
    settings = PipelineSettings(
        data=str(data),
        search=NetworkSearchSettings("cyclegan", PAPER, budget_macs=0.06e9, d_budget_params=5000,
                                     evolution=ArchSearchSettings(population=4, generations=1), hidden=8,
                                     n_cells=3, resolution=32, batch=2),
        train=TrainRecipe(epochs=1, decay_epochs=0, resolution=64),
        evaluation=EvalSettings(batch_size=4, kid_subsets=5))
    return dataclasses.replace(settings, **changes)


def stage_mtimes(run: Path) -> dict[str, int]:
    files = ("search.json", "pipeline.json", "train/checkpoint.pt", "train/losses.csv", "eval/metrics.json")
    return {name: (run / name).stat().st_mtime_ns for name in files}


def test_tiny_pipeline_end_to_end_report_and_rerun(dataset, tmp_path):
    run = tmp_path / "run"
    settings = tiny_settings(dataset)
    lines: list[str] = []
    result = run_pipeline(settings, run, extractor=colour_stats, device="cpu", progress=False, log=lines.append)
    assert result.stages == {"search": "ran", "train": "ran (epochs 1..1)", "evaluate": "ran"}

    # search: within budget, G_A scored on the dataset's trainA images (the default proxy input)
    search = json.loads((run / "search.json").read_text())
    assert search == result.search and search["hidden"] == 8
    nets = search["networks"]
    assert all(nets[r]["macs"] <= 0.06e9 for r in ("G_A", "G_B"))
    assert all(nets[r]["params"] <= 5000 for r in ("D_A", "D_B"))
    gen = open_space("cyclegan", n_cells=3, hidden=8)
    arch = nets["G_A"]["arch"]
    model = gen.build(gen.parse(arch), seed=init_seed(0, arch)).train()
    features = collect_features(model, input_batch(str(dataset / "trainA"), 2, 32, 0), max_dims=512, seed=0)
    assert nets["G_A"]["score"] == evaluate_proxy(ProxyGraph.parse(PAPER), [features]).values[0]

    # training: the four searched networks at H = 8, one epoch of max(4, 4) steps
    config = json.loads((run / "train" / "config.json").read_text())["config"]
    assert [config[k] for k in ("arch_a", "arch_b", "disc_a", "disc_b")] == [
        nets[r]["network"] for r in ("G_A", "G_B", "D_A", "D_B")]
    assert config["hidden"] == config["ndf"] == 8 and config["resolution"] == 64
    rows = read_loss_log(run / "train" / "losses.csv")
    assert [(r["epoch"], r["step"]) for r in rows] == [(1, 1), (1, 2), (1, 3), (1, 4)]

    # evaluation: the trained G_A's translations of testA against testB, with the injected features
    a_to_b = result.evaluation["A_to_B"]
    assert a_to_b["arch"] == nets["G_A"]["network"] and a_to_b["n_fake"] == a_to_b["n_real"] == 4

    def feats(paths):
        return np.stack([colour_stats(torch.from_numpy(np.array(read_rgb(p))).permute(2, 0, 1)[None])[0].numpy()
                         for p in paths])

    fakes = sorted((run / "eval" / "testA_to_B").glob("*.png"))
    assert a_to_b["fid"] == pytest.approx(
        fid_from_features(feats(fakes), feats(sorted((dataset / "testB").glob("*.png")))), rel=1e-4)

    # report: candidates, chosen architectures, curves, final scores
    report = (run / "report.md").read_text()
    for role in ("G_A", "G_B", "D_A", "D_B"):
        assert f"`{nets[role]['network']}`" in report  # chosen (as trained)
        assert all(f"`{c['arch']}`" in report for c in nets[role]["top"])  # candidates
    assert f"| {a_to_b['fid']:.4g} |" in report and f"{result.evaluation['B_to_A']['fid']:.4g}" in report
    assert "![training losses](curves.png)" in report and "skipped" not in report
    g_total = np.mean([r["g_total"] for r in rows])
    assert epoch_means(rows, ["g_total"]) == {1: {"g_total": pytest.approx(g_total)}}
    assert f"| {g_total:.4g} |" in report
    png = (run / "curves.png").read_bytes()
    assert png.startswith(PNG_SIGNATURE) and Image.open(run / "curves.png").size == (1000, 400)
    assert any(line.startswith("search: G_A: ") for line in lines)

    # a rerun skips every completed stage (nothing rewritten) and regenerates the report
    before = stage_mtimes(run)
    again = run_pipeline(settings, run, extractor=colour_stats, device="cpu", progress=False)
    assert again.stages == {"search": "skipped (complete)", "train": "skipped (complete at epoch 1)",
                            "evaluate": "skipped (complete)"}
    assert stage_mtimes(run) == before and again.evaluation == result.evaluation
    assert "| search | skipped (complete) |" in (run / "report.md").read_text()

    # a rerun with other settings is refused before anything runs
    with pytest.raises(AutogasError, match="started with train.epochs=1, not 2"):
        run_pipeline(dataclasses.replace(settings, train=dataclasses.replace(settings.train, epochs=2)), run,
                     extractor=colour_stats, device="cpu")
    assert stage_mtimes(run) == before


def test_cli_interrupted_training_resumes_and_skip_eval_is_reported(dataset, tmp_path, monkeypatch, capsys):
    run = tmp_path / "run"
    argv = ["pipeline", "--data", str(dataset), "--out", str(run), "--space", "cyclegan", "--proxy", PAPER,
            "--budget-macs", "60M", "--population", "2", "--generations", "0", "--hidden", "8", "--n-cells", "3",
            "--search-resolution", "32", "--search-batch", "2", "--epochs", "1", "--decay-epochs", "1",
            "--resolution", "32", "--device", "cpu", "--skip-eval", "--no-progress"]
    monkeypatch.delenv(INCEPTION_ENV, raising=False)
    fit = CycleGanTrainer.fit

    def fit_one_epoch_then_interrupt(self, until_epoch=None, *, progress=True):
        fit(self, 1, progress=progress)
        raise KeyboardInterrupt

    monkeypatch.setattr(CycleGanTrainer, "fit", fit_one_epoch_then_interrupt)
    assert main(argv) == 130
    assert torch.load(run / "train" / "checkpoint.pt", weights_only=True)["epoch"] == 1
    monkeypatch.setattr(CycleGanTrainer, "fit", fit)
    search_mtime = (run / "search.json").stat().st_mtime_ns
    capsys.readouterr()

    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "search: skipped (complete)" in out and "train: resumed from epoch 1, trained to epoch 2" in out
    assert (run / "search.json").stat().st_mtime_ns == search_mtime
    epochs = [r["epoch"] for r in read_loss_log(run / "train" / "losses.csv")]
    assert epochs == [1] * 4 + [2] * 4
    assert not (run / "eval").exists()
    report = (run / "report.md").read_text()
    assert "Evaluation was skipped (`--skip-eval`)" in report and "trained to epoch 2" in report
    assert (run / "curves.png").read_bytes().startswith(PNG_SIGNATURE)


@pytest.mark.parametrize("case", ["no inception weights", "missing test folder", "impossible budget"])
def test_cli_bad_input_is_one_line_exit_2_and_nothing_is_written(case, dataset, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(INCEPTION_ENV, raising=False)
    run = tmp_path / "run"
    data = dataset
    if case == "missing test folder":
        data = tmp_path / "no_tests"
        for split in ("trainA", "trainB"):
            (data / split).mkdir(parents=True)
            (data / split / "0.png").write_bytes((dataset / split / "0.png").read_bytes())
    budget, extra = ("0.001", ["--skip-eval"]) if case == "impossible budget" else ("60M", [])
    argv = ["pipeline", "--data", str(data), "--out", str(run), "--space", "cyclegan", "--proxy", PAPER,
            "--budget-macs", budget, "--hidden", "8", "--n-cells", "3", "--device", "cpu", "--no-progress"]
    assert main([*argv, *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("autogas: error: "), err
    expected = {"no inception weights": "--inception-weights PATH", "missing test folder": "testA",
                "impossible budget": "no cyclegan architecture meets the budget"}[case]
    assert expected in err[0]
    assert not run.exists()


# --- settings: composed, recorded, and the flat records of older runs ----------------------------
# pipeline.json records written by the flat PipelineSettings (commit 9dc8b0d) for TINY_CLI below
# (proxy) and for TINY_CLI_CYCLEGANAS; only the dataset path is replaced by DATA.
FLAT_PROXY_RECORD = {
    "data": "DATA", "proxy": "square(slogdet(ksum(gram(above_mean(swish(F))))))", "space": "cyclegan",
    "budget_macs": 60000000.0, "budget_params": None, "d_budget_macs": None, "d_budget_params": None,
    "cost_resolution": 256, "population": 2, "generations": 0, "mutation_rate": 0.2, "hidden": 8, "n_cells": 3,
    "config_set": None, "images_a": "DATA/trainA", "images_b": "DATA/trainB", "search_resolution": 32,
    "search_batch": 2, "epochs": 1, "decay_epochs": 0, "resolution": 32, "batch": 1, "seed": 0, "eval_batch": 8,
    "kid_subsets": 100, "kid_subset_size": 1000}
FLAT_CYCLEGANAS_RECORD = {
    "data": "DATA", "proxy": None, "space": "cyclegan", "budget_macs": None, "budget_params": None,
    "d_budget_macs": None, "d_budget_params": None, "cost_resolution": 256, "population": 32, "generations": 16,
    "mutation_rate": 0.2, "hidden": 8, "n_cells": 3, "config_set": None, "images_a": "DATA/trainA",
    "images_b": "DATA/trainB", "search_resolution": 32, "search_batch": 8, "epochs": 1, "decay_epochs": 0,
    "resolution": 32, "batch": 1, "seed": 0, "eval_batch": 8, "kid_subsets": 100, "kid_subset_size": 1000,
    "method": "cycleganas", "search_epochs": 1, "variant": "of", "search_hidden": 4, "mixing": "softmax"}
TINY_CLI = ["--space", "cyclegan", "--proxy", PAPER, "--budget-macs", "60M", "--population", "2", "--generations", "0",
            "--hidden", "8", "--n-cells", "3", "--search-resolution", "32", "--search-batch", "2", "--epochs", "1",
            "--decay-epochs", "0", "--resolution", "32", "--device", "cpu", "--skip-eval", "--no-progress"]
TINY_CLI_CYCLEGANAS = ["--method", "cycleganas", "--search-epochs", "1", "--search-hidden", "4", "--hidden", "8",
                       "--n-cells", "3", "--search-resolution", "32", "--resolution", "32", "--epochs", "1",
                       "--decay-epochs", "0", "--skip-eval", "--no-progress", "--device", "cpu"]


def with_data(flat: dict, data: Path) -> dict:
    return {key: str(data.resolve()) + value[4:] if isinstance(value, str) and value.startswith("DATA") else value
            for key, value in flat.items()}


def dataclass_fields(cls) -> set[str]:
    """Every field name of a dataclass and of the dataclasses its fields hold, at any depth."""
    hints = typing.get_type_hints(cls)
    names = set()
    for field in dataclasses.fields(cls):
        names.add(field.name)
        for kind in typing.get_args(hints[field.name]) or (hints[field.name],):
            if dataclasses.is_dataclass(kind):
                names |= dataclass_fields(kind)
    return names


def test_pipeline_settings_are_the_stages_settings_and_repeat_none_of_their_fields():
    from autogas.search.cyclegan import plan_network_search
    from autogas.supernet import SupernetSettings, run_search
    from autogas.train.evaluate import evaluate_run
    from autogas.train.trainer import TrainConfig

    hints = typing.get_type_hints(PipelineSettings)
    components = {field.name: set(typing.get_args(hints[field.name]) or (hints[field.name],))
                  for field in dataclasses.fields(PipelineSettings)}
    assert components == {"data": {str}, "search": {NetworkSearchSettings, SupernetSettings},
                          "train": {TrainRecipe}, "evaluation": {EvalSettings}}
    # each component is the settings class its stage takes, not a copy
    assert typing.get_type_hints(plan_network_search)["settings"] is NetworkSearchSettings
    assert SupernetSettings in typing.get_args(typing.get_type_hints(run_search)["settings"])
    assert TrainRecipe in TrainConfig.__mro__
    assert typing.get_type_hints(evaluate_run)["settings"] is EvalSettings
    own = {field.name for field in dataclasses.fields(PipelineSettings)}
    for kinds in components.values():
        for kind in kinds:
            if dataclasses.is_dataclass(kind):
                assert not own & dataclass_fields(kind), kind


def test_one_seed_and_components_of_the_right_type(dataset):
    settings = tiny_settings(dataset)
    assert settings.seed == 0 and settings.method == "proxy"
    assert settings.search_images("A") == str(dataset / "trainA")
    with pytest.raises(AutogasError, match="one seed, but search.seed=0, train.seed=1, evaluation.seed=0"):
        dataclasses.replace(settings, train=dataclasses.replace(settings.train, seed=1))
    from autogas.train.trainer import TrainConfig

    with pytest.raises(AutogasError, match="must be a TrainRecipe"):
        dataclasses.replace(settings, train=TrainConfig(data=str(dataset)))
    with pytest.raises(AutogasError, match="evaluation batch size must be an integer >= 1"):
        EvalSettings(batch_size=0)


def test_flat_records_read_as_the_settings_the_same_command_gives_now(dataset):
    from autogas.pipeline.settings import settings_from_flat_record, settings_record
    from autogas.supernet import SupernetSettings

    proxy = PipelineSettings(
        str(dataset), NetworkSearchSettings("cyclegan", PAPER, budget_macs=60e6, evolution=ArchSearchSettings(
            population=2, generations=0), hidden=8, n_cells=3, resolution=32, batch=2),
        TrainRecipe(epochs=1, decay_epochs=0, resolution=32))
    cycleganas = PipelineSettings(
        str(dataset), SupernetSettings(epochs=1, search_hidden=4, hidden=8, n_cells=3, resolution=32),
        TrainRecipe(epochs=1, decay_epochs=0, resolution=32))
    for flat, settings, name in ((FLAT_PROXY_RECORD, proxy, PAPER), (FLAT_CYCLEGANAS_RECORD, cycleganas, None)):
        flat = with_data(flat, dataset)
        assert settings_from_flat_record(flat) == dataclasses.replace(
            settings, data=str(dataset.resolve()), search=dataclasses.replace(
                settings.search, **{key: flat[key] for key in ("images_a", "images_b") if name}))
        assert settings_record(settings_from_flat_record(flat), flat["proxy"]) == settings_record(settings, name)


@pytest.mark.parametrize("method", ["proxy", "cycleganas"])
def test_cli_resumes_a_run_with_a_flat_pipeline_json_and_refuses_other_settings(method, dataset, tmp_path, capsys):
    run = tmp_path / "run"
    tiny, flat = {"proxy": (TINY_CLI, FLAT_PROXY_RECORD),
                  "cycleganas": (TINY_CLI_CYCLEGANAS, FLAT_CYCLEGANAS_RECORD)}[method]
    argv = ["pipeline", "--data", str(dataset), "--out", str(run), *tiny]
    assert main(argv) == 0
    record = json.loads((run / "pipeline.json").read_text())["settings"]
    assert record["method"] == method and record["train"]["epochs"] == 1 and record["evaluation"]["seed"] == 0
    if method == "proxy":
        assert record["search"]["evolution"]["population"] == 2 and record["search"]["proxy"] == PAPER
    else:
        assert record["search"]["search_hidden"] == 4 and "proxy" not in record["search"]
    before = {name: (run / name).stat().st_mtime_ns for name in ("search.json", "train/checkpoint.pt")}

    def refused(extra: list[str], message: str) -> None:
        capsys.readouterr()
        assert main([*argv, *extra]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("autogas: error: ") and message in err[0], err

    refused(["--seed", "1"], "was started with evaluation.seed=0, not 1")
    flat = with_data(flat, dataset)
    (run / "pipeline.json").write_text(json.dumps({"settings": flat}, indent=2) + "\n")
    capsys.readouterr()
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "search: skipped (complete)" in out and "train: skipped (complete at epoch 1)" in out
    assert json.loads((run / "pipeline.json").read_text()) == {"settings": flat}  # left as written
    refused(["--epochs", "2"], "was started with train.epochs=1, not 2")
    refused(["--search-resolution", "48"], "was started with search.resolution=32, not 48")
    assert {name: (run / name).stat().st_mtime_ns for name in before} == before
