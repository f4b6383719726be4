"""One proxy search at the paper's settings on the full TransNAS macro cache (run on a quiet machine).

    python benchmarks/evolve_search.py [--bench benchmarks/work/transnas.h5] [--seed 0]
        [--workers 2] [--languages full paper+agg+combine+norm] [--ship proxies/autogas_evolved.json]

Runs ``autogas evolve``'s engine with (P, T, k, val) = (20, 100, 5, 50), times it (wall clock,
worker start-up included), and reports evaluations/second, the best proxy's Kendall / Spearman /
Pearson on the validation split and on the disjoint test split (every other labelled arch), and
the comparison rows on the same splits: stored FLOPs and params (from the labels file; not usable
as proxy terminals), NWOT as a proxy-language graph, the paper's eq. 4 proxy and the vanilla Gram
proxy. Writes ``benchmarks/results/evolve_search.json`` and ``.md``; ``--ship`` also writes the
best proxy file of the first language (what ``autogas evolve --out`` writes) with the
equivalent CLI command. The default second language, everything but the architecture statistics,
shows the best proxy that actually reads the activations.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np

from _common import REPO, RESULTS, write_result
from autogas.atomic import write_text_atomic
from autogas.baselines.activation import NWOT_GRAPH
from autogas.cache import FeatureCache
from autogas.evolve import EvolutionSettings, evolve, make_map, score_archs, search_report
from autogas.proxy import rank_scores, read_proxy_json

PROXIES = REPO / "proxies"
EXPECTED_ARCHS = 498


def comparison_rows(cache: FeatureCache, archs: list[str]) -> dict[str, dict]:
    """Reference proxies scored on ``archs`` (stored FLOPs/params are label-file columns)."""
    labels = cache.table.loc[archs, "label"].to_numpy(dtype=np.float64)
    rows = {f"{col} (stored)": rank_scores(cache.table.loc[archs, col].to_numpy(np.float64), labels)
            for col in ("flops", "params")}
    rows["NWOT: " + NWOT_GRAPH] = score_archs(NWOT_GRAPH, cache, archs)
    for name in ("autogas_paper", "gram_vanilla"):
        graph, _ = read_proxy_json(PROXIES / f"{name}.json")
        rows[f"{name}: {graph.text}"] = score_archs(graph, cache, archs)
    return rows


def _cell(scores: dict, key: str) -> str:
    value = scores.get(key)
    return "invalid" if value is None else f"{value:.3f}"


def markdown(payload: dict) -> str:
    first = payload["searches"][0]["report"]
    lines = [
        "# Proxy evolution at the paper's settings",
        "",
        f"Command: `{payload['command']}`  ",
        f"Cache: `{payload['bench']}` ({payload['n_archs']} archs, {payload['n_labelled']} "
        f"labelled; {first['bench_settings']})  ",
        f"Settings: {json.dumps(first['settings'])} (language per row)  ",
        f"Split: {first['n_val']} validation archs (fitness), {first['n_test']} test archs "
        "(report), the same for every row.",
        "",
    ]
    for search in payload["searches"]:
        rep = search["report"]
        lines.append(
            f"- language `{search['language']}`: **{search['search_seconds']:.1f} s** wall clock "
            f"for {rep['evaluations']} evaluations ({rep['invalid']} invalid) = "
            f"**{search['evals_per_second']:.1f} evals/s** with {payload['workers']} worker(s); "
            f"val/test/all scoring {search['report_seconds']:.1f} s. Equivalent CLI: "
            f"`{search['equivalent_cli']}`")
    lines += ["", "| proxy | val τ | test τ | test ρ | test r |", "|---|---|---|---|---|"]
    for search in payload["searches"]:
        sc = search["report"]["scores"]
        lines.append(f"| **evolved ({search['language']})**: `{search['report']['proxy']}` | "
                     f"{_cell(sc['val'], 'kendall')} | {_cell(sc['test'], 'kendall')} | "
                     f"{_cell(sc['test'], 'spearman')} | {_cell(sc['test'], 'pearson')} |")
    for name, test in payload["comparisons"]["test"].items():
        val = payload["comparisons"]["val"][name]
        lines.append(f"| {name} | {_cell(val, 'kendall')} | {_cell(test, 'kendall')} | "
                     f"{_cell(test, 'spearman')} | {_cell(test, 'pearson')} |")
    lines += ["", "Paper (TransNAS macro autoencoder, 200 test archs): τ 0.611, ρ 0.793, r 0.813."]
    for search in payload["searches"]:
        lines += ["", f"Top-k at the end, language `{search['language']}` (validation τ):", ""]
        lines += [f"- {t['val_kendall']:.4f} `{t['proxy']}`" for t in search["report"]["top_k"]]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", default=str(REPO / "benchmarks" / "work" / "transnas.h5"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--languages", nargs="+", default=["full", "paper+agg+combine+norm"],
                    help="one search per language; the first one's proxy is shipped")
    ap.add_argument("--population", type=int, default=20)
    ap.add_argument("--generations", type=int, default=100)
    ap.add_argument("--ship", help="also write the first search's best proxy file here")
    args = ap.parse_args()

    cache = FeatureCache(args.bench)
    n_labelled = int(np.isfinite(cache.labels).sum())
    if len(cache.archs) < EXPECTED_ARCHS:
        print(f"warning: {args.bench} has {len(cache.archs)} archs, expected {EXPECTED_ARCHS}")
    searches = []
    for i, language in enumerate(args.languages):
        settings = EvolutionSettings(population=args.population, generations=args.generations,
                                     seed=args.seed, language=language)
        out = args.ship if args.ship and i == 0 else "best.json"
        cli = (f"autogas evolve --bench {args.bench} --out {out} --population {args.population} "
               f"--generations {args.generations} --topk 5 --val-size 50 --seed {args.seed} "
               f"--language {language} --workers {args.workers}")
        t0 = time.perf_counter()
        with make_map(args.workers) as fmap:
            result = evolve(args.bench, settings, fitness_map=fmap)
        search_seconds = time.perf_counter() - t0
        t0 = time.perf_counter()
        report = search_report(result, args.bench, command=cli)
        searches.append({
            "language": language, "search_seconds": round(search_seconds, 2),
            "report_seconds": round(time.perf_counter() - t0, 2),
            "evals_per_second": round(report["evaluations"] / search_seconds, 2),
            "equivalent_cli": cli, "report": report,
        })
    comparisons = {split: comparison_rows(cache, archs)
                   for split, archs in (("val", result.val_archs), ("test", result.test_archs))}
    payload = {"bench": args.bench, "n_archs": len(cache.archs), "n_labelled": n_labelled,
               "workers": args.workers, "searches": searches, "comparisons": comparisons}
    path = write_result("evolve_search", payload)
    payload["command"] = json.loads(path.read_text())["command"]
    write_text_atomic(RESULTS / "evolve_search.md", markdown(payload))
    if args.ship:
        write_text_atomic(args.ship, json.dumps(searches[0]["report"], indent=2) + "\n")
    print(markdown(payload))


if __name__ == "__main__":
    main()
