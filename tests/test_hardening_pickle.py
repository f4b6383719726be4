"""Issue 14 §1: a .pth file never runs code, and a bad one is one error line with exit 2.

The malicious files name ``os.system`` through ``__reduce__`` (the reproduction of the issue), as a
raw pickle (legacy torch format) and inside a ``torch.save`` zip archive; the command they carry
would create a marker file, whose absence is the proof that nothing ran.
"""
from __future__ import annotations

import io
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import make_unpaired_dataset

from autogas.cli import main
from autogas.errors import AutogasError
from autogas.torchfile import load_torch_file
from autogas.train.trainer import CHECKPOINT_FILE, CycleGanTrainer, TrainConfig


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def _evil_files(tmp_path: Path) -> dict[str, Path]:
    marker = tmp_path / "PWNED"
    raw = tmp_path / "evil_raw.pth"
    raw.write_bytes(pickle.dumps(_Payload(marker), protocol=2))
    zipped = tmp_path / "evil_zip.pth"
    torch.save({"data": _Payload(marker)}, zipped)
    junk = tmp_path / "junk.pth"
    junk.write_text("this is not a torch file\n")
    return {"raw": raw, "zip": zipped, "junk": junk}


def _one_error_line(capsys) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("autogas: error: "), captured.err
    assert "Traceback" not in captured.err
    return lines[0]


def test_the_pickle_payload_would_run_under_the_full_unpickler(tmp_path):
    """The oracle: the same file does create the marker when fully unpickled."""
    files = _evil_files(tmp_path)
    pickle.loads(files["raw"].read_bytes())
    assert (tmp_path / "PWNED").exists()


def test_load_torch_file_runs_nothing_and_names_the_global(tmp_path):
    files = _evil_files(tmp_path)
    for kind in ("raw", "zip"):
        for allow_numpy in (False, True):
            with pytest.raises(AutogasError, match=r"pickled object .*\(posix\.system\).* never unpickles"):
                load_torch_file(files[kind], what="test file", allow_numpy=allow_numpy)
    with pytest.raises(AutogasError, match="junk.pth: test file is not a readable torch file"):
        load_torch_file(files["junk"], what="test file")
    empty = tmp_path / "empty.pth"
    empty.write_bytes(b"")
    with pytest.raises(AutogasError, match="ends early"):
        load_torch_file(empty, what="test file")
    assert not (tmp_path / "PWNED").exists()


def test_numpy_data_needs_the_allow_list_and_loads_with_it(tmp_path):
    path = tmp_path / "np.pth"
    torch.save({"curve": [np.float64(0.25), np.float32(0.5)], "array": np.arange(3)}, path)
    with pytest.raises(AutogasError, match="numpy"):
        load_torch_file(path, what="test file")
    loaded = load_torch_file(path, what="test file", allow_numpy=True)
    assert loaded["curve"] == [0.25, 0.5] and loaded["array"].tolist() == [0, 1, 2]


def test_numpy1_module_path_is_allowed(tmp_path):
    """Files written under numpy 1 name numpy.core.multiarray.scalar: same data, old module path."""
    path = tmp_path / "np1.pth"
    torch.save({"v": np.float64(0.75)}, path)
    with zipfile.ZipFile(path) as src:
        members = {info.filename: src.read(info) for info in src.infolist()}
    name = next(n for n in members if n.endswith("data.pkl"))
    assert b"numpy._core.multiarray" in members[name]
    members[name] = members[name].replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as dst:
        for member, data in members.items():
            dst.writestr(member, data)
    path.write_bytes(buffer.getvalue())
    assert load_torch_file(path, what="test file", allow_numpy=True) == {"v": 0.75}


def test_labels_pth_runs_nothing(tmp_path, capsys):
    files = _evil_files(tmp_path)
    for kind in ("raw", "zip"):
        assert main(["bench", "verify", "--space", "macro", "--labels", str(files[kind])]) == 2
        assert "posix.system" in _one_error_line(capsys)
    assert main(["bench", "verify", "--space", "macro", "--labels", str(files["junk"])]) == 2
    assert "not a readable torch file" in _one_error_line(capsys)
    assert not (tmp_path / "PWNED").exists()


def test_inception_weights_run_nothing(tmp_path, capsys):
    files = _evil_files(tmp_path)
    for kind in ("raw", "zip", "junk"):
        assert main(["evaluate", "--run", str(tmp_path / "run"), "--device", "cpu",
                     "--inception-weights", str(files[kind])]) == 2
        line = _one_error_line(capsys)
        assert str(files[kind]) in line and "Inception" in line
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.usefixtures("one_thread")
def test_checkpoint_runs_nothing(tmp_path, capsys):
    data = make_unpaired_dataset(tmp_path / "data", {"trainA": 1, "trainB": 1, "testA": 1, "testB": 1}, size=40)
    run = tmp_path / "run"
    CycleGanTrainer.create(TrainConfig(data=str(data), hidden=4, ndf=4, resolution=32, samples=1), run)
    files = _evil_files(tmp_path)
    for kind in ("raw", "zip", "junk"):
        (run / CHECKPOINT_FILE).write_bytes(files[kind].read_bytes())
        assert main(["train", "--resume", "--out", str(run), "--device", "cpu", "--no-progress"]) == 2
        line = _one_error_line(capsys)
        assert CHECKPOINT_FILE in line and "training checkpoint" in line
    assert not (tmp_path / "PWNED").exists()
