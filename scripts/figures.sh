#!/usr/bin/env bash
# Regenerate the book's figures from real runs: small data, fixed seeds.
#
#   scripts/figures.sh            # uses target/release/carelab or debug, else `cargo run`
#   CARELAB=path/to/carelab scripts/figures.sh
#
# Every figure in book/src/figures/ except data-flow.svg (drawn by hand)
# comes from this script; rerunning it on the same build gives the same
# plots (the bench plot's timings depend on the machine, and say so).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/book/src/figures"
if [ -z "${CARELAB:-}" ]; then
  for c in "${CARGO_TARGET_DIR:-$root/target}/release/carelab" "${CARGO_TARGET_DIR:-$root/target}/debug/carelab"; do
    if [ -x "$c" ]; then CARELAB="$c"; break; fi
  done
fi
if [ -z "${CARELAB:-}" ]; then
  (cd "$root" && cargo build --quiet)
  CARELAB="${CARGO_TARGET_DIR:-$root/target}/debug/carelab"
fi
carelab() { "$CARELAB" --no-progress "$@"; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"

echo "figures: generating 2000 patients (seed 42)"
carelab data generate --scenario baseline --patients 2000 --seed 42 --out "$work/data" --formats csv >/dev/null

echo "figures: training the baseline model and evaluating it"
carelab train --data "$work/data/analysis.csv" --model logreg --seed 42 --out "$work/runs" --name baseline \
  --truth "$work/data/truth/stays.csv" >/dev/null
carelab eval --run "$work/runs/baseline" --split test --target-sensitivity 0.8 \
  --truth "$work/data/truth/stays.csv" --bootstrap 100 --out "$work/eval" >/dev/null 2>&1

echo "figures: ROI at the chosen threshold"
threshold="$(carelab --json eval --run "$work/runs/baseline" --split test --target-sensitivity 0.8 \
  --bootstrap 0 --out "$work/eval-threshold" 2>/dev/null | sed -n 's/.*"threshold": *\([0-9.eE+-]*\).*/\1/p' | head -1)"
echo "figures: threshold for 80% sensitivity: ${threshold:-0.2}"
carelab cost roi --run "$work/runs/baseline" --threshold "${threshold:-0.2}" --out "$work/cost" >/dev/null

echo "figures: training throughput (small sweep; timings are this machine's)"
carelab bench train --batch-sizes 64,256,1024 --rows 5000 --epochs 1 --out "$work/bench" >/dev/null

echo "figures: PSI of every feature, the hospital a year later (drift-2025) against the baseline"
carelab data generate --scenario drift-2025 --patients 2000 --seed 42 --out "$work/drift-2025" --formats csv >/dev/null
verdict=0
carelab monitor --reference "$work/data" --current "$work/drift-2025" --out "$work/monitor" >/dev/null || verdict=$?
# This scenario must alert (exit 2); 0, 1 or an error means the figure would lie.
if [ "$verdict" -ne 2 ]; then
  echo "figures: carelab monitor exited $verdict on drift-2025, expected 2 (alert)" >&2
  exit 1
fi

for f in "$work"/eval/plots/*.svg; do cp "$f" "$out/eval-$(basename "$f")"; done
cp "$work/cost/roi.svg" "$out/roi.svg"
cp "$work/bench/bench-train.svg" "$out/bench-train.svg"
cp "$work/monitor/psi.svg" "$out/monitor-psi.svg"
ls -1 "$out"
