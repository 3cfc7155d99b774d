# `vnetkit replay --world`: the recorded world (the default) answers the NAT
# flows of a real QEMU capture from the capture itself (UDP echo, DNS), the
# JSON report describes it; --world none refuses them (the answers go
# missing: exit 1); --world live and an unknown world are usage errors
# (exit 2) with a message.  A flow the recording does not know (a UDP
# datagram sent as IP fragments, which the builder skips) is answered port
# unreachable and reported under "world FAIL" (exit 1).
. "$(dirname "$0")/lib.sh"
cd "$SRC" || exit 1
CAP=pcaps/qemu-e1000-udp-dns.pcap
TOPO=pcaps/qemu-e1000-udp-dns.topo
RP() { VK replay "$@"; }

expect_status 0 "recorded world by default" -- RP "$CAP" --topology "$TOPO" \
    --report "$WORK/rec.json"
expect_status 0 "--world recorded" -- RP "$CAP" --topology "$TOPO" --world recorded
if command -v python3 >/dev/null 2>&1; then
    got=$(python3 -c 'import json,sys; w=json.load(open(sys.argv[1]))["world"]
print(w["kind"], w["netdevs"], w["udp_sockets"] >= 1, w["dns_queries"], w["unknown"])' \
        "$WORK/rec.json")
    expect_eq "$got" "recorded 1 True 2 0" "report's world object"
fi
expect_status 1 "--world none: the NAT answers never come" -- \
    RP "$CAP" --topology "$TOPO" --world none
grep -q 'flow udp 10.0.2.2:17777 <> 10.0.2.15:35314: never produced' "$WORK/out.txt" &&
    pass "missing echo replies listed" || fail "no missing echo reply: $(head -5 "$WORK/out.txt")"
expect_status 2 "--world live on the virtual clock" -- RP "$CAP" --topology "$TOPO" --world live
expect_stderr "--world live: .*virtual clock" "message explains the clock"
expect_status 2 "unknown --world" -- RP "$CAP" --topology "$TOPO" --world recordd
expect_stderr "--world: 'recordd' is not recorded, none or live" "message names the value"

if command -v python3 >/dev/null 2>&1; then
    python3 "$SRC/tests/e2e/gen_fragmented_udp.py" "$WORK/frag.pcap"
    expect_status 1 "a flow the recording does not know" -- RP "$WORK/frag.pcap" \
        --report "$WORK/frag.json"
    grep -q '^replay: world FAIL 1 flow the recording does not know$' "$WORK/out.txt" &&
        pass "world verdict line" || fail "world verdict: $(cat "$WORK/out.txt")"
    grep -q 'udp 10.0.2.15:40000 > 10.0.2.2:4444: datagram to a socket not in the recording: port unreachable' \
        "$WORK/out.txt" && pass "note names the flow and the outcome" ||
        fail "note: $(cat "$WORK/out.txt")"
    grep -q 'ICMP unreachable code 3' "$WORK/out.txt" && pass "the guest got a port unreachable" ||
        fail "no port unreachable: $(cat "$WORK/out.txt")"
    got=$(python3 -c 'import json,sys; w=json.load(open(sys.argv[1]))
print(json.load(open(sys.argv[1]))["verdict"], w["world"]["unknown"], len(w["world"]["notes"]))' \
        "$WORK/frag.json")
    expect_eq "$got" "fail 1 1" "report counts the unknown flow"
fi
finish
