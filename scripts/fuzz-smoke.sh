#!/usr/bin/env bash
# Bounded cargo-fuzz smoke run: build every fuzz target in fuzz/ once, then
# fuzz each for SECONDS (default 60) starting from the seeds in
# fuzz/seeds/TARGET. A panic in a reader is a bug: libFuzzer stops that
# target, the crashing input lands in fuzz/artifacts/TARGET/, and the script
# goes on with the other targets and exits 1 at the end. Usage:
#   scripts/fuzz-smoke.sh [SECONDS] [TARGET...]
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`). On stable Rust,
# RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass its instrumentation flags. The
# targets are built without a sanitizer (-s none): the readers are safe
# Rust, the smoke run looks for panics, and each run is about twice as fast
# without AddressSanitizer. The build instruments every dependency, so it
# keeps its own target dir ($FUZZ_TARGET_DIR, default fuzz/target); the
# first build is long (all of CareLab's dependencies), later ones rebuild
# only CareLab.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs="${1:-60}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(hl7v2_parse fhir_read mllp_listen csv_read fixed_width)
fi
export RUSTC_BOOTSTRAP=1
opts=(-O -s none --codegen-units 16 --target-dir "${FUZZ_TARGET_DIR:-target}")

cargo fuzz build "${opts[@]}"
failed=()
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t"
    echo "== $t: ${secs} s"
    # -max_len: the seeds are a few KB; room for twice that keeps each run
    # fast while still reaching huge-field and many-message cases.
    if ! cargo fuzz run "${opts[@]}" "$t" "corpus/$t" "seeds/$t" -- \
        -max_total_time="$secs" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 2>"corpus/$t.log"; then
        failed+=("$t")
        tail -n 40 "corpus/$t.log"
    fi
    grep -E '^stat::number_of_executed_units|^Done|^#[0-9]+ *DONE' "corpus/$t.log" || true
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "crashed: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
    exit 1
fi
echo "no crash in ${targets[*]} (${secs} s each)"
