# -netdev tap refuses what it does not do with exit 2 and a message naming
# the key: helper=, vhost=on, queues>1, an ifname longer than the kernel
# allows, keys that are invalid with fd=.  As root: a network script that
# fails or does not exist stops the start as in QEMU, the virtual clock is
# refused, a TAP held by another process is busy, a descriptor that is no
# TAP is refused, no CAP_NET_ADMIN is a clear message, and deleting the
# interface mid-run ends the run with exit 2.  (TAPs made here stay down in
# the root namespace and vanish with the process.)
. "$(dirname "$0")/lib.sh"

expect_status 2 "fd= with ifname=" -- VK run -netdev tap,id=t,fd=3,ifname=x
expect_stderr "key 'ifname': invalid with fd=" "fd= and ifname= message names the key"
expect_status 2 "fd= with script=" -- VK run -netdev tap,id=t,fd=3,script=no
expect_stderr "key 'script': invalid with fd=" "fd= and script= message names the key"
expect_status 2 "fd= that is not open" -- VK run -netdev tap,id=t,fd=77
expect_stderr "key 'fd': descriptor 77 is not open" "fd message names the key"
expect_status 2 "fd= that is not a TAP" -- VK run -netdev tap,id=t,fd=0
expect_stderr "key 'fd': descriptor 0 is not an attached TAP" "a non-TAP descriptor is named"
expect_status 2 "helper= is refused" -- VK run -netdev tap,id=t,helper=/usr/lib/qemu/qemu-bridge-helper
expect_stderr "key 'helper': not supported" "helper message names the key"
expect_status 2 "vnet_hdr=maybe" -- VK run -netdev tap,id=t,vnet_hdr=maybe
expect_stderr "key 'vnet_hdr': 'maybe' is not on or off" "vnet_hdr message names the key"
expect_status 2 "vhost=on is refused" -- VK run -netdev tap,id=t,vhost=on
expect_stderr "key 'vhost'" "vhost message names the key"
expect_status 2 "queues=4 is refused" -- VK run -netdev tap,id=t,queues=4
expect_stderr "key 'queues'.*only 1 queue" "queues message names the key"
expect_status 2 "ifname too long" -- VK run -netdev tap,id=t,ifname=abcdefghijklmnop
expect_stderr "key 'ifname'.*longer than 15" "ifname length message names the key"
expect_status 2 "unknown key" -- VK run -netdev tap,id=t,bogus=1
expect_stderr "key 'bogus'" "unknown key named"

if [ "$(id -u)" != 0 ] || [ ! -c /dev/net/tun ] || ! command -v ip >/dev/null 2>&1; then
    echo "note: not root or no /dev/net/tun: privileged checks skipped"
    finish
fi
IF=vktpo$$
expect_status 2 "the virtual clock is refused" -- \
    VK run -netdev tap,id=t,ifname="$IF",script=no,downscript=no,vnet_hdr=off --clock virtual
expect_stderr "tap,id=t: a TAP interface needs the live clock" "virtual clock message"

# scripts run as QEMU runs them: with the interface name, and a failure or a
# missing script is an error naming it
printf '#!/bin/sh\necho "$1" > "%s"\nexit 3\n' "$WORK/ifup.arg" > "$WORK/ifup"
chmod +x "$WORK/ifup"
expect_status 2 "a failing ifup script" -- \
    VK run -netdev tap,id=t,ifname="$IF",script="$WORK/ifup",downscript=no --duration 0.1
expect_stderr "key 'script': network script $WORK/ifup failed with status 768" \
    "the failing script is named with its status"
expect_eq "$(cat "$WORK/ifup.arg" 2>/dev/null)" "$IF" "the script got the interface name"
expect_status 2 "a missing script" -- \
    VK run -netdev tap,id=t,ifname="$IF",script="$WORK/none" --duration 0.1
expect_stderr "key 'script': cannot run network script $WORK/none: No such file" \
    "a missing script is named"
printf '#!/bin/sh\necho "up $1" >> "%s"\n' "$WORK/log" > "$WORK/up"
printf '#!/bin/sh\necho "down $1" >> "%s"\n' "$WORK/log" > "$WORK/down"
chmod +x "$WORK/up" "$WORK/down"
expect_status 0 "ifup and ifdown scripts" -- \
    VK run -netdev tap,id=t,ifname="$IF",script="$WORK/up",downscript="$WORK/down" --duration 0.1
expect_eq "$(cat "$WORK/log" 2>/dev/null | tr '\n' ' ')" "up $IF down $IF " \
    "ifup ran at start and ifdown at the end, each with the interface name"

"$VNETKIT" run -netdev tap,id=t,ifname="$IF",script=no,downscript=no --duration 10 \
    2>"$WORK/holder.err" &
holder=$!
for i in $(seq 50); do ip link show "$IF" >/dev/null 2>&1 && break; sleep 0.1; done
expect_status 2 "a TAP held by another process" -- VK run -netdev tap,id=t,ifname="$IF",script=no
expect_stderr "key 'ifname': cannot create TAP '$IF': .*another process holds this TAP" \
    "busy message names the key"
ip link delete "$IF"
wait "$holder"
expect_eq "$?" 2 "deleting the interface mid-run ends the run with exit 2"
if grep -q "ifname=$IF: read: .*interface was deleted" "$WORK/holder.err"; then
    pass "mid-run message names the interface"
else fail "mid-run message: $(cat "$WORK/holder.err")"; fi

if command -v setpriv >/dev/null 2>&1; then
    expect_status 2 "without CAP_NET_ADMIN" -- setpriv --bounding-set=-net_admin \
        --inh-caps=-net_admin "$VNETKIT" run -netdev tap,id=t,ifname="$IF",script=no
    expect_stderr "key 'ifname': .*needs CAP_NET_ADMIN" "privilege message names the key"
fi
finish
