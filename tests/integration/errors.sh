#!/bin/bash
# Every failure answer nacre gives, produced on purpose and read byte by byte:
# SOCKS5 replies 0x01-0x08 (then a close), SOCKS4 91, and the HTTP proxy's
# 400/403/502/504/505 (each followed by a clean close). Network unreachable and
# connect timeouts happen inside network namespaces this test makes, which have
# no link to the outside; everything else stays on loopback.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/integration/lib.sh"

need_python

# ---- network namespaces, deleted at exit (after lib.sh's cleanup kills the
# daemons running in them).
NETNS=""
errors_cleanup() {
	cleanup
	for ns in $NETNS; do ip netns del "$ns" 2>/dev/null; done
}
trap errors_cleanup EXIT

# ns_nacre NS: a wrapper that runs nacre inside NS, for start_nacre.
ns_nacre() {
	printf '#!/bin/sh\nexec ip netns exec %s "%s" "$@"\n' "$1" "$NACRE" >"$T/nacre-in-$1"
	chmod +x "$T/nacre-in-$1"
	echo "$T/nacre-in-$1"
}

# ================================================================ loopback
ECHO_BODY="nacre-errors-$$-marker"
start_nginx
echo "$ECHO_BODY" >"$T/www/hello.txt"
NG=$NGINX_PORT
start_helper echo errlib.py echo-server --bind 127.0.0.1
ECHO=$HELPER_PORT
# A second echo server on 127.0.0.2, which the rules block: if the block rule
# failed, the tunnel would succeed.
start_helper echo2 errlib.py echo-server --bind 127.0.0.2
ECHO2=$HELPER_PORT
# Echo servers on loopback that a rule keeps clients from, by port.
start_helper echo3 errlib.py echo-server
ECHO3=$HELPER_PORT
start_helper echo6 errlib.py echo-server --bind ::1
ECHO6=$HELPER_PORT
start_helper dns dnsd.py good.test=127.0.0.1 blocked.test=127.0.0.1 \
	www.blocked.test=127.0.0.1 notblocked.test=127.0.0.1 zero.test=0.0.0.0
DNS=$HELPER_PORT
# A closed port on an address of its own (no test makes connections from it).
CLOSED_HOST=127.0.3.1
CLOSED=$(free_port $CLOSED_HOST)

cat >"$T/err.conf" <<EOF
log_level = "debug";
timeouts = { handshake = 10.0; connect = 5.0; idle = 60.0; drain = 1.0; };
resolver = { servers = [ "127.0.0.1:$DNS" ]; };
listen = ( { address = "127.0.0.1:0"; protocols = [ "socks5", "socks4", "http" ]; } );
rules = (
	{ dest = "127.0.0.2/32"; action = "block"; },
	{ dest = ".blocked.test"; action = "block"; },
	{ port = 25; action = "block"; },
	{ dest = "127.0.0.1/32"; port = $ECHO3; action = "block"; },
	{ dest = "::1/128"; port = $ECHO6; action = "block"; }
);
EOF
start_nacre nacre -c "$T/err.conf"
P=127.0.0.1:$NACRE_PORT

# ---- SOCKS5: the allowed paths work (so the failures below mean something)
expect_eq "socks5 to an unblocked IPv4 address succeeds and echoes" "rep=00 echo=ok" \
	"$(py socks5 --proxy $P --dest 127.0.0.1:$ECHO --echo)"
expect_eq "socks5 to good.test (resolved through dnsd) succeeds" "rep=00 echo=ok" \
	"$(py socks5 --proxy $P --dest good.test:$ECHO --echo)"
expect_eq "socks5 to notblocked.test (not under .blocked.test) succeeds" "rep=00 echo=ok" \
	"$(py socks5 --proxy $P --dest notblocked.test:$ECHO --echo)"

# ---- 0x02 not allowed by ruleset
expect_eq "socks5 0x02: CIDR rule blocks 127.0.0.2" "rep=02 close=eof" \
	"$(py socks5 --proxy $P --dest 127.0.0.2:$ECHO2)"
expect_eq "socks5 0x02: suffix rule blocks blocked.test itself" "rep=02 close=eof" \
	"$(py socks5 --proxy $P --dest blocked.test:$ECHO)"
expect_eq "socks5 0x02: suffix rule blocks www.blocked.test" "rep=02 close=eof" \
	"$(py socks5 --proxy $P --dest www.blocked.test:$ECHO)"
expect_eq "socks5 0x02: port rule blocks 127.0.0.1:25" "rep=02 close=eof" \
	"$(py socks5 --proxy $P --dest 127.0.0.1:25)"
expect_eq "socks4 91: CIDR rule blocks 127.0.0.2" "rep=5b close=eof" \
	"$(py socks4 --proxy $P --dest 127.0.0.2:$ECHO2)"
expect_eq "socks4a 91: suffix rule blocks www.blocked.test" "rep=5b close=eof" \
	"$(py socks4 --proxy $P --dest www.blocked.test:$ECHO)"
# A connect() to 0.0.0.0 or :: reaches this host: a rule that blocks its
# loopback holds for them, given as an address or resolved from a name.
expect_eq "socks5 0x02: a rule blocks 127.0.0.1 on the echo's port" "rep=02 close=eof" \
	"$(py socks5 --proxy $P --dest 127.0.0.1:$ECHO3)"
expect_eq "socks5 0x02: ... and 0.0.0.0 on that port" "rep=02 close=eof" \
	"$(py socks5 --proxy $P --dest 0.0.0.0:$ECHO3)"
expect_eq "socks5 0x02: ... and ::ffff:0.0.0.0" "rep=02 close=eof" \
	"$(py socks5 --proxy $P --dest "[::ffff:0.0.0.0]:$ECHO3")"
expect_eq "socks5 0x02: ... and a name that resolves to 0.0.0.0" "rep=02 close=eof" \
	"$(py socks5 --proxy $P --dest zero.test:$ECHO3)"
expect_eq "socks5 0x02: a rule blocks ::1 on the IPv6 echo's port, and :: too" \
	"rep=02 close=eof rep=02 close=eof" \
	"$(py socks5 --proxy $P --dest "[::1]:$ECHO6") $(py socks5 --proxy $P --dest "[::]:$ECHO6")"
expect_eq "socks5: 0.0.0.0 on a port no rule blocks still reaches this host" "rep=00 echo=ok" \
	"$(py socks5 --proxy $P --dest 0.0.0.0:$ECHO --echo)"
# Tor's RESOLVE (0xF0) and RESOLVE_PTR (0xF1) meet the same rules: a blocked
# name or address is refused before any lookup, as the query would leak it.
expect_eq "socks5 RESOLVE: good.test is looked up" "rep=00 close=eof" \
	"$(py socks5 --proxy $P --dest good.test:0 --cmd 240)"
expect_eq "socks5 RESOLVE 0x02: suffix rule blocks www.blocked.test" "rep=02 close=eof" \
	"$(py socks5 --proxy $P --dest www.blocked.test:0 --cmd 240)"
expect_eq "socks5 RESOLVE_PTR 0x02: CIDR rule blocks 127.0.0.2" "rep=02 close=eof" \
	"$(py socks5 --proxy $P --dest 127.0.0.2:0 --cmd 241)"
check "nacre asked dnsd for good.test" grep -q '^query good\.test ' "$T/dns.log"
check "nacre never asked dnsd about www.blocked.test or 127.0.0.2" \
	sh -c "! grep -E '^query (www\.blocked\.test|2\.0\.0\.127\.in-addr\.arpa) ' '$T/dns.log'"
# An address literal sent as a name is that address, for the rules too.
expect_eq "socks5 0x02: CIDR rule blocks 127.0.0.2 sent as a name (ATYP 3)" "rep=02 close=eof" \
	"$(py socks5 --proxy $P --dest 127.0.0.2:$ECHO2 --atyp 3)"
expect_eq "socks5 0x02: CIDR rule blocks ::ffff:127.0.0.2 sent as a name (ATYP 3)" \
	"rep=02 close=eof" "$(py socks5 --proxy $P --dest "[::ffff:127.0.0.2]:$ECHO2" --atyp 3)"

# ---- 0x02 on a listener routed through a chain: names go to the exit
# unresolved, but an address literal sent as a name is an address, and the
# rules here refuse it before it leaves. The exit would let 127.0.0.2 through.
"$NACRE" keygen "$T/exit.key" >"$T/exit.pub" 2>/dev/null || hard_error "keygen exit"
EXIT=127.0.4.1:$(free_port 127.0.4.1)
cat >"$T/exit.conf" <<EOF
log_level = "debug";
relay = ( { address = "$EXIT"; key_file = "exit.key"; exit = true;
	    policy = ( { dest = "127.0.0.0/8"; action = "accept"; } ); } );
listen = ();
EOF
start_nacre exit -c "$T/exit.conf"
cat >"$T/chained.conf" <<EOF
log_level = "debug";
relays = ( { name = "exit"; address = "$EXIT"; key = "$(cat "$T/exit.pub")"; } );
chains = ( { name = "one"; hops = [ "exit" ]; } );
route = "one";
listen = ( { address = "127.0.0.1:0"; } );
rules = ( { dest = "127.0.0.2/32"; action = "block"; } );
EOF
start_nacre chained -c "$T/chained.conf"
PC=127.0.0.1:$NACRE_PORT
expect_eq "chained socks5: an address literal sent as a name reaches the echo server" \
	"rep=00 echo=ok" "$(py socks5 --proxy $PC --dest 127.0.0.1:$ECHO --atyp 3 --echo)"
expect_eq "chained socks5 0x02: CIDR rule blocks 127.0.0.2 sent as an address" "rep=02 close=eof" \
	"$(py socks5 --proxy $PC --dest 127.0.0.2:$ECHO2)"
expect_eq "chained socks5 0x02: CIDR rule blocks 127.0.0.2 sent as a name (ATYP 3)" \
	"rep=02 close=eof" "$(py socks5 --proxy $PC --dest 127.0.0.2:$ECHO2 --atyp 3)"
expect_eq "chained socks5 0x02: CIDR rule blocks ::ffff:127.0.0.2 sent as a name (ATYP 3)" \
	"rep=02 close=eof" "$(py socks5 --proxy $PC --dest "[::ffff:127.0.0.2]:$ECHO2" --atyp 3)"

# ---- 0x04 host unreachable: the name does not exist
expect_eq "socks5 0x04: nonexistent.test gets NXDOMAIN" "rep=04 close=eof" \
	"$(py socks5 --proxy $P --dest nonexistent.test:80)"
check "nacre asked dnsd for nonexistent.test" grep -q '^query nonexistent\.test ' "$T/dns.log"

# ---- A DNS server that never answers: the client still gets 0x04 (from
# c-ares's own timeout or the handshake timeout), never a bare close.
start_inline silent-dns '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
print("listening on 127.0.0.1:%d" % s.getsockname()[1], flush=True)
time.sleep(120)
'
SILENT=$HELPER_PORT
cat >"$T/silent.conf" <<EOF
timeouts = { handshake = 3.0; };
resolver = { servers = [ "127.0.0.1:$SILENT" ]; };
listen = ( { address = "127.0.0.1:0"; } );
EOF
SAVED_PORT=$NACRE_PORT
start_nacre nacre-silent -c "$T/silent.conf"
expect_eq "socks5 0x04: the DNS server never answers" "rep=04 close=eof" \
	"$(py socks5 --proxy 127.0.0.1:$NACRE_PORT --dest quiet.test:80 --reply-wait 20)"
NACRE_PORT=$SAVED_PORT

# ---- 0x05 connection refused
expect_eq "socks5 0x05: closed port on 127.0.0.1" "rep=05 close=eof" \
	"$(py socks5 --proxy $P --dest $CLOSED_HOST:$CLOSED)"

# ---- 0x07 command not supported, 0x08 address type not supported, 0x01
expect_eq "socks5 0x07: BIND" "rep=07 close=eof" \
	"$(py socks5 --proxy $P --dest 127.0.0.1:$ECHO --cmd 2)"
expect_eq "socks5 0x07: UDP ASSOCIATE" "rep=07 close=eof" \
	"$(py socks5 --proxy $P --dest 127.0.0.1:0 --cmd 3)"
expect_eq "socks5 0x08: ATYP 0x05" "rep=08 close=eof" \
	"$(py socks5 --proxy $P --dest 127.0.0.1:$ECHO --atyp 5)"
expect_eq "socks5 0x01: non-zero RSV byte" "rep=01 close=eof" \
	"$(py socks5 --proxy $P --dest 127.0.0.1:$ECHO --rsv 1)"

# ---- HTTP: 400s. The target 127.0.0.1:9 has no listener: a request wrongly
# forwarded would get 502, not 400.
B=127.0.0.1:9
http() { py http --proxy $P "$@"; }
expect_eq "http 400: bad request line (garbage)" "status=400 close=eof" \
	"$(http --request 'GARBAGE\r\n\r\n')"
expect_eq "http 400: request line without a version" "status=400 close=eof" \
	"$(http --request "GET http://$B/\\r\\n\\r\\n")"
# RFC 9112 section 3.2: a server MUST answer 400 to an HTTP/1.1 request without
# Host, whatever the form of its target; HTTP/1.0 may omit it.
expect_eq "http 400: HTTP/1.1 absolute-form without Host" "status=400 close=eof body=no" \
	"$(http --request "GET http://127.0.0.1:$NG/hello.txt HTTP/1.1\\r\\nConnection: close\\r\\n\\r\\n" \
		--expect-body "$ECHO_BODY")"
expect_eq "http: HTTP/1.0 absolute-form without Host is served" "status=200 close=eof body=yes" \
	"$(http --request "GET http://127.0.0.1:$NG/hello.txt HTTP/1.0\\r\\n\\r\\n" \
		--expect-body "$ECHO_BODY")"
expect_eq "http 400: origin-form request to the proxy (not forwarded to nginx)" "status=400 close=eof body=no" \
	"$(http --request "GET /hello.txt HTTP/1.1\\r\\nHost: 127.0.0.1:$NG\\r\\n\\r\\n" \
		--expect-body "$ECHO_BODY")"
expect_eq "http 400: conflicting Content-Length" "status=400 close=eof" \
	"$(http --request "POST http://$B/ HTTP/1.1\\r\\nHost: $B\\r\\nContent-Length: 5\\r\\nContent-Length: 6\\r\\n\\r\\nhello")"
expect_eq "http 400: Content-Length with Transfer-Encoding: chunked" "status=400 close=eof" \
	"$(http --request "POST http://$B/ HTTP/1.1\\r\\nHost: $B\\r\\nContent-Length: 5\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n0\\r\\n\\r\\n")"
expect_eq "http 400: whitespace before a header colon" "status=400 close=eof" \
	"$(http --request "GET http://$B/ HTTP/1.1\\r\\nHost: $B\\r\\nX-Test : yes\\r\\n\\r\\n")"
expect_eq "http 400: obs-fold header continuation" "status=400 close=eof" \
	"$(http --request "GET http://$B/ HTTP/1.1\\r\\nHost: $B\\r\\nX-Test: one\\r\\n two\\r\\n\\r\\n")"
expect_eq "http 400: header block over 16 KiB (17 headers of 1000 bytes)" "status=400 close=eof" \
	"$(http --big-header 17500 --target $B)"
expect_eq "http: a 15 KiB header block (15 headers of 1000 bytes) is served" "status=200 close=eof body=yes" \
	"$(http --big-header 15000 --target 127.0.0.1:$NG --expect-body "$ECHO_BODY")"

# ---- HTTP: 403 blocked, 502 refused / NXDOMAIN, 505
expect_eq "http 403: GET to a blocked address" "status=403 close=eof" \
	"$(http --request "GET http://127.0.0.2:$ECHO2/ HTTP/1.1\\r\\nHost: 127.0.0.2:$ECHO2\\r\\n\\r\\n")"
expect_eq "http 403: CONNECT to a blocked domain" "status=403 close=eof" \
	"$(http --request "CONNECT www.blocked.test:443 HTTP/1.1\\r\\nHost: www.blocked.test:443\\r\\n\\r\\n")"
expect_eq "http 403: CONNECT to a blocked port" "status=403 close=eof" \
	"$(http --request "CONNECT 127.0.0.1:25 HTTP/1.1\\r\\nHost: 127.0.0.1:25\\r\\n\\r\\n")"
expect_eq "curl -x sees 403 for a blocked destination" "403" \
	"$(timeout 20 curl -s -o /dev/null --max-time 15 -w '%{http_code}' -x "http://$P" "http://www.blocked.test:$ECHO/")"
expect_eq "http 502: GET to a refused port" "status=502 close=eof" \
	"$(http --request "GET http://$CLOSED_HOST:$CLOSED/ HTTP/1.1\\r\\nHost: $CLOSED_HOST:$CLOSED\\r\\n\\r\\n")"
expect_eq "http 502: CONNECT to a refused port" "status=502 close=eof" \
	"$(http --request "CONNECT $CLOSED_HOST:$CLOSED HTTP/1.1\\r\\nHost: $CLOSED_HOST:$CLOSED\\r\\n\\r\\n")"
expect_eq "curl -x: GET http://good.test/ (a name, resolved by nacre) is served" "$ECHO_BODY" \
	"$(timeout 20 curl -sS --max-time 15 -x "http://$P" "http://good.test:$NG/hello.txt")"
expect_eq "http 502: GET to a name with NXDOMAIN" "status=502 close=eof" \
	"$(http --request "GET http://nx-http.test/ HTTP/1.1\\r\\nHost: nx-http.test\\r\\n\\r\\n")"
check "nacre asked dnsd for nx-http.test (the 502 came from NXDOMAIN)" \
	grep -q '^query nx-http\.test ' "$T/dns.log"
expect_eq "curl -x sees 502 for a refused port" "502" \
	"$(timeout 20 curl -s -o /dev/null --max-time 15 -w '%{http_code}' -x "http://$P" "http://$CLOSED_HOST:$CLOSED/")"
expect_eq "http 505: GET http://x/ HTTP/2.0" "status=505 close=eof" \
	"$(http --request 'GET http://x/ HTTP/2.0\r\n\r\n')"

check "the blocked echo server on 127.0.0.2 was never contacted" \
	bash -c "! grep -q '^connection from' '$T/echo2.log'"
check "nacre is still serving after all of the above" \
	test "$(py socks5 --proxy $P --dest 127.0.0.1:$ECHO --echo)" = "rep=00 echo=ok"

# ================================================================ namespaces
NS1=nacre-unreach-$$
NS2=nacre-blackhole-$$
NS3=nacre-ownaddr-$$
NS4=nacre-far-$$
# ns_skip WHY: where namespaces cannot be made (no privilege, a chroot without
# its own /run), the four checks that need them are reported as skipped.
ns_skip() {
	for what in "socks5 0x03" "socks5 0x06" "http 504 (GET)" "http 504 (CONNECT)" \
		"exit on 0.0.0.0 refuses its host's IPv6 address" \
		"an explicit accept opens the host's IPv6 address" \
		"a middle relay extends to no address its policy does not name" \
		"a middle relay extends to the next relay its policy names"; do
		echo "ok - $what # SKIP $1"
	done
	finish
}
ip netns add "$NS1" 2>"$T/netns.err" ||
	ns_skip "cannot create a network namespace: $(head -n 1 "$T/netns.err")"
NETNS="$NS1"
ip netns add "$NS2" 2>"$T/netns.err" || ns_skip "ip netns add: $(head -n 1 "$T/netns.err")"
ip netns add "$NS3" 2>"$T/netns.err" || ns_skip "ip netns add: $(head -n 1 "$T/netns.err")"
NETNS="$NS1 $NS2 $NS3"
ip netns add "$NS4" 2>"$T/netns.err" || ns_skip "ip netns add: $(head -n 1 "$T/netns.err")"
NETNS="$NS1 $NS2 $NS3 $NS4"
{ ip -n "$NS1" link set lo up && ip -n "$NS2" link set lo up; } 2>"$T/netns.err" ||
	ns_skip "cannot configure a namespace: $(head -n 1 "$T/netns.err")"

# NS2 has a route to 198.51.100.0/24 where nothing answers: SYNs vanish. A
# dummy interface if the kernel has it, else a veth pair (both ends in NS2)
# with a static neighbour entry whose MAC nobody owns.
if ip -n "$NS2" link add d0 type dummy 2>/dev/null; then
	ip -n "$NS2" addr add 198.51.100.1/24 dev d0 && ip -n "$NS2" link set d0 up ||
		hard_error "dummy setup in $NS2"
else
	{ ip -n "$NS2" link add v0 type veth peer name v1 &&
		ip -n "$NS2" addr add 198.51.100.1/24 dev v0 &&
		ip -n "$NS2" link set v0 up && ip -n "$NS2" link set v1 up &&
		ip -n "$NS2" neigh replace 198.51.100.7 lladdr 02:00:00:00:00:07 dev v0 nud permanent; } ||
		hard_error "veth setup in $NS2"
fi

# ---- 0x03 network unreachable: NS1 has only lo, so 192.0.2.1 has no route.
cat >"$T/unreach.conf" <<EOF
timeouts = { connect = 5.0; };
listen = ( { address = "127.0.0.1:0"; } );
EOF
NACRE=$(ns_nacre "$NS1") start_nacre nacre-ns1 -v -c "$T/unreach.conf"
expect_eq "socks5 0x03: 192.0.2.1 from a namespace with only lo" "rep=03 close=eof" \
	"$(ip netns exec "$NS1" timeout 60 "$PYTHON" -S -u "$ERRLIB" socks5 \
		--proxy 127.0.0.1:$NACRE_PORT --dest 192.0.2.1:80)"

# ---- 0x06 TTL expired / timeout, and HTTP 504
cat >"$T/timeout.conf" <<EOF
timeouts = { connect = 1.0; };
listen = ( { address = "127.0.0.1:0"; } );
EOF
NACRE=$(ns_nacre "$NS2") start_nacre nacre-ns2 -v -c "$T/timeout.conf"
P2=127.0.0.1:$NACRE_PORT
nspy() { ip netns exec "$NS2" timeout 60 "$PYTHON" -S -u "$ERRLIB" "$@"; }
expect_eq "socks5 0x06: connect to 198.51.100.7 times out" "rep=06 close=eof" \
	"$(nspy socks5 --proxy $P2 --dest 198.51.100.7:80)"
expect_eq "http 504: GET to 198.51.100.7 times out" "status=504 close=eof" \
	"$(nspy http --proxy $P2 --request 'GET http://198.51.100.7/ HTTP/1.1\r\nHost: 198.51.100.7\r\n\r\n')"
expect_eq "http 504: CONNECT to 198.51.100.7 times out" "status=504 close=eof" \
	"$(nspy http --proxy $P2 --request 'CONNECT 198.51.100.7:80 HTTP/1.1\r\nHost: 198.51.100.7:80\r\n\r\n')"

# ---- an exit's own addresses are every address of its host, in both
# families: one listening on 0.0.0.0 must not reach a service bound to the
# host's IPv6 address (2001:db8::1 in NS3; nothing listens, so a connection
# would be refused: 0x05). An accept that names the address opens it.
{ ip -n "$NS3" link set lo up && ip -n "$NS3" link add v0 type veth peer name v1 netns "$NS4" &&
	ip -n "$NS3" addr add 2001:db8::1/64 dev v0 nodad &&
	ip -n "$NS4" addr add 2001:db8::2/64 dev v1 nodad &&
	ip -n "$NS3" link set v0 up && ip -n "$NS4" link set v1 up; } 2>"$T/netns.err" ||
	hard_error "veth setup in $NS3: $(head -n 1 "$T/netns.err")"
"$NACRE" keygen "$T/own.key" >"$T/own.pub" 2>/dev/null || hard_error "keygen own.key"
own_conf() {
	cat <<EOF
relay = ( { address = "0.0.0.0:9009"; key_file = "$T/own.key"; exit = true; $1 } );
relays = ( { name = "x"; address = "127.0.0.1:9009"; key = "$(cat "$T/own.pub")"; } );
chains = ( { name = "c"; hops = [ "x" ]; } );
listen = ( { address = "127.0.0.1:0"; route = "c"; } );
EOF
}
n3py() { ip netns exec "$NS3" timeout 60 "$PYTHON" -S -u "$ERRLIB" "$@"; }
own_conf "" >"$T/own.conf"
NACRE=$(ns_nacre "$NS3") start_nacre nacre-own -v -c "$T/own.conf"
expect_eq "exit on 0.0.0.0 refuses its host's IPv6 address" "rep=02 close=eof" \
	"$(n3py socks5 --proxy 127.0.0.1:$NACRE_PORT --dest '[2001:db8::1]:81')"
kill "$NACRE_PID" 2>/dev/null
wait "$NACRE_PID" 2>/dev/null
own_conf 'policy = ( { dest = "2001:db8::1"; action = "accept"; } );' >"$T/own-open.conf"
NACRE=$(ns_nacre "$NS3") start_nacre nacre-own-open -v -c "$T/own-open.conf"
expect_eq "an explicit accept opens the host's IPv6 address" "rep=05 close=eof" \
	"$(n3py socks5 --proxy 127.0.0.1:$NACRE_PORT --dest '[2001:db8::1]:81')"
kill "$NACRE_PID" 2>/dev/null
wait "$NACRE_PID" 2>/dev/null

# ---- a middle relay (exit = false) extends only to addresses its policy
# names (one that names none is a config error; config.sh checks that). Otherwise anyone holding its key could use it as an exit: the blob
# it writes to the "next relay" is the client's to choose. The chain's second
# hop is 2001:db8::2:81 in NS4 (a public address, not the middle's host's),
# where a listener counts connections and closes them; every failure of a
# middle is STATUS 8 (0x01) either way.
ip netns exec "$NS4" "$PYTHON" -S -u -c '
import socket, sys
s = socket.socket(socket.AF_INET6)
s.bind(("2001:db8::2", 81))
s.listen(8)
print("listening on [2001:db8::2]:81", flush=True)
while True:
    c, _ = s.accept()
    with open(sys.argv[1], "a") as f:
        f.write("connection\n")
    c.close()
' "$T/far.count" >"$T/far.log" 2>&1 &
PIDS="$PIDS $!"
wait_for_line "$T/far.log" 'listening on ' 30 || hard_error "the listener in $NS4 did not start"
: >"$T/far.count"
middle_conf() {
	cat <<EOF
relay = ( { address = "127.0.0.1:9010"; key_file = "$T/own.key"; exit = false; $1 } );
relays = ( { name = "m"; address = "127.0.0.1:9010"; key = "$(cat "$T/own.pub")"; },
	{ name = "far"; address = "[2001:db8::2]:81"; key = "$(cat "$T/own.pub")"; } );
chains = ( { name = "c"; hops = [ "m", "far" ]; } );
listen = ( { address = "127.0.0.1:0"; route = "c"; } );
EOF
}
middle_conf 'policy = ( { dest = "2001:db8::3"; port = 81; action = "accept"; } );' \
	>"$T/middle.conf"
NACRE=$(ns_nacre "$NS3") start_nacre nacre-middle -v -c "$T/middle.conf"
out=$(n3py socks5 --proxy 127.0.0.1:$NACRE_PORT --dest 93.184.216.34:80)
expect_eq "a middle relay extends to no address its policy does not name ($out)" 0 \
	"$(wc -l <"$T/far.count")"
kill "$NACRE_PID" 2>/dev/null
wait "$NACRE_PID" 2>/dev/null
middle_conf 'policy = ( { dest = "2001:db8::2"; port = 81; action = "accept"; } );' \
	>"$T/middle-named.conf"
NACRE=$(ns_nacre "$NS3") start_nacre nacre-middle-named -v -c "$T/middle-named.conf"
out=$(n3py socks5 --proxy 127.0.0.1:$NACRE_PORT --dest 93.184.216.34:80)
# (two connections, or more: after a dial the relay opens a spare one.)
check "a middle relay extends to the next relay its policy names ($out)" \
	test "$(wc -l <"$T/far.count")" -ge 1

finish
