#!/usr/bin/env bash
# Coverage-guided fuzzing of vnetkit with libFuzzer (see fuzz/README.md).
#   scripts/fuzz.sh [TARGET|all] [--runs N | --time S] [--jobs J]
# TARGET is a name from fuzz/ (wire, capture, options, topology, user,
# nic_e1000, nic_rtl8139, nic_ne2k, nic_virtio_net, framing, netem) or all (the default).
# Builds the libFuzzer targets with clang in $FUZZ_BUILD_DIR (default
# build-fuzz; -DVNETKIT_FUZZ=ON: ASan+UBSan+libFuzzer) if needed, then runs
# each target from its seed and regression corpora, for N runs (default
# 10000) or S seconds, one process (J parallel targets with --jobs).
# New corpus entries stay in $FUZZ_OUT/corpus/TARGET (never in the tree);
# findings (crash-*, timeout-*, leak-*, oom-*) go to $FUZZ_OUT/findings/TARGET
# and make the exit status 1.  FUZZ_OUT defaults to the build directory.
# Prints per target: runs, exec/s, coverage (cov = edges, ft = features),
# corpus size (inputs/bytes), findings; the full log is beside the findings.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET=all
LIMIT=(-runs=10000)
JOBS=1
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) LIMIT=(-runs="$2"); shift ;;
        --time) LIMIT=(-max_total_time="$2"); shift ;;
        --jobs) JOBS=$2; shift ;;
        -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
        -*) echo "fuzz.sh: unknown option '$1'" >&2; exit 2 ;;
        *) TARGET=$1 ;;
    esac
    shift
done
B=${FUZZ_BUILD_DIR:-build-fuzz}
O=${FUZZ_OUT:-$B}
command -v clang >/dev/null || { echo "fuzz.sh: clang missing (scripts/setup.sh installs it)" >&2; exit 2; }

if [ "$TARGET" = all ]; then
    mapfile -t targets < <(ls fuzz/fuzz_*.c | sed 's|fuzz/fuzz_||; s|\.c$||')
else
    [ -f "fuzz/fuzz_$TARGET.c" ] || { echo "fuzz.sh: no target '$TARGET' in fuzz/" >&2; exit 2; }
    targets=("$TARGET")
fi
if [ ! -f "$B/CMakeCache.txt" ]; then
    CC=clang cmake -S . -B "$B" -DVNETKIT_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
mkdir -p "$O"
if ! cmake --build "$B" -j"$(nproc)" --target "${targets[@]/#/fuzz_}" >"$O/build.log" 2>&1; then
    cat "$O/build.log" >&2
    echo "fuzz.sh: building the fuzz targets in $B failed" >&2
    exit 2
fi

dict_of() {
    case "$1" in
        wire|user) echo fuzz/dict/wire.dict ;;
        topology|options) echo fuzz/dict/options.dict ;;
        *) [ -f "fuzz/dict/$1.dict" ] && echo "fuzz/dict/$1.dict" ;;
    esac
}

run_one() { # TARGET: runs it, writes $O/findings/TARGET/{log,summary}
    local t=$1 corpus=$O/corpus/$1 out=$O/findings/$1
    mkdir -p "$corpus" "$out"
    rm -f "$out"/crash-* "$out"/timeout-* "$out"/leak-* "$out"/oom-* "$out"/slow-unit-*
    local args=("${LIMIT[@]}" -timeout=20 -rss_limit_mb=2048 -max_len=16384
                -print_final_stats=1 -artifact_prefix="$out/")
    local dict
    dict=$(dict_of "$t") && args+=(-dict="$dict")
    local dirs=("$corpus")
    for d in fuzz/corpus/$t fuzz/regressions/$t; do
        [ -d "$d" ] && dirs+=("$d")
    done
    local start=$SECONDS rc=0
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
        "$B/fuzz/fuzz_$t" "${args[@]}" "${dirs[@]}" >"$out/log" 2>&1 || rc=$?
    local secs=$((SECONDS - start))
    local runs eps cov ft corp findings
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/log" | tail -1)
    eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$out/log" | tail -1)
    cov=$(grep -oE 'cov: [0-9]+' "$out/log" | tail -1 | cut -d' ' -f2)
    ft=$(grep -oE 'ft: [0-9]+' "$out/log" | tail -1 | cut -d' ' -f2)
    corp=$(grep -oE 'corp: [0-9]+/[0-9]+[a-zA-Z]*' "$out/log" | tail -1 | cut -d' ' -f2)
    findings=$(find "$out" -maxdepth 1 \( -name 'crash-*' -o -name 'timeout-*' -o -name 'leak-*' \
                    -o -name 'oom-*' \) | wc -l)
    if [ "$rc" -ne 0 ] && [ "$findings" -eq 0 ]; then
        findings="exit$rc"
    fi
    printf '%-16s %10s %8s %7s %7s %12s %5ss %s\n' "$t" "${runs:-?}" "${eps:-?}" "${cov:-?}" \
        "${ft:-?}" "${corp:-?}" "$secs" "$findings" >"$out/summary"
}

printf '%-16s %10s %8s %7s %7s %12s %6s %s\n' target runs exec/s cov ft corpus time findings
pids=()
for t in "${targets[@]}"; do
    run_one "$t" &
    pids+=($!)
    if [ "${#pids[@]}" -ge "$JOBS" ]; then
        wait "${pids[0]}" || true
        pids=("${pids[@]:1}")
    fi
done
for p in "${pids[@]}"; do
    wait "$p" || true
done
status=0
for t in "${targets[@]}"; do
    cat "$O/findings/$t/summary"
    if ! grep -qE ' 0$' "$O/findings/$t/summary"; then
        status=1
        echo "  -> see $O/findings/$t/ (log and the input that failed)"
    fi
done
exit $status
