#!/usr/bin/env bash
# The GPU chapter's measurements in one run, written as JSON under an output
# folder: made for one call on a lent GPU machine (book: "GPUs and
# throughput"), and runnable on a CPU with --cpu-only.
#
#   scripts/gpu-bench.sh [--cpu-only] [--carelab PATH] [--out DIR]
#
# Steps:
#  1. carelab doctor --json (the machine, the driver, the GPU);
#  2. carelab bench train over devices (cpu, and cuda unless --cpu-only),
#     f32 and bf16, batch sizes and two model widths; each row says how it
#     compares with the fastest CPU row of its width and batch size;
#  3. the tour's data (generate --scenario baseline, ingest), then a full
#     carelab train of the tour's MLP on the CPU and with --device cuda, and
#     a check that both reach the same validation AUROC within 0.01.
# Without --cpu-only, CUDA must be used: a carelab without CUDA, no visible
# GPU, or a run that did not train on cuda stops the script with exit 1 and
# says why.
#
# Files under the output folder ($OUT, else --out, else gpu-bench-out):
#   gpu-bench.json   everything above, with the build's BUILD.txt ("ok": false
#                    and "error" when it failed)
#   gpu-bench.log    the whole console output
#   bench-train.svg  the throughput plot
#
# carelab: --carelab PATH, else $CARELAB, else dist/carelab-gpu/carelab-gpu
# (what scripts/build-cuda.sh packs), else carelab on PATH.
# Sizes (defaults in brackets). With them the CPU-only run took 112 s on 2
# shared cores (2026-12-03, the CUDA release build); on the lent H200
# machine's 16 cores, both halves are expected within 1 to 3 minutes (not yet
# timed there):
#   GPU_BENCH_ROWS [50000] rows of bench train's toy table
#   GPU_BENCH_EPOCHS [2] epochs timed per setting
#   GPU_BENCH_BATCHES [256,1024,4096]
#   GPU_BENCH_HIDDEN ["64,32 512,512"] model widths, space-separated
#   GPU_BENCH_PATIENTS [2000] patients of the tour's data (the tour's own)
#   GPU_BENCH_SEED [42]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

cpu_only=0
carelab="${CARELAB:-}"
out="${OUT:-}"
while [ $# -gt 0 ]; do
  case "$1" in
    --cpu-only) cpu_only=1 ;;
    --carelab) carelab="$2"; shift ;;
    --out) out="$2"; shift ;;
    -h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "gpu-bench: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
out="${out:-gpu-bench-out}"
rows="${GPU_BENCH_ROWS:-50000}"
epochs="${GPU_BENCH_EPOCHS:-2}"
batches="${GPU_BENCH_BATCHES:-256,1024,4096}"
read -r -a widths <<<"${GPU_BENCH_HIDDEN:-64,32 512,512}"
patients="${GPU_BENCH_PATIENTS:-2000}"
seed="${GPU_BENCH_SEED:-42}"

mkdir -p "$out"
out="$(cd "$out" && pwd)"
log="$out/gpu-bench.log"
json="$out/gpu-bench.json"
rm -f "$json" "$out/bench-train.svg"
: >"$log"
work="$(mktemp -d "${TMPDIR:-/tmp}/gpu-bench.XXXXXX")"
trap 'rm -rf "$work"' EXIT
started=$(date +%s)
mode=$([ "$cpu_only" = 1 ] && echo cpu-only || echo cuda)

say() { echo "gpu-bench: $*" | tee -a "$log" >&2; }
json_string() { printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g' | tr '\n\t' '  ')"; }
# Stop: the reason on stderr, in the log and in gpu-bench.json; exit 1.
die() {
  say "FAILED: $*"
  printf '{\n"ok": false,\n"mode": "%s",\n"error": %s\n}\n' "$mode" "$(json_string "$*")" >"$json"
  exit 1
}
# One value of a key in carelab's pretty JSON (one key per line): the first.
field() { sed -n "s/^ *\"$2\": \(.*\)$/\1/p" "$1" | head -1 | sed 's/,$//; s/^"//; s/"$//; s/\\"/"/g; s/\\\\/\\/g'; }
# Run carelab; its output goes to the console and the log, and its stdout
# also to $1 when given. A failure stops the script with carelab's error
# line (else its last line) as the reason.
run() {
  local to="$1" rc=0 t0=$SECONDS
  shift
  echo "\$ carelab $*" | tee -a "$log" >&2
  "$carelab" "$@" >"$work/stdout" 2>"$work/stderr" || rc=$?
  tee -a "$log" <"$work/stderr" >&2
  if [ -n "$to" ]; then
    cp "$work/stdout" "$to"
    cat "$work/stdout" >>"$log"
  else
    tee -a "$log" <"$work/stdout"
  fi
  if [ "$rc" != 0 ]; then
    local why
    why="$(grep -m1 '^error' "$work/stderr" || grep -v '^[[:space:]]*$' "$work/stderr" | tail -1 || true)"
    die "carelab ${*:1:2} exited $rc: $why"
  fi
  echo "  ($((SECONDS - t0)) s)" | tee -a "$log" >&2
}

if [ -z "$carelab" ]; then
  if [ -x "$root/dist/carelab-gpu/carelab-gpu" ]; then
    carelab="$root/dist/carelab-gpu/carelab-gpu"
  else
    carelab="$(command -v carelab || true)"
  fi
fi
[ -n "$carelab" ] && [ -x "$carelab" ] ||
  die "no carelab: pass --carelab PATH (or CARELAB), or build dist/carelab-gpu with scripts/build-cuda.sh"
export CARELAB_GPU_VERBOSE=1 # the launcher says where it found each CUDA library
say "mode $mode, carelab $carelab, output $out"

# --- 1. the machine ---------------------------------------------------------------
run "$work/doctor.json" doctor --json --workspace "$work/ws"
command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi 2>&1 | tee -a "$log" >&2 || true
devices="cpu"
if [ "$cpu_only" = 0 ]; then
  [ "$(field "$work/doctor.json" built)" = true ] ||
    die "CUDA was not used: this carelab is not a CUDA build ($(field "$work/doctor.json" message)); build dist/carelab-gpu with scripts/build-cuda.sh, or pass --cpu-only"
  grep -q '"compute_capability"' "$work/doctor.json" ||
    die "CUDA was not used: carelab sees no GPU ($(field "$work/doctor.json" message))"
  devices="cpu,cuda"
fi

# --- 2. throughput ------------------------------------------------------------------
hidden_args=()
for w in "${widths[@]}"; do hidden_args+=(--hidden "$w"); done
run "" bench train --device "$devices" --dtype f32,bf16 --batch-sizes "$batches" \
  "${hidden_args[@]}" --rows "$rows" --epochs "$epochs" --seed "$seed" --out "$work/bench"
cp "$work/bench/bench-train.svg" "$out/"
if [ "$cpu_only" = 0 ]; then
  grep -q '"device": "cuda"' "$work/bench/bench-train.json" ||
    die "CUDA was not used: bench train wrote no cuda rows"
fi

# --- 3. the tour's MLP, trained on each device ---------------------------------
run "" data generate --scenario baseline --patients "$patients" --seed "$seed" \
  --formats csv --out "$work/data"
run "" ingest --csv "$work/data" --data-end 2025-01-01T00:00:00 --out "$work/clean"
train_on() { # $1: device
  run "$work/train-$1.json" train --data "$work/clean/analysis.csv" --model mlp --seed "$seed" \
    --device "$1" --no-eval --out "$work/runs" --name "mlp-$1" --json
  [ "$(field "$work/train-$1.json" device)" = "$1" ] ||
    die "CUDA was not used: the --device $1 run trained on '$(field "$work/train-$1.json" device)'"
}
train_on cpu
cpu_auroc="$(field "$work/train-cpu.json" valid_auroc)"
awk -v a="$cpu_auroc" 'BEGIN { exit !(a > 0 && a <= 1) }' ||
  die "the CPU run's validation AUROC is '$cpu_auroc', not a number in (0, 1]"
train_json="{\"cpu\": $(cat "$work/train-cpu.json")}"
if [ "$cpu_only" = 0 ]; then
  train_on cuda
  cuda_auroc="$(field "$work/train-cuda.json" valid_auroc)"
  diff="$(awk -v a="$cpu_auroc" -v b="$cuda_auroc" 'BEGIN { d = a - b; if (d < 0) d = -d; printf "%.6f", d }')"
  awk -v d="$diff" 'BEGIN { exit !(d <= 0.01) }' ||
    die "the cuda run's validation AUROC $cuda_auroc differs from the CPU's $cpu_auroc by $diff (> 0.01)"
  ratio="$(awk -v c="$(field "$work/train-cpu.json" seconds)" -v g="$(field "$work/train-cuda.json" seconds)" \
    'BEGIN { printf "%.4f", (g > 0 ? c / g : 0) }')"
  train_json="{\"cpu\": $(cat "$work/train-cpu.json"), \"cuda\": $(cat "$work/train-cuda.json"),
\"valid_auroc_difference\": $diff, \"cuda_speedup_seconds\": $ratio}"
  say "validation AUROC: cpu $cpu_auroc, cuda $cuda_auroc (difference $diff); training time cpu/cuda $ratio"
fi

# --- everything in one file ---------------------------------------------------------
{
  printf '{\n"ok": true,\n"mode": "%s",\n"date": "%s",\n' "$mode" "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  printf '"settings": {"rows": %s, "epochs": %s, "batch_sizes": [%s], "hidden": [%s], "patients": %s, "seed": %s},\n' \
    "$rows" "$epochs" "$batches" "$(printf '"%s",' "${widths[@]}" | sed 's/,$//')" "$patients" "$seed"
  printf '"seconds": %s,\n' "$(($(date +%s) - started))"
  build="$(cat "$(dirname "$carelab")/BUILD.txt" 2>/dev/null || echo "no BUILD.txt beside $carelab")"
  printf '"build": %s,\n' "$(json_string "$build")"
  printf '"doctor": %s,\n' "$(cat "$work/doctor.json")"
  printf '"bench_train": %s,\n' "$(cat "$work/bench/bench-train.json")"
  printf '"train": %s\n}\n' "$train_json"
} >"$json.tmp"
mv "$json.tmp" "$json"
say "done in $(($(date +%s) - started)) s: $json"
