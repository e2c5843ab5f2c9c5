#!/usr/bin/env bash
# Build carelab with CUDA for one GPU generation, producing a binary that runs
# on a GPU machine without Rust on it (it needs only the NVIDIA driver there).
#
#   scripts/build-cuda.sh [COMPUTE_CAP]     # e.g. 90 for H100/H200, 80 for A100, 89 for L4/4090
#
# nvcc comes from, in order: $CUDA_HOME or $CUDA_PATH, an nvcc on PATH, or the
# CUDA compiler wheels on PyPI installed into ./.cuda-venv (no system toolkit
# needed). The binary lands in target/release/carelab; copy it to the GPU
# machine and run `carelab doctor` there.
set -euo pipefail
cd "$(dirname "$0")/.."
cap="${1:-${CUDA_COMPUTE_CAP:-90}}"

find_nvcc() {
  for home in "${CUDA_HOME:-}" "${CUDA_PATH:-}" /usr/local/cuda; do
    if [ -n "$home" ] && [ -x "$home/bin/nvcc" ]; then echo "$home"; return; fi
  done
  if command -v nvcc >/dev/null 2>&1; then dirname "$(dirname "$(command -v nvcc)")"; return; fi
  return 1
}

if ! cuda_home="$(find_nvcc)"; then
  echo "no CUDA toolkit found; installing the CUDA 12 compiler wheels from PyPI into .cuda-venv" >&2
  python3 -m venv .cuda-venv
  .cuda-venv/bin/pip install -q --disable-pip-version-check \
    nvidia-cuda-nvcc-cu12 nvidia-cuda-runtime-cu12 nvidia-cublas-cu12 nvidia-curand-cu12
  site="$(.cuda-venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  # Lay the wheels out as one toolkit folder: bin/, include/, lib64/.
  cuda_home="$PWD/.cuda-venv/cuda"
  mkdir -p "$cuda_home/bin" "$cuda_home/include" "$cuda_home/lib64"
  for pkg in cuda_nvcc cuda_runtime cublas curand; do
    d="$site/nvidia/$pkg"
    [ -d "$d/bin" ] && cp -rs "$d/bin/." "$cuda_home/bin/" 2>/dev/null || true
    [ -d "$d/include" ] && cp -rs "$d/include/." "$cuda_home/include/" 2>/dev/null || true
    [ -d "$d/lib" ] && cp -rs "$d/lib/." "$cuda_home/lib64/" 2>/dev/null || true
    [ -d "$d/nvvm" ] && cp -rs "$d/nvvm" "$cuda_home/" 2>/dev/null || true
  done
  for lib in "$cuda_home"/lib64/*.so.*; do
    base="${lib%%.so.*}.so"; [ -e "$base" ] || ln -s "$(basename "$lib")" "$base"
  done
fi

export CUDA_HOME="$cuda_home" CUDA_PATH="$cuda_home" CUDA_ROOT="$cuda_home"
export PATH="$cuda_home/bin:$PATH"
export LIBRARY_PATH="$cuda_home/lib64:${LIBRARY_PATH:-}"
export CUDA_COMPUTE_CAP="$cap"
echo "building with nvcc $(nvcc --version | tail -1) for compute capability $cap" >&2
cargo build --release --locked --features cuda
echo "built target/release/carelab (cuda, sm_$cap)"
