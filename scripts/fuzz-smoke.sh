#!/usr/bin/env bash
# Bounded fuzz run of each target (cargo-fuzz needs a nightly toolchain).
# The stable no-panic property tests in tests/hl7v2.rs and tests/fhir.rs run
# in CI instead. Usage: scripts/fuzz-smoke.sh [SECONDS_PER_TARGET]
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs="${1:-30}"
for target in hl7v2_parse fhir_read; do
  cargo +nightly fuzz run "$target" -- -max_total_time="$secs" -max_len=65536
done
