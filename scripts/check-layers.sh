#!/usr/bin/env bash
# The layering rule of README's Layout, checked on the #include lines:
#
#   base      core/error.h core/addr.h core/frame.h   (libc only)
#   wire/     base, wire/            byte formats: protocols and capture files
#   core/     core/                  ports, hubs, queues, loop, options, topology
#   nics/ backends/ filters/ tracer/ core/, wire/, their own directory
#   replay/   every layer above but api/ and cli/
#   api/      every layer but cli/
#   cli/      everything
#
# and: core/ names no NIC model (the registry pairs names with code), and a
# card model (nics/MODEL.c) never includes its guest driver's header or calls
# its driver (the driver depends on the card; nics/registry.c pairs them).
# Usage: scripts/check-layers.sh [SOURCE_DIR]; exit 0 when every rule holds,
# 1 with one line per violation.
set -u
cd "${1:-$(dirname "$0")/..}" || exit 2
bad=0
violation() { echo "layering: $*"; bad=1; }

BASE="core/error.h core/addr.h core/frame.h"
allowed() { # allowed DIR: the directories DIR's files may include from
    case $1 in
    wire) echo "wire" ;;
    core) echo "core" ;;
    nics | backends | filters | tracer) echo "core wire $1" ;;
    replay) echo "core wire nics backends filters tracer replay" ;;
    api) echo "core wire nics backends filters tracer replay api vnetkit" ;;
    cli) echo "core wire nics backends filters tracer replay api cli vnetkit" ;;
    esac
}

for dir in wire core nics backends filters tracer replay api cli; do
    ok=" $(allowed $dir) "
    while IFS=: read -r file line inc; do
        top=${inc%%/*}
        if [[ " $BASE " == *" $inc "* ]]; then
            continue
        fi
        if [[ " $BASE " == *" $file "* ]]; then
            violation "$file:$line: a base header includes \"$inc\" (libc only)"
        elif [[ $ok != *" $top "* ]]; then
            violation "$file:$line: $dir/ may not include \"$inc\" (allowed: base,$ok)"
        fi
    done < <(grep -rnoE '^#include "[^"]+"' --include='*.c' --include='*.h' "$dir" |
             sed -E 's/^([^:]+):([0-9]+):#include "([^"]+)"$/\1:\2:\3/')
done

# NIC model names (the registry's), as words anywhere in core/
models=$(grep -hoE 'vk_nic_model [A-Za-z0-9_]+ = \{ *"[^"]+"|\.name = "[^"]+"' nics/*.c |
         sed -E 's/.*"([^"]+)"$/\1/' | sort -u)
[ -n "$models" ] || violation "no NIC model names found in nics/*.c"
for m in $models; do
    grep -rnwF --include='*.c' --include='*.h' -- "$m" core |
        while IFS= read -r hit; do echo "layering: $hit: core/ names the NIC model '$m'"; done |
        grep . && bad=1
done

# a card never knows its guest driver: no file of the card (nics/MODEL.c,
# nics/MODEL_*.c but the driver's) names the driver's header or functions
for drv in nics/*_driver.c; do
    base=$(basename "${drv%_driver.c}")
    for card in nics/"$base".c nics/"$base"_*.c; do
        [ -f "$card" ] && [ "$card" != "$drv" ] || continue
        grep -nE "#include \"nics/${base}_driver\.h\"|vk_${base}_driver\b|vk_${base}_driver_|vnet_driver_" "$card" |
            while IFS=: read -r line code; do
                echo "layering: $card:$line: the card calls its driver:$code"
            done |
            grep . && bad=1
    done
done
[ $bad -eq 0 ] && echo "layering: all rules hold"
exit $bad
