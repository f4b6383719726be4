"""The pipeline's report: ``report.md`` (markdown) and ``curves.png`` (training losses).

``curves.png`` has two panels, the generator's weighted loss terms and the discriminators',
against the epoch (step ``s`` of ``n`` in epoch ``e`` sits at ``e - 1 + s / n``): every step
as a faint line, the per-epoch means (:func:`epoch_means`) as a bold line with markers, drawn
at the end of their epoch. It is drawn with matplotlib's Agg canvas (no display needed).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from autogas.search.budget import format_count
from autogas.atomic import atomic_path, write_text_atomic
from autogas.search.cyclegan import ROLES
from autogas.train.trainer import read_loss_log

if TYPE_CHECKING:
    from autogas.pipeline.settings import PipelineResult

GENERATOR_TERMS = ("g_total", "g_adv_a", "g_adv_b", "cycle_a", "cycle_b", "idt_a", "idt_b")
DISCRIMINATOR_TERMS = ("d_a", "d_b")


def epoch_means(rows: Iterable[dict[str, float]], terms: Iterable[str]) -> dict[int, dict[str, float]]:
    """Mean of each loss term over the steps of each epoch: ``{epoch: {term: mean}}``."""
    sums: dict[int, dict[str, float]] = {}
    counts: dict[int, int] = {}
    terms = tuple(terms)
    for row in rows:
        epoch = int(row["epoch"])
        acc = sums.setdefault(epoch, dict.fromkeys(terms, 0.0))
        for term in terms:
            acc[term] += float(row[term])
        counts[epoch] = counts.get(epoch, 0) + 1
    return {epoch: {t: v / counts[epoch] for t, v in acc.items()} for epoch, acc in sorted(sums.items())}


def write_loss_curves(loss_csv: str | Path, png: str | Path) -> Path:
    """Plot ``losses.csv`` of a training run into ``png`` (atomically); returns ``png``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows = read_loss_log(loss_csv)
    steps_per_epoch: dict[int, int] = {}
    for row in rows:
        steps_per_epoch[row["epoch"]] = max(steps_per_epoch.get(row["epoch"], 0), row["step"])
    x = [row["epoch"] - 1 + row["step"] / steps_per_epoch[row["epoch"]] for row in rows]
    fig = Figure(figsize=(10, 4), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    for index, (title, terms) in enumerate((("generator losses (weighted terms)", GENERATOR_TERMS),
                                            ("discriminator losses", DISCRIMINATOR_TERMS))):
        ax = fig.add_subplot(1, 2, index + 1)
        means = epoch_means(rows, terms)
        for term in terms:
            line, = ax.plot(x, [row[term] for row in rows], alpha=0.35, linewidth=0.8)
            ax.plot(list(means), [m[term] for m in means.values()], marker="o", markersize=3,
                    color=line.get_color(), label=term)
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, ncol=2)
    with atomic_path(png) as tmp:
        fig.savefig(tmp, format="png")
    return Path(png)


# --- markdown --------------------------------------------------------------------------
def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|")


def _code(value: Any) -> str:
    return f"`{_cell(value)}`"


def _score(value: float | None) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.6g}"


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    return (["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows] + [""])


def _supernet_section(search: dict[str, Any]) -> list[str]:
    s = search["settings"]
    lines = ["## Search", "",
             f"CycleGANAS differentiable search ({s['variant']}, {s['mixing']} mixing): {s['epochs_done']} epochs "
             f"of supernets at width {s['search_hidden']} on {s['resolution']}x{s['resolution']} crops "
             f"({_code(s['data'])}), {search['search_seconds']:.0f} s; each network derived by the argmax of "
             f"alpha per slot, at H = {search['hidden']}; parameters and MACs counted at "
             f"{s['cost_resolution']}x{s['cost_resolution']}.", "", "### Derived architecture per epoch", ""]
    history = {role: search["networks"][role]["history"] for role, _, _ in ROLES}
    rows = [[record["epoch"], *(_code(history[role][i]["arch"]) for role, _, _ in ROLES)]
            for i, record in enumerate(history["G_A"])]
    return lines + _table(["epoch", *(role for role, _, _ in ROLES)], rows)


def _search_section(search: dict[str, Any], settings: dict[str, Any]) -> list[str]:
    if search.get("method") == "cycleganas":
        return _supernet_section(search)
    s = search["settings"]
    lines = ["## Search", "",
             f"Evolutionary search, population {s['population']}, {s['generations']} generations "
             f"({s['parents']} parents, mutation rate {s['mutation_rate']}), fitness = proxy "
             f"{_code(search['proxy'])} on a {s['batch']}-image batch at {s['resolution']}x{s['resolution']} "
             f"(domain A: {_code(settings['search']['images_a'])}, domain B: {_code(settings['search']['images_b'])}); "
             f"parameters and MACs counted at {s['cost_resolution']}x{s['cost_resolution']}.", "",
             "### Candidates", "",
             "The final population of each search, best first (the first row of each network is chosen).", ""]
    rows = []
    for role, _, _ in ROLES:
        net = search["networks"][role]
        if not net["searched"]:
            rows.append([role, "-", _code(net["arch"]), "not searched", format_count(net["params"]),
                         format_count(net["macs"])])
            continue
        for rank, cand in enumerate(net["top"], 1):
            rows.append([role, rank, _code(cand["arch"]), _score(cand["score"]), format_count(cand["params"]),
                         format_count(cand["macs"])])
    lines += _table(["network", "rank", "architecture", "proxy score", "params", "MACs"], rows)
    return lines


def _chosen_section(search: dict[str, Any], train: dict[str, Any]) -> list[str]:
    resolution = train["config"]["resolution"]
    rows = []
    for role, _, _ in ROLES:
        net, trained = search["networks"][role], train["networks"][role]
        budget = net.get("budget") or net.get("note", "")
        rows.append([role, _code(trained["arch"]), _score(net.get("score")), format_count(trained["params"]),
                     format_count(trained["macs"]), _cell(budget)])
    return ["## Chosen architectures", "",
            *_table(["network", "architecture (as trained)", "proxy score", "params",
                     f"MACs at {resolution}x{resolution}", "search budget / note"], rows)]


def _training_section(result: "PipelineResult") -> list[str]:
    from autogas.train.trainer import LOSS_FILE

    cfg, run_dir = result.train["config"], result.run_dir
    rows = read_loss_log(Path(result.train["dir"]) / LOSS_FILE)
    last = epoch_means(rows, GENERATOR_TERMS + DISCRIMINATOR_TERMS)
    epoch = result.train["epoch"]
    lines = ["## Training", "",
             f"CycleGAN recipe, epochs: {cfg['epochs']} at constant learning rate + {cfg['decay_epochs']} "
             f"of linear decay (trained to epoch {epoch}), {cfg['resolution']}x{cfg['resolution']} crops, batch "
             f"{cfg['batch_size']}, lr {cfg['lr']:g}, loss weights {tuple(cfg['loss_weights'])}, seed {cfg['seed']}.",
             "", f"![training losses]({result.curves.relative_to(run_dir).as_posix()})", ""]
    if epoch in last:
        lines += [f"Mean loss terms over epoch {epoch}:", "",
                  *_table(list(last[epoch]), [[f"{v:.4g}" for v in last[epoch].values()]])]
    sample = Path(result.train["dir"]) / "samples" / f"epoch_{epoch:04d}.png"
    if sample.exists():
        lines += [f"Samples after epoch {epoch} (per row: real A, G_A(A), G_B(G_A(A)), real B, G_B(B), "
                  "G_A(G_B(B))):", "", f"![samples]({sample.relative_to(run_dir).as_posix()})", ""]
    return lines


def _evaluation_section(result: "PipelineResult") -> list[str]:
    lines = ["## Final scores", ""]
    metrics = result.evaluation
    if metrics is None:
        return lines + ["Evaluation was skipped (`--skip-eval`): no FID or KID was computed. Rerun the "
                        "same command without `--skip-eval`, with `--inception-weights`, to add them.", ""]
    lines += [f"Test images translated at {metrics['resolution']}x{metrics['resolution']} by the epoch "
              f"{metrics['epoch']} generators; features: {_code(metrics['feature_extractor'])}.", ""]
    rows = []
    for direction in ("A_to_B", "B_to_A"):
        r = metrics[direction]
        rows.append([direction, _code(r["arch"]), format_count(r["params"]), format_count(r["macs"]),
                     f"{r['fid']:.4g}", f"{r['kid_mean']:.4g} ± {r['kid_std']:.2g}", r["n_fake"], r["n_real"]])
    return lines + _table(["direction", "generator", "params", "MACs", "FID", "KID", "translated", "real"], rows)


def render_report(result: "PipelineResult") -> str:
    """The markdown text of ``report.md`` for a pipeline result."""
    settings, search = result.settings, result.search
    budget_macs = settings["search"].get("budget_macs")
    budget = f"generator MACs <= {format_count(budget_macs)}" if budget_macs else "no generator MAC limit"
    lines = [f"# autogas pipeline: {result.run_dir.name}", "",
             f"Dataset {_code(settings['data'])}, space {_code(search['space'])}"
             + (f" (H = {search['hidden']})" if search.get("hidden") else "")
             + (f", proxy {_code(search['proxy'])}, {budget}" if search.get("proxy") else ", CycleGANAS search")
             + f", seed {settings['train']['seed']}.", "",
             *_table(["stage", "status (this run)"], [[stage, status] for stage, status in result.stages.items()])]
    lines += _search_section(search, settings)
    lines += _chosen_section(search, result.train)
    lines += _training_section(result)
    lines += _evaluation_section(result)
    return "\n".join(lines).rstrip() + "\n"


def write_report(result: "PipelineResult") -> Path:
    """Write ``report.md`` (atomically); returns its path."""
    write_text_atomic(result.report, render_report(result))
    return result.report
