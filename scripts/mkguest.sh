#!/usr/bin/env bash
# Builds vnetkit's test guest: a Debian kernel and a busybox initramfs with the
# NIC drivers QEMU emulates (e1000, virtio-net, rtl8139, ne2k_pci), the step
# runner scripts/guest/init and the socket helper scripts/guest/vkguest.c
# (compiled statically here).  Used by the real-QEMU tests (tests/e2e/qemu_lib.sh)
# and by scripts/record-reference.sh for the NAT reference captures.
#
# usage: scripts/mkguest.sh [DIR]
#   DIR defaults to $VK_GUEST_DIR, else ${XDG_CACHE_HOME:-~/.cache}/vnetkit/guest.
#   Writes DIR/vmlinuz, DIR/initrd.gz and DIR/stamp; does nothing when the stamp
#   (kernel package version + hash of this script, init and vkguest.c) is current.
# needs: apt-get download (a reachable Debian package registry; the .debs are kept
#   in DIR/debs), dpkg-deb, cpio, gzip, xz, gcc with static glibc (libc6-dev),
#   strings (binutils).
# Prints the guest directory on its last line.
set -euo pipefail
SRC=$(cd "$(dirname "$0")" && pwd)
DIR=${1:-${VK_GUEST_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/vnetkit/guest}}
mkdir -p "$DIR/debs"
DIR=$(cd "$DIR" && pwd)
# One build at a time per guest directory (tests running in parallel share it).
exec 9>"$DIR/.lock"
flock 9

# The kernel: the package the linux-image-amd64 metapackage points at.
KPKG=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
if [ -z "$KPKG" ]; then
    KPKG=$(cd "$DIR/debs" && ls linux-image-*.deb 2>/dev/null | sed -n 's/_.*//p' | head -n 1)
fi
[ -n "$KPKG" ] || { echo "mkguest: no linux-image-amd64 in the package lists (apt-get update?)" >&2; exit 1; }
STAMP="$KPKG $(cat "$0" "$SRC/guest/init" "$SRC/guest/vkguest.c" | sha256sum | cut -c1-16)"
if [ -f "$DIR/stamp" ] && [ "$(cat "$DIR/stamp")" = "$STAMP" ] && [ -s "$DIR/vmlinuz" ] && [ -s "$DIR/initrd.gz" ]; then
    echo "$DIR"
    exit 0
fi

fetch_deb() { # PACKAGE...: the first one apt-get can download, into DIR/debs; prints its path
    local p f
    for p in "$@"; do
        f=$(ls "$DIR/debs/${p}_"*.deb 2>/dev/null | head -n 1)
        if [ -z "$f" ]; then
            (cd "$DIR/debs" && apt-get download "$p" >/dev/null 2>&1) || continue
            f=$(ls "$DIR/debs/${p}_"*.deb 2>/dev/null | head -n 1)
        fi
        [ -n "$f" ] && { echo "$f"; return 0; }
    done
    echo "mkguest: cannot download any of: $*" >&2
    return 1
}

KDEB=$(fetch_deb "$KPKG-unsigned" "$KPKG")
BDEB=$(fetch_deb busybox-static)
WORK=$(mktemp -d "$DIR/build.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
dpkg-deb -x "$KDEB" "$WORK/k"
dpkg-deb -x "$BDEB" "$WORK/b"

IR=$WORK/ir
mkdir -p "$IR"/{bin,sbin,proc,sys,dev,tmp,etc,mods}
cp "$WORK/b/bin/busybox" "$IR/bin/busybox"
gcc -static -Os -s -Wall -Wextra -Werror -o "$IR/bin/vkguest" "$SRC/guest/vkguest.c"
install -m 755 "$SRC/guest/init" "$IR/init"

# NIC drivers and what they need, in load order.  Debian's package ships no
# modules.dep (depmod makes it at install time), so the dependencies come from
# each module's own "depends=" entry in its .modinfo section.  The guest has no
# modprobe: its init insmods /mods/order top to bottom.  Drivers built into the
# kernel are simply absent.
KMODS=$(ls -d "$WORK"/k/lib/modules/*/kernel)
declare -A LOADED=()
add_module() { # NAME (as in depends=, '-' and '_' alike)
    local name=$1 f dep
    [ -n "${LOADED[$name]:-}" ] && return 0
    LOADED[$name]=1
    f=$(find "$KMODS" \( -name "$name.ko*" -o -name "${name//_/-}.ko*" -o -name "${name//-/_}.ko*" \) | head -n 1)
    [ -n "$f" ] || return 0
    case "$f" in
    *.ko) cp "$f" "$WORK/m.ko" ;;
    *.ko.xz) xz -dc "$f" > "$WORK/m.ko" ;;
    *) echo "mkguest: unexpected module file $f" >&2; return 1 ;;
    esac
    for dep in $(strings -a "$WORK/m.ko" | sed -n 's/^depends=//p' | tr ',' ' '); do
        add_module "$dep"
    done
    case "$f" in
    *.ko) cp "$f" "$IR/mods/$name.ko" ;;
    *.ko.xz) xz -dc "$f" > "$IR/mods/$name.ko" ;;
    esac
    echo "$name" >> "$IR/mods/order"
}
: > "$IR/mods/order"
for drv in virtio_pci virtio_net e1000 8139too 8139cp ne2k-pci; do
    add_module "$drv"
done
grep -q '^e1000$' "$IR/mods/order" || { echo "mkguest: no e1000 module in $KDEB" >&2; exit 1; }

cp "$WORK"/k/boot/vmlinuz-* "$DIR/vmlinuz.new"
(cd "$IR" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -6) > "$DIR/initrd.gz.new"
mv -f "$DIR/vmlinuz.new" "$DIR/vmlinuz"
mv -f "$DIR/initrd.gz.new" "$DIR/initrd.gz"
echo "$STAMP" > "$DIR/stamp"
echo "mkguest: $KPKG + busybox $(dpkg-deb -f "$BDEB" Version): $(stat -c %s "$DIR/vmlinuz") + $(stat -c %s "$DIR/initrd.gz") bytes" >&2
echo "$DIR"
