#!/usr/bin/env bash
# Training speed: CareLab (fused CPU trainer and a plain candle loop) against
# the PyTorch peer and scikit-learn, on the same model matrix, in one run.
# Needs the peers venv: ../shared/peers/setup.sh (it lands in $PEERS_VENV, default ~/.cache/carelab-peers).
# Knobs: CARELAB_BENCH_ROWS, _EPOCHS, _BATCH, _HIDDEN, _CANDLE_EPOCHS; PEERS_PYTHON.
#
# By default it builds in the dev profile with CareLab itself optimised
# (dependencies are already built there at opt-level 2), which avoids a full
# release build of every dependency; BENCH_PROFILE=release uses `cargo bench`.
set -euo pipefail
cd "$(dirname "$0")/.."
export PEERS_PYTHON="${PEERS_PYTHON:-${PEERS_VENV:-$HOME/.cache/carelab-peers}/bin/python}"
if [ "${BENCH_PROFILE:-dev}" = release ]; then
  exec cargo bench --bench train "$@"
fi
exec cargo bench --profile dev --bench train \
  --config 'profile.dev.package.carelab.opt-level=3' \
  --config 'profile.dev.package.carelab.debug-assertions=false' \
  --config 'profile.dev.package.carelab.overflow-checks=false' "$@"
