# The user backend's NAT, live: a guest in a network namespace behind
# -netdev tap + -netdev user gets its lease with udhcpc, then
#  - a UDP echo through 10.0.2.2 reaches a server on the host's loopback,
#    and through fec0::2 (IPv6, address from the RA) its ::1,
#  - DNS lookups through 10.0.2.3 are answered by a resolver the test runs
#    on loopback (dns-upstream=, so the host's resolv.conf plays no part),
#    and another port of 10.0.2.3 gets ICMP net unreachable (libslirp 4.7),
#  - a ping (IPv4 and IPv6) through the NAT reaches an address of a second
#    namespace,
#  - hostfwd=udp brings a host client's datagrams to a guest echo server.
# vnetkit itself runs in a namespace of its own ("host"), whose loopback is
# the host loopback of the NAT and where ping sockets are allowed
# (net.ipv4.ping_group_range is per namespace); nothing leaves the
# namespaces the test creates.
. "$(dirname "$0")/lib.sh"
need ip udhcpc python3 busybox timeout tshark
[ "$(id -u)" = 0 ] || { echo "SKIP: namespaces and TAPs need root"; exit 77; }
[ -c /dev/net/tun ] || { echo "SKIP: no /dev/net/tun"; exit 77; }
HELPER="$SRC/tests/e2e/nat_helper.py"
PY=$(python3 -c 'import sys; print(sys.executable)') # past any version-manager shim

HOSTNS=vklive$$h
GUESTNS=vklive$$g
FARNS=vklive$$f
IF=vklt$$
PIDS=()
VKPID=""
cleanup() {
    local status=$?
    [ -n "$VKPID" ] && kill -TERM "$VKPID" 2>/dev/null && wait "$VKPID" 2>/dev/null
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "$HOSTNS" "$GUESTNS" "$FARNS"; do ip netns delete "$p" 2>/dev/null; done
    exit "$status"
}
trap cleanup EXIT
for n in "$HOSTNS" "$GUESTNS" "$FARNS"; do
    if ! ip netns add "$n" 2>"$WORK/netns.err"; then
        echo "SKIP: cannot create a network namespace: $(cat "$WORK/netns.err")"
        exit 77
    fi
done
H() { ip netns exec "$HOSTNS" "$@"; }
G() { ip netns exec "$GUESTNS" "$@"; }
F() { ip netns exec "$FARNS" "$@"; }

# host namespace: loopback, ping sockets, a veth to the far namespace
H ip link set lo up
H sysctl -qw net.ipv4.ping_group_range="0 2147483647" ||
    { echo "SKIP: cannot allow ping sockets in a namespace"; exit 77; }
H ip link add vkla$$ type veth peer name vklb$$ ||
    { echo "SKIP: cannot create a veth pair"; exit 77; }
H ip link set vklb$$ netns "$FARNS"
H ip addr add 198.51.100.1/24 dev vkla$$
H ip -6 addr add 2001:db8:77::1/64 dev vkla$$ nodad
H ip link set vkla$$ up
F ip link set lo up
F ip addr add 198.51.100.2/24 dev vklb$$
F ip -6 addr add 2001:db8:77::2/64 dev vklb$$ nodad
F ip link set vklb$$ up

ECHOPORT=7777
DNSPORT=5353
HFPORT=6001
GPORT=7001
# started without a shell function in between, so that $! is the server
# itself (ip netns exec execs it) and the cleanup can stop it
ip netns exec "$HOSTNS" "$PY" "$HELPER" udp-echo 127.0.0.1 "$ECHOPORT" & PIDS+=($!)
ip netns exec "$HOSTNS" "$PY" "$HELPER" udp-echo ::1 "$ECHOPORT" & PIDS+=($!)
ip netns exec "$HOSTNS" "$PY" "$HELPER" dns 127.0.0.1 "$DNSPORT" vnetkit.test 192.0.2.99 &
PIDS+=($!)

ip netns exec "$HOSTNS" ${VNETKIT_WRAP:-} "$VNETKIT" run -netdev tap,id=t0,ifname="$IF",script=no,downscript=no \
    -netdev user,id=u0,dns-upstream=127.0.0.1:$DNSPORT,hostfwd=udp:127.0.0.1:$HFPORT-:$GPORT \
    -netdev hubport,id=hp0,hubid=0,netdev=t0 -netdev hubport,id=hp1,hubid=0,netdev=u0 \
    --duration 240 --trace "$WORK/nat.pcapng" 2>"$WORK/vnetkit.err" &
VKPID=$!
for i in $(seq 100); do
    H ip link show "$IF" >/dev/null 2>&1 && break
    kill -0 "$VKPID" 2>/dev/null || break
    sleep 0.1
done
H ip link set "$IF" netns "$GUESTNS" ||
    { echo "FAIL: vnetkit did not create $IF: $(head -c 600 "$WORK/vnetkit.err")"; exit 1; }
G ip link set lo up
G ip link set "$IF" up

cat > "$WORK/udhcpc.sh" <<'EOS'
#!/bin/sh
if [ "$1" = bound ]; then
    ip addr add "$ip/$mask" dev "$interface"
    ip route add default via "$router" dev "$interface"
    echo "lease $ip"
fi
exit 0
EOS
chmod +x "$WORK/udhcpc.sh"
G timeout 30 udhcpc -i "$IF" -n -q -t 5 -T 1 -s "$WORK/udhcpc.sh" >"$WORK/udhcpc.out" 2>&1
expect_eq "$(grep '^lease' "$WORK/udhcpc.out")" "lease 10.0.2.15" "udhcpc gets 10.0.2.15"

got=$(G "$PY" "$HELPER" udp-ask 10.0.2.2 "$ECHOPORT" "hello through the NAT")
expect_eq "$got" "hello through the NAT" "UDP echo via 10.0.2.2 reaches the host's loopback"

G timeout 10 busybox nslookup vnetkit.test 10.0.2.3 >"$WORK/ns1.out" 2>&1
if grep -q "192.0.2.99" "$WORK/ns1.out"; then
    pass "DNS lookup through 10.0.2.3 answered by the resolver on loopback"
else
    fail "DNS lookup: $(head -c 600 "$WORK/ns1.out")"
fi
G timeout 10 busybox nslookup nosuch.test 10.0.2.3 >"$WORK/ns2.out" 2>&1
if grep -qiE "NXDOMAIN|can't resolve|can.t find" "$WORK/ns2.out"; then
    pass "DNS: an unknown name comes back as the resolver's NXDOMAIN"
else
    fail "DNS NXDOMAIN: $(head -c 600 "$WORK/ns2.out")"
fi
got=$(G "$PY" "$HELPER" udp-ask 10.0.2.3 54 "not dns")
expect_eq "$got" "error ENETUNREACH" "UDP to 10.0.2.3 port 54: ICMP net unreachable"

if G timeout 10 busybox ping -c 2 -W 2 198.51.100.2 >"$WORK/ping.out" 2>&1; then
    pass "ping through the NAT reaches the second namespace"
else
    fail "ping: $(head -c 600 "$WORK/ping.out")"
fi

ip netns exec "$GUESTNS" "$PY" "$HELPER" udp-echo 0.0.0.0 "$GPORT" & PIDS+=($!)
for i in $(seq 50); do
    G ss -Hlun "sport = :$GPORT" 2>/dev/null | grep -q . && break
    sleep 0.1
done
got=$(H "$PY" "$HELPER" udp-ask 127.0.0.1 "$HFPORT" "to the guest and back")
expect_eq "$got" "to the guest and back" "hostfwd=udp: a host client reaches the guest's server"

# IPv6: the guest's address from the RA (fec0::/64), then UDP to the
# gateway's IPv6 address, which is the host's ::1
addr6=""
for i in $(seq 100); do
    # fec0::/10 is site-local: not "scope global"
    addr6=$(G ip -6 -o addr show dev "$IF" 2>/dev/null | grep -v tentative |
        awk '$4 ~ /^fec0:/ {print $4}' | head -1)
    [ -n "$addr6" ] && break
    sleep 0.1
done
case "$addr6" in
fec0::*) pass "the guest autoconfigures $addr6 from the RA" ;;
*) fail "no fec0::/64 address on the guest: '$addr6'" ;;
esac
got=$(G "$PY" "$HELPER" udp-ask fec0::2 "$ECHOPORT" "hello over IPv6")
expect_eq "$got" "hello over IPv6" "UDP echo via fec0::2 reaches the host's ::1"

if G timeout 10 busybox ping6 -c 2 -W 2 2001:db8:77::2 >"$WORK/ping6.out" 2>&1; then
    pass "ping6 through the NAT (ICMPv6 ping socket) reaches the second namespace"
else
    fail "ping6: $(head -c 600 "$WORK/ping6.out")"
fi

# a second run cannot take the same host port: QEMU's error, said clearly
ip netns exec "$HOSTNS" "$VNETKIT" run -netdev tap,id=t0,ifname="${IF}x",script=no,downscript=no \
    -netdev user,id=u0,hostfwd=udp:127.0.0.1:$HFPORT-:$GPORT \
    -netdev hubport,id=hp0,hubid=0,netdev=t0 -netdev hubport,id=hp1,hubid=0,netdev=u0 \
    --duration 1 >/dev/null 2>"$WORK/busy.err"
st=$?
if [ "$st" != 0 ] && grep -q "could not set up host forwarding rule.*address already in use" \
    "$WORK/busy.err"; then
    pass "hostfwd=udp on a busy port fails with QEMU's message (exit $st)"
else
    fail "hostfwd=udp on a busy port: exit $st: $(head -c 600 "$WORK/busy.err")"
fi

kill -INT "$VKPID"
wait "$VKPID"
expect_eq "$?" 0 "vnetkit ends with status 0 on SIGINT"
VKPID=""
dns_src=$(tshark -r "$WORK/nat.pcapng" -Y "dns.flags.response == 1" -T fields -e ip.src \
    2>/dev/null | sort -u | tr '\n' ' ')
expect_eq "$dns_src" "10.0.2.3 " "the trace shows DNS answers coming from 10.0.2.3"
echo_src=$(tshark -r "$WORK/nat.pcapng" -Y "icmp.type == 0" -T fields -e ip.src 2>/dev/null |
    sort -u | tr '\n' ' ')
expect_eq "$echo_src" "198.51.100.2 " "the trace shows echo replies from the pinged address"
finish
