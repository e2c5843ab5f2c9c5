#!/usr/bin/env bash
# carelab-gpu: start the CUDA build of carelab that lies beside this script
# (scripts/build-cuda.sh packs both into dist/carelab-gpu/).
#
#   carelab-gpu doctor          # any carelab command and arguments
#
# The binary links the CUDA libraries dynamically, so the system's loader must
# find them before it can start at all. This script:
#  1. decompresses carelab.xz once, into ~/.cache/carelab-gpu/SHA256/ (or
#     $TMPDIR when that is not writable), leaving this folder as it was;
#  2. finds each library listed in needs.txt, looking in this order:
#       CARELAB_CUDA_LIBS (folders, separated by ':'), LD_LIBRARY_PATH,
#       the CUDA toolkit (CUDA_HOME, CUDA_PATH, /usr/local/cuda, /usr/local/cuda-13*),
#       Python environments holding NVIDIA's wheels (nvidia/*/lib: VIRTUAL_ENV,
#       CONDA_PREFIX, /opt/torch/.venv, /opt/*/.venv, ~/.venv, the python3
#       on PATH, the build's .cuda-venv when run from the repository),
#       the driver's folders (/usr/local/nvidia/lib64, /usr/lib/wsl/lib),
#       and the system's library cache (ldconfig -p);
#  3. says which library is missing and where it looked if any is (exit 127);
#  4. otherwise sets LD_LIBRARY_PATH to the folders found and runs carelab.
#
# libcuda.so.1 comes with the NVIDIA driver: CUDA 13.0 needs driver >= 580.
# The others (libcudart, libcublas, libcublasLt, libcurand, libnvrtc of
# CUDA 13) come with a CUDA 13 toolkit or NVIDIA's pip wheels.
# CARELAB_GPU_VERBOSE=1 prints where each library was found.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
say() { echo "carelab-gpu: $*" >&2; }

[ -f "$here/needs.txt" ] || {
  say "no needs.txt beside $0: this script belongs in the folder scripts/build-cuda.sh makes"
  exit 127
}

# --- 1. the binary --------------------------------------------------------------
sha="$(sed -n 's/^binary sha256 //p' "$here/BUILD.txt" 2>/dev/null || true)"
unpack() { # $1: where the binary goes
  local dest="$1" tmp="$1.tmp.$$"
  mkdir -p "$(dirname "$dest")" 2>/dev/null || return 1
  if command -v xz >/dev/null 2>&1; then
    xz -dc "$here/carelab.xz" >"$tmp" 2>/dev/null || { rm -f "$tmp"; return 1; }
  else
    python3 -c 'import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2],"wb"))' \
      "$here/carelab.xz" "$tmp" 2>/dev/null || { rm -f "$tmp"; return 1; }
  fi
  if [ -n "$sha" ] && command -v sha256sum >/dev/null 2>&1 &&
    [ "$(sha256sum "$tmp" | cut -d' ' -f1)" != "$sha" ]; then
    rm -f "$tmp"
    say "$here/carelab.xz does not unpack to the binary BUILD.txt names (sha256 differs): copy the folder again"
    exit 127
  fi
  chmod +x "$tmp" && mv -f "$tmp" "$dest"
}
# Unpacked outside this folder, so that the folder stays small enough to
# carry again; keyed by the binary's hash, so a new build unpacks afresh.
if [ -f "$here/carelab.xz" ]; then
  bin=""
  for cache in "${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/carelab-gpu" "${TMPDIR:-/tmp}/carelab-gpu-$(id -u)"; do
    if [ -x "$cache/${sha:-unknown}/carelab" ] || unpack "$cache/${sha:-unknown}/carelab"; then
      bin="$cache/${sha:-unknown}/carelab"
      break
    fi
  done
  [ -n "$bin" ] || { say "could not unpack $here/carelab.xz into ~/.cache/carelab-gpu or ${TMPDIR:-/tmp}"; exit 127; }
elif [ -x "$here/carelab" ]; then
  bin="$here/carelab"
else
  say "neither carelab.xz nor carelab is in $here"
  exit 127
fi

# --- 2. the libraries -----------------------------------------------------------
# Each entry: a label for the report, then the folders it stands for.
places=()
add() { places+=("$1"); }
split() { tr ':' '\n' <<<"$1" | sed '/^$/d'; }

add "CARELAB_CUDA_LIBS=${CARELAB_CUDA_LIBS:-(unset)}"
candidates=()
while IFS= read -r d; do candidates+=("$d"); done < <(split "${CARELAB_CUDA_LIBS:-}")
add "LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-(unset)}"
while IFS= read -r d; do candidates+=("$d"); done < <(split "${LD_LIBRARY_PATH:-}")

toolkits=()
for t in "${CUDA_HOME:-}" "${CUDA_PATH:-}" /usr/local/cuda /usr/local/cuda-13*; do
  [ -n "$t" ] && [ -d "$t" ] && toolkits+=("$t")
done
add "CUDA toolkits: ${toolkits[*]:-(none found; looked at CUDA_HOME, CUDA_PATH, /usr/local/cuda, /usr/local/cuda-13*)}"
for t in "${toolkits[@]}"; do
  candidates+=("$t/lib64" "$t/lib" "$t/targets/x86_64-linux/lib")
done

# Python environments: their site-packages, then NVIDIA's wheels inside.
sites=()
for env in "${VIRTUAL_ENV:-}" "${CONDA_PREFIX:-}" /opt/torch/.venv /opt/*/.venv "$HOME/.venv" "$here/../../.cuda-venv"; do
  [ -n "$env" ] && [ -d "$env" ] || continue
  for s in "$env"/lib/python3*/site-packages; do [ -d "$s" ] && sites+=("$(cd "$s" && pwd)"); done
done
if command -v python3 >/dev/null 2>&1; then
  while IFS= read -r s; do [ -d "$s" ] && sites+=("$s"); done < <(
    python3 -c 'import site; print("\n".join(site.getsitepackages() + [site.getusersitepackages()]))' 2>/dev/null || true
  )
fi
wheel_dirs=()
for s in "${sites[@]}"; do
  for d in "$s"/nvidia/cu13/lib "$s"/nvidia/*/lib; do
    [ -d "$d" ] || continue
    case " ${wheel_dirs[*]:-} " in *" $d "*) ;; *) wheel_dirs+=("$d") ;; esac
  done
done
add "Python environments' NVIDIA wheels: ${wheel_dirs[*]:-(none; looked in site-packages/nvidia/*/lib of ${sites[*]:-no Python environment found})}"
candidates+=("${wheel_dirs[@]}")

add "the driver's folders: /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/wsl/lib"
candidates+=(/usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/wsl/lib)
add "the system's library cache (ldconfig -p)"

from_ldconfig() { # $1: soname -> its folder, from the loader's cache
  local p
  p="$( (ldconfig -p 2>/dev/null || /sbin/ldconfig -p 2>/dev/null || true) |
    awk -v lib="$1" '$1 == lib && /x86-64/ { print $NF; exit }')"
  [ -n "$p" ] && [ -e "$p" ] && dirname "$p"
}

found_dirs=()
missing=()
while IFS= read -r lib; do
  [ -n "$lib" ] || continue
  dir=""
  for d in "${candidates[@]}"; do
    if [ -e "$d/$lib" ]; then dir="$d"; break; fi
  done
  if [ -n "$dir" ]; then
    case " ${found_dirs[*]:-} " in *" $dir "*) ;; *) found_dirs+=("$dir") ;; esac
  else
    # The loader searches its own cache: found there, nothing to add.
    dir="$(from_ldconfig "$lib" || true)"
    [ -n "$dir" ] || { missing+=("$lib"); continue; }
  fi
  [ "${CARELAB_GPU_VERBOSE:-0}" = 1 ] && say "$lib: $dir" || true
done <"$here/needs.txt"

# --- 3. what is missing -----------------------------------------------------------
# What the build was for, from its BUILD.txt line "cuda 13.0 (needs ...)".
cuda="$(sed -n 's/^cuda \([0-9]*\.[0-9]*\) .*/\1/p' "$here/BUILD.txt" 2>/dev/null || true)"
cuda="${cuda:-13.0}"
driver="$(sed -n 's/^cuda [0-9.]* (needs \(.*\)), .*/\1/p' "$here/BUILD.txt" 2>/dev/null || true)"
driver="${driver:-NVIDIA driver >= 580}"
what() {
  local kit="a CUDA ${cuda%%.*} toolkit, or pip install"
  case "$1" in
    libcuda.so.*) echo "the NVIDIA driver's CUDA library: install the $driver (for CUDA $cuda; nvidia-smi shows the version)" ;;
    libcudart.so.*) echo "the CUDA runtime: $kit nvidia-cuda-runtime==$cuda.*" ;;
    libcublasLt.so.* | libcublas.so.*) echo "cuBLAS: $kit nvidia-cublas==$cuda.*" ;;
    libcurand.so.*) echo "cuRAND: $kit nvidia-curand (the release of CUDA $cuda)" ;;
    libnvrtc.so.*) echo "NVRTC: $kit nvidia-cuda-nvrtc==$cuda.*" ;;
    *) echo "a library of CUDA $cuda: $kit the wheel that holds it" ;;
  esac
}
if [ "${#missing[@]}" -gt 0 ]; then
  say "cannot start $bin: the loader would not find"
  for lib in "${missing[@]}"; do printf '  %-20s %s\n' "$lib" "$(what "$lib")" >&2; done
  echo "looked in, in this order:" >&2
  for p in "${places[@]}"; do echo "  $p" >&2; done
  echo "set CARELAB_CUDA_LIBS to the folder(s) holding them if they are elsewhere" >&2
  exit 127
fi

# --- 4. run -------------------------------------------------------------------------
joined="$(IFS=:; echo "${found_dirs[*]:-}")"
export LD_LIBRARY_PATH="${joined}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
exec "$bin" "$@"
