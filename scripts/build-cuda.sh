#!/usr/bin/env bash
# Build carelab with CUDA for one GPU generation, and pack it into a folder to
# carry to a GPU machine that has no Rust on it.
#
#   scripts/build-cuda.sh [COMPUTE_CAP]   # 90: H100/H200 (the default), 80: A100, 89: L4/RTX 4090
#
# Here (the build machine) it needs Rust, python3 with venv, a C compiler,
# strip, readelf and xz, and the registries (PyPI, crates.io); no GPU, no
# NVIDIA driver and no CUDA toolkit. It makes:
#
#   dist/carelab-gpu/carelab.xz    the stripped binary, xz-compressed
#   dist/carelab-gpu/carelab-gpu   the launcher: run this, not the binary
#   dist/carelab-gpu/needs.txt     the shared CUDA libraries the binary loads
#   dist/carelab-gpu/BUILD.txt     what was built, from which commit, for which GPU
#
# There (the GPU machine): x86-64 Linux, the NVIDIA driver >= 580 (CUDA 13.0;
# it provides libcuda.so.1), and the CUDA 13 runtime libraries (libcudart,
# libcublas, libcublasLt, libcurand, libnvrtc): a CUDA 13 toolkit, or NVIDIA's
# pip wheels (a PyTorch built for CUDA 13 brings them, in nvidia/cu13/lib).
# The launcher finds them and says which one is missing and where it looked.
#
# Steps:
#  1. The CUDA 13.0 compiler, headers and libraries: the pinned wheels of
#     scripts/cuda-13.0-wheels.txt, installed into .cuda-venv/ and used as
#     CUDA_HOME (their nvidia/cu13 folder). CUDA_HOME set to a toolkit of
#     your own (with bin/nvcc) is used instead; it must be CUDA 13.0 for
#     driver 580, and at most the newest CUDA cudarc knows (13.4).
#  2. A link-time stand-in for the driver's libcuda.so (soname libcuda.so.1),
#     compiled from a C file generated from the driver functions cudarc
#     declares: the binary links against it here and loads the real driver
#     there. (A CUDA toolkit ships the same thing as lib/stubs/libcuda.so.)
#  3. cargo build --release --locked --features cuda, with the kernels
#     compiled for sm_COMPUTE_CAP (CUDA_COMPUTE_CAP) and cudarc told the CUDA
#     version (CUDARC_CUDA_VERSION). 15+ minutes on 2 cores from scratch.
#  4. The folder above. Carry it; run `dist/carelab-gpu/carelab-gpu doctor`.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

fail() {
  echo "build-cuda: $*" >&2
  exit 1
}
step() { echo "build-cuda: $*" >&2; }

cap="${1:-${CUDA_COMPUTE_CAP:-90}}"
[[ "$cap" =~ ^[0-9]{2,3}$ ]] ||
  fail "compute capability must be digits like 90 (H100/H200), 80 (A100) or 89 (L4), not '$cap'"

for tool in cargo python3 cc strip readelf xz; do
  command -v "$tool" >/dev/null 2>&1 || fail "needs '$tool' on PATH"
done

# --- 1. the CUDA toolkit ------------------------------------------------------
venv="$root/.cuda-venv"
wheels="$root/scripts/cuda-13.0-wheels.txt"
if [ -n "${CUDA_HOME:-}" ]; then
  cuda_home="$CUDA_HOME"
  [ -x "$cuda_home/bin/nvcc" ] || fail "CUDA_HOME=$cuda_home has no bin/nvcc; unset CUDA_HOME to use the pinned PyPI wheels"
  step "using the CUDA toolkit in CUDA_HOME=$cuda_home"
else
  # A stamp records which pin list is installed, so an edited list reinstalls.
  stamp="$venv/.carelab-wheels"
  if ! cmp -s "$wheels" "$stamp" 2>/dev/null; then
    step "installing the CUDA 13.0 wheels of $(basename "$wheels") into .cuda-venv (about 1.2 GB)"
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv" ||
      fail "python3 -m venv .cuda-venv failed (on Debian/Ubuntu: apt-get install python3-venv)"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check --no-deps -r "$wheels" ||
      fail "pip could not install the wheels of $wheels (is PyPI reachable?)"
    cp "$wheels" "$stamp"
  fi
  site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  cuda_home="$site/nvidia/cu13"
  [ -x "$cuda_home/bin/nvcc" ] || fail "the wheels left no nvcc at $cuda_home/bin/nvcc"
  # The linker looks for libX.so; the wheels ship only libX.so.N.
  for lib in "$cuda_home"/lib/lib*.so.*; do
    link="${lib%%.so.*}.so"
    [ -e "$link" ] || ln -s "$(basename "$lib")" "$link"
  done
fi
nvcc_release="$("$cuda_home/bin/nvcc" --version | sed -n 's/.*release \([0-9]*\)\.\([0-9]*\).*/\1 \2/p')"
[ -n "$nvcc_release" ] || fail "could not read the CUDA release from '$cuda_home/bin/nvcc --version'"
read -r cuda_major cuda_minor <<<"$nvcc_release"
cuda_version="${cuda_major}0${cuda_minor}0" # cudarc's spelling: 13.0 -> 13000
case "$cuda_version" in
  1[12]0[0-9]0 | 130[0-4]0) ;;
  *) fail "nvcc is CUDA $cuda_major.$cuda_minor; cudarc (candle's CUDA binding) knows 11.4 to 13.4: use the pinned wheels (unset CUDA_HOME) or an older toolkit" ;;
esac
for lib in cudart cublas cublasLt curand nvrtc; do
  found=""
  for d in lib lib64 targets/x86_64-linux/lib; do
    [ -e "$cuda_home/$d/lib$lib.so" ] && found=1
  done
  [ -n "$found" ] || fail "$cuda_home has no lib$lib.so (in lib/, lib64/ or targets/x86_64-linux/lib/)"
done

# --- 2. the driver's stand-in for the linker ----------------------------------
# Every cu* function cudarc's driver bindings declare (a superset of what the
# binary calls), each returning CUDA_ERROR_UNKNOWN should anything ever call it.
step "making the link-time libcuda.so stub"
cudarc_dir="$(cargo metadata --locked --format-version 1 --features cuda 2>/dev/null |
  python3 -c 'import json,sys,os; m=json.load(sys.stdin); print(next(os.path.dirname(p["manifest_path"]) for p in m["packages"] if p["name"]=="cudarc"))')" ||
  fail "cargo metadata found no cudarc crate (is Cargo.lock's candle built with the cuda feature?)"
bindings="$cudarc_dir/src/driver/sys/mod.rs"
[ -f "$bindings" ] || fail "cudarc's driver bindings are not at $bindings"
stub_dir="$venv/driver-stub"
mkdir -p "$stub_dir"
{
  echo "/* Generated by scripts/build-cuda.sh from $bindings: a link-time stand-in for the NVIDIA driver. */"
  grep -oE '^pub unsafe fn cu[A-Za-z0-9_]+' "$bindings" | sed 's/^pub unsafe fn //' | sort -u |
    sed 's/.*/int &(void) { return 999; }/'
} >"$stub_dir/libcuda-stub.c"
count="$(grep -c '^int ' "$stub_dir/libcuda-stub.c")"
[ "$count" -gt 100 ] || fail "found only $count driver functions in $bindings; has cudarc's layout changed?"
cc -shared -fPIC -Wl,-soname,libcuda.so.1 -o "$stub_dir/libcuda.so" "$stub_dir/libcuda-stub.c" ||
  fail "compiling the libcuda.so stub failed"
step "stub libcuda.so with $count driver functions in $stub_dir"

# --- 3. the build ---------------------------------------------------------------
export CUDA_HOME="$cuda_home" CUDA_PATH="$cuda_home" CUDA_ROOT="$cuda_home"
export PATH="$cuda_home/bin:$PATH"
export LIBRARY_PATH="$stub_dir:$cuda_home/lib:$cuda_home/lib64${LIBRARY_PATH:+:$LIBRARY_PATH}"
export CUDA_COMPUTE_CAP="$cap" CUDARC_CUDA_VERSION="$cuda_version"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
step "building with nvcc $cuda_major.$cuda_minor for compute capability $cap into $target_dir (15+ minutes from scratch)"
start=$(date +%s)
cargo build --release --locked --features cuda ||
  fail "cargo build --features cuda failed (see above); CUDA_HOME=$cuda_home"
step "built in $(($(date +%s) - start)) s"
bin="$target_dir/release/carelab"

# --- 4. the folder to carry -----------------------------------------------------
dist="$root/dist/carelab-gpu"
step "packing $dist"
rm -rf "$dist.tmp"
mkdir -p "$dist.tmp"
strip -o "$dist.tmp/carelab" "$bin"
# The CUDA libraries the binary loads, for the launcher to find there: the
# driver's libcuda.so.1 and every library of the toolkit it needs, with what
# those need in turn (libcublas needs libcublasLt, say).
needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }
toolkit_file() {
  for d in lib lib64 targets/x86_64-linux/lib; do
    [ -e "$cuda_home/$d/$1" ] && { echo "$cuda_home/$d/$1"; return 0; }
  done
  return 1
}
needs=()
todo=("$dist.tmp/carelab")
while [ "${#todo[@]}" -gt 0 ]; do
  file="${todo[0]}"
  todo=("${todo[@]:1}")
  for lib in $(needed "$file"); do
    case " ${needs[*]:-} " in *" $lib "*) continue ;; esac
    if [ "$lib" = libcuda.so.1 ]; then
      needs+=("$lib")
    elif found="$(toolkit_file "$lib")"; then
      needs+=("$lib")
      todo+=("$found")
    fi
  done
done
printf '%s\n' "${needs[@]:-}" >"$dist.tmp/needs.txt"
grep -qx 'libcuda.so.1' "$dist.tmp/needs.txt" ||
  fail "the binary $bin does not link libcuda.so.1: was it built with --features cuda?"
sha="$(sha256sum "$dist.tmp/carelab" | cut -d' ' -f1)"
# CUDA 13.0 ships with driver 580; other versions need their own driver.
if [ "$cuda_version" = 13000 ]; then
  driver_needed="NVIDIA driver >= 580"
else
  driver_needed="an NVIDIA driver for CUDA $cuda_major.$cuda_minor or newer"
fi
xz -9 -T0 "$dist.tmp/carelab"
cp scripts/carelab-gpu-launcher.sh "$dist.tmp/carelab-gpu"
chmod +x "$dist.tmp/carelab-gpu"
cat >"$dist.tmp/BUILD.txt" <<EOF
carelab $(git describe --always --dirty 2>/dev/null || echo unknown), built $(date -u +%Y-%m-%dT%H:%M:%SZ) by scripts/build-cuda.sh
cuda $cuda_major.$cuda_minor (needs $driver_needed), kernels for compute capability $cap
binary sha256 $sha
EOF
rm -rf "$dist"
mv "$dist.tmp" "$dist"
step "done: $dist ($(du -sh "$dist" | cut -f1)); needs $(tr '\n' ' ' <"$dist/needs.txt")"
echo "$dist"
