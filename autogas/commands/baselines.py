"""``autogas baselines``: baseline zero-cost proxies ranked against the labels of a feature cache."""
from __future__ import annotations

import json

from autogas.errors import AutogasError


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "baselines", help="rank baseline zero-cost proxies (params, FLOPs, NWOT, SNIP, ...) "
                          "against the labels of a feature cache")
    p.add_argument("--bench", help="feature cache (HDF5) built by 'autogas bench build'; the baseline "
                                   "values are stored in it (under /scores) and reused by later runs")
    p.add_argument("--labels", help="labels file whose stored NAS-Bench-Suite-Zero scores "
                                    "(params, flops, zc_*) are compared with ours")
    p.add_argument("--space", choices=("macro", "micro"),
                   help="search space of --labels (default: the cache's)")
    p.add_argument("--proxies", help="comma-separated baseline names (default: all; see --list)")
    p.add_argument("--extra", action="append", default=[], metavar="PROXY",
                   help="also rank this proxy-language graph (text or JSON file); repeatable")
    p.add_argument("--net-batch", type=int, default=None,
                   help="images of the network (gradient) pass: under --protocol cache the first "
                        "N of the cached batch (default: all), otherwise it replaces the protocol's "
                        "batch; a speed/fidelity knob, recorded with the values")
    p.add_argument("--protocol", default=None,
                   help="network-pass protocol of the gradient baselines: naslib (NAS-Bench-"
                        "Suite-Zero: 32 images at 256x256, one split, train-mode BN), naslib64 "
                        "(the same at 64x64; the default) or cache (the cache's batch in two "
                        "splits, the earlier default); see autogas.baselines.protocol")
    p.add_argument("--workers", type=int, default=1,
                   help="processes for the network pass, one torch thread each (default 1)")
    p.add_argument("--out", help="report folder: baselines.md, baselines.json, baselines.png "
                                 "(an existing report there is refused unless --overwrite)")
    p.add_argument("--overwrite", action="store_true", help="replace the report in an existing --out")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--list", action="store_true", help="list the baselines and their definitions")
    p.set_defaults(func=run)


def describe_baselines() -> str:
    """Every registered baseline: pass, definition, source and deviation."""
    from autogas.baselines import get_baseline, list_baselines
    from autogas.baselines.runner import baseline_pass

    blocks = []
    for name in list_baselines():
        b = get_baseline(name)
        blocks.append(f"{name}  [{b.family}; {baseline_pass(name)}]\n"
                      f"  definition: {' '.join(b.definition.split())}\n"
                      f"  source:     {b.source}\n  deviation:  {b.deviation}"
                      + (f"\n  graph:      {b.graph}" if b.graph else ""))
    return "\n".join(blocks)


def _notes(result, names: list[str], bench: str, extras: list[str]) -> list[str]:
    from autogas.baselines import get_protocol
    from autogas.baselines.runner import FEATURE_PASS, SCORE_PREFIX

    notes = []
    feature = [n for n in names if result.passes[n] == FEATURE_PASS] + extras
    network = [n for n in names if result.passes[n] != FEATURE_PASS]
    if feature:
        notes.append(f"computed on the cached forward-only features: {', '.join(feature)}")
    if network:
        grad = [n for n in network if result.passes[n].endswith("gradients")]
        notes.append(
            f"second pass over the networks, rebuilt as the cache built them (same init seed), "
            f"protocol {result.protocol} ({get_protocol(result.protocol).summary}; "
            f"{result.net_batch} images): {', '.join(network)}"
            + (f"; {', '.join(grad)} need gradients, which the forward-only feature cache "
               f"cannot give" if grad else ""))
    fresh = [n for n in names if result.computed[n]]
    notes.append(f"values cached in {bench} under /scores/{SCORE_PREFIX}<name>; "
                 + (f"computed now: {', '.join(f'{n} ({result.computed[n]} archs)' for n in fresh)}"
                    if fresh else "all read from the cache (nothing recomputed)"))
    if result.build_seconds is not None:
        notes.append(f"network rebuild: {result.build_seconds:.3f} s/arch (not in s/arch; shared "
                     f"by all network proxies of an arch)")
    notes.append("s/arch: the shared passes a proxy reads plus its own arithmetic, i.e. its cost "
                 "if computed alone")
    for name, errors in result.errors.items():
        if errors:
            first = next(iter(errors.items()))
            notes.append(f"{name} failed on {len(errors)} arch(s), e.g. {first[0]}: {first[1]}")
    return notes


def run(args) -> int:
    if args.list:
        print(describe_baselines())
        return 0
    if not args.bench:
        raise AutogasError("baselines needs --bench (or --list)")
    from autogas.baselines import Baseline, list_baselines
    from autogas.baselines.report import build_table, table_records, to_markdown, write_report
    from autogas.baselines.runner import check_names, compute_on_cache, graph_values
    from autogas.cache import FeatureCache
    from autogas.score.resolve import resolve_proxy

    if args.out:
        from autogas.atomic import check_output

        check_output(args.out, directory=True)
        for name in ("baselines.md", "baselines.json", "baselines.png"):
            check_output(f"{args.out}/{name}", refuse_existing=not args.overwrite)
    cache = FeatureCache(args.bench)
    names = check_names([n.strip() for n in args.proxies.split(",") if n.strip()]
                        if args.proxies else list_baselines())
    graphs = []
    for spec in args.extra:
        proxy = resolve_proxy(spec)
        if isinstance(proxy, Baseline):
            names += [proxy.name] if proxy.name not in names else []
        else:
            graphs.append(proxy)
    labels = cache.table["label"]
    if int(labels.notna().sum()) < 3:
        raise AutogasError(f"{args.bench} has {int(labels.notna().sum())} labelled "
                           "architectures; need at least 3")
    result = compute_on_cache(args.bench, names, net_batch=args.net_batch, workers=args.workers,
                              protocol=args.protocol)
    values, seconds, passes = result.values, result.seconds, dict(result.passes)
    for graph in graphs:
        extra, per_arch = graph_values(cache, graph, list(values.index))
        values[graph.text] = [extra[a] for a in values.index]
        seconds[graph.text] = per_arch
        passes[graph.text] = "features"
    stored = None
    if args.labels:
        from autogas.transnas.labels import load_labels

        stored = load_labels(args.labels, space=args.space or cache.settings.get("space"))
    table = build_table(values, labels, seconds=seconds, passes=passes, stored=stored)
    notes = _notes(result, names, args.bench, [g.text for g in graphs])
    meta = {"bench": args.bench, "labels": args.labels, "n_archs": len(values),
            "settings": cache.settings, "build_seconds": result.build_seconds,
            "net_batch": result.net_batch, "protocol": result.protocol}
    if args.out:
        paths = write_report(args.out, table, values, labels, notes=notes, meta=meta)
        notes = notes + [f"report: {', '.join(str(p) for p in paths.values())}"]
    if args.json:
        print(json.dumps({**meta, "notes": notes, "rows": table_records(table)}))
    else:
        print(to_markdown(table, title=f"Baseline proxies on {len(values)} archs of {args.bench}",
                          notes=notes), end="")
    return 0
