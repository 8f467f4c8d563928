#!/bin/bash
# SOCKS4 and SOCKS4a through nacre: curl with local and proxy-side name
# resolution, raw requests in one piece and byte by byte, BIND refused with 91,
# and SOCKS4 refused with 91 when --users requires a password.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/integration/lib.sh"

start_origin origin http --host 127.0.0.1 --host ::1
O=$ORIGIN_PORT
start_origin dns dns --dns-name origin.nacre.test --record "$T/dns-queries"
DNS=$ORIGIN_PORT

start_nacre nacre --listen 127.0.0.1:0 --resolver "127.0.0.1:$DNS"
P=$NACRE_PORT
printf 'alice:s3cret\n' >"$T/users"
chmod 600 "$T/users"
start_nacre nacre-auth --listen 127.0.0.1:0 --users "$T/users"
PA=$NACRE_PORT

N=300000
SHA=$(origin_sha256 $N)

expect_eq "curl --socks4, IPv4 literal destination" "$SHA" \
	"$(curl_sha256 --socks4 "127.0.0.1:$P" "http://127.0.0.1:$O/bytes/$N")"
expect_eq "curl --socks4, localhost destination (resolved by curl)" "$SHA" \
	"$(curl_sha256 --socks4 "127.0.0.1:$P" "http://localhost:$O/bytes/$N")"
expect_eq "curl --socks4a, localhost (resolved by nacre)" "$SHA" \
	"$(curl_sha256 --socks4a "127.0.0.1:$P" "http://localhost:$O/bytes/$N")"
expect_eq "curl --socks4a, origin.nacre.test (resolved by nacre via --resolver)" "$SHA" \
	"$(curl_sha256 --socks4a "127.0.0.1:$P" "http://origin.nacre.test:$O/bytes/$N")"
check "nacre asked the --resolver server for origin.nacre.test" \
	grep -q '^origin\.nacre\.test ' "$T/dns-queries"
expect_eq "curl --socks4 with a user id" "$SHA" \
	"$(curl_sha256 -x "socks4://someone@127.0.0.1:$P" "http://127.0.0.1:$O/bytes/$N")"

# socks4_raw PROXYPORT MODE CMD HOST PORT: MODE is "whole" (request and an HTTP
# GET in one send) or "trickle" (request one byte per write). HOST is an IPv4
# literal (SOCKS4) or a name (SOCKS4a). Prints "REPLYHEX [STATUS BODYSHA]".
socks4_raw() {
	run_py 30 - "$@" <<'PY'
import hashlib, socket, struct, sys, time
from origin import Closed, Reader, http_response, recv_exact, recv_to_eof
port, mode, cmd, host, dport = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
try:
    ip = socket.inet_pton(socket.AF_INET, host)
    req = struct.pack("!BBH", 4, cmd, dport) + ip + b"tester\0"
except OSError:
    req = struct.pack("!BBH", 4, cmd, dport) + b"\0\0\0\x01" + b"tester\0" + host.encode() + b"\0"
get = b"GET /bytes/1000 HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % host.encode()
s = socket.create_connection(("127.0.0.1", port), timeout=10)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
if mode == "whole":
    s.sendall(req + get)
else:
    for b in req:
        s.send(bytes([b]))
        time.sleep(0.01)
reply = recv_exact(s, 8)
if reply[1] != 0x5A:
    rest = recv_to_eof(s)
    print(reply.hex(), "eof" if not rest else "more")
    sys.exit(0)
if mode != "whole":
    s.sendall(get)
st, h, body = http_response(Reader(s))
print(reply[:2].hex(), st, hashlib.sha256(body).hexdigest())
PY
}
SHA1000=$(origin_sha256 1000)
expect_eq "raw SOCKS4 CONNECT and HTTP request in one send" "005a 200 $SHA1000" \
	"$(socks4_raw "$P" whole 1 127.0.0.1 "$O")"
expect_eq "raw SOCKS4 CONNECT one byte per write" "005a 200 $SHA1000" \
	"$(socks4_raw "$P" trickle 1 127.0.0.1 "$O")"
expect_eq "raw SOCKS4a CONNECT and HTTP request in one send" "005a 200 $SHA1000" \
	"$(socks4_raw "$P" whole 1 localhost "$O")"
expect_eq "raw SOCKS4a CONNECT one byte per write" "005a 200 $SHA1000" \
	"$(socks4_raw "$P" trickle 1 localhost "$O")"

out=$(socks4_raw "$P" whole 2 127.0.0.1 "$O")
expect_eq "raw SOCKS4 BIND gets 91, then EOF" "005b eof" "${out:0:4} ${out##* }"

out=$(socks4_raw "$PA" whole 1 127.0.0.1 "$O")
expect_eq "raw SOCKS4 CONNECT with --users set gets 91, then EOF" "005b eof" "${out:0:4} ${out##* }"
out=$(socks4_raw "$PA" whole 1 localhost "$O")
expect_eq "raw SOCKS4a CONNECT with --users set gets 91, then EOF" "005b eof" "${out:0:4} ${out##* }"
expect_eq "curl --socks4 fails with a proxy error (97) when --users is set" 97 \
	"$(timeout 20 curl -s --max-time 15 -o /dev/null --socks4 "127.0.0.1:$PA" "http://127.0.0.1:$O/bytes/10"; echo $?)"

finish
