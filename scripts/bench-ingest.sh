#!/usr/bin/env bash
# `carelab ingest --csv` beside two DuckDB peers on the same files in the same
# run, each under /usr/bin/time -v: the floor (scripts/bench-ingest-duckdb.py:
# load the six CSV files, build one stay table) and the equivalent
# (scripts/bench-ingest-duckdb-cdm.py: the same outputs as ingest but for
# linkage: quarantine, CDM v5.4 tables with keys, identifiers, OMOP-like and
# analysis tables, data-quality checks). Prints wall time and peak RSS of
# each, and ingest's ratios to both. Usage:
#   PEERS_VENV=DIR scripts/bench-ingest.sh [PATIENTS]   (default 20000)
# DuckDB comes from $PEERS_PY, else $PEERS_VENV/bin/python (the peers venv,
# ../shared/peers/setup.sh, default ~/.cache/carelab-peers), else python3; a
# venv with just `duckdb` is enough (python3 -m venv DIR && DIR/bin/pip
# install duckdb). CareLab is $CARELAB (default: the release build, made if
# missing). Extra ingest flags: $INGEST_ARGS (e.g. "--memory-limit 1024").
# Work files go under $BENCH_DIR (default /tmp) and are removed at the end.
# COMPARE=1 then compares ingest's outputs with the equivalent peer's, table
# by table (not timed; scripts/bench-ingest-duckdb-cdm.py --compare).
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
# each side's outputs go once timed, so that a million patients fit the disk
[[ -n "${COMPARE:-}" ]] || rm -rf "$dir/carelab"
/usr/bin/time -v "$py" scripts/bench-ingest-duckdb.py "$dir/data" "$dir/duckdb" \
  >"$dir/duckdb.out" 2>"$dir/duckdb.time"
rm -rf "$dir/duckdb"
/usr/bin/time -v "$py" scripts/bench-ingest-duckdb-cdm.py "$dir/data" "$dir/duckdb-cdm" \
  >"$dir/duckdb-cdm.out" 2>"$dir/duckdb-cdm.time"

# wall seconds ([h:]m:ss.ss) and peak RSS (MB) from a time -v report
wall() {
  sed -n 's/.*Elapsed (wall clock) time.*: //p' "$1" |
    awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; printf "%.1f", s }'
}
rss() { awk '/Maximum resident set size/ { printf "%.0f", $NF / 1024 }' "$1"; }
ct="$(wall "$dir/carelab.time")"; cr="$(rss "$dir/carelab.time")"
input_mb="$(du -sm "$dir/data" | cut -f1)"
echo "$patients patients, ${input_mb} MB of CSV"
printf '%-12s %10s %14s %22s\n' "" "wall s" "peak RSS MB" "carelab / it: time, RSS"
printf '%-12s %10s %14s\n' "carelab" "$ct" "$cr"
for peer in duckdb duckdb-cdm; do
  t="$(wall "$dir/$peer.time")"; r="$(rss "$dir/$peer.time")"
  printf '%-12s %10s %14s %22s\n' "$peer" "$t" "$r" \
    "$(awk "BEGIN { printf \"%.2fx, %.2fx\", $ct / $t, $cr / $r }")"
done
echo "duckdb (floor): $(cat "$dir/duckdb.out")"
echo "duckdb-cdm (equivalent): $(cat "$dir/duckdb-cdm.out")"
if [[ -n "${COMPARE:-}" ]]; then
  "$py" scripts/bench-ingest-duckdb-cdm.py --compare "$dir/carelab" "$dir/duckdb-cdm"
fi
