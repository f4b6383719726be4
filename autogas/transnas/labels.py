"""Ground-truth tables for TransNAS-Bench-101: one row per arch string.

Two input formats, told apart by content (then extension):

* **NAS-Bench-Suite-Zero json** (``zc_transbench101_{macro,micro}.json`` and the shared
  subsets): ``{task: {naslib_tuple_key: record}}``. A record has ``params`` and ``flops``
  (``{"score": millions}``), optionally ``val_accuracy`` (the label: validation SSIM for the
  autoencoder task) and zero-cost proxy scores ``{name: {"score": x}}``.
* **Official TransNAS-Bench-101 API file** ``transnas-bench_v10141024.pth``: a ``torch.save``-d
  dict ``{"metrics_dict": {task: [metric]}, "info_names": [...], "task_list": [...],
  "data": {space: {arch_string: {task: {"metrics": {metric: [value per epoch]},
  "model_info": {...}, "total_epochs": int}}}}}``. The label is the **final-epoch** value of the
  task's validation metric (``valid_ssim`` for autoencoder/normal, ``valid_top1`` for the
  classification tasks and jigsaw, ``valid_neg_loss`` for room_layout, ``valid_acc`` for
  segmentsemantic), the same value NASLib's query returns as ``VAL_ACCURACY``. The file's
  ``model_params``/``model_FLOPs`` are not the NASLib counts (224 input, other tool), so
  ``params`` and ``flops`` are NaN for this format: use :mod:`autogas.transnas.counting`.
"""
from __future__ import annotations

import json
import math
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from autogas.errors import AutogasError
from autogas.torchfile import load_torch_file
from autogas.transnas.archs import SPACES, check_space, infer_space_of_keys, naslib_to_arch, parse_arch

COUNT_FIELDS = ("params", "flops")
LABEL_FIELD = "val_accuracy"
NON_PROXY_FIELDS = {"idx", "arch", LABEL_FIELD, *COUNT_FIELDS}
API_VALID_METRIC = {
    "class_scene": "valid_top1", "class_object": "valid_top1", "jigsaw": "valid_top1",
    "room_layout": "valid_neg_loss", "segmentsemantic": "valid_acc",
    "normal": "valid_ssim", "autoencoder": "valid_ssim",
}


def load_labels(path: str | Path, task: str = "autoencoder", space: str | None = None) -> pd.DataFrame:
    """Load a ground-truth table indexed by arch string (index name ``"arch"``).

    Columns: ``label`` (float, NaN when unknown), ``params`` and ``flops`` (millions, as the
    NAS-Bench-Suite-Zero json stores them; NaN for the API file), ``space`` and one
    ``zc_<name>`` column per stored zero-cost proxy score. ``space`` keeps only that space
    (json files hold one space: it is inferred from the keys when not given).
    Bad input raises :class:`AutogasError` with one line.
    """
    path = Path(path)
    if space is not None:
        check_space(space)
    if path.is_dir():
        raise AutogasError(f"label file {path} is a directory; give the json or .pth file itself")
    if not path.is_file():
        raise AutogasError(f"label file not found: {path}")
    if _is_torch_file(path):
        table = _read_api_file(path, task, space)
    else:
        table = _read_suite_zero_json(path, task, space)
    table.index.name = "arch"
    return table


def _is_torch_file(path: Path) -> bool:
    """torch.save writes a zip archive (legacy format: a raw pickle); json starts with text."""
    if zipfile.is_zipfile(path):
        return True
    with path.open("rb") as handle:
        head = handle.read(2)
    return head[:1] == b"\x80" or path.suffix in (".pth", ".pt")


# --- NAS-Bench-Suite-Zero json ----------------------------------------------------------------

def _read_suite_zero_json(path: Path, task: str, space: str | None) -> pd.DataFrame:
    try:
        data = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise AutogasError(f"{path} is not a readable json file ({err})") from None
    except OSError as err:
        raise AutogasError(f"cannot read {path}: {err.strerror}") from None
    if not isinstance(data, dict):
        raise AutogasError(f"{path}: expected a json object {{task: {{arch: record}}}}")
    if task not in data:
        raise AutogasError(f"{path}: task {task!r} not in file (tasks: {', '.join(map(str, data)) or 'none'})")
    records = data[task]
    if not isinstance(records, dict) or not records:
        raise AutogasError(f"{path}: task {task!r} must map arch keys to records and not be empty")
    file_space = infer_space_of_keys(list(records)) if space is None else space
    rows = {}
    for key, record in records.items():
        arch = naslib_to_arch(key, file_space)
        if arch in rows:
            raise AutogasError(f"{path}: arch {arch} appears twice (key {key!r})")
        rows[arch] = _json_row(path, key, record, file_space)
    return _frame(rows)


def _score(path: Path, key: str, name: str, value: object) -> float:
    if isinstance(value, dict):
        value = value.get("score")
    if value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise AutogasError(f"{path}: record {key!r} has a non-numeric {name!r}: {value!r}")
    return float(value)


def _json_row(path: Path, key: str, record: object, space: str) -> dict:
    if not isinstance(record, dict):
        raise AutogasError(f"{path}: record {key!r} is not an object")
    for field in COUNT_FIELDS:
        if field not in record:
            raise AutogasError(f"{path}: record {key!r} has no {field!r}")
    row = {"label": _score(path, key, LABEL_FIELD, record.get(LABEL_FIELD)),
           "params": _score(path, key, "params", record["params"]),
           "flops": _score(path, key, "flops", record["flops"]),
           "space": space}
    for name, value in record.items():
        if name not in NON_PROXY_FIELDS and isinstance(value, dict) and "score" in value:
            row[f"zc_{name}"] = _score(path, key, name, value)
    return row


def _frame(rows: dict[str, dict]) -> pd.DataFrame:
    table = pd.DataFrame.from_dict(rows, orient="index")
    for column in ("label", "params", "flops"):
        table[column] = table[column].astype(float)
    zc = sorted(c for c in table.columns if c.startswith("zc_"))
    return table[["label", "params", "flops", "space", *zc]]


# --- official TransNAS-Bench-101 API .pth ------------------------------------------------------

def _final_value(values: object) -> float:
    if isinstance(values, (list, tuple, np.ndarray)):
        return float(values[-1]) if len(values) else math.nan
    return math.nan if values is None else float(values)


def _read_api_file(path: Path, task: str, space: str | None) -> pd.DataFrame:
    database = load_torch_file(path, what="TransNAS-Bench-101 API file", allow_numpy=True)
    if not isinstance(database, dict) or not isinstance(database.get("data"), dict):
        raise AutogasError(f"{path}: not a TransNAS-Bench-101 API file (no 'data' dict)")
    if task not in API_VALID_METRIC:
        raise AutogasError(f"unknown TransNAS-Bench-101 task {task!r}; choose from {', '.join(API_VALID_METRIC)}")
    tasks = database.get("task_list")
    if isinstance(tasks, (list, tuple)) and task not in tasks:
        raise AutogasError(f"{path}: task {task!r} not in the API file (tasks: {', '.join(map(str, tasks))})")
    metric = API_VALID_METRIC[task]
    spaces = [space] if space is not None else [s for s in SPACES if s in database["data"]]
    rows = {}
    for name in spaces:
        archs = database["data"].get(name)
        if not isinstance(archs, dict):
            raise AutogasError(f"{path}: no {name!r} search space in the API file")
        for arch, results in archs.items():
            parsed = parse_arch(arch)
            if parsed.space != name:
                raise AutogasError(f"{path}: arch {arch!r} is listed under the {name} space")
            try:
                label = _final_value(results[task]["metrics"][metric])
            except (KeyError, TypeError, IndexError):
                raise AutogasError(f"{path}: arch {arch!r} has no {task}/metrics/{metric} list") from None
            rows[parsed.string] = {"label": label, "params": math.nan, "flops": math.nan, "space": name}
    if not rows:
        raise AutogasError(f"{path}: no architectures found")
    return _frame(rows)
