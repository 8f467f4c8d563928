#!/bin/bash
# TCP half-close carried end to end through nacre (SOCKS5 and HTTP CONNECT):
# a client FIN reaches the origin while the origin's reply still flows back,
# and an origin FIN reaches the client while the client's data still flows on.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/integration/lib.sh"

start_origin halfclose-origin halfclose
HC=$ORIGIN_PORT
start_origin sendclose-origin sendclose --record "$T/sendclose-socks5"
SC_SOCKS5=$ORIGIN_PORT
start_origin sendclose-origin2 sendclose --record "$T/sendclose-connect"
SC_CONNECT=$ORIGIN_PORT
start_nacre nacre --listen 127.0.0.1:0
P=$NACRE_PORT

WANT="got 1048579 bytes sha256=$(origin_sha256 1048579)"
expect_eq "SOCKS5: client FIN reaches the origin, its reply still arrives" "$WANT" \
	"$(client_fin socks5 "$P" "$HC")"
expect_eq "CONNECT: client FIN reaches the origin, its reply still arrives" "$WANT" \
	"$(client_fin connect "$P" "$HC")"

# origin_fin VIA: reads the sendclose origin's greeting to EOF, then sends
# 512 KiB (+5 bytes) in pieces, then closes. Prints the greeting.
origin_fin() {
	local port
	if [ "$1" = socks5 ]; then port=$SC_SOCKS5; else port=$SC_CONNECT; fi
	run_py 30 - "$1" "$P" "$port" <<'PY'
import socket, sys, time
from origin import http_connect, recv_to_eof, socks5_connect, stream_chunks
via, p, o = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
if via == "socks5":
    s, rep, _, _ = socks5_connect(p, "127.0.0.1", o)
    assert rep == 0, "SOCKS5 reply %d" % rep
    greeting = b""
else:
    s, line, greeting = http_connect(p, "127.0.0.1", o)
    assert line.split(" ")[1] == "200", line
greeting += recv_to_eof(s)
print(greeting.decode("latin-1").strip(), flush=True)
# The origin has closed its side; keep sending after its FIN.
for i, c in enumerate(stream_chunks(524293, size=65536)):
    s.sendall(c)
    if i % 2:
        time.sleep(0.02)
s.shutdown(socket.SHUT_WR)
s.settimeout(10)
recv_to_eof(s)  # nacre closes once both directions are done
s.close()
PY
}
# wait_record FILE: waits for the sendclose origin's record; prints it.
wait_record() {
	wait_for_line "$1" '^[0-9]+ [0-9a-f]{64}$' 10 && cat "$1"
}
WANT_REC="524293 $(origin_sha256 524293)"
expect_eq "SOCKS5: client gets the origin's greeting, then EOF" "hello from sendclose" "$(origin_fin socks5)"
expect_eq "SOCKS5: origin got every byte sent after its FIN" "$WANT_REC" "$(wait_record "$T/sendclose-socks5")"
expect_eq "CONNECT: client gets the origin's greeting, then EOF" "hello from sendclose" "$(origin_fin connect)"
expect_eq "CONNECT: origin got every byte sent after its FIN" "$WANT_REC" "$(wait_record "$T/sendclose-connect")"

finish
