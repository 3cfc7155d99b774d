#!/usr/bin/env python3
"""The far end of a vnetkit -chardev socket (QEMU framing: a 4-byte
big-endian length, then the frame), for the filter-mirror and
filter-redirector tests.
usage: chardev_peer.py MODE ARGS
  collect PATH OUT.pcap   listen on the Unix socket PATH, accept one peer,
                          write every frame it sends to OUT.pcap until EOF
  send HOST PORT IN.pcap  connect over TCP (retrying for 5 s), send every
                          frame of IN.pcap, close
  freeport                print a free TCP port on 127.0.0.1"""
import os
import socket
import struct
import sys
import time


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    end = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    off, frames = 24, []
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack(end + "IIII", data[off:off + 16])
        frames.append(data[off + 16:off + 16 + incl])
        off += 16 + incl
    return frames


def write_pcap(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frames):
            f.write(struct.pack("<IIII", i, 0, len(fr), len(fr)) + fr)


def recv_exact(c, n):
    buf = b""
    while len(buf) < n:
        chunk = c.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def collect(path, out):
    if os.path.exists(path):
        os.unlink(path)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(1)
    s.settimeout(20)
    c, _ = s.accept()
    c.settimeout(20)
    frames = []
    while True:
        hdr = recv_exact(c, 4)
        if hdr is None:
            break
        n = struct.unpack(">I", hdr)[0]
        body = recv_exact(c, n)
        if body is None:
            sys.exit("truncated record")
        frames.append(body)
    write_pcap(out, frames)
    print(len(frames))


def send(host, port, inp):
    deadline = time.time() + 5
    while True:
        try:
            c = socket.create_connection((host, int(port)))
            break
        except OSError:
            if time.time() > deadline:
                sys.exit("cannot connect")
            time.sleep(0.05)
    for fr in read_pcap(inp):
        c.sendall(struct.pack(">I", len(fr)) + fr)
    time.sleep(0.5)
    c.close()


def freeport():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])
    s.close()


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "collect":
        collect(sys.argv[2], sys.argv[3])
    elif mode == "send":
        send(sys.argv[2], sys.argv[3], sys.argv[4])
    elif mode == "freeport":
        freeport()
    else:
        sys.exit(__doc__)
