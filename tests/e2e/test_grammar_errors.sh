# Every topology error is one line naming the option and the key, exit 2.
. "$(dirname "$0")/lib.sh"
IN=$SRC/pcaps/qemu-e1000-dhcp-ping.pcap
err_case() { # EXPECTED-REGEX DESCRIPTION args...
    local re=$1 what=$2
    shift 2
    expect_status 2 "$what" -- VK run "$@"
    expect_stderr "$re" "$what: message"
    expect_eq "$(wc -l < "$WORK/err.txt" | tr -d ' ')" "1" "$what: one line"
}
err_case "-netdev bogus,id=x: key 'type': unknown netdev type 'bogus'" "unknown netdev type" \
    -netdev bogus,id=x
err_case "key 'colour': unknown key" "unknown key" -netdev pcap,id=p,in="$IN",colour=red
err_case "key 'id': duplicate id 'p'" "duplicate id" \
    -netdev pcap,id=p,in="$IN" -netdev pcap,id=p,in="$IN"
err_case "key 'netdev': no netdev 'nope'" "dangling hubport netdev" \
    -netdev hubport,id=h,hubid=0,netdev=nope
err_case "key 'netdev': no netdev 'ghost'" "dangling device netdev" \
    -netdev pcap,id=p,in="$IN" -device e1000,netdev=ghost
err_case "key 'hubid': 'x1' is not a number" "bad number" -netdev hubport,id=h,hubid=x1
err_case "key 'hubid': missing" "missing hubid" -netdev hubport,id=h
err_case "key 'id': missing" "missing id" -netdev pcap,in="$IN"
err_case "key 'id': '1abc' is not a valid id" "bad id" -netdev pcap,id=1abc,in="$IN"
err_case "key 'loop': '-1' is not a number" "negative loop" -netdev pcap,id=p,in="$IN",loop=-1
err_case "key 'macaddr': '52:54:00:zz:34:56' is not a MAC address" "bad MAC (-net nic)" \
    -net nic,macaddr=52:54:00:zz:34:56
err_case "key 'model': unknown NIC model 'tulip9'" "unknown NIC model" -nic pcap,in="$IN",model=tulip9
err_case "key 'qom-type': unknown object type 'filter-rewriter'" "unknown object" \
    -object filter-rewriter,id=f0,netdev=x
err_case "key 'netdev': netdev 'p' is already in use by 'h0'" "netdev used twice" \
    -netdev pcap,id=p,in="$IN" -netdev hubport,id=h0,hubid=0,netdev=p \
    -netdev hubport,id=h1,hubid=0,netdev=p
err_case "key 'in': .*(No such file|cannot|unknown)" "missing input file" \
    -netdev pcap,id=p,in="$WORK/does-not-exist.pcap"
err_case "unknown option '-m'" "unknown topology line option" --topology "$SRC/tests/e2e/data/bad-option.topo"
err_case "bad-key.topo:3: -netdev pcap,id=p2,in=x.pcap,speed=9: key 'speed': unknown key" \
    "topology file error names file and line" --topology "$SRC/tests/e2e/data/bad-key.topo"
err_case "run: no topology given" "no topology"
err_case "--duration: 'soon' is not a time" "bad duration" -netdev pcap,id=p,in="$IN" --duration soon
err_case "unknown or incomplete option '--frobnicate'" "unknown flag" -netdev pcap,id=p,in="$IN" --frobnicate
err_case "--trace-snaplen: 'lots'" "bad snaplen" -netdev pcap,id=p,in="$IN" --trace-snaplen lots
err_case "--trace-filter needs --trace or --trace-dir" "filter without output" -netdev pcap,id=p,in="$IN" --trace-filter arp
err_case "bad filter expression|syntax error" "bad trace filter" -netdev pcap,id=p,in="$IN" --trace "$WORK/x.pcapng" --trace-filter "arp and and"
err_case "option '-netdev' needs a value" "option needs value" -netdev
# ",," is a literal comma inside a value: the file name contains a comma
cp "$IN" "$WORK/a,b.pcap"
expect_status 0 "',,' escapes a comma" -- VK run -netdev "pcap,id=p,in=$WORK/a,,b.pcap" \
    -netdev "pcap,id=q,out=$WORK/c,,d.pcap" -netdev hubport,id=h0,hubid=0,netdev=p \
    -netdev hubport,id=h1,hubid=0,netdev=q
expect_eq "$(count_frames "$WORK/c,d.pcap")" "$(count_frames "$IN")" "comma file name written"
# a topology file with comments, quotes and several options a line
sed "s#@IN@#$IN#; s#@OUT@#$WORK/topo-out.pcap#" "$SRC/tests/e2e/data/hub.topo.in" > "$WORK/hub.topo"
expect_status 0 "topology file" -- VK run --topology "$WORK/hub.topo" --trace-dir "$WORK/tf"
expect_eq "$(count_frames "$WORK/topo-out.pcap")" "$(count_frames "$IN")" "topology file network forwards"
# legacy -net joins hub 0 with QEMU's port names
expect_status 0 "legacy -net" -- VK run -net pcap,in="$IN" -net pcap,name=sink,out="$WORK/legacy.pcap" \
    --trace-dir "$WORK/legacy"
expect_eq "$(ls "$WORK/legacy" | tr '\n' ' ')" "hub0port0.pcap hub0port1.pcap pcap.0.pcap sink.pcap " \
    "legacy names"
expect_eq "$(count_frames "$WORK/legacy.pcap")" "$(count_frames "$IN")" "legacy hub forwards"
expect_status 0 "help" -- VK run --help
[ -s "$WORK/err.txt" ] && fail "help wrote to stderr" || pass "help on stdout only"
grep -q "exit status" "$WORK/out.txt" && pass "run --help documents exit status" || fail "run --help lacks exit status"
expect_status 0 "--version" -- VK --version
grep -qE "^vnetkit [0-9]+\.[0-9]+" "$WORK/out.txt" && pass "version printed" || fail "no version"
expect_status 2 "unknown subcommand" -- VK frobnicate
finish
