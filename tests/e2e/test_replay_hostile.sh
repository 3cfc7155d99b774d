# Captures from hostile or wild sources, as a new user would bring them
# (issue 13, "Hardening"): replay survives what `run` survives.
#  - an oversize guest frame on ne2k_pci and rtl8139 legacy: a traced drop
#    with its reason, listed in the verdict, the replay goes on (exit 0);
#  - a runt record: traced drop, listed, exit 0 (and `run` drops it too);
#  - several guests: refused naming every MAC; --guest-mac chooses one;
#  - LINUX_SLL, LINUX_SLL2 and raw IP captures of a QEMU session replay
#    like the Ethernet original (PASS) with the conversion in the verdict;
#  - offload-style partial checksums are named in the verdict and
#    --fix-checksums makes the replay pass;
#  - `run` names an unreadable in= file and words libpcap's message plainly.
. "$(dirname "$0")/lib.sh"
need tcpdump tshark python3
cd "$SRC" || exit 1
CAP=pcaps/qemu-e1000-dhcp-ping.pcap
TOPO=pcaps/qemu-e1000-dhcp-ping.topo
gen() { python3 tests/e2e/gen_hostile.py "$1" "$CAP" "$WORK/$1.pcap" || fail "gen_hostile.py $1"; }
for k in runt oversize guests sll sll2 raw partial; do gen $k; done
# drop comments of a trace, one per line
drops() { tshark -r "$1" -T fields -e frame.comment 2>/dev/null | grep '^dropped: capture frame'; }

# 1. oversize guest frame: ne2k_pci and rtl8139 legacy drop it, e1000 sends it
for dev in ne2k_pci rtl8139,mode=legacy; do
    expect_status 0 "oversize guest frame on $dev: the replay goes on" -- VK replay \
        "$WORK/oversize.pcap" -netdev user,id=net0 -device "$dev,netdev=net0" \
        --trace "$WORK/over.pcapng" --report "$WORK/over.json"
    grep -q "^replay: note: 1 guest frame dropped: the guest driver of NIC '.*' cannot send it" \
        "$WORK/out.txt" && pass "$dev: the verdict says the frame was dropped" ||
        fail "$dev: no drop note: $(cat "$WORK/out.txt")"
    grep -q "^  frame 2 (1800 bytes)$" "$WORK/out.txt" && pass "$dev: the note names frame 2" ||
        fail "$dev: frame not named: $(cat "$WORK/out.txt")"
    expect_eq "$(drops "$WORK/over.pcapng")" \
        "dropped: capture frame 2: the guest driver of model ${dev%%,*} cannot send a frame of 1800 bytes" \
        "$dev: the drop is traced with its reason"
    grep -q '"guest_drops": \[{"frame": 2, "len": 1800}\]' "$WORK/over.json" &&
        pass "$dev: the JSON report lists the drop" || fail "$dev: JSON lacks guest_drops"
done
expect_status 0 "oversize guest frame on e1000: sent" -- VK replay "$WORK/oversize.pcap" \
    --topology "$TOPO" --filter 'not ip6'
grep -q "guest frame dropped" "$WORK/out.txt" && fail "e1000 dropped the frame" ||
    pass "e1000 sends what ne2k cannot"

# 2. a runt record: dropped and traced, in replay as in run
expect_status 0 "runt record: the replay goes on" -- VK replay "$WORK/runt.pcap" --topology "$TOPO" \
    --trace "$WORK/runt.pcapng"
grep -q "^replay: PASS 7 frames matched$" "$WORK/out.txt" && pass "runt: every answer still matched" ||
    fail "runt: $(head -3 "$WORK/out.txt")"
grep -q "^  frame 2: runt record: shorter than an Ethernet header (4 bytes)$" "$WORK/out.txt" &&
    pass "runt: the verdict names it" || fail "runt: not named: $(cat "$WORK/out.txt")"
expect_eq "$(drops "$WORK/runt.pcapng")" \
    "dropped: capture frame 2: runt record: shorter than an Ethernet header (4 bytes)" \
    "runt: the drop is traced"
expect_status 0 "run drops the same runt" -- VK run -netdev pcap,id=src,in="$WORK/runt.pcap" \
    -netdev hubport,id=h0,hubid=0,netdev=src -netdev hubport,id=h1,hubid=0 \
    --trace "$WORK/runt-run.pcapng"
tshark -r "$WORK/runt-run.pcapng" -T fields -e frame.comment 2>/dev/null |
    grep -q "dropped: runt frame in input capture" && pass "run traces the runt drop" ||
    fail "run does not trace the runt"

# 3. several guests: refused by name; --guest-mac chooses
expect_status 2 "three guests: refused" -- VK replay "$WORK/guests.pcap" --topology "$TOPO"
expect_stderr "guests.pcap: frames come from 3 guests \(source MACs 52:54:00:12:34:56, 52:54:00:12:34:57, 52:54:00:12:34:58\).*--guest-mac" \
    "the refusal names every guest MAC and the way out"
expect_status 1 "--guest-mac chooses one guest" -- VK replay "$WORK/guests.pcap" --topology "$TOPO" \
    --guest-mac 52:54:00:12:34:56 --report "$WORK/guests.json"
grep -qF '"split": "source MAC 52:54:00:12:34:56 (--guest-mac) is the guest"' "$WORK/guests.json" &&
    pass "the report says which guest" || fail "split: $(grep split "$WORK/guests.json")"

# 4. captures without Ethernet
for k in sll:LINUX_SLL sll2:LINUX_SLL2 raw:RAW; do
    f=${k%%:*} name=${k#*:}
    expect_status 0 "$name capture replays" -- VK replay "$WORK/$f.pcap" --topology "$TOPO" \
        --filter 'not ip6'
    grep -qE "^replay: PASS [0-9]+ frames matched$" "$WORK/out.txt" && pass "$name: PASS" ||
        fail "$name: $(head -3 "$WORK/out.txt")"
    grep -q "^replay: note: link type $name: frames were given Ethernet headers (guest 52:54:00:12:34:56, network 52:55:0a:00:02:02)$" \
        "$WORK/out.txt" && pass "$name: the verdict says how" || fail "$name: no note"
done

# 5. partial checksums: named, then fixed
expect_status 1 "partial checksums: the DHCP answers never come" -- VK replay "$WORK/partial.pcap" \
    --topology "$TOPO" --filter 'not ip6'
grep -q "^replay: note: 2 frames (first: frame 4) carry offload-style partial checksums.*--fix-checksums" \
    "$WORK/out.txt" && pass "the verdict says why and what to do" ||
    fail "no partial-checksum note: $(cat "$WORK/out.txt")"
expect_status 0 "--fix-checksums" -- VK replay "$WORK/partial.pcap" --topology "$TOPO" \
    --filter 'not ip6' --fix-checksums
grep -q "recomputed 2 frames" "$WORK/out.txt" && pass "--fix-checksums says what it did" ||
    fail "fix note: $(cat "$WORK/out.txt")"

# 6. run: unreadable in= files are named, libpcap's words made plain
run_in() { VK run -netdev pcap,id=src,in="$1" -netdev hubport,id=h0,hubid=0,netdev=src; }
: > "$WORK/empty.pcap"
expect_status 2 "run: empty in= file" -- run_in "$WORK/empty.pcap"
expect_stderr "key 'in': $WORK/empty.pcap: the file is empty" "empty: file named, plain words"
head -c 10 "$CAP" > "$WORK/short.pcap"
expect_status 2 "run: in= file cut in its header" -- run_in "$WORK/short.pcap"
expect_stderr "key 'in': $WORK/short.pcap: the file ends inside its header" "short header: plain words"
printf 'not a capture file, not at all, no.' > "$WORK/magic.pcap"
expect_status 2 "run: bad magic" -- run_in "$WORK/magic.pcap"
expect_stderr "key 'in': $WORK/magic.pcap: not a pcap or pcapng file" "bad magic: plain words"
printf '\x0a\x0d\x0d\x0a\xf0\xff\xff\xff\x4d\x3c\x2b\x1a\x01\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff\x1c\x00\x00\x00' \
    > "$WORK/blocklen.pcapng"
expect_status 2 "run: impossible pcapng block length" -- run_in "$WORK/blocklen.pcapng"
expect_stderr "key 'in': $WORK/blocklen.pcapng: a pcapng block has an impossible length" \
    "block length: plain words"
finish
