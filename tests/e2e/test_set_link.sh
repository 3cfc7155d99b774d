# --at T 'set_link ID off|on' (QEMU's monitor command, scheduled): while a
# port's link is down every frame for it is one traced drop "link down", the
# link changes are pcapng comments, frames flow again once it is up, and bad
# commands or ids are one-line errors with exit 2.
. "$(dirname "$0")/lib.sh"
need tcpdump tshark
IN=$SRC/pcaps/qemu-e1000-dhcp-ping.pcap
N=$(count_frames "$IN")
expect_status 0 "run with the sink's link down from 1 s to 3 s" -- \
    VK run -netdev pcap,id=src,in="$IN" -netdev pcap,id=sink,out="$WORK/sink.pcap" \
    -netdev hubport,id=h0,hubid=0,netdev=src -netdev hubport,id=h1,hubid=0,netdev=sink \
    --at 1s 'set_link sink off' --at 3s 'set_link sink on' --trace "$WORK/all.pcapng"
tshark -r "$WORK/all.pcapng" -Y 'frame.interface_name == "sink"' -T fields \
    -e frame.time_relative -e frame.comment 2>/dev/null > "$WORK/sink.txt"
DOWN=$(grep -c 'dropped: link down' "$WORK/sink.txt")
GOT=$(count_frames "$WORK/sink.pcap")
[ "$DOWN" -gt 0 ] && pass "frames for the down link are traced drops ($DOWN)" ||
    fail "no 'link down' drops: $(head -5 "$WORK/sink.txt")"
expect_eq "$((GOT + DOWN))" "$N" "every frame either arrived or was dropped as link down"
# drops fall inside [1 s, 3 s) of the trace's time
awk -F'\t' '$2 ~ /dropped: link down/ && ($1 < 1 || $1 >= 3) {bad++} END {exit bad > 0}' \
    "$WORK/sink.txt" && pass "drops only while the link is down" || fail "a drop outside 1-3 s"
grep -q 'link down: set_link off' "$WORK/sink.txt" && grep -q 'link up: set_link on' "$WORK/sink.txt" &&
    pass "link changes are comments" || fail "link comments missing: $(grep link "$WORK/sink.txt" | head -3)"
expect_status 2 "unknown id" -- VK run -netdev pcap,id=src,in="$IN" --at 1s 'set_link nope off'
expect_stderr "--at 1s 'set_link nope': no netdev or NIC 'nope'" "unknown id named"
expect_status 2 "bad command" -- VK run -netdev pcap,id=src,in="$IN" --at 1s 'set_link src down'
expect_stderr "is not 'set_link ID on\|off'" "bad command named"
expect_status 2 "bad time" -- VK run -netdev pcap,id=src,in="$IN" --at soon 'set_link src off'
expect_stderr "--at: 'soon' is not a time" "bad time named"
finish
