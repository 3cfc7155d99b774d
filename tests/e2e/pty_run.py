#!/usr/bin/env python3
"""Runs a command with stderr on a pseudo-terminal (stdout and stdin as
given), copies what the command wrote on the terminal, byte for byte, to the
file named first, and exits with the command's status:
    pty_run.py TTY_OUT COMMAND ARGS..."""
import os
import pty
import subprocess
import sys


def main():
    out_path, cmd = sys.argv[1], sys.argv[2:]
    master, slave = pty.openpty()
    proc = subprocess.Popen(cmd, stderr=slave)
    os.close(slave)
    data = bytearray()
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: every writer closed the terminal
            break
        if not chunk:
            break
        data += chunk
    os.close(master)
    status = proc.wait()
    with open(out_path, "wb") as f:
        f.write(data)
    sys.exit(status if status >= 0 else 128 - status)


if __name__ == "__main__":
    main()
