#!/usr/bin/env python3
"""Writes a classic pcap (microsecond) of synthetic Ethernet frames for the
socket tests: frame 1 at t=0 (sent before any peer can be connected, so it
may be dropped as "link down"), then COUNT frames from t=DELAY on, GAP
apart, of sizes cycling through 60..1514 plus a JUMBO-byte one (default
9000; 0: none) every 97th.
Each payload carries its sequence number, so a reader sees order and loss.
usage: gen_frames.py OUT COUNT [DELAY_S] [GAP_US] [JUMBO]"""
import struct
import sys

out, count = sys.argv[1], int(sys.argv[2])
delay = float(sys.argv[3]) if len(sys.argv) > 3 else 0.5
gap_us = int(sys.argv[4]) if len(sys.argv) > 4 else 100
jumbo = int(sys.argv[5]) if len(sys.argv) > 5 else 9000
sizes = [60, 64, 128, 256, 512, 1000, 1514]


def frame(seq, size):
    eth = bytes.fromhex("020000000002" "020000000001") + struct.pack(">H", 0x88B5)
    body = struct.pack(">I", seq)
    body += bytes((seq + i) & 0xFF for i in range(size - len(eth) - len(body)))
    return eth + body


with open(out, "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    recs = [(0, frame(0, 60))]
    base = int(delay * 1e6)
    for i in range(1, count + 1):
        size = jumbo if jumbo and i % 97 == 0 else sizes[i % len(sizes)]
        recs.append((base + (i - 1) * gap_us, frame(i, size)))
    for t, data in recs:
        f.write(struct.pack("<IIII", 1000000000 + t // 1000000, t % 1000000, len(data), len(data)))
        f.write(data)
