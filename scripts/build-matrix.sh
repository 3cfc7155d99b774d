#!/usr/bin/env bash
# Builds vnetkit (library, binary, tests, benchmarks) in every configuration
# issue 10 names, with gcc and with clang, and prints one line per build:
#   Release (-O3, CMake's default), Release-O2 (-O2 -DNDEBUG), RelWithDebInfo,
#   Debug, and the sanitizer build (ASan+UBSan).
# Every build uses the project's -Wall -Wextra -Werror, so "ok" means
# warning-free.  Nothing is run; CI (scripts/setup.sh --test --release
# --sanitize) runs the suite on gcc's default, Release and sanitizer builds.
#   scripts/build-matrix.sh [CONFIG...]      (default: all five)
# MATRIX_DIR (default: build-matrix) holds one directory per build; JOBS
# (default: nproc).  Exit status 1 if any build failed (its log is printed).
set -uo pipefail
cd "$(dirname "$0")/.."
DIR=${MATRIX_DIR:-build-matrix}
JOBS=${JOBS:-$(nproc)}
configs=("$@")
[ ${#configs[@]} -gt 0 ] || configs=(Release Release-O2 RelWithDebInfo Debug Sanitize)

config_args() {
    case "$1" in
        Release) echo "-DCMAKE_BUILD_TYPE=Release" ;;
        Release-O2) echo "-DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS_RELEASE=-O2 -DNDEBUG" ;;
        RelWithDebInfo|Debug) echo "-DCMAKE_BUILD_TYPE=$1" ;;
        Sanitize) echo "-DCMAKE_BUILD_TYPE=Debug -DVNETKIT_SANITIZE=ON" ;;
        *) return 1 ;;
    esac
}

status=0
printf '%-8s %-16s %-6s %s\n' compiler config result seconds
for cc in gcc clang; do
    command -v "$cc" >/dev/null || { echo "build-matrix.sh: $cc is missing (scripts/setup.sh installs it)" >&2; exit 2; }
    for c in "${configs[@]}"; do
        args=$(config_args "$c") || { echo "build-matrix.sh: unknown configuration '$c'" >&2; exit 2; }
        b="$DIR/$cc-$c"
        log="$b.log"
        mkdir -p "$DIR"
        start=$SECONDS
        # Release-O2's flags hold a space: pass them as one argument.
        if [ "$c" = Release-O2 ]; then
            set -- -DCMAKE_BUILD_TYPE=Release "-DCMAKE_C_FLAGS_RELEASE=-O2 -DNDEBUG"
        else
            # shellcheck disable=SC2086
            set -- $args
        fi
        if CC=$cc cmake -S . -B "$b" "$@" >"$log" 2>&1 &&
           cmake --build "$b" -j"$JOBS" >>"$log" 2>&1; then
            result=ok
        else
            result=FAILED
            status=1
        fi
        printf '%-8s %-16s %-6s %s\n' "$cc" "$c" "$result" $((SECONDS - start))
        if [ "$result" = FAILED ]; then
            grep -E 'error|warning' "$log" | head -20 >&2
            echo "  (whole log: $log)" >&2
        fi
    done
done
exit $status
