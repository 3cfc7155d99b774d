# Two real QEMU VMs on one vnetkit hub, each over a different QEMU transport:
# VM a over `-netdev dgram` (unicast UDP, one frame per datagram), VM b over
# `-netdev socket,mcast=` (a multicast group, as QEMU's socket netdev uses
# it).  With static addresses they ping each other both ways; the trace
# shows both echo directions on every port of vnetkit (a, b and their hub ports).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/qemu_lib.sh"
qemu_setup
# below the ephemeral range (32768..): a client's own port never takes it
P=$((20000 + $$ % 12000))
GROUP=230.0.0.$((1 + $$ % 200))

vk_start hub \
    -netdev "dgram,id=a,local.type=inet,local.host=127.0.0.1,local.port=$P,remote.type=inet,remote.host=127.0.0.1,remote.port=$((P + 1))" \
    -netdev "socket,id=b,mcast=$GROUP:$((P + 2)),localaddr=127.0.0.1" \
    -netdev hubport,id=ha,hubid=0,netdev=a -netdev hubport,id=hb,hubid=0,netdev=b \
    --trace "$WORK/trace.pcapng" --stats
sleep 0.5

qemu_boot a "dgram,id=n0,local.type=inet,local.host=127.0.0.1,local.port=$((P + 1)),remote.type=inet,remote.host=127.0.0.1,remote.port=$P" \
    "e1000,mac=52:54:00:12:34:0a" "ip+10.0.3.1/24,reach+10.0.3.2+60,ping+10.0.3.2+3,sleep+4"
qemu_boot b "socket,id=n0,mcast=$GROUP:$((P + 2)),localaddr=127.0.0.1" \
    "virtio-net-pci,mac=52:54:00:12:34:0b" "ip+10.0.3.2/24,reach+10.0.3.1+60,ping+10.0.3.1+3,sleep+4"
qemu_wait a
qemu_wait b
vk_stop hub
expect_eq "$?" "0" "vnetkit exits 0 on SIGTERM"

expect_step a "reach+10.0.3.2+60"
expect_step a "ping+10.0.3.2+3"
expect_step b "reach+10.0.3.1+60"
expect_step b "ping+10.0.3.1+3"
for vm in a b; do
    grep -q '^3 packets transmitted, 3 packets received' "$WORK/$vm.txt" &&
        pass "VM $vm: 3 of 3 echo replies" || fail "VM $vm: $(grep 'packets transmitted' "$WORK/$vm.txt")"
done

T=$WORK/trace.pcapng
for port in a b ha hb; do
    expect_port "$T" "$port" "icmp.type == 8 && ip.src == 10.0.3.1" "echo requests from VM a"
    expect_port "$T" "$port" "icmp.type == 0 && ip.src == 10.0.3.2" "echo replies from VM b"
    expect_port "$T" "$port" "icmp.type == 8 && ip.src == 10.0.3.2" "echo requests from VM b"
    expect_port "$T" "$port" "icmp.type == 0 && ip.src == 10.0.3.1" "echo replies from VM a"
done
finish
