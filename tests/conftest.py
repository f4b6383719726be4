"""Shared fixtures: the public TransNAS data lives in ../shared/data beside the clone."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """``$AUTOGAS_SHARED_DATA`` or ``<repo>/../shared/data``."""
    return Path(os.environ.get("AUTOGAS_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = shared_data_dir()
    assert path.is_dir(), f"shared data folder not found: {path}"
    return path


@pytest.fixture(scope="session")
def macro_labels(shared_data: Path) -> Path:
    return shared_data / "tnb101_macro_autoencoder_dev.json"


@pytest.fixture(scope="session")
def micro_labels(shared_data: Path) -> Path:
    return shared_data / "tnb101_micro_autoencoder_nolabel.json"


@pytest.fixture
def one_thread():
    """Tiny networks run fastest (and identically) on one thread while other work shares the CPU."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def make_unpaired_dataset(root: Path, counts: dict[str, int], size: int, seed: int = 0) -> Path:
    """``root/trainA, trainB, testA, testB`` of noisy tinted PNGs: reddish A, bluish B."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    for split, count in counts.items():
        tint = np.array((200, 60, 60) if split.endswith("A") else (60, 60, 200))
        (root / split).mkdir(parents=True)
        for i in range(count):
            noise = rng.integers(0, 50, (size, size, 3))
            Image.fromarray((tint + noise).clip(0, 255).astype(np.uint8)).save(root / split / f"{i}.png")
    return root
