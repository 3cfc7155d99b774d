# vnetkit to vnetkit over every socket transport: one process replays a
# capture (pcap in, through a hub) into a socket/stream/dgram netdev, the
# other writes what arrives (pcap out); tcpdump shows the same frames, in
# order, byte for byte.  Frames are 60..1514 bytes plus 9000-byte ones.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sock_lib.sh"
sock_setup
IN="$WORK/in.pcap"
python3 "$GEN" "$IN" 1000 0.5 100
WANT="$WORK/want.txt"
frames_text "$IN" > "$WANT"
# below the ephemeral range (32768..): a client's own port never takes it
P=$((20000 + $$ % 12000))
S="$WORK/s"

pair stream-unix "stream,id=s,server=on,addr.type=unix,addr.path=$S.1" \
    "stream,id=s,server=off,addr.type=unix,addr.path=$S.1"
pair stream-unix-abstract "stream,id=s,server=on,addr.type=unix,addr.path=vk$$,addr.abstract=on" \
    "stream,id=s,addr.type=unix,addr.path=vk$$,addr.abstract=on"
pair stream-inet "stream,id=s,server=on,addr.type=inet,addr.host=127.0.0.1,addr.port=$P" \
    "stream,id=s,server=off,addr.type=inet,addr.host=127.0.0.1,addr.port=$P"
# the sender serves, the receiver connects
pair stream-inet-reversed "stream,id=s,addr.type=inet,addr.host=127.0.0.1,addr.port=$((P + 1)),reconnect-ms=50" \
    "stream,id=s,server=on,addr.type=inet,addr.host=127.0.0.1,addr.port=$((P + 1))"
pair socket-listen-connect "socket,id=s,listen=:$((P + 2))" "socket,id=s,connect=127.0.0.1:$((P + 2))"
pair socket-udp "socket,id=s,udp=127.0.0.1:$((P + 4)),localaddr=127.0.0.1:$((P + 3))" \
    "socket,id=s,udp=127.0.0.1:$((P + 3)),localaddr=127.0.0.1:$((P + 4))"
pair socket-mcast "socket,id=s,mcast=230.0.0.1:$((P + 5)),localaddr=127.0.0.1" \
    "socket,id=s,mcast=230.0.0.1:$((P + 5)),localaddr=127.0.0.1"
pair dgram-inet "dgram,id=s,local.type=inet,local.host=127.0.0.1,local.port=$((P + 6)),remote.type=inet,remote.host=127.0.0.1,remote.port=$((P + 7))" \
    "dgram,id=s,local.type=inet,local.host=127.0.0.1,local.port=$((P + 7)),remote.type=inet,remote.host=127.0.0.1,remote.port=$((P + 6))"
pair dgram-unix "dgram,id=s,local.type=unix,local.path=$S.2,remote.type=unix,remote.path=$S.3" \
    "dgram,id=s,local.type=unix,local.path=$S.3,remote.type=unix,remote.path=$S.2"
pair dgram-mcast "dgram,id=s,remote.type=inet,remote.host=230.0.0.2,remote.port=$((P + 8)),local.type=inet,local.host=127.0.0.1" \
    "dgram,id=s,remote.type=inet,remote.host=230.0.0.2,remote.port=$((P + 8)),local.type=inet,local.host=127.0.0.1"

# the multicast sender hears its own frames, as with QEMU (IP_MULTICAST_LOOP):
# its port s both takes the 1001 frames in and sends them back out
got=$(tshark -r "$WORK/socket-mcast/send.pcapng" -T fields -e frame.interface_name \
    -e frame.packet_flags_direction 2>/dev/null | grep -c '^s	0x00000002')
expect_eq "$got" "1001" "socket mcast: the sender received its own 1001 frames back"
# link up traced on the stream receiver, and shown by --stats
tshark -r "$WORK/stream-unix/recv.pcapng" -T fields -e frame.interface_name -e frame.comment \
    2>/dev/null | grep -E '^s	link ' > "$WORK/links.txt"
expect_eq "$(cut -f2 "$WORK/links.txt" | cut -d: -f1 | tr '\n' ' ')" "link up link down " \
    "stream server: link up then down (sender left) in the trace"
if grep -qE '^ +link up \(1 up, 0 down\)' "$WORK/stream-unix/send.err"; then
    pass "--stats shows the client's link state"; else
    fail "--stats lacks the link line: $(cat "$WORK/stream-unix/send.err")"; fi
finish
