#!/usr/bin/env bash
# Builds the benchmarks with optimisation (RelWithDebInfo, no sanitizer) in
# their own build directory and prints issue 10's goal table (see
# bench/README.md):
#   scripts/bench.sh              1M imix frames, replay up to 1M frames, best of 3
#   scripts/bench.sh --quick      a smoke run (100k frames, one round)
#   scripts/bench.sh --micro ...  the engine micro-benchmarks (vk_bench) instead
# Other arguments go to the program.  BENCH_BUILD_DIR (default: build-bench)
# and JOBS (default: nproc) may be set.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BENCH_BUILD_DIR:-build-bench}
JOBS=${JOBS:-$(nproc)}
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVNETKIT_SANITIZE=OFF >/dev/null
if [ "${1:-}" = "--micro" ]; then
    shift
    cmake --build "$BUILD_DIR" -j"$JOBS" --target vk_bench >/dev/null
    exec "$BUILD_DIR/bench/vk_bench" "$@"
fi
command -v tcpdump >/dev/null || { echo "bench.sh: tcpdump is needed for the baseline" >&2; exit 2; }
cmake --build "$BUILD_DIR" -j"$JOBS" --target vk_bench_goals vnetkit >/dev/null
exec "$BUILD_DIR/bench/vk_bench_goals" --vnetkit "$BUILD_DIR/vnetkit" \
    --tcpdump "$(command -v tcpdump)" "$@"
