# filter-netem through the binary: impairments on the virtual clock are
# traced (drop records and comments that tshark shows), a run with the same
# seed writes byte-identical traces and another seed does not, --stats
# counts per filter, and bad keys are one-line errors with exit 2.
. "$(dirname "$0")/lib.sh"
need tcpdump tshark
IN=$SRC/pcaps/qemu-e1000-dhcp-ping.pcap
N=$(count_frames "$IN")
netem_run() { # DIR SEED
    rm -rf "$WORK/run" && mkdir -p "$WORK/run"
    VK run -netdev pcap,id=src,in="$IN",loop=20 \
        -netdev pcap,id=sink,out="$WORK/run/sink.pcap" \
        -netdev hubport,id=h0,hubid=0,netdev=src \
        -netdev hubport,id=h1,hubid=0,netdev=sink \
        -object "filter-netem,id=f1,netdev=sink,queue=rx,delay=20ms,jitter=5ms,distribution=normal,loss=10%,duplicate=5%,corrupt=5%,seed=$2" \
        --trace "$WORK/run/all.pcapng" --trace-dir "$WORK/run/tr" --stats 2>"$WORK/run/stats.txt" || return $?
    mv "$WORK/run" "$WORK/$1"
}
expect_status 0 "netem run, seed 1" -- netem_run a 1
expect_status 0 "netem run again, seed 1" -- netem_run b 1
expect_status 0 "netem run, seed 2" -- netem_run c 2
if cmp -s "$WORK/a/all.pcapng" "$WORK/b/all.pcapng"; then pass "same seed: identical pcapng"; else
    fail "same seed: pcapng differs"; fi
if cmp -s "$WORK/a/sink.pcap" "$WORK/b/sink.pcap"; then pass "same seed: identical out= file"; else
    fail "same seed: out= differs"; fi
if cmp -s "$WORK/a/all.pcapng" "$WORK/c/all.pcapng"; then fail "another seed gave the same trace"; else
    pass "another seed: another trace"; fi
tshark -r "$WORK/a/all.pcapng" -Y 'frame.interface_name == "sink"' -T fields -e frame.comment \
    2>/dev/null > "$WORK/comments.txt"
TOTAL=$((N * 20))
LOST=$(grep -c '^dropped: netem f1: loss (random)' "$WORK/comments.txt")
DUPS=$(grep -c 'netem f1: duplicate of packet [0-9]' "$WORK/comments.txt")
CORR=$(grep -c 'netem f1: .*corrupt bit [0-9]' "$WORK/comments.txt")
DELAYED=$(grep -c 'netem f1: .*delayed [0-9.]* ms' "$WORK/comments.txt")
GOT=$(count_frames "$WORK/a/sink.pcap")
[ "$LOST" -gt 0 ] && [ "$DUPS" -gt 0 ] && [ "$CORR" -gt 0 ] && pass "loss, duplicate and corrupt are all traced" ||
    fail "comments: lost $LOST dup $DUPS corrupt $CORR"
expect_eq "$GOT" "$DELAYED" "every frame the sink got was delayed and says so"
LOST_DUP=$(grep -c '^dropped: netem f1: loss (random) (duplicate' "$WORK/comments.txt")
expect_eq "$GOT" "$((TOTAL - (LOST - LOST_DUP) + DUPS))" "sink got input - lost + duplicated"
grep -q "filter f1 (filter-netem on sink): frames $TOTAL," "$WORK/a/stats.txt" &&
    pass "--stats counts the filter's frames" || fail "stats: $(cat "$WORK/a/stats.txt")"
# the per-port pcaps stay plain pcap that tcpdump reads
expect_eq "$(count_frames "$WORK/a/tr/sink.pcap")" "$GOT" "--trace-dir pcap of sink holds what it got"
# bad keys
expect_status 2 "loss over 100%" -- VK run -netdev pcap,id=s,in="$IN" \
    -object filter-netem,id=f,netdev=s,loss=150%
expect_stderr "key 'loss': '150%' is not a percentage" "loss message names the key"
expect_status 2 "reorder without delay" -- VK run -netdev pcap,id=s,in="$IN" \
    -object filter-netem,id=f,netdev=s,reorder=5%
expect_stderr "key 'reorder': reordering needs a delay" "reorder message"
expect_status 2 "unknown netdev" -- VK run -netdev pcap,id=s,in="$IN" \
    -object filter-netem,id=f,netdev=nope,delay=1ms
expect_stderr "no netdev 'nope'" "netdev message"
expect_status 2 "unknown key" -- VK run -netdev pcap,id=s,in="$IN" \
    -object filter-netem,id=f,netdev=s,latency=1ms
expect_stderr "latency" "unknown key named"
finish
