#!/bin/bash
# Flow control and resets through a tunnel:
#  - a client that stops reading never makes nacre buffer more than a fixed
#    amount (its RSS stays put while the origin has a gigabyte to send), and
#    nothing is lost once it reads again;
#  - a reset from either end reaches the other end as a reset.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/integration/lib.sh"

start_origin http http
HTTP_PORT=$ORIGIN_PORT
start_nacre nacre --listen 127.0.0.1:0

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$NACRE_PID/status"; }

# ------------------------------------------------------------ backpressure
# 256 MiB from the origin; the client reads 1 MiB, stops for 3 s, then reads
# the rest. While it is stopped nacre's RSS must not grow by more than its
# per-direction buffers (512 KiB each at most) plus slack for the allocator.
# backpressure LABEL: against the nacre at $NACRE_PORT ($NACRE_PID).
backpressure() {
	local label=$1 base during grew
	base=$(rss_kib)
	N=$((256 * 1024 * 1024))
	run_py 120 - "$NACRE_PORT" "$HTTP_PORT" "$N" "$T/bp.fifo" >"$T/bp-$label.out" 2>&1 <<'PY' &
import hashlib, sys, time
from origin import socks5_connect, recv_exact
proxy, port, n, _ = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
s = socks5_connect(proxy, "127.0.0.1", port)[0]
s.setsockopt(__import__("socket").SOL_SOCKET, __import__("socket").SO_RCVBUF, 65536)
s.sendall(b"GET /bytes/%d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % n)
head = b""
while b"\r\n\r\n" not in head:
    head += s.recv(1)
h = hashlib.sha256()
got = 0
first = recv_exact(s, 1 << 20)
h.update(first); got += len(first)
print("paused", flush=True)
time.sleep(3)
print("resumed", flush=True)
while True:
    b = s.recv(1 << 20)
    if not b:
        break
    h.update(b); got += len(b)
print("got", got, h.hexdigest(), flush=True)
PY
	BP_PID=$!
	wait_for_line "$T/bp-$label.out" '^paused' 30 || fail "$label: backpressure client did not start"
	sleep 2
	during=$(rss_kib)
	wait "$BP_PID"
	grew=$((during - base))
	if [ "$grew" -lt 8192 ]; then
		pass "$label: RSS grew by ${grew} KiB while the client was not reading (bounded)"
	else
		fail "$label: RSS grew by ${grew} KiB while the client was not reading"
	fi
	expect_eq "$label: every byte arrived after the client read again" \
		"got $N $(origin_sha256 "$N")" "$(grep '^got' "$T/bp-$label.out")"
}
backpressure buffers

# The same with splice = true: the bytes wait in the pipe, not in nacre.
printf 'splice = true;\nlisten = ( { address = "127.0.0.1:0"; } );\n' >"$T/splice.conf"
B_PORT=$NACRE_PORT B_PID=$NACRE_PID
start_nacre nacre-splice -c "$T/splice.conf"
backpressure splice
NACRE_PORT=$B_PORT NACRE_PID=$B_PID

# ------------------------------------------------------------ resets
# An origin that resets the connection: the client must see a reset, not a FIN.
start_helper rst-origin errlib.py reset-server
RST_PORT=$HELPER_PORT
out=$(run_py 20 - "$NACRE_PORT" "$RST_PORT" <<'PY'
import sys
from origin import socks5_connect
s = socks5_connect(int(sys.argv[1]), "127.0.0.1", int(sys.argv[2]))[0]
s.sendall(b"hello")
try:
    b = s.recv(100)
    print("eof" if not b else "data")
except ConnectionResetError:
    print("reset")
PY
)
expect_eq "an origin's reset reaches the client as a reset" "reset" "$out"

# A client that resets: the origin must see a reset.
start_helper rst-origin2 errlib.py watch-server
RST2_PORT=$HELPER_PORT
run_py 20 - "$NACRE_PORT" "$RST2_PORT" <<'PY'
import socket, struct, sys, time
from origin import socks5_connect
s = socks5_connect(int(sys.argv[1]), "127.0.0.1", int(sys.argv[2]))[0]
s.sendall(b"hello")
time.sleep(0.3)
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()
PY
wait_for_line "$T/rst-origin2.log" '^saw' 10
expect_eq "a client's reset reaches the origin as a reset" "saw reset" \
	"$(grep '^saw' "$T/rst-origin2.log")"

finish
