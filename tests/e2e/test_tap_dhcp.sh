# Real DHCP clients on a TAP get their lease from -netdev user: busybox
# udhcpc and ISC dhclient, in a private network namespace, talk through
# `-netdev tap` and a hub to the user backend, which answers as libslirp
# (10.0.2.15, router 10.0.2.2); the same MAC gets the same address twice;
# the run's pcapng holds DISCOVER, OFFER, REQUEST and ACK; SIGINT ends the
# run with status 0 and a valid trace.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tap_lib.sh"
need udhcpc dhclient tshark timeout

if ! VK run -netdev user,id=u --duration 0.1 >/dev/null 2>"$WORK/user.err"; then
    echo "FAIL: -netdev user does not run: $(cat "$WORK/user.err")"
    exit 1
fi
tap_need_privileges

IF=vktap$$
tap_start "$IF" -netdev tap,id=t0,ifname="$IF",script=no,downscript=no -netdev user,id=u0 \
    -netdev hubport,id=hp0,hubid=0,netdev=t0 -netdev hubport,id=hp1,hubid=0,netdev=u0 \
    --duration 20 --trace "$WORK/tap.pcapng"
tap_into_ns "$IF"

cat > "$WORK/udhcpc.sh" <<'EOF'
#!/bin/sh
[ "$1" = bound ] && echo "lease ip=$ip router=$router dns=$dns subnet=$subnet"
exit 0
EOF
chmod +x "$WORK/udhcpc.sh"
ns timeout 30 udhcpc -i "$IF" -n -q -t 5 -T 1 -s "$WORK/udhcpc.sh" \
    >"$WORK/udhcpc.out" 2>"$WORK/udhcpc.err"
expect_eq "$?" 0 "udhcpc obtains a lease"
lease=$(grep '^lease ' "$WORK/udhcpc.out")
expect_eq "$lease" "lease ip=10.0.2.15 router=10.0.2.2 dns=10.0.2.3 subnet=255.255.255.0" \
    "udhcpc lease is libslirp's first address, router and DNS"

# dhclient forks once bound: its pid file lets the cleanup stop it.
printf 'timeout 15;\nretry 1;\n' > "$WORK/dhclient.conf"
TAP_PIDFILES+=("$WORK/dhclient.pid")
ns timeout 30 dhclient -1 -v -cf "$WORK/dhclient.conf" -sf /bin/true \
    -lf "$WORK/dhclient.leases" -pf "$WORK/dhclient.pid" "$IF" \
    >"$WORK/dhclient.out" 2>&1
expect_eq "$?" 0 "dhclient obtains a lease"
if grep -q 'fixed-address 10.0.2.15;' "$WORK/dhclient.leases" &&
    grep -q 'option routers 10.0.2.2;' "$WORK/dhclient.leases"; then
    pass "dhclient lease: the same MAC keeps 10.0.2.15, router 10.0.2.2"
else
    fail "dhclient lease: $(cat "$WORK/dhclient.leases" "$WORK/dhclient.out" 2>/dev/null | head -40)"
fi
[ -s "$WORK/dhclient.pid" ] && kill "$(cat "$WORK/dhclient.pid")" 2>/dev/null

tap_stop
if tshark -r "$WORK/tap.pcapng" >/dev/null 2>"$WORK/tshark.err"; then
    pass "trace decodes with tshark"
else
    fail "trace does not decode: $(head -c 600 "$WORK/tshark.err")"
fi
# DHCP message types: 1 DISCOVER, 2 OFFER, 3 REQUEST, 5 ACK
types=$(tshark -r "$WORK/tap.pcapng" -Y dhcp -T fields -e dhcp.option.dhcp 2>/dev/null |
    sort -un | tr '\n' ' ')
expect_eq "$types" "1 2 3 5 " "trace holds DHCP DISCOVER, OFFER, REQUEST and ACK"
finish
