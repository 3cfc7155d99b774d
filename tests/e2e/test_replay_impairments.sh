# vnetkit replay with impairments on the network side (docs/impairments.md):
# the QEMU DHCP+TFTP capture replayed through the user backend with
# filter-netem loss=30% on its netdev.  The verdict explains every
# divergence by the network's decisions in its flow: a lost DHCP DISCOVER
# makes the REQUEST's ACK come where the OFFER was expected; a lost TFTP
# ACK makes the user backend's TFTP server send its OACK again, at once and
# after its 2 s timeout; the same seed gives the same report, loss=0% passes.
. "$(dirname "$0")/lib.sh"
CAP=$SRC/pcaps/qemu-e1000-tftp.pcap
NET="-netdev user,id=net0,tftp=$SRC/pcaps/tftp -device e1000,netdev=net0"
replay_lossy() { # SEED OUT [more options]
    local seed=$1 out=$2
    shift 2
    VK replay "$CAP" $NET "$@" \
        -object "filter-netem,id=f1,netdev=net0,queue=rx,loss=30%,seed=$seed" >"$out" 2>&1
}
replay_lossy 13 "$WORK/a.txt" --report "$WORK/a.json"
expect_eq "$?" 1 "a lossy replay diverges (exit 1)"
replay_lossy 13 "$WORK/b.txt"
cmp -s "$WORK/a.txt" "$WORK/b.txt" && pass "same seed, same verdict" || fail "verdicts differ"
cp "$WORK/a.txt" "$WORK/err.txt" # for expect_stderr
expect_stderr "^replay: FAIL 4 divergences" "four divergences"
expect_stderr "frame 5 differs .*flow dhcp xid 0xc7266503" "the DHCP answer differs"
expect_stderr "expected DHCP OFFER yiaddr 10.0.2.15, got ACK" "an ACK came where the OFFER was"
expect_stderr "network: 1\.048[0-9]*s net0 dropped in: netem f1: loss \(random\) -- .*DHCP DISCOVER" \
    "explained: the DISCOVER was lost by netem f1"
expect_stderr "network: 2\.130[0-9]*s net0 dropped in: netem f1: loss \(random\) -- .*TFTP ACK block 0" \
    "explained: the guest's TFTP ACK 0 was lost"
# the user backend's TFTP server retransmits its OACK 2 s later
grep -A1 "unexpected answer #10 at 4\.11" "$WORK/a.txt" | grep -q "TFTP OACK tsize 15" &&
    pass "the user backend's TFTP retransmits the OACK after its timeout" ||
    fail "no retransmitted OACK: $(cat "$WORK/a.txt")"
expect_stderr "^replay: the network dropped [0-9]+ frames" "summary of the network's decisions"
python3 - "$WORK/a.json" <<'PY' && pass "the JSON report names the decisions per divergence" || fail "JSON report"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["network_drops"] >= 2, r["network_drops"]
divs = [e for e in r["results"] if e["kind"] != "match"]
assert all("network" in e for e in divs)
first = divs[0]["network"][0]
assert first["decision"] == "netem f1: loss (random)" and first["dropped"], first
assert first["port"] == "net0" and first["direction"] == "in", first
assert "DHCP DISCOVER" in first["summary"], first
PY
replay_lossy 14 "$WORK/c.txt"
cmp -s "$WORK/a.txt" "$WORK/c.txt" && fail "another seed gave the same verdict" ||
    pass "another seed, another verdict"
# no loss: the filter is there and changes nothing
VK replay "$CAP" $NET -object filter-netem,id=f1,netdev=net0,queue=rx,loss=0% >"$WORK/d.txt" 2>&1
expect_eq "$?" 0 "loss=0% replays byte for byte"
# filters are checked as in run: a bad key is exit 2
expect_status 2 "a bad filter key" -- VK replay "$CAP" $NET \
    -object filter-netem,id=f1,netdev=net0,loss=abc
expect_stderr "key 'loss': 'abc' is not a percentage" "message names the key"
finish
