#!/usr/bin/env python3
"""Hostile and wild variants of an Ethernet capture, for test_replay_hostile.sh.
usage: gen_hostile.py KIND IN.pcap OUT.pcap
KIND:
  runt      a 4-byte record inserted after the first frame
  oversize  a 1800-byte guest frame (EtherType 0x88b5, nothing answers it)
            inserted after the first frame
  guests    the guest's DHCP frames also sent by 52:54:00:12:34:57 and ...:58
  sll       LINKTYPE_LINUX_SLL: guest frames PACKET_OUTGOING, others PACKET_HOST
  sll2      LINKTYPE_LINUX_SLL2, the same
  raw       LINKTYPE_RAW: the IPv4 and IPv6 packets only
  partial   the guest's UDP checksums replaced by the partial sum a stack
            leaves for checksum offload (the pseudo-header sum, not complemented)
The guest is the source MAC of the first frame."""
import struct
import sys

kind, src, dst = sys.argv[1], sys.argv[2], sys.argv[3]
data = open(src, "rb").read()
magic = struct.unpack("<I", data[:4])[0]
assert magic in (0xA1B2C3D4, 0xA1B23C4D), "classic little-endian pcap only"
recs = []
off = 24
while off + 16 <= len(data):
    sec, frac, caplen, origlen = struct.unpack("<IIII", data[off:off + 16])
    recs.append([sec, frac, data[off + 16:off + 16 + caplen]])
    off += 16 + caplen
guest = recs[0][2][6:12]


def csum_add(s, b):
    if len(b) % 2:
        b += b"\0"
    for i in range(0, len(b), 2):
        s += (b[i] << 8) | b[i + 1]
    return s


def fold(s):
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def partial(f):
    """The guest's IPv4 UDP frame with its checksum field holding the folded
    pseudo-header sum (addresses, protocol, length), as Linux leaves it."""
    if f[6:12] != guest or f[12:14] != b"\x08\x00" or f[23] != 17:
        return f
    ihl = (f[14] & 15) * 4
    udp = 14 + ihl
    ulen = struct.unpack(">H", f[udp + 4:udp + 6])[0]
    s = fold(csum_add(csum_add(0, f[26:34]), struct.pack(">HH", 17, ulen)))
    return f[:udp + 6] + struct.pack(">H", s) + f[udp + 8:]


linktype = 1
out = []
if kind == "runt":
    out = recs[:1] + [[recs[0][0], recs[0][1], b"\x01\x02\x03\x04"]] + recs[1:]
elif kind == "oversize":
    big = b"\x52\x55\x0a\x00\x02\x02" + guest + b"\x88\xb5" + bytes(i & 255 for i in range(1786))
    out = recs[:1] + [[recs[0][0], recs[0][1], big]] + recs[1:]
elif kind == "guests":
    for r in recs:
        out.append(r)
        f = r[2]
        if f[6:12] == guest and f[12:14] == b"\x08\x00" and f[23] == 17:
            for last in (0x57, 0x58):
                out.append([r[0], r[1], f[:11] + bytes([last]) + f[12:]])
elif kind in ("sll", "sll2"):
    linktype = 113 if kind == "sll" else 276
    for r in recs:
        f = r[2]
        pkttype = 4 if f[6:12] == guest else 0
        if kind == "sll":
            hdr = struct.pack(">HHH8sH", pkttype, 1, 6, f[6:12] + b"\0\0", struct.unpack(">H", f[12:14])[0])
        else:
            hdr = struct.pack(">HHIHBB8s", struct.unpack(">H", f[12:14])[0], 0, 2, 1, pkttype, 6,
                              f[6:12] + b"\0\0")
        out.append([r[0], r[1], hdr + f[14:]])
elif kind == "raw":
    linktype = 101
    for r in recs:
        f = r[2]
        if f[12:14] == b"\x08\x00":
            tot = struct.unpack(">H", f[16:18])[0]
            out.append([r[0], r[1], f[14:14 + tot]])
        elif f[12:14] == b"\x86\xdd":
            out.append([r[0], r[1], f[14:14 + 40 + struct.unpack(">H", f[18:20])[0]]])
elif kind == "partial":
    out = [[r[0], r[1], partial(r[2])] for r in recs]
else:
    sys.exit("unknown kind " + kind)

with open(dst, "wb") as o:
    o.write(struct.pack("<IHHiIII", magic, 2, 4, 0, 0, 262144, linktype))
    for sec, frac, f in out:
        o.write(struct.pack("<IIII", sec, frac, len(f), len(f)) + f)
