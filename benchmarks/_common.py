"""Helpers shared by the benchmark scripts: locating data, writing results."""
from __future__ import annotations

import json
import os
import platform
import sys
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
SHARED_DATA = Path(os.environ.get("AUTOGAS_SHARED_DATA", REPO.parent / "shared" / "data"))
MACRO_LABELS = SHARED_DATA / "tnb101_macro_autoencoder_dev.json"
MICRO_LABELS = SHARED_DATA / "tnb101_micro_autoencoder_nolabel.json"


def machine() -> dict:
    """Facts about the machine a figure was measured on."""
    return {"python": platform.python_version(), "torch": str(torch.__version__),
            "cpus": os.cpu_count(), "threads": torch.get_num_threads(), "platform": platform.platform()}


def write_result(name: str, payload: dict) -> Path:
    """Write ``benchmarks/results/<name>.json`` with the command line and machine facts."""
    from autogas.atomic import write_text_atomic

    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    record = {"command": " ".join([Path(sys.executable).name] + sys.argv), "machine": machine(), **payload}
    write_text_atomic(path, json.dumps(record, indent=2) + "\n")
    return path


def read_journal(path: Path) -> list[dict]:
    """Rows of a JSON-lines journal of finished runs; a torn last line (a kill) is skipped."""
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            pass
    return rows
