#!/usr/bin/env bash
# One-step set-up on a fresh Debian machine (run as root, or with sudo):
#   scripts/setup.sh          install what is missing, build, run the demo job
#   scripts/setup.sh --test   install what is missing, build, run every test
# Options for --test: --sanitize also builds and tests with ASan+UBSan;
# --release also builds Release (-O3) with gcc and runs the suite on it, and
# checks that clang builds Release warning-free.  --test always ends with a
# fuzz smoke step: every libFuzzer target (fuzz/, clang) runs its seed and
# regression corpora and then FUZZ_RUNS (default 500) runs.
# BUILD_DIR (default: build), JOBS (default: nproc) and FUZZ_RUNS may be set;
# FUZZ_RUNS=0 skips the smoke step.
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=demo
SANITIZE=0
RELEASE=0
for a in "$@"; do
    case "$a" in
        --test) MODE=test ;;
        --sanitize) SANITIZE=1 ;;
        --release) RELEASE=1 ;;
        -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
        *) echo "setup.sh: unknown argument '$a'" >&2; exit 2 ;;
    esac
done
BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-$(nproc)}

# Debian packages: the build, the test oracles, and test peers (qemu-system-x86,
# cpio and xz-utils for the real-QEMU tests and their guest, scripts/mkguest.sh;
# iperf3 for the live NAT test at speed, tests/e2e/test_user_nat_iperf3.sh).
PACKAGES=(build-essential cmake pkg-config libpcap-dev libnet1-dev libcmocka-dev libslirp-dev
          tcpdump tshark iproute2 valgrind udhcpc isc-dhcp-client clang libclang-rt-14-dev
          busybox python3 libvdeplug-dev vde2 qemu-system-x86 cpio xz-utils iperf3)
missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO=sudo
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

build() { # DIR EXTRA-CMAKE-ARGS... (the last -DCMAKE_BUILD_TYPE wins)
    local dir=$1
    shift
    cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
    cmake --build "$dir" -j"$JOBS"
}

build "$BUILD_DIR"
if [ "$MODE" = demo ]; then
    exec scripts/demo.sh "$BUILD_DIR/vnetkit"
fi
SECONDS=0
phase() { echo "setup: $1 done at ${SECONDS}s"; }
# The real-QEMU tests (tests/e2e/test_qemu_*.sh) boot the project's test guest:
# build it (Debian kernel and busybox-static from the package registry, cached
# in ~/.cache/vnetkit/guest) so that CI runs them rather than skipping them.
scripts/mkguest.sh >/dev/null || { echo "setup: scripts/mkguest.sh failed: the real-QEMU tests need the test guest" >&2; exit 1; }
ctest --test-dir "$BUILD_DIR" --output-on-failure -j"$JOBS"
phase "build and suite"
# The extra builds run the suite again but for the real-QEMU and valgrind
# runs, which the first build has exercised (QEMU boots and valgrind are the
# slowest tests, and their vnetkit side is the same code).
if [ "$RELEASE" = 1 ]; then
    build "$BUILD_DIR-release" -DCMAKE_BUILD_TYPE=Release
    ctest --test-dir "$BUILD_DIR-release" --output-on-failure -j"$JOBS" -E '^(valgrind\.|e2e\.test_qemu_)'
    CC=clang build "$BUILD_DIR-clang" -DCMAKE_BUILD_TYPE=Release
    phase "release"
fi
if [ "${FUZZ_RUNS:-500}" != 0 ]; then
    FUZZ_BUILD_DIR="$BUILD_DIR-fuzz" scripts/fuzz.sh all --runs "${FUZZ_RUNS:-500}" --jobs "$JOBS"
    phase "fuzz smoke"
fi
if [ "$SANITIZE" = 1 ]; then
    build "$BUILD_DIR-sanitize" -DVNETKIT_SANITIZE=ON
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
        ctest --test-dir "$BUILD_DIR-sanitize" --output-on-failure -j"$JOBS" -E '^e2e\.test_qemu_'
    phase "sanitizer suite"
fi
