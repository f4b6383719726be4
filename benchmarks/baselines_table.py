"""The full baseline table (issue 4) on a macro dev cache, timed per proxy.

Target: every baseline (gradient proxies included) over the 498 macro dev archs in <= 30 min on
a 2-core CPU. Next to the baselines it ranks the Auto-GAS paper's formula and any evolved proxy
given with ``--extra`` (e.g. the JSON written by ``autogas evolve``) on the same archs.

    python benchmarks/baselines_table.py CACHE.h5 [--limit N] [--net-batch B] [--extra PROXY ...]

The cache is copied to ``benchmarks/work/`` and its stored baseline values are dropped, so every
value is recomputed and timed (the original file is not touched). Writes
``benchmarks/results/baselines.md``, ``baselines.json`` (with the machine, wall time per pass
and the time projected to the 498 dev archs) and
``baselines.png``.
"""
from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import h5py
from _common import MACRO_LABELS, REPO, RESULTS, write_result

from autogas.baselines import list_baselines
from autogas.baselines.report import build_table, table_records, write_report
from autogas.baselines.runner import FEATURE_PASS, SCORE_PREFIX, compute_on_cache, graph_values
from autogas.cache import FeatureCache
from autogas.score.resolve import resolve_proxy
from autogas.transnas.labels import load_labels

PAPER_PROXY = "square(slogdet(ksum(gram(above_mean(swish(F))))))"
TARGET_SECONDS = 30 * 60
DEV_ARCHS = 498  # the target is stated for the 498 labelled macro dev archs


def fresh_copy(cache: Path, work: Path) -> Path:
    """Copy ``cache`` into ``work`` without its stored baseline values."""
    work.mkdir(parents=True, exist_ok=True)
    copy = work / f"baselines_{cache.name}"
    shutil.copyfile(cache, copy)
    with h5py.File(copy, "a") as f:
        for name in list(f.get("scores", {})):
            if name.startswith(SCORE_PREFIX):
                del f["scores"][name]
    return copy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cache", help="feature cache built by 'autogas bench build' (macro dev)")
    parser.add_argument("--labels", default=str(MACRO_LABELS), help="labels with stored scores")
    parser.add_argument("--proxies", default=",".join(list_baselines()))
    parser.add_argument("--extra", action="append", default=[],
                        help="proxy graph (text/JSON) to rank beside the baselines; repeatable")
    parser.add_argument("--limit", type=int, default=None, help="first N labelled archs only")
    parser.add_argument("--net-batch", type=int, default=None)
    parser.add_argument("--protocol", default=None,
                        help="network-pass protocol (autogas.baselines.protocol; default naslib64)")
    parser.add_argument("--workers", type=int, default=1, help="processes for the network pass")
    args = parser.parse_args()

    source = Path(args.cache)
    cache_path = fresh_copy(source, REPO / "benchmarks" / "work")
    cache = FeatureCache(cache_path)
    labelled = [a for a, y in zip(cache.archs, cache.labels) if y == y]
    archs = labelled[:args.limit] if args.limit else labelled
    names = [n.strip() for n in args.proxies.split(",") if n.strip()]

    start = time.perf_counter()
    result = compute_on_cache(cache_path, names, archs=archs, net_batch=args.net_batch,
                              protocol=args.protocol,
                              workers=args.workers)
    wall = time.perf_counter() - start
    values, seconds, passes = result.values, result.seconds, dict(result.passes)
    extras = {}
    for spec in [PAPER_PROXY, *args.extra]:
        graph = resolve_proxy(spec)
        extra, per_arch = graph_values(cache, graph, archs)
        label = f"{Path(spec).stem}: {graph.text}" if spec.endswith(".json") else graph.text
        values[label] = [extra[a] for a in archs]
        seconds[label] = per_arch
        passes[label] = FEATURE_PASS
        extras[label] = per_arch
    table = build_table(values, cache.table["label"], seconds=seconds, passes=passes,
                        stored=load_labels(args.labels, space=cache.settings.get("space")))
    scale = DEV_ARCHS / len(archs)
    timing = {
        "archs": len(archs), "labelled_archs": len(labelled), "net_batch": result.net_batch,
        "protocol": result.protocol,
        "wall_seconds": round(wall, 1), f"projected_wall_seconds_{DEV_ARCHS}": round(wall * scale, 1),
        "target_seconds": TARGET_SECONDS, "meets_target": wall * scale <= TARGET_SECONDS,
        "network_rebuild_seconds_per_arch": result.build_seconds,
        "seconds_per_arch": {n: float(seconds[n].mean()) for n in names},
        "sum_of_network_proxy_seconds_per_arch": float(sum(
            seconds[n].mean() for n in names if passes[n] != FEATURE_PASS)),
    }
    notes = [
        f"{len(archs)} of {len(labelled)} labelled archs of {source.name} "
        f"(settings {cache.settings}); network pass on the first {result.net_batch} images",
        f"wall time {wall:.0f} s for the baselines"
        + (f", projected {wall * scale:.0f} s for {DEV_ARCHS} archs of the same mix"
           if scale != 1 else "")
        + f" (target {TARGET_SECONDS} s)",
        "s/arch: the shared passes a proxy reads plus its own arithmetic (its cost alone); "
        "network proxies of one arch share one rebuild and one forward/backward pass",
        *(f"{name} failed on {len(err)} arch(s), e.g. {next(iter(err.items()))}"
          for name, err in result.errors.items() if err),
    ]
    write_report(RESULTS, table, values, cache.table["label"], notes=notes,
                 meta={"timing": timing}, name="baselines")
    write_result("baselines", {"timing": timing, "notes": notes, "rows": table_records(table)})
    cache_path.unlink()
    print((RESULTS / "baselines.md").read_text())


if __name__ == "__main__":
    main()
