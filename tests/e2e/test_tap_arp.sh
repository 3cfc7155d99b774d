# -netdev tap carries frames both ways: a TAP in a private network namespace
# is on a hub with -netdev pcap.  The namespace asks for 10.9.9.2 (ping and
# arping, only on the TAP's /24): its ARP requests reach pcap out=.  pcap in=
# answers with an ARP reply every 0.5 s: the namespace learns 10.9.9.2's MAC
# and arping sees the replies.  The reply written while the interface was
# still down is dropped with its reason in the trace, and the interface goes
# away with vnetkit (not persistent, as in QEMU).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tap_lib.sh"
need tcpdump tshark busybox
tap_need_privileges

NS_MAC=02:00:00:00:09:01
PEER_MAC=02:00:00:00:09:02
# hex_to_file HEX FILE: writes the bytes (no xxd needed).
hex_to_file() { printf "$(printf '%s' "$1" | sed 's/../\\x&/g')" > "$2"; }
# An ARP reply "10.9.9.2 is-at PEER_MAC" to 10.9.9.1 at NS_MAC, twice, 0.5 s
# apart, in a classic little-endian pcap; loop=0 repeats it every 0.5 s.
reply=020000000901020000000902080600010800060400020200000009020a090902
reply=${reply}0200000009010a090901
hex_to_file "d4c3b2a1020004000000000000000000ffff000001000000\
0000000000000000""2a0000002a000000${reply}\
0000000020a10700""2a0000002a000000${reply}" "$WORK/reply.pcap"

IF=vktpa$$
# TAP_NETDEV lets a variant run the same checks on another kind of TAP
# (test_tap_vnet_hdr.sh); the default runs no ifup script, as the TAP is
# configured here.
tap_start "$IF" -netdev "${TAP_NETDEV:-tap,id=t0,ifname=$IF,script=no,downscript=no}" \
    -netdev pcap,id=p,in="$WORK/reply.pcap",loop=0,out="$WORK/out.pcap" \
    -netdev hubport,id=h0,hubid=0,netdev=t0 -netdev hubport,id=h1,hubid=0,netdev=p \
    --duration 30 --trace "$WORK/tap.pcapng"
ip link set "$IF" address "$NS_MAC" || fail "cannot set the TAP's MAC"
tap_into_ns "$IF"
ns ip addr add 10.9.9.1/24 dev "$IF"

# ping gets no echo reply (nobody answers ICMP): only its ARP matters.
ns busybox ping -c 3 -W 1 10.9.9.2 >/dev/null 2>&1
neigh=$(ns ip neigh show 10.9.9.2 dev "$IF")
case "$neigh" in
*"lladdr $PEER_MAC"*) pass "namespace learnt 10.9.9.2 is-at $PEER_MAC from pcap in=" ;;
*) fail "no neighbour entry from the injected reply: '$neigh'" ;;
esac
ns busybox arping -c 2 -w 3 -I "$IF" 10.9.9.2 >"$WORK/arping.out" 2>&1
expect_eq "$?" 0 "arping inside the namespace receives the injected replies"

tap_stop
if ns ip link show "$IF" >/dev/null 2>&1; then
    fail "$IF still exists after vnetkit ended"
else
    pass "$IF disappeared with vnetkit's descriptor"
fi
requests=$(tcpdump -nr "$WORK/out.pcap" \
    "arp[6:2] = 1 and ether src $NS_MAC and arp host 10.9.9.2" 2>/dev/null | wc -l)
if [ "$requests" -ge 1 ]; then pass "pcap out= holds $requests ARP request(s) for 10.9.9.2"
else fail "pcap out= has no ARP request for 10.9.9.2"; fi
echoes=$(tcpdump -nr "$WORK/out.pcap" "icmp[0] = 8 and ether dst $PEER_MAC" 2>/dev/null | wc -l)
if [ "$echoes" -ge 1 ]; then pass "ping used the learnt MAC ($echoes echo request(s))"
else fail "no echo request to $PEER_MAC in pcap out="; fi
drops=$(tshark -r "$WORK/tap.pcapng" -T fields -e frame.comment 2>/dev/null |
    grep -c 'dropped: tap: interface down')
if [ "$drops" -ge 1 ]; then pass "a write to the down interface is a traced drop"
else fail "no 'tap: interface down' drop in the trace"; fi
finish
