#!/usr/bin/env bash
# Parse speed of CareLab's HL7 v2 and FHIR NDJSON readers against the Python
# peers on the same generated files. Usage:
#   PEERS_VENV=DIR scripts/bench-parse.sh [PATIENTS]
# The peer Python is $PEERS_PY, else $PEERS_VENV/bin/python, else python3;
# it needs `hl7==0.4.5 orjson` (python3 -m venv DIR && DIR/bin/pip install
# hl7==0.4.5 orjson). Peer scripts: $PEERS_DIR, default ../shared/peers
# relative to the project root (shared/ sits beside the clone).
set -euo pipefail
cd "$(dirname "$0")/.."
patients="${1:-2000}"
if [[ -n "${PEERS_PY:-}" ]]; then
  py="$PEERS_PY"
elif [[ -n "${PEERS_VENV:-}" ]]; then
  py="$PEERS_VENV/bin/python"
else
  py=python3
fi
peers="${PEERS_DIR:-../shared/peers}"
for f in parse_hl7.py parse_fhir_ndjson.py; do
  if [[ ! -f "$peers/$f" ]]; then
    echo "bench-parse: no $peers/$f (set PEERS_DIR to the peer scripts)" >&2
    exit 2
  fi
done
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT

ours="$(cargo bench --quiet --bench parse -- "$dir" "$patients")"
hl7_peer="$("$py" "$peers/parse_hl7.py" "$dir/feed.hl7")"
fhir_peer="$("$py" "$peers/parse_fhir_ndjson.py" "$dir/observations.ndjson")"

field() { sed -n "s/.*$2=\([0-9.]*\).*/\1/p" <<<"$1"; }
ours_hl7="$(grep 'carelab-hl7v2 ' <<<"$ours")"
ours_fhir="$(grep carelab-fhir <<<"$ours")"
ours_decode="$(grep carelab-hl7v2-decode <<<"$ours")"
a="$(field "$ours_hl7" msgs_per_s)"; b="$(field "$hl7_peer" msgs_per_s)"
c="$(field "$ours_fhir" resources_per_s)"; d="$(field "$fhir_peer" resources_per_s)"
printf '%-22s %16s %16s %8s\n' "reader" "carelab /s" "python peer /s" "ratio"
printf '%-22s %16s %16s %8s\n' "HL7 v2 messages" "$a" "$b" "$(awk "BEGIN{printf \"%.1fx\", $a/$b}")"
e="$(field "$ours_decode" msgs_per_s)"
printf '%-22s %16s %16s %8s\n' "HL7 v2 decoded" "$e" "$b" "$(awk "BEGIN{printf \"%.1fx\", $e/$b}")"
printf '%-22s %16s %16s %8s\n' "FHIR NDJSON resources" "$c" "$d" "$(awk "BEGIN{printf \"%.1fx\", $c/$d}")"
echo "carelab: $ours_hl7 | $ours_decode | $ours_fhir"
echo "peers:   $hl7_peer | $fhir_peer"
