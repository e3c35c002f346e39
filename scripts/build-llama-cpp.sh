#!/usr/bin/env bash
# Builds llama.cpp's own tools (llama-bench, llama-server, ...) from the source node-llama-cpp ships, checks the build
# on tiny Q8_0 and Q4_K models before trusting it (a -march=native build that dies with SIGILL is rebuilt for this CPU's
# own instruction sets), and caches it outside the checkout. The logic is src/engines/llama-cpp-tools.ts (built to dist/).
#   native   (default) compiled for this CPU with OpenMP, like `owbench setup`'s local engine build
#   portable compiled like node-llama-cpp's prebuilt binary, with the prebuilt's own CPU kernels (Linux)
# Usage: build-llama-cpp.sh [native|portable] [target...]   Prints the bin directory on stdout.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
[ -f "$root/dist/engines/llama-cpp-tools.js" ] || { echo "owbench is not built: run 'npm run build' first" >&2; exit 1; }
exec node "$root/scripts/build-llama-cpp.js" "$@"
