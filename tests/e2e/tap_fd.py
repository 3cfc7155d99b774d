#!/usr/bin/env python3
"""Opens a TAP as a management layer would and runs a command that gets it
as a descriptor: "@FD@" in any argument becomes its number.
usage: tap_fd.py IFNAME vnet_hdr|plain CMD ARGS...
The command replaces this process (same pid), so signals reach it."""
import fcntl
import os
import struct
import sys

TUNSETIFF = 0x400454CA
IFF_TAP, IFF_NO_PI, IFF_VNET_HDR = 0x0002, 0x1000, 0x4000
name, mode, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
flags = IFF_TAP | IFF_NO_PI | (IFF_VNET_HDR if mode == "vnet_hdr" else 0)
fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH22x", name.encode(), flags))
os.set_inheritable(fd, True)
os.execvp(cmd[0], [a.replace("@FD@", str(fd)) for a in cmd])
