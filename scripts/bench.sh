#!/usr/bin/env bash
# Builds vk_bench with optimisation (RelWithDebInfo, no sanitizer) in its own
# build directory and runs it; arguments go to vk_bench (see bench/README.md):
#   scripts/bench.sh              the full run (~15 s)
#   scripts/bench.sh --quick      a smoke run (~2 s)
# BENCH_BUILD_DIR (default: build-bench) and JOBS (default: nproc) may be set.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BENCH_BUILD_DIR:-build-bench}
JOBS=${JOBS:-$(nproc)}
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVNETKIT_SANITIZE=OFF >/dev/null
cmake --build "$BUILD_DIR" -j"$JOBS" --target vk_bench >/dev/null
exec "$BUILD_DIR/bench/vk_bench" "$@"
