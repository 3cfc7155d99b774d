# connect= failing asynchronously: a stream client that starts before its
# server.  With reconnect-ms= it says once that it is retrying (not once per
# attempt), drops what it is given meanwhile as "link down" (traced), and
# connects when the server comes: the trace shows the link going up and the
# frames after it arrive.  That over TCP (the refusal comes back after
# connect() returned, through SO_ERROR) and over a Unix path (connect()
# fails at once).  Without reconnect-ms= the client says the link stays down
# and keeps running.  Every frame offered is accounted for.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sock_lib.sh"
sock_setup
P=$((20000 + $$ % 20000))
IN="$WORK/in.pcap"
python3 "$GEN" "$IN" 300 0.2 7000 0   # 300 frames over 2.1 s
comments() { tshark -r "$1" -T fields -e frame.comment 2>/dev/null | grep -v '^$'; }

# late NAME CLIENT_ADDR SERVER_ADDR WANT_MSG: the client runs 2.6 s; its
# server starts 0.8 s after it
late() {
    local name=$1 caddr=$2 saddr=$3 want=$4 dir="$WORK/$1"
    mkdir -p "$dir"
    "${VKBG[@]}" run -netdev pcap,id=i,in="$IN" -netdev "stream,id=s,$caddr,reconnect-ms=100" \
        -netdev hubport,id=h0,hubid=0,netdev=i -netdev hubport,id=h1,hubid=0,netdev=s \
        --trace "$dir/c.pcapng" --duration 2.6 --stats 2>"$dir/c.err" &
    local cpid=$!
    SOCK_PIDS+=("$cpid")
    sleep 0.8
    "${VKBG[@]}" run -netdev "stream,id=s,server=on,$saddr" -netdev pcap,id=o,out="$dir/out.pcap" \
        -netdev hubport,id=h0,hubid=0,netdev=s -netdev hubport,id=h1,hubid=0,netdev=o \
        --stats 2>"$dir/s.err" &
    local spid=$!
    SOCK_PIDS+=("$spid")
    wait "$cpid"
    expect_eq "$?" 0 "$name: the client ran to its end"
    stop "$spid"
    expect_eq "$(grep -c 'retrying' "$dir/c.err")" 1 "$name: 'retrying' said once"
    grep -qF "vnetkit: -netdev stream,id=s: $want (retrying)" "$dir/c.err" &&
        pass "$name: the failure is named" || fail "$name: message: $(cat "$dir/c.err")"
    comments "$dir/c.pcapng" > "$dir/c.txt"
    expect_eq "$(grep '^link' "$dir/c.txt" | cut -d: -f1 | tr '\n' ' ')" "link up " \
        "$name: the link came up once the server was there"
    local down arrived unsent
    down=$(grep -c -E '^dropped: (stream: )?link down' "$dir/c.txt")
    unsent=$(grep -c '^dropped: stream: not sent before the end' "$dir/c.txt")
    arrived=$(frame_count "$dir/out.pcap")
    [ "$down" -gt 0 ] && [ "$arrived" -gt 0 ] &&
        pass "$name: $down frames dropped (traced) before, $arrived arrived after" ||
        fail "$name: down $down arrived $arrived"
    expect_eq "$((down + arrived + unsent))" 301 "$name: every frame arrived or is a traced drop"
}
late tcp "addr.type=inet,addr.host=127.0.0.1,addr.port=$P" \
    "addr.type=inet,addr.host=127.0.0.1,addr.port=$P" \
    "connect to inet:127.0.0.1:$P: Connection refused"
late unix "addr.type=unix,addr.path=$WORK/late.sock" "addr.type=unix,addr.path=$WORK/late.sock" \
    "connect to unix:$WORK/late.sock: No such file or directory"

# no reconnect-ms=: down for good, said once, and the run goes on
VKNS run -netdev pcap,id=i,in="$IN" \
    -netdev stream,id=s,addr.type=inet,addr.host=127.0.0.1,addr.port=$((P + 1)) \
    -netdev hubport,id=h0,hubid=0,netdev=i -netdev hubport,id=h1,hubid=0,netdev=s \
    --trace "$WORK/once.pcapng" --duration 1 2>"$WORK/once.err"
expect_eq "$?" 0 "without reconnect-ms the client still runs to its end"
expect_eq "$(cat "$WORK/once.err")" "vnetkit: -netdev stream,id=s: connect to inet:127.0.0.1:$((P + 1)): Connection refused; the link stays down" \
    "it says once that the link stays down"
down=$(comments "$WORK/once.pcapng" | grep -c -E '^dropped: (stream: )?link down')
[ "$down" -gt 0 ] && pass "frames to the down link are traced drops ($down)" ||
    fail "no link-down drop traced"
finish
