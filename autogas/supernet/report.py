"""What a supernet search writes: per-epoch CSVs and plot, and the final search report.

* ``epochs.csv``: ``epoch, tau, seconds, G_A, G_B, D_A, D_B`` (derived architecture strings)
  and the epoch's mean loss terms (of the joint step, or of the weight step in two-step variants).
* ``alphas.csv``: ``epoch, network, slot, position, op, probability`` with ``softmax(alpha)``.
* ``alphas.png``: one panel per network, one line per slot showing the probability of the op the
  slot derives to at the end; the panel's title gives the final architecture.
* :func:`build_report`: the same report format as the training-free search
  (:mod:`autogas.search.cyclegan`): per network ``arch``, ``network`` (``cyclegan:<string>``),
  ``json``, ``params``, ``macs`` at ``hidden``, ``history`` (derived architecture per epoch)
  and the final probabilities, plus ``hidden`` and ``train_args`` so ``autogas train --arch-a
  best.json`` retrains it. ``score`` is ``None`` (there is no proxy), ``method`` is
  ``cycleganas``.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from autogas.atomic import atomic_path, write_text_atomic
from autogas.spaces.cyclegan import OP_TABLES
from autogas.train.trainer import LOSS_TERMS

EPOCHS_FILE = "epochs.csv"
ALPHAS_FILE = "alphas.csv"
PLOT_FILE = "alphas.png"


def _csv(rows: list[dict[str, Any]], columns: list[str]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: repr(v) if isinstance(v, float) else ("" if v is None else v) for k, v in row.items()})
    return buffer.getvalue()


def _roles(search) -> list[tuple[str, str]]:
    return [(role, part) for role, part, _ in search.roles]


def write_epoch_outputs(search) -> None:
    """Rewrite ``epochs.csv``, ``alphas.csv`` and ``alphas.png`` of ``search.run_dir`` from its history."""
    roles = _roles(search)
    epoch_rows, alpha_rows = [], []
    for record in search.history:
        epoch_rows.append({"epoch": record["epoch"], "tau": record["tau"], "seconds": record["seconds"],
                           **record["archs"], **record["losses"]})
        for role, part in roles:
            space = search.spaces[part]
            for slot, probs in enumerate(record["probabilities"][role]):
                table = OP_TABLES[space.cell_types[slot // 2]]
                for op, prob in zip(table, probs):
                    alpha_rows.append({"epoch": record["epoch"], "network": role, "slot": slot,
                                       "position": space.describe_position(slot), "op": op, "probability": prob})
    run_dir = Path(search.run_dir)
    write_text_atomic(run_dir / EPOCHS_FILE, _csv(epoch_rows, ["epoch", "tau", "seconds", *(r for r, _ in roles),
                                                               *LOSS_TERMS]))
    write_text_atomic(run_dir / ALPHAS_FILE, _csv(alpha_rows, ["epoch", "network", "slot", "position", "op",
                                                               "probability"]))
    write_alpha_plot(search, run_dir / PLOT_FILE)


def write_alpha_plot(search, png: str | Path) -> Path:
    """``softmax(alpha)`` per slot over the epochs (see the module doc), written atomically."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    roles = _roles(search)
    epochs = [r["epoch"] for r in search.history]
    fig = Figure(figsize=(12, 8), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    for index, (role, part) in enumerate(roles):
        ax = fig.add_subplot(2, 2, index + 1)
        space = search.spaces[part]
        final = search.history[-1]["probabilities"][role]
        for slot in range(len(final)):
            chosen = max(range(len(final[slot])), key=final[slot].__getitem__)
            op = OP_TABLES[space.cell_types[slot // 2]][chosen]
            ax.plot(epochs, [r["probabilities"][role][slot][chosen] for r in search.history], marker=".",
                    linewidth=1, label=f"{slot}: {op}")
        ax.set_title(f"{role}: {search.history[-1]['archs'][role]}", fontsize=9)
        ax.set_xlabel("epoch")
        ax.set_ylabel("softmax(alpha) of the derived op")
        ax.legend(fontsize=5, ncol=2 if len(final) > 6 else 1, loc="best")
    fig.suptitle(f"CycleGANAS {search.settings.variant} ({search.settings.mixing} mixing), "
                 f"search width {search.settings.search_hidden}, seed {search.settings.seed}")
    with atomic_path(png) as tmp:
        fig.savefig(tmp, format="png")
    return Path(png)


def build_report(search) -> dict[str, Any]:
    """The search report of a finished (or stopped) ``search`` (module doc)."""
    s = search.settings
    archs = search.derive()
    networks: dict[str, Any] = {}
    for role, part, domain in search.roles:
        space = search.spaces[part]
        arch = archs[role]
        cost = space.cost(arch, hidden=s.hidden, resolution=s.cost_resolution)
        string = space.to_string(arch)
        networks[role] = {
            "searched": True, "arch": string, "score": None, "params": cost.params, "macs": cost.macs,
            "network": f"{space.name}:{string}", "json": space.to_json(arch),
            "inputs": search.data.describe(domain), "budget": None, "evaluations": None, "top": [],
            "history": [{"epoch": r["epoch"], "arch": r["archs"][role]} for r in search.history],
            "probabilities": search.nets[role].probabilities(),
        }
    return {
        "space": "cyclegan", "method": "cycleganas", "proxy": None, "seed": s.seed, "hidden": s.hidden,
        "config_set": None,
        "settings": {**s.to_json(), "device": str(search.device), "data": search.data.source,
                     "epochs_done": search.epoch, "run_dir": str(search.run_dir)},
        "search_seconds": sum(r["seconds"] for r in search.history),
        "networks": networks,
        "train_args": {"arch_a": networks["G_A"]["network"], "arch_b": networks["G_B"]["network"],
                       "disc_a": networks["D_A"]["network"], "disc_b": networks["D_B"]["network"]},
    }


def summary_lines(report: dict[str, Any]) -> list[str]:
    """One line per network: derived architecture, params and MACs at the report's width."""
    from autogas.search.budget import format_count

    return [f"{role}: {net['arch']}  ({format_count(net['params'])} params, {format_count(net['macs'])} MACs "
            f"at H={report['hidden']})" for role, net in report["networks"].items()]
