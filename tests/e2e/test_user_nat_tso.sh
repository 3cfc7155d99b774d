# TCP super-segments from -netdev user to a TAP with vnet_hdr=on (core/frame.h
# gso_mss): a private namespace behind `-netdev tap,vnet_hdr=on` and a hub to
# `-netdev user`; curl in the namespace downloads 4 MiB from an HTTP server
# the test starts on the host's 127.0.0.1 (via 10.0.2.2), three times:
#  1. nothing traced: the user port sends super-segments whole, the hub
#     passes them on whole, the TAP writes them with a GSO vnet header
#     (--stats shows them), and the download is intact;
#  2. -object filter-dump on the TAP's netdev: the user port still sends
#     them whole into the hub, but the hub port whose peer is filtered
#     segments them in software, so the dump (tshark reads it) holds only
#     wire-sized segments (at most MTU + 14 bytes) with valid IP and TCP
#     checksums;
#  3. --trace FILE.pcapng (every port observed): no super-segment is made at
#     all, and every traced frame is wire-sized with valid checksums.
# Only loopback and the test's own namespace see any traffic.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tap_lib.sh"
need curl python3 timeout ss sha256sum tshark

tap_need_privileges

HPORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$WORK/host"
head -c $((4 * 1024 * 1024)) /dev/urandom >"$WORK/host/big.bin"
tap_http_server "$HPORT" "$WORK/host" host-http

# run_case NAME EXTRA-ARGS...: one vnetkit with the TAP in the namespace,
# one download; its --stats end in $WORK/NAME.stats.
run_case() {
    local name=$1 ifname=vkts$1$$
    shift
    tap_start "$ifname" -netdev tap,id=t0,ifname="$ifname",script=no,downscript=no,vnet_hdr=on \
        -netdev user,id=u0 \
        -netdev hubport,id=hp0,hubid=0,netdev=t0 -netdev hubport,id=hp1,hubid=0,netdev=u0 \
        --duration 90 --stats "$@"
    tap_ns_as_guest "$ifname"
    ns timeout 60 curl -sS -o "$WORK/$name.bin" "http://10.0.2.2:$HPORT/big.bin" \
        2>"$WORK/$name.curl.err"
    expect_eq "$?" 0 "$name: curl in the namespace downloads from the host via 10.0.2.2"
    expect_eq "$(sha256sum <"$WORK/$name.bin")" "$(sha256sum <"$WORK/host/big.bin")" \
        "$name: the 4 MiB download is intact"
    tap_stop
    cp "$WORK/vnetkit.err" "$WORK/$name.stats"
}

# gso PORT WHICH STATS: the port's super-segments "whole" or "soft" (0 when
# the summary has no super-segment line for it).
gso() {
    awk -v port="$1" -v which="$2" '
        $1 == port { cur = 1; next }
        /^[^ ]/ { cur = 0 }
        cur && /super-segments:/ { n = (which == "whole") ? $2 : $5; print n; found = 1; exit }
        END { if (!found) print 0 }' "$3"
}

# wire_sized FILE WHAT: every frame of FILE fits the 1500-byte MTU, the TCP
# data is there, and tshark finds every IP and TCP checksum good.
wire_sized() {
    local big bad data
    big=$(tshark -r "$1" -Y 'frame.len > 1514' 2>/dev/null | wc -l)
    expect_eq "$big" 0 "$2: no frame longer than MTU 1500 + Ethernet header"
    data=$(tshark -r "$1" -Y 'tcp.srcport == '"$HPORT"' && tcp.len == 1440' 2>/dev/null | wc -l)
    if [ "$data" -ge 2900 ]; then
        pass "$2: the download is in MSS-sized (1440-byte) segments ($data)"
    else
        fail "$2: only $data segments of 1440 bytes from the server"
    fi
    # The namespace's kernel fills a TCP checksum that comes out 0 as 0xffff
    # (skb_checksum_help's CSUM_MANGLED_0), which RFC 1624 makes the same
    # value; tshark flags it ("0xffff instead of 0x0000"), so that one case
    # in the namespace's own frames is accepted, nothing else.
    bad=$(tshark -r "$1" -o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE \
        -Y 'tcp && (ip.checksum.status != 1 || tcp.checksum.status != 1) &&
            !(ip.src == 10.0.2.15 && ip.checksum.status == 1 && tcp.checksum == 0xffff &&
              tcp.checksum_calculated == 0x0000)' 2>/dev/null | wc -l)
    expect_eq "$bad" 0 "$2: every IP and TCP checksum verifies"
}

run_case plain
whole=$(gso u0 whole "$WORK/plain.stats")
if [ "$whole" -gt 0 ]; then
    pass "plain: the user port sent $whole super-segments whole"
else
    fail "plain: no super-segment left the user port: $(cat "$WORK/plain.stats")"
fi
expect_eq "$(gso hp0 whole "$WORK/plain.stats") $(gso hp0 soft "$WORK/plain.stats")" \
    "$(gso hp0 whole "$WORK/plain.stats") 0" "plain: the hub passes them to the TAP whole"
[ "$(gso hp0 whole "$WORK/plain.stats")" -gt 0 ] ||
    fail "plain: the hub port to the TAP sent no super-segment"

run_case dump -object filter-dump,id=fd0,netdev=t0,file="$WORK/dump.pcap"
soft=$(gso hp0 soft "$WORK/dump.stats")
if [ "$soft" -gt 0 ] && [ "$(gso u0 whole "$WORK/dump.stats")" -gt 0 ]; then
    pass "dump: super-segments reach the hub whole and are segmented for the dumped TAP ($soft)"
else
    fail "dump: expected software segmentation at hp0: $(cat "$WORK/dump.stats")"
fi
wire_sized "$WORK/dump.pcap" "dump: filter-dump on the TAP"

run_case traced --trace "$WORK/all.pcapng"
expect_eq "$(gso u0 whole "$WORK/traced.stats") $(gso hp0 soft "$WORK/traced.stats")" "0 0" \
    "traced: with every port observed no super-segment is made"
wire_sized "$WORK/all.pcapng" "traced: the pcapng of every port"

finish
