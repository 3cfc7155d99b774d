# SIGKILL safety (README, "What a killed run leaves"): every file a run
# writes has its header from the start and only ever grows by whole
# records, so a run killed at any moment leaves out= files, --trace-dir
# pcaps, the --trace pcapng and filter-dump files that tcpdump and tshark
# read to the end without complaint -- including an out= file that
# received nothing (a valid empty capture).
. "$(dirname "$0")/lib.sh"
need tcpdump tshark
IN=$SRC/pcaps/qemu-e1000-dhcp-ping.pcap
# reads FILE with tcpdump (and tshark for the pcapng and the out= file):
# no error, no "truncated"/"cut short" warning
whole() { # FILE WHAT
    tcpdump -nr "$1" > /dev/null 2> "$WORK/td.err"
    local td=$? ts=0
    : > "$WORK/ts.err"
    case $1 in *.pcapng|*/sink.pcap) tshark -r "$1" > /dev/null 2> "$WORK/ts.err"; ts=$? ;; esac
    if [ $td = 0 ] && [ $ts = 0 ] && ! grep -qiE "truncated|cut short|appears to be damaged" \
        "$WORK/td.err" "$WORK/ts.err"; then pass "$2"; else
        fail "$2: tcpdump $td tshark $ts: $(cat "$WORK/td.err" "$WORK/ts.err" | head -c 400)"; fi
}
for delay in 0 2.5; do
    d=$WORK/k$delay
    mkdir -p "$d"
    # a live run that never ends by itself: the capture loops forever
    "$VNETKIT" run -netdev pcap,id=src,in="$IN",loop=0 -netdev pcap,id=sink,out="$d/sink.pcap" \
        -netdev pcap,id=idle,out="$d/idle.pcap" \
        -netdev hubport,id=h0,hubid=0,netdev=src -netdev hubport,id=h1,hubid=0,netdev=sink \
        -object filter-dump,id=f0,netdev=sink,file="$d/dump.pcap" \
        --clock live --trace "$d/all.pcapng" --trace-dir "$d/dir" > /dev/null 2>&1 &
    pid=$!
    # the delay counts from when the run has opened its files (a sanitizer
    # build under load takes a while to get there)
    for _ in $(seq 200); do [ -s "$d/all.pcapng" ] && break; sleep 0.1; done
    sleep "$delay"
    kill -KILL $pid
    wait $pid 2> /dev/null
    expect_eq "$?" "137" "killed by SIGKILL after ${delay}s (from the open)"
    for f in sink.pcap idle.pcap dump.pcap all.pcapng dir/h0.pcap dir/h1.pcap dir/src.pcap; do
        whole "$d/$f" "$f whole after SIGKILL at ${delay}s"
    done
    expect_eq "$(stat -c %s "$d/idle.pcap")" "24" "an out= file that received nothing holds its header"
done
# after 2.5 s the second-by-second trace flushes have put frames on disk
[ "$(tcpdump -nr "$WORK/k2.5/all.pcapng" 2>/dev/null | wc -l)" -gt 0 ] &&
    pass "frames traced before the kill are on disk" || fail "the trace is empty after 2.5 s"
[ "$(tcpdump -nr "$WORK/k2.5/dump.pcap" 2>/dev/null | wc -l)" -gt 0 ] &&
    pass "filter-dump records are on disk" || fail "filter-dump is empty after 2.5 s"
finish
