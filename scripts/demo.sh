#!/usr/bin/env bash
# The demo job on a real QEMU capture (pcaps/qemu-e1000-dhcp-ping.pcap):
# played into a three-port hub with every port traced and read back with
# tcpdump and tshark, then replayed through QEMU's default network (user
# backend + e1000) and checked against what libslirp answered.
# Usage: scripts/demo.sh [PATH-TO-vnetkit]
set -euo pipefail
cd "$(dirname "$0")/.."
VK=${1:-build/vnetkit}
OUT=${DEMO_OUT:-demo-out}
rm -rf "$OUT" && mkdir -p "$OUT"
IN=pcaps/qemu-e1000-dhcp-ping.pcap
echo "== vnetkit run: $IN into hub 0, out of two pcap sinks"
"$VK" run -netdev pcap,id=guest,in=$IN \
    -netdev pcap,id=sink1,out=$OUT/sink1.pcap -netdev pcap,id=sink2,out=$OUT/sink2.pcap \
    -netdev hubport,id=hp0,hubid=0,netdev=guest \
    -netdev hubport,id=hp1,hubid=0,netdev=sink1 \
    -netdev hubport,id=hp2,hubid=0,netdev=sink2 \
    --trace-dir $OUT/ports --trace $OUT/all.pcapng --stats
echo "== per-port traces (tcpdump)"
for f in $OUT/ports/*.pcap; do
    printf '%-28s %s frames\n' "$f" "$(tcpdump -nr "$f" 2>/dev/null | wc -l)"
done
echo "== one pcapng, frames per interface and direction (tshark)"
tshark -r $OUT/all.pcapng -T fields -e frame.interface_name -e frame.packet_flags_direction \
    2>/dev/null | sort | uniq -c
echo "== the first frames as sink1 received them"
tcpdump -nr $OUT/sink1.pcap 2>/dev/null | head -5
echo "== vnetkit replay $IN through QEMU's default network (-netdev user + e1000)"
"$VK" replay $IN --trace $OUT/replay.pcapng --report $OUT/replay.json
echo "== the engine's view of the replay, per interface and direction (tshark)"
tshark -r $OUT/replay.pcapng -T fields -e frame.interface_name -e frame.packet_flags_direction \
    2>/dev/null | sort | uniq -c
