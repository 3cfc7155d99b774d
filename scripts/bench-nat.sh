#!/usr/bin/env bash
# Live NAT TCP throughput, namespace <-> host loopback, with iperf3:
# vnetkit (-netdev tap + -netdev user) against slirp4netns and pasta in the
# same run, at MTU 1500 and 65520, both directions (issue 8; bench/README.md).
#
#   scripts/bench-nat.sh                 5 s per transfer, best of 2 rounds
#   scripts/bench-nat.sh --secs 10 --rounds 3
#   scripts/bench-nat.sh --quick         2 s, one round (a smoke run)
#   scripts/bench-nat.sh --only vnetkit  one implementation (profiling)
#   scripts/bench-nat.sh --conns 10000   memory instead: N idle connections
#                                        through each NAT, its RSS before/after
#
# Each implementation gets a fresh network namespace; in it an iperf3 client
# talks to an iperf3 server on the host's 127.0.0.1 through the NAT's
# gateway address (10.0.2.2 for vnetkit and slirp4netns; for pasta the
# namespace's default gateway, which pasta maps to host loopback):
# "ns->host" is the client sending, "host->ns" is -R.  The number kept is
# iperf3's receiver throughput, best of --rounds.  The goal (issue 8) is
# vnetkit >= 1.5 x slirp4netns and >= pasta, each way.  Throughput on a
# shared machine moves with the load: compare ratios within one run.
# Needs root (namespaces, TAP).  Installs iperf3, slirp4netns and passt from
# Debian when missing.  Builds vnetkit RelWithDebInfo in BENCH_BUILD_DIR
# (default build-bench).  Nothing leaves the machine: the namespaces are the
# bench's own and the servers listen on loopback only.
set -uo pipefail
cd "$(dirname "$0")/.."
SECS=5
ROUNDS=2
ONLY=""
MTUS="1500 65520"
CONNS=""
while [ $# -gt 0 ]; do
    case $1 in
    --secs) SECS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --quick) SECS=2; ROUNDS=1; shift ;;
    --only) ONLY=$2; shift 2 ;;
    --mtu) MTUS=$2; shift 2 ;;
    --conns) CONNS=$2; shift 2 ;;
    *) echo "bench-nat.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" = 0 ] || { echo "bench-nat.sh: needs root (namespaces, TAP)" >&2; exit 2; }
missing=()
command -v iperf3 >/dev/null || missing+=(iperf3)
command -v slirp4netns >/dev/null || missing+=(slirp4netns)
command -v pasta >/dev/null || missing+=(passt)
if [ ${#missing[@]} -gt 0 ]; then
    echo "bench-nat.sh: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
        { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; } ||
        { echo "bench-nat.sh: cannot install ${missing[*]}" >&2; exit 2; }
fi
BUILD_DIR=${BENCH_BUILD_DIR:-build-bench}
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVNETKIT_SANITIZE=OFF >/dev/null &&
    cmake --build "$BUILD_DIR" -j"${JOBS:-$(nproc)}" --target vnetkit >/dev/null ||
    { echo "bench-nat.sh: build failed" >&2; exit 2; }
VNETKIT=$PWD/$BUILD_DIR/vnetkit

TMP=$(mktemp -d /tmp/bench-nat.XXXXXX)
NS=vkbn$$
IMPL_PID=""
SRV_PIDFILE=$TMP/iperf-server.pid
stop_impl() {
    if [ -n "$IMPL_PID" ]; then
        kill -INT "$IMPL_PID" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$IMPL_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$IMPL_PID" 2>/dev/null
        wait "$IMPL_PID" 2>/dev/null
    fi
    IMPL_PID=""
    ip netns delete "$NS" 2>/dev/null
}
cleanup() {
    stop_impl
    [ -s "$SRV_PIDFILE" ] && kill "$(cat "$SRV_PIDFILE")" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
iperf3 -s -B 127.0.0.1 -p "$PORT" -D -I "$SRV_PIDFILE" --logfile "$TMP/server.log" ||
    { echo "bench-nat.sh: cannot start the iperf3 server" >&2; exit 2; }

# wait_for CMD...: up to 5 s until CMD succeeds.
wait_for() {
    for _ in $(seq 100); do "$@" >/dev/null 2>&1 && return 0; sleep 0.05; done
    return 1
}

has_default_route() { ip -n "$NS" route show default | grep -q via; }

# start_IMPL MTU: a namespace $NS reaching the host through IMPL; sets GW
# (the address that is host loopback) and IMPL_PID.
start_vnetkit() {
    local ifname=vkbn$$
    ip netns add "$NS" || return 1
    "$VNETKIT" run -netdev tap,id=t0,ifname="$ifname",script=no,downscript=no,vnet_hdr=on \
        -netdev user,id=u0,mtu="$1" \
        -netdev hubport,id=hp0,hubid=0,netdev=t0 -netdev hubport,id=hp1,hubid=0,netdev=u0 \
        --duration 3600 2>"$TMP/vnetkit.log" &
    IMPL_PID=$!
    wait_for ip link show "$ifname" || return 1
    ip link set "$ifname" netns "$NS" &&
        ip -n "$NS" link set lo up &&
        ip -n "$NS" link set "$ifname" mtu "$1" up &&
        ip -n "$NS" addr add 10.0.2.15/24 dev "$ifname" &&
        ip -n "$NS" route add default via 10.0.2.2 || return 1
    GW=10.0.2.2
}
start_slirp4netns() {
    ip netns add "$NS" || return 1
    slirp4netns --configure --mtu="$1" --netns-type=path "/run/netns/$NS" tap0 \
        >"$TMP/slirp4netns.log" 2>&1 &
    IMPL_PID=$!
    wait_for has_default_route || return 1
    GW=10.0.2.2
}
start_pasta() {
    ip netns add "$NS" || return 1
    # as root pasta would drop to "nobody" and then fail to enter the namespace
    pasta -f -q --runas 0 --config-net -m "$1" -t none -u none -T none -U none --netns "/run/netns/$NS" \
        >"$TMP/pasta.log" 2>&1 &
    IMPL_PID=$!
    wait_for has_default_route || return 1
    GW=$(ip -n "$NS" route show default | awk '{print $3; exit}')
}

# run_one IMPL MTU DIR: receiver Mbit/s of one transfer, or "fail".
run_one() {
    local rev=""
    [ "$3" = "host->ns" ] && rev=-R
    ip netns exec "$NS" timeout $((SECS + 20)) iperf3 -J $rev -c "$GW" -p "$PORT" -t "$SECS" \
        >"$TMP/run.json" 2>&1
    python3 - "$TMP/run.json" <<'EOP'
import json, sys
try:
    e = json.load(open(sys.argv[1]))["end"]["sum_received"]
    print("%.0f" % (e["bits_per_second"] / 1e6))
except Exception:
    print("fail")
    try:
        print("bench-nat.sh: iperf3: " + json.load(open(sys.argv[1])).get("error", "?"),
              file=sys.stderr)
    except Exception:
        print("bench-nat.sh: iperf3: " + open(sys.argv[1]).read()[:300], file=sys.stderr)
EOP
}

# rss_kib PID: resident set of PID in KiB.
rss_kib() { awk '$1 == "VmRSS:" {print $2}' "/proc/$1/status"; }

# --conns N: memory of N idle connections through each NAT (MTU 1500): a
# server on host loopback holds what it accepts, a client in the namespace
# opens N connections and holds them; the NAT process's RSS is read before
# and with all of them open.  Kernel socket memory is not in RSS.
if [ -n "$CONNS" ]; then
    PY=$(python3 -c 'import sys; print(sys.executable)')
    CPORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    "$PY" bench/nat_conns.py server 127.0.0.1 "$CPORT" & SRV2=$!
    trap 'kill $SRV2 2>/dev/null; cleanup' EXIT
    IMPLS=${ONLY:-"vnetkit slirp4netns pasta"}
    printf '%-12s %8s %8s %12s %12s %14s %6s\n' NAT asked open "RSS idle KiB" "RSS open KiB" \
        "bytes per conn" fds >"$TMP/table"
    for impl in $IMPLS; do
        if ! "start_$impl" 1500; then
            echo "bench-nat.sh: $impl did not start" >&2
            stop_impl
            continue
        fi
        sleep 0.5
        before=$(rss_kib "$IMPL_PID")
        rm -f "$TMP/hold" && mkfifo "$TMP/hold"
        ip netns exec "$NS" "$PY" bench/nat_conns.py client "$GW" "$CPORT" "$CONNS" \
            <"$TMP/hold" >"$TMP/client.out" 2>&1 &
        CLIENT=$!
        exec 3>"$TMP/hold"
        for _ in $(seq 1200); do
            grep -q connected "$TMP/client.out" && break
            kill -0 "$CLIENT" 2>/dev/null || break
            sleep 0.1
        done
        sleep 1 # let the last handshakes settle
        after=$(rss_kib "$IMPL_PID")
        fds=$(ls "/proc/$IMPL_PID/fd" | wc -l)
        open=$(awk '/connected/ {print $2}' "$TMP/client.out")
        echo "$impl: $(cat "$TMP/client.out")" >&2
        per=-
        [ -n "$open" ] && [ "$open" -gt 0 ] && per=$(( (after - before) * 1024 / open ))
        printf '%-12s %8s %8s %12s %12s %14s %6s\n' "$impl" "$CONNS" "${open:-fail}" \
            "$before" "$after" "$per" "$fds" >>"$TMP/table"
        exec 3>&-
        wait "$CLIENT" 2>/dev/null
        stop_impl
    done
    echo
    echo "Idle TCP connections through the NAT (MTU 1500)"
    cat "$TMP/table"
    exit 0
fi

declare -A BEST
IMPLS="vnetkit slirp4netns pasta"
[ -n "$ONLY" ] && IMPLS=$ONLY
for round in $(seq "$ROUNDS"); do
    for mtu in $MTUS; do
        for impl in $IMPLS; do
            if ! "start_$impl" "$mtu"; then
                echo "bench-nat.sh: $impl did not start (MTU $mtu): $(tail -c 400 "$TMP/$impl.log" "$TMP/$impl.err" 2>/dev/null)" >&2
                stop_impl
                continue
            fi
            for dir in "ns->host" "host->ns"; do
                v=$(run_one "$impl" "$mtu" "$dir")
                echo "round $round  MTU $mtu  $impl  $dir: $v Mbit/s" >&2
                key="$mtu $dir $impl"
                if [ "$v" != fail ] && { [ -z "${BEST[$key]:-}" ] || [ "${BEST[$key]}" = fail ] ||
                    [ "$v" -gt "${BEST[$key]}" ]; }; then
                    BEST[$key]=$v
                elif [ -z "${BEST[$key]:-}" ]; then
                    BEST[$key]=fail
                fi
            done
            stop_impl
        done
    done
done

echo
echo "Live NAT TCP throughput (iperf3 receiver, Mbit/s, best of $ROUNDS x ${SECS} s)"
printf '%-6s %-9s %-24s %9s %9s %9s %8s %8s %s\n' MTU way goal vnetkit slirp4netns pasta \
    "x slirp" "x pasta" pass
for mtu in $MTUS; do
    for dir in "ns->host" "host->ns"; do
        v=${BEST["$mtu $dir vnetkit"]:-fail}
        s=${BEST["$mtu $dir slirp4netns"]:-fail}
        p=${BEST["$mtu $dir pasta"]:-fail}
        python3 - "$mtu" "$dir" "$v" "$s" "$p" <<'EOP'
import sys
mtu, way, v, s, p = sys.argv[1:]
def num(x):
    return None if x == "fail" else float(x)
v, s, p = num(v), num(s), num(p)
rs = "%.2f" % (v / s) if v and s else "-"
rp = "%.2f" % (v / p) if v and p else "-"
ok = v is not None and s is not None and p is not None and v >= 1.5 * s and v >= p
fmt = lambda x: "fail" if x is None else "%.0f" % x
print("%-6s %-9s %-24s %9s %9s %9s %8s %8s %s" % (mtu, way, ">= 1.5 x slirp, >= pasta",
      fmt(v), fmt(s), fmt(p), rs, rp, "yes" if ok else "no"))
EOP
    done
done
