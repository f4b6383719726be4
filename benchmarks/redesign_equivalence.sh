#!/usr/bin/env bash
# Same results before and after the redesign (issue 9), to the digit: run from the repo root.
#   bash benchmarks/redesign_equivalence.sh [OLD_COMMIT]   (default 82977e7, the last pre-redesign commit)
# Builds the first 16 macro dev archs, scores the shipped evolved proxy and ranks the README's 20
# CycleGANAS generators with the old and the new code, then compares bytes and values; also runs
# 'bench verify' on macro and micro. Prints the comparison; the figures are in
# benchmarks/results/redesign_equivalence.md.
set -euo pipefail
OLD=${1:-82977e7}
W=$(mktemp -d)
git worktree add -f "$W/old" "$OLD" -q
L=../shared/data/tnb101_macro_autoencoder_dev.json
M=../shared/data/tnb101_micro_autoencoder_nolabel.json
P=$PWD/proxies/autogas_evolved.json
run_old() { (cd "$W" && PYTHONPATH="$W/old" python -m autogas "$@"); }
python -m autogas bench verify --space macro --labels $L --json
python -m autogas bench verify --space micro --labels $M --json
run_old bench build --space macro --labels "$PWD/$L" --limit 16 --out "$W/old.h5" > /dev/null
python -m autogas bench build --space macro --labels $L --limit 16 --out "$W/new.h5" > /dev/null
run_old score --proxy "$P" --bench "$W/old.h5" --json > "$W/score_old.json"
python -m autogas score --proxy "$P" --bench "$W/new.h5" --json > "$W/score_new.json"
run_old rank --space cyclegan --proxy "$P" --n 20 --resolution 64 --out "$W/rank_old.csv" > /dev/null
python -m autogas rank --space cyclegan --proxy "$P" --n 20 --resolution 64 --out "$W/rank_new.csv" > /dev/null
python - "$W" <<'PY'
import csv, json, sys
import h5py, numpy as np
w = sys.argv[1]
a, b = h5py.File(f"{w}/old.h5", "r"), h5py.File(f"{w}/new.h5", "r")
same = sum(np.array_equal(a["archs"][k]["features"][()], b["archs"][k]["features"][()]) for k in a["archs"])
print(f"features byte-identical: {same} of {len(a['archs'])} archs")
so, sn = json.load(open(f"{w}/score_old.json")), json.load(open(f"{w}/score_new.json"))
print("score old:", {k: so[k] for k in ("kendall", "spearman", "pearson", "n")})
print("score new:", {k: sn[k] for k in ("kendall", "spearman", "pearson", "n")})
ro, rn = list(csv.DictReader(open(f"{w}/rank_old.csv"))), list(csv.DictReader(open(f"{w}/rank_new.csv")))
same = sum(x["arch"] == y["arch"] and x["score"] == y["score"] for x, y in zip(ro, rn))
print(f"rank CSV rows with the same arch and score: {same} of {len(ro)}")
PY
git worktree remove --force "$W/old"
