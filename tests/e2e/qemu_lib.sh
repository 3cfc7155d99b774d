# Helpers for the real-QEMU interop tests (sourced after lib.sh): real
# qemu-system-x86_64 VMs (TCG, the project's guest from scripts/mkguest.sh)
# join a vnetkit network over QEMU's own socket transports.
#
# Each VM boots once per test case with the steps it must run on its kernel
# command line (vk_steps, see scripts/guest/init); it reports every step on
# its serial console ("VKG-STEP <step> rc=N", then "VKG-DONE") and powers off.
# Every QEMU run is bounded by `timeout` (QEMU_TIMEOUT, default 120 s).  Boot
# time is kept short: no option ROM on the NIC (romfile=, no iPXE), no CPU
# mitigations, a small initramfs; no_timer_check because a loaded TCG host can
# fail the kernel's IO-APIC timer check and panic the boot.
#
# Isolation: everything (vnetkit and every QEMU) runs in a private network
# namespace the test creates (vkqemu<pid>) with only its loopback up; the VMs
# have no other network than the one vnetkit gives them.  qemu_cleanup (the
# EXIT trap, also reached on INT/TERM) stops every process the test started
# and deletes the namespace.
#
# Skips (exit 77) with the reason: no qemu-system-x86_64, no guest (build it
# with scripts/mkguest.sh; scripts/setup.sh does), not root.
QEMU_NS=""
QEMU_PIDS=()
VK_PIDS=()

qemu_setup() {
    need qemu-system-x86_64 ip tshark timeout
    [ "$(id -u)" = 0 ] || { echo "SKIP: network namespaces need root"; exit 77; }
    GUEST=${VK_GUEST_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/vnetkit/guest}
    if [ ! -s "$GUEST/vmlinuz" ] || [ ! -s "$GUEST/initrd.gz" ]; then
        echo "SKIP: no test guest in $GUEST (build it with scripts/mkguest.sh; scripts/setup.sh does)"
        exit 77
    fi
    # A guest built from older guest scripts is rebuilt from its cached packages.
    if ! bash "$SRC/scripts/mkguest.sh" "$GUEST" >"$WORK/mkguest.log" 2>&1; then
        echo "SKIP: the guest in $GUEST is stale and cannot be rebuilt: $(tail -n 2 "$WORK/mkguest.log")"
        exit 77
    fi
    # A run killed outright (ctest's timeout sends SIGKILL) leaves its namespace:
    # remove those whose test process is gone (the name carries its pid).
    local ns
    for ns in $(ip netns list 2>/dev/null | awk '/^vkqemu[0-9]+/ {print $1}'); do
        kill -0 "${ns#vkqemu}" 2>/dev/null || ip netns delete "$ns" 2>/dev/null
    done
    QEMU_NS=vkqemu$$
    if ! ip netns add "$QEMU_NS" 2>"$WORK/netns.err"; then
        echo "SKIP: cannot create a network namespace: $(cat "$WORK/netns.err")"
        QEMU_NS=""
        exit 77
    fi
    trap qemu_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    ip netns exec "$QEMU_NS" ip link set lo up
}

qemu_cleanup() {
    local status=$? p
    for p in "${QEMU_PIDS[@]}" "${VK_PIDS[@]}"; do
        kill -TERM "$p" 2>/dev/null
    done
    for p in "${QEMU_PIDS[@]}" "${VK_PIDS[@]}"; do
        wait "$p" 2>/dev/null
    done
    [ -n "$QEMU_NS" ] && ip netns delete "$QEMU_NS" 2>/dev/null
    exit "$status"
}

# vk_start NAME ARGS...: `vnetkit run ARGS...` in the namespace, in the
# background, stderr in $WORK/NAME.err.  Stopped with vk_stop NAME.
vk_start() {
    local name=$1
    shift
    ip netns exec "$QEMU_NS" ${VNETKIT_WRAP:-} "$VNETKIT" run "$@" 2>"$WORK/$name.err" &
    VK_PIDS+=($!)
    eval "VKPID_$name=$!"
}

# vk_stop NAME: SIGTERM (vnetkit closes its traces and exits 0), then wait.
vk_stop() {
    local pid
    eval "pid=\$VKPID_$1"
    kill -TERM "$pid" 2>/dev/null
    wait "$pid"
}

# qemu_boot NAME "NETDEV" "DEVICE" STEPS: boots a VM whose one NIC is DEVICE
# (e.g. "virtio-net-pci,mac=...") on -netdev NETDEV (id n0); serial console in
# $WORK/NAME.log.
qemu_boot() {
    local name=$1 netdev=$2 device=$3 steps=$4
    ip netns exec "$QEMU_NS" timeout "${QEMU_TIMEOUT:-120}" qemu-system-x86_64 \
        -m 192 -nographic -no-reboot -nodefaults -serial stdio \
        -kernel "$GUEST/vmlinuz" -initrd "$GUEST/initrd.gz" \
        -append "console=ttyS0 quiet panic=-1 no_timer_check mitigations=off vk_steps=$steps" \
        -netdev "$netdev" -device "$device,netdev=n0,romfile=" </dev/null >"$WORK/$name.log" 2>&1 &
    QEMU_PIDS+=($!)
    eval "QPID_$name=$!"
}

# qemu_wait NAME: waits for the VM to power off; fails the test when it did not
# finish its steps (timeout, panic), showing the end of its console.
qemu_wait() {
    local pid
    eval "pid=\$QPID_$1"
    wait "$pid"
    local st=$?
    tr -d '\r' < "$WORK/$1.log" > "$WORK/$1.txt"
    if grep -q '^VKG-DONE' "$WORK/$1.txt"; then
        pass "VM $1 ran its steps and powered off"
        return 0
    fi
    fail "VM $1 did not finish (exit $st): $(tail -n 8 "$WORK/$1.txt" | tr '\n' '|')"
    return 1
}

# expect_step NAME STEP: the VM's step STEP exited 0.
expect_step() {
    local line
    line=$(grep -F "VKG-STEP $2 rc=" "$WORK/$1.txt" | head -n 1)
    if [ "$line" = "VKG-STEP $2 rc=0" ]; then pass "VM $1: $2"; else
        fail "VM $1: $2: ${line:-never ran}; console: $(grep -v '^VKG-STEP' "$WORK/$1.txt" | grep -E 'VKG|ping|tftp|udhcpc' | tail -n 6 | tr '\n' '|')"
    fi
}

# port_frames TRACE PORT [FILTER]: frames the pcapng trace holds for PORT
# (its interface name), optionally only those matching a display filter.
port_frames() {
    local f="frame.interface_name == \"$2\""
    [ -n "${3:-}" ] && f="$f && ($3)"
    tshark -r "$1" -Y "$f" 2>/dev/null | wc -l | tr -d ' '
}

# expect_port TRACE PORT FILTER WHAT: at least one frame of PORT matches.
expect_port() {
    local n
    n=$(port_frames "$1" "$2" "$3")
    if [ "${n:-0}" -gt 0 ]; then pass "trace, port $2: $4 ($n frames)"; else
        fail "trace, port $2: no frame with $4 ($3); ports seen: $(tshark -r "$1" -T fields -e frame.interface_name 2>/dev/null | sort | uniq -c | tr '\n' ' ')"
    fi
}
