"""``autogas score``: rank correlation of one proxy with the labels of a feature cache."""
from __future__ import annotations

import json

import numpy as np

from autogas.errors import AutogasError

CHUNK_ARCHS = 64


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "score", help="score a proxy on a feature cache (Kendall/Spearman/Pearson with labels)")
    p.add_argument("--proxy", help="proxy JSON file, proxy text (e.g. 'slogdet(ksum(gram(F)))') or a "
                                        "feature-based baseline name (nwot, gram_slogdet)")
    p.add_argument("--bench", help="feature cache (HDF5) built by 'autogas bench build'")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--list-ops", action="store_true", help="list the ops of the proxy language")
    p.set_defaults(func=run)


def _graph(spec: str):
    """The proxy graph of ``spec`` (text, JSON file, or a feature-based baseline name)."""
    from autogas.proxy import load_proxy
    from autogas.resolve import resolve_proxy

    proxy = resolve_proxy(spec)
    if getattr(proxy, "graph", None):
        return load_proxy(proxy.graph)
    if hasattr(proxy, "needs_grad"):
        raise AutogasError(f"baseline '{proxy.name}' needs a pass over the networks, not the feature "
                           f"cache; use: autogas baselines --bench H5 --proxies {proxy.name}")
    return proxy


def run(args) -> int:
    from autogas.proxy import describe, evaluate_proxy, rank_scores

    if args.list_ops:
        print(describe())
        return 0
    if not args.proxy or not args.bench:
        raise AutogasError("score needs --proxy and --bench (or --list-ops)")
    from tqdm import tqdm

    from autogas.cache import FeatureCache

    graph = _graph(args.proxy)
    cache = FeatureCache(args.bench)
    labels = cache.labels
    archs = [a for a, y in zip(cache.archs, labels) if np.isfinite(y)]
    if len(archs) < 3:
        raise AutogasError(f"{args.bench} has {len(archs)} labelled architectures; need at least 3")
    chunks = [archs[i:i + CHUNK_ARCHS] for i in range(0, len(archs), CHUNK_ARCHS)]
    feature_sets = (fs for chunk in tqdm(chunks, desc="scoring", unit="chunk", disable=None)
                    for fs in cache.load(chunk))
    result = evaluate_proxy(graph, feature_sets, chunk_archs=CHUNK_ARCHS)
    report = {"proxy": graph.text,
              **rank_scores(result.values, labels[np.isfinite(labels)])}
    if result.invalid:
        report["reason"] = result.reason
    if args.json:
        print(json.dumps(report))
    elif report["invalid"]:
        print(f"{graph.text}: invalid ({report['reason']}) on {report['n']} archs")
    else:
        print(f"{graph.text}: kendall {report['kendall']:+.4f}  spearman "
              f"{report['spearman']:+.4f}  pearson {report['pearson']:+.4f}  (n={report['n']})")
    return 0
