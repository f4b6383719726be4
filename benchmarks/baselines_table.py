"""The full baseline table (issue 4) on a macro dev cache, timed per proxy.

Target: every baseline (gradient proxies included) over the 498 macro dev archs in <= 30 min on
a 2-core CPU. Next to the baselines it ranks the Auto-GAS paper's formula and any evolved proxy
given with ``--extra`` (e.g. the JSON written by ``autogas evolve``) on the same archs.

    python benchmarks/baselines_table.py CACHE.h5 [--limit N] [--net-batch B] [--extra PROXY ...]
        [--protocol P] [--workers W] [--name NAME] [--resume]

The cache is copied to ``benchmarks/work/baselines_<cache>`` and its stored baseline values are
dropped, so every value is recomputed and timed (the original file is not touched: its size and
mtime before and after are recorded). The copy is the harness's isolation, not part of
``baselines``: what the baselines pass itself writes into the cache it scores (issue 9: no copy
of the features) is recorded as ``write_cost`` - the bytes of the cache's write transactions
(:data:`autogas.cache.TRANSACTIONS`), the bytes this process handed to ``write()`` (``wchar``
of ``/proc/self/io``, which also counts the resume journal) and the copy's size before and
after. A killed run resumes with ``--resume`` (the copy and its journal are kept until the
report is written; wall time then covers the last invocation only).

Writes ``benchmarks/results/<name>.md``, ``<name>.json`` (with the machine, wall time per pass,
the time projected to the 498 dev archs and the write cost), ``<name>.png`` and
``<name>_values.csv`` (every proxy's value per arch); ``--name`` defaults to ``baselines``.
"""
from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path

import h5py
from _common import MACRO_LABELS, REPO, RESULTS, write_result

from autogas.baselines import list_baselines
from autogas.baselines.report import build_table, table_records, write_report
from autogas.baselines.runner import FEATURE_PASS, SCORE_PREFIX, compute_on_cache, graph_values
from autogas import cache as cache_module
from autogas.cache import FeatureCache
from autogas.score.resolve import resolve_proxy
from autogas.transnas.labels import load_labels

PAPER_PROXY = "square(slogdet(ksum(gram(above_mean(swish(F))))))"
TARGET_SECONDS = 30 * 60
DEV_ARCHS = 498  # the target is stated for the 498 labelled macro dev archs


def fresh_copy(cache: Path, work: Path, resume: bool = False) -> Path:
    """Copy ``cache`` into ``work`` without its stored baseline values (with ``resume``, an
    existing copy is kept as it is: its stored values and journal are the finished work)."""
    work.mkdir(parents=True, exist_ok=True)
    copy = work / f"baselines_{cache.name}"
    if resume and copy.exists():
        return copy
    shutil.copyfile(cache, copy)
    with h5py.File(copy, "a") as f:
        for name in list(f.get("scores", {})):
            if name.startswith(SCORE_PREFIX):
                del f["scores"][name]
    return copy


def file_state(path: Path) -> dict:
    """Size and modification time of ``path`` (to show a file was not written)."""
    stat = path.stat()
    return {"bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def process_wchar() -> int | None:
    """Bytes this process has handed to write() so far (Linux ``/proc/self/io``), else None."""
    try:
        for line in Path("/proc/self/io").read_text().splitlines():
            if line.startswith("wchar:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


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
    parser.add_argument("--name", default="baselines", help="results/<name>.md/.json/.png/_values.csv")
    parser.add_argument("--resume", action="store_true",
                        help="keep an existing copy (and its journal) from a killed run")
    args = parser.parse_args()

    source = Path(args.cache)
    source_before = file_state(source)
    copy_start = process_wchar()
    cache_path = fresh_copy(source, REPO / "benchmarks" / "work", resume=args.resume)
    copy_end = process_wchar()
    cache = FeatureCache(cache_path)
    labelled = [a for a, y in zip(cache.archs, cache.labels) if y == y]
    archs = labelled[:args.limit] if args.limit else labelled
    names = [n.strip() for n in args.proxies.split(",") if n.strip()]

    copy_before = file_state(cache_path)
    transactions_before = len(cache_module.TRANSACTIONS)
    wchar_before = process_wchar()
    start = time.perf_counter()
    result = compute_on_cache(cache_path, names, archs=archs, net_batch=args.net_batch,
                              protocol=args.protocol,
                              workers=args.workers)
    wall = time.perf_counter() - start
    wchar_after = process_wchar()
    copy_after = file_state(cache_path)
    ours = [t for t in list(cache_module.TRANSACTIONS)[transactions_before:]
            if Path(t.path) == cache_path]
    transaction_bytes = sum(t.written for t in ours)
    write_cost = {
        "cache_bytes_before": copy_before["bytes"], "cache_bytes_after": copy_after["bytes"],
        "transactions": len(ours), "transaction_bytes_written": transaction_bytes,
        "transaction_bytes_over_cache": round(transaction_bytes / copy_before["bytes"], 6),
        "process_wchar_bytes": (None if wchar_before is None or wchar_after is None
                                else wchar_after - wchar_before),
        "process_wchar_note": "all bytes this process passed to write() during the baselines "
                              "pass (cache transactions, undo records, resume journal); "
                              "spawned workers (--workers > 1) not counted",
        "source_before": source_before, "source_after": file_state(source),
        "source_untouched": source_before == file_state(source),
        "harness_copy_bytes": (None if copy_start is None or copy_end is None
                               else copy_end - copy_start),
        "harness_copy_note": "the benchmark's own copy of the source cache (isolation), "
                             "made before the timed pass; 0 when --resume reused the copy",
        "computed_archs_this_call": result.computed,
    }
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
        "nice": os.nice(0),
        "resumed": any(c < len(archs) for c in result.computed.values()),
    }
    notes = [
        f"{len(archs)} of {len(labelled)} labelled archs of {source.name} "
        + (f"(the first {len(archs)} in the cache's order) " if len(archs) < len(labelled) else "")
        + f"(settings {cache.settings}); network pass under protocol `{result.protocol}`, "
        f"{result.net_batch} images",
        f"wall time {wall:.0f} s for the baselines"
        + (f", projected {wall * scale:.0f} s for {DEV_ARCHS} archs of the same mix"
           if scale != 1 else "")
        + f" (target {TARGET_SECONDS} s)",
        "s/arch: the shared passes a proxy reads plus its own arithmetic (its cost alone); "
        "network proxies of one arch share one rebuild and one forward/backward pass",
        f"the baselines pass wrote {transaction_bytes / 1e3:.0f} kB into the {copy_before['bytes'] / 1e6:.0f} MB "
        f"cache it scored ({len(ours)} transactions; {transaction_bytes / copy_before['bytes']:.2e}"
        f" of the file; size {copy_before['bytes']} -> {copy_after['bytes']} bytes): "
        + ("no copy of the features" if transaction_bytes < 0.01 * copy_before["bytes"]
           else "more than 1 % of the file: features were rewritten")
        + f"; the source {source.name} was "
        + ("not written" if write_cost["source_untouched"] else "MODIFIED"),
        *(f"{name} failed on {len(err)} arch(s), e.g. {next(iter(err.items()))}"
          for name, err in result.errors.items() if err),
    ]
    write_report(RESULTS, table, values, cache.table["label"], notes=notes,
                 meta={"timing": timing, "write_cost": write_cost}, name=args.name)
    values.assign(label=cache.table["label"].reindex(values.index)).to_csv(
        RESULTS / f"{args.name}_values.csv", index_label="arch")
    write_result(args.name, {"timing": timing, "write_cost": write_cost, "notes": notes,
                             "rows": table_records(table)})
    cache_path.unlink()
    print((RESULTS / f"{args.name}.md").read_text())


if __name__ == "__main__":
    main()
