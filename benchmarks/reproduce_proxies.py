"""Is every shipped evolved proxy reproduced by its recorded command on the landed code?

    python benchmarks/reproduce_proxies.py --cache transnas=benchmarks/work/transnas.h5 \\
        [--cache micro=benchmarks/work/micro.h5 ...] [--proxies proxies/autogas_evolved.json ...]

For each shipped proxy JSON that records the ``command`` that made it (``autogas evolve ...``),
the command is run again in this process with every ``--bench`` path replaced by the fresh cache
named like its file stem (``--cache STEM=PATH``; a bench with no fresh cache given is an error)
and ``--out`` sent to a temporary file. The rerun's proxy text must equal the shipped one, and
its per-bench scores are compared to the shipped ones. Fresh caches are built with the commands in
``benchmarks/README.md`` (``autogas bench build`` with the settings recorded in the proxy's
``bench_settings``). Writes ``benchmarks/results/reproduce_proxies.{json,md}``.
"""
from __future__ import annotations

import argparse
import json
import shlex
import tempfile
from pathlib import Path

from _common import REPO, RESULTS, write_result
from autogas.atomic import write_text_atomic
from autogas.cli import main as cli


def rewrite(command: str, caches: dict[str, str], out: str) -> list[str]:
    """The recorded command's arguments with fresh caches and a temporary ``--out``."""
    words = shlex.split(command)
    if words[:2] != ["autogas", "evolve"]:
        raise SystemExit(f"not an 'autogas evolve' command: {command}")
    args, it = [], iter(words[1:])
    for word in it:
        if word in ("--bench", "--cache"):
            stem = Path(next(it)).stem
            if stem not in caches:
                raise SystemExit(f"no fresh cache given for bench '{stem}' (--cache {stem}=PATH)")
            args += ["--bench", caches[stem]]
        elif word == "--out":
            next(it)
            args += ["--out", out]
        elif word in ("--checkpoint", "--workers"):
            next(it)  # the rerun keeps its checkpoint beside --out; workers do not change results
        else:
            args.append(word)
    return args + ["--quiet", "--overwrite"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", action="append", default=[], metavar="STEM=PATH")
    parser.add_argument("--proxies", nargs="+", default=None)
    parser.add_argument("--workers", default="2")
    parser.add_argument("--report-only", action="store_true",
                        help="rewrite the report from the recorded reproduce_proxies.json")
    args = parser.parse_args()
    caches = dict(c.split("=", 1) for c in args.cache)
    if args.report_only:
        record = json.loads((RESULTS / "reproduce_proxies.json").read_text())
        write_report(record["rows"], record.get("caches") or caches)
        return
    files = [Path(p) for p in args.proxies] if args.proxies else sorted((REPO / "proxies").glob("*.json"))
    rows = []
    for path in files:
        shipped = json.loads(path.read_text())
        if not str(shipped.get("command", "")).startswith("autogas evolve"):
            continue
        with tempfile.TemporaryDirectory() as tmp:
            out = str(Path(tmp) / "rerun.json")
            argv = rewrite(shipped["command"], caches, out) + ["--workers", args.workers]
            code = cli(argv)
            rerun = json.loads(Path(out).read_text()) if code == 0 else {}
        row = {"file": path.name, "command": shipped["command"], "exit": code,
               "shipped_proxy": shipped["proxy"], "rerun_proxy": rerun.get("proxy"),
               "same_proxy": rerun.get("proxy") == shipped["proxy"],
               "shipped_scores": shipped.get("benches") or {"(one bench)": shipped.get("scores")},
               "rerun_scores": rerun.get("benches")}
        rows.append(row)
        print(f"{path.name}: {'same proxy' if row['same_proxy'] else 'DIFFERENT proxy'} "
              f"(rerun: {row['rerun_proxy']})", flush=True)
    write_result("reproduce_proxies", {"rows": rows, "caches": caches})
    write_report(rows, caches)


def write_report(rows: list[dict], caches: dict[str, str]) -> None:
    """``reproduce_proxies.md``: per file the proxy texts, then per bench the shipped and rerun
    Kendall tau on the validation, test and all archs."""
    lines = ["# Shipped evolved proxies rerun from their recorded commands", "",
             "`python benchmarks/reproduce_proxies.py " + " ".join(f"--cache {k}={v}" for k, v in caches.items())
             + "`", "", "| file | same proxy | shipped | rerun |", "|---|---|---|---|"]
    lines += [f"| {r['file']} | {'yes' if r['same_proxy'] else 'NO'} | `{r['shipped_proxy']}` | "
              f"`{r['rerun_proxy']}` |" for r in rows]
    lines += ["", "| file | bench | shipped τ val / test / all | rerun τ val / test / all |", "|---|---|---|---|"]

    def taus(scores: dict | None) -> str:
        return " / ".join("-" if not scores or not scores.get(k) or scores[k].get("kendall") is None
                          else f"{scores[k]['kendall']:+.4f}" for k in ("val", "test", "all"))

    for r in rows:
        for bench, shipped in (r["shipped_scores"] or {}).items():
            rerun = (r["rerun_scores"] or {}).get(bench)
            lines.append(f"| {r['file']} | {bench} | {taus(shipped)} | {taus(rerun)} |")
    write_text_atomic(RESULTS / "reproduce_proxies.md", "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
