#!/usr/bin/env bash
# What the light optimisation of Cargo.toml's `[profile.release.package.*]`
# entries saves: CPU seconds (user + system, /usr/bin/time -v) of building
# just those crates, alone, at opt-level 3 and at their configured levels,
# in turns, in a target dir where everything else is already built (run
# `cargo build --release --locked` first). Usage:
#   scripts/bench-build.sh [ROUNDS]   (default 2)
# Uses $CARGO_TARGET_DIR (default target/). The crates are rebuilt; the
# rest of the build is left as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-2}"
if [[ ! -x /usr/bin/time ]]; then
  echo "bench-build: needs GNU time at /usr/bin/time (apt-get install time)" >&2
  exit 2
fi
crates=$(sed -n 's/^\[profile\.release\.package\.\([A-Za-z0-9_-]*\)\]$/\1/p' Cargo.toml)
if [[ -z "$crates" ]]; then
  echo "bench-build: no [profile.release.package.*] entries in Cargo.toml" >&2
  exit 2
fi
# -p wants name@version where a crate is in the tree at two versions: take each
resolve() {
  local out
  if out=$(cargo pkgid --offline "$1" 2>&1); then
    echo "${out##*#}"
  else
    sed -n "s/^  \($1@.*\)\$/\1/p" <<<"$out"
  fi
}
specs=()
for c in $crates; do
  while read -r spec; do specs+=(-p "$spec"); done < <(resolve "$c")
done
cpu() { awk '/User time/ {u = $NF} /System time/ {s = $NF} END {printf "%.1f", u + s}' "$1"; }
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
echo "crates:" $crates
for ((r = 1; r <= rounds; r++)); do
  for variant in opt-level-3 configured; do
    cfg=()
    if [[ $variant == opt-level-3 ]]; then
      for c in $crates; do cfg+=(--config "profile.release.package.$c.opt-level=3"); done
    fi
    cargo clean -q --release "${specs[@]}"
    /usr/bin/time -v cargo build -q --release --locked "${cfg[@]}" "${specs[@]}" 2>"$log"
    printf 'round %d %-12s %8s CPU s  load %s\n' "$r" "$variant" "$(cpu "$log")" \
      "$(cut -d' ' -f1 /proc/loadavg)"
  done
done
