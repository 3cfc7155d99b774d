# A real QEMU VM on vnetkit's user backend over `-netdev stream` (QEMU's
# length-prefixed stream transport, on a Unix socket that vnetkit serves): the
# guest gets its DHCP lease from vnetkit, pings the gateway 10.0.2.2 and
# fetches a file by TFTP; the trace shows every port of vnetkit (the stream
# port, the user backend and their hub ports) carrying that traffic.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/qemu_lib.sh"
qemu_setup
mkdir -p "$WORK/tftp"
echo "hello via vnetkit tftp" > "$WORK/tftp/hello.txt"
want_md5=$(md5sum < "$WORK/tftp/hello.txt" | cut -d' ' -f1)
SOCK=$WORK/vm.sock

vk_start net -netdev "stream,id=vm,server=on,addr.type=unix,addr.path=$SOCK" \
    -netdev "user,id=u,tftp=$WORK/tftp" \
    -netdev hubport,id=h0,hubid=0,netdev=vm -netdev hubport,id=h1,hubid=0,netdev=u \
    --trace "$WORK/trace.pcapng" --stats
wait_sock() { [ -S "$SOCK" ]; }
for _ in $(seq 50); do wait_sock && break; sleep 0.1; done
wait_sock || { fail "vnetkit did not create $SOCK: $(cat "$WORK/net.err")"; finish; }

qemu_boot vm "stream,id=n0,server=off,addr.type=unix,addr.path=$SOCK" virtio-net-pci \
    "dhcp,ping+10.0.2.2+3,tftp+10.0.2.2+hello.txt"
qemu_wait vm
vk_stop net
expect_eq "$?" "0" "vnetkit exits 0 on SIGTERM"

expect_step vm dhcp
lease=$(grep -m1 '^VKG-LEASE' "$WORK/vm.txt")
case "$lease" in
*"ip=10.0.2.15 "*"router=10.0.2.2 dns=10.0.2.3"*) pass "lease from vnetkit: $lease" ;;
*) fail "lease: '${lease:-none}'" ;;
esac
expect_step vm "ping+10.0.2.2+3"
grep -q '^3 packets transmitted, 3 packets received' "$WORK/vm.txt" &&
    pass "3 of 3 echo replies" || fail "ping: $(grep 'packets transmitted' "$WORK/vm.txt")"
expect_step vm "tftp+10.0.2.2+hello.txt"
got_md5=$(sed -n 's/^VKG fetched [0-9]* bytes md5 //p' "$WORK/vm.txt" | head -n 1)
expect_eq "$got_md5" "$want_md5" "the TFTP file arrived intact"

T=$WORK/trace.pcapng
for port in vm u; do
    expect_port "$T" "$port" "dhcp.option.dhcp == 5" "DHCP ACK"
    expect_port "$T" "$port" "icmp.type == 0 && ip.src == 10.0.2.2" "echo replies from 10.0.2.2"
    expect_port "$T" "$port" "tftp.opcode == 3" "TFTP DATA"
done
for port in h0 h1; do
    expect_port "$T" "$port" "icmp.type == 0 && ip.src == 10.0.2.2" "echo replies from 10.0.2.2"
done
expect_port "$T" vm "eth.src == 52:54:00:12:34:56 && icmp.type == 8" "the guest's echo requests"
if grep -qE 'link (up|down) \(1 up' "$WORK/net.err"; then pass "--stats shows the stream link came up"; else
    fail "--stats lacks the stream link: $(head -c 400 "$WORK/net.err")"; fi
finish
