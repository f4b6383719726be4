"""``autogas score``: rank correlation of one proxy with the labels of one or more feature caches.

One row per ``--bench`` (Kendall, Spearman, Pearson, n, NaN count), all through
:func:`autogas.score.score_on_cache`: a network the proxy fails on is NaN, ranked last and
counted; an unlabelled cache gets n, NaN count and whether the proxy is constant there."""
from __future__ import annotations

import json

import numpy as np

from autogas.errors import AutogasError

def register(subparsers) -> None:
    p = subparsers.add_parser(
        "score", help="score a proxy on a feature cache (Kendall/Spearman/Pearson with labels)")
    p.add_argument("--proxy", help="proxy JSON file, proxy text (e.g. 'slogdet(ksum(gram(F)))') or a "
                                        "feature-based baseline name (nwot, gram_slogdet)")
    p.add_argument("--bench", "--cache", dest="benches", action="append", metavar="H5",
                   help="feature cache (HDF5) built by 'autogas bench build' or 'bench train' "
                        "(repeatable: one row per cache)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--list-ops", action="store_true", help="list the ops of the proxy language")
    p.set_defaults(func=run)


def _graph(spec: str):
    """The proxy graph of ``spec`` (text, JSON file, or a feature-based baseline name)."""
    from autogas.proxy import load_proxy
    from autogas.score.resolve import resolve_proxy

    proxy = resolve_proxy(spec)
    if getattr(proxy, "graph", None):
        return load_proxy(proxy.graph)
    if hasattr(proxy, "needs_grad"):
        raise AutogasError(f"baseline '{proxy.name}' needs a pass over the networks, not the feature "
                           f"cache; use: autogas baselines --bench H5 --proxies {proxy.name}")
    return proxy


def run(args) -> int:
    from autogas.proxy import describe

    if args.list_ops:
        print(describe())
        return 0
    if not args.proxy or not args.benches:
        raise AutogasError("score needs --proxy and --bench (or --list-ops)")
    from autogas.cache import FeatureCache
    from autogas.progress import progress_bar
    from autogas.score import describe_scores, score_on_cache

    graph = _graph(args.proxy)
    caches = [FeatureCache(b) for b in args.benches]  # every file is checked before any work
    rows = []
    for bench, cache in zip(args.benches, caches):
        labelled = int(np.isfinite(cache.labels).sum())
        if 0 < labelled < 3:
            raise AutogasError(f"{bench} has {labelled} labelled architectures; need at least 3")
        scored = score_on_cache(graph, cache, progress=lambda it: progress_bar(
            it, desc=f"scoring {bench}", unit="chunk"))
        rows.append({"bench": bench, **scored.scores})
    if args.json:
        report = {"proxy": graph.text, "benches": rows}
        if len(rows) == 1:  # the one-bench layout of earlier versions, kept
            report = {"proxy": graph.text, **{k: v for k, v in rows[0].items() if k != "bench"}}
        print(json.dumps(report))
        return 0
    print(graph.text)
    for row in rows:
        print(f"  {row['bench']}: {describe_scores(row)}")
    return 0
