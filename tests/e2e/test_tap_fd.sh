# The TAP ARP checks of test_tap_arp.sh again, on a TAP a parent process
# opened (with IFF_VNET_HDR, as libvirt does) and handed over with fd=: the
# descriptor's flags decide the header, frames stay plain Ethernet.
# VNETKIT_WRAP puts the helper that opens the TAP in front of vnetkit.
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
VNETKIT_WRAP="$PY $(dirname "$0")/tap_fd.py vktpa$$ vnet_hdr ${VNETKIT_WRAP:-}"
TAP_NETDEV="tap,id=t0,fd=@FD@"
. "$(dirname "$0")/test_tap_arp.sh"
