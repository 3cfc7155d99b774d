# The regression captures replay through every NIC model: whichever card the
# guest sits behind, the network's answers (libslirp's, recorded by real
# QEMU) reach the guest as recorded.  The wire check (--check-wire) runs where
# the model is the one the capture was recorded with (pcaps/*.topo): across
# models it legitimately differs, e.g. in how short transmit frames are padded.
. "$(dirname "$0")/lib.sh"
cd "$SRC" || exit 1
MODELS="e1000 virtio-net-pci rtl8139 ne2k_pci"
CAPTURES="qemu-e1000-dhcp-ping qemu-e1000-arp qemu-e1000-tftp qemu-e1000-tftp-blksize
          qemu-e1000-ping6 qemu-e1000-restrict qemu-e1000-dhcp-custom qemu-virtio-dhcp-ping
          qemu-rtl8139-dhcp-ping qemu-ne2k-dhcp-ping"
for c in $CAPTURES; do
    netdev=$(sed -n 's/^-netdev //p' "pcaps/$c.topo")
    recorded=$(sed -n 's/^-device \([^,]*\),.*/\1/p' "pcaps/$c.topo")
    for m in $MODELS; do
        wire=()
        [ "$m" = "$recorded" ] && wire=(--check-wire)
        expect_status 0 "$c through $m ${wire[*]}" -- VK replay "pcaps/$c.pcap" \
            -netdev "$netdev" -device "$m,netdev=net0" "${wire[@]}"
        grep -qE '^replay: PASS [1-9][0-9]* frames? matched' "$WORK/out.txt" ||
            fail "$c through $m: no answer matched: $(head -2 "$WORK/out.txt")"
    done
done
finish
