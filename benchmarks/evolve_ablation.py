"""Which ingredients of the proxy language matter (a Table-5-like ablation; run on a quiet machine).

    python benchmarks/evolve_ablation.py [--bench benchmarks/work/transnas.h5] [--seeds 0 1 2]
        [--generations 100] [--jobs 2] [--configs paper full ...]

Each configuration is one search at the paper's settings (P=20, k=5, 50 validation archs, T
generations) per seed; the seed also draws the validation split, so the spread over seeds includes
the split's. Configurations: the paper's chain alone (transform -> encoding -> kernel -> sum over
layers -> reduction -> augment), the chain plus each ingredient (per-layer kernel normalisation,
layer aggregations, branch-combining nodes, architecture statistics), everything but statistics,
everything, and random search over everything at the same budget (every candidate a random
immigrant). Reference rows: the fixed paper proxy and the vanilla Gram proxy on the same test
splits. Runs go to ``--jobs`` processes (each search evaluates serially in its process).
Writes ``benchmarks/results/evolve_ablation.json`` and ``.md``.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import numpy as np

from _common import REPO, RESULTS, write_result
from autogas.atomic import write_text_atomic
from autogas.cache import FeatureCache
from autogas.evolve import EvolutionSettings, evolve, score_archs, split_archs, state_summary
from autogas.proxy import read_proxy_json

CONFIGS: dict[str, dict] = {
    "paper chain only": {"language": "paper"},
    "+ per-layer normalisation": {"language": "paper+norm"},
    "+ layer aggregations": {"language": "paper+agg"},
    "+ combine nodes": {"language": "paper+combine"},
    "+ statistics terminals": {"language": "paper+stats"},
    "all but statistics": {"language": "paper+agg+combine+norm"},
    "all (full)": {"language": "full"},
    "random search (full, same budget)": {"language": "full", "ratio": 0.0},
}
REFERENCES = ("autogas_paper", "gram_vanilla")


def run_one(bench: str, config: str, seed: int, generations: int) -> dict:
    """One search; returns its best proxy and scores (the val split is the search's)."""
    settings = EvolutionSettings(generations=generations, seed=seed, **CONFIGS[config])
    t0 = time.perf_counter()
    result = evolve(bench, settings, progress=False)
    seconds = time.perf_counter() - t0
    cache = FeatureCache(bench)
    return {"config": config, "seed": seed, "proxy": result.best, "seconds": round(seconds, 1),
            "val": result.state.fitness[result.best].kendall,
            "test": score_archs(result.best, cache, result.test_archs),
            **{k: v for k, v in state_summary(result.state).items() if k != "seconds"}}


def reference_rows(bench: str, seeds: list[int]) -> list[dict]:
    cache = FeatureCache(bench)
    rows = []
    for name in REFERENCES:
        graph, _ = read_proxy_json(REPO / "proxies" / f"{name}.json")
        for seed in seeds:
            val, test = split_archs(cache, 50, seed)
            rows.append({"config": f"fixed: {name}", "seed": seed, "proxy": graph.text,
                         "val": score_archs(graph, cache, val)["kendall"],
                         "test": score_archs(graph, cache, test)})
    return rows


def _mean_std(values: list) -> str:
    v = np.asarray([np.nan if x is None else x for x in values], dtype=np.float64)
    return f"{np.nanmean(v):.3f} ± {np.nanstd(v):.3f}" if np.isfinite(v).any() else "invalid"


def _fmt(value: float | None) -> str:
    return "invalid" if value is None else f"{value:.3f}"


def markdown(payload: dict) -> str:
    lines = [
        "# Ablation of the proxy search (which ingredients matter)", "",
        f"Command: `{payload['command']}`  ",
        f"Cache: `{payload['bench']}` ({payload['n_labelled']} labelled archs); seeds "
        f"{payload['seeds']}; P=20, k=5, T={payload['generations']}, 50 validation archs drawn by "
        "the seed, test = the other labelled archs. Mean ± std over seeds.", "",
        "| configuration | val τ | test τ | test ρ | test r | evals | invalid | s/run |",
        "|---|---|---|---|---|---|---|---|",
    ]
    order = list(CONFIGS) + [f"fixed: {n}" for n in REFERENCES]
    for config in order:
        rows = [r for r in payload["runs"] if r["config"] == config]
        if not rows:
            continue
        test = [r["test"] for r in rows]
        lines.append(
            f"| {config} | {_mean_std([r['val'] for r in rows])} | "
            f"{_mean_std([t['kendall'] for t in test])} | {_mean_std([t['spearman'] for t in test])} "
            f"| {_mean_std([t['pearson'] for t in test])} | "
            f"{rows[0].get('evaluations', '-')} | "
            f"{_mean_std([r.get('invalid') for r in rows]) if 'invalid' in rows[0] else '-'} | "
            f"{_mean_std([r.get('seconds') for r in rows]) if 'seconds' in rows[0] else '-'} |")
    lines += ["", "Best proxy of each run:", ""]
    lines += [f"- {r['config']}, seed {r['seed']}: val {_fmt(r['val'])}, test "
              f"{_fmt(r['test']['kendall'])} `{r['proxy']}`"
              for r in payload["runs"] if not r["config"].startswith("fixed")]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", default=str(REPO / "benchmarks" / "work" / "transnas.h5"))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--generations", type=int, default=100)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--configs", nargs="+", choices=list(CONFIGS), default=list(CONFIGS))
    args = ap.parse_args()
    tasks = [(args.bench, c, s, args.generations) for s in args.seeds for c in args.configs]
    with ProcessPoolExecutor(args.jobs, mp_context=get_context("spawn"),
                             max_tasks_per_child=1) as pool:  # a fresh process per search
        runs = list(pool.map(run_one, *zip(*tasks)))
    for r in runs:
        print(f"{r['config']:<36} seed {r['seed']}: val {_fmt(r['val'])} test "
              f"{_fmt(r['test']['kendall'])} ({r['seconds']} s) {r['proxy']}")
    cache = FeatureCache(args.bench)
    payload = {"bench": args.bench, "n_labelled": int(np.isfinite(cache.labels).sum()),
               "seeds": args.seeds, "generations": args.generations,
               "settings": dataclasses.asdict(EvolutionSettings(generations=args.generations)),
               "runs": runs + reference_rows(args.bench, args.seeds)}
    path = write_result("evolve_ablation", payload)
    payload["command"] = json.loads(path.read_text())["command"]
    write_text_atomic(RESULTS / "evolve_ablation.md", markdown(payload))
    print(markdown(payload))


if __name__ == "__main__":
    main()
