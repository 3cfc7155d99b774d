# The user backend's TCP NAT at speed: iperf3 both ways through a private
# network namespace behind `-netdev tap,vnet_hdr=on` + `-netdev user` (so
# data toward the namespace goes as TCP super-segments, core/frame.h;
# test_user_tcp_nat.sh covers a TAP without a vnet header).
#  - guest -> host: iperf3 in the namespace to a server the test starts on
#    the host's 127.0.0.1, reached as 10.0.2.2 (then -R: host -> guest on
#    the same kind of connection);
#  - host -> guest: iperf3 on the host to 127.0.0.1:FPORT, a
#    hostfwd=tcp to a server inside the namespace (then -R).
# Each transfer runs 1 s; iperf3 must end without error and its JSON must
# show at least MIN_BYTES received, never more than was sent.  (Not an exact
# count: iperf3 ends a test over its control connection while data may still
# be in flight in the socket buffers, so its receiver always counts a little
# less than its sender; tests/e2e/test_user_tcp_nat.sh checks a transfer byte
# for byte.)  Only loopback and the test's own namespace see any traffic.
# Short on purpose: scripts/bench-nat.sh measures throughput, this proves the
# path works at speed.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tap_lib.sh"
need iperf3 python3 timeout ss
PY=$(python3 -c 'import sys; print(sys.executable)') # past any version-manager shim

tap_need_privileges

read -r HPORT FPORT < <("$PY" -c 'import socket
ss = [socket.socket() for _ in range(2)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])')
GPORT=5201
SECS=1
MIN_BYTES=$((1024 * 1024)) # far below what even a sanitizer build moves in 1 s

IF=vkip$$
tap_start "$IF" -netdev tap,id=t0,ifname="$IF",script=no,downscript=no,vnet_hdr=on \
    -netdev user,id=u0,hostfwd=tcp:127.0.0.1:"$FPORT"-10.0.2.15:"$GPORT" \
    -netdev hubport,id=hp0,hubid=0,netdev=t0 -netdev hubport,id=hp1,hubid=0,netdev=u0 \
    --duration 120
tap_ns_as_guest "$IF"

iperf3 -s -B 127.0.0.1 -p "$HPORT" -D -I "$WORK/host-iperf.pid" --logfile "$WORK/host-iperf.log"
TAP_PIDFILES+=("$WORK/host-iperf.pid")
ns iperf3 -s -p "$GPORT" -D -I "$WORK/guest-iperf.pid" --logfile "$WORK/guest-iperf.log"
TAP_PIDFILES+=("$WORK/guest-iperf.pid")
tap_wait_listen "$HPORT"
tap_wait_listen "$GPORT" ns

# check_run NAME JSON: the transfer finished and counted what it should.
check_run() {
    local got
    got=$("$PY" - "$2" "$MIN_BYTES" "$1" <<'EOP'
import json, sys
try:
    j = json.load(open(sys.argv[1]))
except Exception as e:
    print("no JSON:", e); sys.exit(0)
if "error" in j:
    print("error:", j["error"]); sys.exit(0)
s = j["end"]["sum_sent"]["bytes"]
r = j["end"]["sum_received"]["bytes"]
floor = int(sys.argv[2])
if r < floor or r > s:
    print("sent %d received %d" % (s, r))
else:
    print("ok")
print("%s: %.1f Mbit/s" % (sys.argv[3], r * 8 / 1e6 / j["end"]["sum_received"]["seconds"]),
      file=sys.stderr)
EOP
)
    expect_eq "$got" "ok" "$1: the transfer completed, >= $MIN_BYTES bytes received"
}

ns timeout 60 iperf3 -J -c 10.0.2.2 -p "$HPORT" -t "$SECS" >"$WORK/g2h.json" 2>&1
check_run "guest -> host via 10.0.2.2" "$WORK/g2h.json"
ns timeout 60 iperf3 -J -R -c 10.0.2.2 -p "$HPORT" -t "$SECS" >"$WORK/g2h-R.json" 2>&1
check_run "host -> guest via 10.0.2.2 (-R)" "$WORK/g2h-R.json"
timeout 60 iperf3 -J -c 127.0.0.1 -p "$FPORT" -t "$SECS" >"$WORK/h2g.json" 2>&1
check_run "host -> guest through hostfwd" "$WORK/h2g.json"
timeout 60 iperf3 -J -R -c 127.0.0.1 -p "$FPORT" -t "$SECS" >"$WORK/h2g-R.json" 2>&1
check_run "guest -> host through hostfwd (-R)" "$WORK/h2g-R.json"

tap_stop
finish
