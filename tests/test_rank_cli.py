"""``autogas rank`` end to end on tiny networks: ranking, budgets, resume, bad input."""
import csv
import json
import math
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from autogas.measure.seeds import init_seed
from autogas.cli import main
from autogas.measure.features import collect_features
from autogas.measure.inputs import input_batch
from autogas.proxy import ProxyGraph, evaluate_proxy
from autogas.search.scorer import open_space

PAPER = "square(slogdet(ksum(gram(above_mean(swish(F))))))"
POPULATION_PROXY = "rank_add(slogdet(ksum(gram(F))), slogdet(ksum(hamming(above_zero(F)))))"
TINY = ["--space", "cyclegan", "--n-cells", "3", "--hidden", "8", "--resolution", "32",
        "--batch", "2", "--proxy", PAPER]


def _rows(path):
    with open(path) as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("rank") / "ranking.csv"
    assert main(["rank", *TINY, "--n", "5", "--out", str(out)]) == 0
    return out, _rows(out)


def test_ranking_is_sorted_and_reproduces_independent_scores(full_run):
    out, rows = full_run
    assert [r["rank"] for r in rows] == ["1", "2", "3", "4", "5"]
    scores = [float(r["score"]) for r in rows]
    assert scores == sorted(scores, reverse=True)
    space = open_space("cyclegan", n_cells=3, hidden=8)
    inputs = input_batch("images", 2, 32, 0)
    first_draw = space.to_string(space.sample(np.random.default_rng(0)))  # --seed 0 sampling
    assert first_draw in {r["arch"] for r in rows}
    for row in rows[:2]:
        arch = space.parse(row["arch"])
        model = space.build(arch, seed=init_seed(0, row["arch"])).train()
        fs = collect_features(model, inputs, max_dims=512, seed=0)
        assert float(row["score"]) == evaluate_proxy(ProxyGraph.parse(PAPER), [fs]).values[0]
        cost = space.cost(arch, resolution=256)
        assert (int(row["params"]), int(row["macs"])) == (cost.params, cost.macs)
    meta = json.loads(out.with_name("ranking.csv.json").read_text())
    assert meta["settings"]["proxy"] == PAPER and meta["summary"]["scored"] == 5


def test_resume_skips_rows_of_a_killed_run(full_run, tmp_path, capsys):
    src, rows = full_run
    out = tmp_path / "ranking.csv"
    out.with_name("ranking.csv.json").write_text(src.with_name("ranking.csv.json").read_text())
    kept = rows[:2]
    lines = ["arch,score,params,macs,seconds"]
    lines += [f"{r['arch']},{r['score']},{r['params']},{r['macs']},123.0" for r in kept]
    out.write_text("\n".join(lines) + "\n" + rows[2]["arch"] + ",9")  # torn last line
    assert main(["rank", *TINY, "--n", "5", "--out", str(out)]) == 0
    assert "3 scored now, 2 resumed" in capsys.readouterr().out
    resumed = _rows(out)
    assert [(r["arch"], r["score"]) for r in resumed] == [(r["arch"], r["score"]) for r in rows]
    assert sum(r["seconds"] == "123.0000" for r in resumed) == 2


def test_resume_with_other_settings_is_refused(full_run, tmp_path, capsys):
    src, _ = full_run
    out = tmp_path / "ranking.csv"
    out.write_text(src.read_text())
    out.with_name("ranking.csv.json").write_text(src.with_name("ranking.csv.json").read_text())
    assert main(["rank", *TINY[:-1], "slogdet(ksum(gram(F)))", "--n", "5", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "proxy=" in err[0]


def test_budget_drops_candidates_and_is_never_exceeded(full_run, tmp_path, capsys):
    _, rows = full_run
    macs = sorted(int(r["macs"]) for r in rows)
    limit = (macs[1] + macs[2]) / 2  # keeps exactly the two cheapest
    out = tmp_path / "ranking.csv"
    assert main(["rank", *TINY, "--n", "5", "--max-macs", f"{limit / 1e9!r}", "--out", str(out)]) == 0
    assert "3 over budget dropped" in capsys.readouterr().out
    kept = _rows(out)
    assert sorted(int(r["macs"]) for r in kept) == macs[:2]
    assert all(int(r["macs"]) <= limit for r in kept)


def test_arch_file(tmp_path):
    archs = tmp_path / "archs.txt"
    archs.write_text("# two candidates\nG:00.00.00\n\ncyclegan:G:54.43.22  # prefixed\nG:00.00.00\n")
    out = tmp_path / "ranking.csv"
    assert main(["rank", *TINY, "--archs", str(archs), "--out", str(out)]) == 0
    rows = _rows(out)
    assert sorted(r["arch"] for r in rows) == ["G:00.00.00", "G:54.43.22"]
    assert all(math.isfinite(float(r["score"])) for r in rows)


def _bad_inputs(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "x.png").write_bytes(b"not a png")
    bad_arch = tmp_path / "bad_archs.txt"
    bad_arch.write_text("G:00.00.00\nG:00.99.00\n")
    bad_proxy = tmp_path / "bad.json"
    bad_proxy.write_text("{not json")
    out = str(tmp_path / "r.csv")
    tiny = TINY[2:]  # without --space
    return {
        "unknown space": ["--space", "biggan", *tiny[:-2], "--proxy", PAPER, "--out", out],
        "malformed arch": [*TINY, "--archs", str(bad_arch), "--out", out],
        "impossible budget": [*TINY, "--n", "2", "--max-macs", "0.0001", "--out", out],
        "empty folder": [*TINY, "--n", "2", "--images", str(empty), "--out", out],
        "unreadable image": [*TINY, "--n", "2", "--images", str(broken), "--out", out],
        "invalid proxy file": [*TINY[:-1], str(bad_proxy), "--n", "2", "--out", out],
        "missing proxy file": [*TINY[:-1], str(tmp_path / "none.json"), "--n", "2", "--out", out],
        "population proxy": [*TINY[:-1], POPULATION_PROXY, "--n", "2", "--out", out],
    }


@pytest.mark.parametrize("case", ["unknown space", "malformed arch", "impossible budget",
                                  "empty folder", "unreadable image", "invalid proxy file",
                                  "missing proxy file", "population proxy"])
def test_bad_input_is_one_line_and_exit_2(case, tmp_path, capsys):
    argv = _bad_inputs(tmp_path)[case]
    assert main(["rank", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("autogas: error: "), err
    if case == "malformed arch":
        assert "line 2" in err[0]
    if case == "impossible budget":
        assert "no cyclegan architecture meets the budget" in err[0]
    if case == "population proxy":
        assert "compares architectures" in err[0]
    assert not (tmp_path / "r.csv").exists()


def test_sigkill_then_resume(tmp_path, capsys):
    out = tmp_path / "ranking.csv"
    argv = ["rank", *TINY, "--n", "12", "--out", str(out)]
    proc = subprocess.Popen([sys.executable, "-m", "autogas", *argv], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if out.exists() and len(out.read_text().splitlines()) >= 3:  # header + 2 scored rows
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the run ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = _rows(out)
    assert "rank" not in partial[0] and 2 <= len(partial) < 12
    assert main(argv) == 0
    assert f"{len(partial)} resumed" in capsys.readouterr().out
    rows = _rows(out)
    assert len(rows) == len({r["arch"] for r in rows}) == 12
    seconds = {r["arch"]: r["seconds"] for r in rows}
    assert all(seconds[r["arch"]] == r["seconds"] for r in partial)  # not scored again
