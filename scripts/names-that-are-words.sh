#!/bin/sh
# Write datasets/names/names-that-are-words.txt: the names of the 1990
# census lists (first-names.txt, surnames.txt) that are a lower-case word
# of an English word list (Debian's `wamerican`, SCOWL:
# /usr/share/dict/american-english): "hunter", "price", "gene", "drew".
# The world lists hold none (scripts/names-from-faker.py leaves them out).
# A name the note scrubber found is looked for again in lower case ("ms
# lakisha", "tell tasha hi") unless it is one of these.
#
# Usage: scripts/names-that-are-words.sh [DICT]   (from the project root)
set -eu
dict=${1:-/usr/share/dict/american-english}
out=datasets/names/names-that-are-words.txt
{
  echo "# Census names that are lower-case English words (SCOWL via Debian's"
  echo "# wamerican); made by scripts/names-that-are-words.sh. One a line."
  LC_ALL=C grep -hv '^#' datasets/names/first-names.txt datasets/names/surnames.txt \
    | LC_ALL=C sort -u > "${TMPDIR:-/tmp}/names.$$"
  LC_ALL=C grep -E '^[a-z]+$' "$dict" | LC_ALL=C sort -u \
    | LC_ALL=C comm -12 "${TMPDIR:-/tmp}/names.$$" -
  rm -f "${TMPDIR:-/tmp}/names.$$"
} > "$out"
echo "$(grep -vc '^#' "$out") names written to $out" >&2
