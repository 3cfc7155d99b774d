# `vnetkit replay --world`: the recorded world (the default) answers the NAT
# flows of a real QEMU capture from the capture itself (UDP echo, DNS), the
# JSON report describes it; --world none refuses them (the answers go
# missing: exit 1); --world live and an unknown world are usage errors
# (exit 2) with a message.
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
finish
