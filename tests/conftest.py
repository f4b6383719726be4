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
