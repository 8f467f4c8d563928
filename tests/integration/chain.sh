#!/bin/bash
# Streams through a chain of three relays on loopback, driven by curl and by
# small Python clients: 64 MiB each way through SOCKS5, HTTP CONNECT and
# absolute-form HTTP, half-close both ways, 100 tunnels at once, the reply
# codes for failures inside the chain, and no name ever resolved on the
# user's side.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/integration/lib.sh"

need_python
PY_TIMEOUT=120
SIZE=$((64 * 1024 * 1024))
mkdir -p "$T/www"
head -c $SIZE /dev/urandom >"$T/www/big"
BIG_SHA=$(sha256_of "$T/www/big")
start_nginx
NG=$NGINX_PORT
start_origin origin http
O=$ORIGIN_PORT
start_origin halfclose-origin halfclose
HC=$ORIGIN_PORT
start_helper echo errlib.py echo-server --bind 127.0.0.1
ECHO=$HELPER_PORT
# The exit's resolver knows origin.test; the user's side gets a resolver of
# its own that must never be asked anything. It also knows names in the exit
# host's own domain, corp.test, which a client must not reach by a short name.
start_helper exit-dns dnsd.py origin.test=127.0.0.1 intranet.corp.test=127.0.0.1 \
	vpn.corp.test=127.0.0.1
EXIT_DNS=$HELPER_PORT
start_helper user-dns dnsd.py --count-file "$T/user-dns.count" origin.test=127.0.0.1
USER_DNS=$HELPER_PORT

three_relays 4
cat >"$T/relays.conf" <<EOF
log_level = "debug";
resolver = { servers = [ "127.0.0.1:$EXIT_DNS" ]; };
$(relays_known)
relay = (
	{ address = "$R1"; key_file = "r1.key"; policy = ( { dest = "127.0.4.0/24"; action = "accept"; } ); },
	{ address = "$R2"; key_file = "r2.key"; policy = ( { dest = "127.0.4.0/24"; action = "accept"; } ); },
	{ address = "$R3"; key_file = "r3.key"; exit = true;
	  policy = ( { dest = "127.0.0.1/32"; action = "accept"; },
	             { dest = "127.0.3.0/24"; action = "accept"; } ); }
);
listen = ();
EOF
# The exit's host has a search domain (LOCALDOMAIN, as resolv.conf's search
# line) and a HOSTALIASES file: neither may apply to a client's name.
echo "aliased vpn.corp.test" >"$T/hostaliases"
LOCALDOMAIN=corp.test HOSTALIASES="$T/hostaliases" start_nacre relays -c "$T/relays.conf"
RELAYS_PID=$NACRE_PID

cat >"$T/user.conf" <<EOF
log_level = "debug";
resolver = { servers = [ "127.0.0.1:$USER_DNS" ]; };
$(three_chain)
listen = ( { address = "127.0.0.1:0"; } );
EOF
start_nacre user -c "$T/user.conf"
P=$NACRE_PORT

mycurl() { timeout 60 curl -sS --max-time 55 "$@"; }
down() { mycurl "$@" "http://origin.test:$NG/big" | sha256sum | cut -d' ' -f1; }
up() { mycurl "$@" -X POST -H 'Expect:' -T "$T/www/big" "http://origin.test:$O/sha256"; }

expect_eq "64 MiB down through 3 relays (SOCKS5, name sent to the exit)" "$BIG_SHA" \
	"$(down --socks5-hostname "127.0.0.1:$P")"
expect_eq "64 MiB up through 3 relays (SOCKS5)" "$BIG_SHA" "$(up --socks5-hostname "127.0.0.1:$P")"
expect_eq "64 MiB down through 3 relays (HTTP CONNECT)" "$BIG_SHA" "$(down -p -x "127.0.0.1:$P")"
expect_eq "64 MiB up through 3 relays (HTTP CONNECT)" "$BIG_SHA" "$(up -p -x "127.0.0.1:$P")"
expect_eq "64 MiB down through 3 relays (absolute-form GET)" "$BIG_SHA" "$(down -x "127.0.0.1:$P")"
expect_eq "64 MiB up through 3 relays (absolute-form POST)" "$BIG_SHA" "$(up -x "127.0.0.1:$P")"
expect_eq "an IPv4 destination through SOCKS5 works too" "$BIG_SHA" \
	"$(mycurl --socks5 "127.0.0.1:$P" "http://127.0.0.1:$NG/big" | sha256sum | cut -d' ' -f1)"
expect_eq "keep-alive: two absolute-form GETs on one connection" "200 200" \
	"$(mycurl -x "127.0.0.1:$P" -o /dev/null -o /dev/null -w '%{http_code} ' \
		"http://origin.test:$O/bytes/10" "http://origin.test:$O/bytes/20" | sed 's/ $//')"

# ---- half-close both ways through the chain
WANT="got 1048579 bytes sha256=$(origin_sha256 1048579)"
expect_eq "client FIN crosses the chain; the origin's reply still arrives" "$WANT" \
	"$(client_fin socks5 "$P" "$HC")"
expect_eq "origin FIN crosses the chain; the client can still send" "ok" \
	"$(run_py 60 - "$P" "$ECHO" <<'PY'
import socket, sys
from origin import recv_to_eof, socks5_connect
# The echo server echoes our FIN: send, shut down, read the echo to EOF.
s, rep, _, _ = socks5_connect(int(sys.argv[1]), "127.0.0.1", int(sys.argv[2]))
assert rep == 0, "SOCKS5 reply %d" % rep
data = bytes(range(256)) * 4096
s.sendall(data)
s.shutdown(socket.SHUT_WR)
got = recv_to_eof(s)
print("ok" if got == data else "bad %d" % len(got))
PY
)"

# ---- a stream the user's side ends on purpose ends with FIN at the origin,
# never a reset (END crosses every hop)
start_helper fin-origin relaylib.py origin --bind 127.0.0.1 --label fin
FO=$HELPER_PORT
mycurl -o /dev/null -x "127.0.0.1:$P" "http://127.0.0.1:$FO/get"
mycurl -o /dev/null --socks5-hostname "127.0.0.1:$P" "http://127.0.0.1:$FO/socks"
mycurl -o /dev/null -p -x "127.0.0.1:$P" "http://127.0.0.1:$FO/connect"
i=0
while [ "$(grep -c '^end from' "$T/fin-origin.log")" -lt 3 ] && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
expect_eq "absolute-form GET, SOCKS5 and CONNECT through the chain each end with FIN" "eof eof eof" \
	"$(sed -nE 's/^end from .*: (.*)$/\1/p' "$T/fin-origin.log" | tr '\n' ' ' | sed 's/ $//')"

# ---- 100 tunnels at once
expect_eq "100 simultaneous tunnels through the chain each echo their own data" \
	"simultaneous=100/100 echoed=100/100" \
	"$(py tunnels --proxy 127.0.0.1:$P --dest 127.0.0.1:$ECHO --n 100 --size 16384 2>"$T/tunnels.err")"

# ---- failures inside the chain come back as reply codes
CLOSED=$(free_port 127.0.3.1)
expect_eq "SOCKS5 0x05: the exit's destination refuses" "rep=05 close=eof" \
	"$(py socks5 --proxy 127.0.0.1:$P --dest 127.0.3.1:$CLOSED)"
expect_eq "SOCKS5 0x04: the exit cannot resolve the name" "rep=04 close=eof" \
	"$(py socks5 --proxy 127.0.0.1:$P --dest nonexistent.test:80)"
expect_eq "SOCKS5 0x02: the exit's policy refuses a private address" "rep=02 close=eof" \
	"$(py socks5 --proxy 127.0.0.1:$P --dest 10.1.2.3:80)"
expect_eq "SOCKS5 0x02: the exit's policy refuses loopback it does not name" "rep=02 close=eof" \
	"$(py socks5 --proxy 127.0.0.1:$P --dest 127.0.0.2:$ECHO)"
expect_eq "HTTP 403: the exit's policy refuses" "status=403 close=eof" \
	"$(py http --proxy 127.0.0.1:$P --request 'GET http://10.1.2.3/ HTTP/1.1\r\nHost: 10.1.2.3\r\n\r\n')"
expect_eq "HTTP 502: the destination refuses" "status=502 close=eof" \
	"$(py http --proxy 127.0.0.1:$P --request "CONNECT 127.0.3.1:$CLOSED HTTP/1.1\r\nHost: 127.0.3.1:$CLOSED\r\n\r\n")"

expect_eq "SOCKS5 RESOLVE (0xF0) through a chain: 0x07, never a local lookup" "rep=07 close=eof" \
	"$(py socks5 --proxy 127.0.0.1:$P --dest origin.test:80 --cmd 240)"
# The local end of the link to relay 1 says nothing about the exit's end.
expect_eq "SOCKS5 success through a chain gives BND 0.0.0.0:0, as Tor does" "rep=00 bnd=0.0.0.0:0" \
	"$(py socks5 --proxy 127.0.0.1:$P --dest 127.0.0.1:$ECHO --bnd)"

# ---- names were resolved at the exit only
check "the exit's resolver was asked for origin.test" grep -q '^query origin\.test ' "$T/exit-dns.log"
check "the exit's resolver was asked for nonexistent.test" grep -q '^query nonexistent\.test ' "$T/exit-dns.log"
expect_eq "the user's resolver was never asked anything" "0" "$(cat "$T/user-dns.count" 2>/dev/null || echo 0)"

# ---- a client's name is looked up as given, never completed with the exit
# host's search domain or aliases (as Tor's ServerDNSSearchDomains 0)
corp() { grep -c 'corp\.test' "$T/exit-dns.log"; }
expect_eq "SOCKS5 0x04: a single-label name is not tried in the exit's domain" "rep=04" \
	"$(py socks5 --proxy 127.0.0.1:$P --dest intranet:$ECHO | cut -d' ' -f1)"
expect_eq "SOCKS5 0x04: nor through the exit's HOSTALIASES" "rep=04" \
	"$(py socks5 --proxy 127.0.0.1:$P --dest aliased:$ECHO | cut -d' ' -f1)"
check "the exit asked for intranet as given" grep -q '^query intranet ' "$T/exit-dns.log"
expect_eq "... and for no name in its own domain" "0" "$(corp)"
# The same for a proxy that resolves names itself.
cat >"$T/direct.conf" <<EOF
resolver = { servers = [ "127.0.0.1:$EXIT_DNS" ]; };
listen = ( { address = "127.0.0.1:0"; } );
EOF
LOCALDOMAIN=corp.test HOSTALIASES="$T/hostaliases" start_nacre direct -c "$T/direct.conf"
expect_eq "a direct proxy, for the same two names: 0x04 twice, nothing in its domain asked" \
	"rep=04 rep=04 0" \
	"$(py socks5 --proxy 127.0.0.1:$NACRE_PORT --dest intranet:$ECHO | cut -d' ' -f1) $(
		py socks5 --proxy 127.0.0.1:$NACRE_PORT --dest aliased:$ECHO | cut -d' ' -f1) $(corp)"

# ---- a relay that is down: general failure, not a hang
cat >"$T/down.conf" <<EOF
$(relays_block | sed "s/$R2/127.0.4.9:9/")
chains = ( { name = "broken"; hops = [ "r1", "r2", "r3" ]; } );
route = "broken";
listen = ( { address = "127.0.0.1:0"; } );
EOF
sed -i 's/policy = ( { dest = "127.0.4.0\/24"/policy = ( { dest = "127.0.4.0\/24"/' "$T/down.conf"
start_nacre user-down -c "$T/down.conf"
expect_eq "SOCKS5 0x01: the second relay cannot be reached" "rep=01 close=eof" \
	"$(py socks5 --proxy 127.0.0.1:$NACRE_PORT --dest 127.0.0.1:$ECHO)"
sed "s/$R1/127.0.4.9:9/" "$T/down.conf" >"$T/down1.conf"
start_nacre user-down1 -c "$T/down1.conf"
expect_eq "SOCKS5 0x01: the first relay cannot be reached" "rep=01 close=eof" \
	"$(py socks5 --proxy 127.0.0.1:$NACRE_PORT --dest 127.0.0.1:$ECHO)"

# ---- a relay pinned with the wrong key stays silent: the chain times out (0x06)
sed "s|$(cat "$T/r2.pub")|$(cat "$T/r1.pub")|" "$T/down.conf" |
	sed "s/127.0.4.9:9/$R2/" >"$T/wrongkey.conf"
echo 'timeouts = { connect = 2.0; };' >>"$T/wrongkey.conf"
start_nacre user-wrongkey -c "$T/wrongkey.conf"
if [ "${RELAY_LINKS:-0}" = 1 ]; then
	# Over r1's link, r2 resets the circuit at once (SPEC.md, "Circuits on a
	# link": r1 proved it knows r2's key) and r1 passes the reset on.
	expect_eq "SOCKS5 0x01: relay 2 resets a flight made for another key inside r1's link" \
		"rep=01 close=eof" "$(py socks5 --proxy 127.0.0.1:$NACRE_PORT --dest 127.0.0.1:$ECHO)"
else
	expect_eq "SOCKS5 0x06: relay 2 never answers a flight made for another key" \
		"rep=06 close=eof" "$(py socks5 --proxy 127.0.0.1:$NACRE_PORT --dest 127.0.0.1:$ECHO)"
fi

# ---- one process: the proxy and the relay role at once (a 1-hop chain to itself)
"$NACRE" keygen "$T/self.key" >"$T/self.pub" 2>/dev/null
RS=127.0.4.4:$(free_port 127.0.4.4)
# It keeps to ChaCha20-Poly1305 records, so that it is also a hop that does.
cat >"$T/both.conf" <<EOF
log_level = "debug";
record_cipher = "chacha20-poly1305";
relays = ( { name = "me"; address = "$RS"; key = "$(cat "$T/self.pub")"; } );
chains = ( { name = "one"; hops = [ "me" ]; } );
listen = ( { address = "127.0.0.1:0"; route = "one"; } );
relay = ( { address = "$RS"; key_file = "self.key"; exit = true;
	    policy = ( { dest = "127.0.0.1/32"; action = "accept"; },
	               { dest = "127.0.4.0/24"; action = "accept"; } ); } );
EOF
start_nacre both -c "$T/both.conf"
BP=$(sed -nE 's/.*listening on 127\.0\.0\.1:([0-9]+).*/\1/p' "$T/both.log" | head -n 1)
expect_eq "one process serves SOCKS5 through its own relay listener" "$BIG_SHA" \
	"$(mycurl --socks5 "127.0.0.1:$BP" "http://127.0.0.1:$NG/big" | sha256sum | cut -d' ' -f1)"

check "a relay that keeps to ChaCha20-Poly1305 says so" \
	grep -q 'records under ChaCha20-Poly1305' "$T/both.log"

# ---- record suites: AES-256-GCM where both ends have AES-NI, per hop
# libsodium's AES-256-GCM needs AES-NI and PCLMULQDQ.
if grep -qw aes /proc/cpuinfo && grep -qw pclmulqdq /proc/cpuinfo; then
	check "the relays took AES-256-GCM when the user offered it" \
		grep -q 'records under AES-256-GCM' "$T/relays.log"
else
	check "without AES-NI every hop stays on ChaCha20-Poly1305" \
		sh -c "! grep -q 'records under AES-256-GCM' '$T/relays.log'"
fi
cat >"$T/mixed.conf" <<EOF
relays = (
	{ name = "r1"; address = "$R1"; key = "$(cat "$T/r1.pub")"; },
	{ name = "me"; address = "$RS"; key = "$(cat "$T/self.pub")"; },
	{ name = "r3"; address = "$R3"; key = "$(cat "$T/r3.pub")"; }
);
chains = ( { name = "mixed"; hops = [ "r1", "me", "r3" ]; } );
route = "mixed";
listen = ( { address = "127.0.0.1:0"; } );
EOF
start_nacre user-mixed -c "$T/mixed.conf"
expect_eq "64 MiB down through a chain whose middle hop keeps to ChaCha20-Poly1305" "$BIG_SHA" \
	"$(down --socks5-hostname "127.0.0.1:$NACRE_PORT")"

# ---- spare connections go only to relays a relay's policy names
# A relay opens a spare connection to the next hop it dialled (spare.h), but
# an exit's policy names destinations, not relays: the target of an EXTEND
# it takes is the client's choice. Two 2-hop chains end in recording sinks
# that never answer: through the exit r3 (which accepts 127.0.3.0/24), its
# sink must see the one connection of the flight and no spare; through the
# middle r1 (which names 127.0.4.0/24) the spare still comes.
mkdir "$T/sink-x" "$T/sink-m"
start_helper sink-x relaylib.py recorder --bind 127.0.3.7 --sink --dir "$T/sink-x"
SX=$HELPER_PORT
start_helper sink-m relaylib.py recorder --bind 127.0.4.7 --sink --dir "$T/sink-m"
SM=$HELPER_PORT
# spare_user NAME RELAY SINK-ADDRESS: a user's nacre whose chain is RELAY
# (r1 or r3), then the sink (pinned to r2's key: it never answers anyway).
spare_user() {
	local first
	first=$(relays_block | grep "name = \"$2\"" | sed 's/},*$/},/')
	cat >"$T/$1.conf" <<EOF
relays = (
$first
	{ name = "sink"; address = "$3"; key = "$(cat "$T/r2.pub")"; }
);
chains = ( { name = "to-sink"; hops = [ "$2", "sink" ]; } );
route = "to-sink";
listen = ( { address = "127.0.0.1:0"; } );
EOF
	start_nacre "$1" -c "$T/$1.conf"
}
sink_conns() { grep -c '^connection ' "$T/$1.log"; }
spare_user user-r3 r3 "127.0.3.7:$SX"
timeout 8 curl -s --max-time 6 -o /dev/null --socks5-hostname "127.0.0.1:$NACRE_PORT" \
	"http://127.0.0.1:$ECHO/" &
PIDS="$PIDS $!"
wait_for_line "$T/sink-x.log" '^connection 1$' 10 || hard_error "the exit never reached its sink"
sleep 5
expect_eq "an exit opens no spare to an EXTEND's target: its sink saw one connection in 5 s" \
	1 "$(sink_conns sink-x)"
spare_user user-r1 r1 "127.0.4.7:$SM"
timeout 8 curl -s --max-time 6 -o /dev/null --socks5-hostname "127.0.0.1:$NACRE_PORT" \
	"http://127.0.0.1:$ECHO/" &
PIDS="$PIDS $!"
check "a middle relay opens a spare to the next relay its policy names" \
	wait_for_line "$T/sink-m.log" '^connection 2$' 5

check "the relays process is still running" kill -0 "$RELAYS_PID"
if [ "${RELAY_LINKS:-0}" = 1 ]; then
	check "r1 extended to r2, and r2 to r3, over links" \
		sh -c "grep -q 'opening to relay r2' '$T/relays.log' &&
		       grep -q 'opening to relay r3' '$T/relays.log'"
else
	check "no relay linked to another" sh -c "! grep -q 'opening to relay' '$T/relays.log'"
fi
finish
