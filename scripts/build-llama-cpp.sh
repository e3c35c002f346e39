#!/usr/bin/env bash
# Builds llama.cpp's own tools (llama-bench, llama-server) from the source node-llama-cpp ships
# (llama/gitRelease.bundle), so the reference tools run the exact llama.cpp release owbench's engine
# uses. Cached outside the checkout, keyed by the bundled tag and variant: a machine builds once.
#   native   (default) compiled for this CPU with OpenMP, like `owbench setup`'s local engine build
#   portable compiled like node-llama-cpp's prebuilt binary: no -march=native, no OpenMP, and the
#            prebuilt's own CPU kernel libraries picked at run time, so it compares with the
#            prebuilt engine build (Linux)
# Usage: build-llama-cpp.sh [native|portable] [target...]   Prints the bin directory on stdout.
set -euo pipefail
variant=${1:-native}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(llama-bench llama-server)
root=$(cd "$(dirname "$0")/.." && pwd)
pkg="$root/node_modules/node-llama-cpp/llama"
[ -f "$pkg/gitRelease.bundle" ] || { echo "node-llama-cpp's llama/gitRelease.bundle is missing: run 'npm ci' first" >&2; exit 1; }
tag=$(node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).tag)' "$pkg/llama.cpp.info.json")
cache="${OWBENCH_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/owbench}/llama.cpp/$tag/$variant"
bin="$cache/bin"
missing=()
for t in "${targets[@]}"; do [ -x "$bin/$t" ] || missing+=("$t"); done
if [ ${#missing[@]} -eq 0 ]; then
  echo "$bin"
  exit 0
fi
case "$variant" in
  native) flags=(-DBUILD_SHARED_LIBS=OFF -DGGML_NATIVE=ON) ;;
  portable) flags=(-DBUILD_SHARED_LIBS=ON -DGGML_NATIVE=OFF -DGGML_OPENMP=OFF -DGGML_BACKEND_DL=ON) ;;
  *) echo "unknown variant '$variant': use native or portable" >&2; exit 2 ;;
esac
command -v cmake >/dev/null || { echo "cmake is required to build llama.cpp: apt-get install -y cmake (or brew install cmake)" >&2; exit 1; }
mkdir -p "$cache"
src="$cache/src"
build="$cache/build"
rm -rf "$src" "$build"
echo "building llama.cpp $tag ($variant: ${targets[*]}) into $bin; about 10 minutes on 2 cores" >&2
git clone -q "$pkg/gitRelease.bundle" "$src" >&2
jobs=$(node -p 'require("os").availableParallelism?.() ?? require("os").cpus().length')
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF "${flags[@]}" >&2
cmake --build "$build" --config Release -j "$jobs" --target "${targets[@]}" >&2
mkdir -p "$bin"
# Shared builds keep their libraries next to the binaries.
cp -a "$build"/bin/. "$bin"/
if [ "$variant" = portable ]; then
  # The CPU kernels are loaded at run time (GGML_BACKEND_DL): use the very libggml-cpu-*.so files of
  # node-llama-cpp's prebuilt binary, so llama-bench computes with the prebuilt engine's kernels.
  prebuilt=$(ls -d "$root"/node_modules/@node-llama-cpp/"$(node -p 'process.platform + "-" + process.arch')"/bins/*/ 2>/dev/null | head -1)
  [ -n "$prebuilt" ] || { echo "no node-llama-cpp prebuilt binary for this platform" >&2; exit 1; }
  rm -f "$bin"/libggml-cpu.so
  cp "$prebuilt"libggml-cpu-*.so "$bin"/
fi
rm -rf "$build" "$src"
echo "$bin"
