#!/usr/bin/env bash
# Records one session of real QEMU user-mode networking (libslirp) with the
# project's own guest (scripts/mkguest.sh): the NAT reference captures that the
# shared capture tool cannot make (its guest has no UDP client, no DNS over TCP,
# no hostfwd UDP server, no outcome of a refused or silent connection).
#
# usage: scripts/qemu-session.sh OUT.pcap NIC "USER_NETDEV_OPTS" STEPS [TAG=HOSTCMD ...]
#   STEPS      the guest's vk_steps (see scripts/guest/init), e.g. dhcp,wget+http://10.0.2.2:18080/big.bin
#   TAG=CMD    when the guest prints "VKG-READY TAG", run CMD (bash) on the host side,
#              e.g. fwd='curl -s http://127.0.0.1:18022/index.html'
# env: GUEST (guest dir, default: built/cached by scripts/mkguest.sh), LAB (work dir,
#      default ${TMPDIR:-/tmp}/vnetkit-session.$$), TIMEOUT (QEMU run, default 150 s).
# (no_timer_check on the guest command line: under a loaded TCG host the kernel's IO-APIC
# timer check can fail and panic the boot.)
# Writes OUT.pcap (filter-dump at the netdev: both directions) and OUT.pcap.log (serial
# console + host-side command output).  Exit 0 when the guest reached VKG-DONE.
#
# Safety: the whole session runs in `unshare -m -n`, a private network namespace whose
# only interface is loopback, so nothing can leave the machine.  In that private mount
# namespace /etc/resolv.conf names 127.0.0.1, where scripts/lab/hostlab.py serves DNS
# (slirp forwards the guest's DNS to the host's first nameserver), HTTP, UDP echo and a
# silent port; see that file for the addresses.
set -uo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
if [ "${VK_SESSION_INNER:-}" != 1 ]; then
    [ $# -ge 4 ] || { sed -n '2,20p' "$0" >&2; exit 2; }
    unshare -m -n true 2>/dev/null || { echo "qemu-session: need root for unshare -m -n (network isolation)" >&2; exit 1; }
    command -v qemu-system-x86_64 >/dev/null || { echo "qemu-session: qemu-system-x86_64 missing (apt-get install qemu-system-x86)" >&2; exit 1; }
    export GUEST=${GUEST:-$(bash "$SRC/scripts/mkguest.sh" | tail -n 1)} || exit 1
    touch "$1" && OUTP=$(cd "$(dirname "$1")" && pwd)/$(basename "$1") && shift
    VK_SESSION_INNER=1 exec unshare -m -n bash "$0" "$OUTP" "$@"
fi

OUTP=$1 NIC=$2 OPTS=$3 STEPS=$4
shift 4
LAB=${LAB:-${TMPDIR:-/tmp}/vnetkit-session.$$}
LOG=$OUTP.log
mkdir -p "$LAB/www" "$LAB/tftp"
# Fixed contents, so that payload bytes are the same in every re-recording.
echo "hello from host" > "$LAB/www/hello.txt"
echo "hello via tftp" > "$LAB/tftp/hello.txt"
python3 -c 'import sys; sys.stdout.buffer.write(bytes((i*13+(i>>8))&255 for i in range(1048576)))' > "$LAB/www/big.bin"
echo "nameserver 127.0.0.1" > "$LAB/resolv.conf"

ip link set lo up || exit 1
mount --bind "$LAB/resolv.conf" /etc/resolv.conf || exit 1
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; }
trap cleanup EXIT
python3 "$SRC/scripts/lab/hostlab.py" --www "$LAB/www" > "$LAB/hostlab.log" 2>&1 & pids+=($!)
for _ in $(seq 50); do grep -q ready "$LAB/hostlab.log" && break; sleep 0.1; done
grep -q ready "$LAB/hostlab.log" || { echo "qemu-session: host lab did not start:" >&2; cat "$LAB/hostlab.log" >&2; exit 1; }

rm -f "$OUTP"
: > "$LOG"
timeout "${TIMEOUT:-150}" qemu-system-x86_64 -m 256 -nographic -no-reboot -nodefaults -serial stdio \
    -kernel "$GUEST/vmlinuz" -initrd "$GUEST/initrd.gz" \
    -append "console=ttyS0 quiet panic=-1 no_timer_check vk_steps=$STEPS" \
    -netdev "user,id=n0,tftp=$LAB/tftp${OPTS:+,$OPTS}" -device "$NIC,netdev=n0" \
    -object "filter-dump,id=f0,netdev=n0,file=$OUTP" >> "$LOG" 2>&1 &
Q=$!
pids+=($Q)
for action in "$@"; do
    tag=${action%%=*} cmd=${action#*=}
    while kill -0 $Q 2>/dev/null && ! grep -q "VKG-READY $tag" "$LOG"; do sleep 0.2; done
    echo "HOST-RUN $tag: $cmd" >> "$LOG"
    bash -c "$cmd" >> "$LOG" 2>&1
    echo "HOST-DONE $tag rc=$?" >> "$LOG"
done
wait $Q
tr -d '\r' < "$LOG" | grep -E '^(VKG|HOST)' | head -60
grep -q VKG-DONE "$LOG"
