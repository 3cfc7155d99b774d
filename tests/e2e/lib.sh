# Shared helpers for the end-to-end tests.  Each test is run by ctest as
#   bash tests/e2e/test_NAME.sh VNETKIT_BINARY SOURCE_DIR WORK_DIR
# and exits 0 (pass), 77 (a prerequisite is missing: skipped) or 1 (fail).
set -u
VNETKIT=$1
SRC=$2
WORK=$3
rm -rf "$WORK"
mkdir -p "$WORK"
FAILS=0
# VNETKIT_WRAP (e.g. "valgrind --error-exitcode=99 -q") runs the binary
# under a checker.
VK() { ${VNETKIT_WRAP:-} "$VNETKIT" "$@"; }

need() {
    for t in "$@"; do
        command -v "$t" >/dev/null 2>&1 || { echo "SKIP: $t not installed"; exit 77; }
    done
}
# need_libslirp: skips (exit 77) when vnetkit was built without libslirp.
need_libslirp() {
    if ! "$VNETKIT" run -netdev libslirp,id=probe >/dev/null 2>"$WORK/libslirp-probe.txt" &&
        grep -q "libslirp support not built" "$WORK/libslirp-probe.txt"; then
        echo "SKIP: built without libslirp (install libslirp-dev and rebuild)"
        exit 77
    fi
}
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
pass() { echo "ok: $*"; }
# expect_status WANT DESCRIPTION -- command...: runs it, checks the status.
expect_status() {
    local want=$1 what=$2
    shift 3
    "$@" >"$WORK/out.txt" 2>"$WORK/err.txt"
    local got=$?
    if [ "$got" = "$want" ]; then pass "$what (exit $got)"; else
        fail "$what: exit $got, wanted $want; stderr: $(head -c 600 "$WORK/err.txt")"; fi
}
# expect_stderr PATTERN DESCRIPTION: the last command's stderr matches (grep -E).
expect_stderr() {
    if grep -qE -- "$1" "$WORK/err.txt"; then pass "$2"; else
        fail "$2: stderr lacks /$1/: $(head -c 600 "$WORK/err.txt")"; fi
}
expect_eq() {
    if [ "$1" = "$2" ]; then pass "$3"; else fail "$3: got '$1', wanted '$2'"; fi
}
count_frames() { tcpdump -nr "$1" 2>/dev/null | wc -l | tr -d ' '; }
finish() {
    if [ "$FAILS" -ne 0 ]; then echo "$FAILS check(s) failed"; exit 1; fi
    echo "all checks passed"; exit 0
}
