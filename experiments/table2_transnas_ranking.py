"""Auto-GAS Table 2 ("Ranking results on TransNAS-Bench-101") next to the same proxies on our data.

    python experiments/table2_transnas_ranking.py [--baselines benchmarks/results/baselines.json]
        [--compare benchmarks/results/baselines_cache.json]

Reads the baseline table that ``benchmarks/baselines_table.py`` measured on the macro dev archs
(run it first, with ``--extra proxies/autogas_evolved.json``) and writes
``experiments/results/table2.md``: for each method of the paper's table, the paper's reported
Kendall / Spearman / Pearson and ours on our cache, with the network-pass protocol and the
number of archs the record was measured under. ``--compare`` adds the Kendall tau of a second
record (e.g. the same table under another protocol) as one more column. The paper's column is
quoted from ``../shared/papers/auto-gas-paper.md`` (its test split and data differ from ours).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PAPER_PROXY = "square(slogdet(ksum(gram(above_mean(swish(F))))))"
# (paper's method name, our proxy in the baseline table, paper's Kendall, Spearman, Pearson in %)
PAPER_TABLE2 = [
    ("SNIP [1]", "snip", -2.04, -3.55, -0.26),
    ("SNIP [28]", "snip", 30.81, 23.31, 29.34),
    ("EZNAS [2]", None, 23.30, 25.91, 32.03),
    ("NWOT [45]", "nwot", 51.28, 63.94, 48.88),
    ("Zen [39]", "zen", -2.27, 2.58, 5.39),
    ("ZiCo [29]", "zico", 18.63, 15.53, 21.13),
    ("Synflow [57]", "synflow", -50.91, -65.01, -49.17),
    ("Params.", "params", -12.97, -15.24, -5.80),
    ("FLOPs", "flops", 48.91, 64.01, 52.36),
    ("Auto-GAS (eq. 4)", PAPER_PROXY, 61.14, 79.32, 81.25),
]


def _find(rows: dict[str, dict], key: str | None) -> dict | None:
    if key is None:
        return None
    if key in rows:
        return rows[key]
    return next((r for name, r in rows.items() if name.endswith(key)), None)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:+.2f}%"


def _describe(record: dict) -> str:
    """``protocol, n archs`` of a baselines record (records before issue 13 carry no protocol:
    they were measured under ``cache``)."""
    timing = record.get("timing", {})
    n = max(r["n"] for r in record["rows"])
    return f"protocol `{timing.get('protocol', 'cache')}`, n = {n}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baselines", default=str(REPO / "benchmarks" / "results" / "baselines.json"))
    parser.add_argument("--compare", default=None,
                        help="a second baselines record whose Kendall tau is added as a column")
    parser.add_argument("--out", default=str(REPO / "experiments" / "results" / "table2.md"))
    args = parser.parse_args()
    record = json.loads(Path(args.baselines).read_text())
    rows = {r["proxy"]: r for r in record["rows"]}
    n = max(r["n"] for r in record["rows"])
    other = json.loads(Path(args.compare).read_text()) if args.compare else None
    other_rows = {r["proxy"]: r for r in other["rows"]} if other else {}
    head = "| method | paper τ | paper ρ | paper r | ours τ | ours ρ | ours r |"
    if other:
        head += f" ours τ ({_describe(other)}) |"
    lines = [
        "# Auto-GAS Table 2 on our data",
        "",
        f"Ours: {n} TransNAS-Bench-101 macro autoencoder dev archs, labels = SSIM, "
        f"{_describe(record)}, measured by `{record['command']}` (see "
        f"`benchmarks/results/{Path(args.baselines).stem}.md`). Paper: its Table 2.",
    ]
    if other:
        lines.append(f"Last column: {_describe(other)}, measured by `{other['command']}` "
                     f"(`benchmarks/results/{Path(args.compare).stem}.md`); rows computed on "
                     "the cached features or by counting (NWOT, params, FLOPs, Auto-GAS) do not "
                     "depend on the protocol, only on the archs.")
    lines += ["", head, "|" + "---|" * (head.count("|") - 1)]

    def extra(key: str | None) -> str:
        if not other:
            return ""
        theirs = _find(other_rows, key)
        return f" {_pct(None if theirs is None else theirs['kendall'])} |"

    for method, key, tau, rho, r in PAPER_TABLE2:
        ours = _find(rows, key)
        got = [None] * 3 if ours is None else [ours["kendall"], ours["spearman"], ours["pearson"]]
        lines.append(f"| {method} | {tau:+.2f}% | {rho:+.2f}% | {r:+.2f}% | "
                     + " | ".join(_pct(v) for v in got) + " |" + extra(key))
    def text_of(key: str) -> str:
        return key.split(": ", 1)[-1]

    shipped = {"autogas_evolved": "autogas evolved, multi-bench (ours, `autogas_evolved.json`)",
               "autogas_macro": "autogas evolved, macro-only (ours, `autogas_macro.json`)"}
    for stem, method in shipped.items():
        key = next((k for k in rows if k.startswith(stem + ":") or k == stem), None)
        if key is None:
            continue
        ours = rows[key]
        # the same graph in the other record, whatever file name it was scored under
        theirs = next((k for k in other_rows if text_of(k) == text_of(key)), None)
        lines.append(f"| {method} | – | – | – | {_pct(ours['kendall'])} | "
                     f"{_pct(ours['spearman'])} | {_pct(ours['pearson'])} |" + extra(theirs))
    lines += ["", "EZNAS is not implemented (its program search needs parameters and gradients as "
              "inputs; see issue 4). The two SNIP rows of the paper's table both map to our snip."]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
