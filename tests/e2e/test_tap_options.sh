# -netdev tap refuses what it does not do with exit 2 and a message naming
# the key: scripts, fd=/helper=, vnet_hdr=on, vhost=on, queues>1, an ifname
# longer than the kernel allows.  As root: the virtual clock is refused, a
# TAP held by another process is busy, no CAP_NET_ADMIN is a clear message,
# and deleting the interface mid-run ends the run with exit 2.  (TAPs made
# here stay down in the root namespace and vanish with the process.)
. "$(dirname "$0")/lib.sh"

expect_status 2 "script= other than no" -- VK run -netdev tap,id=t,ifname=x,script=/etc/qemu-ifup
expect_stderr "key 'script': '/etc/qemu-ifup': not supported" "script message names the key"
expect_status 2 "downscript= other than no" -- VK run -netdev tap,id=t,downscript=/bin/true
expect_stderr "key 'downscript'.*not supported" "downscript message names the key"
expect_status 2 "fd= is refused" -- VK run -netdev tap,id=t,fd=3
expect_stderr "key 'fd': not supported" "fd message names the key"
expect_status 2 "helper= is refused" -- VK run -netdev tap,id=t,helper=/usr/lib/qemu/qemu-bridge-helper
expect_stderr "key 'helper': not supported" "helper message names the key"
expect_status 2 "vnet_hdr=on is refused" -- VK run -netdev tap,id=t,vnet_hdr=on
expect_stderr "key 'vnet_hdr': 'on': not supported" "vnet_hdr message names the key"
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

"$VNETKIT" run -netdev tap,id=t,ifname="$IF" --duration 10 2>"$WORK/holder.err" &
holder=$!
for i in $(seq 50); do ip link show "$IF" >/dev/null 2>&1 && break; sleep 0.1; done
expect_status 2 "a TAP held by another process" -- VK run -netdev tap,id=t,ifname="$IF"
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
        --inh-caps=-net_admin "$VNETKIT" run -netdev tap,id=t,ifname="$IF"
    expect_stderr "key 'ifname': .*needs CAP_NET_ADMIN" "privilege message names the key"
fi
finish
