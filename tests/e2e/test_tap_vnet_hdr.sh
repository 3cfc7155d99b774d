# The TAP ARP checks of test_tap_arp.sh again, on a TAP with a vnet header
# (vnet_hdr=on): the zeroed header we write and the one the kernel gives us
# never show in frames (the namespace understands our replies, the trace and
# pcap out= hold plain Ethernet).
TAP_NETDEV="tap,id=t0,ifname=vktpa$$,script=no,downscript=no,vnet_hdr=on"
. "$(dirname "$0")/test_tap_arp.sh"
