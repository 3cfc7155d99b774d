#!/usr/bin/env python3
"""A misbehaving or scripted peer for vnetkit's stream transports (QEMU
framing: 4-byte big-endian length, then the frame), over a Unix socket.
usage: stream_peer.py MODE PATH [ARGS]
  badlen PATH     connect, send one good frame, then a length of 0x00ffffff;
                  exit 0 if vnetkit closes the connection within 5 s; then
                  connect again and send one good frame (the server listens
                  again)
  trunc PATH      send one good frame, then a header for 100 bytes and 10 of
                  them, then close
  zero PATH       send a zero-length record, then one good frame, then close
  cycles PATH N   N times: connect, send one good frame (sequence i), close
  churn PATH N    N times: connect and close at once, sending nothing
  garbage PATH N  N times: connect, send 0..3 good frames then random bytes
                  (a random length, or a small one with too few bytes),
                  close; print the good frames sent
  noread PATH T   listen on PATH, accept one peer, read nothing for T seconds,
                  then read frames until EOF; print how many arrived
  drop PATH T     listen on PATH, accept, read for T seconds, close; accept
                  again and read until EOF; print the frames of both"""
import socket
import struct
import sys
import time


def frame(seq, size=60):
    body = struct.pack(">I", seq) + bytes(size - 18)
    return bytes.fromhex("020000000002020000000001") + struct.pack(">H", 0x88B5) + body


def rec(data):
    return struct.pack(">I", len(data)) + data


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    for _ in range(100):
        try:
            s.connect(path)
            return s
        except OSError:
            time.sleep(0.05)
    sys.exit("cannot connect to " + path)


def read_frames(c, until=None):
    """Counts the records read until EOF or, with `until`, until that time.
    At that time the peer shuts its reading side down first: from then on
    the sender's writes fail (EPIPE), and what the kernel had already taken
    is still read to the end, so no record the sender got rid of is lost in
    the close that follows."""
    n, buf = 0, b""
    draining = False
    while True:
        if until is not None and not draining:
            left = until - time.monotonic()
            if left <= 0:
                draining = True
                c.shutdown(socket.SHUT_RD)
                c.settimeout(5)
            else:
                c.settimeout(left)
        try:
            data = c.recv(1 << 16)
        except socket.timeout:
            if until is not None and not draining:
                continue
            return n
        if not data:
            return n
        buf += data
        while len(buf) >= 4:
            ln = struct.unpack(">I", buf[:4])[0]
            if len(buf) < 4 + ln:
                break
            buf = buf[4 + ln:]
            n += 1


def listen(path):
    l = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    l.bind(path)
    l.listen(4)
    return l


mode, path = sys.argv[1], sys.argv[2]
if mode == "badlen":
    s = connect(path)
    s.sendall(rec(frame(1)) + struct.pack(">I", 0x00FFFFFF) + bytes(64))
    s.settimeout(5)
    try:
        closed = s.recv(1) == b""
    except ConnectionResetError:
        closed = True
    s.close()
    if not closed:
        sys.exit("vnetkit kept the connection after a bad length")
    s = connect(path)
    s.sendall(rec(frame(2)))
    s.close()
elif mode == "trunc":
    s = connect(path)
    s.sendall(rec(frame(1)) + struct.pack(">I", 100) + bytes(10))
    s.close()
elif mode == "zero":
    s = connect(path)
    s.sendall(struct.pack(">I", 0) + rec(frame(1)))
    s.close()
elif mode == "cycles":
    for i in range(int(sys.argv[3])):
        s = connect(path)
        s.sendall(rec(frame(i + 1)))
        s.close()
elif mode == "churn":
    for i in range(int(sys.argv[3])):
        connect(path).close()
elif mode == "garbage":
    import random
    rnd, good = random.Random(7), 0
    for i in range(int(sys.argv[3])):
        s = connect(path)
        k = rnd.randint(0, 3)
        data = b"".join(rec(frame(good + j + 1)) for j in range(k))
        good += k
        if rnd.random() < 0.5:
            data += rnd.randbytes(rnd.randint(1, 200))
        else:
            data += struct.pack(">I", rnd.randint(21, 1500)) + rnd.randbytes(rnd.randint(0, 20))
        try:
            s.sendall(data)
        except OSError:
            pass  # vnetkit dropped the connection on a bad length first
        s.close()
    print(good)
elif mode == "noread":
    l = listen(path)
    c, _ = l.accept()
    time.sleep(float(sys.argv[3]))
    print(read_frames(c))
elif mode == "drop":
    l = listen(path)
    c, _ = l.accept()
    n = read_frames(c, time.monotonic() + float(sys.argv[3]))
    c.close()
    c, _ = l.accept()
    print(n + read_frames(c))
else:
    sys.exit("unknown mode " + mode)
