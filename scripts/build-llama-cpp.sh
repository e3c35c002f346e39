#!/usr/bin/env bash
# Builds llama.cpp's own llama-bench and llama-server from the source that node-llama-cpp ships
# (llama/gitRelease.bundle), so the reference tools run the exact llama.cpp release owbench's engine
# uses. Binaries are cached outside the checkout, keyed by the bundled tag: a machine builds once.
# Prints the bin directory on stdout; progress goes to stderr.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
pkg="$root/node_modules/node-llama-cpp/llama"
[ -f "$pkg/gitRelease.bundle" ] || { echo "node-llama-cpp's llama/gitRelease.bundle is missing: run 'npm ci' first" >&2; exit 1; }
tag=$(node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).tag)' "$pkg/llama.cpp.info.json")
cache="${OWBENCH_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/owbench}/llama.cpp/$tag"
bin="$cache/bin"
if [ -x "$bin/llama-bench" ] && [ -x "$bin/llama-server" ]; then
  echo "$bin"
  exit 0
fi
command -v cmake >/dev/null || { echo "cmake is required to build llama.cpp: apt-get install -y cmake (or brew install cmake)" >&2; exit 1; }
mkdir -p "$cache"
src="$cache/src"
rm -rf "$src" "$cache/build"
echo "building llama.cpp $tag (llama-bench, llama-server) into $bin; this takes about 10 minutes on 2 cores" >&2
git clone -q "$pkg/gitRelease.bundle" "$src" >&2
jobs=$(node -p 'require("os").availableParallelism?.() ?? require("os").cpus().length')
cmake -S "$src" -B "$cache/build" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF -DLLAMA_CURL=OFF \
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DGGML_NATIVE=ON >&2
cmake --build "$cache/build" --config Release -j "$jobs" --target llama-bench llama-server >&2
mkdir -p "$bin.tmp"
cp "$cache/build/bin/llama-bench" "$cache/build/bin/llama-server" "$bin.tmp/"
rm -rf "$bin" && mv "$bin.tmp" "$bin"
rm -rf "$cache/build" "$src"
echo "$bin"
