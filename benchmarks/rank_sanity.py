"""Sanity of proxy rankings: what the proxy's top decile looks like, and where it puts published configs.

    python benchmarks/rank_sanity.py                       # 200 CycleGANAS, 1000 GAN-Compression, 128x128 batch 8
    python benchmarks/rank_sanity.py --samples 20 --gc-samples 10 --resolution 32 --batch 2 --hidden 8 --n-cells 3   # smoke

1. CycleGANAS: ``--samples`` distinct random generators are scored; the top decile by proxy
   score is compared with a random decile (a seeded random 10 % of the same samples): mean
   params and MACs (at 256x256), the op histogram per cell type, Mann-Whitney U p-values for
   params/MACs and chi-square p-values for the op histograms, and Spearman's rho of the score
   with params and MACs over all samples (is the proxy just a size proxy?).
2. GAN-Compression: ``--gc-samples`` distinct random ``channels-32`` configs are scored with the
   two published compressed configs; each published config's rank among them (1 = best).
   ``16_16_24_16_32_64_16_24`` (Fast GAN Compression) has a 64 at c5, outside ``channels-32``:
   it is built with the same builder and ranked against the same random configs.

Writes ``benchmarks/results/rank_sanity.json`` and ``.md``.
"""
from __future__ import annotations

import argparse
import collections
import math
import time

import numpy as np
import scipy.stats
from _common import RESULTS, REPO, write_result
from tqdm import tqdm

from autogas.search.budget import format_count, sample_distinct
from autogas.atomic import write_text_atomic
from autogas.measure.inputs import input_batch
from autogas.search.scorer import GeneratorScorer, open_space
from autogas.spaces.cyclegan import OP_TABLES

PUBLISHED = {"16_16_32_16_32_32_16_16": "GAN Compression (horse2zebra)",
             "16_16_24_16_32_64_16_24": "Fast GAN Compression (horse2zebra)"}


def score_all(scorer: GeneratorScorer, archs: list, desc: str) -> tuple[list[dict], float]:
    """Score and cost (at 256) of every arch; also the wall time."""
    start = time.perf_counter()
    rows = []
    for arch in tqdm(archs, desc=desc, unit="arch"):
        result = scorer.score(arch)
        cost = scorer.space.cost(arch, resolution=256)
        rows.append({"arch": result.arch, "genes": arch, "score": result.score, "params": cost.params,
                     "macs": cost.macs, "seconds": result.seconds})
    return rows, time.perf_counter() - start


def op_histogram(space, rows: list[dict]) -> dict[str, dict[str, int]]:
    """Counts of each op name per cell type over ``rows``."""
    hist = {t: collections.Counter({op: 0 for op in OP_TABLES[t]}) for t in set(space.cell_types)}
    for row in rows:
        for cell_type, ops in zip(space.cell_types, space.cell_ops(row["genes"])):
            hist[cell_type].update(ops)
    return {t: dict(c) for t, c in sorted(hist.items())}


def chi_square_p(a: dict[str, int], b: dict[str, int]) -> float | None:
    """p-value of a chi-square test that two op histograms share one distribution."""
    table = np.array([[a[k] for k in a], [b[k] for k in a]])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return None
    return float(scipy.stats.chi2_contingency(table).pvalue)


def decile_summary(space, rows: list[dict]) -> dict:
    return {"n": len(rows), "mean_params": float(np.mean([r["params"] for r in rows])),
            "mean_macs": float(np.mean([r["macs"] for r in rows])),
            "mean_score": float(np.nanmean([r["score"] for r in rows])),
            "op_histogram": op_histogram(space, rows)}


def cyclegan_part(args, inputs) -> dict:
    space = open_space("cyclegan", n_cells=args.n_cells, hidden=args.hidden)
    scorer = GeneratorScorer(space, args.proxy, inputs, seed=args.seed, device=args.device)
    archs = sample_distinct(space, args.samples, np.random.default_rng(args.seed))
    rows, seconds = score_all(scorer, archs, "cyclegan")
    valid = [r for r in rows if math.isfinite(r["score"])]
    k = max(2, len(valid) // 10)
    top = sorted(valid, key=lambda r: -r["score"])[:k]
    pick = np.random.default_rng(args.seed + 1).choice(len(valid), size=k, replace=False)
    rand = [valid[i] for i in sorted(pick)]
    top_s, rand_s = decile_summary(space, top), decile_summary(space, rand)
    tests = {
        "params_mannwhitney_p": float(scipy.stats.mannwhitneyu(
            [r["params"] for r in top], [r["params"] for r in rand]).pvalue),
        "macs_mannwhitney_p": float(scipy.stats.mannwhitneyu(
            [r["macs"] for r in top], [r["macs"] for r in rand]).pvalue),
        "op_chi2_p": {t: chi_square_p(top_s["op_histogram"][t], rand_s["op_histogram"][t])
                      for t in top_s["op_histogram"]},
        "spearman_score_params": float(scipy.stats.spearmanr(
            [r["score"] for r in valid], [r["params"] for r in valid]).statistic),
        "spearman_score_macs": float(scipy.stats.spearmanr(
            [r["score"] for r in valid], [r["macs"] for r in valid]).statistic),
    }
    return {"samples": len(rows), "invalid_scores": len(rows) - len(valid), "decile_size": k,
            "seconds": seconds, "seconds_per_candidate": seconds / len(rows),
            "top_decile": top_s, "random_decile": rand_s, "tests": tests,
            "top_decile_archs": [r["arch"] for r in top]}


def gan_compression_part(args, inputs) -> dict:
    space = open_space("gan-compression", config_set="channels-32")
    wide = open_space("gan-compression", config_set="channels-64-cycleGAN")  # admits both published
    scorer = GeneratorScorer(wide, args.proxy, inputs, seed=args.seed, device=args.device)
    archs = sample_distinct(space, args.gc_samples, np.random.default_rng(args.seed))
    rows, seconds = score_all(scorer, archs, "gan-compression")
    published, _ = score_all(scorer, [wide.parse(a) for a in PUBLISHED], "published")
    scores = np.array([r["score"] for r in rows])
    ranks = {}
    for row in published:
        better = int(np.sum(scores > row["score"]))
        ranks[row["arch"]] = {"source": PUBLISHED[row["arch"]], "score": row["score"],
                              "params": row["params"], "macs": row["macs"], "rank": better + 1,
                              "of": len(rows) + 1, "percentile_from_top": (better + 1) / (len(rows) + 1),
                              "in_channels_32": all(int(c) in space.choices[0]
                                                    for c in row["arch"].split("_"))}
    per = seconds / len(rows)
    return {"random_configs": len(rows), "seconds": seconds, "seconds_per_candidate": per,
            "estimated_seconds_for_1000": per * 1000, "published": ranks,
            "random_score_quantiles": {q: float(np.nanquantile(scores, q)) for q in (0.1, 0.5, 0.9)},
            "spearman_score_macs": float(scipy.stats.spearmanr(
                scores, [r["macs"] for r in rows], nan_policy="omit").statistic)}


def markdown(payload: dict) -> str:
    cg, gc, s = payload["cyclegan"], payload["gan_compression"], payload["settings"]
    lines = [f"# Proxy ranking sanity ({s['proxy_name']})", "",
             f"Scoring at {s['resolution']}x{s['resolution']}, batch {s['batch']}, seed {s['seed']}; "
             "params and MACs at 256x256.", "",
             f"## CycleGANAS: top decile vs random decile of {cg['samples']} samples "
             f"(H {s['hidden']}, {s['n_cells']} cells; {cg['decile_size']} each)", "",
             "| | mean params | mean MACs | mean score |", "|---|---|---|---|"]
    for name in ("top_decile", "random_decile"):
        d = cg[name]
        lines.append(f"| {name.replace('_', ' ')} | {format_count(d['mean_params'])} | "
                     f"{format_count(d['mean_macs'])} | {d['mean_score']:.6g} |")
    t = cg["tests"]
    lines += ["", f"Mann-Whitney p: params {t['params_mannwhitney_p']:.3g}, MACs {t['macs_mannwhitney_p']:.3g}. "
              f"Spearman(score, params) {t['spearman_score_params']:+.3f}, "
              f"(score, MACs) {t['spearman_score_macs']:+.3f} over all samples.", ""]
    for cell_type, top_hist in cg["top_decile"]["op_histogram"].items():
        rand_hist = cg["random_decile"]["op_histogram"][cell_type]
        p = t["op_chi2_p"][cell_type]
        lines += [f"**{cell_type} ops** (chi-square p {p:.3g})" if p is not None else f"**{cell_type} ops**", "",
                  "| op | top decile | random decile |", "|---|---|---|"]
        lines += [f"| {op} | {top_hist[op]} | {rand_hist[op]} |" for op in top_hist] + [""]
    lines += [f"## GAN-Compression: published configs among {gc['random_configs']} random channels-32 "
              "configs", "", "| config | source | score | params | MACs | rank |", "|---|---|---|---|---|---|"]
    for arch, r in gc["published"].items():
        lines.append(f"| {arch} | {r['source']} | {r['score']:.6g} | {format_count(r['params'])} | "
                     f"{format_count(r['macs'])} | {r['rank']} of {r['of']} |")
    lines += ["", f"{gc['seconds_per_candidate']:.2f} s per config; 1,000 configs would take "
              f"{gc['estimated_seconds_for_1000'] / 60:.1f} min on this machine. "
              f"Spearman(score, MACs) over the random configs {gc['spearman_score_macs']:+.3f}.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--gc-samples", type=int, default=1000)
    parser.add_argument("--resolution", type=int, default=128)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--n-cells", type=int, default=11)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--proxy", default=str(REPO / "proxies" / "autogas_paper.json"))
    parser.add_argument("--name", default="rank_sanity", help="result file name")
    args = parser.parse_args()
    inputs = input_batch("images", args.batch, args.resolution, args.seed)
    from autogas.search.scorer import proxy_name, resolve_proxy

    settings = {k: getattr(args, k) for k in ("samples", "gc_samples", "resolution", "batch", "hidden",
                                              "n_cells", "seed", "device", "proxy")}
    settings["proxy_name"] = proxy_name(resolve_proxy(args.proxy))
    payload = {"settings": settings, "cyclegan": cyclegan_part(args, inputs),
               "gan_compression": gan_compression_part(args, inputs)}
    path = write_result(args.name, payload)
    write_text_atomic(RESULTS / f"{args.name}.md", markdown(payload))
    print(markdown(payload))
    print(f"-> {path}")


if __name__ == "__main__":
    main()
