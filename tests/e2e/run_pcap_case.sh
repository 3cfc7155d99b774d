# One case of the pcaps regression suite (tests/CMakeLists.txt, section
# "pcaps"): replays pcaps/NAME.pcapng (or NAME.pcap) through pcaps/NAME.topo
# and passes on exit 0.  A first-lines comment "# replay-args: ARGS" in the
# topology file gives extra replay options (e.g. --port g).  Run from the
# source directory, since topology files name inputs relative to it.
# A line "# pending: WHAT" marks a capture whose replay needs a part of
# vnetkit that has not landed yet (e.g. "# pending: NAT"): the case is then
# skipped (exit 77) with that reason, and runs as soon as the line is removed.
#   bash run_pcap_case.sh VNETKIT SRC NAME
set -u
VNETKIT=$1
SRC=$2
NAME=$3
cd "$SRC" || exit 1
TOPO=pcaps/$NAME.topo
CAP=pcaps/$NAME.pcapng
[ -f "$CAP" ] || CAP=pcaps/$NAME.pcap
if [ ! -f "$CAP" ]; then echo "FAIL: no capture pcaps/$NAME.pcapng or .pcap beside $TOPO"; exit 1; fi
PENDING=$(sed -n 's/^# *pending: *//p' "$TOPO" | head -n 1)
if [ -n "$PENDING" ]; then
    echo "SKIP: $TOPO is marked '# pending: $PENDING' (its replay needs that part of vnetkit)"
    exit 77
fi
ARGS=$(sed -n 's/^# *replay-args: *//p' "$TOPO" | head -n 1)
echo "+ vnetkit replay $CAP --topology $TOPO $ARGS"
# ARGS may quote a filter with spaces; the topology files are ours.
eval "set -- $ARGS"
OUT=$(${VNETKIT_WRAP:-} "$VNETKIT" replay "$CAP" --topology "$TOPO" "$@")
STATUS=$?
echo "$OUT"
[ "$STATUS" -eq 0 ] || exit "$STATUS"
# A pass over nothing proves nothing: at least one answer must have matched.
if ! echo "$OUT" | grep -qE '^replay: PASS [1-9][0-9]* frames? matched'; then
    echo "FAIL: the replay matched no frame (filter or split too narrow?)"
    exit 1
fi
