# filter-mirror and filter-redirector through the binary, with a Python peer
# at the far end of a -chardev socket on loopback (QEMU's 4-byte length
# framing): a mirror copies every frame the netdev sends to its outdev and
# lets it go on; a redirector takes them to its outdev instead; frames read
# from a redirector's indev enter the netdev's path (queue=rx: into the
# netdev, queue=tx: out of it towards its peer); bad keys are one-line
# QEMU-style errors with exit 2.
. "$(dirname "$0")/lib.sh"
need tcpdump tshark python3
PEER="python3 $SRC/tests/e2e/chardev_peer.py"
python3 "$SRC/tests/e2e/gen_frames.py" "$WORK/in.pcap" 40 0.2 1000 0
nframes() { tcpdump -nr "$1" 2>/dev/null | grep -c "^[0-9]"; }
N=$(nframes "$WORK/in.pcap")
hexdump_of() { tcpdump -nxxr "$1" 2>/dev/null | grep -v '^[0-9]'; }
wait_socket() { for _ in $(seq 100); do [ -S "$1" ] && return 0; sleep 0.05; done; return 1; }
HUB="-netdev hubport,id=h0,hubid=0,netdev=src -netdev hubport,id=h1,hubid=0,netdev=sink"

# 1. mirror: the peer gets a copy of every frame, the sink still gets them all
$PEER collect "$WORK/m.sock" "$WORK/mirror.pcap" >"$WORK/mirror.n" 2>&1 &
PID=$!
wait_socket "$WORK/m.sock" || fail "peer did not listen"
expect_status 0 "mirror run" -- VK run -chardev socket,id=c0,path="$WORK/m.sock" \
    -netdev pcap,id=src,in="$WORK/in.pcap" -netdev pcap,id=sink,out="$WORK/sink1.pcap" $HUB \
    -object filter-mirror,id=m0,netdev=src,queue=tx,outdev=c0 \
    --duration 1 --stats --trace "$WORK/mirror.pcapng"
wait "$PID"
expect_eq "$(cat "$WORK/mirror.n")" "$N" "the peer read every frame in QEMU framing"
expect_eq "$(nframes "$WORK/sink1.pcap")" "$N" "the mirrored frames still reach the sink"
if [ "$(hexdump_of "$WORK/mirror.pcap")" = "$(hexdump_of "$WORK/in.pcap")" ]; then
    pass "the copies are the frames, byte for byte, in order"
else fail "the copies differ from the frames"; fi
expect_stderr "filter m0 \(filter-mirror on src\): copied $N to c0" "--stats counts the copies"
C=$(tshark -r "$WORK/mirror.pcapng" -Y 'frame.interface_name == "c0"' -T fields -e frame.comment \
    2>/dev/null | grep -c 'mirror m0: copy from netdev src, tx')
expect_eq "$C" "$N" "each copy is traced on the chardev with the filter's note"

# 2. redirector with outdev: the frames go to the peer instead of the sink
$PEER collect "$WORK/r.sock" "$WORK/redir.pcap" >"$WORK/redir.n" 2>&1 &
PID=$!
wait_socket "$WORK/r.sock" || fail "peer did not listen"
expect_status 0 "redirector outdev run" -- VK run -chardev socket,id=c0,path="$WORK/r.sock" \
    -netdev pcap,id=src,in="$WORK/in.pcap" -netdev pcap,id=sink,out="$WORK/sink2.pcap" $HUB \
    -object filter-redirector,id=r0,netdev=src,queue=tx,outdev=c0 --duration 1 --stats
wait "$PID"
expect_eq "$(cat "$WORK/redir.n")" "$N" "the peer got every redirected frame"
expect_eq "$(nframes "$WORK/sink2.pcap")" "0" "redirected frames do not go on"
expect_stderr "filter r0 \(filter-redirector on src\): redirected $N to c0" "--stats counts them"

# 3. redirector with indev (a TCP server chardev that waits for its peer):
# queue=rx puts the frames into netdev a, queue=tx sends them out of b
PORT=$($PEER freeport)
python3 "$SRC/tests/e2e/gen_frames.py" "$WORK/inj.pcap" 10 0 1000 0
K=$(nframes "$WORK/inj.pcap")
$PEER send 127.0.0.1 "$PORT" "$WORK/inj.pcap" >"$WORK/send.log" 2>&1 &
PID=$!
expect_status 0 "redirector indev run (rx)" -- VK run \
    -chardev socket,id=in0,host=127.0.0.1,port="$PORT",server=on,wait=on \
    -netdev pcap,id=a,out="$WORK/a.pcap" \
    -object filter-redirector,id=r1,netdev=a,queue=rx,indev=in0 --duration 1.5 --stats
wait "$PID"
expect_stderr "waiting for a connection on inet:127.0.0.1:$PORT" "wait=on says what it waits for"
expect_eq "$(hexdump_of "$WORK/a.pcap")" "$(hexdump_of "$WORK/inj.pcap")" \
    "queue=rx: the frames read from indev enter the netdev"
PORT=$($PEER freeport)
$PEER send 127.0.0.1 "$PORT" "$WORK/inj.pcap" >"$WORK/send.log" 2>&1 &
PID=$!
expect_status 0 "redirector indev run (tx)" -- VK run \
    -chardev socket,id=in0,host=127.0.0.1,port="$PORT",server=on \
    -netdev pcap,id=b,out="$WORK/b.pcap" -netdev pcap,id=sink,out="$WORK/sink3.pcap" \
    -netdev hubport,id=h0,hubid=0,netdev=b -netdev hubport,id=h1,hubid=0,netdev=sink \
    -object filter-redirector,id=r2,netdev=b,queue=tx,indev=in0 --duration 1.5 --stats
wait "$PID"
expect_eq "$(nframes "$WORK/b.pcap")" "0" "queue=tx: nothing enters the netdev"
expect_eq "$(hexdump_of "$WORK/sink3.pcap")" "$(hexdump_of "$WORK/inj.pcap")" \
    "queue=tx: the frames leave the netdev towards its peer"
expect_stderr "injected $K from in0" "--stats counts the injected frames"

# 4. bad input: one line, QEMU's words, exit 2
IN="$WORK/in.pcap"
bad() { # PATTERN DESCRIPTION -- options...
    local pat=$1 what=$2
    shift 3
    expect_status 2 "$what" -- VK run -netdev pcap,id=s,in="$IN" "$@"
    expect_stderr "$pat" "$what: message"
    [ "$(wc -l <"$WORK/err.txt")" -le 2 ] && pass "$what: short" || fail "$what: long message"
}
bad "filter mirror needs 'outdev' property set" "mirror without outdev" -- \
    -object filter-mirror,id=m,netdev=s
bad "key 'outdev': Device 'nope' not found" "unknown outdev" -- \
    -object filter-mirror,id=m,netdev=s,outdev=nope
bad "IN Device 'nope' not found" "unknown indev" -- \
    -object filter-redirector,id=r,netdev=s,indev=nope
bad "needs 'indev' or 'outdev' at least one property set" "redirector without devs" -- \
    -object filter-redirector,id=r,netdev=s
bad "'indev' and 'outdev' could not be same" "same indev and outdev" -- \
    -chardev socket,id=c,path="$WORK/x.sock",server=on,wait=off \
    -object filter-redirector,id=r,netdev=s,indev=c,outdev=c
bad "Device 'c' is in use by filter-mirror m1" "one user per chardev" -- \
    -chardev socket,id=c,path="$WORK/x.sock",server=on,wait=off \
    -object filter-mirror,id=m1,netdev=s,outdev=c -object filter-mirror,id=m2,netdev=s,outdev=c
bad "key 'vnet_hdr_support': on is not supported" "vnet_hdr_support=on" -- \
    -chardev socket,id=c,path="$WORK/x.sock",server=on,wait=off \
    -object filter-mirror,id=m,netdev=s,outdev=c,vnet_hdr_support=on
bad "key 'backend': 'pty' is not a valid char driver name" "unknown chardev backend" -- \
    -chardev pty,id=c
bad "key 'port': missing" "socket without port" -- -chardev socket,id=c,host=127.0.0.1
bad "key 'wait': only a server" "wait on a client" -- \
    -chardev socket,id=c,host=127.0.0.1,port=1,wait=off
bad "'reconnect' option is incompatible with 'server' option" "reconnect on a server" -- \
    -chardev socket,id=c,path="$WORK/x.sock",server=on,wait=off,reconnect=1
bad "key 'queue': 'sideways' is not all, rx or tx" "bad queue" -- \
    -chardev socket,id=c,path="$WORK/x.sock",server=on,wait=off \
    -object filter-mirror,id=m,netdev=s,outdev=c,queue=sideways
bad "key 'hots': unknown key" "unknown chardev key" -- -chardev socket,id=c,hots=x,port=1
bad "key 'port': '99999' is not a port from 0 to 65535" "port out of range" -- \
    -chardev socket,id=c,host=127.0.0.1,port=99999
bad "key 'path': cannot connect to unix:$WORK/nobody.sock" "a client nobody listens for" -- \
    -chardev socket,id=c,path="$WORK/nobody.sock"
finish
