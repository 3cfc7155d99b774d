# 10,000 peers connect to a vnetkit stream server and leave at once, one
# after another (QEMU's server serves one peer at a time): every one is
# counted as a link up and down, vnetkit holds as many descriptors after the
# churn as before it and its memory does not grow with the number of
# cycles, and the link recovers: the next peer's frame goes through.  Then
# 300 peers send good frames followed by garbage (random lengths, records
# cut short): every connection ends with a traced reason, every good frame
# arrives, and the server goes on serving.  (The
# sanitizer build runs this too: LeakSanitizer checks what is left at exit.)
# No --trace here: its 1 MiB buffer's pages are touched as long bursts first
# fill it, which would hide a small leak; test_stream_faults traces cycles.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sock_lib.sh"
sock_setup
PEER="$SRC/tests/e2e/stream_peer.py"
SOCK="$WORK/churn.sock"
"${VKBG[@]}" run -netdev stream,id=s,server=on,addr.type=unix,addr.path="$SOCK" \
    -netdev pcap,id=o,out="$WORK/out.pcap" \
    -netdev hubport,id=h0,hubid=0,netdev=s -netdev hubport,id=h1,hubid=0,netdev=o \
    --stats 2>"$WORK/err" &
SRV=$!
SOCK_PIDS+=("$SRV")
wait_for test -S "$SOCK"

fds() { ls "/proc/$SRV/fd" | wc -l; }
# anonymous memory: the heap (file pages of libraries touched late would be noise)
rss_kb() { awk '$1 == "RssAnon:" { print $2 }' "/proc/$SRV/status"; }
# the server has taken the last peer's EOF once its link is down again
settle() { sleep 0.3; }

# a first 2000 cycles warm every buffer and pool up; then 8000 more
start=$(date +%s.%N)
in_ns "$PY" "$PEER" churn "$SOCK" 2000 || fail "the first 2000 peers could not connect"
settle
fd0=$(fds)
rss0=$(rss_kb)
in_ns "$PY" "$PEER" churn "$SOCK" 8000 || fail "the next 8000 peers could not connect"
settle
fd1=$(fds)
rss1=$(rss_kb)
took=$(echo "$(date +%s.%N) - $start" | bc)
echo "10000 cycles took ${took}s; descriptors $fd0 -> $fd1; RSS ${rss0} -> ${rss1} KiB"
expect_eq "$fd1" "$fd0" "no descriptor left behind by 8000 connections"
# a leak of 64 bytes a cycle would show as 500 KiB
[ $((rss1 - rss0)) -lt 256 ] && pass "memory does not grow with cycles (+$((rss1 - rss0)) KiB)" ||
    fail "memory grew by $((rss1 - rss0)) KiB over 8000 cycles"

# the link recovers: one more peer sends a frame
in_ns "$PY" "$PEER" cycles "$SOCK" 1
stop "$SRV"
expect_eq "$(frame_count "$WORK/out.pcap")" 1 "the peer after the churn got its frame through"
grep -qE '^ +link down \(10001 up, 10001 down\)' "$WORK/err" &&
    pass "--stats counts 10001 ups and downs" || fail "stats: $(tail -5 "$WORK/err")"

# garbage after good frames
G="$WORK/garbage"
mkdir -p "$G"
"${VKBG[@]}" run -netdev stream,id=s,server=on,addr.type=unix,addr.path="$G.sock" \
    -netdev pcap,id=o,out="$G/out.pcap" \
    -netdev hubport,id=h0,hubid=0,netdev=s -netdev hubport,id=h1,hubid=0,netdev=o \
    --trace "$G/t.pcapng" --stats 2>"$G/err" &
SRV=$!
SOCK_PIDS+=("$SRV")
wait_for test -S "$G.sock"
good=$(in_ns "$PY" "$PEER" garbage "$G.sock" 300)
in_ns "$PY" "$PEER" cycles "$G.sock" 1
stop "$SRV"
tshark -r "$G/t.pcapng" -T fields -e frame.comment 2>/dev/null | grep -v '^$' > "$G/c.txt"
expect_eq "$(grep -c '^link down' "$G/c.txt")" 301 "every garbage connection ended (link down)"
expect_eq "$(grep '^link down' "$G/c.txt" | grep -v -c -e ': peer sent a bad frame length$' \
    -e ': peer closed the connection$')" 0 "each with a reason: bad length or closed"
bad=$(grep -c '^link down: peer sent a bad frame length$' "$G/c.txt")
expect_eq "$(grep -c '^dropped: stream: frame length [0-9]* over 69632: connection dropped$' \
    "$G/c.txt")" "$bad" "every bad length traced with its value ($bad)"
cut=$(grep -c '^dropped: stream: connection ended in the middle of a frame' "$G/c.txt")
[ "$cut" -gt 0 ] && pass "records cut short by the close traced ($cut)" ||
    fail "no cut record traced"
expect_eq "$(frame_count "$G/out.pcap")" "$((good + 1))" \
    "every good frame arrived ($good), and the clean peer's after the garbage"
finish
