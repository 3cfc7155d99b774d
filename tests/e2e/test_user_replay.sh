# `vnetkit replay` of the real QEMU captures against -netdev user: every
# answer libslirp gave must be produced, IP ids included (--no-normalize
# ip-id), and nothing else.  NAT traffic is left out with --filter (the NAT
# is compared against recorded worlds in test_replay_world.sh).
# The stack is reached through a hub port (--port) so that what is compared
# is the backend itself, not a NIC model's receive filter.
. "$(dirname "$0")/lib.sh"
need tcpdump

# The lab's TFTP roots as recorded (pcaps/README.md): hello.txt and big.bin
# with byte[i] = (i*7 + (i>>8)) & 255, 20000 and 10240 bytes long.
TFTP20000=$SRC/pcaps/tftp
TFTP10240=$SRC/pcaps/tftp-exact

replay_case() { # $1 capture, $2 tftp dir, $3 extra user options, $4 BPF filter (may be empty)
    local args=(replay "$SRC/pcaps/$1"
        -netdev "user,id=u,tftp=$2$3" -netdev hubport,id=hu,hubid=0,netdev=u
        -netdev hubport,id=g,hubid=0 --port g --no-normalize ip-id)
    [ -n "$4" ] && args+=(--filter "$4")
    expect_status 0 "replay $1${4:+ (filter: $4)}" -- VK "${args[@]}"
}

for c in e1000-dhcp-ping virtio-dhcp-ping rtl8139-dhcp-ping ne2k-dhcp-ping e1000-arp \
    e1000-ping6 e1000-tftp e1000-tftp-enoent; do
    replay_case "qemu-$c.pcap" "$TFTP20000" "" ""
done
replay_case qemu-e1000-tftp-blksize.pcap "$TFTP20000" "" ""
replay_case qemu-e1000-tftp-blksize-exact.pcap "$TFTP10240" "" ""
replay_case qemu-e1000-restrict.pcap "$TFTP20000" ",restrict=on" ""
CUSTOM=",net=192.168.76.0/24,host=192.168.76.1,dns=192.168.76.9,dhcpstart=192.168.76.50"
CUSTOM="$CUSTOM,hostname=guesty,domainname=example.test,dnssearch=example.test"
CUSTOM="$CUSTOM,dnssearch=lab.example.test,bootfile=pxelinux.0"
replay_case qemu-e1000-dhcp-custom.pcap "$TFTP20000" "$CUSTOM" ""
replay_case qemu-e1000-udp-dns.pcap "$TFTP20000" "" "not (udp port 17777 or udp port 53)"
replay_case qemu-e1000-http.pcap "$TFTP20000" "" "not tcp"
# Its TFTP answers follow TCP NAT packets, so their IP ids (and header
# checksums) depend on the NAT traffic filtered out here: compared with the
# replay's default normalisation.
expect_status 0 "replay qemu-virtio-http-tftp.pcap (filter: not tcp, ids normalised)" -- \
    VK replay "$SRC/pcaps/qemu-virtio-http-tftp.pcap" -netdev "user,id=u,tftp=$TFTP20000" \
    -netdev hubport,id=hu,hubid=0,netdev=u -netdev hubport,id=g,hubid=0 --port g \
    --filter "not tcp"
finish
