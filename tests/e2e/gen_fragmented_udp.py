#!/usr/bin/env python3
"""Writes a classic pcap (microsecond) in which the guest 52:54:00:12:34:56 /
10.0.2.15 resolves the gateway, then sends one UDP datagram to 10.0.2.2:4444
as two IPv4 fragments, and nothing answers: the recorded world's builder skips fragments, so the replay
meets a flow the recording does not know (tests/e2e/test_replay_world.sh)."""
import struct
import sys


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ip4(src, dst, ident, frag_field, payload):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, frag_field,
                      64, 17, 0, bytes(src), bytes(dst))
    return hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:] + payload


guest = bytes([0x52, 0x54, 0x00, 0x12, 0x34, 0x56])
gw = bytes([0x52, 0x55, 0x0A, 0x00, 0x02, 0x02])
src, dst = [10, 0, 2, 15], [10, 0, 2, 2]
data = bytes(range(48))
udp = struct.pack("!HHHH", 40000, 4444, 8 + len(data), 0) + data  # no checksum
first, rest = udp[:32], udp[32:]
frames = [ip4(src, dst, 0x1234, 0x2000, first),      # MF, offset 0
          ip4(src, dst, 0x1234, 32 // 8, rest)]       # offset 32
# the guest first resolves the gateway (so the stack knows the guest's MAC),
# and slirp's ARP reply is the one recorded answer
arp_req = (b"\xff" * 6 + guest + b"\x08\x06" +
           struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + guest + bytes(src) + b"\0" * 6 +
           bytes(dst) + b"\0" * 18)
arp_rep = (guest + gw + b"\x08\x06" +
           struct.pack("!HHBBH", 1, 0x0800, 6, 4, 2) + gw + bytes(dst) + guest + bytes(src) +
           b"\0" * 18)
eths = [arp_req, arp_rep] + [gw + guest + b"\x08\x00" + p for p in frames]
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    for i, eth in enumerate(eths):
        f.write(struct.pack("<IIII", 1000, i * 100, len(eth), len(eth)) + eth)
