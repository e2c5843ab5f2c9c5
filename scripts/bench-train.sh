#!/usr/bin/env bash
# Training speed: CareLab (fused CPU trainer and a plain candle loop) against
# the PyTorch peer and scikit-learn, on the same model matrix, in one run.
# Needs the peers venv: PEERS_VENV=/work/peers-venv bash /work/shared/peers/setup.sh
# Knobs: CARELAB_BENCH_ROWS, _EPOCHS, _BATCH, _HIDDEN, _CANDLE_EPOCHS; PEERS_PYTHON.
set -euo pipefail
cd "$(dirname "$0")/.."
export PEERS_PYTHON="${PEERS_PYTHON:-${PEERS_VENV:-/work/peers-venv}/bin/python}"
exec cargo bench --bench train "$@"
