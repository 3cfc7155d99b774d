# fd=: two vnetkit processes joined by a socketpair their parent made, as a
# management layer (libvirt) hands QEMU a descriptor: stream framing over a
# stream pair (-netdev stream addr.type=fd, -netdev socket,fd=), one frame
# per datagram over a datagram pair (-netdev dgram local.type=fd,
# -netdev socket,fd=); a listening socket handed to a stream server; and
# descriptors that are not what the option needs are refused by name.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sock_lib.sh"
sock_setup
IN="$WORK/in.pcap"
python3 "$GEN" "$IN" 500 0.5 200
WANT="$WORK/want.txt"
frames_text "$IN" > "$WANT"

fd_case() { # NAME KIND RECV SEND
    local dir="$WORK/$1"
    mkdir -p "$dir"
    if ! in_ns "$PY" "$SRC/tests/e2e/fd_pair.py" "$2" "$VNETKIT" "$dir" "$IN" "$3" "$4" \
        ${VNETKIT_WRAP:-}; then
        fail "$1: a vnetkit failed: $(head -c 400 "$dir/recv.err" "$dir/send.err")"
        return
    fi
    frames_text "$dir/out.pcap" > "$dir/out.txt"
    if cmp -s "$WANT" "$dir/out.txt"; then pass "$1: every frame arrived unchanged"; else
        fail "$1: frames differ: $(diff "$WANT" "$dir/out.txt" | head -4)"; fi
}
fd_case stream-fd stream "stream,id=s,addr.type=fd,addr.str=@FD@" "stream,id=s,addr.type=fd,addr.str=@FD@"
fd_case socket-fd-stream stream "socket,id=s,fd=@FD@" "socket,id=s,fd=@FD@"
fd_case socket-fd-dgram dgram "socket,id=s,fd=@FD@" "socket,id=s,fd=@FD@"
fd_case dgram-fd dgram "dgram,id=s,local.type=fd,local.str=@FD@" "socket,id=s,fd=@FD@"

# a listening socket handed to a stream server (server=on,addr.type=fd)
cat > "$WORK/listen_fd.py" <<PY
import os, socket, sys
l = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
l.bind("$WORK/l.sock"); l.listen(4); os.set_inheritable(l.fileno(), True)
args = sys.argv[1:]
i = args.index("run") + 1
args[i:i] = ["-netdev", "stream,id=s,server=on,addr.type=fd,addr.str=%d" % l.fileno()]
os.execvp(args[0], args)  # the same pid: a signal to it reaches vnetkit
PY
mkdir -p "$WORK/lfd"
ip netns exec "$SOCK_NS" "$PY" "$WORK/listen_fd.py" ${VNETKIT_WRAP:-} "$VNETKIT" run -netdev pcap,id=o,out="$WORK/lfd/out.pcap" \
    -netdev hubport,id=h0,hubid=0,netdev=s -netdev hubport,id=h1,hubid=0,netdev=o \
    2>"$WORK/lfd/recv.err" &
SOCK_PIDS+=($!)
wait_for test -S "$WORK/l.sock"
VKNS run -netdev pcap,id=i,in="$IN" -netdev stream,id=s,addr.type=unix,addr.path="$WORK/l.sock" \
    -netdev hubport,id=h0,hubid=0,netdev=i -netdev hubport,id=h1,hubid=0,netdev=s \
    --duration 1.5 2>"$WORK/lfd/send.err"
stop "${SOCK_PIDS[-1]}"
frames_text "$WORK/lfd/out.pcap" > "$WORK/lfd/out.txt"
if cmp -s "$WANT" "$WORK/lfd/out.txt"; then pass "stream server on a listening fd"; else
    fail "listening fd: $(diff "$WANT" "$WORK/lfd/out.txt" | head -3) $(cat "$WORK/lfd/recv.err")"; fi

# wrong descriptors are refused, naming the key and the problem
expect_status 2 "fd 99 is not open" -- VK run -netdev socket,id=s,fd=99
expect_stderr "key 'fd': descriptor 99 is not open" "message names fd= and the descriptor"
expect_status 2 "stdin is not a socket" -- VK run -netdev stream,id=s,addr.type=fd,addr.str=0
expect_stderr "key 'addr.str': descriptor 0 is not a socket" "message names addr.str"
expect_status 2 "fd name instead of number" -- VK run -netdev dgram,id=s,local.type=fd,local.str=myfd
expect_stderr "monitor fd names are not supported" "fd names are refused clearly"
finish
