# A golden capture that replays with exit 0 must fail (exit 1) once its
# expectation is mutated: one byte changed (a MAC byte, the TTL), one
# expected frame removed, two expected frames of one flow swapped.  The
# mutants are written at test time with editcap/mergecap (and dd), and the
# frames to mutate are found with tshark.
. "$(dirname "$0")/lib.sh"
need tshark editcap mergecap dd
cd "$SRC" || exit 1
G=pcaps/hub-dhcp-ping-golden.pcap
TOPO=pcaps/hub-dhcp-ping-golden.topo
RP() { VK replay "$@" --topology "$TOPO" --port g; }
expect_status 0 "the unmutated golden capture" -- RP "$G"

# byte offset of frame K's first byte in a classic pcap (24-byte header,
# 16-byte record headers)
frame_offset() {
    tshark -r "$1" -T fields -e frame.cap_len 2>/dev/null |
        awk -v k="$2" 'BEGIN { o = 24 } NR < k { o += 16 + $1 } END { print o + 16 }'
}
set_byte() { # file frame byte value(octal escape)
    local off
    off=$(frame_offset "$1" "$2")
    printf "$4" | dd of="$1" bs=1 seek=$((off + $3)) conv=notrunc 2>/dev/null
}
first_answer=$(tshark -r "$G" -Y 'eth.src != 52:54:00:12:34:56' -T fields -e frame.number 2>/dev/null | head -n 1)
replies=$(tshark -r "$G" -Y 'icmp.type == 0' -T fields -e frame.number 2>/dev/null | head -n 2 | tr '\n' ' ')
set -- $replies
r1=${1:-}; r2=${2:-}
if [ -z "$first_answer" ] || [ -z "$r2" ]; then fail "cannot find frames to mutate"; finish; fi

cp "$G" "$WORK/mac.pcap"
set_byte "$WORK/mac.pcap" "$first_answer" 5 '\167'
expect_status 1 "a changed destination MAC byte" -- RP "$WORK/mac.pcap"
grep -q "frame $first_answer differs" "$WORK/out.txt" && pass "the changed frame is named" ||
    fail "changed frame not named: $(head -4 "$WORK/out.txt")"
grep -q "eth.dst expected ff:ff:ff:ff:ff:77 got ff:ff:ff:ff:ff:ff" "$WORK/out.txt" &&
    pass "eth.dst diff in words" || fail "eth.dst diff: $(head -4 "$WORK/out.txt")"

cp "$G" "$WORK/ttl.pcap"
set_byte "$WORK/ttl.pcap" "$r1" 22 '\001'
expect_status 1 "a changed TTL" -- RP "$WORK/ttl.pcap"
grep -q "ip.ttl expected 1 got 255" "$WORK/out.txt" && pass "ip.ttl diff in words" ||
    fail "ip.ttl diff: $(head -4 "$WORK/out.txt")"

editcap "$G" "$WORK/removed.pcap" "$first_answer" >/dev/null 2>&1
expect_status 1 "one expected frame removed" -- RP "$WORK/removed.pcap"
# the DHCP flow is now one frame short: OFFER is compared with the ACK
grep -q "expected DHCP ACK yiaddr 10.0.2.15, got OFFER" "$WORK/out.txt" &&
    pass "the shifted DHCP answer is reported in words" ||
    fail "removed frame: $(head -4 "$WORK/out.txt")"

n=$(tshark -r "$G" 2>/dev/null | wc -l | tr -d ' ')
editcap -r "$G" "$WORK/a.pcap" "1-$((r1 - 1))" >/dev/null 2>&1
editcap -r "$G" "$WORK/b.pcap" "$r2" >/dev/null 2>&1
editcap -r "$G" "$WORK/c.pcap" "$((r1 + 1))-$((r2 - 1))" >/dev/null 2>&1
editcap -r "$G" "$WORK/d.pcap" "$r1" >/dev/null 2>&1
editcap -r "$G" "$WORK/e.pcap" "$((r2 + 1))-$n" >/dev/null 2>&1
mergecap -a -F pcap -w "$WORK/swapped.pcap" "$WORK/a.pcap" "$WORK/b.pcap" "$WORK/c.pcap" \
    "$WORK/d.pcap" "$WORK/e.pcap" 2>/dev/null
expect_eq "$(tshark -r "$WORK/swapped.pcap" 2>/dev/null | wc -l | tr -d ' ')" "$n" "swapped capture keeps every frame"
expect_status 1 "two echo replies of one flow swapped" -- RP "$WORK/swapped.pcap"
grep -q "icmp.seq expected 1 got 0" "$WORK/out.txt" && pass "icmp.seq diff in words" ||
    fail "swap: $(head -6 "$WORK/out.txt")"
finish
