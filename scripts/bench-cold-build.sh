#!/usr/bin/env bash
# A cold release build, timed, as a learner's first `cargo run --release`
# meets it: for each revision given (default HEAD), in the order given, a
# fresh clone into a temporary folder and `cargo build --release --locked`
# into an empty target folder. Crates are downloaded first, outside the
# clock (`cargo fetch`), so the figure is compiling, not the network.
# Prints, per build: the revision, wall seconds, CPU seconds (user +
# system, from /usr/bin/time -v) and the load average before and after.
#   scripts/bench-cold-build.sh [REV ...]     e.g. d494901 HEAD d494901 HEAD
# Needs about 2 GB of disk per build (removed after it).
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ! -x /usr/bin/time ]]; then
  echo "bench-cold-build: needs GNU time at /usr/bin/time (apt-get install time)" >&2
  exit 2
fi
repo="$PWD"
revs=("$@")
[[ ${#revs[@]} -gt 0 ]] || revs=(HEAD)
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
load() { cut -d' ' -f1 /proc/loadavg; }
printf '%-12s %8s %8s %12s\n' revision wall_s cpu_s load
for rev in "${revs[@]}"; do
  src="$scratch/src"
  rm -rf "$src" "$scratch/target"
  git clone -q "$repo" "$src"
  git -C "$src" checkout -q "$(git rev-parse "$rev")"
  (cd "$src" && cargo fetch --locked -q)
  before=$(load)
  (cd "$src" && /usr/bin/time -v cargo build --release --locked -q \
    --target-dir "$scratch/target") 2>"$scratch/time.log" || {
    cat "$scratch/time.log" >&2
    exit 1
  }
  after=$(load)
  awk -v rev="$rev" -v load="$before->$after" '
    /Elapsed \(wall clock\)/ { n = split($NF, p, ":"); w = 0; for (i = 1; i <= n; i++) w = w * 60 + p[i] }
    /User time/ { u = $NF } /System time/ { s = $NF }
    END { printf "%-12s %8.1f %8.1f %12s\n", rev, w, u + s, load }' "$scratch/time.log"
done
