#!/bin/bash
# HTTP proxy through nacre: absolute-form requests with keep-alive on both
# sides, request bodies (Content-Length, chunked, empty), HEAD, empty, chunked
# and close-delimited responses, hop-by-hop header removal with nothing added,
# CONNECT (curl --proxytunnel, a raw client with early data, and one after a
# kept-alive GET), and Basic proxy authentication (407).
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/integration/lib.sh"

start_origin origin http --host 127.0.0.1 --host ::1
O=$ORIGIN_PORT
start_origin origin-b http --label B
OB=$ORIGIN_PORT
start_origin echo echo
E=$ORIGIN_PORT

start_nacre nacre --listen 127.0.0.1:0
P=$NACRE_PORT
NP=$NACRE_PID
printf 'alice:s3cret\nbob:hunter2\n' >"$T/users"
chmod 600 "$T/users"
start_nacre nacre-auth --listen 127.0.0.1:0 --users "$T/users"
PA=$NACRE_PORT

U="http://127.0.0.1:$O"
N=300000
SHA=$(origin_sha256 $N)
mycurl() { timeout 20 curl -sS --max-time 15 "$@"; }
fetch() { mycurl "$@" | sha256sum | cut -d' ' -f1; }

# ---- absolute-form GET, keep-alive
expect_eq "absolute-form GET through -x" "$SHA" "$(fetch -x "127.0.0.1:$P" "$U/bytes/$N")"
expect_eq "absolute-form GET, localhost destination resolved by nacre" "$SHA" \
	"$(fetch -x "127.0.0.1:$P" "http://localhost:$O/bytes/$N")"
expect_eq "absolute-form GET, IPv6 literal [::1] destination" "$SHA" \
	"$(fetch -x "127.0.0.1:$P" "http://[::1]:$O/bytes/$N")"

mycurl -v -x "127.0.0.1:$P" "$U/conn-id" "$U/bytes/1000" "$U/conn-id" "$U/conn-id" \
	-o "$T/id1" -o /dev/null -o "$T/id2" -o "$T/id3" 2>"$T/reuse.err"
expect_eq "curl re-used its connection to nacre for 4 URLs" 3 \
	"$(grep -c 'Re-using existing connection' "$T/reuse.err")"
ids=$(cat "$T/id1" "$T/id2" "$T/id3" 2>/dev/null | tr '\n' ' ')
id1=${ids%% *}
check "origin reported a connection id" test -n "$id1"
expect_eq "origin saw one upstream connection for the 4 requests (conn-ids 1st, 3rd, 4th)" \
	"${id1:-ID} ${id1:-ID} ${id1:-ID} " "$ids"

# Raw client: two requests pipelined in one send, then requests that switch
# between two origins on one client connection; then an HTTP/1.0 request.
expect_eq "raw: pipelined requests answered in order; switching origins reaches each" \
	"origin 2000 B origin | close" \
	"$(run_py 20 - "$P" "$O" "$OB" <<'PY'
import socket, sys
from origin import Reader, http_response, recv_to_eof
p, a, b = map(int, sys.argv[1:])
s = socket.create_connection(("127.0.0.1", p), timeout=10)
r = Reader(s)
def get(port, path):
    return b"GET http://127.0.0.1:%d%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % (port, path, port)
out = []
s.sendall(get(a, b"/label") + get(a, b"/bytes/2000"))
out.append(http_response(r)[2].decode().strip())
out.append(str(len(http_response(r)[2])))
s.sendall(get(b, b"/label"))
out.append(http_response(r)[2].decode().strip())
s.sendall(get(a, b"/label"))
out.append(http_response(r)[2].decode().strip())
s2 = socket.create_connection(("127.0.0.1", p), timeout=10)
s2.sendall(b"GET http://127.0.0.1:%d/label HTTP/1.0\r\n\r\n" % a)
reply = recv_to_eof(s2)  # HTTP/1.0 without keep-alive: the proxy closes
out.append("|")
out.append("close" if reply.endswith(b"\r\n\r\norigin\n") else repr(reply))
print(" ".join(out))
PY
)"

# ---- request bodies
head -c 1000003 /dev/urandom >"$T/body"
BSHA=$(sha256_of "$T/body")
expect_eq "POST with Content-Length" "$BSHA" \
	"$(mycurl -x "127.0.0.1:$P" --data-binary @"$T/body" "$U/sha256")"
expect_eq "POST with Transfer-Encoding: chunked" "$BSHA" \
	"$(mycurl -x "127.0.0.1:$P" -H 'Transfer-Encoding: chunked' --data-binary @"$T/body" "$U/sha256")"
expect_eq "empty POST" "$(printf '' | sha256sum | cut -d' ' -f1)" \
	"$(mycurl -x "127.0.0.1:$P" --data-binary '' "$U/sha256")"

# Raw client: a GET, then its FIN before the answer. nacre is stopped while the
# FIN and then the answer arrive, so one wakeup brings both, the answer first
# in line: the answer is complete before the FIN is read, and must still reach
# the client before nacre closes.
expect_eq "raw: an answer complete before the client's FIN is read still goes out" \
	"200 late" \
	"$(run_py 20 - "$P" "$O" "$NP" <<'PY'
import os, signal, socket, sys, time
from origin import Closed, Reader, http_response
p, o, pid = map(int, sys.argv[1:])
s = socket.create_connection(("127.0.0.1", p), timeout=5)
s.sendall(b"GET http://127.0.0.1:%d/delay/500 HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % (o, o))
time.sleep(0.1)  # nacre has passed the request on
os.kill(pid, signal.SIGSTOP)
try:
    time.sleep(0.1)
    s.shutdown(socket.SHUT_WR)
    time.sleep(0.6)  # the answer has come too
finally:
    os.kill(pid, signal.SIGCONT)
try:
    st, h, b = http_response(Reader(s))
    print(st, b.decode().strip())
except (OSError, Closed) as e:
    print("error:" + type(e).__name__)
PY
)"

# Raw client: a body of Content-Length: 0 is over as soon as its head is, in
# both directions; the next request on the connection is answered at once
# (5 s socket timeout against nacre's 300 s idle timeout) on the same upstream
# connection, and a client that half-closes after an empty POST still gets
# its answer.
EMPTY_SHA=$(printf '' | sha256sum | cut -d' ' -f1)
expect_eq "raw: Content-Length: 0 ends a response and a request body at once" \
	"get=200:0 next=200 ids=same | post=200:$EMPTY_SHA next=200 ids=same | halfclose=200:$EMPTY_SHA" \
	"$(run_py 30 - "$P" "$O" <<'PY'
import socket, sys
from origin import Closed, Reader, http_response
p, o = int(sys.argv[1]), int(sys.argv[2])
def req(s, method, path, extra=b""):
    s.sendall(b"%s http://127.0.0.1:%d%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%s\r\n" % (method, o, path, o, extra))
def conn(steps):
    s = socket.create_connection(("127.0.0.1", p), timeout=5)
    r = Reader(s)
    out = []
    try:
        steps(s, r, out)
    except (OSError, Closed) as e:
        out.append("error:" + type(e).__name__)
    s.close()
    return " ".join(out)
def get_empty(s, r, out):
    req(s, b"GET", b"/conn-id")
    id1 = http_response(r)[2]
    req(s, b"GET", b"/bytes/0")
    st, h, b = http_response(r)
    out.append("get=%d:%d" % (st, len(b)))
    req(s, b"GET", b"/conn-id")
    st, h, id2 = http_response(r)
    out.append("next=%d ids=%s" % (st, "same" if id1 == id2 else "differ"))
def post_empty(s, r, out):
    req(s, b"GET", b"/conn-id")
    id1 = http_response(r)[2]
    req(s, b"POST", b"/sha256", b"Content-Length: 0\r\n")
    st, h, b = http_response(r)
    out.append("post=%d:%s" % (st, b.decode()))
    req(s, b"GET", b"/conn-id")
    st, h, id2 = http_response(r)
    out.append("next=%d ids=%s" % (st, "same" if id1 == id2 else "differ"))
def post_halfclose(s, r, out):
    req(s, b"POST", b"/sha256", b"Content-Length: 0\r\n")
    s.shutdown(socket.SHUT_WR)
    st, h, b = http_response(r)
    out.append("halfclose=%d:%s" % (st, b.decode()))
print(" | ".join(conn(f) for f in (get_empty, post_empty, post_halfclose)))
PY
)"

# get_then_label PATH: on one client connection, a GET of PATH, half a
# second for what the origin does after its answer to reach nacre, then a
# GET of /label from the same origin. Prints "get=STATUS next=STATUS:LABEL".
get_then_label() {
	run_py 20 - "$P" "$O" "$1" <<'PY'
import socket, sys, time
from origin import Closed, Reader, http_response
p, o = int(sys.argv[1]), int(sys.argv[2])
s = socket.create_connection(("127.0.0.1", p), timeout=5)
r = Reader(s)
def get(path):
    s.sendall(b"GET http://127.0.0.1:%d%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % (o, path, o))
    return http_response(r)
out = []
try:
    out.append("get=%d" % get(sys.argv[3].encode())[0])
    time.sleep(0.5)
    st, h, b = get(b"/label")
    out.append("next=%d:%s" % (st, b.decode().strip()))
except (OSError, Closed) as e:
    out.append("error:" + type(e).__name__)
print(" ".join(out))
PY
}

# Raw client: a GET whose origin then sends an unsolicited 408 (and holds its
# connection open), then a GET to the same origin on the same client
# connection. The 408 answers nothing that was asked: the second GET must go
# on a new upstream connection and get its own answer.
expect_eq "raw: an upstream that sent unasked bytes while idle is not reused" \
	"get=200 next=200:origin" "$(get_then_label '/then-408?reuse')"
check "the upstream connection that sent the 408 was closed" \
	wait_for_line "$T/origin.log" '^then-408 reuse: closed by the peer' 5

# The same with an upstream that resets its idle connection after its
# answer: that owes the client nothing, so the client's connection stays
# and its next GET goes on a new upstream connection.
expect_eq "raw: an upstream reset while idle does not reset the client" \
	"get=200 next=200:origin" "$(get_then_label /then-reset)"

# heads VERSION PATH: one GET of PATH as HTTP/VERSION with Connection:
# close, read to the end; prints the status of every head that came back.
heads() {
	run_py 20 - "$P" "$O" "$1" "$2" <<'PY'
import socket, sys
p, o, v, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3].encode(), sys.argv[4].encode()
s = socket.create_connection(("127.0.0.1", p), timeout=5)
s.sendall(b"GET http://127.0.0.1:%d%s HTTP/%s\r\nHost: 127.0.0.1:%d\r\n"
          b"Connection: close\r\n\r\n" % (o, path, v, o))
data = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    data += d
print(",".join(l[9:12].decode() for l in data.split(b"\r\n") if l.startswith(b"HTTP/1.")))
PY
}
# Interim (1xx) heads go back to an HTTP/1.1 client, never to an HTTP/1.0
# one, which has no 1xx and could take one for the answer (RFC 9110 15.2).
expect_eq "raw: 1xx heads reach an HTTP/1.1 client, not an HTTP/1.0 one" \
	"1.1: 100,102,200 1.0: 200" "1.1: $(heads 1.1 /1xx) 1.0: $(heads 1.0 /1xx)"
# A chunked answer to an HTTP/1.0 request breaks RFC 9112 6.1, and its
# client could not read it: 502, not the chunks.
expect_eq "raw: a chunked answer to an HTTP/1.0 request is a 502" "502" \
	"$(heads 1.0 /chunked/100)"

# Raw client: a chunked POST with chunk extensions and trailer fields, then a
# HEAD, then a GET, all on one connection to nacre. Each answer must be framed
# right for the next one to parse.
expect_eq "raw: chunked POST with trailers, HEAD, GET on one connection" \
	"post=200:$(printf 'hello, chunked world' | sha256sum | cut -d' ' -f1) head=200:12345:0 get=200:$(origin_sha256 777) ids=same" \
	"$(run_py 20 - "$P" "$O" <<'PY'
import hashlib, socket, sys
from origin import Reader, header, http_response
p, o = int(sys.argv[1]), int(sys.argv[2])
s = socket.create_connection(("127.0.0.1", p), timeout=10)
r = Reader(s)
u = "http://127.0.0.1:%d" % o
def req(method, path, extra=b"", body=b""):
    s.sendall(b"%s %s%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" % (method, u.encode(), path, o) + extra + b"\r\n" + body)
    return http_response(r, head_only=(method == b"HEAD"))
st, h, id1 = req(b"GET", b"/conn-id")
st1, h1, b1 = req(b"POST", b"/sha256", b"Transfer-Encoding: chunked\r\nTrailer: X-Sum\r\n",
                  b"5;ext=1\r\nhello\r\nf\r\n, chunked world\r\n0\r\nX-Sum: whatever\r\nX-Other: 1\r\n\r\n")
st2, h2, b2 = req(b"HEAD", b"/bytes/12345")
st3, h3, b3 = req(b"GET", b"/bytes/777")
st4, h4, id2 = req(b"GET", b"/conn-id")
print("post=%d:%s head=%d:%s:%d get=%d:%s ids=%s" % (
    st1, b1.decode(), st2, header(h2, "content-length"), len(b2),
    st3, hashlib.sha256(b3).hexdigest(), "same" if id1 == id2 else "%s/%s" % (id1.decode().strip(), id2.decode().strip())))
PY
)"

# A chunk-size line ending in a bare LF: this origin reads "2;\nxx" as a chunk
# of two bytes, an origin that requires CRLF reads it otherwise, so the body
# is refused, never forwarded for the two to frame apart.
expect_eq "http 400: a chunked request body with a bare LF after a chunk extension" \
	"status=400 close=eof" \
	"$(py http --proxy "127.0.0.1:$P" --request "POST $U/sha256 HTTP/1.1\\r\\nHost: 127.0.0.1:$O\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n2;\\nxx\\r\\n0\\r\\n\\r\\n")"

# Raw client: a chunked POST whose origin answers before reading the body;
# once half the answer has come, the client sends a broken chunk-size line. A
# 400 cannot follow part of an answer (it would read as more of its body), so
# nacre must reset the connection instead.
expect_eq "raw: a bad request body after the answer has begun: reset, no 400" \
	"answer-begun end=reset no-400" \
	"$(run_py 20 - "$P" "$O" <<'PY'
import socket, sys
p, o = int(sys.argv[1]), int(sys.argv[2])
s = socket.create_connection(("127.0.0.1", p), timeout=5)
s.sendall(b"POST http://127.0.0.1:%d/answer-first HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
          b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n" % (o, o))
got = b""
out = []
try:
    while b"0123456789" not in got:
        data = s.recv(65536)
        if not data:
            break
        got += data
    out.append("answer-begun" if b"0123456789" in got else "no-answer")
    s.sendall(b"zz\r\n")
    while True:
        data = s.recv(65536)
        if not data:
            out.append("end=eof")
            break
        got += data
except ConnectionResetError:
    out.append("end=reset")
except OSError as e:
    out.append("error:" + type(e).__name__)
out.append("has-400" if b" 400 " in got else "no-400")
print(" ".join(out))
PY
)"

# ---- HEAD, chunked and close-delimited responses
mycurl -I -x "127.0.0.1:$P" "$U/bytes/12345" >"$T/head.out"
check "HEAD: 200" grep -qE '^HTTP/1\.[01] 200' "$T/head.out"
check "HEAD: Content-Length of the GET" grep -qi '^Content-Length: 12345' "$T/head.out"
expect_eq "chunked response received whole" "$(origin_sha256 100000)" \
	"$(fetch -x "127.0.0.1:$P" "$U/chunked")"
mycurl --raw -x "127.0.0.1:$P" "$U/chunked/5000" >"$T/chunked.raw"
check "chunked response's trailer forwarded" grep -q "X-Origin-Trailer: sha256=$(origin_sha256 5000)" "$T/chunked.raw"
expect_eq "close-delimited response received whole" "$(origin_sha256 200000)" \
	"$(fetch -x "127.0.0.1:$P" "$U/close/200000")"
expect_eq "chunked then close-delimited then Content-Length responses in one curl run" \
	"$(origin_sha256 70000) $(origin_sha256 70001) $(origin_sha256 70002)" \
	"$(mycurl -x "127.0.0.1:$P" "$U/chunked/70000" "$U/close/70001" "$U/bytes/70002" \
		-o "$T/r1" -o "$T/r2" -o "$T/r3" && echo "$(sha256_of "$T/r1") $(sha256_of "$T/r2") $(sha256_of "$T/r3")")"

# ---- the request head the origin receives
# Prints the problems found in the head the origin echoed, or "clean".
headers_check() {
	run_py 20 - "$@" <<'PY'
import socket, sys
from origin import Reader, http_response, parse_head
p, o, mode = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
s = socket.create_connection(("127.0.0.1", p), timeout=10)
extra = b""
if mode == "hop":
    extra = (b"Proxy-Connection: keep-alive\r\n"
             b"Proxy-Authorization: Basic YWxpY2U6czNjcmV0\r\n"
             b"Keep-Alive: timeout=5\r\n"
             b"TE: trailers\r\n"
             b"Upgrade: websocket\r\n"
             b"Connection: keep-alive, X-Hop-One, x-hop-two\r\n"
             b"Connection: Upgrade, TE\r\n"
             b"X-Hop-One: 1\r\n"
             b"X-Hop-Two: 2\r\n"
             b"X-End-To-End: kept\r\n")
s.sendall(b"GET http://127.0.0.1:%d/headers?q=1 HTTP/1.1\r\n"
          b"Host: wrong.invalid:81\r\nUser-Agent: nacre-test\r\n%s\r\n" % (o, extra))
st, h, body = http_response(Reader(s))
first, hdrs = parse_head(body)
names = [k for k, v in hdrs]
bad = []
if st != 200:
    bad.append("status %d" % st)
if first != "GET /headers?q=1 HTTP/1.1":
    bad.append("request line %r" % first)
hosts = [v for k, v in hdrs if k == "host"]
if hosts != ["127.0.0.1:%d" % o]:
    bad.append("Host %r" % hosts)
if ("user-agent", "nacre-test") not in hdrs:
    bad.append("User-Agent lost")
gone = ["x-forwarded-for", "forwarded", "via", "x-real-ip", "x-forwarded-host",
        "x-forwarded-proto", "client-ip"]
if mode == "hop":
    gone += ["proxy-connection", "proxy-authorization", "keep-alive", "te", "upgrade",
             "x-hop-one", "x-hop-two"]
    if ("x-end-to-end", "kept") not in hdrs:
        bad.append("X-End-To-End lost")
for k in gone:
    if k in names:
        bad.append("has " + k)
for k, v in hdrs:
    if k == "connection" and any(t.strip().lower() not in ("close", "keep-alive") for t in v.split(",")):
        bad.append("Connection: " + v)
print(", ".join(bad) or "clean")
PY
}
expect_eq "origin-form request line, Host from the URI, nothing added" clean \
	"$(headers_check "$P" "$O" plain)"
expect_eq "hop-by-hop headers removed, end-to-end kept" clean \
	"$(headers_check "$P" "$O" hop)"
mycurl -x "127.0.0.1:$P" -U alice:s3cret "$U/headers" >"$T/headers.curl"
check "curl: origin-form request line" grep -q '^GET /headers HTTP/1.1' "$T/headers.curl"
check "curl: no Proxy-Connection or Proxy-Authorization reaches the origin" \
	bash -c "grep -q '^GET /headers' '$T/headers.curl' && ! grep -qiE '^(Proxy-Connection|Proxy-Authorization):' '$T/headers.curl'"

# ---- CONNECT
expect_eq "curl --proxytunnel (CONNECT)" "$SHA" \
	"$(fetch -p -x "127.0.0.1:$P" "$U/bytes/$N")"
expect_eq "curl --proxytunnel to localhost (CONNECT, resolved by nacre)" "$SHA" \
	"$(fetch -p -x "127.0.0.1:$P" "http://localhost:$O/bytes/$N")"
expect_eq "curl --proxytunnel to [::1] (CONNECT)" "$SHA" \
	"$(fetch -p -x "127.0.0.1:$P" "http://[::1]:$O/bytes/$N")"
expect_eq "raw CONNECT with early data in the same write reaches the echo origin" \
	"200 early=ok more=ok eof" \
	"$(run_py 20 - "$P" "$E" <<'PY'
import socket, sys
from origin import http_connect, recv_exact, recv_to_eof
early = b"EARLY-DATA-" + bytes(range(256)) * 40
s, line, rest = http_connect(int(sys.argv[1]), "127.0.0.1", int(sys.argv[2]), early)
got = rest + recv_exact(s, len(early) - len(rest)) if len(rest) < len(early) else rest
more = b"after the 200" * 1000
s.sendall(more)
back = recv_exact(s, len(more))
s.shutdown(socket.SHUT_WR)
tail = recv_to_eof(s)
print(line.split(" ")[1], "early=" + ("ok" if got == early else "bad"),
      "more=" + ("ok" if back == more else "bad"), "eof" if tail == b"" else "extra")
PY
)"

# Raw client: a kept-alive GET (whose origin then sends an unsolicited 408 and
# holds its connection open), then a CONNECT on the same client connection.
# The tunnel must carry only its own bytes, and the GET's upstream connection
# must be closed, not left open behind the tunnel.
expect_eq "raw: CONNECT after a kept-alive GET tunnels only its own bytes" \
	"get=200 connect=200 tunnel=b'ping'" \
	"$(run_py 20 - "$P" "$O" "$E" <<'PY'
import socket, sys, time
from origin import Closed, Reader, http_response
p, o, e = map(int, sys.argv[1:])
s = socket.create_connection(("127.0.0.1", p), timeout=5)
r = Reader(s)
out = []
try:
    s.sendall(b"GET http://127.0.0.1:%d/then-408?connect HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % (o, o))
    out.append("get=%d" % http_response(r)[0])
    time.sleep(0.5)  # for the 408 to reach nacre
    s.sendall(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % (e, e))
    out.append("connect=" + r.until(b"\r\n\r\n").split(b" ")[1].decode())
    s.sendall(b"ping")
    s.shutdown(socket.SHUT_WR)
    rest = bytearray()
    r.to_eof(rest.extend)
    out.append("tunnel=%r" % bytes(rest))
except (OSError, Closed) as ex:
    out.append("error:" + type(ex).__name__)
print(" ".join(out))
PY
)"
check "the kept-alive GET's upstream connection was closed for the CONNECT" \
	wait_for_line "$T/origin.log" '^then-408 connect: closed by the peer' 5

# ---- our own answer when cout is full
# A reply that finds cout full takes a bulk block; with none left (64 held
# in the process, here by 72 clients whose pipelined bytes wait in cin) it
# cannot, and must not be lost. The client sends a chunked POST and reads
# nothing; the origin answers with "100 Continue" heads, more than the
# kernel and cout hold; then the client sends a malformed chunk. The 400 for
# it must come after the interim heads, not a bare FIN. (The same room
# rule holds a pipelined request, such as a CONNECT, until its answer would
# fit: that case depends on how much the kernel buffers, so it has no test.)
start_nacre nacre-full --listen 127.0.0.1:0
start_origin origin-full http
WMEM_MAX=$(awk '{print $3}' /proc/sys/net/ipv4/tcp_wmem 2>/dev/null || echo 4194304)
expect_eq "raw: a 400 after interim heads that filled cout is sent, with no bulk block left" \
	"400" \
	"$(run_py 60 - "$NACRE_PORT" "$ORIGIN_PORT" "$WMEM_MAX" <<'PY'
import socket, sys, time
p, o, wmem = map(int, sys.argv[1:])
holders = []
for i in range(72):
    h = socket.create_connection(("127.0.0.1", p), timeout=10)
    h.sendall(b"GET http://127.0.0.1:%d/delay/30000 HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n"
              % (o, o) + b"x" * 560000)
    holders.append(h)
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
s.settimeout(20)
s.connect(("127.0.0.1", p))
heads = (2 * wmem + (1 << 20)) // 25  # more than nacre's send buffer can take, and cout
s.sendall(b"POST http://127.0.0.1:%d/interim/%d HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
          b"Transfer-Encoding: chunked\r\n\r\n" % (o, heads, o))
time.sleep(2)  # for the interim heads to fill the kernel's buffers and cout
s.sendall(b"zz\r\n")
data = bytearray()
try:
    while True:
        d = s.recv(1 << 20)
        if not d:
            break
        data += d
except OSError as e:
    print("error:" + type(e).__name__)
    sys.exit()
cont = b"HTTP/1.1 100 Continue\r\n\r\n"
rest = bytes(data[data.rfind(cont) + len(cont):])
if data.count(cont) < 1000:
    print("only %d interim heads" % data.count(cont))
elif rest.startswith(b"HTTP/1.1 "):
    print(rest[9:12].decode())
else:
    print("after the interim heads: %r" % rest[:40])
PY
)"

# ---- a lookup for a new host on a kept-alive connection
# It gets the same time as a fresh request's lookup, not what is left of the
# connection's idle timer: the idle timeout here is 2 s, counted from the
# first request's connect, and the second request, 1 s later, goes to a name
# whose answer takes 1.5 s.
start_helper slow-dns dnsd.py --delay 1.5 slow.test=127.0.0.1
cat >"$T/slow-dns.conf" <<EOF
timeouts = { idle = 2.0; };
resolver = { servers = [ "127.0.0.1:$HELPER_PORT" ]; };
listen = ( { address = "127.0.0.1:0"; } );
EOF
start_nacre nacre-slow-dns -c "$T/slow-dns.conf"
expect_eq "raw: a slow lookup for the next request's host is not cut short by the idle timer" \
	"first=200 slow=200:origin" \
	"$(run_py 20 - "$NACRE_PORT" "$O" <<'PY'
import socket, sys, time
from origin import Closed, Reader, http_response
p, o = int(sys.argv[1]), int(sys.argv[2])
s = socket.create_connection(("127.0.0.1", p), timeout=10)
r = Reader(s)
def get(host):
    s.sendall(b"GET http://%s:%d/label HTTP/1.1\r\nHost: %s:%d\r\n\r\n" % (host, o, host, o))
    return http_response(r)
out = []
try:
    out.append("first=%d" % get(b"127.0.0.1")[0])
    time.sleep(1.0)
    st, h, b = get(b"slow.test")
    out.append("slow=%d:%s" % (st, b.decode().strip()))
except (OSError, Closed) as e:
    out.append("error:" + type(e).__name__)
print(" ".join(out))
PY
)"
check "nacre asked the slow DNS server for slow.test" grep -q '^query slow\.test ' "$T/slow-dns.log"

# ---- proxy authentication
mycurl -D "$T/407.head" -o /dev/null -x "127.0.0.1:$PA" "$U/bytes/10"
check "no credentials: 407" grep -qE '^HTTP/1\.[01] 407' "$T/407.head"
check "no credentials: Proxy-Authenticate: Basic" grep -qiE '^Proxy-Authenticate: *Basic' "$T/407.head"
expect_eq "right credentials (alice): 200 and the body" "200 $(origin_sha256 1000)" \
	"$(mycurl -x "127.0.0.1:$PA" -U alice:s3cret -o "$T/auth.out" -w '%{http_code}' "$U/bytes/1000") $(sha256_of "$T/auth.out")"
expect_eq "right credentials (bob, second line of --users)" 200 \
	"$(mycurl -x "127.0.0.1:$PA" -U bob:hunter2 -o /dev/null -w '%{http_code}' "$U/bytes/1000")"
expect_eq "wrong password: 407" 407 \
	"$(mycurl -x "127.0.0.1:$PA" -U alice:wrong -o /dev/null -w '%{http_code}' "$U/bytes/1000")"
expect_eq "unknown user: 407" 407 \
	"$(mycurl -x "127.0.0.1:$PA" -U mallory:s3cret -o /dev/null -w '%{http_code}' "$U/bytes/1000")"
expect_eq "CONNECT with the right credentials" "$SHA" \
	"$(fetch -p -x "127.0.0.1:$PA" -U alice:s3cret "$U/bytes/$N")"
expect_eq "CONNECT without credentials: 407" 407 \
	"$(timeout 20 curl -s --max-time 15 -p -x "127.0.0.1:$PA" -o /dev/null -w '%{http_connect}' "$U/bytes/10")"
expect_eq "CONNECT with a wrong password: 407" 407 \
	"$(timeout 20 curl -s --max-time 15 -p -x "127.0.0.1:$PA" -U alice:wrong -o /dev/null -w '%{http_connect}' "$U/bytes/10")"
# basic_gets PATH CRED...: on one kept-alive connection to the listener with
# users, a GET of PATH per CRED (sent as its Basic value); prints
# STATUS:LINE for each, LINE the first line of the body.
basic_gets() {
	run_py 20 - "$PA" "$O" "$@" <<'PY'
import base64, socket, sys
from origin import Closed, Reader, http_response
p, o, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3].encode()
s = socket.create_connection(("127.0.0.1", p), timeout=10)
r = Reader(s)
out = []
try:
    for cred in sys.argv[4:]:
        s.sendall(b"GET http://127.0.0.1:%d%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                  b"Proxy-Authorization: Basic %s\r\n\r\n"
                  % (o, path, o, base64.b64encode(cred.encode())))
        st, h, b = http_response(r)
        out.append("%d:%s" % (st, (b.decode(errors="replace").splitlines() or [""])[0]))
except (OSError, Closed) as e:
    out.append("error:" + type(e).__name__)
print(" ".join(out))
PY
}
# Another user's request on the same kept-alive connection takes another
# upstream connection (on a chain, another stream and circuit): isolation by
# user holds within one client connection too.
read -r A B1 B2 <<<"$(basic_gets /conn-id alice:s3cret bob:hunter2 bob:hunter2)"
expect_eq "raw keep-alive: alice, bob, bob: bob's two share an upstream, alice's is apart" \
	"200 200 200 apart same" \
	"${A%%:*} ${B1%%:*} ${B2%%:*} $([ "${A#*:}" != "${B1#*:}" ] && echo apart || echo shared) $([ "${B1#*:}" = "${B2#*:}" ] && echo same || echo new)"
# Credentials are judged per request: on a kept-alive connection whose first
# request was alice's, a second one whose Basic value has no colon ("foo")
# is not alice's (RFC 7617: user-id ":" password).
read -r F S <<<"$(basic_gets /label alice:s3cret foo)"
expect_eq "raw keep-alive: Basic without a colon after a good request: 407" "first=200 second=407" \
	"first=${F%%:*} second=${S%%:*}"
mycurl -x "127.0.0.1:$PA" -U alice:s3cret "$U/headers" >"$T/headers.auth"
check "Proxy-Authorization does not reach the origin" \
	bash -c "grep -q '^GET /headers' '$T/headers.auth' && ! grep -qi '^Proxy-Authorization:' '$T/headers.auth'"

finish
