"""CycleGAN training: loss terms, pool, schedule, a tiny end-to-end run, exact resume, evaluation."""
import copy
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import make_unpaired_dataset
import torch
from PIL import Image

from autogas.cli import main
from autogas.errors import AutogasError
from autogas.train.data import epoch_batches, read_rgb
from autogas.train.evaluate import EvalSettings, evaluate_run
from autogas.train.losses import ImagePool, LossWeights
from autogas.train.metrics import fid_from_features, kid_from_features
from autogas.train.trainer import CycleGanTrainer, TrainConfig, lr_factor, read_loss_log

TINY = dict(hidden=8, ndf=8, resolution=64, samples=2)


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return make_unpaired_dataset(tmp_path_factory.mktemp("horse2zebra"),
                                 {"trainA": 3, "trainB": 4, "testA": 3, "testB": 2}, size=72)


def test_weights_lr_schedule_and_pool():
    assert LossWeights.cyclegan().as_tuple() == (1.0, 1.0, 10.0, 5.0, 5.0) == LossWeights().as_tuple()
    assert LossWeights.parse("1,1,10,5,5") == LossWeights() == LossWeights.parse("cycleganas")
    assert LossWeights.cyclegan(4.0, 0.25).as_tuple() == (1.0, 1.0, 4.0, 1.0, 1.0)
    with pytest.raises(AutogasError):
        LossWeights.parse("1,1,10")
    assert [lr_factor(e, 2, 3) for e in range(1, 6)] == [1.0, 1.0, 0.75, 0.5, 0.25]
    pool = ImagePool(2, seed=0)
    a, b = torch.full((1, 1), 1.0), torch.full((1, 1), 2.0)
    assert torch.equal(pool.query(a), a) and torch.equal(pool.query(b), b)
    outs = [float(pool.query(torch.full((1, 1), 3.0 + i))) for i in range(200)]
    fresh = sum(o == 3.0 + i for i, o in enumerate(outs))
    assert 70 < fresh < 130  # each query is returned as is with probability 1/2
    assert all(o < 3.0 + i for i, o in enumerate(outs) if o != 3.0 + i)  # else an older image
    assert torch.equal(ImagePool(0).query(a), a)


def test_first_step_loss_terms_follow_eq4(dataset):
    weights = (0.5, 2.0, 3.0, 4.0, 6.0)
    trainer = CycleGanTrainer(TrainConfig(data=str(dataset), loss_weights=weights, **TINY), "unused")
    g_a, g_b, d_a, d_b = (copy.deepcopy(trainer.nets[k]) for k in ("G_A", "G_B", "D_A", "D_B"))
    real_a, real_b = next(epoch_batches(trainer.data, resolution=64, batch_size=1, seed=0, epoch=1))
    terms = trainer.train_step(real_a, real_b)
    with torch.no_grad():
        expected = {
            "g_adv_a": 0.5 * float(((d_b(g_a(real_a)) - 1) ** 2).mean()),
            "g_adv_b": 2.0 * float(((d_a(g_b(real_b)) - 1) ** 2).mean()),
            "cycle_a": 3.0 * float((g_b(g_a(real_a)) - real_a).abs().mean()),
            "cycle_b": 3.0 * float((g_a(g_b(real_b)) - real_b).abs().mean()),
            "idt_a": 4.0 * float((g_a(real_b) - real_b).abs().mean()),
            "idt_b": 6.0 * float((g_b(real_a) - real_a).abs().mean()),
        }
    for name, value in expected.items():
        assert terms[name] == pytest.approx(value, rel=1e-5), name
    assert terms["g_total"] == pytest.approx(sum(expected.values()), rel=1e-5)
    assert not all(torch.equal(p, q) for p, q in zip(g_a.parameters(), trainer.nets["G_A"].parameters()))


def test_tiny_end_to_end_cli_run_and_evaluation(dataset, tmp_path, capsys, monkeypatch):
    run = tmp_path / "run"
    code = main(["train", "--data", str(dataset), "--out", str(run), "--hidden", "8", "--ndf", "8",
                 "--resolution", "64", "--epochs", "1", "--decay-epochs", "0", "--device", "cpu",
                 "--no-progress"])
    assert code == 0
    networks = json.loads(capsys.readouterr().out.splitlines()[0])
    assert networks["G_A"]["arch"] == "resnet9:ngf=8" and networks["G_A"]["params"] == 180_419
    rows = read_loss_log(run / "losses.csv")
    assert [r["step"] for r in rows] == [1, 2, 3, 4] and all(r["epoch"] == 1 for r in rows)
    assert all(np.isfinite(r["g_total"]) and r["lr"] == 2e-4 for r in rows)
    grid = np.asarray(Image.open(run / "samples" / "epoch_0001.png"))
    assert grid.shape == (2 * 64, 6 * 64, 3)
    assert torch.load(run / "checkpoint.pt", weights_only=True)["epoch"] == 1

    def colour_stats(batch: torch.Tensor) -> torch.Tensor:  # a small injected feature extractor
        x = batch.float() / 255
        return torch.cat([x.mean(dim=(2, 3)), x.std(dim=(2, 3))], 1)

    result = evaluate_run(run, dataset, colour_stats, EvalSettings(kid_subsets=5), progress=False)
    out = run / "eval"
    fakes = sorted((out / "testA_to_B").glob("*.png"))
    assert [p.name for p in fakes] == ["0.png", "1.png", "2.png"] and len(list((out / "testB_to_A").glob("*"))) == 2
    fake_f = np.stack([colour_stats(torch.from_numpy(np.array(read_rgb(p))).permute(2, 0, 1)[None])[0].numpy()
                       for p in fakes])
    real_f = np.stack([colour_stats(torch.from_numpy(np.array(read_rgb(p))).permute(2, 0, 1)[None])[0].numpy()
                       for p in sorted((dataset / "testB").glob("*.png"))])
    a_to_b = result["A_to_B"]
    assert a_to_b["fid"] == pytest.approx(fid_from_features(fake_f, real_f), rel=1e-4)
    assert a_to_b["kid_mean"] == pytest.approx(kid_from_features(fake_f, real_f, subsets=5)[0], rel=1e-4)
    assert a_to_b["params"] == 180_419 and a_to_b["macs"] > 0 and a_to_b["n_real"] == 2
    assert json.loads((out / "metrics.json").read_text())["B_to_A"]["arch"] == "resnet9:ngf=8"

    # the CLI path; a small extractor stands in for Inception (whose 2048-d sqrtm alone takes ~20 s)
    monkeypatch.setattr("autogas.train.metrics.load_inception", lambda path, device: colour_stats)
    capsys.readouterr()
    assert main(["evaluate", "--run", str(run), "--out", str(tmp_path / "eval2"), "--kid-subsets", "2",
                 "--device", "cpu", "--no-progress"]) == 0
    report = capsys.readouterr().out
    assert "A_to_B" in report and "180,419" in report and f"{a_to_b['fid']:.3f}" in report
    assert json.loads((tmp_path / "eval2" / "metrics.json").read_text())["A_to_B"]["n_fake"] == 3


def test_resume_gives_the_same_losses_and_weights(dataset, tmp_path):
    config = TrainConfig(data=str(dataset), epochs=1, decay_epochs=1, pool_size=2,
                         arch_b="gan-compression:16_16_16_16_16_16_16_16", **TINY)
    straight = CycleGanTrainer.create(config, tmp_path / "straight")
    straight.fit(progress=False)
    first = CycleGanTrainer.create(config, tmp_path / "split")
    first.fit(until_epoch=1, progress=False)
    del first
    resumed = CycleGanTrainer.resume(tmp_path / "split")
    assert resumed.epoch == 1 and len(resumed.pools["A"].images) == 2
    resumed.fit(progress=False)
    rows_straight = read_loss_log(tmp_path / "straight" / "losses.csv")
    rows_split = read_loss_log(tmp_path / "split" / "losses.csv")
    assert len(rows_straight) == 8 and rows_split == rows_straight
    assert rows_split[-1]["lr"] == 1e-4
    for name in ("G_A", "G_B", "D_A", "D_B"):
        assert all(torch.equal(p, q) for p, q in zip(straight.nets[name].parameters(),
                                                    resumed.nets[name].parameters())), name


def test_cli_errors_are_one_line(dataset, tmp_path, capsys):
    assert main(["train", "--data", str(tmp_path / "missing"), "--out", str(tmp_path / "r")]) == 2
    assert "dataset folder not found" in capsys.readouterr().err
    assert main(["train", "--data", str(dataset), "--out", str(tmp_path / "r"), "--arch-a", "resnet12"]) == 2
    assert "unknown generator 'resnet12'" in capsys.readouterr().err
    assert main(["train", "--resume", "--out", str(tmp_path / "r"), "--epochs", "3"]) == 2
    assert "no training run in" in capsys.readouterr().err  # the missing run first (issue 14 §8)
    assert main(["train", "--data", str(dataset), "--out", str(tmp_path / "r"), "--resolution", "30"]) == 2
    assert "resolution" in capsys.readouterr().err
    assert main(["evaluate", "--run", str(tmp_path / "r"), "--inception-weights", str(tmp_path / "no.pth")]) == 2
    assert "--inception-weights PATH" in capsys.readouterr().err


def test_training_and_supernet_search_share_one_optimization_settings():
    import dataclasses

    from autogas.supernet import SupernetSettings
    from autogas.train.trainer import CycleGanOptimization

    shared = [f.name for f in dataclasses.fields(CycleGanOptimization)]
    assert shared == ["lr", "beta1", "beta2", "pool_size", "loss_weights"]
    for cls in (TrainConfig, SupernetSettings):
        assert issubclass(cls, CycleGanOptimization)
        assert [f.name for f in dataclasses.fields(cls)][:5] == shared  # declared once, in the base
    assert TrainConfig(data="x", lr=1e-3, loss_weights=[1, 1, 10, 5, 5]).loss_weights == (1.0, 1.0, 10.0, 5.0, 5.0)
    for make in (lambda: TrainConfig(data="x", beta1=1.0), lambda: SupernetSettings(lr=0)):
        with pytest.raises(AutogasError, match="bad Adam settings"):
            make()
    for make in (lambda: TrainConfig(data="x", pool_size=-1), lambda: SupernetSettings(pool_size=1.5)):
        with pytest.raises(AutogasError, match="pool size must be an integer >= 0"):
            make()
    with pytest.raises(AutogasError, match="run config has unknown keys: nope"):
        TrainConfig.from_json({"data": "x", "nope": 1})
    with pytest.raises(AutogasError, match="search config has unknown keys: nope"):
        SupernetSettings.from_json({"nope": 1})
    config = TrainConfig(data="x", pool_size=3)
    assert TrainConfig.from_json(config.to_json()) == config
