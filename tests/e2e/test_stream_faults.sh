# A stream peer that misbehaves: a length over QEMU's limit drops the
# connection with a traced reason and the server listens again; a frame cut
# short by EOF and a zero-length record are traced drops; 1000 connect /
# send / close cycles are each served, one peer at a time; a peer that stops
# reading pushes back into the port queue, whose overflow is traced and
# counted with nothing lost silently; a client reconnects after its server
# dropped it, and the trace shows the link going down and up.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sock_lib.sh"
sock_setup
PEER="$SRC/tests/e2e/stream_peer.py"

comments() { tshark -r "$1" -T fields -e frame.comment 2>/dev/null | grep -v '^$'; }

# 1. a bad length
server_start badlen
if in_ns "$PY" "$PEER" badlen "$WORK/badlen.sock"; then
    pass "bad length: vnetkit dropped the connection"; else fail "bad length: connection kept"; fi
stop "$SRV"
comments "$WORK/badlen/t.pcapng" > "$WORK/badlen/c.txt"
grep -q '^dropped: stream: frame length 16777215 over 69632: connection dropped$' \
    "$WORK/badlen/c.txt" && pass "bad length traced with its value" ||
    fail "bad length not traced: $(cat "$WORK/badlen/c.txt")"
grep -q '^link down: peer sent a bad frame length$' "$WORK/badlen/c.txt" &&
    pass "link down traced with the reason" || fail "no link-down: $(cat "$WORK/badlen/c.txt")"
expect_eq "$(frame_count "$WORK/badlen/out.pcap")" 2 \
    "the good frame before and the one on the next connection arrived"

# 2. a frame cut short by EOF, 3. a zero-length record
server_start trunc
in_ns "$PY" "$PEER" trunc "$WORK/trunc.sock"
stop "$SRV"
grep -q '^dropped: stream: connection ended in the middle of a frame (14 of 104 bytes)$' \
    <(comments "$WORK/trunc/t.pcapng") && pass "truncated frame traced" ||
    fail "truncated frame: $(comments "$WORK/trunc/t.pcapng")"
expect_eq "$(frame_count "$WORK/trunc/out.pcap")" 1 "the frame before the cut arrived"
server_start zero
in_ns "$PY" "$PEER" zero "$WORK/zero.sock"
stop "$SRV"
grep -q '^dropped: stream: zero-length frame$' <(comments "$WORK/zero/t.pcapng") &&
    pass "zero-length record traced" || fail "zero-length: $(comments "$WORK/zero/t.pcapng")"
expect_eq "$(frame_count "$WORK/zero/out.pcap")" 1 "the frame after the empty record arrived"

# 4. 1000 peers one after another, each served
server_start cycles
in_ns "$PY" "$PEER" cycles "$WORK/cycles.sock" 1000
stop "$SRV"
expect_eq "$(frame_count "$WORK/cycles/out.pcap")" 1000 "1000 connections: 1000 frames"
grep -qE '^ +link down \(1000 up, 1000 down\)' "$WORK/cycles/err" &&
    pass "--stats counts 1000 ups and downs" || fail "cycles stats: $(cat "$WORK/cycles/err")"

# 5. a peer that stops reading: 20000 frames offered at once
IN="$WORK/flood.pcap"
python3 "$GEN" "$IN" 20000 0.3 1
mkdir -p "$WORK/noread"
ip netns exec "$SOCK_NS" "$PY" "$PEER" noread "$WORK/noread.sock" 1.5 > "$WORK/noread/peer.txt" &
PPID_=$!
SOCK_PIDS+=("$PPID_")
wait_for test -S "$WORK/noread.sock"
VKNS run -netdev pcap,id=i,in="$IN" \
    -netdev stream,id=s,addr.type=unix,addr.path="$WORK/noread.sock" \
    -netdev hubport,id=h0,hubid=0,netdev=i -netdev hubport,id=h1,hubid=0,netdev=s \
    --trace "$WORK/noread/t.pcapng" --duration 3 --stats 2>"$WORK/noread/err"
wait "$PPID_"
read -r s_rx s_full s_other < <(awk '$1 == "s" { gsub(/[()]/, "", $6); split($6, a, "/");
    print $3, a[1], a[3] }' "$WORK/noread/err")
h1_tx=$(awk '$1 == "h1" { print $4 }' "$WORK/noread/err")
got=$(cat "$WORK/noread/peer.txt")
[ "${s_full:-0}" -gt 0 ] && pass "backpressure filled the port queue ($s_full frames dropped)" ||
    fail "no queue-full drops: $(cat "$WORK/noread/err")"
expect_eq "$(comments "$WORK/noread/t.pcapng" | grep -c '^dropped: queue full$')" "$s_full" \
    "every queue-full drop is in the trace"
expect_eq "$((s_rx + s_full))" "$h1_tx" "frames offered = taken + dropped (none lost)"
expect_eq "$got" "$s_rx" "the peer received every frame the port took, once it read again"
expect_eq "${s_other:-x}" 0 "no other drops"

# 6. a client reconnects after its server closed it
python3 "$GEN" "$WORK/steady.pcap" 2500 0.2 1000
mkdir -p "$WORK/drop"
ip netns exec "$SOCK_NS" "$PY" "$PEER" drop "$WORK/drop.sock" 1 > "$WORK/drop/peer.txt" &
PPID_=$!
SOCK_PIDS+=("$PPID_")
wait_for test -S "$WORK/drop.sock"
VKNS run -netdev pcap,id=i,in="$WORK/steady.pcap" \
    -netdev stream,id=s,addr.type=unix,addr.path="$WORK/drop.sock",reconnect-ms=100 \
    -netdev hubport,id=h0,hubid=0,netdev=i -netdev hubport,id=h1,hubid=0,netdev=s \
    --trace "$WORK/drop/t.pcapng" --duration 3.2 --stats 2>"$WORK/drop/err"
wait "$PPID_"
comments "$WORK/drop/t.pcapng" | grep '^link' | cut -d: -f1 | tr '\n' ' ' > "$WORK/drop/links.txt"
expect_eq "$(cat "$WORK/drop/links.txt")" "link up link down link up " \
    "client: up, dropped by the server, up again after reconnecting"
# frames sent to the port while its link was down are dropped by core
# ("link down") or, if they got to the port, by the port ("stream: link down")
down=$(comments "$WORK/drop/t.pcapng" | grep -c -E '^dropped: (stream: )?link down')
down_taken=$(comments "$WORK/drop/t.pcapng" | grep -c '^dropped: stream: link down')
s_rx=$(awk '$1 == "s" { print $3 }' "$WORK/drop/err")
unsent=$(comments "$WORK/drop/t.pcapng" | grep -c '^dropped: stream: connection ended')
[ "$down" -gt 0 ] && pass "frames while the link was down are traced drops ($down)" ||
    fail "no link-down drops traced"
expect_eq "$(cat "$WORK/drop/peer.txt")" "$((s_rx - down_taken - unsent))" \
    "the server got every frame the port took while the link was up"

# reconnect= (seconds) is accepted as QEMU 8 spells it; a server does not reconnect
expect_status 2 "reconnect on a server is refused" -- VK run -netdev \
    stream,id=s,server=on,addr.type=unix,addr.path="$WORK/x.sock",reconnect=1
expect_stderr "key 'reconnect': only a client" "the message names reconnect"
finish
