#!/usr/bin/env bash
# carelab serve against the FastAPI + scikit-learn peer under the same load,
# on loopback, then a reliability run. Usage:
#   scripts/bench-serve.sh [SECONDS]
# Environment:
#   CARELAB     the carelab binary (default: target/release/carelab, under
#               $CARGO_TARGET_DIR when set; build it with cargo build --release)
#   PEERS_VENV  the peers venv, with fastapi, uvicorn and scikit-learn
#               (default ~/.cache/carelab-peers; ../shared/peers/setup.sh makes it;
#               PEER_VENV, the older name, still works)
#   PEERS_DIR   where serve_fastapi.py is (default ../shared/peers beside the project)
#   RELIABILITY requests in the reliability run (default 100000; 0 skips it)
# Both servers and the load generator share this machine's cores, so compare
# the ratio from one run, not absolute figures from different runs.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-10}"
bin="${CARELAB:-${CARGO_TARGET_DIR:-target}/release/carelab}"
venv="${PEER_VENV:-${PEERS_VENV:-$HOME/.cache/carelab-peers}}"
peers="${PEERS_DIR:-../shared/peers}"
reliability="${RELIABILITY:-100000}"
ours_port="${OURS_PORT:-18081}"
peer_port="${PEER_PORT:-18080}"
[ -x "$bin" ] || { echo "no carelab binary at $bin (cargo build --release, or set CARELAB)" >&2; exit 2; }
[ -x "$venv/bin/uvicorn" ] || { echo "no uvicorn in $venv (set PEERS_VENV; ../shared/peers/setup.sh makes it)" >&2; exit 2; }

dir="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

wait_for() { # URL: wait until it answers, at most 30 s
  for _ in $(seq 300); do
    curl -s -o /dev/null "$1" && return 0
    sleep 0.1
  done
  echo "nothing answered at $1" >&2
  exit 1
}

# The model: the small MLP bench serve trains on the toy table (a short
# in-process run makes it and checks the binary works).
"$bin" --no-progress bench serve --requests 200 --connections 2 --out "$dir" >/dev/null
model="$dir/tiny-model-seed42"
token="$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
hash="$(printf '%s' "$token" | "$bin" serve --hash-token)"
printf '[[token]]\nname = "bench"\nsha256 = "%s"\nroles = ["predict"]\n' "$hash" >"$dir/tokens.toml"

"$bin" --quiet serve --model "$model" --tokens "$dir/tokens.toml" \
  --addr "127.0.0.1:$ours_port" --audit "$dir/audit.jsonl" \
  --prediction-log "$dir/predictions.jsonl" 2>"$dir/serve.log" &
pids+=($!)
(cd "$peers" && exec "$venv/bin/uvicorn" serve_fastapi:app --host 127.0.0.1 \
  --port "$peer_port" --log-level warning) 2>"$dir/peer.log" &
pids+=($!)
wait_for "http://127.0.0.1:$ours_port/healthz"
wait_for "http://127.0.0.1:$peer_port/docs"

# The same request every time: the peer's 32 numbers, and for carelab one
# stay's named features (what a ward system would send).
python3 -c 'import json; print(json.dumps({"features": [0.1 * ((i % 7) - 3) for i in range(32)]}))' >"$dir/peer-body.json"
cat >"$dir/ours-body.json" <<'EOF'
{"age": 74, "sex": "F", "race_ethnicity": "White", "payer": "Medicare", "los_days": 5.2,
 "disposition": "skilled_nursing", "prior_admissions_365d": 1, "days_since_last_discharge": 48,
 "htn": 1, "t2dm": 0, "chf": 1, "copd": 0, "ckd": 1, "afib": 0, "depression": 0,
 "n_medications": 7, "hr": 88, "sbp": 128, "creatinine": 1.6, "sodium": 136,
 "hemoglobin": 11.2, "bnp": 420}
EOF

drive() { # NAME URL ARGS...: one bench serve run, its JSON kept in $dir/NAME.json
  local name="$1" url="$2"
  shift 2
  "$bin" --json --no-progress bench serve --url "$url" --out "$dir/$name" "$@" >"$dir/$name.json" || true
}
load_before="$(uptime | sed 's/.*load average/load average/')"
drive peer "http://127.0.0.1:$peer_port/predict" --body "$dir/peer-body.json" --connections 32 --duration "$seconds"
drive ours "http://127.0.0.1:$ours_port/v1/predict" --body "$dir/ours-body.json" --token "$token" --connections 32 --duration "$seconds"

row() { jq -r --arg n "$1" '[$n, (.requests_per_sec|floor), .latency_ms.p50, .latency_ms.p90, .latency_ms.p99, .latency_ms.max, .server_errors, .errors] | @tsv' "$dir/$2.json"; }
echo "carelab bench serve: 32 connections, the median of 5 runs of ${seconds} s each after a warm-up (spread in the JSON), loopback, $(nproc) core(s)"
echo "load before: $load_before"
echo "load after:  $(uptime | sed 's/.*load average/load average/')"
{
  printf 'server\treq/s\tp50_ms\tp90_ms\tp99_ms\tmax_ms\t5xx\tno_answer\n'
  row "FastAPI+sklearn" peer
  row "carelab_serve" ours
} | column -t -s "$(printf '\t')"
ours_rps="$(jq .requests_per_sec "$dir/ours.json")"
peer_rps="$(jq .requests_per_sec "$dir/peer.json")"
ours_p99="$(jq .latency_ms.p99 "$dir/ours.json")"
awk -v a="$ours_rps" -v b="$peer_rps" -v p="$ours_p99" 'BEGIN {
  printf "ratio: %.1fx the peer requests/s (goal >= 20x); carelab p99 %.2f ms (goal < 5 ms)\n", a / b, p }'

if command -v wrk >/dev/null; then
  # A second opinion from wrk (its own client, 2 threads), same bodies.
  lua() { # BODY_FILE [TOKEN]
    printf 'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
    if [ -n "${2:-}" ]; then printf 'wrk.headers["Authorization"] = "Bearer %s"\n' "$2"; fi
    printf 'wrk.body = [[%s]]\n' "$(jq -c . "$1")"
  }
  lua "$dir/peer-body.json" >"$dir/peer.lua"
  lua "$dir/ours-body.json" "$token" >"$dir/ours.lua"
  for who in peer ours; do
    if [ "$who" = peer ]; then url="http://127.0.0.1:$peer_port/predict"; else url="http://127.0.0.1:$ours_port/v1/predict"; fi
    echo "wrk, $who:"
    wrk -t2 -c32 -d"${seconds}s" --latency -s "$dir/$who.lua" "$url" | grep -E "Requests/sec|  99%|Non-2xx|Socket errors" || true
  done
fi

if [ "$reliability" -gt 0 ]; then
  drive reliability "http://127.0.0.1:$ours_port/v1/predict" --body "$dir/ours-body.json" --token "$token" --connections 64 --requests "$reliability"
  jq -r '"reliability: \(.requests) requests at 64 connections in \(.seconds*100|floor/100) s: status \(.status|tostring), 5xx \(.server_errors), no answer \(.errors), p99 \(.latency_ms.p99) ms"' "$dir/reliability.json"
fi

kill -TERM "${pids[0]}"
wait "${pids[0]}" || true
pids=("${pids[@]:1}")
lines="$(wc -l <"$dir/audit.jsonl")"
"$bin" --quiet audit verify "$dir/audit.jsonl" >/dev/null && echo "audit log: $lines records, hash chain verified"
