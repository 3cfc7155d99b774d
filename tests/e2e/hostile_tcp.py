#!/usr/bin/env python3
"""A hostile TCP guest and hostile host peers, for test_user_hostile_vs_libslirp.sh.

usage: hostile_tcp.py run SOCKET OUT.json [flood]
         connect to vnetkit's `-netdev stream,server=on,addr.type=unix` at
         SOCKET as the guest (52:54:00:12:34:56, 10.0.2.15), start a host peer
         per case on 127.0.0.1 (the guest reaches it at 10.0.2.2), play every
         case at once (each on its own ports), then, with `flood`, the SYN
         flood alone; write what each case observed to OUT.json
       hostile_tcp.py compare LIBSLIRP.json USER.json TABLE.md
         compare the observations key by key; print one line per key;
         write the table (markdown); exit 1 when a key differs and the
         difference is not listed in ALLOWED with its rule name

An observation is a small value that does not depend on ISNs or timing: the
class of the answer to a guest segment ("A s+1 a+101": flags, sequence and
ack relative to the connection's ISNs, data length), what the host peer read
and how its connection ended (EOF, RST, open), counts and yes/no facts.
Only the standard library; frames are built and read by hand (Ethernet,
IPv4 with fragments, TCP with options; RFC 791, RFC 9293)."""
import json
import os
import queue
import random
import socket
import struct
import sys
import threading
import time

GUEST_MAC = bytes.fromhex("525400123456")
GW_MAC = bytes.fromhex("52550a000202")
GUEST_IP = socket.inet_aton("10.0.2.15")
GW_IP = socket.inet_aton("10.0.2.2")
F_FIN, F_SYN, F_RST, F_PSH, F_ACK, F_URG = 1, 2, 4, 8, 16, 32
# An answer is what arrives within QUIET after a guest segment (and 0.1 s
# after the answer before it).  HOSTILE_SLOW stretches every wait, for a
# vnetkit under valgrind.
SLOW = float(os.environ.get("HOSTILE_SLOW", "1"))
QUIET = 0.3

# Differences from libslirp that are deliberate: (case, key) -> rule name.
# README.md ("Hostile guests and peers against libslirp") says why each is ours.
ALLOWED = {
    ("urgent", "host"): "tcp-urgent-inline",
    ("frag", "reversed"): "frag-order-guard",
    ("frag", "host"): "frag-order-guard",
    ("badopts", "synfin"): "tcp-synfin",
    ("badopts", "synrst"): "tcp-rst-no-answer",
    ("badopts", "mss1_segments"): "tcp-guest-mss",
    ("badopts", "mss100_segments"): "tcp-guest-mss",
    ("synflood", "no_fd"): "tcp-fd-exhausted",
    ("rst", "rst_before_window_then_data"): "tcp-rst-window",
    ("rst", "rst_window_edge_then_data"): "tcp-rst-window",
    ("rst", "rst_no_connection"): "tcp-rst-no-answer",
    ("rst", "host"): "tcp-reset-to-peer",
    ("peer_early_close", "more_data"): "tcp-peer-gone",
}


def csum(data, s=0):
    if len(data) % 2:
        data += b"\0"
    s += sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def tcp_segment(sport, dport, seq, ack, flags, win, payload=b"", opts=b"", urp=0, doff=None):
    if len(opts) % 4:
        opts += b"\0" * (4 - len(opts) % 4)
    if doff is None:
        doff = 5 + len(opts) // 4
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                      doff << 4, flags, win, 0, urp) + opts
    seg = hdr + payload
    pseudo = GUEST_IP + GW_IP + struct.pack("!BBH", 0, 6, len(seg))
    c = csum(pseudo + seg)
    return seg[:16] + struct.pack("!H", c) + seg[18:]


def ip_packets(payload, ident, frags=None):
    """IPv4 packets carrying a TCP payload; frags: list of (offset, length) in
    bytes (multiples of 8 except the last), in the order to send them."""
    if frags is None:
        frags = [(0, len(payload))]
    out = []
    for off, n in frags:
        more = 0x2000 if off + n < len(payload) else 0
        part = payload[off:off + n]
        h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(part), ident, more | (off // 8),
                        64, 6, 0, GUEST_IP, GW_IP)
        h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
        out.append(GW_MAC + GUEST_MAC + b"\x08\x00" + h + part)
    return out


def parse(frame):
    """What matters of a frame toward the guest, or None."""
    if len(frame) < 34 or frame[12:14] != b"\x08\x00":
        return None
    ihl = (frame[14] & 15) * 4
    proto = frame[23]
    ip = frame[14:]
    total = struct.unpack("!H", ip[2:4])[0]
    l4 = ip[ihl:total]
    if proto == 6 and len(l4) >= 20:
        sport, dport, seq, ack, off, flags, win, _, urp = struct.unpack("!HHIIBBHHH", l4[:20])
        hl = (off >> 4) * 4
        opts = l4[20:hl]
        mss = None
        i = 0
        while i < len(opts):
            if opts[i] == 0:
                break
            if opts[i] == 1:
                i += 1
                continue
            if i + 1 >= len(opts) or opts[i + 1] < 2:
                break
            if opts[i] == 2 and opts[i + 1] == 4:
                mss = struct.unpack("!H", opts[i + 2:i + 4])[0]
            i += opts[i + 1]
        return {"kind": "tcp", "gport": dport, "fport": sport, "seq": seq, "ack": ack,
                "flags": flags, "win": win, "data": l4[hl:], "mss": mss}
    if proto == 1 and len(l4) >= 8 + 20 + 4:
        inner = l4[8:]
        iihl = (inner[0] & 15) * 4
        if inner[9] == 6 and len(inner) >= iihl + 4:
            gport = struct.unpack("!H", inner[iihl:iihl + 2])[0]
            return {"kind": "icmp", "gport": gport, "type": l4[0], "code": l4[1]}
    return None


class Guest:
    """The stream connection to vnetkit and a demultiplexer by guest port."""

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        for _ in range(200):
            try:
                self.s.connect(path)
                break
            except OSError:
                time.sleep(0.05)
        else:
            sys.exit("cannot connect to " + path)
        self.lock = threading.Lock()
        self.queues = {}
        self.qlock = threading.Lock()
        threading.Thread(target=self.reader, daemon=True).start()

    def send(self, frame):
        if len(frame) < 60:
            frame += bytes(60 - len(frame))
        with self.lock:
            self.s.sendall(struct.pack("!I", len(frame)) + frame)

    def queue(self, gport):
        with self.qlock:
            return self.queues.setdefault(gport, queue.Queue())

    def reader(self):
        buf = b""
        while True:
            try:
                d = self.s.recv(262144)
            except OSError:
                return
            if not d:
                return
            buf += d
            while len(buf) >= 4:
                n = struct.unpack("!I", buf[:4])[0]
                if len(buf) < 4 + n:
                    break
                frame, buf = buf[4:4 + n], buf[4 + n:]
                self.dispatch(frame)

    def dispatch(self, frame):
        if frame[12:14] == b"\x08\x06" and len(frame) >= 42 and frame[38:42] == GUEST_IP \
                and frame[20:22] == b"\x00\x01":
            reply = (frame[6:12] + GUEST_MAC + b"\x08\x06" + frame[14:20] + b"\x00\x02"
                     + GUEST_MAC + GUEST_IP + frame[22:28])
            self.send(reply)
            return
        p = parse(frame)
        if p is not None:
            self.queue(p["gport"]).put(p)

    def announce(self):
        """An ARP request for the gateway, so the stack learns our MAC."""
        arp = (b"\xff" * 6 + GUEST_MAC + b"\x08\x06" + b"\x00\x01\x08\x00\x06\x04\x00\x01"
               + GUEST_MAC + GUEST_IP + bytes(6) + GW_IP)
        self.send(arp)


class Conn:
    """One guest connection: its ports, ISNs and what came back."""

    def __init__(self, g, gport, fport, mss=1460):
        self.g, self.gport, self.fport = g, gport, fport
        self.q = g.queue(gport)
        self.iss = random.randrange(1 << 32)
        self.irs = None  # the stack's ISN
        self.rcv = b""   # in-order data the stack sent us
        self.fin = False
        self.sizes = []  # lengths of the in-order data segments
        self.ident = random.randrange(1 << 16)
        self.mss = mss

    def seq(self, rel):
        return self.iss + rel

    def ack(self, rel):
        return (self.irs or 0) + rel

    def raw(self, flags, seq_rel, ack_rel, payload=b"", win=65535, opts=b"", urp=0,
            frags=None, doff=None):
        seg = tcp_segment(self.gport, self.fport, self.seq(seq_rel),
                          self.ack(ack_rel) if flags & F_ACK else 0, flags, win,
                          payload, opts, urp, doff)
        self.ident = (self.ident + 1) & 0xFFFF
        for f in ip_packets(seg, self.ident, frags):
            self.g.send(f)

    def answers(self, wait=QUIET, until_quiet=True, stop_at_first=False):
        """The frames that arrive within `wait` (extended while they keep
        coming when until_quiet), as class strings; data is collected."""
        got = []
        wait *= SLOW
        end = time.monotonic() + wait
        while True:
            left = end - time.monotonic()
            if left <= 0:
                break
            try:
                p = self.q.get(timeout=left)
            except queue.Empty:
                break
            got.append(self.cls(p))
            if stop_at_first:
                break
            if until_quiet:
                end = max(end, time.monotonic() + 0.1 * SLOW)
        return got

    def cls(self, p):
        if p["kind"] == "icmp":
            return "ICMP %d/%d" % (p["type"], p["code"])
        f = p["flags"]
        if f & F_SYN and self.irs is None:
            self.irs = p["seq"]
        names = "".join(n for b, n in ((F_SYN, "S"), (F_FIN, "F"), (F_RST, "R"), (F_ACK, "A"))
                        if f & b)
        rel = (p["seq"] - (self.irs or 0)) & 0xFFFFFFFF
        arel = (p["ack"] - self.iss) & 0xFFFFFFFF
        s = "%s s+%d" % (names, rel) if self.irs is not None else "%s s?" % names
        if f & F_ACK:
            s += " a+%d" % arel
        fresh = rel == len(self.rcv) + 1
        if p["data"]:
            s += " len%d" % len(p["data"])
            if fresh:
                self.rcv += p["data"]
                self.sizes.append(len(p["data"]))
        if f & F_FIN and fresh:
            self.fin = True
        if p["win"] == 0 and not f & F_RST:
            s += " w0"
        if f & F_SYN and p["mss"] is not None:
            s += " mss%d" % p["mss"]
        return s

    def open(self, opts=None, win=65535):
        """SYN, then the ACK of the SYN-ACK; returns the class of the answer."""
        if opts is None:
            opts = struct.pack("!BBH", 2, 4, self.mss)
        self.raw(F_SYN, 0, 0, win=win, opts=opts)
        a = self.answers(wait=2.0, until_quiet=False, stop_at_first=True)
        if a and a[0].startswith("SA"):
            self.raw(F_ACK, 1, 1, win=win)
        return a[0] if a else "none"

    def drain(self, wait=QUIET):
        return self.answers(wait)


class Peer:
    """A host peer on 127.0.0.1: accepts connections and runs `behave` on
    each in a thread; what it read and how it ended is kept per connection."""

    def __init__(self, behave, backlog=64, rcvbuf=None):
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if rcvbuf is not None:  # inherited by accepted sockets: a slow reader's small buffer
            self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(backlog)
        self.port = self.ls.getsockname()[1]
        self.behave = behave
        self.conns = []
        self.accepted = []
        threading.Thread(target=self.loop, daemon=True).start()

    def loop(self):
        while True:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            self.accepted.append(c)
            rec = {"data": b"", "end": "open"}
            self.conns.append(rec)
            if self.behave is not None:
                threading.Thread(target=self.behave, args=(c, rec), daemon=True).start()

    def result(self, i=0, wait=1.0):
        end = time.monotonic() + wait * SLOW
        while time.monotonic() < end and (len(self.conns) <= i or self.conns[i]["end"] == "open"):
            time.sleep(0.02)
        if len(self.conns) <= i:
            return {"data": b"", "end": "never connected"}
        return self.conns[i]


def read_all(c, rec, after=0.0):
    time.sleep(after)
    while True:
        try:
            d = c.recv(65536)
        except ConnectionResetError:
            rec["end"] = "RST"
            return
        except OSError as e:
            rec["end"] = "error " + str(e.errno)
            return
        if not d:
            rec["t_end"] = time.monotonic()
            rec["end"] = "EOF"
            c.close()
            return
        rec["data"] += d


def runs(b):
    """'A100B50' for a byte string: what the host read, readable in a table."""
    out, i = [], 0
    while i < len(b):
        j = i
        while j < len(b) and b[j] == b[i]:
            j += 1
        out.append("%s%d" % (chr(b[i]) if 32 < b[i] < 127 else "x", j - i))
        i = j
    return "".join(out) or "-"


def first(a):
    return a[0] if a else "none"


def acks(a):
    """The answers as one string, in order."""
    return ", ".join(a) if a else "none"


def start(g, gp, behave, **peer_kw):
    """A host peer with `behave`, a guest connection to it, and the
    observations so far (the answer to the SYN)."""
    peer = Peer(behave, **peer_kw)
    c = Conn(g, gp, peer.port)
    return peer, c, {"open": c.open()}


def step(c, o, key, *seg, wait=QUIET, **kw):
    """Sends one guest segment (Conn.raw's arguments) and keeps the answers
    to it as o[key]."""
    c.raw(*seg, **kw)
    o[key] = acks(c.drain(wait))


# ---- the cases: each gets the guest and a port base and returns its
# observations; peers are started here, one per case ----

def case_overlap(g, gp):
    peer, c, o = start(g, gp, read_all)
    step(c, o, "data", F_ACK | F_PSH, 1, 1, b"A" * 100)
    step(c, o, "overlap", F_ACK | F_PSH, 51, 1, b"B" * 100)  # 50 old bytes, 50 new
    step(c, o, "old_again", F_ACK | F_PSH, 101, 1, b"C" * 50)  # all old
    step(c, o, "out_of_order", F_ACK | F_PSH, 301, 1, b"D" * 100)  # a gap before it
    step(c, o, "fill", F_ACK | F_PSH, 151, 1, b"E" * 160)  # fills the gap, 10 into D
    step(c, o, "fin", F_ACK | F_FIN, 401, 1)
    r = peer.result()
    o["host"] = runs(r["data"]) + " " + r["end"]
    c.raw(F_ACK, 402, 2)
    return o


def case_outwin(g, gp):
    peer, c, o = start(g, gp, read_all)
    step(c, o, "data", F_ACK | F_PSH, 1, 1, b"X" * 10)
    step(c, o, "past_window", F_ACK | F_PSH, 1 + 70000, 1, b"Y" * 100)  # past the 65535 window
    step(c, o, "far_past_window", F_ACK | F_PSH, 11 + 200000, 1, b"Y" * 100)
    step(c, o, "before_window", F_ACK | F_PSH, -100000, 1, b"Z" * 100)  # long before it
    step(c, o, "ack_unsent", F_ACK | F_PSH, 11, 100001, b"Q" * 10)  # acks what was never sent
    step(c, o, "data_after", F_ACK | F_PSH, 11, 1, b"W" * 10)
    step(c, o, "fin", F_ACK | F_FIN, 21, 1)
    r = peer.result()
    o["host"] = runs(r["data"]) + " " + r["end"]
    c.raw(F_ACK, 22, 2)
    return o


SENT = bytes(random.Random(8).randrange(256) for _ in range(100000))


def send_all_then_close(c, rec):
    try:
        c.sendall(SENT)
        c.shutdown(socket.SHUT_WR)
        read_all(c, rec)
    except OSError as e:
        rec["end"] = "error " + str(e.errno)


def case_zerowin(g, gp):
    """The guest offers 3000 bytes, then closes its window with host data
    pending for 6.8 s (a persist probe comes), then opens it again."""
    peer = Peer(send_all_then_close)
    c = Conn(g, gp, peer.port)
    o = {"open": c.open(win=3000)}
    c.drain(0.5)
    o["bytes_in_3000_window"] = len(c.rcv)
    c.raw(F_ACK, 1, 1 + len(c.rcv), win=0)
    got = c.answers(1.2, until_quiet=False)
    o["into_zero_window"] = sum(1 for a in got if "len" in a)
    # the persist timer (5 s in both) probes the closed window; the wait is
    # real time, not stretched: the timer is
    got = c.answers(5.6 / SLOW, until_quiet=False)
    probes = [a for a in got if "len" in a]
    o["persist_probe"] = probes[0] if probes else "none within 6.8 s"
    # open again and take everything, acking as it comes
    end = time.monotonic() + 6
    while not c.fin and time.monotonic() < end:
        c.raw(F_ACK, 1, 1 + len(c.rcv) + (1 if c.fin else 0), win=65535)
        c.answers(0.05, until_quiet=False)
    o["all_bytes_after_reopen"] = "yes" if c.rcv == SENT else "got %d" % len(c.rcv)
    o["fin_after_data"] = "yes" if c.fin else "no"
    step(c, o, "close", F_ACK | F_FIN, 1, len(SENT) + 2)
    return o


def case_urgent(g, gp):
    peer, c, o = start(g, gp, read_all)
    step(c, o, "urgent", F_ACK | F_PSH | F_URG, 1, 1, b"0123456789", urp=5)
    step(c, o, "after", F_ACK | F_PSH, 11, 1, b"abcdefghij")
    # an urgent pointer far ahead, no data
    step(c, o, "urp_far_no_data", F_ACK | F_URG, 21, 1, urp=60000)
    step(c, o, "fin", F_ACK | F_FIN, 21, 1)
    r = peer.result()
    o["host"] = r["data"].decode("latin-1") + " " + r["end"]
    c.raw(F_ACK, 22, 2)
    return o


def send_200(c, rec):
    try:
        c.sendall(b"m" * 200)
    except OSError:
        pass
    read_all(c, rec)


def case_badopts(g, gp):
    peer = Peer(send_200)
    o = {}
    mss = lambda v: struct.pack("!BBH", 2, 4, v)
    variants = [
        ("optlen0", b"\x02\x00\x05\xb4"),                 # an option of length 0
        ("optlen1", b"\x08\x01" + mss(1460)),             # length 1, then MSS
        ("optlen_past_header", b"\x02\x28\x05\xb4"),      # length 40 in 4 bytes
        ("unknown_kinds", b"\xfe\x02\x63\x04\x00\x00" + mss(1000) + b"\x00\x00"),
        ("wscale_len2", b"\x03\x02" + mss(1000)),
        ("mss_len3", b"\x02\x03\x05\x00"),
        ("mss0", mss(0)),
        ("mss1", mss(1)),
        ("mss100", mss(100)),
        ("eol_first", b"\x00\x02\x04\x01\x00\x00\x00\x00"),   # MSS 256 after the end
    ]
    def variant(i, name, opts):
        c = Conn(g, gp + i, peer.port)
        a = c.open(opts=opts)
        o[name] = a
        if a.startswith("SA"):
            c.drain(0.4)
            o[name + "_segments"] = ",".join(str(n) for n in segment_sizes(c))
            c.raw(F_RST | F_ACK, 1, 1 + len(c.rcv))

    ts = [threading.Thread(target=variant, args=(i, name, opts))
          for i, (name, opts) in enumerate(variants)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    # header length past the segment, and under 20
    for j, (name, doff) in enumerate((("doff_past_segment", 15), ("doff_under_20", 3))):
        c = Conn(g, gp + 20 + j, peer.port)
        c.raw(F_SYN, 0, 0, doff=doff)
        o[name] = first(c.answers(0.6))
    c = Conn(g, gp + 30, peer.port)
    c.raw(F_SYN | F_FIN, 0, 0, opts=mss(1460))
    a = c.answers(0.6)
    o["synfin"] = first(a)
    if a and a[0].startswith("SA"):
        c.raw(F_RST | F_ACK, 1, 1)
    c = Conn(g, gp + 31, peer.port)
    c.raw(F_SYN | F_RST, 0, 0, opts=mss(1460))
    o["synrst"] = first(c.answers(0.6))
    return o


def segment_sizes(c):
    """Sizes of the stack's data segments, in the order they came."""
    return c.sizes


def rst_probe(g, gp, peer, rst_rel, o, name, count=1):
    """A connection with 5 bytes from the guest, then `count` RSTs at
    sequence 1 + 5 + rst_rel (+1000 each), then 4 more bytes: what answered
    the RSTs, the bytes, and how the host peer's connection ended."""
    c = Conn(g, gp, peer.port)
    if c.open() != "SA s+0 a+1 mss1460":
        o[name] = "no connection"
        return
    c.raw(F_ACK | F_PSH, 1, 1, b"hello")
    c.drain()
    for k in range(count):
        c.raw(F_RST, 6 + rst_rel + k * 1000, 0)
    o[name] = acks(c.drain())
    c.raw(F_ACK | F_PSH, 6, 1, b"more")
    o[name + "_then_data"] = acks(c.drain())
    c.raw(F_RST, 10, 0)
    c.drain()


def case_rst(g, gp):
    """RSTs from the guest, each probe on its own connection: a storm past
    the window (libslirp's real window is its 128 KiB buffer, ours the 65535
    we advertise: beyond both), one before the window, one past our window
    but inside libslirp's buffer, one inside the window but not at the next
    sequence number, one exactly there."""
    peer = Peer(read_all)
    o = {}
    probes = [("rst_past_window_x20", 200000, 20), ("rst_before_window", -1006, 1),
              ("rst_window_edge", 100000, 1), ("rst_inwin", 100, 1), ("rst_exact", 0, 1)]
    ts = [threading.Thread(target=rst_probe, args=(g, gp + i, peer, rel, o, name, n))
          for i, (name, rel, n) in enumerate(probes)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    ends = {}
    for i in range(len(probes)):
        r = peer.result(i)
        ends[runs(r["data"]) + " " + r["end"]] = ends.get(runs(r["data"]) + " " + r["end"], 0) + 1
    o["host"] = ", ".join("%s x%d" % kv for kv in sorted(ends.items()))
    # a reset for no connection, and data after it
    c = Conn(g, gp + 10, peer.port)
    step(c, o, "rst_no_connection", F_RST, 1, 0)
    return o


def guarded(end, body):
    """A peer behaviour: body(c, rec), then `end` as how it ended, or the
    error it met."""
    def behave(c, rec):
        try:
            body(c, rec)
            rec["end"] = end
        except OSError as e:
            rec["end"] = "error " + str(e.errno)
    return behave


def _send_1000_close(c, rec):
    c.sendall(b"h" * 1000)
    c.close()


send_1000_close = guarded("closed by peer", _send_1000_close)


def case_halfopen(g, gp):
    """The guest vanishes after the handshake; the host peer sends and closes."""
    peer, c, o = start(g, gp, send_1000_close)
    got = c.answers(1.5, until_quiet=False)
    data = [a for a in got if "len" in a]
    # the data may come with the FIN or before it, as the host's EOF is read
    o["first_data"] = data[0].split(" len")[1] if data else "none"
    o["fin_sent"] = "yes" if any("F" in a.split()[0] for a in got) else "no"
    o["_got"] = got
    c.raw(F_RST, 1, 0)
    return o


def case_frag(g, gp):
    peer, c, o = start(g, gp, read_all)
    step(c, o, "in_order", F_ACK | F_PSH, 1, 1, b"I" * 200, frags=[(0, 96), (96, 64), (160, 60)])
    step(c, o, "reversed", F_ACK | F_PSH, 201, 1, b"R" * 200, frags=[(160, 60), (96, 64), (0, 96)])
    # a first fragment of 8 bytes: half a TCP header
    step(c, o, "tiny_first", F_ACK | F_PSH, 201, 1, b"S" * 200, frags=[(0, 8), (8, 212)])
    step(c, o, "duplicate_fragment", F_ACK | F_PSH, 401, 1, b"T" * 100,
         frags=[(0, 64), (0, 64), (64, 56)])
    step(c, o, "fin", F_ACK | F_FIN, 501, 1)
    r = peer.result()
    o["host"] = runs(r["data"]) + " " + r["end"]
    c.raw(F_ACK, 502, 2)
    c2 = Conn(g, gp + 1, peer.port)
    c2.raw(F_SYN, 0, 0, opts=struct.pack("!BBH", 2, 4, 1460), frags=[(0, 16), (16, 8)])
    a = c2.answers(1.0)
    o["syn_in_fragments"] = first(a)
    if a and a[0].startswith("SA"):
        c2.raw(F_RST | F_ACK, 1, 1)
    return o


def _reset_after_10(c, rec):
    rec["data"] = c.recv(10)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()


reset_after_10 = guarded("reset by peer", _reset_after_10)


def case_peer_reset(g, gp):
    peer, c, o = start(g, gp, reset_after_10)
    step(c, o, "data", F_ACK | F_PSH, 1, 1, b"0123456789", wait=0.5)
    step(c, o, "data_after_reset", F_ACK | F_PSH, 11, 1, b"x" * 100, wait=0.6)
    step(c, o, "more_data", F_ACK | F_PSH, 111, 1, b"y" * 100, wait=0.6)
    return o


def close_at_once(c, rec):
    c.close()
    rec["end"] = "closed by peer"


def case_peer_early_close(g, gp):
    peer, c, o = start(g, gp, close_at_once)
    # the FIN, acknowledged at once so that no retransmission of it is counted
    o["after_open"] = first(c.answers(0.5, stop_at_first=True))
    c.raw(F_ACK, 1, 2)
    c.drain(0.2)
    step(c, o, "data_to_closed_peer", F_ACK | F_PSH, 1, 2, b"z" * 100, wait=0.6)
    step(c, o, "more_data", F_ACK | F_PSH, 101, 2, b"z" * 100, wait=0.6)
    return o


def slow_reader(c, rec):
    time.sleep(2.0)
    # then a fast reader: a bigger buffer, so the backlog drains in well
    # under a second (with 16 KiB, loopback crawls on window updates)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    read_all(c, rec)


SLOW_READER_BYTES = 4 << 20


def case_slow_reader(g, gp):
    """The guest sends 4 MiB as fast as the window allows; the peer reads
    nothing for 2 s, then everything."""
    peer, c, o = start(g, gp, slow_reader, rcvbuf=16384)
    block = bytes(random.Random(9).randrange(256) for _ in range(4096))
    data = block * (SLOW_READER_BYTES // 4096)
    peer_reads_at = time.monotonic() + 2.0
    acked, win, nxt, minwin = 0, 65535, 0, 65535
    t0 = time.monotonic()
    stalled_at = None
    last_progress = time.monotonic()
    while acked < SLOW_READER_BYTES and time.monotonic() - t0 < 20:
        while nxt < SLOW_READER_BYTES and nxt - acked + 1440 <= win:
            n = min(1440, SLOW_READER_BYTES - nxt)
            c.raw(F_ACK, 1 + nxt, 1, data[nxt:nxt + n])
            nxt += n
        try:
            p = c.q.get(timeout=0.1)
        except queue.Empty:
            p = None
        if p is not None and p["kind"] == "tcp":
            a = (p["ack"] - c.iss - 1) & 0xFFFFFFFF
            if a <= SLOW_READER_BYTES and a > acked:
                acked = a
                last_progress = time.monotonic()
            win = p["win"]
            minwin = min(minwin, win)
        if time.monotonic() - last_progress > 0.3 * SLOW:
            if stalled_at is None:
                stalled_at = acked
            nxt = acked  # go back: what was not acked may have been dropped
            if win == 0:
                c.raw(F_ACK, 1 + acked, 1, data[acked:acked + 1])  # a window probe
            last_progress = time.monotonic()
    o["smallest_window"] = ("0" if minwin == 0 else "under 1 MSS" if minwin < 1440
                            else "1 MSS or more")
    held = stalled_at is not None and stalled_at < SLOW_READER_BYTES
    o["stack_took_less_than_4MiB"] = "yes" if held else "no"
    o["all_acked"] = "yes" if acked == SLOW_READER_BYTES else "acked %d" % acked
    c.raw(F_ACK | F_FIN, 1 + SLOW_READER_BYTES, 1)
    fin_at = time.monotonic()
    c.drain()
    r = peer.result(wait=15.0)
    o["host_intact"] = "yes" if r["data"] == data else "got %d" % len(r["data"])
    o["host_end"] = r["end"]
    o["_held_bytes"] = stalled_at
    o["_host_done_after_fin"] = round(r.get("t_end", 0) - fin_at, 2)
    o["_fin_at"] = round(fin_at - t0, 2)
    return o


def first_answers(conns, wait):
    """The first answer of each connection, waiting at most `wait` (stretched
    by SLOW) for all of them; "none" for those that stay silent."""
    end = time.monotonic() + wait * SLOW
    got = [None] * len(conns)
    while time.monotonic() < end and None in got:
        for i, c in enumerate(conns):
            if got[i] is None:
                try:
                    got[i] = c.cls(c.q.get_nowait())
                except queue.Empty:
                    pass
        time.sleep(0.05)
    return [a or "none" for a in got]


def case_synflood(g, gp):
    """200 SYNs to a listening peer that accepts all, with the descriptors
    of vnetkit limited (the test runs it under ulimit -n), then 100 SYNs to a
    port nothing listens on; then every open one is reset and one more
    connection must work."""
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    cport = closed.getsockname()[1]
    cl = []
    for i in range(100):
        c = Conn(g, gp + 300 + i, cport)
        c.raw(F_SYN, 0, 0, opts=struct.pack("!BBH", 2, 4, 1460))
        cl.append(c)
    ck = {}
    for a in first_answers(cl, 2.0):
        ck[a] = ck.get(a, 0) + 1
    closed.close()
    peer = Peer(None, backlog=512)
    conns = []
    for i in range(200):
        c = Conn(g, gp + i, peer.port)
        c.raw(F_SYN, 0, 0, opts=struct.pack("!BBH", 2, 4, 1460))
        conns.append(c)
    kinds = {}
    for c, a in zip(conns, first_answers(conns, 4.0)):
        k = a if a.startswith("ICMP") else a.split(" s")[0]
        kinds[k] = kinds.get(k, 0) + 1
        c.first = k
    o = {"answered": "yes" if "none" not in kinds else "no (%d silent)" % kinds["none"],
         "syn_acked": "some" if kinds.get("SA") else "none",
         "no_fd": ",".join(sorted(k for k in kinds if k != "SA")) or "-"}
    o["_kinds"] = kinds
    o["closed_port"] = ", ".join("%s x%d" % kv for kv in sorted(ck.items()))
    for c in conns:
        if c.first == "SA":
            c.raw(F_RST, 1, 0)
    time.sleep(0.5 * SLOW)
    peer2 = Peer(read_all)
    c = Conn(g, gp + 450, peer2.port)
    o["after_flood_open"] = c.open()
    step(c, o, "after_flood_data", F_ACK | F_PSH | F_FIN, 1, 1, b"ok")
    r = peer2.result()
    o["after_flood_host"] = runs(r["data"]) + " " + r["end"]
    for s in peer.accepted:
        s.close()
    return o


CASES = [
    ("overlap", case_overlap), ("outwin", case_outwin), ("zerowin", case_zerowin),
    ("urgent", case_urgent), ("badopts", case_badopts), ("rst", case_rst),
    ("halfopen", case_halfopen), ("frag", case_frag), ("peer_reset", case_peer_reset),
    ("peer_early_close", case_peer_early_close), ("slow_reader", case_slow_reader),
]


def run(path, out, flood):
    g = Guest(path)
    g.announce()
    time.sleep(0.2)
    results = {}

    def one(name, fn, gp):
        t0 = time.monotonic()
        try:
            results[name] = fn(g, gp)
        except Exception as e:  # a case that breaks is an observation too
            results[name] = {"error": "%s: %s" % (type(e).__name__, e)}
        results[name]["_secs"] = round(time.monotonic() - t0, 2)

    only = os.environ.get("HOSTILE_CASES", "").split()
    threads = []
    for i, (name, fn) in enumerate(CASES):
        if only and name not in only:
            continue
        t = threading.Thread(target=one, args=(name, fn, 20000 + 100 * i))
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    if flood:
        one("synflood", case_synflood, 40000)
    with open(out, "w") as f:
        json.dump(results, f, indent=1, sort_keys=True)


def compare(ls_path, us_path, table):
    ls = json.load(open(ls_path))
    us = json.load(open(us_path))
    bad = 0
    rows = ["| case | observation | libslirp 4.7 | vnetkit user | verdict |",
            "|---|---|---|---|---|"]
    for case in sorted(set(ls) | set(us)):
        a, b = ls.get(case, {}), us.get(case, {})
        for key in sorted(set(a) | set(b)):
            if key.startswith("_"):
                continue
            va, vb = a.get(key, "(missing)"), b.get(key, "(missing)")
            if va == vb:
                verdict = "same"
            elif (case, key) in ALLOWED:
                verdict = "differs: " + ALLOWED[(case, key)]
            else:
                verdict = "DIFFERS"
                bad += 1
            print("%-8s %s.%s: libslirp %r, ours %r" % (verdict.split(":")[0], case, key, va, vb))
            rows.append("| %s | %s | `%s` | `%s` | %s |" % (case, key, va, vb, verdict))
    with open(table, "w") as f:
        f.write("\n".join(rows) + "\n")
    return 1 if bad else 0


if __name__ == "__main__":
    if sys.argv[1] == "run":
        run(sys.argv[2], sys.argv[3], len(sys.argv) > 4 and sys.argv[4] == "flood")
    elif sys.argv[1] == "compare":
        sys.exit(compare(sys.argv[2], sys.argv[3], sys.argv[4]))
    else:
        sys.exit(__doc__)
