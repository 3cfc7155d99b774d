# A stranger floods vnetkit's multicast group (-netdev socket,mcast=) with
# random frames, runts and empty datagrams while vnetkit is stopped (SIGSTOP),
# so that the kernel drops what its socket buffer cannot hold: every
# datagram is accounted for (forwarded, or a drop traced with its reason,
# including those the kernel dropped when the socket's buffer was full),
# vnetkit's memory stays bounded, and the group still works afterwards.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sock_lib.sh"
sock_setup
P=$((20000 + $$ % 20000))
GROUP=230.0.0.9
FRAMES=6000 RUNTS=600 EMPTIES=200
"${VKBG[@]}" run -netdev socket,id=m,mcast=$GROUP:$P,localaddr=127.0.0.1 \
    -netdev pcap,id=o,out="$WORK/out.pcap" \
    -netdev hubport,id=h0,hubid=0,netdev=m -netdev hubport,id=h1,hubid=0,netdev=o \
    --trace "$WORK/t.pcapng" --trace-snaplen 64 --stats 2>"$WORK/err" &
SRV=$!
SOCK_PIDS+=("$SRV")
wait_for has_socket "$SRV"
anon() { awk '$1 == "RssAnon:" { print $2 }' "/proc/$SRV/status"; }
before=$(anon)
kill -STOP "$SRV"
sent=$(in_ns "$PY" "$SRC/tests/e2e/mcast_stranger.py" $GROUP $P $FRAMES $RUNTS $EMPTIES)
kill -CONT "$SRV"
expect_eq "$sent" "$FRAMES $RUNTS $EMPTIES" "the stranger sent its flood"
# and once more while vnetkit runs
sent=$(in_ns "$PY" "$SRC/tests/e2e/mcast_stranger.py" $GROUP $P $FRAMES $RUNTS $EMPTIES)
sleep 0.5
after=$(anon)
# the group still works: one more frame gets through
in_ns "$PY" "$SRC/tests/e2e/mcast_stranger.py" $GROUP $P 1 0 0 >/dev/null
stop "$SRV"

tshark -r "$WORK/t.pcapng" -T fields -e frame.comment 2>/dev/null | grep '^dropped' \
    > "$WORK/comments.txt"
sort "$WORK/comments.txt" | uniq -c > "$WORK/drops.txt"
cat "$WORK/drops.txt"
runts=$(awk '/dropped: dgram: runt frame$/ { print $1 }' "$WORK/drops.txt")
empties=$(awk '/dropped: dgram: empty datagram$/ { print $1 }' "$WORK/drops.txt")
# one record per increase of the kernel's count, which it gives
lost=$(sed -n 's/^dropped: dgram: \([0-9]*\) datagrams\{0,1\} lost in the kernel.*/\1/p' "$WORK/comments.txt" |
    awk '{ n += $1 } END { print n + 0 }')
fwd=$(frame_count "$WORK/out.pcap")
echo "forwarded $fwd, runts ${runts:-0}, empty ${empties:-0}, lost in the kernel $lost"
other=$(grep -v -e 'runt frame' -e 'empty datagram' -e 'lost in the kernel' "$WORK/drops.txt")
expect_eq "$other" "" "no drop of another kind"
expect_eq "$((fwd + ${runts:-0} + ${empties:-0} + lost))" "$((2 * (FRAMES + RUNTS + EMPTIES) + 1))" \
    "every datagram is forwarded or a traced drop"
[ "${runts:-0}" -gt 0 ] && [ "${empties:-0}" -gt 0 ] &&
    pass "runts and empty datagrams traced with their reason" ||
    fail "runts ${runts:-0}, empties ${empties:-0}: $(cat "$WORK/drops.txt")"
[ "$lost" -gt 0 ] && pass "the kernel's drops while vnetkit was stopped are traced ($lost)" ||
    fail "no kernel drop traced: $(cat "$WORK/drops.txt")"
# --stats: the port's drops include every kernel loss (counted in full)
m_other=$(awk '$1 == "m" { gsub(/[()]/, "", $6); split($6, a, "/"); print a[3] }' "$WORK/err")
expect_eq "$m_other" "$((${runts:-0} + ${empties:-0} + lost))" "--stats counts every drop"
# bounded: holding the flood would take tens of MiB
[ $((after - before)) -lt 4096 ] && pass "memory bounded under the flood (+$((after - before)) KiB)" ||
    fail "memory grew by $((after - before)) KiB under the flood"
finish
