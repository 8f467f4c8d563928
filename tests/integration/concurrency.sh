#!/bin/bash
# Many clients at once: 200 SOCKS5 tunnels open at the same time, each echoing
# its own data; 100 curl processes in parallel over SOCKS5, SOCKS4, HTTP GET and
# HTTP CONNECT; and 60 stalled half-handshakes that must not hold up a new
# client. Timeouts here are generous bounds for correctness, not speed checks.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/integration/lib.sh"

need_python
PY_TIMEOUT=120

start_nginx
NG=$NGINX_PORT
head -c 200000 /dev/urandom >"$T/www/blob"
SHA=$(sha256_of "$T/www/blob")
start_helper echo errlib.py echo-server
ECHO=$HELPER_PORT
# A long handshake timeout, so the stalled clients below stay stalled.
cat >"$T/nacre.conf" <<EOF
timeouts = { handshake = 60.0; };
listen = ( { address = "127.0.0.1:0"; } );
EOF
start_nacre nacre -c "$T/nacre.conf"
P=$NACRE_PORT

# ---- 200 tunnels open at once, each echoing 16 KiB of its own data
expect_eq "200 simultaneous SOCKS5 tunnels each echo their own data" \
	"simultaneous=200/200 echoed=200/200" \
	"$(py tunnels --proxy 127.0.0.1:$P --dest 127.0.0.1:$ECHO --n 200 --size 16384 2>"$T/tunnels.err")"

# ---- 100 curl processes in parallel, four ways through the same port
URL="http://127.0.0.1:$NG/blob"
mkdir -p "$T/curl"
pids=""
for i in $(seq 1 100); do
	case $((i % 4)) in
	0) how=(--socks5 "127.0.0.1:$P") ;;
	1) how=(--socks4 "127.0.0.1:$P") ;;
	2) how=(-x "http://127.0.0.1:$P") ;;
	3) how=(-p -x "http://127.0.0.1:$P") ;;
	esac
	timeout 40 curl -sS --max-time 30 "${how[@]}" -o "$T/curl/$i" "$URL" 2>"$T/curl/$i.err" &
	pids="$pids $!"
done
for p in $pids; do wait "$p"; done
good=0
for i in $(seq 1 100); do
	[ -f "$T/curl/$i" ] && [ "$(sha256_of "$T/curl/$i")" = "$SHA" ] && good=$((good + 1))
done
expect_eq "100 parallel curls (socks5, socks4, http GET, CONNECT) all get the file" 100 "$good"

# ---- 60 stalled half-handshakes: one byte of a SOCKS5, SOCKS4 or HTTP start
mkfifo "$T/stall.in"
"$PYTHON" -S -u "$ERRLIB" stall --proxy 127.0.0.1:$P --n 60 --bytes 05,04,47 --hold 50 \
	<"$T/stall.in" >"$T/stall.log" 2>&1 &
STALL_PID=$!
PIDS="$PIDS $STALL_PID"
exec 7>"$T/stall.in"
wait_for_line "$T/stall.log" '^stalled 60$' 20 || hard_error "could not open 60 stalled connections: $(cat "$T/stall.log")"

got=$(timeout 15 curl -sS --max-time 10 --socks5-hostname "127.0.0.1:$P" "$URL" | sha256sum | cut -d' ' -f1)
expect_eq "with 60 stalled handshakes open, a new curl --socks5-hostname completes" "$SHA" "$got"
got=$(timeout 15 curl -sS --max-time 10 -x "http://127.0.0.1:$P" "$URL" | sha256sum | cut -d' ' -f1)
expect_eq "with 60 stalled handshakes open, a new curl via HTTP proxy completes" "$SHA" "$got"
expect_eq "with 60 stalled handshakes open, a raw SOCKS5 tunnel echoes" "rep=00 echo=ok" \
	"$(py socks5 --proxy 127.0.0.1:$P --dest 127.0.0.1:$ECHO --echo --reply-wait 10)"

# Release the stalled clients; nacre must still be serving afterwards.
exec 7>&-
wait "$STALL_PID" 2>/dev/null
expect_eq "the stalled connections were all still open (stalled, not closed) meanwhile" \
	"closed-by-proxy 0" "$(grep '^closed-by-proxy' "$T/stall.log")"
check "nacre still serves after the stalled clients go away" \
	test "$(py socks5 --proxy 127.0.0.1:$P --dest 127.0.0.1:$ECHO --echo)" = "rep=00 echo=ok"
check "nacre is still running" kill -0 "$NACRE_PID"

finish
