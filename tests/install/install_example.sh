# ctest install.example: installs the build into a scratch prefix with
# `cmake --install`, then builds examples/probe_hub.c against the installed
# library the way a user would, through pkg-config (the shared library, then
# libvnetkit.a with its dependencies named by vnetkit.pc), and runs both.  Also checks what is
# installed: the facade header and no internal header, the versioned soname,
# the man pages (they render with man -l) and the completion script.
#   bash install_example.sh BUILD_DIR SOURCE_DIR WORK_DIR CC [EXTRA_CFLAGS]
set -u
BUILD=$1 SRC=$2 WORK=$3 CC=$4 EXTRA=${5:-}
command -v pkg-config >/dev/null || { echo "SKIP: pkg-config not installed"; exit 77; }
rm -rf "$WORK" && mkdir -p "$WORK" || exit 1
PREFIX=$WORK/prefix
fail() { echo "FAIL: $*"; exit 1; }
cmake --install "$BUILD" --prefix "$PREFIX" >"$WORK/install.log" 2>&1 ||
    { cat "$WORK/install.log"; fail "cmake --install"; }
PC=$(find "$PREFIX" -name vnetkit.pc | head -n 1)
[ -n "$PC" ] || fail "no vnetkit.pc installed"
export PKG_CONFIG_PATH=$(dirname "$PC")
LIBDIR=$(pkg-config --variable=libdir vnetkit)
[ -x "$PREFIX/bin/vnetkit" ] || fail "no bin/vnetkit"
"$PREFIX/bin/vnetkit" --version | grep -q '^vnetkit ' || fail "installed vnetkit --version"
[ -f "$PREFIX/include/vnetkit/vnetkit.h" ] || fail "no include/vnetkit/vnetkit.h"
extra_headers=$(find "$PREFIX/include" -name '*.h' ! -path '*/vnetkit/vnetkit.h')
[ -z "$extra_headers" ] || fail "internal headers installed: $extra_headers"
[ -f "$LIBDIR/libvnetkit.a" ] || fail "no libvnetkit.a in $LIBDIR"
SONAME=$(objdump -p "$LIBDIR/libvnetkit.so" 2>/dev/null | awk '$1 == "SONAME" {print $2}')
echo "soname: $SONAME"
case $SONAME in libvnetkit.so.[0-9]*) ;; *) fail "libvnetkit.so has soname '$SONAME'" ;; esac
[ -f "$LIBDIR/$SONAME" ] || fail "$LIBDIR/$SONAME missing"
# only the facade is exported by the shared library
internal=$(nm -D --defined-only "$LIBDIR/libvnetkit.so" | awk '$2 == "T" {print $3}' | grep -v '^vnetkit_' | grep -v '^_' | head -n 5)
[ -z "$internal" ] || fail "libvnetkit.so exports internal symbols: $internal"
for m in vnetkit vnetkit-run vnetkit-replay; do
    page=$(find "$PREFIX" -name "$m.1" | head -n 1)
    [ -n "$page" ] || fail "no man page $m.1"
    if command -v man >/dev/null; then
        MANWIDTH=80 man -l "$page" 2>/dev/null | grep -q NAME || fail "man -l $page renders nothing"
    fi
done
COMP=$(find "$PREFIX" -path '*bash-completion/completions/vnetkit' | head -n 1)
[ -n "$COMP" ] || fail "no bash completion installed"
bash -n "$COMP" || fail "completion script does not parse"

echo "+ cc probe_hub.c \$(pkg-config --cflags --libs vnetkit)"
# shellcheck disable=SC2046,SC2086
"$CC" -std=c11 -Wall -Wextra -Werror $EXTRA -o "$WORK/probe_hub" "$SRC/examples/probe_hub.c" \
    $(pkg-config --cflags --libs vnetkit) -Wl,-rpath,"$LIBDIR" || fail "building against the shared library"
"$WORK/probe_hub" "$SRC" "$WORK" || fail "probe_hub (shared)"
ldd "$WORK/probe_hub" | grep -q "$LIBDIR/libvnetkit.so" || fail "probe_hub did not use the installed libvnetkit.so"

echo "+ cc probe_hub.c libvnetkit.a \$(pkg-config --libs \$(pkg-config --variable=deps_requires vnetkit)) \$(pkg-config --variable=deps_libs vnetkit)"
# shellcheck disable=SC2046,SC2086
"$CC" -std=c11 -Wall -Wextra -Werror $EXTRA -o "$WORK/probe_hub_static" "$SRC/examples/probe_hub.c" \
    $(pkg-config --cflags vnetkit) "$LIBDIR/libvnetkit.a" \
    $(pkg-config --libs $(pkg-config --variable=deps_requires vnetkit)) \
    $(pkg-config --variable=deps_libs vnetkit) || fail "building against the static library"
ldd "$WORK/probe_hub_static" | grep -q libvnetkit && fail "the static build uses libvnetkit.so"
"$WORK/probe_hub_static" "$SRC" "$WORK" || fail "probe_hub (static)"
echo "PASS"
