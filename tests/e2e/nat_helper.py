#!/usr/bin/env python3
"""Small peers for tests/e2e/test_user_nat_live.sh, each one subcommand:

  udp-echo ADDR PORT          echo every datagram back (runs until killed)
  dns ADDR PORT NAME IPV4     answer A queries for NAME with IPV4, NXDOMAIN
                              for other names (runs until killed)
  udp-ask ADDR PORT TEXT      send TEXT from a connected socket, print the
                              answer, or "error ERRNO-NAME" (3 s timeout)

Only the standard library; DNS messages are built and read by hand (RFC 1035
header, one question, one answer with a compression pointer).
"""
import errno
import socket
import struct
import sys


def udp_echo(addr, port):
    s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, int(port)))
    while True:
        data, peer = s.recvfrom(65535)
        s.sendto(data, peer)


def read_name(msg, off):
    labels = []
    while True:
        n = msg[off]
        off += 1
        if n == 0:
            return ".".join(labels), off
        labels.append(msg[off:off + n].decode("ascii", "replace"))
        off += n


def dns(addr, port, name, ipv4):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, int(port)))
    want = name.rstrip(".").lower()
    while True:
        msg, peer = s.recvfrom(4096)
        if len(msg) < 12:
            continue
        qid, flags, qd = struct.unpack("!HHH", msg[:6])
        if qd != 1:
            continue
        qname, off = read_name(msg, 12)
        qtype, qclass = struct.unpack("!HH", msg[off:off + 4])
        question = msg[12:off + 4]
        hit = qname.lower() == want
        answers = b""
        an = 0
        if hit and qtype == 1:
            answers = struct.pack("!HHHIH", 0xC00C, 1, 1, 60, 4) + socket.inet_aton(ipv4)
            an = 1
        rcode = 0 if hit else 3
        rflags = 0x8000 | 0x0400 | (flags & 0x0100) | 0x0080 | rcode
        s.sendto(struct.pack("!HHHHHH", qid, rflags, 1, an, 0, 0) + question + answers, peer)


def udp_ask(addr, port, text):
    s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    if ":" not in addr:
        # IP_RECVERR (11): report ICMP errors Linux otherwise keeps to itself
        # (net and host unreachable are "soft" errors for UDP)
        s.setsockopt(socket.IPPROTO_IP, 11, 1)
    s.connect((addr, int(port)))
    s.send(text.encode())
    try:
        print(s.recv(65535).decode())
    except socket.timeout:
        print("timeout")
    except OSError as e:
        print("error " + errno.errorcode.get(e.errno, str(e.errno)))


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"udp-echo": udp_echo, "dns": dns, "udp-ask": udp_ask}[cmd](*args)
