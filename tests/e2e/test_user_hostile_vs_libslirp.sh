# A hostile TCP guest and hostile host peers, through -netdev user and
# through the real libslirp (-netdev libslirp), compared case by case
# (tests/e2e/hostile_tcp.py): overlapping, out-of-window and out-of-order
# segments, a zero window with host data pending, urgent data, bogus and
# truncated options, a RST storm, a guest that vanishes, TCP in IP fragments,
# a host peer that resets, closes early or reads slowly, and a SYN flood with
# vnetkit's descriptors limited (ulimit -n) so that connects fail.  The guest
# is a script on a stream netdev (live clock); the host peers are on
# 127.0.0.1, which the guest reaches as 10.0.2.2.  Every observation must be
# the same, or differ as a rule of README's "Hostile guests and peers"
# table.  Our side must also end cleanly on SIGINT and trace its drops with a
# reason.  Skipped (77) when built without libslirp.
. "$(dirname "$0")/lib.sh"
need python3 tshark

need_libslirp
HOSTILE="$SRC/tests/e2e/hostile_tcp.py"
# under a checker (valgrind) every answer comes later: the guest waits longer
[ -n "${VNETKIT_WRAP:-}" ] && export HOSTILE_SLOW=3

# run_side KIND: vnetkit with the guest on a Unix stream socket and KIND
# (user or libslirp) on a hub, at most 160 descriptors; the script plays
# every case, then the flood; SIGINT ends vnetkit, which must exit 0.
run_side() {
    local kind=$1 sock="$WORK/$1.sock"
    (
        ulimit -n 160
        exec ${VNETKIT_WRAP:-} "$VNETKIT" run --clock live --duration 120 \
            -netdev stream,id=g,server=on,addr.type=unix,addr.path="$sock" \
            -netdev "$kind",id=s,ipv6=off \
            -netdev hubport,id=h0,hubid=0,netdev=g -netdev hubport,id=h1,hubid=0,netdev=s \
            --trace "$WORK/$kind.pcapng"
    ) >"$WORK/$kind.out" 2>"$WORK/$kind.err" &
    local pid=$!
    timeout 150 python3 "$HOSTILE" run "$sock" "$WORK/$kind.json" flood \
        >"$WORK/$kind-driver.txt" 2>&1
    echo "$?" >"$WORK/$kind-driver.status"
    kill -INT "$pid"
    wait "$pid"
    echo "$?" >"$WORK/$kind.status"
}

# Under a checker (valgrind.e2e.*) only our side runs, for its memory
# errors and leaks (a checker's exit status fails run_side): the comparison
# is the plain run's.  Otherwise both at once (each on its own socket, ports
# and peers): half the time.
if [ -n "${VNETKIT_WRAP:-}" ]; then
    sides="user"
    run_side user
else
    sides="libslirp user"
    run_side libslirp &
    side_pid=$!
    run_side user
    wait "$side_pid"
fi
for kind in $sides; do
    expect_eq "$(cat "$WORK/$kind-driver.status")" 0 "the hostile guest ran every case against $kind"
    expect_eq "$(cat "$WORK/$kind.status")" 0 \
        "vnetkit with $kind ends with status 0 on SIGINT after the hostile cases"
    if grep -q '"error"' "$WORK/$kind.json"; then
        fail "a case broke against $kind: $(grep -h '"error"' "$WORK/$kind.json")"
    fi
done

if [ -z "${VNETKIT_WRAP:-}" ]; then
    python3 "$HOSTILE" compare "$WORK/libslirp.json" "$WORK/user.json" "$WORK/table.md" \
        >"$WORK/compare.txt"
    status=$?
    cat "$WORK/compare.txt"
    expect_eq "$status" 0 "every observation is libslirp's or a documented difference"
fi

# every frame our stack dropped carries a reason in the trace
drops=$(tshark -r "$WORK/user.pcapng" -Y 'frame.interface_name == "s" && frame.comment' \
    -T fields -e frame.comment 2>/dev/null)
nodrop=$(printf '%s\n' "$drops" | grep -c '^dropped: *$')
expect_eq "$nodrop" 0 "no drop without a reason"
for why in "beyond the window" "reset outside the window" "cannot open a socket" \
    "bad header" "SYN with FIN"; do
    if printf '%s\n' "$drops" | grep -qi "$why"; then pass "a drop traced: $why"
    else fail "no drop traced with '$why': $(printf '%s\n' "$drops" | sort | uniq -c | head)"; fi
done
finish
