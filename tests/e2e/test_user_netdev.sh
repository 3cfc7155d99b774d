# -netdev user through the real binary: option errors exit 2 naming the key;
# the guest frames of a real QEMU capture, replayed through a hub into the
# user backend, get exactly libslirp's answers (tcpdump text, hex included,
# compared with the capture's slirp frames; virtio-net captures are the
# unpadded ones); two runs give identical output (virtual clock).
. "$(dirname "$0")/lib.sh"
need tcpdump

expect_status 2 "bad hostfwd rule" -- VK run -netdev user,id=u,hostfwd=tcp::2222-:0
expect_stderr "key 'hostfwd'.*bad guest port" "hostfwd message names the key"
expect_status 2 "dhcpstart outside net" -- VK run -netdev user,id=u,dhcpstart=10.0.3.15
expect_stderr "key 'dhcpstart'.*outside net" "dhcpstart message names the key"
expect_status 2 "host equal to dns" -- VK run -netdev user,id=u,host=10.0.2.3
expect_stderr "key 'dns': must differ from host" "host/dns message names the key"
expect_status 2 "unknown key" -- VK run -netdev user,id=u,bogus=1
expect_stderr "key 'bogus'" "unknown key named"

mkdir -p "$WORK/tftp"
printf 'hello via tftp\n' > "$WORK/tftp/hello.txt"
user_replay() { # $1 capture, $2 output dir, $3 extra user options
    local in=$SRC/pcaps/$1
    mkdir -p "$WORK/$2"
    tcpdump -r "$in" -w "$WORK/$2/guest.pcap" 'ether src 52:54:00:12:34:56' 2>/dev/null
    VK run -netdev pcap,id=g,in="$WORK/$2/guest.pcap",out="$WORK/$2/answers.pcap" \
        -netdev user,id=u,tftp="$WORK/tftp"$3 \
        -netdev hubport,id=h0,hubid=0,netdev=g -netdev hubport,id=h1,hubid=0,netdev=u \
        --duration 100s
}
check_capture() { # $1 capture, $2 extra options
    local name=${1%.pcap}
    expect_status 0 "replay $1 into -netdev user" -- user_replay "$1" "$name" "$2"
    tcpdump -nr "$SRC/pcaps/$1" -t -vv -x 'not ether src 52:54:00:12:34:56' \
        > "$WORK/$name/want.txt" 2>/dev/null
    tcpdump -nr "$WORK/$name/answers.pcap" -t -vv -x > "$WORK/$name/got.txt" 2>/dev/null
    if [ -s "$WORK/$name/want.txt" ] && diff -u "$WORK/$name/want.txt" "$WORK/$name/got.txt" \
        > "$WORK/$name/diff.txt"; then
        pass "$1: answers identical to libslirp's"
    else
        fail "$1: answers differ: $(head -30 "$WORK/$name/diff.txt")"
    fi
}
check_capture qemu-virtio-dhcp-ping.pcap ""
check_capture qemu-rtl8139-dhcp-ping.pcap ""
# virtio-http-tftp has TCP NAT before its TFTP transfer: the IP ids of the
# TFTP answers follow the NAT packets of the capture's own run, so they are
# not compared here; check that the file is served.
expect_status 0 "replay qemu-virtio-http-tftp.pcap" -- \
    user_replay qemu-virtio-http-tftp.pcap qemu-virtio-http-tftp ""
tcpdump -nr "$WORK/qemu-virtio-http-tftp/answers.pcap" -A > "$WORK/http-tftp.txt" 2>/dev/null
if grep -q "hello via tftp" "$WORK/http-tftp.txt"; then
    pass "virtio-http-tftp: hello.txt served"; else fail "virtio-http-tftp: no TFTP data"; fi

# determinism: a second run gives the same bytes
user_replay qemu-virtio-dhcp-ping.pcap again "" >/dev/null 2>&1
if cmp -s "$WORK/again/answers.pcap" "$WORK/qemu-virtio-dhcp-ping/answers.pcap"; then
    pass "two runs give identical answers"; else fail "runs differ"; fi
finish
