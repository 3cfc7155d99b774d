# Frames a stream netdev receives borrow its receive buffer (vk_frame_lend)
# and get a copy of their own only when somebody keeps them: here a burst of
# frames (no gap, so one read holds many and the buffer is reused while
# earlier frames are still held) is held by filter-buffer on the receiving
# stream port (it keeps references; netem would clone), and passes untraced;
# the pcap written at the far end holds every frame unchanged and in order,
# 9000-byte frames (too long to borrow) among them.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sock_lib.sh"
sock_setup
IN="$WORK/in.pcap"
# fewer frames than the sender's input queue and filter-buffer hold (1024)
python3 "$GEN" "$IN" 1000 0.5 0
WANT="$WORK/want.txt"
frames_text "$IN" > "$WANT"
S="$WORK/s"
SEND_T=2

# held up to 30 ms by the filter while later reads reuse the buffer
RECV_ARGS=(-object filter-buffer,id=f,netdev=s,queue=tx,interval=30ms --trace "$WORK/held.pcapng")
pair held-by-filter "stream,id=s,server=on,addr.type=unix,addr.path=$S.1" \
    "stream,id=s,server=off,addr.type=unix,addr.path=$S.1"
# no tap at all: the untraced delivery path
RECV_ARGS=()
pair untraced "stream,id=s,server=on,addr.type=unix,addr.path=$S.2" \
    "stream,id=s,server=off,addr.type=unix,addr.path=$S.2"
finish
