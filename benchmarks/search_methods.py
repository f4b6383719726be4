"""Search methods side by side on the built-in known-answer task (issue 12): what each costs and
how good the generator it picks is after the same retraining.

    python benchmarks/search_methods.py [--seeds 0 1 2] [--epochs 4] [--search-hidden 8]

Methods (each run once per seed), all ending on a CycleGANAS generator ``G_A`` at the same width
``--hidden`` (the ground truth's; default = ``autogas bench train``'s):

* ``proxy``: the training-free search (:func:`autogas.search.cyclegan.plan_network_search`) with
  the shipped evolved proxy and no budget (the width is the constraint; each chosen generator's
  params and MACs are recorded);
* ``cycleganas``: CycleGANAS one-step search (``of``, softmax mixing) of the four networks on the
  task's training folders (:func:`autogas.supernet.run_search`), ``--epochs`` epochs at
  ``--search-hidden``, derived by argmax;
* ``random``: a generator drawn uniformly from the space (the seed's first draw);
* ``resnet``: the fixed ResNet-style generator (:data:`autogas.groundtruth.training.REFERENCE_G`).

**The same retraining** for every method: the ground truth's label of its ``G_A``
(:func:`autogas.groundtruth.training.label_candidate`): ``G_A`` trained inside a CycleGAN with the
fixed reference ``G_B``/``D_A``/``D_B`` for the ground truth's steps, then SSIM(G_A(x), T(x)) on
held-out photos (final and late-mean SSIM, PSNR). Training seed = the run's seed. Search cost is
wall seconds of the search alone (this machine's CPU, one torch thread per process). Finished runs
are appended to ``benchmarks/work/search_methods.jsonl`` (a rerun skips them). Writes
``benchmarks/results/search_methods.{json,md,png}``.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from _common import REPO, RESULTS, read_journal, write_result
from autogas.atomic import write_text_atomic
from autogas.commands.bench_train import DEFAULTS
from autogas.groundtruth.task import KnownAnswerTask, materialize
from autogas.groundtruth.training import REFERENCE_G, TrainingSettings, known_answer_label, label_candidate
from autogas.search.scorer import open_space
from autogas.spaces import network_spec
from autogas.train.data import list_images, load_eval_batch

JOURNAL = REPO / "benchmarks" / "work" / "search_methods.jsonl"
METHODS = ("proxy", "cycleganas", "random", "resnet")
PROXY = REPO / "proxies" / "autogas_evolved.json"


def search(method: str, seed: int, args) -> tuple[str, float]:
    """``(G_A network name, search seconds)`` of one method and seed."""
    tick = time.perf_counter()
    if method == "resnet":
        return REFERENCE_G, 0.0
    if method == "random":
        space = open_space("cyclegan", hidden=args.hidden)
        arch = space.sample(np.random.default_rng(seed))
        return f"cyclegan:{space.to_string(arch)}", time.perf_counter() - tick
    if method == "proxy":
        from autogas.search.cyclegan import NetworkSearchSettings, plan_network_search

        report = plan_network_search(NetworkSearchSettings("cyclegan", str(PROXY), hidden=args.hidden, seed=seed),
                                     device="cpu").run()
    else:
        from autogas.supernet import SupernetSettings, run_search

        settings = SupernetSettings(epochs=args.epochs, search_hidden=args.search_hidden,
                                    hidden=args.hidden, resolution=args.resolution, seed=seed)
        with tempfile.TemporaryDirectory() as run_dir:
            report = run_search(settings, run_dir, task="unsharp", device="cpu", progress=False)
    return report["networks"]["G_A"]["network"], time.perf_counter() - tick


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--epochs", type=int, default=4, help="CycleGANAS search epochs")
    parser.add_argument("--search-hidden", type=int, default=8)
    parser.add_argument("--steps", type=int, default=DEFAULTS["steps"])
    parser.add_argument("--resolution", type=int, default=DEFAULTS["resolution"])
    parser.add_argument("--hidden", type=int, default=DEFAULTS["hidden"])
    parser.add_argument("--lr", type=float, default=DEFAULTS.get("lr", 2e-4))
    args = parser.parse_args()
    torch.set_num_threads(1)
    training = TrainingSettings(steps=args.steps, resolution=args.resolution, hidden=args.hidden,
                                lr=args.lr)
    task = KnownAnswerTask(args.resolution)
    data = materialize(task)
    test_a = load_eval_batch(list_images(data / "testA"), args.resolution)
    rows = read_journal(JOURNAL)
    done = {(r["method"], r["seed"], json.dumps(r["training"], sort_keys=True)) for r in rows}
    JOURNAL.parent.mkdir(parents=True, exist_ok=True)
    for seed in args.seeds:
        for method in args.methods:
            key = (method, seed, json.dumps(training.__dict__, sort_keys=True))
            if key in done:
                continue
            network, seconds = search(method, seed, args)
            cost = network_spec(network, width=args.hidden, part="generator").cost(256)
            tick = time.perf_counter()
            label = label_candidate(network, data, training, seed, test_a=test_a)
            row = {"method": method, "seed": seed, "network": network, "search_seconds": seconds,
                   "params": cost["params"], "macs": cost["macs"],
                   "retrain_seconds": time.perf_counter() - tick, "training": training.__dict__,
                   "epochs": args.epochs if method == "cycleganas" else None, **label}
            with open(JOURNAL, "a") as fh:
                fh.write(json.dumps(row) + "\n")
            rows.append(row)
            print(f"{method} seed {seed}: {network} ssim {row['ssim']:.4f} "
                  f"(search {seconds:.0f} s)", flush=True)
    report(rows, args, references(test_a))


class _Reference(torch.nn.Module):
    """A fixed 'generator' for the reference rows: the input itself, or a flat grey image."""

    def __init__(self, kind: str):
        super().__init__()
        self.kind = kind
        self.anchor = torch.nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return x if self.kind == "identity" else torch.zeros_like(x)


def references(test_a) -> dict[str, float]:
    """SSIM against T(x) of two untrained outputs, to read the methods' SSIM against."""
    return {kind: known_answer_label(_Reference(kind), test_a)["ssim"] for kind in ("grey", "identity")}


def report(rows: list[dict], args, refs: dict[str, float]) -> None:
    table = []
    for method in METHODS:
        mine = [r for r in rows if r["method"] == method]
        if not mine:
            continue
        ssim = np.array([r["ssim"] for r in mine])
        late = np.array([r.get("ssim_late", np.nan) for r in mine])
        table.append({"method": method, "runs": len(mine),
                      "search_seconds_mean": float(np.mean([r["search_seconds"] for r in mine])),
                      "params_mean": float(np.mean([r["params"] for r in mine])),
                      "macs_mean": float(np.mean([r["macs"] for r in mine])),
                      "ssim_mean": float(np.nanmean(ssim)), "ssim_std": float(np.nanstd(ssim)),
                      "ssim_late_mean": float(np.nanmean(late)) if np.isfinite(late).any() else None})
    by_seed: dict[int, dict[str, float]] = {}
    for r in rows:
        by_seed.setdefault(r["seed"], {})[r["method"]] = r["ssim"]
    ranked = sorted(table, key=lambda t: -t["ssim_mean"])
    wins = {t["method"]: sum(1 for v in by_seed.values() if len(v) == len(table)
                             and max(v, key=v.get) == t["method"]) for t in table}
    write_result("search_methods", {"table": table, "runs": rows, "references": refs, "wins_per_seed": wins})
    lines = ["# Search methods side by side on the known-answer task", "",
             f"`python benchmarks/search_methods.py --seeds {' '.join(map(str, args.seeds))} "
             f"--epochs {args.epochs} --search-hidden {args.search_hidden}`; retraining = the "
             f"ground-truth label ({args.steps} steps, {args.resolution} px, width {args.hidden}, "
             f"lr {args.lr:g}).", "",
             "| method | runs | search s | params (M, 256 px) | MACs (G, 256 px) | SSIM (mean ± std) | late-mean SSIM | best on seeds |",
             "|---|---|---|---|---|---|---|---|"]
    for t in table:
        late = "-" if t["ssim_late_mean"] is None else f"{t['ssim_late_mean']:.4f}"
        lines.append(f"| {t['method']} | {t['runs']} | {t['search_seconds_mean']:.0f} | "
                     f"{t['params_mean'] / 1e6:.2f} | {t['macs_mean'] / 1e9:.2f} | "
                     f"{t['ssim_mean']:.4f} ± {t['ssim_std']:.4f} | {late} | {wins[t['method']]} |")
    if len(ranked) >= 2:
        first, second = ranked[0], ranked[1]
        lines += ["", f"Highest mean SSIM: **{first['method']}** ({first['ssim_mean']:.4f}), "
                      f"{first['ssim_mean'] - second['ssim_mean']:+.4f} over {second['method']} "
                      f"({second['ssim_mean']:.4f}); the spread over seeds (std above) is the scale to "
                      "read that margin on."]
    lines += ["", f"References on the same held-out crops: a flat grey output scores SSIM {refs['grey']:.4f}, "
                  f"the input itself {refs['identity']:.4f}. The retraining is the ground truth's label, whose "
                  "noise ceiling is low (`groundtruth_cyclegan.md`), so differences of a few thousandths "
                  "are within training noise."]
    write_text_atomic(RESULTS / "search_methods.md", "\n".join(lines) + "\n")
    plot(rows, table, refs)


def plot(rows: list[dict], table: list[dict], refs: dict[str, float]) -> None:
    """SSIM of every run per method (dots) and search seconds (bars), references as lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from autogas.atomic import atomic_path

    names = [t["method"] for t in table]
    fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3))
    for i, name in enumerate(names):
        ys = [r["ssim"] for r in rows if r["method"] == name]
        left.scatter([i] * len(ys), ys, s=18)
    left.axhline(refs["grey"], ls="--", c="grey", lw=0.8, label=f"flat grey {refs['grey']:.3f}")
    left.set_xticks(range(len(names)), names, fontsize=8)
    left.set_ylabel("SSIM(G_A(x), T(x)) after retraining", fontsize=8)
    left.legend(fontsize=7)
    right.bar(range(len(names)), [t["search_seconds_mean"] for t in table])
    right.set_xticks(range(len(names)), names, fontsize=8)
    right.set_ylabel("search seconds (mean)", fontsize=8)
    fig.tight_layout()
    with atomic_path(RESULTS / "search_methods.png") as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
