# Frames a -netdev pcap,in= plays borrow the capture reader's buffer
# (vk_frame_lend) and get a copy of their own only when somebody keeps them:
# filter-buffer holds 50 ms of frames at a time on the source while the
# reader goes on through a capture larger than its 1 MiB buffer; the pcap
# written at the far end of the hub is the input, frame for frame.
. "$(dirname "$0")/lib.sh"
need tcpdump python3
IN="$WORK/in.pcap"
# 6000 frames, 100 us apart, ~3.6 MB: the reader refills its whole buffer
# (three times) while up to 500 frames are held
python3 "$SRC/tests/e2e/gen_frames.py" "$IN" 6000 0 100
text() { tcpdump -nr "$1" -t -e -x 2>/dev/null; }
text "$IN" > "$WORK/want.txt"
run_case() {
    local name=$1
    shift
    mkdir -p "$WORK/$name"
    if ! VK run -netdev pcap,id=src,in="$IN" -netdev pcap,id=o,out="$WORK/$name/out.pcap" \
        -netdev hubport,id=h0,hubid=0,netdev=src -netdev hubport,id=h1,hubid=0,netdev=o \
        "$@" 2>"$WORK/$name/err"; then
        fail "$name: vnetkit failed: $(head -c 400 "$WORK/$name/err")"
        return
    fi
    text "$WORK/$name/out.pcap" > "$WORK/$name/out.txt"
    if cmp -s "$WORK/want.txt" "$WORK/$name/out.txt"; then
        pass "$name: $(grep -c "^[0-9]" "$WORK/want.txt") frames written unchanged and in order"
    else
        fail "$name: frames differ: $(diff "$WORK/want.txt" "$WORK/$name/out.txt" | head -4)"
    fi
}
run_case held-by-filter -object filter-buffer,id=f,netdev=src,queue=tx,interval=50ms \
    --trace "$WORK/held.pcapng"
run_case untraced
finish
