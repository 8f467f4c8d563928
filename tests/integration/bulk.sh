#!/bin/bash
# Bulk transfers through nacre: 64 MiB down and 64 MiB up, each checked with
# SHA-256, through SOCKS5, through HTTP CONNECT, and as absolute-form requests;
# the tunnels again with splice = true.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/integration/lib.sh"

SIZE=$((64 * 1024 * 1024))
mkdir -p "$T/www"
head -c $SIZE /dev/urandom >"$T/www/big"
BIG_SHA=$(sha256_of "$T/www/big")

start_origin origin http
O=$ORIGIN_PORT
# Downloads come from nginx when it is installed, else from the origin.
if command -v nginx >/dev/null || [ -x /usr/sbin/nginx ]; then
	start_nginx
	DOWN="http://127.0.0.1:$NGINX_PORT/big"
	DOWN_SHA=$BIG_SHA
else
	DOWN="http://127.0.0.1:$O/bytes/$SIZE"
	DOWN_SHA=$(origin_sha256 $SIZE)
fi
UP="http://127.0.0.1:$O/sha256"

start_nacre nacre --listen 127.0.0.1:0
P=$NACRE_PORT
D_PID=$NACRE_PID
# A process that spliced keeps its emptied pipes for the next tunnel (any
# pipe it holds from the start was inherited).
pipes_of() { find "/proc/$1/fd" -lname 'pipe:*' 2>/dev/null | wc -l; }
D_PIPES=$(pipes_of "$D_PID")

mycurl() { timeout 50 curl -sS --max-time 45 "$@"; }
down() { mycurl "$@" "$DOWN" | sha256sum | cut -d' ' -f1; }
# -T streams the file; POST with a Content-Length; no 100-continue pause.
up() { mycurl "$@" -X POST -H 'Expect:' -T "$T/www/big" "$UP"; }

check "download source works without a proxy" \
	test "$(mycurl "$DOWN" | sha256sum | cut -d' ' -f1)" = "$DOWN_SHA"

# tunnels LABEL PORT: 64 MiB each way through SOCKS5 and through HTTP CONNECT.
tunnels() {
	expect_eq "${1}64 MiB down through SOCKS5" "$DOWN_SHA" "$(down --socks5-hostname "127.0.0.1:$2")"
	expect_eq "${1}64 MiB up through SOCKS5" "$BIG_SHA" "$(up --socks5-hostname "127.0.0.1:$2")"
	expect_eq "${1}64 MiB down through HTTP CONNECT" "$DOWN_SHA" "$(down -p -x "127.0.0.1:$2")"
	expect_eq "${1}64 MiB up through HTTP CONNECT" "$BIG_SHA" "$(up -p -x "127.0.0.1:$2")"
}

tunnels "" "$P"
expect_eq "64 MiB down as an absolute-form GET" "$DOWN_SHA" "$(down -x "127.0.0.1:$P")"
expect_eq "64 MiB up as an absolute-form POST" "$BIG_SHA" "$(up -x "127.0.0.1:$P")"
expect_eq "64 MiB up as an absolute-form chunked POST" "$BIG_SHA" \
	"$(up -x "127.0.0.1:$P" -H 'Transfer-Encoding: chunked')"

# The same tunnels with splice = true: bulk bytes go socket -> pipe -> socket.
printf 'splice = true;\nlisten = ( { address = "127.0.0.1:0"; } );\n' >"$T/splice.conf"
start_nacre nacre-splice -c "$T/splice.conf"
S=$NACRE_PORT
S_PIPES=$(pipes_of "$NACRE_PID")
tunnels "splice: " "$S"
check "splice = true: the tunnels spliced (pipes: $S_PIPES at start, $(pipes_of "$NACRE_PID") now)" \
	test "$(pipes_of "$NACRE_PID")" -gt "$S_PIPES"
expect_eq "by default the tunnels did not splice (pipes held)" "$D_PIPES" "$(pipes_of "$D_PID")"

finish
