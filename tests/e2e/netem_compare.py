#!/usr/bin/env python3
"""Frames for comparing vnetkit's filter-netem with the kernel's sch_netem:
numbered frames of ethertype 0x88B5 whose payload is a known pattern, so a
reader counts lost, duplicated and corrupted ones.
usage: netem_compare.py MODE ARGS
  gen OUT.pcap N               write N numbered frames (1 ms apart)
  send IFACE N                 send the same N frames out of IFACE (AF_PACKET)
  recv IFACE SECONDS OUT.pcap  write what IFACE receives of them to OUT.pcap,
                               until SECONDS pass without one after the first
                               (60 s at most)
  measure IN.pcap N            print 'received R seqs S dups D corrupt C'
                               (corrupt: frames whose bytes are not the
                               pattern; seqs: distinct intact sequence numbers)"""
import socket
import struct
import sys
import time

ETH = bytes.fromhex("020000000002" "020000000001") + struct.pack(">H", 0x88B5)
SIZE = 200


def frame(seq):
    body = struct.pack(">I", seq)
    body += bytes((seq * 7 + i) & 0xFF for i in range(SIZE - len(ETH) - 4))
    return ETH + body


def write_pcap(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frames):
            f.write(struct.pack("<IIII", i // 1000, (i % 1000) * 1000, len(fr), len(fr)) + fr)


def read_pcap(path):
    data = open(path, "rb").read()
    magic = struct.unpack("<I", data[:4])[0]
    end = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    off, out = 24, []
    while off + 16 <= len(data):
        incl = struct.unpack(end + "I", data[off + 8:off + 12])[0]
        out.append(data[off + 16:off + 16 + incl])
        off += 16 + incl
    return out


def measure(frames, n):
    seen, dups, corrupt = {}, 0, 0
    for fr in frames:
        if len(fr) < 18:
            continue
        seq = struct.unpack(">I", fr[14:18])[0]
        if seq >= n or fr[:SIZE] != frame(seq):
            corrupt += 1
            continue
        seen[seq] = seen.get(seq, 0) + 1
    dups = sum(c - 1 for c in seen.values())
    return len(frames), len(seen), dups, corrupt


def main():
    mode = sys.argv[1]
    if mode == "gen":
        write_pcap(sys.argv[2], [frame(i) for i in range(int(sys.argv[3]))])
    elif mode == "send":
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        s.bind((sys.argv[2], 0))
        for i in range(int(sys.argv[3])):
            s.send(frame(i))
            if i % 100 == 99:
                time.sleep(0.002)  # stay under the receiving backlog
    elif mode == "recv":
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x88B5))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 20)
        s.bind((sys.argv[2], 0))
        s.settimeout(0.2)
        idle, frames = float(sys.argv[3]), []
        start = last = time.time()
        while (not frames or time.time() - last < idle) and time.time() - start < 60:
            try:
                frames.append(s.recv(65535))
                last = time.time()
            except socket.timeout:
                pass
        write_pcap(sys.argv[4], frames)
    elif mode == "measure":
        r, seqs, dups, corrupt = measure(read_pcap(sys.argv[2]), int(sys.argv[3]))
        print("received %d seqs %d dups %d corrupt %d" % (r, seqs, dups, corrupt))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
