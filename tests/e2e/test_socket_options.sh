# -netdev socket, stream and dgram refuse what QEMU refuses, with a message
# naming the option, the key and the problem (exit 2), before any socket
# is opened; and they need the live clock.
. "$(dirname "$0")/lib.sh"
bad() { # PATTERN NETDEV...
    local pat=$1
    shift
    expect_status 2 "refused: $*" -- VK run "$@"
    expect_stderr "$pat" "message for $*"
}
bad "key 'addr.type': missing" -netdev stream,id=s
bad "key 'addr.type': 'vsock': not inet, unix or fd" -netdev stream,id=s,addr.type=vsock
bad "key 'addr.path': missing" -netdev stream,id=s,addr.type=unix
bad "key 'addr.host': missing" -netdev stream,id=s,addr.type=inet,addr.port=1
bad "key 'addr.port': missing" -netdev stream,id=s,addr.type=inet,addr.host=127.0.0.1
bad "'99999' is not a port from 0 to 65535" -netdev stream,id=s,addr.type=inet,addr.host=127.0.0.1,addr.port=99999
bad "'70000' is not a port from 0 to 65535" -netdev socket,id=s,connect=127.0.0.1:70000
bad "'-1' is not a port from 0 to 65535" -netdev dgram,id=s,local.type=inet,local.host=127.0.0.1,local.port=-1,remote.type=inet,remote.host=127.0.0.1,remote.port=1
bad "key 'server': 'maybe' is not on or off" -netdev stream,id=s,server=maybe,addr.type=unix,addr.path=x
bad "key 'reconnect': give reconnect or reconnect-ms, not both" \
    -netdev stream,id=s,addr.type=unix,addr.path=x,reconnect=1,reconnect-ms=5
bad "key 'addr.color': unknown key" -netdev stream,id=s,addr.type=unix,addr.path=x,addr.color=red
bad "exactly one of listen=, connect=, mcast=, udp= or fd= is required" -netdev socket,id=s
bad "key 'connect': give only one of" -netdev socket,id=s,listen=:1,connect=127.0.0.1:1
bad "key 'localaddr': missing \(udp= needs" -netdev socket,id=s,udp=127.0.0.1:9
bad "key 'localaddr': only used with mcast= or udp=" -netdev socket,id=s,connect=127.0.0.1:9,localaddr=127.0.0.1
bad "key 'connect': 'nowhere' is not HOST:PORT" -netdev socket,id=s,connect=nowhere
bad "key 'mcast': inet:127.0.0.1:5 is not an IPv4 multicast address" -netdev socket,id=s,mcast=127.0.0.1:5
bad "key 'remote.type': missing" -netdev dgram,id=s,local.type=inet,local.host=127.0.0.1,local.port=1
bad "key 'local.type': missing \(unicast needs" -netdev dgram,id=s,remote.type=inet,remote.host=127.0.0.1,remote.port=1
bad "key 'local.type': 'unix' differs from remote.type 'inet'" \
    -netdev dgram,id=s,local.type=unix,local.path=x,remote.type=inet,remote.host=127.0.0.1,remote.port=1
bad "key 'remote.type': not used with local.type=fd" -netdev dgram,id=s,local.type=fd,local.str=3,remote.type=unix
bad "a socket needs the live clock" -netdev stream,id=s,server=on,addr.type=unix,addr.path="$WORK/v.sock" --clock virtual
finish
