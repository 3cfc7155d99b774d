#!/usr/bin/env python3
"""Many idle TCP connections through a NAT, for scripts/bench-nat.sh --conns.

  nat_conns.py server ADDR PORT      accept and hold connections for ever
  nat_conns.py client ADDR PORT N    open N connections (at most 256 connects
                                     in flight), print "connected K failed F"
                                     once every one has an outcome, then hold
                                     them until stdin closes

Both raise their descriptor limit to the hard limit first.  Nothing is sent
on the connections: the bench measures what an idle connection costs.
"""
import resource
import selectors
import socket
import sys


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def server(addr, port):
    """Holds what it accepts; closes a connection when its client goes (so
    one NAT's connections do not use up the descriptors of the next)."""
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, port))
    ls.listen(4096)
    sel = selectors.DefaultSelector()
    sel.register(ls, selectors.EVENT_READ)
    while True:
        for key, _ in sel.select():
            s = key.fileobj
            if s is ls:
                try:
                    c, _ = ls.accept()
                except OSError:  # out of descriptors: the client sees it
                    continue
                sel.register(c, selectors.EVENT_READ)
                continue
            try:
                gone = s.recv(4096) == b""
            except OSError:
                gone = True
            if gone:
                sel.unregister(s)
                s.close()


def client(addr, port, n):
    sel = selectors.DefaultSelector()
    ok = failed = started = 0
    held = []
    while ok + failed < n:
        while started < n and started - ok - failed < 256:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.connect_ex((addr, port))
            sel.register(s, selectors.EVENT_WRITE)
            started += 1
        ready = sel.select(timeout=30)
        if not ready:  # no outcome for 30 s: count the rest as failed
            failed = n - ok
            break
        for key, _ in ready:
            s = key.fileobj
            sel.unregister(s)
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                ok += 1
                held.append(s)
            else:
                failed += 1
                s.close()
    print("connected %d failed %d" % (ok, failed), flush=True)
    sys.stdin.read()


def main():
    raise_nofile()
    if sys.argv[1] == "server":
        server(sys.argv[2], int(sys.argv[3]))
    else:
        client(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))


if __name__ == "__main__":
    main()
