#!/usr/bin/env python3
"""The host side of a real-QEMU reference session (scripts/qemu-session.sh).

Runs only inside the session's private network namespace (`unshare -n`, only
loopback), so every address below is that namespace's own loopback:

  HTTP     127.0.0.1:18080 and [::1]:18080, files from --www (HTTP/1.0, as
           `python3 -m http.server`)
  UDP echo 127.0.0.1:17777 answers b"echo:" + payload
  silent   127.0.0.1:18082: a listener with a full accept queue (backlog 0, one
           connection parked and never accepted), so the kernel drops every
           further SYN without answering: a connection attempt meets silence
  DNS      127.0.0.1:53 over UDP and TCP (the session bind-mounts a resolv.conf
           naming it): names under vnetkit.test. get A records from NAMES
           below, AAAA and other types there get an empty NOERROR answer, every
           other name NXDOMAIN.  RD is copied, RA set, the question echoed.

Port 18081 is left closed on purpose (a refused connection).
"""
import argparse
import functools
import http.server
import socket
import socketserver
import struct
import threading

NAMES = {
    "host.vnetkit.test": "192.0.2.80",
    "tcp.vnetkit.test": "192.0.2.53",
}


def dns_answer(query):
    """The stub's answer to one DNS query message, or None when it is malformed."""
    if len(query) < 17:
        return None
    labels, i = [], 12
    while i < len(query) and query[i]:
        n = query[i]
        if n > 63 or i + 1 + n > len(query):
            return None
        labels.append(query[i + 1:i + 1 + n].decode("ascii", "replace").lower())
        i += 1 + n
    if i + 5 > len(query):
        return None
    qtype = struct.unpack(">H", query[i + 1:i + 3])[0]
    question = query[12:i + 5]
    name = ".".join(labels)
    flags = 0x8000 | ((query[2] & 0x79) << 8) | 0x0080
    answers = b""
    count = 0
    if name == "vnetkit.test" or name.endswith(".vnetkit.test"):
        if qtype == 1 and name in NAMES:
            addr = socket.inet_aton(NAMES[name])
            answers = struct.pack(">HHHIH", 0xC00C, 1, 1, 300, 4) + addr
            count = 1
    else:
        flags |= 3  # NXDOMAIN
    return query[:2] + struct.pack(">HHHHH", flags, 1, count, 0, 0) + question + answers


def dns_udp(sock):
    while True:
        data, peer = sock.recvfrom(4096)
        answer = dns_answer(data)
        if answer:
            sock.sendto(answer, peer)


class DnsTcp(socketserver.BaseRequestHandler):
    def handle(self):
        buf = b""
        while True:
            chunk = self.request.recv(4096)
            if not chunk:
                return
            buf += chunk
            while len(buf) >= 2 and len(buf) >= 2 + struct.unpack(">H", buf[:2])[0]:
                n = struct.unpack(">H", buf[:2])[0]
                answer = dns_answer(buf[2:2 + n])
                buf = buf[2 + n:]
                if answer:
                    self.request.sendall(struct.pack(">H", len(answer)) + answer)


class TcpServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


class HttpServer6(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def udp_echo(sock):
    while True:
        data, peer = sock.recvfrom(65536)
        sock.sendto(b"echo:" + data, peer)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--www", required=True)
    args = ap.parse_args()
    handler = functools.partial(QuietHandler, directory=args.www)
    servers = [http.server.ThreadingHTTPServer(("127.0.0.1", 18080), handler),
               HttpServer6(("::1", 18080), handler),
               TcpServer(("127.0.0.1", 53), DnsTcp)]
    for s in servers:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 17777))
    threading.Thread(target=udp_echo, args=(udp,), daemon=True).start()
    dns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    dns.bind(("127.0.0.1", 53))
    threading.Thread(target=dns_udp, args=(dns,), daemon=True).start()
    silent = socket.socket()
    silent.bind(("127.0.0.1", 18082))
    silent.listen(0)
    parked = socket.create_connection(("127.0.0.1", 18082))
    print("hostlab: ready", flush=True)
    threading.Event().wait()
    parked.close()


if __name__ == "__main__":
    main()
