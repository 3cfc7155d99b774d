# --guest-offload and the wire check through the real binary, on the
# synthetic guest-only capture pcaps/offload-tcp-bulk.pcap (64 KiB of TCP/IPv4
# with a retransmission, UDP, a TCP/IPv6 train; pcaps/README.md):
#   - e1000 and virtio-net-pci with none, csum and tso: exit 0, the wire
#     check passes, and the frames that reached the network side (a pcap
#     backend's out= file, read back with tcpdump) are the capture's, byte
#     for byte;
#   - the check can fail: a capture with a wrong TCP checksum, or with two
#     segments as one super-frame (as tcpdump inside a TSO guest shows them),
#     sent through a card whose own guest-offload= key recomputes or
#     re-segments (MSS 1448 where the frame says 2896) -> exit 1 with a
#     field diff; the replay's own stack sends those frames so that they come
#     back (exit 0);
#   - usage: a bad mode, --port, the JSON report's "wire" object.
. "$(dirname "$0")/lib.sh"
need tcpdump python3
cd "$SRC" || exit 1
CAP=pcaps/offload-tcp-bulk.pcap
NFRAMES=67 # guest frames; then 2 answers of the gateway

topo() { # MODEL [DEVICE-KEYS] [OUT]
    echo "-netdev pcap,id=sink,out=${3:-/dev/null} -netdev hubport,id=h1,hubid=0,netdev=sink" \
         "-netdev pcap,id=gw,in=pcaps/offload-tcp-bulk-gw.pcap,out=/dev/null" \
         "-netdev hubport,id=h2,hubid=0,netdev=gw" \
         "-netdev hubport,id=h0,hubid=0 -device $1,netdev=h0,id=n0${2:+,$2}"
}
# the guest's frames of a capture as bytes, without times
frames_hex() { tcpdump -t -nn -xx -r "$1" ether src 52:54:00:12:34:56 2>/dev/null; }

expect_eq "$(count_frames "$CAP")" "$((NFRAMES + 2))" "the capture holds $NFRAMES + 2 frames"
if command -v tshark >/dev/null 2>&1; then
    bad=$(tshark -r "$CAP" -o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE \
          -o udp.check_checksum:TRUE \
          -Y 'ip.checksum.status == 0 || tcp.checksum.status == 0 || udp.checksum.status == 0' \
          2>/dev/null | wc -l)
    expect_eq "$bad" 0 "tshark finds no bad checksum in the capture"
fi

for model in e1000 virtio-net-pci; do
    for mode in none csum tso; do
        out="$WORK/wire-$model-$mode.pcap"
        # shellcheck disable=SC2046 # topo prints options
        expect_status 0 "$model --guest-offload $mode" -- VK replay "$CAP" \
            $(topo "$model" "" "$out") --guest-offload "$mode"
        grep -q "^replay: PASS 2 frames matched" "$WORK/out.txt" &&
            grep -q "^replay: wire PASS $NFRAMES frames left NIC 'n0'" "$WORK/out.txt" &&
            pass "$model $mode: the 2 answers matched and the wire check passed" ||
            fail "$model $mode: $(head -3 "$WORK/out.txt")"
        case $mode in
        tso) want="5 TSO jobs of 57 segments, 9 checksum, 1 sent as they are" ;;
        csum) want="0 TSO jobs of 0 segments, 66 checksum, 1 sent as they are" ;;
        none) want="" ;;
        esac
        if [ -n "$want" ]; then
            grep -qF "$want)" "$WORK/out.txt" && pass "$model $mode: $want" ||
                fail "$model $mode: offload counts: $(tail -1 "$WORK/out.txt")"
        fi
        if [ "$(frames_hex "$out" | md5sum)" = "$(frames_hex "$CAP" | md5sum)" ]; then
            pass "$model $mode: the network side got the capture's frames byte for byte"
        else
            fail "$model $mode: the network side got other frames than the capture's"
        fi
    done
done

# ---- the check can fail ----
python3 - "$CAP" "$WORK" <<'EOF'
# Writes two mutations of the capture: bad-csum.pcap (frame 12, a data
# segment, with its TCP checksum off by one) and super.pcap (frames 3 and 4
# as one 2896-byte segment, lengths and checksums right).
import struct, sys
src, work = sys.argv[1], sys.argv[2]
data = open(src, 'rb').read()
hdr, off, frames = data[:24], 24, []
while off < len(data):
    ts, tu, cl, ol = struct.unpack('<IIII', data[off:off + 16])
    frames.append([ts, tu, bytearray(data[off + 16:off + 16 + cl])])
    off += 16 + cl

def csum(b):
    if len(b) % 2:
        b = b + b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

def fix(f):  # IPv4 + TCP checksums of an Ethernet frame without options
    ip = 14
    f[ip + 10:ip + 12] = b'\0\0'
    f[ip + 10:ip + 12] = struct.pack('!H', csum(bytes(f[ip:ip + 20])))
    tcp = ip + 20
    f[tcp + 16:tcp + 18] = b'\0\0'
    pseudo = bytes(f[ip + 12:ip + 20]) + struct.pack('!BBH', 0, 6, len(f) - tcp)
    f[tcp + 16:tcp + 18] = struct.pack('!H', csum(pseudo + bytes(f[tcp:])))

def write(name, fs):
    with open(work + '/' + name, 'wb') as out:
        out.write(hdr)
        for ts, tu, f in fs:
            out.write(struct.pack('<IIII', ts, tu, len(f), len(f)))
            out.write(f)

bad = [list(x) for x in frames]
bad[11][2] = bytearray(bad[11][2])
c = struct.unpack('!H', bad[11][2][50:52])[0]
bad[11][2][50:52] = struct.pack('!H', (c + 1) & 0xffff)
write('bad-csum.pcap', bad)

a, b = frames[2][2], frames[3][2]
hl = 14 + 20 + (a[14 + 20 + 12] >> 4) * 4
sup = bytearray(a + b[hl:])
sup[16:18] = struct.pack('!H', len(sup) - 14)
fix(sup)
write('super.pcap', frames[:2] + [[frames[2][0], frames[2][1], sup]] + frames[4:])
EOF
[ -s "$WORK/super.pcap" ] && [ -s "$WORK/bad-csum.pcap" ] || fail "mutations not written"

for model in e1000 virtio-net-pci; do
    # shellcheck disable=SC2046
    expect_status 1 "$model guest-offload=csum key, --check-wire, a recorded bad TCP checksum" \
        -- VK replay "$WORK/bad-csum.pcap" $(topo "$model" guest-offload=csum) --check-wire
    grep -q "^replay: wire FAIL 1 divergence" "$WORK/out.txt" &&
        grep -q "frame 12 differs" "$WORK/out.txt" && grep -q "tcp.csum expected" "$WORK/out.txt" &&
        pass "$model: the card's checksum is reported as a tcp.csum diff of frame 12" ||
        fail "$model: report: $(head -4 "$WORK/out.txt")"
    # shellcheck disable=SC2046
    expect_status 0 "$model --guest-offload csum sends the bad checksum as it is" \
        -- VK replay "$WORK/bad-csum.pcap" $(topo "$model") --guest-offload csum
    grep -qF "2 sent as they are" "$WORK/out.txt" && pass "$model: counted as sent as it is" ||
        fail "$model: $(tail -1 "$WORK/out.txt")"

    # shellcheck disable=SC2046
    expect_status 1 "$model guest-offload=tso key (MSS 1448), --check-wire, a 2896-byte segment" \
        -- VK replay "$WORK/super.pcap" $(topo "$model" guest-offload=tso) --check-wire
    # frames are paired in order within the flow: every later one differs too
    grep -q "^replay: wire FAIL" "$WORK/out.txt" && grep -q "frame 3 differs" "$WORK/out.txt" &&
        grep -q "tcp.len expected 2896 got 1448" "$WORK/out.txt" &&
        pass "$model: re-segmentation reported (frame 3: tcp.len expected 2896 got 1448)" ||
        fail "$model: report: $(head -8 "$WORK/out.txt")"
    # shellcheck disable=SC2046
    expect_status 0 "$model --guest-offload tso: the stack's MSS follows the capture" \
        -- VK replay "$WORK/super.pcap" $(topo "$model") --guest-offload tso
done

# ---- usage ----
# shellcheck disable=SC2046
expect_status 2 "--guest-offload gso" -- VK replay "$CAP" $(topo e1000) --guest-offload gso
expect_stderr "not none, csum or tso" "the message names the choices"
expect_status 2 "--guest-offload with --port" -- VK replay "$CAP" \
    -netdev hubport,id=g,hubid=0 --port g --guest-offload csum
expect_stderr "needs a NIC" "the message says a NIC is needed"
expect_status 2 "--check-wire with --port" -- VK replay "$CAP" \
    -netdev hubport,id=g,hubid=0 --port g --check-wire
# shellcheck disable=SC2046
expect_status 0 "--report with --guest-offload tso" -- VK replay "$CAP" $(topo e1000) \
    --guest-offload tso --report "$WORK/r.json"
python3 - "$WORK/r.json" <<'EOF' && pass "JSON report: wire verdict, counts, results" ||
import json, sys
r = json.load(open(sys.argv[1]))
w = r["wire"]
assert r["verdict"] == "pass" and w["verdict"] == "pass", w["verdict"]
assert w["matched"] == 67 and w["divergences"] == 0 and w["wire_frames"] == 67
assert w["tso_jobs"] == 5 and w["tso_segments"] == 57 and w["sent_plain"] == 1
assert len(w["results"]) == 67 and w["results"][0]["kind"] == "match"
EOF
    fail "JSON report: no or wrong wire object"
# shellcheck disable=SC2046
expect_status 1 "--report on a failing wire check" -- VK replay "$WORK/bad-csum.pcap" \
    $(topo e1000 guest-offload=csum) --check-wire --report "$WORK/f.json"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["verdict"]=="fail" and r["wire"]["divergences"]==1' \
    "$WORK/f.json" && pass "JSON verdict fail on a wire divergence" || fail "JSON verdict"
finish
