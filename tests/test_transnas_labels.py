"""Ground-truth readers: NAS-Bench-Suite-Zero json and the TransNAS-Bench-101 API .pth."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from autogas.errors import AutogasError
from autogas.transnas.labels import load_labels

PROXIES = ["nwot", "jacov", "snip", "grasp", "fisher", "grad_norm", "plain", "l2_norm", "epe_nas"]


def test_macro_json(macro_labels):
    table = load_labels(macro_labels)
    assert table.shape[0] == 498 and table.index.name == "arch"
    assert {"label", "params", "flops", "space", *(f"zc_{p}" for p in PROXIES)} <= set(table.columns)
    assert (table["space"] == "macro").all() and table.index.is_unique
    assert table["label"].notna().all() and table["label"].between(0.33, 0.78).all()
    row = table.loc["64-1242-basic"]
    assert row["label"] == 0.650011420249939 and row["params"] == 34.058323 and row["flops"] == 37131.71456
    assert row["zc_nwot"] == 513.8223511506416
    assert table["params"].dtype == float and table["label"].dtype == float


def test_micro_json_without_labels(micro_labels):
    table = load_labels(micro_labels, space="micro")
    assert table.shape[0] == 711 and table["label"].isna().all()
    assert list(table.columns) == ["label", "params", "flops", "space"]
    assert table.loc["64-41414-1_00_210", "params"] == 23.750227
    assert table["params"].between(23.0, 64.3).all()


def test_requested_space_must_fit(macro_labels):
    with pytest.raises(AutogasError, match="micro"):
        load_labels(macro_labels, space="micro")
    with pytest.raises(AutogasError, match="unknown TransNAS search space"):
        load_labels(macro_labels, space="mini")


def _write(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


GOOD_RECORD = {"params": {"score": 34.058323}, "flops": {"score": 1.0}, "val_accuracy": 0.5}


@pytest.mark.parametrize("content, message", [
    ("{not json", "not a readable json"),
    ([1, 2], "expected a json object"),
    ({"normal": {"(1, 2, 4, 2, 0, 0)": GOOD_RECORD}}, "task 'autoencoder' not in file"),
    ({"autoencoder": {}}, "not be empty"),
    ({"autoencoder": {"(1, 2, 4, 2, 0, 0)": {"flops": {"score": 1.0}}}}, "has no 'params'"),
    ({"autoencoder": {"(1, 2, 4, 2, 0, 0)": {**GOOD_RECORD, "val_accuracy": "high"}}}, "non-numeric"),
    ({"autoencoder": {"(9, 9, 9, 9, 9, 9)": GOOD_RECORD}}, r"\(9, 9, 9"),
    ({"autoencoder": {"(1, 2, 4, 2, 0, 0)": GOOD_RECORD, "(1,2,4,2,0,0)": GOOD_RECORD}}, "twice"),
])
def test_bad_json_inputs(tmp_path, content, message):
    path = _write(tmp_path, "labels.json", content)
    with pytest.raises(AutogasError, match=message) as err:
        load_labels(path)
    assert "\n" not in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(AutogasError, match="not found"):
        load_labels(tmp_path / "nope.json")


def test_json_record_without_label_and_other_task(tmp_path):
    record = {"params": {"score": 20.5}, "flops": {"score": 900.0}, "nwot": {"score": 3.0}}
    path = _write(tmp_path, "labels.json", {"normal": {"(1, 0, 0, 2, 1, 0)": record}})
    table = load_labels(path, task="normal", space="micro")
    assert table.index.tolist() == ["64-41414-1_00_210"]
    assert math.isnan(table["label"].iloc[0]) and table["zc_nwot"].iloc[0] == 3.0


def _api_database(value_type=float):
    """A tiny file in the official API structure: data[space][arch][task]['metrics'][metric]."""
    def result(ssim_curve, top1_curve):
        return {
            "autoencoder": {"total_epochs": len(ssim_curve),
                            "metrics": {"train_ssim": [0.1] * len(ssim_curve),
                                        "valid_ssim": [value_type(v) for v in ssim_curve],
                                        "valid_l1_loss": [0.3] * len(ssim_curve)},
                            "model_info": {"model_params": 1.0, "model_FLOPs": 2.0}},
            "class_object": {"total_epochs": len(top1_curve),
                             "metrics": {"valid_top1": [value_type(v) for v in top1_curve]},
                             "model_info": {"model_params": 1.0, "model_FLOPs": 2.0}},
        }
    return {
        "metrics_dict": {"autoencoder": ["train_ssim", "valid_ssim", "valid_l1_loss"],
                         "class_object": ["valid_top1"]},
        "info_names": ["model_params", "model_FLOPs"],
        "task_list": ["autoencoder", "class_object"],
        "data": {
            "macro": {"64-1242-basic": result([0.2, 0.7, 0.65], [10.0, 30.0]),
                      "64-3434-basic": result([0.1, 0.4], [5.0, 20.0])},
            "micro": {"64-41414-1_00_210": result([0.3, 0.35, 0.5], [1.0, 2.0])},
        },
    }


def test_api_pth_reader_takes_the_final_epoch(tmp_path):
    path = tmp_path / "transnas-bench_v10141024.pth"
    torch.save(_api_database(), path)
    table = load_labels(path)
    assert table["label"].to_dict() == {"64-1242-basic": 0.65, "64-3434-basic": 0.4, "64-41414-1_00_210": 0.5}
    assert table["space"].tolist() == ["macro", "macro", "micro"] and table.index.name == "arch"
    assert table["params"].isna().all() and table["flops"].isna().all()
    assert load_labels(path, space="micro").index.tolist() == ["64-41414-1_00_210"]
    assert load_labels(path, task="class_object", space="macro")["label"].tolist() == [30.0, 20.0]


def test_api_pth_with_non_plain_values_still_loads(tmp_path):
    path = tmp_path / "api.pth"
    torch.save(_api_database(np.float64), path)
    assert load_labels(path, space="macro")["label"].tolist() == [0.65, 0.4]


def test_bad_api_files(tmp_path):
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"\x00\x01 definitely not a torch file")
    with pytest.raises(AutogasError, match="not a readable torch file"):
        load_labels(garbage)
    database = _api_database()
    no_data = tmp_path / "no_data.pth"
    torch.save({"task_list": []}, no_data)
    with pytest.raises(AutogasError, match="no 'data'"):
        load_labels(no_data)
    good = tmp_path / "good.pth"
    torch.save(database, good)
    with pytest.raises(AutogasError, match="task 'normal' not in the API file"):
        load_labels(good, task="normal")
    del database["data"]["micro"]["64-41414-1_00_210"]["autoencoder"]["metrics"]["valid_ssim"]
    no_metric = tmp_path / "no_metric.pth"
    torch.save(database, no_metric)
    with pytest.raises(AutogasError, match="64-41414-1_00_210' has no autoencoder/metrics/valid_ssim"):
        load_labels(no_metric)
    with pytest.raises(AutogasError, match="unknown TransNAS-Bench-101 task"):
        load_labels(good, task="colour")
    database["data"]["macro"]["64-9999-basic"] = database["data"]["macro"]["64-1242-basic"]
    bad_arch = tmp_path / "bad_arch.pth"
    torch.save(database, bad_arch)
    with pytest.raises(AutogasError, match="64-9999-basic"):
        load_labels(bad_arch)
