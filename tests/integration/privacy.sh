#!/bin/bash
# Privacy: at the default log level nothing a client asked for (names,
# addresses, ports) reaches the log, whether the request succeeds or fails;
# with -v (debug) it does, which shows the check below can see it.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/integration/lib.sh"

start_origin http http
OP=$ORIGIN_PORT
start_helper dns dnsd.py secret-origin.test=127.0.0.1
DNS=$HELPER_PORT

# drive NAME: successful and failing requests of every kind through nacre NAME.
drive() {
	local p=$NACRE_PORT
	curl -s -o /dev/null --max-time 10 --socks5-hostname 127.0.0.1:$p "http://secret-origin.test:$OP/bytes/10"
	curl -s -o /dev/null --max-time 10 --socks5 127.0.0.1:$p "http://127.0.0.1:$OP/bytes/10"
	curl -s -o /dev/null --max-time 10 --socks4a 127.0.0.1:$p "http://secret-origin.test:$OP/bytes/10"
	curl -s -o /dev/null --max-time 10 -x http://127.0.0.1:$p "http://secret-origin.test:$OP/bytes/10"
	curl -s -o /dev/null --max-time 10 -p -x http://127.0.0.1:$p "http://secret-origin.test:$OP/bytes/10"
	curl -s -o /dev/null --max-time 10 --socks5-hostname 127.0.0.1:$p "http://no-such-secret.test:$OP/"
	curl -s -o /dev/null --max-time 10 -x http://127.0.0.1:$p "http://no-such-secret.test:$OP/"
	curl -s -o /dev/null --max-time 10 --socks5 127.0.0.1:$p "http://127.0.0.1:1/"
}

leaks() { grep -cE "secret-origin|no-such-secret|:$OP\\b|127\\.0\\.0\\.1:1\\b" "$T/$1.log"; }

start_nacre quiet --listen 127.0.0.1:0 --resolver 127.0.0.1:$DNS
drive
check "the resolver was asked (the requests really ran)" grep -q 'secret-origin.test' "$T/dns.log"
expect_eq "default log level: no destination in the log" 0 "$(leaks quiet)"

start_nacre loud -v --listen 127.0.0.1:0 --resolver 127.0.0.1:$DNS
drive
n=$(leaks loud)
check "debug log level: destinations are logged ($n lines)" test "$n" -gt 0

# ---- RFC 6761: "localhost" and names under it are loopback and never go to a
# DNS server, even where /etc/hosts does not list them.
before=$(grep -c '^query' "$T/dns.log")
got=$(curl -s --max-time 10 --socks5-hostname 127.0.0.1:$NACRE_PORT \
	"http://app.localhost:$OP/bytes/10" | wc -c)
expect_eq "app.localhost is served (loopback)" 10 "$got"
out=$(run_py 20 - "$NACRE_PORT" <<'PY'
import socket, struct, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"\x05\x01\x00")
s.recv(2)
name = b"LOCALHOST."
s.sendall(b"\x05\xf0\x00\x03" + bytes([len(name)]) + name + b"\x00\x00")
r = s.recv(10)
print("rep=%d %s" % (r[1], socket.inet_ntoa(r[4:8])))
PY
)
expect_eq "RESOLVE of LOCALHOST. gives 127.0.0.1" "rep=0 127.0.0.1" "$out"
expect_eq "no DNS query was made for localhost names" "$before" "$(grep -c '^query' "$T/dns.log")"

# ---- A name with a NUL or a control byte is refused (0x04) and never looked
# up: a truncated "secret-origin.test" must not reach the DNS server.
before=$(grep -c '^query' "$T/dns.log")
out=$(run_py 20 - "$NACRE_PORT" <<'PY'
import socket, sys
res = []
for name in (b"secret-origin.test\x00.evil", b"secret-origin.test\r\nX"):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
    s.sendall(b"\x05\x01\x00")
    s.recv(2)
    s.sendall(b"\x05\x01\x00\x03" + bytes([len(name)]) + name + b"\x00\x50")
    res.append("rep=%d" % s.recv(10)[1])
print(" ".join(res))
PY
)
expect_eq "names with NUL or CR LF get 0x04" "rep=4 rep=4" "$out"
expect_eq "and no DNS query was made for them" "$before" "$(grep -c '^query' "$T/dns.log")"

finish
