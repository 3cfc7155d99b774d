# A long session replays although the network's periodic router
# advertisements fall at other times than in the recording (issue 10, goal
# 5): a recorded session of 15 minutes whose recording lacks one of the
# user backend's timer RAs still passes, with the RA matched by content and
# said so; a recording without any RA fails on the RAs the network sends.
. "$(dirname "$0")/lib.sh"
need tcpdump editcap
le32() { printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 & 255)) $((($1 >> 8) & 255)) \
    $((($1 >> 16) & 255)) $((($1 >> 24) & 255)); }
# the guest asks for the gateway's MAC every 100 s for 15 minutes (the user
# backend's RA timer only runs while the guest sends something)
ARP='\xff\xff\xff\xff\xff\xff\x52\x54\x00\x12\x34\x56\x08\x06\x00\x01\x08\x00\x06\x04\x00\x01'
ARP=$ARP'\x52\x54\x00\x12\x34\x56\x0a\x00\x02\x0f\x00\x00\x00\x00\x00\x00\x0a\x00\x02\x02'
{
    printf "\xd4\xc3\xb2\xa1\x02\x00\x04\x00$(le32 0)$(le32 0)$(le32 65535)$(le32 1)"
    for i in $(seq 0 9); do
        printf "$(le32 $((1700000000 + 100 * i)))$(le32 0)$(le32 60)$(le32 60)$ARP"
        head -c 18 /dev/zero
    done
} > "$WORK/guest.pcap"
# what the network answers becomes the recording
VK replay "$WORK/guest.pcap" --update-expected "$WORK/gold.pcap" > /dev/null 2>&1
RAS=$(tcpdump -nr "$WORK/gold.pcap" -# 2>/dev/null | grep 'router advertisement' | awk '{print $1}')
NRA=$(echo "$RAS" | grep -c .)
[ "$NRA" -ge 2 ] && pass "the recording holds $NRA timer RAs" ||
    fail "wanted at least 2 RAs in 15 minutes, got $NRA"
expect_status 0 "the recording replays" -- VK replay "$WORK/gold.pcap"
# one timer RA fewer in the recording: the network's surplus RA is matched
editcap "$WORK/gold.pcap" "$WORK/oneless.pcap" "$(echo "$RAS" | head -1)" 2>/dev/null
expect_status 0 "a recording with one timer RA fewer still passes" -- \
    VK replay "$WORK/oneless.pcap" --report "$WORK/oneless.json"
if grep -q "1 of them periodic router advertisements, by content" "$WORK/out.txt"; then
    pass "the verdict says an RA was matched by content"; else
    fail "verdict: $(cat "$WORK/out.txt")"; fi
grep -q '"rule": "periodic-ra"' "$WORK/oneless.json" && pass "the JSON report names the rule" ||
    fail "no periodic-ra rule in the JSON report"
# a recording without any RA: the network's RAs are not explained by any
# recorded RA, so they stay divergences
editcap "$WORK/gold.pcap" "$WORK/nora.pcap" $RAS 2>/dev/null
expect_status 1 "RAs the recording never had still fail" -- VK replay "$WORK/nora.pcap"
grep -q "unexpected answer .*flow icmp6 router" "$WORK/out.txt" &&
    pass "the surplus RAs are reported unexpected" || fail "report: $(head -5 "$WORK/out.txt")"
finish
