# `vnetkit replay` through the real binary: exit 0 on a capture the network
# reproduces, 1 on a divergence, 2 on bad usage and on hostile captures
# (truncated file, no frames, a frame beyond the snaplen, a non-Ethernet link
# type), each with a message naming the file (and frame); two runs give
# byte-identical traces, reports and golden files; a golden file written by
# --update-expected (pcap and pcapng) replays with exit 0.
. "$(dirname "$0")/lib.sh"
cd "$SRC" || exit 1
CAP=pcaps/hub-dhcp-ping.pcapng
TOPO=pcaps/hub-dhcp-ping.topo
RP() { VK replay "$@"; }

expect_status 0 "replay of the hub capture" -- RP "$CAP" --topology "$TOPO" --port g
grep -q '^replay: PASS 7 frames matched$' "$WORK/out.txt" && pass "verdict line" ||
    fail "verdict line: $(cat "$WORK/out.txt")"

# a divergence: with the guest MAC named wrongly, the real guest's frames are
# expected answers that never come
expect_status 1 "a wrong --guest-mac gives divergences" -- \
    RP pcaps/hub-dhcp-ping-golden.pcap --topology "$TOPO" --port g --guest-mac 52:55:0a:00:02:02
grep -qE '^replay: FAIL [0-9]+ divergences \([0-9]+ matched\)$' "$WORK/out.txt" &&
    pass "FAIL verdict line" || fail "FAIL verdict: $(head -3 "$WORK/out.txt")"
grep -q 'frame 1 missing at 0.000000000s' "$WORK/out.txt" && pass "divergence listed" ||
    fail "no divergence listed: $(head -5 "$WORK/out.txt")"

# bad usage
expect_status 2 "no capture" -- RP --topology "$TOPO" --port g
expect_status 2 "unknown option" -- RP "$CAP" --topology "$TOPO" --bogus
expect_status 2 "unknown --port" -- RP "$CAP" --topology "$TOPO" --port nope
expect_stderr "no port 'nope'" "message names the port"
expect_status 2 "bad --filter" -- RP "$CAP" --topology "$TOPO" --port g --filter 'tcp porty'
expect_stderr "--filter 'tcp porty'" "message names the filter"
expect_status 2 "bad --normalize" -- RP "$CAP" --topology "$TOPO" --port g --normalize ip-idd
expect_stderr "unknown normalisation 'ip-idd'" "message names the normalisation"
expect_status 2 "no NIC and no --port" -- RP "$CAP" --topology "$TOPO"
expect_stderr "no NIC" "message says there is no NIC"
expect_status 2 "missing capture file" -- RP "$WORK/none.pcap" --topology "$TOPO" --port g
expect_stderr "none.pcap" "message names the missing file"
expect_status 2 "unknown --capture-iface" -- RP "$CAP" --topology "$TOPO" --port g --capture-iface nope
expect_stderr "no interface 'nope' \(it has 'guest', 'g', 'peer', 'h1'\)" "message lists the interfaces"

# hostile captures, written byte by byte
le32() { printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 & 255)) $((($1 >> 8) & 255)) \
    $((($1 >> 16) & 255)) $((($1 >> 24) & 255)); }
pcap_header() { printf "\xd4\xc3\xb2\xa1\x02\x00\x04\x00$(le32 0)$(le32 0)$(le32 "$1")$(le32 "$2")"; }
record() { printf "$(le32 1000)$(le32 0)$(le32 "$1")$(le32 "$2")"; head -c "$1" /dev/zero | tr '\0' '\377'; }

pcap_header 65535 1 > "$WORK/empty.pcap"
expect_status 2 "zero frames" -- RP "$WORK/empty.pcap" --topology "$TOPO" --port g
expect_stderr "empty.pcap: the capture holds no frames" "zero frames: message"

{ pcap_header 65535 1; record 60 60; record 60 60 | head -c 30; } > "$WORK/trunc.pcap"
expect_status 2 "truncated file" -- RP "$WORK/trunc.pcap" --topology "$TOPO" --port g
expect_stderr "trunc.pcap: frame 2: " "truncated: message names file and frame"

{ pcap_header 64 1; record 60 60; record 100 100; } > "$WORK/snap.pcap"
expect_status 2 "frame larger than the snaplen" -- RP "$WORK/snap.pcap" --topology "$TOPO" --port g
expect_stderr "snap.pcap: frame 2: 100 bytes long, larger than the snapshot length 64" "snaplen: message names file and frame"

{ pcap_header 65535 1; record 60 60; record 40 80; } > "$WORK/cut.pcap"
expect_status 2 "frame captured truncated" -- RP "$WORK/cut.pcap" --topology "$TOPO" --port g
expect_stderr "cut.pcap: frame 2: only 40 of 80 bytes" "cut frame: message"

{ pcap_header 65535 105; record 40 40; } > "$WORK/wifi.pcap"
expect_status 2 "802.11 capture" -- RP "$WORK/wifi.pcap" --topology "$TOPO" --port g
expect_stderr "wifi.pcap: link type 105 \(IEEE802_11\) is not supported" "link type: message"

head -c 300 "$CAP" > "$WORK/trunc.pcapng"
expect_status 2 "truncated pcapng" -- RP "$WORK/trunc.pcapng" --topology "$TOPO" --port g
expect_stderr "trunc.pcapng" "truncated pcapng: message names the file"

# determinism: traces, report and golden file are identical across two runs
run_twice() { # $1 = out dir
    mkdir -p "$WORK/$1"
    RP "$CAP" --topology "$TOPO" --port g --trace "$WORK/$1/all.pcapng" \
        --trace-dir "$WORK/$1" --report "$WORK/$1/report.json" \
        --update-expected "$WORK/$1/golden.pcapng"
}
expect_status 0 "first traced run" -- run_twice d1
expect_status 0 "second traced run" -- run_twice d2
for f in all.pcapng g.pcap replay.pcap peer.pcap report.json golden.pcapng; do
    if cmp -s "$WORK/d1/$f" "$WORK/d2/$f"; then pass "$f identical across runs"; else
        fail "$f differs between runs (or is missing)"; fi
done
# the trace of a replay run replays too (interface g, inbound = guest)
expect_status 0 "the trace of a replay replays" -- RP "$WORK/d1/all.pcapng" --topology "$TOPO" --port g
expect_status 0 "the pcapng golden file replays" -- \
    RP "$WORK/d1/golden.pcapng" --topology "$TOPO" --port g
expect_status 0 "--update-expected to pcap" -- \
    RP "$CAP" --topology "$TOPO" --port g --update-expected "$WORK/golden.pcap"
expect_status 0 "the pcap golden file replays" -- RP "$WORK/golden.pcap" --topology "$TOPO" --port g
if command -v tcpdump >/dev/null 2>&1; then
    expect_eq "$(count_frames "$WORK/golden.pcap")" "20" "golden pcap holds 13 guest + 7 answers"
fi
finish
