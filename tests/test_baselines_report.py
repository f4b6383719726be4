"""The baselines report (columns, correlations, stored-score agreement) and the CLI on a tiny cache."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import scipy.stats

from autogas.baselines.report import COLUMNS, build_table, scatter_grid, to_markdown
from autogas.cli import main

ARCHS = [f"a{i}" for i in range(8)]


def _frames():
    rng = np.random.default_rng(0)
    labels = pd.Series(rng.normal(size=8), index=ARCHS)
    noisy = labels + rng.normal(scale=1.0, size=8)
    values = pd.DataFrame({"good": labels * 2, "bad": -labels, "noisy": noisy,
                           "partial": labels.where(labels.index != "a0")}, index=ARCHS)
    stored = pd.DataFrame({"params": noisy, "flops": labels, "zc_noisy": labels,
                           "zc_bad": np.full(8, 3.0)}, index=ARCHS[::-1])  # other order
    return values, labels, stored


def test_table_columns_correlations_and_agreement():
    values, labels, stored = _frames()
    seconds = pd.DataFrame({c: np.full(8, 0.5) for c in values}, index=ARCHS)
    table = build_table(values, labels, seconds=seconds, passes={"good": "features"},
                        stored=stored).set_index("proxy")
    assert list(table.reset_index().columns) == list(COLUMNS)
    assert table.loc["good", "kendall"] == pytest.approx(1.0)
    assert table.loc["bad", "kendall"] == pytest.approx(-1.0)
    tau = scipy.stats.kendalltau(values["noisy"], labels).statistic
    assert table.loc["noisy", "kendall"] == pytest.approx(tau)
    assert table.loc["noisy", "pearson"] == pytest.approx(np.corrcoef(values["noisy"], labels)[0, 1])
    # stored zc_noisy equals the labels: stored tau 1, agreement = our tau with the labels
    assert table.loc["noisy", "stored_kendall"] == pytest.approx(1.0)
    assert table.loc["noisy", "agreement_kendall"] == pytest.approx(tau)
    assert table.loc["noisy", "agreement_n"] == 8
    # a constant stored score cannot be ranked; a proxy without a stored score has None
    assert pd.isna(table.loc["bad", "stored_kendall"]) and pd.isna(table.loc["bad", "agreement_kendall"])
    assert pd.isna(table.loc["good", "stored_kendall"])
    assert table.loc["partial", "n"] == 7 and table.loc["partial", "failed"] == 1
    assert table.loc["good", "seconds_per_arch"] == 0.5 and table.loc["good", "pass"] == "features"


def test_markdown_sorted_by_kendall_and_scatter_png(tmp_path):
    values, labels, stored = _frames()
    table = build_table(values, labels, stored=stored)
    text = to_markdown(table, notes=["a note"])
    rows = [line for line in text.splitlines() if line.startswith("| ") and "proxy" not in line]
    assert [r.split("|")[1].strip() for r in rows][0] in ("good", "partial")
    assert rows[-1].split("|")[1].strip() == "bad"
    assert "Kendall τ" in text and "τ(ours, stored)" in text and "- a note" in text
    png = scatter_grid(values, labels, tmp_path / "grid.png", table)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_too_few_labels():
    from autogas.errors import AutogasError

    values, labels, _ = _frames()
    with pytest.raises(AutogasError):
        build_table(values, labels.where(labels.index.isin(["a0", "a1"])))


@pytest.fixture(scope="module")
def tiny_cache(tmp_path_factory, macro_labels):
    out = tmp_path_factory.mktemp("bl") / "tiny.h5"
    assert main(["bench", "build", "--space", "macro", "--labels", str(macro_labels), "--out",
                 str(out), "--limit", "4", "--batch", "4", "--resolution", "32",
                 "--max-dims", "64"]) == 0
    return out


def test_cli_report_files_agreement_and_instant_rerun(tiny_cache, macro_labels, tmp_path,
                                                     capsys, monkeypatch):
    args = ["baselines", "--bench", str(tiny_cache), "--labels", str(macro_labels),
            "--proxies", "params,flops,nwot,snip,zico,l2_norm", "--extra", "trace(ksum(gram(F)))",
            "--protocol", "cache", "--net-batch", "2", "--out", str(tmp_path / "rep"), "--json"]
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    rows = {r["proxy"]: r for r in report["rows"]}
    assert set(rows) == {"params", "flops", "nwot", "snip", "zico", "l2_norm", "trace(ksum(gram(F)))"}
    assert all(set(r) == set(COLUMNS) for r in rows.values())
    for name in ("params", "flops", "l2_norm"):  # exact reimplementations of the stored scores
        assert rows[name]["agreement_kendall"] == pytest.approx(1.0), name
    assert rows["snip"]["pass"] == "network+gradients" and rows["nwot"]["pass"] == "features"
    # ZiCo needs two batches of >= 2 images: with --net-batch 2 it fails on every arch, visibly
    assert rows["zico"]["stored_kendall"] is None and rows["zico"]["failed"] == 4
    assert any("zico failed on 4 arch(s)" in n for n in report["notes"])
    assert report["net_batch"] == 2
    assert any("second pass" in n and "cannot give" in n for n in report["notes"])
    for suffix in ("md", "json", "png"):
        assert (tmp_path / "rep" / f"baselines.{suffix}").stat().st_size > 0

    import autogas.transnas.network as network

    def no_rebuild(*a, **k):
        raise AssertionError("values should come from the cache file")

    monkeypatch.setattr(network, "build_network", no_rebuild)
    assert main(args[:-3] + ["--json"]) == 0
    again = {r["proxy"]: r for r in json.loads(capsys.readouterr().out)["rows"]}
    assert again["snip"]["kendall"] == rows["snip"]["kendall"]
    from autogas.cache import FeatureCache

    stored = FeatureCache(tiny_cache).scores()
    assert {"baseline_snip", "baseline_nwot", "baseline_params"} <= set(stored.columns)


def test_cli_errors(tiny_cache, capsys):
    assert main(["baselines", "--bench", str(tiny_cache), "--proxies", "nope"]) == 2
    assert "unknown baseline proxy 'nope'" in capsys.readouterr().err
    assert main(["baselines"]) == 2
    assert main(["baselines", "--bench", str(tiny_cache), "--protocol", "cache", "--net-batch", "9"]) == 2
    assert main(["baselines", "--list"]) == 0
    listing = capsys.readouterr().out
    assert "synflow" in listing and "deviation" in listing


def test_worker_processes_give_the_serial_values(tiny_cache, tmp_path):
    import shutil

    from autogas.baselines.runner import compute_on_cache

    serial, parallel = tmp_path / "serial.h5", tmp_path / "parallel.h5"
    shutil.copyfile(tiny_cache, serial)
    shutil.copyfile(tiny_cache, parallel)
    names = ["plain", "grad_norm"]  # not stored in the shared tiny cache by other tests
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the workers' setting: same float summation order
    try:
        one = compute_on_cache(serial, names, net_batch=2, progress=False)
    finally:
        torch.set_num_threads(threads)
    two = compute_on_cache(parallel, names, net_batch=2, progress=False, workers=2)
    assert one.computed == two.computed == {"plain": 4, "grad_norm": 4}
    np.testing.assert_allclose(two.values.to_numpy(), one.values.to_numpy(), rtol=1e-5)
