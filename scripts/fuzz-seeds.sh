#!/usr/bin/env bash
# Regenerates the seed corpora in fuzz/corpus/ (see fuzz/README.md):
#   scripts/fuzz-seeds.sh [BUILD_DIR]     (default: build; it must have been built)
# wire, user, nic_*: fuzz/seedgen.c over every capture in pcaps/ plus the
# frames the user-stack unit tests build; capture: the first frames of every
# capture (editcap, from tshark's package), pcap and pcapng; options: every
# option value in the topology files; topology: the topology files.
# The old seeds are replaced; the regression corpora (fuzz/regressions/) are
# never touched.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${1:-build}
SEEDGEN=$BUILD_DIR/fuzz/vk_fuzz_seedgen
[ -x "$SEEDGEN" ] || { echo "fuzz-seeds: build $SEEDGEN first (cmake --build $BUILD_DIR)" >&2; exit 2; }
command -v editcap >/dev/null || { echo "fuzz-seeds: editcap missing (apt-get install tshark)" >&2; exit 2; }
C=fuzz/corpus
rm -rf "$C"
mkdir -p "$C"/capture "$C"/options "$C"/topology
shopt -s nullglob
captures=(pcaps/*.pcap pcaps/*.pcapng)
"$SEEDGEN" "$C" "${captures[@]}"

# Captures: the first 12 frames, in the file's own format.
for f in "${captures[@]}"; do
    base=$(basename "$f")
    case "$f" in
        *.pcapng) fmt=pcapng ;;
        *) fmt=nsecpcap ;;
    esac
    editcap -F "$fmt" -r "$f" "$C/capture/$base" 1-12 >/dev/null
done
# Topology files and the option values in them.
topos=(pcaps/*.topo tests/e2e/data/*.topo)
for f in "${topos[@]}"; do
    cp "$f" "$C/topology/$(basename "$f")"
done
for f in "${topos[@]}"; do
    grep -hoE -- '-(netdev|device|nic|net|object) [^ ]+' "$f" | cut -d' ' -f2- |
        while IFS= read -r v; do
            printf '%s' "$v" > "$C/options/$(printf '%s' "$v" | md5sum | cut -c1-16)"
        done
done
# Topologies the fuzz registry builds (user, hubs, every NIC model), with the
# file syntax's quotes, continuations and comments.
cat > "$C/topology/built-user-e1000.topo" <<'TOPO'
# QEMU's default network
-netdev user,id=n0,restrict=on "-device" 'e1000,netdev=n0,mac=52:54:00:12:34:56'
TOPO
cat > "$C/topology/built-hub.topo" <<'TOPO'
-netdev user,id=u -netdev hubport,id=h0,hubid=0,netdev=u \
  -netdev hubport,id=h1,hubid=0 -device rtl8139,netdev=h1,mode=legacy
-nic user,model=virtio-net-pci,mac=52:54:00:12:34:99 -net nic,model=ne2k_pci -net user
TOPO
# Grammar corners the files lack: ",," escapes, bare keys, repeated keys.
printf '%s' 'user,id=u,dnssearch=a.example,dnssearch=b.example,hostname=x,,y' > "$C/options/escapes"
printf '%s' 'e1000,netdev=n0,mac=52:54:00:12:34:56,restrict,t=1.5ms,hubid=3' > "$C/options/typed"
echo "fuzz-seeds: $(find "$C" -type f | wc -l) seeds, $(du -sh --apparent-size "$C" | cut -f1) in $C"
