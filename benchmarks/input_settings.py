"""How the baseline proxies' Kendall tau depends on the cache's input resolution, batch and
per-layer feature budget (the table that fixed the defaults of ``autogas bench build``).

    python benchmarks/input_settings.py --archs 120

For every setting it builds a cache of the first N macro dev archs under
``benchmarks/work/`` (reused if present) and scores the proxies below against SSIM.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from _common import MACRO_LABELS, REPO, write_result

from autogas.transnas.build import CacheSettings, build_cache
from autogas.cache import FeatureCache
from autogas.proxy import ProxyGraph, evaluate_proxy, rank_scores
from autogas.transnas.labels import load_labels

PROXIES = {
    "nwot (hamming, above_zero)": "slogdet(ksum(hamming(above_zero(F))))",
    "paper eq.4": "square(slogdet(ksum(gram(above_mean(swish(F))))))",
    "vanilla gram": "slogdet(ksum(gram(F)))",
}
SETTINGS = [  # (resolution, batch, max_dims)
    (32, 16, 2048), (64, 8, 2048), (64, 16, 512), (64, 16, 2048), (64, 16, 8192),
    (64, 32, 2048), (128, 16, 2048),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", type=int, default=120)
    args = parser.parse_args()
    table = load_labels(MACRO_LABELS, space="macro")
    work = REPO / "benchmarks" / "work"
    rows = []
    for resolution, batch, max_dims in SETTINGS:
        out = work / f"macro_r{resolution}_b{batch}_d{max_dims}.h5"
        settings = CacheSettings(space="macro", resolution=resolution, batch=batch, max_dims=max_dims)
        start = time.perf_counter()
        summary = build_cache(table, out, settings, limit=args.archs)
        cache = FeatureCache(out)
        feats = cache.load(cache.archs[: args.archs])
        labels = cache.labels[: args.archs]
        forward = cache.table["forward_seconds"].to_numpy()[: args.archs]
        row = {"resolution": resolution, "batch": batch, "max_dims": max_dims,
               "forward_seconds_median": float(np.median(forward)),
               "build_seconds": time.perf_counter() - start, "newly_cached": summary["computed"]}
        for name, text in PROXIES.items():
            res = evaluate_proxy(ProxyGraph.parse(text), feats)
            row[name] = rank_scores(res.values, labels)["kendall"]
        row["flops (stored)"] = rank_scores(cache.table["flops"].to_numpy()[: args.archs], labels)["kendall"]
        rows.append(row)
        print(row, flush=True)
    lines = ["| resolution | batch | max_dims | median forward s/arch | " + " | ".join(list(PROXIES) + ["flops (stored)"]) + " |",
             "|---" * (4 + len(PROXIES) + 1) + "|"]
    for r in rows:
        spa = f"{r['forward_seconds_median']:.3f}"
        vals = " | ".join(f"{r[k]:+.3f}" for k in list(PROXIES) + ["flops (stored)"])
        lines.append(f"| {r['resolution']} | {r['batch']} | {r['max_dims']} | {spa} | {vals} |")
    print("\n".join(lines))
    (REPO / "benchmarks" / "results" / "input_settings.md").write_text(
        f"Kendall tau vs SSIM, first {args.archs} macro dev archs (`python benchmarks/input_settings.py "
        f"--archs {args.archs}`). Forward times are per-arch medians recorded in each cache when it "
        f"was built (include hooking; measured while other jobs shared the 2 cores, so compare "
        f"rows only roughly).\n\n" + "\n".join(lines) + "\n")
    write_result("input_settings", {"archs": args.archs, "rows": rows})


if __name__ == "__main__":
    main()
