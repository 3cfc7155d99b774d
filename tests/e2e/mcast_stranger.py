#!/usr/bin/env python3
"""A stranger floods a multicast group on the loopback: it never joins, it
only sends, as fast as it can.
usage: mcast_stranger.py GROUP PORT FRAMES RUNTS EMPTIES
Sends FRAMES datagrams of 14..1514 random bytes (each a frame to vnetkit),
RUNTS of 1..13 bytes and EMPTIES of none, interleaved; prints how many of
each it sent."""
import random
import socket
import sys

group, port = sys.argv[1], int(sys.argv[2])
frames, runts, empties = (int(a) for a in sys.argv[3:6])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
rnd = random.Random(9)
kinds = ["f"] * frames + ["r"] * runts + ["e"] * empties
rnd.shuffle(kinds)
sizes = {"f": (14, 1514), "r": (1, 13), "e": (0, 0)}
for k in kinds:
    lo, hi = sizes[k]
    s.sendto(rnd.randbytes(rnd.randint(lo, hi)), (group, port))
print(frames, runts, empties)
