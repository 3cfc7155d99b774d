# The progress line of run and replay: on a terminal (stderr on a pty made
# by pty_run.py) it is drawn in place ("\r...\033[K"), refreshed at most four
# times a second and erased at the end, and stdout and the exit status are
# those of a run without a terminal; not on a terminal, and with --quiet,
# nothing is added to stderr; --progress off a terminal prints whole lines.
. "$(dirname "$0")/lib.sh"
need python3
cd "$SRC" || exit 1
PTY() { python3 "$SRC/tests/e2e/pty_run.py" "$@"; }
CAP=pcaps/hub-dhcp-ping.pcapng
TOPO=pcaps/hub-dhcp-ping.topo
CR=$(printf '\r')
ESC=$(printf '\033')

# replay on a terminal: same verdict and stdout, one line drawn and erased
VK replay "$CAP" --topology "$TOPO" --port g >"$WORK/plain.out" 2>"$WORK/plain.err"
plain=$?
PTY "$WORK/tty.txt" "$VNETKIT" replay "$CAP" --topology "$TOPO" --port g >"$WORK/tty.out"
expect_eq "$?" "$plain" "replay on a terminal: exit status unchanged"
cmp -s "$WORK/plain.out" "$WORK/tty.out" && pass "replay on a terminal: stdout unchanged" ||
    fail "replay on a terminal: stdout differs"
expect_eq "$(wc -c <"$WORK/plain.err" | tr -d ' ')" 0 "replay off a terminal: nothing on stderr"
grep -q "^${CR}replay: [0-9.kMG]* frames, [0-9.]*%" "$WORK/tty.txt" &&
    pass "replay: a progress line with frames and percent" ||
    fail "replay: no progress line: $(cat -v "$WORK/tty.txt")"
tail -c 4 "$WORK/tty.txt" | cmp -s - <(printf '\r\033[K') &&
    pass "replay: the line is erased at the end" ||
    fail "replay: not erased: $(tail -c 40 "$WORK/tty.txt" | cat -v)"

PTY "$WORK/quiet.txt" "$VNETKIT" replay "$CAP" --topology "$TOPO" --port g --quiet \
    >"$WORK/quiet.out"
expect_eq "$?" "$plain" "replay --quiet: exit status unchanged"
expect_eq "$(wc -c <"$WORK/quiet.txt" | tr -d ' ')" 0 "replay --quiet: nothing on the terminal"

# run on the live clock for 1.2 s of a capture spread over 3 s: the percent
# follows --duration, and the line is redrawn at most every 250 ms
python3 - "$WORK/slow.pcap" <<'PY'
import struct, sys
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xa1b23c4d, 2, 4, 0, 0, 65535, 1))
    frame = bytes.fromhex("ffffffffffff525400123456") + b"\x88\xb5" + bytes(46)
    for i in range(300):  # one frame every 10 ms
        t = i * 10_000_000
        f.write(struct.pack("<IIII", t // 10**9, t % 10**9, len(frame), len(frame)))
        f.write(frame)
PY
RUN=(run --clock live --duration 1.2 -netdev "pcap,id=src,in=$WORK/slow.pcap"
     -netdev "pcap,id=dst,out=$WORK/dst.pcap" -netdev hubport,id=h0,hubid=0,netdev=src
     -netdev hubport,id=h1,hubid=0,netdev=dst)
PTY "$WORK/run.txt" "$VNETKIT" "${RUN[@]}" >"$WORK/run.out"
expect_eq "$?" 0 "run on a terminal: exit 0"
draws=$(tr -cd '\r' <"$WORK/run.txt" | wc -c)
# 1.2 s: the first line, then at most one per 250 ms, plus the erasing \r
[ "$draws" -ge 3 ] && [ "$draws" -le 8 ] && pass "run: $draws redraws in 1.2 s" ||
    fail "run: $draws redraws in 1.2 s: $(cat -v "$WORK/run.txt")"
grep -aq "run: [0-9.kMG]* frames, [0-9.]*%, [0-9.kMG]* frames/s, ETA 0:0" "$WORK/run.txt" &&
    pass "run: frames, percent, rate and ETA" || fail "run: line: $(cat -v "$WORK/run.txt")"
tail -c 4 "$WORK/run.txt" | cmp -s - <(printf '\r\033[K') && pass "run: line erased" ||
    fail "run: not erased: $(tail -c 40 "$WORK/run.txt" | cat -v)"

# --progress off a terminal: whole lines, no escapes
VK "${RUN[@]}" --progress >"$WORK/lines.out" 2>"$WORK/lines.err"
expect_eq "$?" 0 "run --progress off a terminal: exit 0"
grep -q "^run: [0-9.kMG]* frames" "$WORK/lines.err" && ! grep -q "[$CR$ESC]" "$WORK/lines.err" &&
    pass "run --progress off a terminal: plain lines" ||
    fail "run --progress lines: $(cat -v "$WORK/lines.err")"
VK "${RUN[@]}" >"$WORK/none.out" 2>"$WORK/none.err"
expect_eq "$(wc -c <"$WORK/none.err" | tr -d ' ')" 0 "run off a terminal: nothing on stderr"
finish
