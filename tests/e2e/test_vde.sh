# -netdev vde: two vnetkit processes on one vde_switch (VDE's own switch, as
# a network spanning machines would use) exchange a capture's frames
# unchanged; a switch that is not there is an error naming it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sock_lib.sh"
need vde_switch
if VK run -netdev vde,id=v,sock=/nonexistent 2>&1 | grep -q "built without libvdeplug"; then
    echo "SKIP: vnetkit was built without libvdeplug (libvdeplug-dev)"
    exit 77
fi
sock_setup
SW="$WORK/switch"
vde_switch -s "$SW" -p "$WORK/switch.pid" -d </dev/null >"$WORK/switch.log" 2>&1 ||
    { fail "vde_switch did not start: $(cat "$WORK/switch.log")"; finish; }
trap 'kill "$(cat "$WORK/switch.pid" 2>/dev/null)" 2>/dev/null; sock_cleanup' EXIT
wait_for test -S "$SW/ctl"
IN="$WORK/in.pcap"
# vde_switch carries at most 1518 bytes a frame (it cuts longer ones)
python3 "$GEN" "$IN" 500 0.5 500 0
WANT="$WORK/want.txt"
frames_text "$IN" > "$WANT"
pair vde "vde,id=s,sock=$SW" "vde,id=s,sock=$SW,port=5,mode=0770"
expect_status 2 "no switch" -- VK run -netdev vde,id=v,sock="$WORK/none"
expect_stderr "key 'sock': cannot connect to the VDE switch $WORK/none" "the message names the switch"
expect_status 2 "bad mode" -- VK run -netdev vde,id=v,sock="$SW",mode=9
expect_stderr "key 'mode': '9' is not an octal mode" "the message names mode"
finish
