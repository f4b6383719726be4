"""Which training settings make a ground-truth label worth having: noise ceiling, spread, cost.

    nice -n 10 python benchmarks/groundtruth_settings.py --archs 24 [--grid 600:32:16:0.001[:8]] [--seeds 2]

For each candidate setting (steps, resolution, hidden) it trains the same ``--archs`` uniformly
sampled CycleGANAS generators (seed 0) as ``G_A`` on the built-in known-answer task
(:mod:`autogas.groundtruth.task`) with training seeds 0 and 1 (0..N-1 with ``--seeds N``), one
torch thread, and records
per setting: the noise ceiling (Kendall tau and Spearman rho between the two seeds' SSIM
labels over the archs that finished both), the label spread (std, min, max of the seed-mean
SSIM) and seconds per arch and seed (wall and process CPU), with the 1-minute load average
when each job started (other processes share the 2 cores, which inflates wall time). With 2K
seeds it also gives the noise ceiling of a label that is the mean over K training seeds (two
disjoint K-seed means of the same archs), at K times the cost per arch.

Jobs run arch by arch, each arch under every setting before the next arch, so a partial run
compares the settings on the same archs. Every finished job is appended to
``benchmarks/work/groundtruth_settings.jsonl``; a rerun skips those (resumable after a kill).
``--report`` only rewrites the report from the journal. Results:
``benchmarks/results/groundtruth_settings.{json,md,png}``.
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import torch
from scipy import stats

from _common import REPO, RESULTS, write_result, read_journal

from autogas.groundtruth.quality import split_half_tau
from autogas.groundtruth.task import KnownAnswerTask, materialize
from autogas.groundtruth.training import TrainingSettings, label_candidate
from autogas.spaces import get_space
from autogas.train.data import list_images, load_eval_batch

DEFAULT_LR = 2e-4  # CycleGAN's Adam learning rate
GRID = [  # (steps, resolution, hidden, lr, batch), cheapest first
    (100, 32, 16, DEFAULT_LR, 1), (300, 32, 16, DEFAULT_LR, 1), (600, 32, 16, 1e-3, 1),
    (1200, 32, 16, 1e-3, 1), (300, 32, 16, 1e-3, 8),
]
WORK = REPO / "benchmarks" / "work"
JOURNAL = WORK / "groundtruth_settings.jsonl"
SEEDS = (0, 1)


def sample_archs(n: int, seed: int = 0) -> list[str]:
    space = get_space("cyclegan", part="generator")
    rng = np.random.default_rng(seed)
    out: dict[str, None] = {}
    while len(out) < n:
        out.setdefault(space.to_string(space.sample(rng)), None)
    return list(out)


def parse_setting(text: str) -> tuple:
    """``steps:res:hidden[:lr[:batch]]`` as a grid entry."""
    parts = text.split(":")
    return (int(parts[0]), int(parts[1]), int(parts[2]), float(parts[3]) if len(parts) > 3 else DEFAULT_LR,
            int(parts[4]) if len(parts) > 4 else 1)


def setting(row: dict) -> tuple:
    return (row["steps"], row["resolution"], row["hidden"], row.get("lr", DEFAULT_LR), row.get("batch", 1))


def key(row: dict) -> tuple:
    return setting(row) + (row["arch"], row["seed"])


def k_seed_noise(by_arch: dict[str, dict[int, dict]]) -> list[dict]:
    """Noise ceiling of a label averaged over K training seeds, for every K with >= 3 archs
    trained with seeds 0..2K-1: Kendall tau between the mean SSIM of seeds 0..K-1 and of seeds
    K..2K-1 (two independent K-seed labels of the same archs). K = 1 is the two-seed ceiling."""
    seeds = max((max(by_seed) for by_seed in by_arch.values()), default=-1) + 1
    per_seed = np.array([[by_seed[s]["ssim"] if s in by_seed else np.nan for s in range(seeds)]
                         for by_seed in by_arch.values()], dtype=float).reshape(len(by_arch), seeds)
    out = []
    for k in range(1, seeds // 2 + 1):
        tau, n = split_half_tau(per_seed, k)
        if tau is None:
            break
        out.append({"k": k, "tau": tau, "n": n})
    return out


def summarize(rows: list[dict], grid) -> list[dict]:
    out = []
    for steps, res, hidden, lr, batch in grid:
        mine = [r for r in rows if setting(r) == (steps, res, hidden, lr, batch)]
        by_arch: dict[str, dict[int, dict]] = {}
        for r in mine:
            by_arch.setdefault(r["arch"], {})[r["seed"]] = r
        both = [a for a, s in by_arch.items() if all(k in s for k in SEEDS)]
        late = [a for a in both if all("ssim_late" in by_arch[a][k] for k in SEEDS)]
        if len(late) >= 3:  # the snapshot-averaged label, where it was recorded
            l0 = np.array([by_arch[a][0]["ssim_late"] for a in late])
            l1 = np.array([by_arch[a][1]["ssim_late"] for a in late])
            ok_late = np.isfinite(l0) & np.isfinite(l1)
            late_tau = float(stats.kendalltau(l0[ok_late], l1[ok_late])[0])
        else:
            late_tau = None
        y0 = np.array([by_arch[a][0]["ssim"] for a in both])
        y1 = np.array([by_arch[a][1]["ssim"] for a in both])
        ok = np.isfinite(y0) & np.isfinite(y1)
        mean = (y0 + y1) / 2
        row = {"steps": steps, "resolution": res, "hidden": hidden, "lr": lr, "batch": batch,
               "archs_both_seeds": len(both),
               "nan_labels": int((~ok).sum()), "jobs": len(mine), "late_noise_tau": late_tau,
               "late_archs": len(late)}
        if ok.sum() >= 3:
            row["noise_tau"] = float(stats.kendalltau(y0[ok], y1[ok])[0])
            row["noise_spearman"] = float(stats.spearmanr(y0[ok], y1[ok])[0])
            row["label_std"] = float(np.std(mean[ok]))
            row["label_min"] = float(np.min(mean[ok]))
            row["label_max"] = float(np.max(mean[ok]))
            row["seed_abs_diff_mean"] = float(np.mean(np.abs(y0[ok] - y1[ok])))
            row["psnr_mean"] = float(np.mean([by_arch[a][s]["psnr"] for a in np.array(both)[ok]
                                              for s in SEEDS]))
        row["k_seed_noise"] = k_seed_noise(by_arch)
        if mine:
            row["wall_s_per_arch_seed"] = float(np.mean([r["wall_seconds"] for r in mine]))
            row["cpu_s_per_arch_seed"] = float(np.mean([r["cpu_seconds"] for r in mine]))
            row["load_median"] = float(np.median([r["load1"] for r in mine]))
        out.append(row)
    return out


def write_report(rows: list[dict], grid, n_archs: int) -> None:
    table = summarize(rows, grid)
    write_result("groundtruth_settings", {"archs": n_archs, "seeds": list(SEEDS), "grid": table,
                                          "jobs": rows})
    lines = [
        "# Ground-truth training settings: noise ceiling, label spread, cost",
        "",
        "Produced by `nice -n 10 python benchmarks/groundtruth_settings.py "
        f"--archs {n_archs} --grid STEPS:RES:HIDDEN:LR:BATCH` per row (rows 1-2 from an earlier run, "
        "imported with `--import-jobs`; seeds 2-7 of the 100-step row by `--grid 100:32:16 --seeds 8`) (CycleGANAS generators sampled with seed 0, training seeds 0 and 1, "
        "known-answer task `unsharp`, label SSIM(G_A(x), T(x)) on held-out crops; one torch thread). "
        "Noise ceiling = Kendall tau between the two seeds' labels (final SSIM; *late mean*: the "
        "mean SSIM at 60-100 % of the steps, recorded from the lr-1e-3 rows on). Seconds are per arch and "
        "seed; *wall* is inflated by other processes on the 2 shared cores (load = median "
        "1-minute load average at job start); CPU is this process's CPU time.",
        "",
        "| steps | res | hidden | lr | batch | archs (2 seeds) | NaN | noise tau | noise rho | noise tau, late mean (n) | label std | label min | "
        "label max | mean seed diff | PSNR | wall s | CPU s | load |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]

    def f(v, fmt):
        return format(v, fmt) if isinstance(v, float) else "-"

    for r in table:
        lines.append(
            f"| {r['steps']} | {r['resolution']} | {r['hidden']} | {r['lr']:g} | {r['batch']} | {r['archs_both_seeds']} | "
            f"{r['nan_labels']} | {f(r.get('noise_tau'), '.3f')} | {f(r.get('noise_spearman'), '.3f')} | "
            f"{f(r.get('late_noise_tau'), '.3f')} ({r.get('late_archs', 0)}) | "
            f"{f(r.get('label_std'), '.4f')} | {f(r.get('label_min'), '.4f')} | "
            f"{f(r.get('label_max'), '.4f')} | {f(r.get('seed_abs_diff_mean'), '.4f')} | "
            f"{f(r.get('psnr_mean'), '.2f')} | {f(r.get('wall_s_per_arch_seed'), '.1f')} | "
            f"{f(r.get('cpu_s_per_arch_seed'), '.1f')} | {f(r.get('load_median'), '.1f')} |")
    lines += ["", "Noise ceiling of a label averaged over K training seeds (Kendall tau between the mean "
              "of seeds 0..K-1 and the mean of seeds K..2K-1, archs trained with all 2K seeds; "
              "K = 1 is the two-seed ceiling above; cost per arch = K x CPU s):", "",
              "| steps | res | hidden | lr | batch | K | archs | noise tau | CPU s per arch (K seeds) |",
              "|---|---|---|---|---|---|---|---|---|"]
    for r in table:
        for entry in r.get("k_seed_noise", []):
            cost = r.get("cpu_s_per_arch_seed")
            lines.append(f"| {r['steps']} | {r['resolution']} | {r['hidden']} | {r['lr']:g} | {r['batch']} | "
                         f"{entry['k']} | {entry['n']} | {entry['tau']:.3f} | "
                         f"{'-' if cost is None else format(entry['k'] * cost, '.0f')} |")
    lines += ["", f"Jobs finished: {len(rows)}.", ""]
    from autogas.atomic import write_text_atomic

    write_text_atomic(RESULTS / "groundtruth_settings.md", "\n".join(lines))
    _plot(table)


def _plot(table: list[dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    done = [r for r in table if "noise_tau" in r]
    if not done:
        return
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for r in done:
        ax.scatter(r["cpu_s_per_arch_seed"], r["noise_tau"])
        ax.annotate(f"{r['steps']}st/{r['resolution']}px/H{r['hidden']}/lr{r['lr']:g}/b{r['batch']} (n={r['archs_both_seeds']})",
                    (r["cpu_s_per_arch_seed"], r["noise_tau"]), fontsize=7)
    ax.axhline(0.6, ls="--", lw=0.8, color="grey")
    ax.set_xlabel("CPU s per arch and seed")
    ax.set_ylabel("noise ceiling (Kendall tau, 2 seeds)")
    fig.tight_layout()
    fig.savefig(RESULTS / "groundtruth_settings.png", dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", type=int, default=24)
    parser.add_argument("--grid", default=None,
                        help="settings 'steps:res:hidden[:lr[:batch]],...' to run (default: the built-in grid)")
    parser.add_argument("--import-jobs", metavar="JSON",
                        help="seed the journal with the 'jobs' of an earlier results JSON (kept rows)")
    parser.add_argument("--report", action="store_true", help="only rewrite the report from the journal")
    parser.add_argument("--seeds", type=int, default=len(SEEDS),
                        help="training seeds 0..N-1 per arch (default 2; 2K seeds give the noise "
                             "ceiling of a K-seed mean label)")
    args = parser.parse_args()
    grid = GRID if args.grid is None else [parse_setting(g) for g in args.grid.split(",")]
    archs = sample_archs(args.archs)
    rows = read_journal(JOURNAL)
    if args.import_jobs:
        known = {key(r) for r in rows}
        WORK.mkdir(parents=True, exist_ok=True)
        with open(JOURNAL, "a") as fh:
            for r in json.loads(open(args.import_jobs).read())["jobs"]:
                if key(r) not in known:
                    fh.write(json.dumps(r) + "\n")
        rows = read_journal(JOURNAL)
    if args.report:
        write_report(rows, GRID, args.archs)  # the report always shows the whole table
        return
    torch.set_num_threads(1)
    done = {key(r) for r in rows}
    WORK.mkdir(parents=True, exist_ok=True)
    tasks = {res: materialize(KnownAnswerTask(res)) for _, res, _, _, _ in grid}
    tests = {res: load_eval_batch(list_images(root / "testA"), res) for res, root in tasks.items()}
    seeds = range(args.seeds)
    total = len(archs) * len(grid) * len(seeds)
    for i, arch in enumerate(archs):
        for steps, res, hidden, lr, batch in grid:
            settings = TrainingSettings(steps=steps, resolution=res, hidden=hidden, lr=lr, batch_size=batch)
            for seed in seeds:
                row = {"steps": steps, "resolution": res, "hidden": hidden, "lr": lr, "batch": batch,
                       "arch": arch, "seed": seed}
                if key(row) in done:
                    continue
                load1 = os.getloadavg()[0]
                wall, cpu = time.perf_counter(), time.process_time()
                result = label_candidate(f"cyclegan:{arch}", tasks[res], settings, seed, test_a=tests[res])
                row.update(result, wall_seconds=time.perf_counter() - wall,
                           cpu_seconds=time.process_time() - cpu, load1=load1)
                with open(JOURNAL, "a") as fh:
                    fh.write(json.dumps(row) + "\n")
                rows.append(row)
                print(f"[{len(rows)}/{total}] {steps}/{res}/{hidden}/{lr:g}/b{batch} {arch} seed {seed}: "
                      f"ssim {row['ssim']:.4f} wall {row['wall_seconds']:.1f}s cpu {row['cpu_seconds']:.1f}s "
                      f"load {load1:.1f}", flush=True)
        write_report(rows, GRID, args.archs)
    write_report(rows, GRID, args.archs)


if __name__ == "__main__":
    main()
