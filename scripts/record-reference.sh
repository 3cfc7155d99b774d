#!/bin/bash
# Re-records the real-QEMU (libslirp) reference captures under pcaps/ (see pcaps/README.md).
#
# usage: scripts/record-reference.sh [OUTDIR] [NAME ...]
#   OUTDIR defaults to <repo>/pcaps ; NAMEs (without .pcap) restrict which captures are re-recorded.
# env:  TOOLS  (default <repo>/../shared/tools: mkguest.sh + qemu-capture.sh, used unchanged)
#       WORK   (default ${TMPDIR:-/tmp}/vnetkit-rec: guest, lab dirs, QEMU logs)
#       GUEST  (default $WORK/guest; built with the shared mkguest.sh when missing)
#       NATGUEST (the project's own guest for the NAT captures; default: scripts/mkguest.sh's cache)
#       JOBS   (default 2: captures recorded in parallel, each in its own network namespace)
# needs: root (unshare -m -n), qemu-system-x86, busybox-static, cpio, tcpdump, python3, iproute2,
#        curl (the hostfwd capture's host client), gcc + libc6-dev (the guest's vkguest helper).
#
# Safety: every QEMU run is wrapped in `unshare -m -n`: a private network namespace whose only
# interface is loopback, so nothing can leave the machine. /etc/resolv.conf is bind-mounted (in
# that private mount namespace only) to "nameserver 127.0.0.1", where a tiny stub DNS server
# answers every query with NXDOMAIN: slirp forwards guest DNS (10.0.2.3) to the host's first
# nameserver, and that must stay on loopback.
#
# The NAT captures (second table) need guest steps the shared tool lacks (a UDP client, DNS
# over TCP, TCP outcomes, a guest UDP server for hostfwd): they are recorded with the project's
# own guest (scripts/mkguest.sh) by scripts/qemu-session.sh, which makes the same isolation
# itself and serves the host side with scripts/lab/hostlab.py (HTTP on 127.0.0.1 and ::1, UDP
# echo, DNS over UDP and TCP with A records under vnetkit.test, a silent port).
#
# Determinism: lab files are pre-created with fixed content (qemu-capture.sh only creates
# big.bin when missing), so payload bytes are identical between re-recordings. Timing, guest TCP ISNs,
# DHCP xids, ICMP ids, TFTP/UDP ephemeral ports and IPv6 DAD/MLD timing differ per run.
set -uo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-$REPO/pcaps}; shift || true
TOOLS=${TOOLS:-$REPO/../shared/tools}
WORK=${WORK:-${TMPDIR:-/tmp}/vnetkit-rec}
export GUEST=${GUEST:-$WORK/guest}
JOBS=${JOBS:-2}
mkdir -p "$OUT" "$WORK/logs" "$WORK/lab" "$WORK/tmp"
OUT=$(cd "$OUT" && pwd)

unshare -m -n true 2>/dev/null || { echo "need root + unshare -m -n (network isolation); refusing to record" >&2; exit 1; }

echo "== recorded with:"
qemu-system-x86_64 --version | head -1
echo "libslirp0 $(dpkg -s libslirp0 2>/dev/null | sed -n 's/^Version: //p')"
echo "guest kernel $(dpkg-deb -f "$GUEST/kern.deb" Package Version 2>/dev/null | tr '\n' ' ')busybox $(busybox 2>/dev/null | head -1 | awk '{print $2}') (shared guest, when already built)"
echo "project guest (NAT captures): $(cat "${NATGUEST:-${XDG_CACHE_HOME:-$HOME/.cache}/vnetkit/guest}/stamp" 2>/dev/null || echo 'built on first use')"

# name | NIC | user-netdev options | guest steps | size of tftp/big.bin
# (steps are placed unquoted on the kernel command line by qemu-capture.sh, so "vg_HOLD=N" after a
#  space sets HOLD in the guest: the httpd step then just waits N seconds (guest httpd listens, no
#  traffic). ping6 needs it: right after DHCP the guest has no RA/SLAAC address yet ("Network is
#  unreachable"). "udp vg_UDPPORT=69" makes the udp step a TFTP RRQ for the missing file
#  "udp-hello" to port 69 (-> TFTP ERROR). Unsolicited RAs are not capturable here: libslirp sends them every 200-600 s.)
CUSTOM="net=192.168.76.0/24,host=192.168.76.1,dns=192.168.76.9,dhcpstart=192.168.76.50,hostname=guesty,domainname=example.test,dnssearch=example.test,dnssearch=lab.example.test,bootfile=pxelinux.0"
CAPTURES=(
  "qemu-e1000-dhcp-ping|e1000||ping|20000"
  "qemu-e1000-dhcp-custom|e1000|$CUSTOM|ping|20000"
  "qemu-e1000-tftp|e1000||tftp|20000"
  "qemu-e1000-tftp-blksize|e1000||tftpb|20000"
  "qemu-e1000-tftp-enoent|e1000||udp vg_UDPPORT=69|20000"
  "qemu-e1000-tftp-blksize-exact|e1000||tftpb|10240"
  "qemu-e1000-arp|e1000||arp|20000"
  "qemu-e1000-ping6|e1000||httpd,ping6 vg_HOLD=6|20000"
  "qemu-e1000-restrict|e1000|restrict=on|ping,http|20000"
  "qemu-virtio-dhcp-ping|virtio-net-pci||ping|20000"
  "qemu-rtl8139-dhcp-ping|rtl8139||ping|20000"
  "qemu-ne2k-dhcp-ping|ne2k_pci||ping|20000"
  "qemu-e1000-udp-dns|e1000||udp,dns|20000"
  "qemu-e1000-http|e1000||http|20000"
  "qemu-virtio-http-tftp|virtio-net-pci||http,tftp|20000"
)

echo "nameserver 127.0.0.1" > "$WORK/resolv.conf"
cat > "$WORK/dnsstub.py" <<'PY'
# loopback-only stub DNS: NXDOMAIN (with RA, RD copied) for every query, question echoed
import socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 53)); s.settimeout(120)
while True:
    try: d, a = s.recvfrom(4096)
    except Exception: break
    if len(d) < 17: continue
    i = 12
    while i < len(d) and d[i]: i += d[i] + 1
    i += 5
    fl = 0x8000 | ((d[2] & 0x79) << 8) | 0x0080 | 3
    s.sendto(d[:2] + struct.pack(">HHHHH", fl, 1, 0, 0, 0) + d[12:i], a)
PY

record() {  # name nic opts steps bigsize
  local name=$1 nic=$2 opts=$3 steps=$4 big=$5 lab=$WORK/lab/$1 tmp=$WORK/tmp/$1
  rm -rf "$lab" "$tmp"; mkdir -p "$lab/www" "$lab/tftp" "$tmp"
  python3 -c 'import sys; n=int(sys.argv[1]); sys.stdout.buffer.write(bytes((i*7+(i>>8))&255 for i in range(n)))' "$big" > "$lab/tftp/big.bin"
  python3 -c 'import sys; sys.stdout.buffer.write(bytes((i*13+(i>>8))&255 for i in range(262144)))' > "$lab/www/big.bin"
  unshare -m -n bash -c '
    ip link set lo up && mount --bind "$1/resolv.conf" /etc/resolv.conf || exit 1
    python3 "$1/dnsstub.py" & D=$!
    sleep 0.3
    LABDIR="$2" TMPDIR="$3" bash "$4/qemu-capture.sh" "$3/$5.pcap" "$6" "$7" "$8"
    kill $D 2>/dev/null; wait 2>/dev/null' _ "$WORK" "$lab" "$tmp" "$TOOLS" "$name" "$nic" "$opts" "$steps" > "$WORK/logs/$name.summary" 2>&1
  mv -f "$tmp/$name.pcap.log" "$WORK/logs/$name.log" 2>/dev/null
  if [ -s "$tmp/$name.pcap" ]; then
    mv -f "$tmp/$name.pcap" "$OUT/$name.pcap"
    echo "== $name: $(tcpdump -nr "$OUT/$name.pcap" 2>/dev/null | wc -l) frames, $(stat -c %s "$OUT/$name.pcap") bytes ($nic \"$opts\" $steps)"
  else
    echo "== $name: FAILED (see $WORK/logs/$name.summary and .log)"
  fi
}

# The NAT captures: name | NIC | user-netdev options | guest steps (scripts/guest/init) |
# host-side actions TAG=CMD run when the guest prints VKG-READY TAG (";;"-separated) | QEMU timeout
NAT_CAPTURES=(
  "qemu-e1000-http-1m|e1000||dhcp,wget+http://10.0.2.2:18080/big.bin||150"
  "qemu-e1000-dns-udp-tcp|e1000||dhcp,nslookup+host.vnetkit.test,dnstcp+10.0.2.3+tcp.vnetkit.test||150"
  "qemu-e1000-udp-echo|e1000||dhcp,udp+10.0.2.2+17777+hello,udp+10.0.2.2+17778+nobody||150"
  "qemu-e1000-tcp-refused|e1000||dhcp,tcp+10.0.2.2+18081+hello+5||150"
  "qemu-e1000-tcp-silent|e1000||dhcp,tcp+10.0.2.2+18082+hello+100||240"
  "qemu-e1000-tcp-unreachable|e1000||dhcp,tcp+203.0.113.1+80+hello+5||150"
  "qemu-e1000-hostfwd|e1000|hostfwd=tcp::18022-:80,hostfwd=udp::18023-:7|dhcp,httpd+80,udpecho+7+1,ready+fwd,sleep+6|fwd=curl -s -m 5 http://127.0.0.1:18022/index.html; python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3); s.sendto(b\"hello-fwd\", (\"127.0.0.1\", 18023)); print(s.recv(100))'|150"
  "qemu-e1000-guestfwd-cmd|e1000|guestfwd=tcp:10.0.2.100:7000-cmd:tr a-z A-Z|dhcp,tcp+10.0.2.100+7000+hello+10||150"
  "qemu-e1000-tcp6|e1000||dhcp,wait6,wget+http://[fec0::2]:18080/hello.txt||150"
)

record_session() {  # name nic opts steps actions timeout
  local name=$1 nic=$2 opts=$3 steps=$4 actions=$5 tmo=$6 tmp=$WORK/tmp/$1 acts=()
  rm -rf "$tmp"; mkdir -p "$tmp"
  [ -n "$actions" ] && acts=("$actions")
  GUEST=$NATGUEST LAB=$tmp/lab TIMEOUT=$tmo bash "$REPO/scripts/qemu-session.sh" "$tmp/$name.pcap" "$nic" "$opts" "$steps" \
      "${acts[@]}" > "$WORK/logs/$name.summary" 2>&1
  mv -f "$tmp/$name.pcap.log" "$WORK/logs/$name.log" 2>/dev/null
  if [ -s "$tmp/$name.pcap" ] && grep -q VKG-DONE "$WORK/logs/$name.log"; then
    mv -f "$tmp/$name.pcap" "$OUT/$name.pcap"
    echo "== $name: $(tcpdump -nr "$OUT/$name.pcap" 2>/dev/null | wc -l) frames, $(stat -c %s "$OUT/$name.pcap") bytes ($nic \"$opts\" $steps)"
  else
    echo "== $name: FAILED (see $WORK/logs/$name.summary and .log)"
  fi
}

selected() { [ "$SELECT" = "" ] || case " $SELECT " in *" $1 "*) return 0;; *) return 1;; esac; }
SELECT="$*"
n=0
for c in "${CAPTURES[@]}"; do
  IFS='|' read -r name nic opts steps big <<< "$c"
  selected "$name" || continue
  [ -f "$GUEST/vmlinuz" ] && [ -f "$GUEST/initrd.gz" ] || bash "$TOOLS/mkguest.sh" || exit 1
  record "$name" "$nic" "$opts" "$steps" "$big" &
  n=$((n+1)); [ $((n % JOBS)) -eq 0 ] && wait
done
wait
NATGUEST=${NATGUEST:-}
for c in "${NAT_CAPTURES[@]}"; do
  IFS='|' read -r name nic opts steps actions tmo <<< "$c"
  selected "$name" || continue
  [ -n "$NATGUEST" ] || NATGUEST=$(bash "$REPO/scripts/mkguest.sh" | tail -n 1) || exit 1
  record_session "$name" "$nic" "$opts" "$steps" "$actions" "$tmo" &
  n=$((n+1)); [ $((n % JOBS)) -eq 0 ] && wait
done
wait
echo "logs: $WORK/logs"
