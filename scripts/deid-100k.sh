#!/usr/bin/env bash
# 100,000 generated patients through Safe Harbor, then the PHI scanner
# against the generator's own identifier list: zero residuals expected.
# Prints time and peak memory of each step.
#
#   scripts/deid-100k.sh [WORKDIR]        (PATIENTS=1000 for a quick run)
#
# Uses target/release/carelab (or $CARELAB_BIN); builds it if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
PATIENTS=${PATIENTS:-100000}
WORK=${1:-$(mktemp -d)}
BIN=${CARELAB_BIN:-${CARGO_TARGET_DIR:-target}/release/carelab}
if [ ! -x "$BIN" ]; then
  cargo build --release --bin carelab
fi
mkdir -p "$WORK"
step() { # name, command...
  local name=$1; shift
  /usr/bin/time -f "$name: %e s, peak memory %M KB" "$@"
}
rm -rf "$WORK/data" "$WORK/deid"
step generate "$BIN" --no-progress -q data generate --patients "$PATIENTS" --seed 42 \
  --formats csv --out "$WORK/data"
# the key lives outside the data it protects
od -An -tx1 -N32 /dev/urandom | tr -d ' \n' > "$WORK/deid.key"
step safe-harbor "$BIN" --no-progress -q deid --in "$WORK/data" --out "$WORK/deid" \
  --mode safe-harbor --key-file "$WORK/deid.key"
set +e
step scan-phi "$BIN" --no-progress --json scan-phi "$WORK"/deid/*.csv \
  --known "$WORK/data/truth/identifiers.csv" > "$WORK/scan.json"
code=$?
set -e
residuals=$(grep -o '"findings_total": *[0-9]*' "$WORK/scan.json" | grep -o '[0-9]*$')
echo "patients: $PATIENTS  residual identifiers: $residuals  (scan-phi exit $code)"
du -sh "$WORK/data" "$WORK/deid" | sed 's/^/size: /'
if [ "$residuals" != "0" ] || [ "$code" != "0" ]; then
  echo "FAILED: residual identifiers after safe-harbor (see $WORK/scan.json)" >&2
  exit 1
fi
echo ok
