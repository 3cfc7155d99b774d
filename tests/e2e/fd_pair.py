#!/usr/bin/env python3
"""Runs two vnetkit processes joined by one socketpair: the receiver gets one
end, the sender the other, each as @FD@ in its netdev option (fd= tests).
usage: fd_pair.py stream|dgram VNETKIT DIR IN RECV_NETDEV SEND_NETDEV [WRAP...]
The receiver writes DIR/out.pcap and is stopped (SIGTERM) after the sender; both write --stats to DIR/{recv,send}.err.
Exits with the first non-zero exit status of the two."""
import os
import signal
import socket
import subprocess
import sys
import time

kind, vk, d, inp, recv_nd, send_nd = sys.argv[1:7]
wrap = sys.argv[7:]
# under a checker (valgrind) everything is many times slower: give the sender
# time to push every frame through, and the receiver time to take them
slow = 4 if wrap else 1
a, b = socket.socketpair(socket.AF_UNIX,
                         socket.SOCK_STREAM if kind == "stream" else socket.SOCK_DGRAM)
for s in (a, b):
    os.set_inheritable(s.fileno(), True)


def run(nd, fd, args, err):
    return subprocess.Popen(wrap + [vk, "run", "-netdev", nd.replace("@FD@", str(fd))] + args,
                            pass_fds=(fd,), stderr=open(err, "w"))


recv = run(recv_nd, a.fileno(), ["-netdev", "pcap,id=o,out=%s/out.pcap" % d,
                                 "-netdev", "hubport,id=h0,hubid=0,netdev=s",
                                 "-netdev", "hubport,id=h1,hubid=0,netdev=o",
                                 "--stats"], d + "/recv.err")
time.sleep(0.2)
send = run(send_nd, b.fileno(), ["-netdev", "pcap,id=i,in=%s" % inp,
                                 "-netdev", "hubport,id=h0,hubid=0,netdev=i",
                                 "-netdev", "hubport,id=h1,hubid=0,netdev=s",
                                 "--duration", str(1.5 * slow), "--stats"], d + "/send.err")
a.close()
b.close()
ss = send.wait()
time.sleep(0.5 * slow)  # what the sender wrote last goes through, then a user's ^C
recv.send_signal(signal.SIGTERM)
rs = recv.wait()
sys.exit(ss or rs)
