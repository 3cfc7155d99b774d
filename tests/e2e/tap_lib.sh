# Helpers for the -netdev tap end-to-end tests (sourced after lib.sh).
# A test starts vnetkit in the background; vnetkit creates the TAP in the
# root namespace, where it stays down; the test moves it into a private
# network namespace and only brings it up there, so no frame ever reaches
# the host's own networks.  tap_cleanup (installed as an EXIT trap) stops
# vnetkit and every helper process, then deletes the namespace, on every
# way out.
TAP_NS=""
TAP_VK_PID=""
TAP_PIDFILES=()

# Skips (exit 77) unless we can create TAPs and network namespaces.
tap_need_privileges() {
    need ip
    [ "$(id -u)" = 0 ] || { echo "SKIP: TAP tests need root"; exit 77; }
    [ -c /dev/net/tun ] || { echo "SKIP: no /dev/net/tun"; exit 77; }
    TAP_NS=vktest$$
    if ! ip netns add "$TAP_NS" 2>"$WORK/netns.err"; then
        echo "SKIP: cannot create a network namespace: $(cat "$WORK/netns.err")"
        TAP_NS=""
        exit 77
    fi
    trap tap_cleanup EXIT
}

tap_cleanup() {
    local status=$?
    if [ -n "$TAP_VK_PID" ] && kill -0 "$TAP_VK_PID" 2>/dev/null; then
        kill -TERM "$TAP_VK_PID" 2>/dev/null
        wait "$TAP_VK_PID" 2>/dev/null
    fi
    local f
    for f in "${TAP_PIDFILES[@]}"; do
        [ -s "$f" ] && kill "$(cat "$f")" 2>/dev/null
    done
    [ -n "$TAP_NS" ] && ip netns delete "$TAP_NS" 2>/dev/null
    exit "$status"
}

# tap_start IFNAME VNETKIT-RUN-ARGS...: starts `vnetkit run` in the
# background (stderr in $WORK/vnetkit.err) and waits until IFNAME exists.
tap_start() {
    local ifname=$1
    shift
    ${VNETKIT_WRAP:-} "$VNETKIT" run "$@" 2>"$WORK/vnetkit.err" &
    TAP_VK_PID=$!
    local i
    for i in $(seq 100); do
        ip link show "$ifname" >/dev/null 2>&1 && return 0
        kill -0 "$TAP_VK_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "FAIL: vnetkit did not create $ifname: $(head -c 600 "$WORK/vnetkit.err")"
    exit 1
}

# tap_into_ns IFNAME: moves the TAP into the namespace (vnetkit's descriptor
# stays attached to it) and brings it up there.
tap_into_ns() {
    ip link set "$1" netns "$TAP_NS" &&
        ip -n "$TAP_NS" link set lo up &&
        ip -n "$TAP_NS" link set "$1" up ||
        { echo "FAIL: cannot move $1 into $TAP_NS"; exit 1; }
}

# tap_ns_as_guest IFNAME: tap_into_ns, then the namespace gets what a slirp
# guest is given (10.0.2.15/24, default route via the gateway 10.0.2.2).
tap_ns_as_guest() {
    tap_into_ns "$1"
    ip -n "$TAP_NS" addr add 10.0.2.15/24 dev "$1" &&
        ip -n "$TAP_NS" route add default via 10.0.2.2 ||
        { echo "FAIL: cannot give $1 the guest's address in $TAP_NS"; exit 1; }
}

# tap_http_server PORT DIR NAME: a python3 HTTP server on the host's
# 127.0.0.1:PORT serving DIR (log $WORK/NAME.log), stopped by tap_cleanup;
# returns once it listens.
tap_http_server() {
    python3 -m http.server "$1" --bind 127.0.0.1 --directory "$2" >"$WORK/$3.log" 2>&1 &
    echo $! >"$WORK/$3.pid"
    TAP_PIDFILES+=("$WORK/$3.pid")
    tap_wait_listen "$1"
}

# tap_stop: SIGINT to vnetkit, which must end at once with status 0.
tap_stop() {
    kill -INT "$TAP_VK_PID"
    wait "$TAP_VK_PID"
    local got=$?
    TAP_VK_PID=""
    expect_eq "$got" 0 "vnetkit ends with status 0 on SIGINT"
}

ns() { ip netns exec "$TAP_NS" "$@"; }

# tap_wait_listen PORT [ns]: until something listens on TCP PORT (on the
# host, or in the namespace with a second argument); fails the test after
# 15 s (python servers start slowly on a busy machine).
tap_wait_listen() {
    for _ in $(seq 150); do
        ${2:+ns} ss -ltnH "sport = :$1" | grep -q . && return 0
        sleep 0.1
    done
    echo "FAIL: nothing listens on port $1${2:+ in the namespace}"
    exit 1
}
