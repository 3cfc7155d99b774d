# Helpers for the socket/stream/dgram end-to-end tests (sourced after lib.sh).
# Every vnetkit and helper runs inside a private network namespace that the
# test creates (vksock<pid>) with only its loopback up, so no frame can reach
# any real network and concurrent tests cannot meet.  sock_cleanup (EXIT
# trap) stops what was started and deletes the namespace.
SOCK_NS=""
SOCK_PIDS=()

sock_setup() {
    need ip tcpdump tshark python3
    [ "$(id -u)" = 0 ] || { echo "SKIP: network namespaces need root"; exit 77; }
    SOCK_NS=vksock$$
    if ! ip netns add "$SOCK_NS" 2>"$WORK/netns.err"; then
        echo "SKIP: cannot create a network namespace: $(cat "$WORK/netns.err")"
        SOCK_NS=""
        exit 77
    fi
    trap sock_cleanup EXIT
    ip netns exec "$SOCK_NS" ip link set lo up
    VKBG=(ip netns exec "$SOCK_NS" ${VNETKIT_WRAP:-} "$VNETKIT")
    GEN="$SRC/tests/e2e/gen_frames.py"
    # a version manager's shim can take a second to start a python: use the
    # system's when there is one, so peers are not late for their servers
    PY=python3
    [ -x /usr/bin/python3 ] && PY=/usr/bin/python3
}

# has_socket PID: the process holds a socket (a netdev made its socket while
# the topology was built, so it is bound or listening by then).
has_socket() { ls -l "/proc/$1/fd" 2>/dev/null | grep -q 'socket:'; }

# stop PID: ends a background vnetkit as a user would (SIGTERM: exit 0,
# traces closed) once what it received had time to go through.
stop() {
    sleep "${SETTLE:-0.5}"
    kill -TERM "$1" 2>/dev/null
    wait "$1"
}

sock_cleanup() {
    local status=$? p
    for p in "${SOCK_PIDS[@]}"; do
        kill -TERM "$p" 2>/dev/null
    done
    for p in "${SOCK_PIDS[@]}"; do
        wait "$p" 2>/dev/null
    done
    [ -n "$SOCK_NS" ] && ip netns delete "$SOCK_NS" 2>/dev/null
    exit "$status"
}

# in_ns CMD...: runs a command inside the test's namespace.
in_ns() { ip netns exec "$SOCK_NS" "$@"; }
VKNS() { ip netns exec "$SOCK_NS" ${VNETKIT_WRAP:-} "$VNETKIT" "$@"; }
# For a vnetkit started in the background: "${VKBG[@]}" run ... & makes $!
# the vnetkit itself (ip netns exec and valgrind exec it), so a signal to $!
# reaches it.  Set by sock_setup.
VKBG=()

# The frames of a capture as text without times, leaving out the marker
# frame (sequence 0, sent at t=0 before a peer may be connected).
frame_count() { tcpdump -nr "$1" 2>/dev/null | grep -c '^[0-9]'; }
frames_text() {
    tcpdump -nr "$1" -e -t -x 'not (ether proto 0x88b5 and ether[14:4] = 0)' 2>/dev/null
}

# wait_for COND-CMD...: polls (up to 5 s) until the command succeeds.
wait_for() {
    local i
    for i in $(seq 50); do
        "$@" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# server_start NAME: a vnetkit stream server (id s) on $WORK/NAME.sock whose
# frames go to $WORK/NAME/out.pcap, traced to $WORK/NAME/t.pcapng, --stats
# in $WORK/NAME/err; its pid in SRV.  A peer runs next (see callers).
server_start() {
    local name=$1
    mkdir -p "$WORK/$name"
    "${VKBG[@]}" run -netdev stream,id=s,server=on,addr.type=unix,addr.path="$WORK/$name.sock" \
        -netdev pcap,id=o,out="$WORK/$name/out.pcap" \
        -netdev hubport,id=h0,hubid=0,netdev=s -netdev hubport,id=h1,hubid=0,netdev=o \
        --trace "$WORK/$name/t.pcapng" --stats 2>"$WORK/$name/err" &
    SRV=$!
    SOCK_PIDS+=("$SRV")
    wait_for test -S "$WORK/$name.sock"
}

# pair NAME RECV_NETDEV SEND_NETDEV: a receiving vnetkit whose socket netdev
# (id s) feeds a pcap out on hub 0, then a sending vnetkit whose pcap in
# feeds its socket netdev (id s); checks the receiver wrote exactly the
# frames of $IN (marker aside), in order, byte for byte.  RECV_ARGS (an
# array, default: a --trace of the receiver) replaces the receiver's extra
# options.
pair() {
    local name=$1 recv=$2 send=$3 dir="$WORK/$1"
    mkdir -p "$dir"
    local extra=(--trace "$dir/recv.pcapng")
    [ -n "${RECV_ARGS+set}" ] && extra=("${RECV_ARGS[@]}")
    "${VKBG[@]}" run -netdev "$recv" -netdev pcap,id=o,out="$dir/out.pcap" \
        -netdev hubport,id=h0,hubid=0,netdev=s -netdev hubport,id=h1,hubid=0,netdev=o \
        "${extra[@]}" --stats 2>"$dir/recv.err" &
    local rpid=$!
    SOCK_PIDS+=("$rpid")
    wait_for has_socket "$rpid"
    VKNS run -netdev pcap,id=i,in="$IN" -netdev "$send" \
        -netdev hubport,id=h0,hubid=0,netdev=i -netdev hubport,id=h1,hubid=0,netdev=s \
        --trace "$dir/send.pcapng" --duration "${SEND_T:-1.5}" --stats 2>"$dir/send.err"
    local sst=$?
    stop "$rpid"
    local rst=$?
    if [ "$sst" != 0 ] || [ "$rst" != 0 ]; then
        fail "$name: exit sender $sst receiver $rst: $(head -c 400 "$dir/send.err") $(head -c 400 "$dir/recv.err")"
        return
    fi
    frames_text "$dir/out.pcap" > "$dir/out.txt"
    if cmp -s "$WANT" "$dir/out.txt"; then
        pass "$name: $(grep -c '^[0-9a-f]' "$WANT") frames arrived unchanged and in order"
    else
        fail "$name: received frames differ: $(diff "$WANT" "$dir/out.txt" | head -4)"
    fi
}
