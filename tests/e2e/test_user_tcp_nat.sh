# The TCP NAT of -netdev user, live: a private network namespace behind
# `-netdev tap` and a hub to `-netdev user` (10.0.2.15/24, default route via
# 10.0.2.2).  From the namespace, curl downloads a 2 MiB file from an HTTP
# server the test starts on the host's 127.0.0.1, through 10.0.2.2 (the
# host's loopback for the guest).  From the host, curl fetches a file from a
# server inside the namespace through hostfwd=tcp:127.0.0.1:PORT-:8080.
# Only loopback and the test's own namespace see any traffic.  Skipped (77)
# when the live world (world_live.c) is not there: without it the NAT has no
# host sockets and hostfwd listens nowhere.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tap_lib.sh"
need curl python3 timeout ss sha256sum

tap_need_privileges

read -r HPORT FPORT < <(python3 -c 'import socket
ss = [socket.socket() for _ in range(2)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])')

IF=vktcp$$
tap_start "$IF" -netdev tap,id=t0,ifname="$IF",script=no,downscript=no \
    -netdev user,id=u0,hostfwd=tcp:127.0.0.1:"$FPORT"-10.0.2.15:8080 \
    -netdev hubport,id=hp0,hubid=0,netdev=t0 -netdev hubport,id=hp1,hubid=0,netdev=u0 \
    --duration 90

# The live world listens for hostfwd at start; the "none" world does not.
listening=""
for _ in $(seq 20); do
    if ss -ltnH "sport = :$FPORT" | grep -q .; then listening=yes; break; fi
    sleep 0.1
done
if [ -z "$listening" ]; then
    echo "SKIP: the user backend has no live world yet (hostfwd port $FPORT not listening)"
    exit 77
fi
tap_ns_as_guest "$IF"

mkdir -p "$WORK/host" "$WORK/guest"
head -c 2097152 /dev/urandom > "$WORK/host/big.bin"
head -c 300000 /dev/urandom > "$WORK/guest/small.bin"
tap_http_server "$HPORT" "$WORK/host" host-http

ns timeout 60 curl -sS -o "$WORK/got-big.bin" "http://10.0.2.2:$HPORT/big.bin" \
    2>"$WORK/curl-out.err"
expect_eq "$?" 0 "curl in the namespace downloads from the host's loopback via 10.0.2.2"
expect_eq "$(sha256sum <"$WORK/got-big.bin")" "$(sha256sum <"$WORK/host/big.bin")" \
    "the 2 MiB download is intact"

# not through ns(): a backgrounded function records its subshell's pid, and the
# server would outlive the test; ip netns exec execs, so $! is the server
ip netns exec "$TAP_NS" python3 -m http.server 8080 --bind 0.0.0.0 --directory "$WORK/guest" \
    >"$WORK/guest-http.log" 2>&1 &
echo $! > "$WORK/guest-http.pid"
TAP_PIDFILES+=("$WORK/guest-http.pid")
tap_wait_listen 8080 ns
timeout 60 curl -sS -o "$WORK/got-small.bin" "http://127.0.0.1:$FPORT/small.bin" \
    2>"$WORK/curl-in.err"
expect_eq "$?" 0 "curl on the host reaches the namespace's server through hostfwd"
expect_eq "$(sha256sum <"$WORK/got-small.bin")" "$(sha256sum <"$WORK/guest/small.bin")" \
    "the hostfwd download is intact"
# The guest saw the connection come from 10.0.2.2 (the host client is loopback).
if grep -q '^10\.0\.2\.2 ' "$WORK/guest-http.log"; then
    pass "the server in the namespace sees the client as 10.0.2.2"
else
    fail "server log: $(head -c 400 "$WORK/guest-http.log")"
fi

tap_stop
finish
