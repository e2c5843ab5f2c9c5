#!/usr/bin/env bash
# The one download: a tar.gz with the carelab binary, the built guide (HTML),
# the labs, the datasets, shell completions, the manual page and a README,
# for machines with no Rust, no compiler and no network.
#
#   scripts/package.sh                      build the release binary, pack it
#   scripts/package.sh --binary PATH        pack this binary instead
#   scripts/package.sh --out DIR            where the .tar.gz goes (default dist/)
#
# Prints the bundle's path on stdout. The guide and the completions are made
# by the staged binary itself, from the sources compiled into it, so a
# bundle that packs is a bundle whose binary needs no source tree.
# Needs bash, tar, gzip and binutils (strip, objdump: the glibc floor).
# tests/it/bundle.rs packs the debug binary this way and runs the bundle.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
binary=""
out="$root/dist"
while [[ $# -gt 0 ]]; do
    case "$1" in
        --binary) binary="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "package.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done

for tool in strip objdump tar gzip; do
    if ! command -v "$tool" >/dev/null; then
        echo "package.sh: '$tool' not found; install binutils, tar and gzip" >&2
        exit 1
    fi
done

if [[ -z "$binary" ]]; then
    (cd "$root" && cargo build --release --locked --bin carelab >&2)
    binary="${CARGO_TARGET_DIR:-$root/target}/release/carelab"
fi
if [[ ! -x "$binary" ]]; then
    echo "package.sh: no executable at $binary" >&2
    exit 1
fi

version="$("$binary" --version | awk '{print $2}')"
os="$(uname -s | tr '[:upper:]' '[:lower:]')"
name="carelab-$version-$(uname -m)-$os"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
dir="$stage/$name"
mkdir -p "$dir"

# The binary, without symbols: a third of the size, and no path of this
# machine left in it (the bundle test checks).
cp "$binary" "$dir/carelab"
strip "$dir/carelab"
chmod 755 "$dir/carelab"

# The oldest glibc the binary accepts: the newest symbol version it needs.
glibc="$(objdump -T "$dir/carelab" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -1)"

# Made by the staged binary, from a folder outside the source tree.
(cd "$dir" && ./carelab -q book --out book >/dev/null)
mkdir -p "$dir/completions" "$dir/man"
"$dir/carelab" completions bash > "$dir/completions/carelab.bash"
"$dir/carelab" completions zsh > "$dir/completions/_carelab"
"$dir/carelab" completions fish > "$dir/completions/carelab.fish"
"$dir/carelab" completions powershell > "$dir/completions/_carelab.ps1"
"$dir/carelab" man > "$dir/man/carelab.1"

# To read and copy from; the binary has its own copies of the labs.
cp -R "$root/labs" "$dir/labs"
cp -R "$root/datasets" "$dir/datasets"

sed -e "s/@VERSION@/$version/g" -e "s/@GLIBC@/$glibc/g" \
    -e "s/@ARCH@/$(uname -m)/g" -e "s/@NAME@/$name/g" \
    "$root/scripts/bundle-README.md" > "$dir/README.md"

tar -C "$stage" -czf "$out/$name.tar.gz" "$name"
size="$(du -k "$out/$name.tar.gz" | cut -f1)"
echo "packed $name: $((size / 1024)) MiB, needs glibc $glibc or newer" >&2
echo "$out/$name.tar.gz"
