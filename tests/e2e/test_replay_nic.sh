# Replay through a NIC (the default topology, QEMU's -netdev user + e1000):
# the IPv4 part of a real QEMU capture (DHCP, ARP, ping) replays with exit 0,
# deterministically, and the pcapng trace of that replay (interface = the
# NIC, outbound = the guest) replays too.
. "$(dirname "$0")/lib.sh"
need cmp
cd "$SRC" || exit 1
CAP=pcaps/qemu-e1000-dhcp-ping.pcap
NET="-netdev user,id=n0 -device e1000,netdev=n0,id=nic0"
expect_status 0 "default topology, IPv4 part of $CAP" -- VK replay "$CAP" --filter 'not ip6'
grep -q '^replay: PASS 6 frames matched$' "$WORK/out.txt" && pass "6 answers matched" ||
    fail "verdict: $(head -3 "$WORK/out.txt")"
# shellcheck disable=SC2086 # NET is a list of options
expect_status 0 "first traced run" -- VK replay "$CAP" --filter 'not ip6' $NET --nic-id nic0 \
    --trace "$WORK/t1.pcapng"
# shellcheck disable=SC2086
expect_status 0 "second traced run" -- VK replay "$CAP" --filter 'not ip6' $NET \
    --trace "$WORK/t2.pcapng"
cmp -s "$WORK/t1.pcapng" "$WORK/t2.pcapng" && pass "traces identical across runs" ||
    fail "traces differ between two runs"
# shellcheck disable=SC2086
expect_status 0 "the trace of a NIC replay replays" -- VK replay "$WORK/t1.pcapng" $NET \
    --filter 'not ip6'
expect_status 2 "unknown --nic-id" -- VK replay "$CAP" --nic-id nope
expect_stderr "no NIC 'nope'" "message names the NIC"
finish
