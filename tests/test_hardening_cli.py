"""Issue 14 §3, 4, 5, 7, 8: one error line and exit 2, failed starts leave nothing, images scaled
by their value range, one rule for existing outputs, help and progress.

Every reproduction of the issue is run through :func:`autogas.cli.main` on tiny inputs. An
unwritable place is ``/sys`` (sysfs refuses new files even to root, so the test does not depend
on who runs it).
"""
from __future__ import annotations

import argparse
import io
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import make_unpaired_dataset
from PIL import Image

import autogas.commands.space as space_command
from autogas.cli import _all_parsers, build_parser, main
from autogas.errors import AutogasError
from autogas.images import load_rgb, open_rgb8
from autogas.progress import LineProgress
from autogas.train.data import read_rgb

PROXY = "slogdet(ksum(gram(F)))"
UNWRITABLE = Path("/sys/autogas-hardening-test")
TINY_RANK = ["--space", "cyclegan", "--proxy", PROXY, "--hidden", "4", "--resolution", "32", "--device", "cpu"]


def one_error_line(capsys) -> str:
    """The single ``autogas: error:`` line on stderr (no traceback), returned."""
    err = capsys.readouterr().err
    lines = [line for line in err.strip().splitlines() if not re.match(r"^\w[\w ]*: \d+(/\d+)? ", line)]
    assert len(lines) == 1 and lines[0].startswith("autogas: error: "), err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture(scope="module")
def cache(tmp_path_factory, macro_labels) -> Path:
    """A 3-arch macro feature cache (batch 2, 32 px)."""
    path = tmp_path_factory.mktemp("cache") / "c3.h5"
    assert main(["bench", "build", "--space", "macro", "--labels", str(macro_labels), "--limit", "3",
                 "--batch", "2", "--resolution", "32", "--out", str(path)]) == 0
    return path


# --- §3: one line and exit 2, outputs checked before any work ---------------------------
def test_unwritable_outputs_are_one_line(cache, tmp_path, capsys):
    assert not UNWRITABLE.exists()
    cases = {
        "rank": ["rank", *TINY_RANK, "--n", "2", "--batch", "2", "--out", f"{UNWRITABLE}/r.csv"],
        "build": ["bench", "build", "--space", "macro", "--labels", "x.json", "--out", f"{UNWRITABLE}/c.h5"],
        "evolve": ["evolve", "--bench", str(cache), "--out", f"{UNWRITABLE}/e.json", "--workers", "1"],
        "baselines": ["baselines", "--bench", str(cache), "--out", f"{UNWRITABLE}/report"],
        "search": ["search", *TINY_RANK, "--budget-macs", "1", "--out", f"{UNWRITABLE}/s.json"],
        "train": ["train", "--data", str(tmp_path), "--out", f"{UNWRITABLE}/run"],
    }
    for name, argv in cases.items():
        assert main(argv) == 2, name
        line = one_error_line(capsys)
        assert "/sys" in line and "cannot write" in line, (name, line)


def test_search_existing_out_is_refused_before_the_search(tmp_path, capsys, monkeypatch):
    import autogas.search.cyclegan as cyclegan

    monkeypatch.setattr(cyclegan, "plan_network_search", lambda *a, **k: pytest.fail("search ran"))
    folder = tmp_path / "existing_dir"
    folder.mkdir()
    argv = ["search", *TINY_RANK, "--budget-macs", "1", "--out"]
    assert main(argv + [str(folder)]) == 2
    assert "is a directory, not a file" in one_error_line(capsys)
    done = tmp_path / "done.json"
    done.write_text("{}\n")
    assert main(argv + [str(done)]) == 2
    assert "--overwrite" in one_error_line(capsys)
    assert done.read_text() == "{}\n"


def test_a_file_where_a_folder_belongs(cache, tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("keep\n")
    cases = [["baselines", "--bench", str(cache), "--out", str(afile)],
             ["train", "--data", str(tmp_path), "--out", str(afile)],
             ["pipeline", "--data", str(tmp_path), "--out", str(afile), "--space", "cyclegan",
              "--proxy", PROXY, "--budget-macs", "1"],
             ["evaluate", "--run", str(tmp_path), "--out", str(afile)]]
    for argv in cases:
        assert main(argv) == 2, argv
        assert f"{afile} is a file, not a directory" in one_error_line(capsys)
    assert afile.read_text() == "keep\n"


def test_space_sizes_beyond_floats(capsys):
    """log10 |space| grows by the same amount per added residual cell (each adds the same genes),
    so the size at 100000 cells follows from the sizes at 11 and 12 cells."""
    sizes = {}
    for n in (11, 12, 100000):
        assert main(["space", "--space", "cyclegan", "--n-cells", str(n), "--json"]) == 0
        sizes[n] = json.loads(capsys.readouterr().out)
    step = math.log10(sizes[12]["size"]) - math.log10(sizes[11]["size"])
    expected = math.log10(sizes[11]["size"]) + (100000 - 11) * step
    assert sizes[100000]["size_log10"] == pytest.approx(expected, rel=1e-9)
    assert sizes[100000]["size"] is None  # too many digits to print exactly
    assert main(["space", "--space", "cyclegan", "--n-cells", "100000"]) == 0
    exponent = math.floor(expected)
    assert f"e+{exponent} architectures" in capsys.readouterr().out


def test_negative_seed_is_one_line(capsys):
    for argv in (["space", "--space", "cyclegan", "--seed", "-1"],
                 ["rank", *TINY_RANK, "--seed", "-1", "--out", "never.csv"]):
        assert main(argv) == 2
        assert "--seed must be >= 0, got -1" in one_error_line(capsys)
    assert not Path("never.csv").exists()


def test_resolution_beyond_memory_is_refused_up_front(tmp_path, capsys):
    out = tmp_path / "r.csv"
    assert main(["rank", *TINY_RANK[:-4], "--resolution", "100000", "--device", "cpu", "--batch", "2",
                 "--n", "2", "--out", str(out)]) == 2
    line = one_error_line(capsys)
    # 2 (inputs + outputs) x batch 2 x 3 channels x 100000^2 pixels x 4 bytes
    assert f"{2 * 2 * 3 * 100000 ** 2 * 4:,} bytes" in line
    assert not out.exists()
    h5 = tmp_path / "c.h5"
    assert main(["bench", "build", "--space", "macro", "--labels", "unread.json", "--out", str(h5),
                 "--batch", "3", "--resolution", "100000"]) == 2
    assert f"{2 * 3 * 3 * 100000 ** 2 * 4:,} bytes" in one_error_line(capsys) and not h5.exists()


def test_a_directory_as_bench_is_one_line(tmp_path, capsys):
    folder = str(tmp_path)
    for argv in (["bench", "info", folder], ["score", "--proxy", PROXY, "--bench", folder],
                 ["evolve", "--bench", folder, "--out", str(tmp_path / "e.json"), "--workers", "1"],
                 ["baselines", "--bench", folder]):
        assert main(argv) == 2, argv
        assert f"{folder} is a directory" in one_error_line(capsys)


def test_guard_turns_os_and_memory_errors_into_one_line(monkeypatch, capsys):
    def raise_(err):
        def run(args):
            raise err
        return run

    cases = [(PermissionError(13, "Permission denied", "/data/x.h5"), "Permission denied: /data/x.h5"),
             (OSError(18, "Invalid cross-device link", "/a", None, "/b"), "Invalid cross-device link: /a -> /b"),
             (MemoryError(), "out of memory"),
             (RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate "
                           "120000000000 bytes. Error code 12"), "120,000,000,000 bytes")]
    for err, expected in cases:
        monkeypatch.setattr(space_command, "run", raise_(err))
        assert main(["space", "--space", "cyclegan"]) == 2
        assert expected in one_error_line(capsys)
    monkeypatch.setattr(space_command, "run", raise_(cases[0][0]))
    monkeypatch.setenv("AUTOGAS_DEBUG", "1")
    with pytest.raises(PermissionError):
        main(["space", "--space", "cyclegan"])
    monkeypatch.setattr(space_command, "run", raise_(RuntimeError("a bug")))
    monkeypatch.delenv("AUTOGAS_DEBUG")
    with pytest.raises(RuntimeError, match="a bug"):  # other errors are bugs: traceback kept
        main(["space", "--space", "cyclegan"])


# --- §4: a failed start leaves nothing and never blocks the rerun -------------------------
def test_rank_failing_before_its_first_row_leaves_nothing(tmp_path, capsys):
    out = tmp_path / "r.csv"
    sidecar = tmp_path / "r.csv.json"
    assert main(["rank", *TINY_RANK, "--n", "2", "--batch", "1", "--out", str(out)]) == 2
    assert "batch" in one_error_line(capsys)
    assert not out.exists() and not sidecar.exists()
    # the leftovers of a start killed before its first row (header-only CSV + record)
    out.write_text("arch,score,params,macs,seconds\n")
    sidecar.write_text(json.dumps({"settings": {"batch": 1}}))
    assert main(["rank", *TINY_RANK, "--n", "2", "--batch", "2", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert len(out.read_text().splitlines()) == 3  # header + 2 ranked rows
    assert json.loads(sidecar.read_text())["settings"]["batch"] == 2
    assert "scoring: 2/2 arch (100%)" in captured.err  # progress lines off a terminal


@pytest.mark.usefixtures("one_thread")
def test_train_with_a_bad_image_leaves_nothing(tmp_path, capsys):
    from autogas.train.trainer import CycleGanTrainer, TrainConfig

    data = make_unpaired_dataset(tmp_path / "data", {"trainA": 2, "trainB": 2, "testA": 1, "testB": 1}, size=40)
    good = (data / "trainB" / "1.png").read_bytes()
    (data / "trainB" / "1.png").write_bytes(b"not an image")
    argv = ["train", "--data", str(data), "--hidden", "4", "--ndf", "4", "--resolution", "32",
            "--epochs", "1", "--decay-epochs", "0", "--device", "cpu", "--no-progress"]
    run = tmp_path / "run"
    assert main(argv + ["--out", str(run)]) == 2
    assert "cannot read image" in one_error_line(capsys) and not run.exists()
    existing = tmp_path / "existing"
    (existing / "notes").mkdir(parents=True)
    assert main(argv + ["--out", str(existing)]) == 2
    capsys.readouterr()
    assert [p.name for p in existing.iterdir()] == ["notes"]  # what was there before stays
    (data / "trainB" / "1.png").write_bytes(good)
    CycleGanTrainer.create(TrainConfig(data=str(data), hidden=4, ndf=4, resolution=32, samples=1), run)
    assert (run / "config.json").exists()  # the rerun is not refused
    assert main(["train", "--resume", "--out", str(run), "--epochs", "3"]) == 2
    assert "--epochs cannot change on --resume" in one_error_line(capsys)


# --- §5: images -------------------------------------------------------------------------
def test_sixteen_bit_png_is_scaled_not_saturated(tmp_path):
    """16-bit value 257 k is 8-bit value k exactly (257 k * 255 / 65535 = k)."""
    k = np.arange(256, dtype=np.uint16).reshape(16, 16)
    path = tmp_path / "g16.png"
    Image.fromarray(k * 257).save(path)
    assert Image.open(path).mode == "I;16"
    expected = np.repeat((k / 255.0)[..., None], 3, axis=2).astype(np.float32)
    np.testing.assert_array_equal(load_rgb(path), expected)
    np.testing.assert_array_equal(np.asarray(read_rgb(path)), np.repeat(k[..., None], 3, axis=2))
    # the old convert("RGB") clipped every value above 255 to white
    assert (np.asarray(Image.open(path).convert("RGB")) == 255).mean() > 0.99


def test_other_modes_become_rgb(tmp_path):
    grey = np.arange(64, dtype=np.uint8).reshape(8, 8) * 4
    Image.fromarray(grey, "L").save(tmp_path / "l.png")
    np.testing.assert_array_equal(np.asarray(open_rgb8(tmp_path / "l.png"))[..., 1], grey)
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[..., 0], rgba[..., 3] = 200, 10
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    assert np.asarray(open_rgb8(tmp_path / "a.png"))[0, 0].tolist() == [200, 0, 0]
    Image.fromarray(np.ones((8, 8), np.float32) * 0.5, "F").save(tmp_path / "f.tiff")
    with pytest.raises(AutogasError, match="f.tiff.*mode F"):
        open_rgb8(tmp_path / "f.tiff")


def test_tiny_images_are_an_error_not_nan(tmp_path, capsys):
    folder = tmp_path / "tiny"
    folder.mkdir()
    for i in range(3):
        Image.fromarray(np.full((1, 1, 3), 60 * i, np.uint8)).save(folder / f"{i}.png")
    out = tmp_path / "r.csv"
    assert main(["rank", *TINY_RANK, "--n", "2", "--batch", "2", "--images", str(folder), "--out", str(out)]) == 2
    line = one_error_line(capsys)
    assert "0.png" in line and "1x1 pixels" in line and not out.exists()
    with pytest.raises(AutogasError, match="1x1 pixels"):
        read_rgb(folder / "0.png")


# --- §7: existing outputs -----------------------------------------------------------------
def test_evolve_existing_out_and_resume_without_checkpoint(cache, tmp_path, capsys):
    out = tmp_path / "e.json"
    argv = ["evolve", "--bench", str(cache), "--workers", "1", "--out", str(out)]
    assert main(argv + ["--resume"]) == 2
    assert "no checkpoint" in one_error_line(capsys)
    out.write_text("{}\n")
    assert main(argv) == 2
    assert "--overwrite" in one_error_line(capsys) and out.read_text() == "{}\n"


def test_baselines_report_is_not_overwritten_and_help_says_where_scores_go(cache, tmp_path, capsys):
    report = tmp_path / "report"
    report.mkdir()
    (report / "baselines.md").write_text("old\n")
    assert main(["baselines", "--bench", str(cache), "--proxies", "params", "--out", str(report)]) == 2
    assert "--overwrite" in one_error_line(capsys) and (report / "baselines.md").read_text() == "old\n"
    help_text = " ".join(_help(["baselines"]).split())
    assert "stored in it" in help_text


# --- §8: messages and help ------------------------------------------------------------------
def _help(path: list[str]) -> str:
    parser = build_parser()
    for each in _all_parsers(parser):
        if each.prog == " ".join(["autogas", *path]):
            return each.format_help()
    raise AssertionError(path)


def test_every_help_shows_every_default():
    """Each option with a value and a default has 'default' in its own help entry."""
    checked = 0
    for parser in _all_parsers(build_parser()):
        text = parser.format_help()
        for action in parser._actions:
            if (not action.option_strings or action.nargs == 0 or action.default in (None, [])
                    or action.default is argparse.SUPPRESS):
                continue
            flag = action.option_strings[-1]
            entry = re.search(rf"\n  (?:-\S+ \S+, )?{re.escape(flag)}\b.*?(?=\n  -|\Z)", text, re.S)
            assert entry and "default" in entry.group(0), (parser.prog, flag)
            checked += 1
    assert checked > 50


def test_evolve_workers_default_is_stated():
    import os

    assert f"os.cpu_count() = {os.cpu_count() or 1}" in " ".join(_help(["evolve"]).split())


def test_messages(cache, tmp_path, capsys):
    assert main(["bench", "verify", "--space", "macro", "--labels", str(tmp_path)]) == 2
    assert f"label file {tmp_path} is a directory" in one_error_line(capsys)
    assert main(["train", "--resume", "--out", str(tmp_path / "nope"), "--hidden", "4"]) == 2
    assert "no training run in" in one_error_line(capsys)
    for command in (["evaluate", "--run", str(tmp_path)],
                    ["pipeline", "--data", str(tmp_path), "--out", str(tmp_path / "p"), "--space", "cyclegan",
                     "--proxy", PROXY, "--budget-macs", "1"]):
        assert main(command + ["--kid-subset-size", "0"]) == 2
        assert "--kid-subset-size must be >= 1, got 0" in one_error_line(capsys)
    long_proxy = "slogdet(" * 2000 + "F" + ")" * 1999  # 15 KB, one parenthesis short
    assert main(["score", "--proxy", long_proxy, "--bench", str(cache)]) == 2
    line = one_error_line(capsys)
    assert len(line) < 800 and "characters cut" in line


def test_line_progress_every_five_percent():
    """100 steps: a line at 5, 10, ..., 95 % and the final one at 100 % (20 lines)."""
    buffer = io.StringIO()
    with LineProgress(total=100, desc="scoring", unit="arch", file=buffer) as bar:
        for _ in range(100):
            bar.update(1)
    lines = buffer.getvalue().splitlines()
    assert len(lines) == 20
    assert lines[0].startswith("scoring: 5/100 arch (5%)") and lines[-1].startswith("scoring: 100/100 arch (100%)")
    buffer = io.StringIO()
    list(LineProgress(range(3), desc="x", file=buffer))  # 33 %, 67 %, then the end
    assert [line.split(",")[0] for line in buffer.getvalue().splitlines()] == ["x: 1/3 it (33%)", "x: 2/3 it (67%)",
                                                                                "x: 3/3 it (100%)"]


def test_bench_info_check_finds_a_damaged_chunk(cache, tmp_path, capsys):
    """Bytes flipped inside one arch's feature chunk: info still summarises, --check and score
    name the arch and dataset."""
    import shutil

    import h5py

    damaged = tmp_path / "damaged.h5"
    shutil.copy(cache, damaged)
    with h5py.File(damaged, "r") as f:
        arch = sorted(f["archs"])[1]
        chunk = f["archs"][arch]["features"].id.get_chunk_info(0)
    with open(damaged, "r+b") as handle:
        handle.seek(chunk.byte_offset + chunk.size // 2)
        block = handle.read(64)
        handle.seek(chunk.byte_offset + chunk.size // 2)
        handle.write(bytes(b ^ 0xFF for b in block))
    assert main(["bench", "info", "--check", str(cache)]) == 0
    assert "ok: " in capsys.readouterr().out
    assert main(["bench", "info", str(damaged)]) == 0
    capsys.readouterr()
    for argv in (["bench", "info", "--check", str(damaged)], ["score", "--proxy", PROXY, "--bench", str(damaged)]):
        assert main(argv) == 2
        line = one_error_line(capsys)
        assert f"arch {arch} dataset 'features'" in line, line
