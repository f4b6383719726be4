"""Issue 14 §6: atomic outputs follow the umask (they were 0600 whatever it was), still atomic."""
from __future__ import annotations

import os
import stat

import h5py
import numpy as np
import pytest
import torch

from autogas.atomic import atomic_path, current_umask, write_text_atomic


@pytest.fixture
def umask():
    """Set a umask for one test and restore the previous one."""
    before = os.umask(0o022)
    os.umask(before)

    def set_mask(mask: int) -> None:
        os.umask(mask)

    yield set_mask
    os.umask(before)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("mask", [0o022, 0o002, 0o077, 0o027])
def test_outputs_get_the_mode_open_would_give(tmp_path, umask, mask):
    umask(mask)
    assert current_umask() == mask
    reference = tmp_path / "plain.txt"
    reference.write_text("x")  # what an ordinary open(..., "w") gives under this umask
    out = tmp_path / "atomic.txt"
    write_text_atomic(out, "y")
    assert _mode(out) == _mode(reference) == 0o666 & ~mask
    with atomic_path(tmp_path / "c.h5") as tmp, h5py.File(tmp, "w") as f:  # how the cache is written
        f["x"] = np.arange(3)
    with atomic_path(tmp_path / "w.pt") as tmp:
        torch.save({"a": 1}, tmp)
    assert _mode(tmp_path / "c.h5") == _mode(tmp_path / "w.pt") == 0o666 & ~mask


def test_default_umask_gives_0644_and_a_failed_write_leaves_nothing(tmp_path, umask):
    umask(0o022)
    out = tmp_path / "sub" / "result.json"
    write_text_atomic(out, "{}")
    assert _mode(out) == 0o644
    with pytest.raises(RuntimeError), atomic_path(out) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed mid-write")
    assert out.read_text() == "{}" and sorted(p.name for p in out.parent.iterdir()) == ["result.json"]
