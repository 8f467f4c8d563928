#!/bin/bash
# SOCKS5 through nacre: curl with local and proxy-side name resolution, IPv4,
# IPv6 and domain destinations, RFC 1929 authentication, byte-at-a-time and
# pipelined handshakes, BND.ADDR/BND.PORT, and Tor's RESOLVE / RESOLVE_PTR.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/integration/lib.sh"

start_origin origin http --host 127.0.0.1 --host ::1
O=$ORIGIN_PORT
# A DNS server on loopback that alone knows origin.nacre.test: only a proxy
# that resolves the name itself (through --resolver) can reach it.
start_origin dns dns --dns-name origin.nacre.test --record "$T/dns-queries"
DNS=$ORIGIN_PORT

start_nacre nacre --listen 127.0.0.1:0
P=$NACRE_PORT
start_nacre nacre-dns --listen 127.0.0.1:0 --resolver "127.0.0.1:$DNS"
PD=$NACRE_PORT
printf 'alice:s3cret\nbob:hunter2\n' >"$T/users"
chmod 600 "$T/users"
start_nacre nacre-auth --listen 127.0.0.1:0 --users "$T/users"
PA=$NACRE_PORT

N=300000
SHA=$(origin_sha256 $N)

# ---- curl
expect_eq "curl --socks5, IPv4 literal destination" "$SHA" \
	"$(curl_sha256 --socks5 "127.0.0.1:$P" "http://127.0.0.1:$O/bytes/$N")"
expect_eq "curl --socks5, localhost destination (resolved by curl)" "$SHA" \
	"$(curl_sha256 --socks5 "127.0.0.1:$P" "http://localhost:$O/bytes/$N")"
expect_eq "curl --socks5 to proxy named localhost" "$SHA" \
	"$(curl_sha256 --socks5 "localhost:$P" "http://127.0.0.1:$O/bytes/$N")"
expect_eq "curl --socks5-hostname localhost (resolved by nacre from /etc/hosts)" "$SHA" \
	"$(curl_sha256 --socks5-hostname "127.0.0.1:$P" "http://localhost:$O/bytes/$N")"
expect_eq "curl --socks5-hostname origin.nacre.test (resolved by nacre via --resolver)" "$SHA" \
	"$(curl_sha256 --socks5-hostname "127.0.0.1:$PD" "http://origin.nacre.test:$O/bytes/$N")"
check "nacre asked the --resolver server for origin.nacre.test" \
	grep -q '^origin\.nacre\.test ' "$T/dns-queries"
expect_eq "curl --socks5, IPv6 literal [::1] destination" "$SHA" \
	"$(curl_sha256 --socks5 "127.0.0.1:$P" "http://[::1]:$O/bytes/$N")"
expect_eq "curl --socks5-hostname, IPv6 literal [::1] destination" "$SHA" \
	"$(curl_sha256 --socks5-hostname "127.0.0.1:$P" "http://[::1]:$O/bytes/$N")"

# ---- authentication
expect_eq "curl with the right credentials (alice)" "$SHA" \
	"$(curl_sha256 -x "socks5h://alice:s3cret@127.0.0.1:$PA" "http://127.0.0.1:$O/bytes/$N")"
expect_eq "curl with the right credentials (bob, second line of --users)" "$SHA" \
	"$(curl_sha256 --socks5 "127.0.0.1:$PA" --proxy-user bob:hunter2 "http://127.0.0.1:$O/bytes/$N")"
# curl_exit CURL-ARGS...: curl's exit status (97 is "proxy handshake error").
curl_exit() { timeout 20 curl -s --max-time 15 -o /dev/null "$@"; echo $?; }
expect_eq "curl with a wrong password fails with a proxy error" 97 \
	"$(curl_exit -x "socks5h://alice:wrong@127.0.0.1:$PA" "http://127.0.0.1:$O/bytes/10")"
expect_eq "curl with an unknown user fails with a proxy error" 97 \
	"$(curl_exit -x "socks5h://mallory:s3cret@127.0.0.1:$PA" "http://127.0.0.1:$O/bytes/10")"
expect_eq "curl without credentials fails with a proxy error when --users is set" 97 \
	"$(curl_exit -x "socks5h://127.0.0.1:$PA" "http://127.0.0.1:$O/bytes/10")"

expect_eq "raw: wrong password gets a non-zero auth status, then EOF" "method=02 status!=0 eof" \
	"$(run_py 20 - "$PA" <<'PY'
import socket, sys
from origin import recv_exact, recv_to_eof
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"\x05\x01\x02")
m = recv_exact(s, 2)
s.sendall(b"\x01\x05alice\x05wrong")
a = recv_exact(s, 2)
rest = recv_to_eof(s)
print("method=%02x status%s0 %s" % (m[1], "!=" if a[1] != 0 else "==",
      "eof" if rest == b"" else "more:%r" % rest[:20]))
PY
)"
expect_eq "raw: offering only no-auth to an auth server gets 0xFF, then EOF" "05ff eof" \
	"$(run_py 20 - "$PA" <<'PY'
import socket, sys
from origin import recv_exact, recv_to_eof
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"\x05\x01\x00")
m = recv_exact(s, 2)
rest = recv_to_eof(s)
print(m.hex(), "eof" if rest == b"" else "more:%r" % rest[:20])
PY
)"
expect_eq "raw: offering no-auth and user/password to an auth server picks 0x02" "0502" \
	"$(run_py 20 - "$PA" <<'PY'
import socket, sys
from origin import recv_exact
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"\x05\x02\x00\x02")
print(recv_exact(s, 2).hex())
PY
)"

# ---- handshakes in pieces and pipelined
# A GET /bytes/1000 through the tunnel; prints the reply code and body hash.
SHA1000=$(origin_sha256 1000)
expect_eq "raw: greeting and request sent one byte per write" "rep=0 $SHA1000" \
	"$(run_py 30 - "$P" "$O" <<'PY'
import hashlib, socket, sys, time
from origin import Reader, http_response, recv_exact, socks5_read_reply, socks5_request
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
def trickle(data):
    for b in data:
        s.send(bytes([b]))
        time.sleep(0.02)
trickle(b"\x05\x01\x00")
assert recv_exact(s, 2) == b"\x05\x00"
trickle(socks5_request("127.0.0.1", int(sys.argv[2])))
rep = socks5_read_reply(s)[0]
s.sendall(b"GET /bytes/1000 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
st, h, body = http_response(Reader(s))
print("rep=%d %s" % (rep, hashlib.sha256(body).hexdigest()))
PY
)"
expect_eq "raw: greeting, auth and request with a domain sent one byte per write" \
	"rep=0 $SHA1000" \
	"$(run_py 30 - "$PA" "$O" <<'PY'
import hashlib, socket, sys, time
from origin import Reader, http_response, recv_exact, socks5_read_reply, socks5_request
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
def trickle(data):
    for b in data:
        s.send(bytes([b]))
        time.sleep(0.01)
trickle(b"\x05\x01\x02")
assert recv_exact(s, 2) == b"\x05\x02"
trickle(b"\x01\x03bob\x07hunter2")
assert recv_exact(s, 2) == b"\x01\x00"
trickle(socks5_request("localhost", int(sys.argv[2])))
rep = socks5_read_reply(s)[0]
s.sendall(b"GET /bytes/1000 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
st, h, body = http_response(Reader(s))
print("rep=%d %s" % (rep, hashlib.sha256(body).hexdigest()))
PY
)"
expect_eq "raw: greeting+auth+request+HTTP request pipelined in one send" \
	"0502 0100 rep=0 200 $SHA1000" \
	"$(run_py 20 - "$PA" "$O" <<'PY'
import hashlib, socket, sys
from origin import Reader, http_response, recv_exact, socks5_read_reply, socks5_request
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"\x05\x01\x02" + b"\x01\x05alice\x06s3cret" +
          socks5_request("127.0.0.1", int(sys.argv[2])) +
          b"GET /bytes/1000 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
m = recv_exact(s, 2).hex()
a = recv_exact(s, 2).hex()
rep = socks5_read_reply(s)[0]
st, h, body = http_response(Reader(s))
print(m, a, "rep=%d" % rep, st, hashlib.sha256(body).hexdigest())
PY
)"
expect_eq "raw: greeting+request+HTTP request pipelined in one send (no auth)" \
	"0500 rep=0 200 $SHA1000" \
	"$(run_py 20 - "$P" "$O" <<'PY'
import hashlib, socket, sys
from origin import Reader, http_response, recv_exact, socks5_read_reply, socks5_request
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"\x05\x01\x00" + socks5_request("127.0.0.1", int(sys.argv[2])) +
          b"GET /bytes/1000 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
m = recv_exact(s, 2).hex()
rep = socks5_read_reply(s)[0]
st, h, body = http_response(Reader(s))
print(m, "rep=%d" % rep, st, hashlib.sha256(body).hexdigest())
PY
)"

# ---- BND.ADDR / BND.PORT: the origin reports the peer it saw
# Prints "BNDHOST BNDPORT | PEERHOST PEERPORT" for a tunnel to DEST.
bnd_check() {
	run_py 20 - "$P" "$1" "$O" <<'PY'
import socket, sys
from origin import Reader, http_response, socks5_connect
s, rep, bh, bp = socks5_connect(int(sys.argv[1]), sys.argv[2], int(sys.argv[3]))
s.sendall(b"GET /peer HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
st, h, body = http_response(Reader(s))
print("rep=%d bnd=%s %d | peer=%s" % (rep, bh, bp, body.decode().strip()))
PY
}
out=$(bnd_check 127.0.0.1)
bnd=${out#*bnd=}; bnd=${bnd% |*}; peer=${out#*peer=}
case $out in rep=0*) ;; *) peer="(reply: $out)" ;; esac
expect_eq "BND.ADDR/BND.PORT equal the outgoing connection's local address (IPv4)" "$peer" "$bnd"
out=$(bnd_check ::1)
bnd=${out#*bnd=}; bnd=${bnd% |*}; peer=${out#*peer=}
case $out in rep=0*) ;; *) peer="(reply: $out)" ;; esac
expect_eq "BND.ADDR/BND.PORT equal the outgoing connection's local address (IPv6)" "$peer" "$bnd"

# ---- BIND is not supported
expect_eq "BIND gets reply 0x07 (command not supported)" "rep=7" \
	"$(run_py 20 - "$P" <<'PY'
import socket, sys
from origin import recv_exact, socks5_read_reply, socks5_request
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"\x05\x01\x00")
assert recv_exact(s, 2) == b"\x05\x00"
s.sendall(socks5_request("127.0.0.1", 1, cmd=2))
print("rep=%d" % socks5_read_reply(s)[0])
PY
)"

# ---- Tor extensions
# resolve PROXYPORT CMD HOST: prints "rep=R atyp=A HOST".
resolve() {
	run_py 20 - "$@" <<'PY'
import socket, sys
from origin import recv_exact, socks5_read_reply, socks5_request
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"\x05\x01\x00")
assert recv_exact(s, 2) == b"\x05\x00"
s.sendall(socks5_request(sys.argv[3], 0, cmd=int(sys.argv[2], 16)))
rep, atyp, host, port = socks5_read_reply(s)
print("rep=%d atyp=%d %s" % (rep, atyp, host))
PY
}
out=$(resolve "$P" f0 localhost)
case $out in
"rep=0 atyp=1 127.0.0.1" | "rep=0 atyp=4 ::1") pass "RESOLVE (0xF0) localhost: $out" ;;
*) fail "RESOLVE (0xF0) localhost: expected 'rep=0 atyp=1 127.0.0.1' or 'rep=0 atyp=4 ::1', got '$out'" ;;
esac
expect_eq "RESOLVE (0xF0) origin.nacre.test via --resolver" "rep=0 atyp=1 127.0.0.1" \
	"$(resolve "$PD" f0 origin.nacre.test)"
# The names /etc/hosts gives 127.0.0.1, plus localhost (the local DNS server's answer).
names=" localhost $(awk '$1 == "127.0.0.1" { for (i = 2; i <= NF; i++) printf "%s ", $i }' /etc/hosts)"
out=$(resolve "$PD" f1 127.0.0.1)
case $out in
"rep=0 atyp=3 "?*)
	name=${out#rep=0 atyp=3 }
	case $names in
	*" $name "*) pass "RESOLVE_PTR (0xF1) 127.0.0.1 gives a name: $name" ;;
	*) fail "RESOLVE_PTR (0xF1) 127.0.0.1: '$name' is not one of:$names" ;;
	esac ;;
*) fail "RESOLVE_PTR (0xF1) 127.0.0.1: expected 'rep=0 atyp=3 NAME', got '$out'" ;;
esac

# ---- an IPv6 listener next to an IPv4 one
start_nacre nacre-v6 --listen 127.0.0.1:0 --listen '[::1]:0'
P6=$(nacre_port_for nacre-v6 '\[::1\]')
check "nacre logs its [::1] listener" test -n "$P6"
expect_eq "curl --socks5 to the proxy on [::1]" "$SHA" \
	"$(curl_sha256 --socks5 "[::1]:${P6:-1}" "http://127.0.0.1:$O/bytes/$N")"

finish
