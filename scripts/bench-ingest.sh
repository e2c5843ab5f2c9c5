#!/usr/bin/env bash
# `carelab ingest --csv` beside DuckDB doing a load-and-transform of the same
# files in the same run, each under /usr/bin/time -v: wall time and peak RSS
# of both, and the ratios. Usage:
#   PEERS_VENV=DIR scripts/bench-ingest.sh [PATIENTS]   (default 20000)
# DuckDB comes from $PEERS_PY, else $PEERS_VENV/bin/python (the peers venv,
# ../shared/peers/setup.sh, default ~/.cache/carelab-peers), else python3; a
# venv with just `duckdb` is enough (python3 -m venv DIR && DIR/bin/pip
# install duckdb). CareLab is $CARELAB (default: the release build, made if
# missing). Extra ingest flags: $INGEST_ARGS (e.g. "--memory-limit 1024").
# Work files go under $BENCH_DIR (default /tmp) and are removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
patients="${1:-20000}"
if [[ -n "${PEERS_PY:-}" ]]; then
  py="$PEERS_PY"
elif [[ -n "${PEERS_VENV:-}" ]]; then
  py="$PEERS_VENV/bin/python"
elif [[ -x "$HOME/.cache/carelab-peers/bin/python" ]]; then
  py="$HOME/.cache/carelab-peers/bin/python"
else
  py=python3
fi
if ! "$py" -c 'import duckdb' 2>/dev/null; then
  echo "bench-ingest: no duckdb for $py: run ../shared/peers/setup.sh, or" >&2
  echo "  python3 -m venv DIR && DIR/bin/pip install duckdb; PEERS_VENV=DIR $0" >&2
  exit 2
fi
if [[ -z "${CARELAB:-}" ]]; then
  cargo build --release --locked --quiet
  CARELAB="${CARGO_TARGET_DIR:-target}/release/carelab"
fi
if [[ ! -x /usr/bin/time ]]; then
  echo "bench-ingest: needs GNU time at /usr/bin/time (apt-get install time)" >&2
  exit 2
fi
dir="$(mktemp -d -p "${BENCH_DIR:-/tmp}" bench-ingest.XXXXXX)"
trap 'rm -rf "$dir"' EXIT

"$CARELAB" -q data generate --patients "$patients" --formats csv --out "$dir/data" >/dev/null
# shellcheck disable=SC2086
/usr/bin/time -v "$CARELAB" -q ingest --csv "$dir/data" --out "$dir/carelab" ${INGEST_ARGS:-} \
  >/dev/null 2>"$dir/carelab.time"
/usr/bin/time -v "$py" scripts/bench-ingest-duckdb.py "$dir/data" "$dir/duckdb" \
  >"$dir/duckdb.out" 2>"$dir/duckdb.time"

# wall seconds ([h:]m:ss.ss) and peak RSS (MB) from a time -v report
wall() {
  sed -n 's/.*Elapsed (wall clock) time.*: //p' "$1" |
    awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; printf "%.1f", s }'
}
rss() { awk '/Maximum resident set size/ { printf "%.0f", $NF / 1024 }' "$1"; }
ct="$(wall "$dir/carelab.time")"; cr="$(rss "$dir/carelab.time")"
dt="$(wall "$dir/duckdb.time")"; dr="$(rss "$dir/duckdb.time")"
input_mb="$(du -sm "$dir/data" | cut -f1)"
echo "$patients patients, ${input_mb} MB of CSV"
printf '%-10s %10s %14s\n' "" "wall s" "peak RSS MB"
printf '%-10s %10s %14s\n' "carelab" "$ct" "$cr"
printf '%-10s %10s %14s\n' "duckdb" "$dt" "$dr"
printf '%-10s %10s %14s\n' "ratio" \
  "$(awk "BEGIN { printf \"%.2fx\", $ct / $dt }")" \
  "$(awk "BEGIN { printf \"%.2fx\", $cr / $dr }")"
echo "duckdb: $(cat "$dir/duckdb.out")"
