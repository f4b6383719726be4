"""Measured ground truth for the generator spaces (issue 10): build it, then rank every proxy on it.

Builds, with :func:`autogas.groundtruth.build.build_groundtruth` (what ``autogas bench train``
runs), the default ground truth of

* ``--n-cyclegan`` (60) CycleGANAS generators sampled with ``--seed`` (0);
* ``--n-gc`` (40) GAN-Compression configs (channels-32);

at ``--steps/--resolution/--hidden/--lr/--seeds`` (default: ``autogas bench train``'s defaults,
:data:`autogas.commands.bench_train.DEFAULTS`). With ``--seeds K`` >= 2 every arch is trained with
K training seeds (label = their mean); with ``--seeds 1`` the first ``--cyclegan-two-seeds`` (24)
/ ``--gc-two-seeds`` (16) archs get two seeds (their own cache) and the rest one, the scheme
of the first build. Caches go to ``--work`` (default
``benchmarks/work/``), named after the space, the settings and the seed count, so a rerun with
the same options resumes them (an arch is the unit; kill the script at any time).

Then, per space, the caches are merged into one (``groundtruth_<space>_<settings>_all.h5``,
the file ``benchmarks/evolve_transfer.py --gt`` takes), and over every arch in it (label = the cache's ``label``: the mean of the two
seeds where there are two), it writes ``--results``/``groundtruth_<space>.md``, ``.json`` and
``.png`` (default ``benchmarks/results/``): the cost per arch, the noise ceiling (Kendall/Spearman
between the two seeds' labels) and the label spread, and Kendall tau and Spearman rho of every
shipped proxy (``proxies/*.json``), all baselines of :mod:`autogas.baselines` (values computed on
the cache by :func:`autogas.baselines.runner.compute_on_cache` and stored in it), params, MACs
and the shape statistics of the proxy language (``n_layers``, ``log_dims``,
``mean(layer_log_dims)``, ``max(layer_log_dims)``) against the labels. ``--report-only`` skips the
builds and reports whatever the caches hold (a partial build reports its ``n``).

    nice -n 10 python benchmarks/groundtruth.py [--workers 2] [--report-only]
    python benchmarks/groundtruth.py --n-cyclegan 3 --cyclegan-two-seeds 3 --n-gc 3 --gc-two-seeds 0 \
        --steps 2 --resolution 32 --hidden 8 --work /tmp/gt --results /tmp/gt   # a tiny end-to-end run
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from _common import REPO, RESULTS, machine

from autogas.atomic import atomic_path, write_text_atomic
from autogas.baselines import list_baselines
from autogas.baselines.runner import compute_on_cache
from autogas.cache import FeatureCache
from autogas.commands.bench_train import DEFAULTS
from autogas.groundtruth.build import GroundTruthSettings, build_groundtruth, merge_groundtruth
from autogas.groundtruth.quality import label_quality
from autogas.groundtruth.training import TrainingSettings
from autogas.proxy import rank_scores
from autogas.score import score_on_cache
from autogas.search.budget import sample_distinct

SPACES = {"cyclegan": "CycleGANAS generators", "gan-compression": "GAN-Compression configs (channels-32)"}
SHAPE_STATS = ("n_layers", "log_dims", "mean(layer_log_dims)", "max(layer_log_dims)")
COST = ("params (M)", "MACs")


def shape_stats(fs) -> dict[str, float]:
    """The proxy language's shape statistics of one cached network, by their definitions
    (``autogas score --list-ops``), from the layers' full sizes (constant values allowed)."""
    log_dims = np.log([layer.dims for layer in fs.layers])
    return {"n_layers": float(len(fs.layers)), "log_dims": float(np.log(sum(l.dims for l in fs.layers))),
            "mean(layer_log_dims)": float(log_dims.mean()), "max(layer_log_dims)": float(log_dims.max())}


def settings_for(space: str, seeds: int, args) -> GroundTruthSettings:
    hidden = args.hidden  # GAN-Compression candidates are their own widths; --hidden sizes G_B and D
    training = TrainingSettings(steps=args.steps, resolution=args.resolution, hidden=hidden, lr=args.lr)
    return GroundTruthSettings(space=space, training=training, seeds=seeds, seed=args.seed)


def cache_path(work: Path, space: str, seeds: int, args) -> Path:
    tag = f"s{args.steps}_r{args.resolution}_h{args.hidden}_lr{args.lr:g}_seed{args.seed}"
    return work / f"groundtruth_{space.replace('-', '_')}_{tag}_seeds{seeds}.h5"


def merged_cache(space: str, args) -> tuple[Path | None, list[Path]]:
    """``(merged, sources)``: the one cache of every arch of ``space`` built so far (the two-seed
    and one-seed caches merged by ``autogas bench merge``'s function), rewritten when the sources
    gained archs; what the report and ``benchmarks/evolve_transfer.py --gt`` read."""
    counts = (args.seeds,) if args.seeds > 1 else (2, 1)  # the caches plan() writes
    sources = [p for p in (cache_path(args.work, space, s, args) for s in counts) if p.exists()]
    if not sources:
        return None, []
    out = args.work / cache_path(args.work, space, 0, args).name.replace("_seeds0", "_all")
    want = [a for p in sources for a in FeatureCache(p).archs]
    if not out.exists() or FeatureCache(out).archs != want:
        out.unlink(missing_ok=True)
        merge_groundtruth(sources, out)
    return out, sources


def plan(space: str, n: int, two: int, args) -> dict[int, list[str]]:
    """Architectures per seed count: all ``n`` seeded draws with ``--seeds`` seeds, or (``--seeds
    1``) the first ``two`` of them with two seeds and the rest with one."""
    sp = settings_for(space, 1, args).open_space()
    names = [sp.to_string(a) for a in sample_distinct(sp, n, np.random.default_rng(args.seed))]
    if args.seeds > 1:
        return {args.seeds: names}
    two = min(two, len(names))
    return {2: names[:two], 1: names[two:]}


def build(space: str, n: int, two: int, args) -> None:
    for seeds, names in plan(space, n, two, args).items():
        if not names:
            continue
        out = cache_path(args.work, space, seeds, args)
        print(f"{space}: {len(names)} archs x {seeds} seed(s) -> {out}", flush=True)
        summary = build_groundtruth(names, out, settings_for(space, seeds, args), workers=args.workers,
                                    device=args.device)
        print(f"  {summary['computed']} trained, {summary['skipped']} already there", flush=True)


def predictors(path: Path, archs: list[str], baseline_workers: int) -> dict[str, tuple[str, np.ndarray]]:
    """``name -> (kind, values over archs)`` for every predictor of the report."""
    cache = FeatureCache(path)
    table = cache.table.loc[archs]
    out: dict[str, tuple[str, np.ndarray]] = {
        COST[0]: ("cost", table["params"].to_numpy(float)), COST[1]: ("cost", table["macs"].to_numpy(float))}
    for file in sorted((REPO / "proxies").glob("*.json")):
        out[f"proxies/{file.name}"] = ("shipped proxy", score_on_cache(str(file), path, archs).values)
    shapes = pd.DataFrame([shape_stats(fs) for fs in cache.load(archs)])
    for stat in SHAPE_STATS:
        out[stat] = ("shape", shapes[stat].to_numpy(float))
    values = compute_on_cache(path, list_baselines(), archs=archs, workers=baseline_workers,
                              progress=False).values
    for name in list_baselines():
        out[name] = ("baseline", values.loc[archs, name].to_numpy(float))
    return out


def space_report(space: str, args) -> dict | None:
    """Collect every cache of ``space`` and rank the predictors against the labels."""
    merged, sources = merged_cache(space, args)
    paths = [merged] if merged is not None else []
    frames, values, ranked_archs = [], {}, []
    for path in paths:
        cache = FeatureCache(path)
        table = cache.table
        archs = [a for a in cache.archs if np.isfinite(table.loc[a, "label"])]
        if not archs:
            continue
        frames.append(table.loc[archs].assign(cache=path.name))
        if len(archs) < 3:  # a proxy constant on a cache is NaN there: too few to score, left out
            continue
        ranked_archs.extend(archs)
        for name, (kind, v) in predictors(path, archs, args.baseline_workers).items():
            values.setdefault(name, (kind, []))[1].append(pd.Series(v, index=archs))
    if not frames:
        return None
    data = pd.concat(frames)
    ranked = pd.Index(ranked_archs)
    training = settings_for(space, 1, args).training
    n_seeds = data.filter(regex=r"^label_seed\d+$").notna().sum(axis=1).clip(lower=1)
    per_seed, cpu_per_seed = data["train_seconds"] / n_seeds, data["train_cpu_seconds"] / n_seeds
    quality = label_quality(data)
    labels = data.loc[ranked, "label"].to_numpy(float)
    rows = []
    for name, (kind, parts) in values.items():
        v = pd.concat(parts).loc[ranked].to_numpy(float)
        try:
            s = rank_scores(v, labels)
        except Exception as err:  # too few or constant labels: reported, not fatal
            s = {"kendall": None, "spearman": None, "n": len(v), "nan": int(np.isnan(v).sum()),
                 "invalid": True, "reason": str(err)}
        rows.append({"predictor": name, "kind": kind, "kendall": s["kendall"], "spearman": s["spearman"],
                     "n": s["n"], "nan": s["nan"], "invalid": s["invalid"], "reason": s.get("reason")})
    by_name = {r["predictor"]: r for r in rows}
    bar = max((by_name[c]["kendall"] for c in COST if by_name.get(c, {}).get("kendall") is not None),
              default=None)
    for r in rows:
        r["beats_params_and_macs"] = (None if bar is None or r["kendall"] is None or r["kind"] == "cost"
                                      else bool(r["kendall"] > bar))
    rows.sort(key=lambda r: np.inf if r["kendall"] is None else -r["kendall"])
    return {
        "space": space, "description": SPACES[space], "caches": [p.name for p in paths], "sources": [p.name for p in sources],
        "settings": {"steps": training.steps, "resolution": training.resolution, "hidden": training.hidden,
                     "lr": training.lr, "seed": args.seed, "task": "unsharp"},
        "n": int(len(data)), "n_ranked": int(len(ranked)), "n_two_seeds": int(data["label_seed1"].notna().sum()) if "label_seed1" in data else 0,
        "seeds_max": int(n_seeds.max()),
        "quality": quality,
        "cost": {"train_wall_s_per_seed_mean": float(per_seed.mean()),
                 "train_wall_s_per_seed_median": float(per_seed.median()),
                 "train_cpu_s_per_seed_mean": float(cpu_per_seed.mean()),
                 "forward_s_mean": float(data["forward_seconds"].mean()),
                 "device": sorted(set(map(str, data["device"])))},
        "rows": rows,
        "archs": {a: {"label": float(data.loc[a, "label"]),
                      **{k: float(data.loc[a, k]) for k in ("label_seed0", "label_seed1", "params", "macs")
                         if k in data and np.isfinite(data.loc[a, k])}} for a in data.index},
        "_values": {name: pd.concat(parts).loc[ranked].to_numpy(float) for name, (_, parts) in values.items()},
        "_data": data.loc[ranked],
    }


def _f(x, digits=3) -> str:
    return "-" if x is None or (isinstance(x, float) and not np.isfinite(x)) else f"{x:+.{digits}f}"


def markdown(rep: dict, command: str) -> str:
    q, c, s = rep["quality"], rep["cost"], rep["settings"]
    lines = [f"# Ground truth: {rep['description']}", "",
             f"Produced by `{command}` (cache {', '.join(f'`{n}`' for n in rep['caches'])}, merged from "
             f"{', '.join(f'`{n}`' for n in rep['sources'])}). "
             f"Known-answer task `unsharp`, label = SSIM(G_A(x), T(x)) on held-out crops, "
             f"mean over the arch's training seeds; training {s['steps']} steps at "
             f"{s['resolution']} px, width {s['hidden']}, lr {s['lr']:g}; sampling seed {s['seed']}.", "",
             f"- archs: **{rep['n']}** ({rep['n_two_seeds']} with two or more training seeds, at most "
             f"{rep['seeds_max']}); ranked below: "
             f"{rep['n_ranked']} (a cache with fewer than 3 labelled archs is left out)",
             f"- noise ceiling (Kendall τ between seed 0 and seed 1 labels): **{_f(q['noise_tau'])}** "
             f"(Spearman {_f(q['noise_spearman'])}, n = {q['noise_n']})",
             *([f"- split-half noise ceiling (Kendall τ between the mean of seeds 0..{q['half_k'] - 1} and of "
                f"seeds {q['half_k']}..{2 * q['half_k'] - 1}: two independent {q['half_k']}-seed labels): "
                f"**{_f(q['half_tau'])}** (n = {q['half_n']}); the label here is the mean of all "
                f"{2 * q['half_k']} seeds, less noisy than either half"] if q.get("half_k") else []),
             f"- label spread: std {q['label_std']:.4f}, min {q['label_min']:.4f}, max {q['label_max']:.4f}",
             f"- cost per arch and seed: {c['train_wall_s_per_seed_mean']:.1f} s wall (median "
             f"{c['train_wall_s_per_seed_median']:.1f}), {c['train_cpu_s_per_seed_mean']:.1f} s CPU; "
             f"feature forward {c['forward_s_mean']:.2f} s; device {', '.join(c['device'])}", "",
             "| predictor | kind | Kendall τ | Spearman ρ | n | NaN | beats params and MACs |",
             "|---|---|---|---|---|---|---|"]
    for r in rep["rows"]:
        beats = {True: "yes", False: "no", None: "-"}[r["beats_params_and_macs"]]
        note = f" ({r['reason']})" if r["kendall"] is None and r.get("reason") else ""
        lines.append(f"| {r['predictor']} | {r['kind']} | {_f(r['kendall'])}{note} | {_f(r['spearman'])} | "
                     f"{r['n']} | {r['nan']} | {beats} |")
    winners = [r["predictor"] for r in rep["rows"] if r["beats_params_and_macs"]]
    losers = [r["predictor"] for r in rep["rows"] if r["beats_params_and_macs"] is False]
    lines += ["", f"Beat both params and MACs (higher Kendall τ than either): "
                  f"{', '.join(winners) or 'none'}.",
              f"Do not: {', '.join(losers) or 'none'}.",
              "A τ is read against the noise ceiling above: one training run ranks another only that well."]
    return "\n".join(lines) + "\n"


def scatter(rep: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data, values = rep["_data"], rep["_values"]
    panels = [("label_seed0 vs label_seed1", data.get("label_seed0"), data.get("label_seed1"))]
    for name in (*COST, *[n for n in values if n.startswith("proxies/")]):
        if name in values:
            panels.append((name, values[name], data["label"].to_numpy(float)))
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.0), squeeze=False)
    for ax, (title, x, y) in zip(axes[0], panels):
        if x is not None and y is not None:
            ax.scatter(np.asarray(x, float), np.asarray(y, float), s=10)
        ax.set_title(title, fontsize=8)
        ax.set_ylabel("label (SSIM)" if title != panels[0][0] else "label seed 1", fontsize=7)
        ax.tick_params(labelsize=6)
    fig.suptitle(f"{rep['description']}: n = {rep['n']}", fontsize=9)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n-cyclegan", type=int, default=60)
    p.add_argument("--cyclegan-two-seeds", type=int, default=24)
    p.add_argument("--n-gc", type=int, default=40)
    p.add_argument("--gc-two-seeds", type=int, default=16)
    p.add_argument("--steps", type=int, default=DEFAULTS["steps"])
    p.add_argument("--resolution", type=int, default=DEFAULTS["resolution"])
    p.add_argument("--hidden", type=int, default=DEFAULTS["hidden"])
    p.add_argument("--lr", type=float, default=DEFAULTS["lr"])
    p.add_argument("--seeds", type=int, default=DEFAULTS["seeds"],
                   help="training seeds per arch (1: the first --*-two-seeds archs get two)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=1, help="training processes (one torch thread each)")
    p.add_argument("--baseline-workers", type=int, default=1, help="processes of the baselines' network pass")
    p.add_argument("--device", default="auto")
    p.add_argument("--work", type=Path, default=REPO / "benchmarks" / "work")
    p.add_argument("--results", type=Path, default=RESULTS)
    p.add_argument("--report-only", action="store_true", help="no training: report the caches as they are")
    args = p.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    args.results.mkdir(parents=True, exist_ok=True)
    command = " ".join(["python", *sys.argv]) if argv is None else " ".join(["python", "benchmarks/groundtruth.py", *argv])
    jobs = {"cyclegan": (args.n_cyclegan, args.cyclegan_two_seeds),
            "gan-compression": (args.n_gc, args.gc_two_seeds)}
    if not args.report_only:
        for space, (n, two) in jobs.items():
            if n > 0:
                start = time.perf_counter()
                build(space, n, two, args)
                print(f"  {space}: {time.perf_counter() - start:.0f} s", flush=True)
    for space in jobs:
        rep = space_report(space, args)
        stem = args.results / f"groundtruth_{space.replace('-', '_')}"
        if rep is None:
            print(f"{space}: no labelled archs in {args.work} yet")
            continue
        write_text_atomic(stem.with_suffix(".md"), markdown(rep, command))
        record = {k: v for k, v in rep.items() if not k.startswith("_")}
        write_text_atomic(stem.with_suffix(".json"), json.dumps(
            {"command": command, "machine": machine(), **record}, indent=2, default=float) + "\n")
        scatter(rep, stem.with_suffix(".png"))
        print(f"{space}: n = {rep['n']}, noise tau {_f(rep['quality']['noise_tau'])} -> {stem}.md")


if __name__ == "__main__":
    main()
