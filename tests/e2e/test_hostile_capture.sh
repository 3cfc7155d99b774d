# Hostile captures fed to the pcap backend: a clear error naming the file (and
# frame), exit 2, and the traces written up to the error still decode.
. "$(dirname "$0")/lib.sh"
need tcpdump tshark
IN=$SRC/pcaps/qemu-e1000-dhcp-ping.pcap
N=$(count_frames "$IN")
hub_with() { # CAPTURE TRACE-NAME
    VK run -netdev pcap,id=src,in="$1" -netdev pcap,id=sink,out="$WORK/$2-sink.pcap" \
        -netdev hubport,id=h0,hubid=0,netdev=src -netdev hubport,id=h1,hubid=0,netdev=sink \
        --trace "$WORK/$2.pcapng" --trace-dir "$WORK/$2"
}
# 1. bad magic
printf 'this is not a capture file at all, not even close.....' > "$WORK/badmagic.pcap"
expect_status 2 "bad magic" -- hub_with "$WORK/badmagic.pcap" bm
expect_stderr "key 'in'.*(unknown file format|bad dump file format)" "bad magic names the problem"
# 2. truncated in the middle of the last record: the frames before it were
#    forwarded and traced, and the traces are valid files
SIZE=$(stat -c %s "$IN")
head -c $((SIZE - 20)) "$IN" > "$WORK/trunc.pcap"
expect_status 2 "truncated record" -- hub_with "$WORK/trunc.pcap" tr
expect_stderr "trunc.pcap: frame $N: .*truncated" "truncated record names file and frame $N"
expect_eq "$(count_frames "$WORK/tr-sink.pcap")" "$((N - 1))" "frames before the error forwarded"
expect_eq "$(count_frames "$WORK/tr/h1.pcap")" "$((N - 1))" "per-port trace valid after error"
tshark -r "$WORK/tr.pcapng" > /dev/null 2> "$WORK/tshark.err"
expect_eq "$? $(grep -vc "Running as user" "$WORK/tshark.err")" "0 0" "pcapng valid after error (tshark)"
expect_eq "$(tcpdump -nr "$WORK/tr.pcapng" 2>/dev/null | wc -l | tr -d ' ')" "$((4 * (N - 1)))" \
    "pcapng holds every frame up to the error"
# 3. caplen larger than the file's snaplen: header snaplen 64, a 100-byte record
{
    printf '\xd4\xc3\xb2\xa1\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00'
    printf '\x40\x00\x00\x00\x01\x00\x00\x00'          # snaplen 64, Ethernet
    printf '\x01\x00\x00\x00\x00\x00\x00\x00'          # ts
    printf '\x64\x00\x00\x00\x64\x00\x00\x00'          # caplen 100, len 100
    head -c 100 /dev/zero
} > "$WORK/bigcap.pcap"
expect_status 2 "caplen > snaplen" -- hub_with "$WORK/bigcap.pcap" bc
expect_stderr "bigcap.pcap: frame 1: .*(snapshot length|larger than)" "caplen > snaplen explained"
# 4. caplen larger than the file itself
{
    printf '\xd4\xc3\xb2\xa1\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00'
    printf '\x00\x00\x04\x00\x01\x00\x00\x00'          # snaplen 262144, Ethernet
    printf '\x01\x00\x00\x00\x00\x00\x00\x00'
    printf '\x00\x10\x00\x00\x00\x10\x00\x00'          # caplen 4096, only 60 bytes follow
    head -c 60 /dev/zero
} > "$WORK/short.pcap"
expect_status 2 "caplen beyond end of file" -- hub_with "$WORK/short.pcap" sh
expect_stderr "short.pcap: frame 1: .*truncated" "caplen beyond file explained"
# 5. a link type that is not Ethernet (DLT_RAW = 101)
{
    printf '\xd4\xc3\xb2\xa1\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00'
    printf '\x00\x00\x04\x00\x65\x00\x00\x00'
} > "$WORK/raw.pcap"
expect_status 2 "unknown link type" -- hub_with "$WORK/raw.pcap" raw
expect_stderr "link type [0-9]+ \\(RAW\\); only Ethernet" "link type named"
# 6. an empty capture (header only) is not an error: nothing to send
{
    printf '\xd4\xc3\xb2\xa1\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00'
    printf '\x00\x00\x04\x00\x01\x00\x00\x00'
} > "$WORK/empty.pcap"
expect_status 0 "zero frames" -- hub_with "$WORK/empty.pcap" em
expect_eq "$(count_frames "$WORK/em-sink.pcap")" "0" "nothing forwarded from an empty capture"
# 7. SIGINT / SIGTERM in the middle of a long live run leave valid traces.
#    (The binary is started directly so the signal reaches it, not a subshell.)
for sig in INT TERM; do
    "$VNETKIT" run -netdev pcap,id=src,in="$IN",loop=0 -netdev hubport,id=h0,hubid=0,netdev=src \
        -netdev hubport,id=h1,hubid=0 --clock live --trace "$WORK/sig$sig.pcapng" \
        --trace-dir "$WORK/sig$sig" > /dev/null 2>&1 &
    PID=$!
    sleep 2.5
    # traces are flushed every second on the live clock: readable mid-run
    [ "$(tcpdump -nr "$WORK/sig$sig.pcapng" 2>/dev/null | wc -l)" -gt 0 ] &&
        pass "pcapng readable while the live run goes on (SIG$sig case)" ||
        fail "pcapng still empty 2.5 s into a live run"
    kill -$sig $PID
    wait $PID
    expect_eq "$?" "0" "SIG$sig ends a live run with status 0"
    tshark -r "$WORK/sig$sig.pcapng" > "$WORK/sig.txt" 2> "$WORK/tshark.err"
    expect_eq "$? $(grep -vc "Running as user" "$WORK/tshark.err")" "0 0" "pcapng valid after SIG$sig"
    [ "$(wc -l < "$WORK/sig.txt")" -gt 0 ] && pass "frames traced before SIG$sig" ||
        fail "no frames before SIG$sig"
    tcpdump -nr "$WORK/sig$sig/h0.pcap" > /dev/null 2>&1 && pass "per-port pcap valid after SIG$sig" ||
        fail "per-port pcap invalid after SIG$sig"
done
# 8. a live run whose inputs end, ends by itself (housekeeping timers such
#    as the trace flush do not keep it alive)
START=$(date +%s)
expect_status 0 "live run ends when its capture is played" -- timeout 20 "$VNETKIT" run \
    -netdev pcap,id=src,in="$IN" -netdev hubport,id=h0,hubid=0,netdev=src \
    -netdev hubport,id=h1,hubid=0 --clock live --trace "$WORK/live-end.pcapng"
[ $(( $(date +%s) - START )) -lt 15 ] && pass "ended on its own" || fail "live run did not end"
# src out, h0 in, h1's drop (no peer: the frame's one record on h1)
expect_eq "$(tcpdump -nr "$WORK/live-end.pcapng" 2>/dev/null | wc -l | tr -d ' ')" "$((3 * N))" \
    "live trace holds every frame"
finish
