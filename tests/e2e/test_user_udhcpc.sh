# A real DHCP client against -netdev user: busybox udhcpc in a private network
# namespace, on a TAP interface whose other end is vnetkit's user backend (live
# clock).  The lease must carry libslirp's values, and the gateway must answer
# ping.  Needs root, /dev/net/tun, `ip netns` and busybox (else skipped).
. "$(dirname "$0")/lib.sh"
need ip busybox
[ "$(id -u)" = 0 ] && [ -c /dev/net/tun ] || { echo "SKIP: needs root and /dev/net/tun"; exit 77; }
NS=vkuser$$
IF=vkut$$
ip netns add "$NS" 2>/dev/null || { echo "SKIP: cannot create a network namespace"; exit 77; }
VKPID=
cleanup() {
    [ -n "$VKPID" ] && kill -TERM "$VKPID" 2>/dev/null && wait "$VKPID" 2>/dev/null
    ip netns del "$NS" 2>/dev/null
}
trap cleanup EXIT

VK run -netdev tap,id=t,ifname="$IF",script=no,downscript=no -netdev user,id=u \
    -netdev hubport,id=h0,hubid=0,netdev=t -netdev hubport,id=h1,hubid=0,netdev=u \
    --duration 30s --trace "$WORK/udhcpc.pcapng" 2>"$WORK/vk.err" &
VKPID=$!
for _ in $(seq 50); do ip link show "$IF" >/dev/null 2>&1 && break; sleep 0.1; done
ip link set "$IF" netns "$NS" || { fail "cannot move $IF into $NS: $(cat "$WORK/vk.err")"; finish; }
ip -n "$NS" link set lo up
ip -n "$NS" link set "$IF" up

cat > "$WORK/script.sh" <<'SCRIPT'
#!/bin/sh
[ "$1" = bound ] || exit 0
echo "ip=$ip mask=$mask router=$router dns=$dns lease=$lease siaddr=$siaddr" > "$LEASE_FILE"
ip addr add "$ip/$mask" dev "$interface"
SCRIPT
chmod +x "$WORK/script.sh"
LEASE_FILE=$WORK/lease.txt ip netns exec "$NS" busybox udhcpc -i "$IF" -f -q -n -t 5 -T 1 \
    -s "$WORK/script.sh" >"$WORK/udhcpc.out" 2>&1
expect_eq "$(cat "$WORK/lease.txt" 2>/dev/null)" \
    "ip=10.0.2.15 mask=24 router=10.0.2.2 dns=10.0.2.3 lease=86400 siaddr=10.0.2.2" \
    "udhcpc got libslirp's lease ($(tail -1 "$WORK/udhcpc.out"))"
if ip netns exec "$NS" busybox ping -c 2 -W 2 10.0.2.2 >"$WORK/ping.out" 2>&1; then
    pass "the gateway answers ping"; else fail "ping 10.0.2.2: $(cat "$WORK/ping.out")"; fi
finish
