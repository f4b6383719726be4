"""Does a proxy evolved on several benches transfer? Macro-only vs multi-bench vs random search.

    python benchmarks/evolve_transfer.py --macro benchmarks/work/transnas.h5 \\
        --micro benchmarks/work/micro.h5 [--gt GT_CYCLEGAN.h5 --val-size 50 30] \\
        [--holdout GT_GAN_COMPRESSION.h5] [--seeds 0 1 2] [--generations 100] [--jobs 2]

Configurations, each one search per seed at the paper's settings (P=20, k=5, T generations, 50
validation archs per labelled bench, the activation rule on):

* ``macro-only``: fitness on the TransNAS macro cache alone;
* ``multi-bench``: the macro cache and every ``--gt`` ground truth as labelled benches (fitness =
  min of their validation taus), ``--micro`` (unlabelled) as a constraint bench;
* ``random``: the multi-bench fitness, every candidate a random immigrant (same budget);
* ``multi-bench-mean``: as multi-bench with ``--combine mean`` (the mean of the validation taus).

Beside them, each ``--reference`` proxy file (default: the shipped macro-only proxy and the
paper's) is scored on the same splits of every seed, unsearched: the bar a search must clear.

``--val-size`` is given once for every labelled bench or once per labelled bench (``--macro``
then each ``--gt``): a 60-arch ground truth keeps 30 for validation and 30 for test with
``--val-size 50 30``. A ``--holdout`` bench (labelled, e.g. the GAN-Compression ground truth) is
never searched on: every proxy is scored on all its labelled archs. Beside the proxies, the
report gives on the same splits the Kendall tau of the networks' params and of their MACs (the
cache's ``flops`` column for TransNAS, ``macs`` for a ground truth): the bar a proxy must clear.

Every best proxy is then scored on **every** bench the same way, whatever it was searched on: a
labelled bench on its test split (the labelled archs outside the validation split that the seed
draws for it: the same split in every configuration), an unlabelled bench on all its archs
(NaN share, constant or not). So the macro-only proxy is measured on micro and on the generator
ground truth it never saw. Runs go to ``--jobs`` processes; each finished run is appended to
``benchmarks/work/evolve_transfer.jsonl`` (a rerun skips it). Writes
``benchmarks/results/evolve_transfer.{json,md,png}``.
"""
from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from _common import REPO, RESULTS, write_result, read_journal
from autogas.atomic import write_text_atomic
from autogas.cache import FeatureCache
from autogas.evolve import EvolutionSettings, evolve, plan_benches, state_summary
from autogas.proxy import rank_scores
from autogas.score import score_on_cache

JOURNAL = REPO / "benchmarks" / "work" / "evolve_transfer.jsonl"


def configs(macro: str, gts: list[str], micro: str | None) -> dict[str, tuple[list[str], dict]]:
    multi = [macro] + gts + ([micro] if micro else [])
    return {"macro-only": ([macro], {}), "multi-bench": (multi, {}),
            "random": (multi, {"ratio": 0.0}), "multi-bench-mean": (multi, {"combine": "mean"})}


def report_archs(benches: list[str], holdout: list[str], seed: int, val_sizes: tuple[int, ...]
                 ) -> dict[str, tuple[str, str, list[str]]]:
    """``name -> (path, role, archs)`` the report scores: a searched labelled bench's test split,
    an unlabelled bench's every arch, a hold-out bench's every labelled arch."""
    out = {plan.name: (plan.path, plan.role, list(plan.test))
           for plan in plan_benches(benches, val_sizes, 50, seed)}
    for path in holdout:
        cache = FeatureCache(path)
        out[Path(path).stem] = (path, "holdout", [a for a, y in zip(cache.archs, cache.labels) if np.isfinite(y)])
    return out


def score_everywhere(proxy: str, archs: dict[str, tuple[str, str, list[str]]]) -> dict[str, dict]:
    """Scores of ``proxy`` on each bench's report archs."""
    return {name: {"role": role, **score_on_cache(proxy, FeatureCache(path), chosen).scores}
            for name, (path, role, chosen) in archs.items()}


def cost_taus(archs: dict[str, tuple[str, str, list[str]]]) -> dict[str, dict[str, float | None]]:
    """Kendall tau of params and MACs/FLOPs against the labels on each labelled bench's report archs."""
    out = {}
    for name, (path, role, chosen) in archs.items():
        if role == "constraint":
            continue
        table = FeatureCache(path).table.loc[chosen]
        labels = table["label"].to_numpy(float)
        cost = "macs" if "macs" in table and table["macs"].notna().all() else "flops"
        out[name] = {"params": rank_scores(table["params"].to_numpy(float), labels)["kendall"],
                     "MACs/FLOPs": rank_scores(table[cost].to_numpy(float), labels)["kendall"]}
    return out


def reference_scores(files: list[str], archs: dict[str, tuple[str, str, list[str]]]) -> dict[str, dict]:
    """``{file stem: scores on every bench}`` of the fixed ``--reference`` proxies."""
    return {Path(f).stem: score_everywhere(f, archs) for f in files}


def sizes_for(benches: list[str], labelled_order: list[str], val_sizes: tuple[int, ...]) -> tuple[int, ...]:
    """The validation sizes of the labelled ``benches`` (a subset of ``labelled_order``)."""
    if len(val_sizes) == 1:
        return val_sizes
    by_path = dict(zip(labelled_order, val_sizes))
    return tuple(by_path[b] for b in benches if b in by_path)


def run_one(name: str, benches: list[str], options: dict, every: list[str], holdout: list[str], seed: int,
            generations: int, population: int, val_sizes: tuple[int, ...], labelled_order: list[str]) -> dict:
    mine = sizes_for(benches, labelled_order, val_sizes)
    settings = EvolutionSettings(generations=generations, population=population, seed=seed,
                                 val_size=mine[0] if len(mine) == 1 else mine,
                                 topk=min(5, population - 1), **options)
    tick = time.perf_counter()
    result = evolve(benches, settings, progress=False)
    seconds = time.perf_counter() - tick
    return {"config": name, "seed": seed, "benches": [Path(b).stem for b in benches],
            "proxy": result.best, "fitness": result.state.fitness[result.best].kendall,
            "seconds": round(seconds, 1), **{k: v for k, v in state_summary(result.state).items()
                                               if k != "seconds"},
            "scores": score_everywhere(result.best, report_archs(every, holdout, seed, val_sizes))}


def summarize(rows: list[dict], names: list[str], bench_names: list[str]) -> list[dict]:
    table = []
    for name in names:
        mine = [r for r in rows if r["config"] == name]
        row = {"config": name, "runs": len(mine),
               "seconds_mean": (float(np.mean([r["seconds"] for r in mine]))
                                if mine and all(r["seconds"] is not None for r in mine) else None)}
        for bench in bench_names:
            cells = [r["scores"][bench] for r in mine if bench in r["scores"]]
            taus = np.array([np.nan if c["kendall"] is None else c["kendall"] for c in cells])
            row[bench] = {
                "kendall_mean": float(np.nanmean(taus)) if np.isfinite(taus).any() else None,
                "kendall_std": float(np.nanstd(taus)) if np.isfinite(taus).any() else None,
                "invalid": int(sum(c["invalid"] for c in cells)),
                "nan_share_mean": (float(np.mean([c["nan"] / max(c["n"], 1) for c in cells]))
                                   if cells else None),
                "n": cells[0]["n"] if cells else None, "role": cells[0]["role"] if cells else None}
        table.append(row)
    return table


def reference_rows(refs: dict[int, dict[str, dict]]) -> list[dict]:
    """The fixed proxies as pseudo-runs (config ``*fixed: stem*``), one per seed's splits."""
    return [{"config": f"*fixed: {stem}*", "seed": seed, "seconds": None, "scores": scores}
            for seed, by_stem in refs.items() for stem, scores in by_stem.items()]


def write_report(rows: list[dict], names: list[str], every: list[str], command: str,
                 costs: dict[int, dict], refs: dict[int, dict] | None = None) -> None:
    bench_names = [Path(b).stem for b in every]
    fixed = reference_rows(refs or {})
    fixed_names = list(dict.fromkeys(r["config"] for r in fixed))
    table = summarize(rows, names, bench_names)
    fixed_table = [{**r, "seconds_mean": None} for r in summarize(fixed, fixed_names, bench_names)]
    write_result("evolve_transfer", {"table": table, "fixed": fixed_table, "runs": rows,
                                     "cost_taus_by_seed": costs, "reference_scores_by_seed": refs or {}})
    head = "| config | runs | s/run | " + " | ".join(bench_names) + " |"
    lines = ["# Proxy search that transfers: macro-only vs multi-bench vs random search", "",
             f"`{command}`. Each cell: Kendall tau on that bench's test split (labelled) as mean ± std "
             "over seeds, or, on an unlabelled bench, the mean NaN share and the count of runs whose "
             "proxy is invalid (constant or failing) there.", "", head,
             "|" + "---|" * (3 + len(bench_names))]
    for row in table + fixed_table:
        cells = []
        for b in bench_names:
            c = row[b]
            if not row["runs"]:
                cells.append("-")
            elif c["role"] != "constraint":
                cells.append("invalid" if c["kendall_mean"] is None else
                             f"{c['kendall_mean']:+.3f} ± {c['kendall_std']:.3f}"
                             + (f" ({c['invalid']} invalid)" if c["invalid"] else ""))
            else:
                cells.append("-" if c["nan_share_mean"] is None else
                             f"NaN {100 * c['nan_share_mean']:.1f} %, {c['invalid']} invalid")
        secs = "-" if row["seconds_mean"] is None else f"{row['seconds_mean']:.0f}"
        lines.append(f"| {row['config']} | {row['runs']} | {secs} | " + " | ".join(cells) + " |")
    for key in ("params", "MACs/FLOPs"):
        cells = []
        for b in bench_names:
            taus = [c[b][key] for c in costs.values() if b in c and c[b].get(key) is not None]
            cells.append(f"{np.mean(taus):+.3f} ± {np.std(taus):.3f}" if taus else "-")
        if any(c != "-" for c in cells):
            lines.append(f"| *{key}* (same splits) | {len(costs)} | - | " + " | ".join(cells) + " |")
    lines += ["", "Best proxies:", ""]
    lines += [f"- {r['config']}, seed {r['seed']}: `{r['proxy']}`" for r in rows]
    write_text_atomic(RESULTS / "evolve_transfer.md", "\n".join(lines) + "\n")
    plot(table + fixed_table, bench_names, costs)


def plot(table: list[dict], bench_names: list[str], costs: dict) -> None:
    """Test tau per labelled bench: one group of bars per bench, one bar per configuration (mean,
    error bar = std over seeds), params and MACs/FLOPs as markers."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from autogas.atomic import atomic_path

    benches = [b for b in bench_names if any(r["runs"] and r[b]["role"] != "constraint" for r in table)]
    fig, ax = plt.subplots(figsize=(2.4 * max(len(benches), 1) + 1.5, 3.2))
    width = 0.8 / max(len(table), 1)
    for k, row in enumerate(table):
        means = [row[b]["kendall_mean"] if row["runs"] and row[b]["kendall_mean"] is not None else np.nan
                 for b in benches]
        stds = [row[b]["kendall_std"] or 0.0 if row["runs"] else 0.0 for b in benches]
        ax.bar(np.arange(len(benches)) + k * width, means, width, yerr=stds, label=row["config"])
    for key, marker in (("params", "x"), ("MACs/FLOPs", "+")):
        ys = [np.mean([c[b][key] for c in costs.values() if b in c and c[b].get(key) is not None] or [np.nan])
              for b in benches]
        ax.scatter(np.arange(len(benches)) + 0.4 - width / 2, ys, marker=marker, c="k", zorder=3, label=key)
    ax.axhline(0, c="grey", lw=0.6)
    ax.set_xticks(np.arange(len(benches)) + 0.4 - width / 2, [b[:28] for b in benches], fontsize=7)
    ax.set_ylabel("test Kendall tau", fontsize=8)
    ax.legend(fontsize=7)
    fig.tight_layout()
    with atomic_path(RESULTS / "evolve_transfer.png") as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--macro", required=True, help="labelled TransNAS macro cache")
    parser.add_argument("--gt", action="append", default=[], help="labelled generator ground truth")
    parser.add_argument("--micro", help="unlabelled micro cache (a constraint bench)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--generations", type=int, default=100)
    parser.add_argument("--population", type=int, default=20)
    parser.add_argument("--holdout", action="append", default=[],
                        help="labelled bench never searched on (scored on all its labelled archs)")
    parser.add_argument("--val-size", type=int, nargs="+", default=[50],
                        help="validation archs: once for all labelled benches or once per bench "
                             "(--macro, then each --gt)")
    parser.add_argument("--configs", nargs="+", default=None)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--reference", nargs="*",
                        default=[str(REPO / "proxies" / "autogas_macro.json"),
                                 str(REPO / "proxies" / "autogas_paper.json")],
                        help="fixed proxy files scored on the same splits (default: the shipped "
                             "macro-only proxy and the paper's)")
    args = parser.parse_args()
    plan = configs(args.macro, args.gt, args.micro)
    names = args.configs or list(plan)
    every = [args.macro] + args.gt + ([args.micro] if args.micro else [])
    labelled_order = [args.macro] + args.gt
    val_sizes = tuple(args.val_size)
    if len(val_sizes) not in (1, len(labelled_order)):
        parser.error(f"--val-size: give 1 or {len(labelled_order)} values")
    costs = {s: cost_taus(report_archs(every, args.holdout, s, val_sizes)) for s in args.seeds}
    refs = {s: reference_scores(args.reference, report_archs(every, args.holdout, s, val_sizes))
            for s in args.seeds}
    every_named = every + args.holdout
    command = " ".join(["python", "benchmarks/evolve_transfer.py"] + __import__("sys").argv[1:])
    rows = read_journal(JOURNAL)
    done = {(r["config"], r["seed"]) for r in rows}
    todo = [(n, s) for n in names for s in args.seeds if (n, s) not in done]
    JOURNAL.parent.mkdir(parents=True, exist_ok=True)
    with ProcessPoolExecutor(args.jobs, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(run_one, n, plan[n][0], plan[n][1], every, args.holdout, s, args.generations,
                               args.population, val_sizes, labelled_order) for n, s in todo]
        for future in futures:
            row = future.result()
            with open(JOURNAL, "a") as fh:
                fh.write(json.dumps(row) + "\n")
            rows.append(row)
            print(f"{row['config']} seed {row['seed']}: {row['proxy']} ({row['seconds']} s)", flush=True)
            write_report(rows, names, every_named, command, costs, refs)
    write_report(rows, names, every_named, command, costs, refs)


if __name__ == "__main__":
    main()
