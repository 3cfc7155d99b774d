# A three-port hub fed by one pcap backend delivers every frame to the other
# two ports, never back; the per-port pcaps and the pcapng decode in tcpdump
# and tshark with the right counts, directions and interface names; two runs
# give byte-identical traces (virtual clock).
. "$(dirname "$0")/lib.sh"
need tcpdump tshark
IN=$SRC/pcaps/qemu-e1000-dhcp-ping.pcap
N=$(count_frames "$IN")
hub_run() { # $1 = output subdir; the paths inside the run are always the same
    rm -rf "$WORK/run" && mkdir -p "$WORK/run"
    VK run -netdev pcap,id=src,in="$IN" \
        -netdev pcap,id=a,out="$WORK/run/a-out.pcap" \
        -netdev pcap,id=b,out="$WORK/run/b-out.pcap" \
        -netdev hubport,id=h0,hubid=0,netdev=src \
        -netdev hubport,id=h1,hubid=0,netdev=a \
        -netdev hubport,id=h2,hubid=0,netdev=b \
        --trace-dir "$WORK/run/tr" --trace "$WORK/run/all.pcapng" || return $?
    mv "$WORK/run" "$WORK/$1"
}
expect_status 0 "hub run" -- hub_run r1
for p in src h0 h1 h2 a b; do
    expect_eq "$(count_frames "$WORK/r1/tr/$p.pcap")" "$N" "port $p traced $N frames"
done
# the frames that left through a and b are exactly the input, same times
tcpdump -nr "$IN" 2>/dev/null > "$WORK/in.txt"
for p in a b; do
    tcpdump -nr "$WORK/r1/$p-out.pcap" 2>/dev/null > "$WORK/$p.txt"
    if cmp -s "$WORK/in.txt" "$WORK/$p.txt"; then pass "$p received the input unchanged"; else
        fail "$p output differs from input: $(diff "$WORK/in.txt" "$WORK/$p.txt" | head -5)"; fi
done
# expected tcpdump text (reviewed by hand once) for one port's trace
tcpdump -nr "$WORK/r1/tr/h1.pcap" 2>/dev/null > "$WORK/h1.txt"
if diff -u "$SRC/tests/e2e/expected/hub_h1.txt" "$WORK/h1.txt" > "$WORK/h1.diff"; then
    pass "tcpdump text of h1 matches expected"; else fail "h1 text: $(head -20 "$WORK/h1.diff")"; fi
# pcapng: frames per interface and direction
tshark -r "$WORK/r1/all.pcapng" -T fields -e frame.interface_name \
    -e frame.packet_flags_direction 2>"$WORK/tshark.err" | sort | uniq -c |
    awk '{print $2, $3, $1}' > "$WORK/dirs.txt"
cat > "$WORK/dirs.want" <<WANT
a 0x00000001 $N
b 0x00000001 $N
h0 0x00000001 $N
h1 0x00000002 $N
h2 0x00000002 $N
src 0x00000002 $N
WANT
if diff -u "$WORK/dirs.want" "$WORK/dirs.txt" > "$WORK/dirs.diff"; then
    pass "pcapng directions per interface"; else fail "pcapng directions: $(cat "$WORK/dirs.diff" "$WORK/tshark.err")"; fi
# one frame id follows the frame across the fan-out: each id appears 6 times
tshark -r "$WORK/r1/all.pcapng" -T fields -e frame.packet_id 2>/dev/null | sort | uniq -c |
    awk '{print $1}' | sort -u > "$WORK/ids.txt"
expect_eq "$(cat "$WORK/ids.txt")" "6" "every packet id appears on all 6 ports"
expect_eq "$(tcpdump -nr "$WORK/r1/all.pcapng" 2>/dev/null | wc -l | tr -d ' ')" "$((6 * N))" \
    "tcpdump reads the pcapng"
# filter-dump (QEMU's object) on one netdev, and trace filter + snaplen
expect_status 0 "filter-dump, trace filter and snaplen" -- VK run -netdev pcap,id=src,in="$IN" \
    -netdev pcap,id=a,out=/dev/null -netdev hubport,id=h0,hubid=0,netdev=src \
    -netdev hubport,id=h1,hubid=0,netdev=a \
    -object filter-dump,id=f0,netdev=a,file="$WORK/dump.pcap",maxlen=100 \
    --trace "$WORK/arp.pcapng" --trace-filter arp --trace-snaplen 42
expect_eq "$(count_frames "$WORK/dump.pcap")" "$N" "filter-dump holds every frame at netdev a"
expect_eq "$(od -An -tx1 -N4 "$WORK/dump.pcap" | tr -d ' ')" "d4c3b2a1" \
    "filter-dump writes a microsecond pcap as QEMU does"
NARP=$(tcpdump -nr "$IN" arp 2>/dev/null | wc -l | tr -d ' ')
expect_eq "$(tcpdump -nr "$WORK/arp.pcapng" 2>/dev/null | wc -l | tr -d ' ')" "$((4 * NARP))" \
    "--trace-filter arp keeps only ARP on all 4 ports"
expect_eq "$(tshark -r "$WORK/arp.pcapng" -T fields -e frame.cap_len 2>/dev/null | sort -u | tr '\n' ' ')" \
    "42 " "--trace-snaplen 42 caps every record"
# determinism
expect_status 0 "second hub run" -- hub_run r2
for f in all.pcapng tr/h0.pcap tr/h2.pcap a-out.pcap; do
    if cmp -s "$WORK/r1/$f" "$WORK/r2/$f"; then pass "$f identical across runs"; else
        fail "$f differs between two runs"; fi
done
finish
