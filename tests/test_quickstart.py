"""The README's quick start, run as written but at tiny sizes: its evolved proxy reads activations
and tells the ranked generators apart.

The commands are taken from the README's first line (so the test follows the README), with sizes
shrunk (12 archs at 32 px, 2 generations, 4 generators) and paths sent to a temporary folder.
"""
from __future__ import annotations

import dataclasses
import json
import shlex
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from autogas.cache import FeatureCache
from autogas.cli import main
from autogas.measure.features import FeatureSet
from autogas.proxy import ProxyGraph, evaluate_proxy

REPO = Path(__file__).resolve().parents[1]


def readme_commands() -> dict[str, list[str]]:
    """``{"bench build": args, "evolve": args, "rank": args}`` of the README's first command line."""
    block = (REPO / "README.md").read_text().split("```bash", 1)[1].split("```", 1)[0]
    lines = [line for line in block.strip().splitlines() if line.strip()]
    assert len(lines) == 2, "the README's first commands are exactly two lines"
    assert lines[1].strip() == "python -m pytest -q tests"
    out = {}
    for part in lines[0].split("&&"):
        words = shlex.split(part)
        if words[0] != "autogas":
            continue
        name = " ".join(words[1:3]) if words[1] == "bench" else words[1]
        out[name] = words[1:]
    assert set(out) == {"bench build", "evolve", "rank"}, out
    return out


def _with(words: list[str], **options: str) -> list[str]:
    """``words`` with ``--key value`` set (replaced if present, appended if not)."""
    words = list(words)
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        if flag in words:
            words[words.index(flag) + 1] = value
        else:
            words += [flag, value]
    return words


def _fresh_values(fs: FeatureSet, rng: np.random.Generator) -> FeatureSet:
    """Same layers and shapes, new Gaussian activations and their statistics (an independent redraw)."""
    features = [rng.standard_normal(x.shape).astype(np.float32) * 2.0 + 0.3 for x in fs.features]
    layers = [dataclasses.replace(info, mean=float(x.mean()), std=float(x.std()),
                                  frac_positive=float((x > 0).mean())) for x, info in zip(features, fs.layers)]
    return FeatureSet(features, layers)


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory, macro_labels):
    root = tmp_path_factory.mktemp("quickstart")
    cmds = readme_commands()
    cache, evolved, ranking = root / "transnas.h5", root / "evolved.json", root / "ranking.csv"
    build = _with(cmds["bench build"], labels=str(macro_labels), limit="12", resolution="32", batch="4",
                  out=str(cache))
    assert main(build) == 0
    evolve = _with(cmds["evolve"], bench=str(cache), out=str(evolved), generations="2", population="8",
                   val_size="6", workers="1")
    assert main(evolve) == 0
    rank = _with(cmds["rank"], proxy=str(evolved), n="4", resolution="32", out=str(ranking))
    assert main(rank) == 0
    return {"cache": cache, "evolved": evolved, "ranking": ranking}


def test_quickstart_evolves_an_activation_reading_proxy(quickstart):
    proxy = json.loads(quickstart["evolved"].read_text())["proxy"]
    feature_sets = FeatureCache(quickstart["cache"]).load()
    before = evaluate_proxy(ProxyGraph.parse(proxy), feature_sets).values
    rng = np.random.default_rng(0)
    after = evaluate_proxy(ProxyGraph.parse(proxy), [_fresh_values(fs, rng) for fs in feature_sets]).values
    assert np.isfinite(before).sum() >= 2
    changed = ~np.isclose(before, after, rtol=1e-6, atol=0) & np.isfinite(before)
    assert changed.any(), f"{proxy} gives the same values when only the layer shapes are kept"
    assert (quickstart["evolved"].with_suffix(".png")).exists()


def test_quickstart_ranks_generators_with_the_evolved_proxy(quickstart):
    table = pd.read_csv(quickstart["ranking"])
    assert len(table) == 4
    proxy = json.loads(quickstart["evolved"].read_text())["proxy"]
    record = json.loads(Path(str(quickstart["ranking"]) + ".json").read_text())
    assert record["settings"]["proxy"] == proxy  # ranked with the proxy just evolved
    score = table["score"].to_numpy(float)
    assert np.isfinite(score).sum() >= 2 and np.unique(score[np.isfinite(score)]).size >= 2, table
