# filter-netem against the kernel's netem: the same numbered frames go
# through `tc qdisc add dev A root netem loss L duplicate D corrupt C` on a
# veth pair in a namespace this test creates (and deletes), and through
# vnetkit's filter-netem with the same options; both must give the rates
# the options ask for, within 5 standard deviations of a binomial count
# (N frames), and so agree with each other:
#   received / sent            (1-D)(1-L) + D (L + (1-L)(2-L))  (netem's order:
#                              a duplicate first, a loss then takes one copy
#                              away, and the copy meets loss again)
#   seqs seen twice, intact    D (1 - L)^2 (1 - C)^2 of the frames sent
#   corrupted / received       C
# Skipped (77) where the kernel has no sch_netem or we are not root.
. "$(dirname "$0")/lib.sh"
need ip tc python3 tcpdump
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root for a network namespace"; exit 77; }
PY="python3 $SRC/tests/e2e/netem_compare.py"
N=20000
L=10 D=5 C=5
rates_ok() { # WHO
    local who=$1
    read -r _ R _ S _ DUP _ COR <<<"$($PY measure "$WORK/$who.pcap" "$N")"
    echo "$who: received $R, distinct $S, duplicated $DUP, corrupted $COR of $N"
    python3 - "$who" "$N" "$R" "$DUP" "$COR" "$L" "$D" "$C" <<'PY' && pass "$who: rates within tolerance" || fail "$who: rates off"
import math, sys
who, n, r, dup, cor = sys.argv[1], *map(int, sys.argv[2:6])
l, d, c = (float(x) / 100 for x in sys.argv[6:9])
def check(name, got, trials, p):
    sd = math.sqrt(trials * p * (1 - p))
    ok = abs(got - trials * p) <= 5 * sd + 1
    print("  %s %s: %d, expected %.0f +- %.0f: %s" % (who, name, got, trials * p, 5 * sd, "ok" if ok else "OFF"))
    return ok
# each sent frame yields 0, 1 or 2 received; checked as a count of n draws
# with half that mean (a binomial bound on the variance of a 0..1 variable)
mean = (1 - d) * (1 - l) + d * (l + (1 - l) * (2 - l))
ok = check("received/2", r / 2.0, n, mean / 2)
ok &= check("duplicated", dup, n, d * (1 - l) ** 2 * (1 - c) ** 2)
ok &= check("corrupted", cor, r, c)
sys.exit(0 if ok else 1)
PY
}

# vnetkit, the same frames and options on the virtual clock
$PY gen "$WORK/in.pcap" "$N"
expect_status 0 "vnetkit with filter-netem" -- VK run -netdev pcap,id=src,in="$WORK/in.pcap" \
    -netdev pcap,id=sink,out="$WORK/vnetkit.pcap" \
    -netdev hubport,id=h0,hubid=0,netdev=src -netdev hubport,id=h1,hubid=0,netdev=sink \
    -object "filter-netem,id=f1,netdev=src,queue=tx,loss=$L%,duplicate=$D%,corrupt=$C%,seed=7"
rates_ok vnetkit

NS=vkfl$$
cleanup() { ip netns delete "$NS" 2>/dev/null; }
trap cleanup EXIT
ip netns add "$NS" || { echo "SKIP: cannot create a network namespace"; exit 77; }
ip -n "$NS" link add vka type veth peer name vkb || { echo "SKIP: no veth"; exit 77; }
for i in vka vkb; do
    ip netns exec "$NS" sysctl -qw "net.ipv6.conf.$i.disable_ipv6=1" 2>/dev/null
    ip -n "$NS" link set "$i" up
done
if ! ip netns exec "$NS" tc qdisc add dev vka root netem loss "$L%" duplicate "$D%" \
    corrupt "$C%" limit 100000 2>"$WORK/tc.err"; then
    command -v modprobe >/dev/null && modprobe sch_netem 2>/dev/null
    if ! ip netns exec "$NS" tc qdisc add dev vka root netem loss "$L%" duplicate "$D%" \
        corrupt "$C%" limit 100000 2>"$WORK/tc.err"; then
        [ "$FAILS" -eq 0 ] || finish
        echo "SKIP: vnetkit's rates checked; the kernel's netem is unavailable on $(uname -r) (tc: $(head -1 "$WORK/tc.err"))"
        exit 77
    fi
fi

# the kernel
ip netns exec "$NS" $PY recv vkb 3 "$WORK/kernel.pcap" &
RPID=$!
sleep 1
ip netns exec "$NS" $PY send vka "$N"
wait "$RPID"
rates_ok kernel
finish
