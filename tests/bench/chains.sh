#!/usr/bin/env bash
# Chains benchmark: nacre through one and three relays against shadowsocks-libev
# one hop and its onion-layered three-hop chain, a private Tor network's three
# hops, and the no-proxy ceiling, in the same run, alternating, over ROUNDS rounds.
#
#   ROUNDS=5 tests/bench/chains.sh          (about 14 minutes on 2 cores; 3 rounds: 9)
#   SMOKE=1  tests/bench/chains.sh          (one short round without Tor, about 25 s, for CI)
#
# The paths, every process on 127.0.0.1, one process per hop so that the CPU of
# each hop can be read on its own:
#   direct   curl -> origin
#   nacre1   client nacre (route: a 1-hop chain) -> exit relay nacre -> origin
#   ss1      ss-local -> ss-server -> origin
#   nacre3   client nacre (3-hop chain) -> relay r1 -> relay r2 -> exit r3 -> origin
#   ss3      ss-local (key 3) -> ss-tunnel T2 (key 2) -> ss-tunnel T1 (key 1) ->
#            ss-server S1 -> S2 -> S3 -> origin: the client side holds three
#            nested layers and each server peels one, as nacre's relays do
#   tor3     a tor client -> guard -> middle -> exit -> origin, over a private
#            Tor network on loopback: a directory authority that is also a
#            relay, two relays and an exit (TestingTorNetwork); every circuit
#            has three of the four relays, so all five processes are counted
#   nacre0   one nacre in direct mode -> origin, in the c=50 test only: the
#            floor under nacre 1 hop's CPU per new connection (chainpaths.sh)
#
# Environment:
#   NACRE        the nacre binary (default: ./nacre in the current directory,
#                else one is built out of tree under the work directory)
#   ROUNDS       rounds (default 5, at most 20); each round runs every test on
#                every path, the order rotated from round to round
#   SMOKE=1      one round, a 32 MiB file, 50 new connections, 0.5 s at c=50,
#                100 idle tunnels, no Tor (its bootstrap and settling take 50 s)
#   BULK_MIB     size of the bulk file (default 1024)
#   TTFB_N       new connections per time-to-first-byte run (default 200)
#   CONN_SECS    seconds of new connections at c=50 (default 5)
#   IDLE_N       idle tunnels held open through each path (default 2000)
#   AFTER_SECS   seconds after the idle tunnels close before RSS is read again
#                (default 3: nacre gives memory back a second after its last
#                client leaves)
#   NACRE_CIPHER record_cipher of every nacre process: auto (default; AES-256-GCM
#                where the CPU has AES-NI) or chacha20-poly1305
#   NACRE_LINKS  true (default, as in nacre.conf): the user's nacre reaches its
#                first relay over one link for all circuits (relays.links);
#                false: a TCP connection per circuit
#   NACRE_RELAY_LINKS  as NACRE_LINKS unless given: whether the 3-hop chain's
#                middle relays reach the next relay over one link (their own
#                relays list names it) or a TCP connection per circuit
#   SS_METHOD    shadowsocks' cipher (default chacha20-ietf-poly1305, as the issue
#                names; aes-256-gcm for the like-for-like comparison with auto)
#   TOR=0        leave Tor out (default 1, but 0 with SMOKE=1)
#   TOR_BULK_MIB size of Tor's bulk file (default 64: Tor moves ~10 MB/s here)
#   OUT_DIR      where the result files go (default /tmp/nacre-bench-results)
#   NO_INSTALL=1 do not apt-get missing peers: run without them
#   KEEP_LOGS=1  keep the work directory (configurations and logs)
#
# Exit: 0 done, 1 nacre failed a sanity check (a transfer cut short, a request
# error, an idle tunnel that did not open), 77 skipped (a tool missing), 99 hard
# error. The peers' failures (Tor's bootstrap included) are reported but do not
# fail the run.
set -u
set -o pipefail

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=$(cd "$here/../.." && pwd)

SMOKE=${SMOKE:-0}
if [ "$SMOKE" = 1 ]; then
	ROUNDS=${ROUNDS:-1}
	BULK_MIB=${BULK_MIB:-32}
	TTFB_N=${TTFB_N:-50}
	CONN_SECS=${CONN_SECS:-0.5}
	IDLE_N=${IDLE_N:-100}
	AFTER_SECS=${AFTER_SECS:-1.2}
	TOR=${TOR:-0}
else
	ROUNDS=${ROUNDS:-5}
	BULK_MIB=${BULK_MIB:-1024}
	TTFB_N=${TTFB_N:-200}
	CONN_SECS=${CONN_SECS:-5}
	IDLE_N=${IDLE_N:-2000}
	AFTER_SECS=${AFTER_SECS:-3}
	TOR=${TOR:-1}
fi
TOR_BULK_MIB=${TOR_BULK_MIB:-64}
CONC=${CONC:-50}
OUT_DIR=${OUT_DIR:-/tmp/nacre-bench-results}
SS_METHOD=${SS_METHOD:-chacha20-ietf-poly1305}

case "$ROUNDS" in '' | *[!0-9]*) echo "ROUNDS must be a whole number"; exit 99 ;; esac
[ "$ROUNDS" -ge 1 ] && [ "$ROUNDS" -le 20 ] || { echo "ROUNDS must be 1..20"; exit 99; }
case "$BULK_MIB" in '' | *[!0-9]*) echo "BULK_MIB must be a whole number"; exit 99 ;; esac
[ "$BULK_MIB" -ge 1 ] && [ "$BULK_MIB" -le 4096 ] || { echo "BULK_MIB must be 1..4096"; exit 99; }
case "$TTFB_N" in '' | *[!0-9]*) echo "TTFB_N must be a whole number"; exit 99 ;; esac
[ "$TTFB_N" -ge 1 ] && [ "$TTFB_N" -le 10000 ] || { echo "TTFB_N must be 1..10000"; exit 99; }
case "$IDLE_N" in '' | *[!0-9]*) echo "IDLE_N must be a whole number"; exit 99 ;; esac
[ "$IDLE_N" -ge 1 ] && [ "$IDLE_N" -le 5000 ] || { echo "IDLE_N must be 1..5000"; exit 99; }
case "$TOR_BULK_MIB" in '' | *[!0-9]*) echo "TOR_BULK_MIB must be a whole number"; exit 99 ;; esac
[ "$TOR_BULK_MIB" -ge 1 ] && [ "$TOR_BULK_MIB" -le 4096 ] || { echo "TOR_BULK_MIB must be 1..4096"; exit 99; }

# Proxy variables in the environment would send curl elsewhere.
unset http_proxy https_proxy all_proxy no_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY NO_PROXY

W=$(mktemp -d "${TMPDIR:-/tmp}/nacre-chains.XXXXXX") || { echo "ERROR: mktemp failed"; exit 99; }
chmod 700 "$W"
WWW=$(mktemp -d /dev/shm/nacre-chains-www.XXXXXX) || { echo "ERROR: no /dev/shm"; rm -rf "$W"; exit 99; }
PIDS=""
STARTED=$(date +%s)

cleanup() {
	stop_pids $PIDS
	drop_work_dir
	rm -rf "$WWW"
}
# benchlib.sh: the traps, say, hard_error, PY and the shared helpers.
. "$here/benchlib.sh"

# ---- tools -----------------------------------------------------------------

missing=""
for pair in ss-server:shadowsocks-libev nginx:nginx-light curl:curl; do
	have "${pair%%:*}" || missing="$missing ${pair#*:}"
done
[ "$TOR" = 1 ] && { have tor && have tor-gencert || missing="$missing tor"; }
install_missing $missing
have nginx || { echo "SKIP: nginx is missing"; exit 77; }
have curl || { echo "SKIP: curl is missing"; exit 77; }
HAVE_SS=1
for t in ss-server ss-local ss-tunnel; do have "$t" || HAVE_SS=0; done
[ "$HAVE_SS" = 1 ] || say "shadowsocks-libev is missing: its paths are not measured"
if [ "$TOR" = 1 ] && ! { have tor && have tor-gencert; }; then
	say "tor is missing: not measured"
	TOR=0
fi

find_nacre
build_loadgen

# Each idle tunnel costs the helper two descriptors and each process on the
# path two (nacre raises its own limit; shadowsocks inherits this one).
fit_idle_n

# ---- origin and upload sink ------------------------------------------------

say "writing ${BULK_MIB} MiB and 1 KiB files to $WWW"
chmod 755 "$WWW"
dd if=/dev/zero of="$WWW/big" bs=1M count="$BULK_MIB" status=none || hard_error "no room in /dev/shm"
head -c 1024 /dev/zero | tr '\0' 'x' >"$WWW/1k"
# Tor moves ~10 MB/s here: its bulk file is smaller (TOR_BULK_MIB).
if [ "$TOR" = 1 ]; then
	dd if=/dev/zero of="$WWW/big-tor" bs=1M count="$TOR_BULK_MIB" status=none ||
		hard_error "no room in /dev/shm"
fi
chmod 644 "$WWW"/*
BULK_BYTES=$((BULK_MIB * 1048576))

NGX_PORT=$(free_port)
mkdir -p "$W/ngx-tmp"
cat >"$W/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $W/nginx.pid;
error_log $W/nginx.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	sendfile on;
	tcp_nopush on;
	client_body_temp_path $W/ngx-tmp/body;
	proxy_temp_path $W/ngx-tmp/proxy;
	fastcgi_temp_path $W/ngx-tmp/fastcgi;
	uwsgi_temp_path $W/ngx-tmp/uwsgi;
	scgi_temp_path $W/ngx-tmp/scgi;
	server {
		listen 127.0.0.1:$NGX_PORT;
		root $WWW;
		location / { }
	}
}
EOF
nginx -e "$W/nginx.log" -c "$W/nginx.conf" >>"$W/nginx.log" 2>&1 &
PIDS="$PIDS $!"
wait_port "$NGX_PORT" 10 || hard_error "nginx did not start"
ORIGIN=127.0.0.1:$NGX_PORT
[ "$(curl -s -o /dev/null -w '%{size_download}' "http://$ORIGIN/1k")" = 1024 ] ||
	hard_error "nginx does not serve /1k"

# Uploads go to the sink, which answers once it has the whole body, not to
# nginx: nginx answers a body it discards at once, and reads it 4 KiB at a time.
start_sink

# ---- the paths (chainpaths.sh) ------------------------------------------------
. "$here/chainpaths.sh"

# ---- Tor: a private network on loopback (tornet.sh) ---------------------------
. "$here/tornet.sh"

# stop_path PATH: ends its processes (SIGTERM, then SIGKILL after 5 s).
stop_path() {
	local p i alive
	for p in ${PPIDS[$1]}; do kill "$p" 2>/dev/null; done
	for i in $(seq 50); do
		alive=0
		for p in ${PPIDS[$1]}; do kill -0 "$p" 2>/dev/null && alive=1; done
		[ "$alive" = 1 ] || break
		sleep 0.1
	done
	for p in ${PPIDS[$1]}; do
		kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null
		PIDS=$(printf '%s\n' $PIDS | grep -vx "$p" | tr '\n' ' ')
	done
	PPIDS[$1]=""
}

start_path() {
	case $1 in
	nacre0) start_nacre0 ;;
	nacre1) start_nacre1 ;;
	nacre3) start_nacre3 ;;
	ss1) start_ss1 ;;
	ss3) start_ss3 ;;
	esac
}

# get_via PATH: the size of a 1 KiB GET through the path.
get_via() {
	curl -s --max-time 10 --socks5-hostname "127.0.0.1:${PORT[$1]}" -o /dev/null \
		-w '%{size_download}' "http://$ORIGIN/1k"
}

PATHS="direct nacre1 nacre3"
if [ "$TOR" = 1 ]; then
	if start_tor3; then
		say "tor: a private network starting (authority, 2 relays, exit)"
	else
		say "tor: the network could not be set up: not measured"
		cat "$TOR_DIR"/*.log 2>/dev/null | tail -n 5
		TOR=0
	fi
fi
start_nacre1
start_nacre3
start_nacre0
if [ "$HAVE_SS" = 1 ]; then
	if start_ss1; then PATHS="$PATHS ss1"; else say "shadowsocks 1 hop did not start: not measured"; fi
	if start_ss3; then PATHS="$PATHS ss3"; else say "shadowsocks 3 hops did not start: not measured"; fi
fi

# One GET through each path before any figure.
for p in $PATHS nacre0; do
	[ "$p" = direct ] && continue
	got=$(get_via "$p")
	[ "$got" = 1024 ] && continue
	case $p in
	nacre*) hard_error "$p does not relay a GET (got '$got')" ;;
	*)
		say "$p does not relay a GET (got '$got'): not measured"
		PATHS=$(printf '%s\n' $PATHS | grep -vx "$p" | tr '\n' ' ')
		;;
	esac
done
# The idle-tunnel test holds its tunnels through these (not Tor: see README).
IDLE_PATHS=$(printf '%s\n' $PATHS | grep -vx direct | tr '\n' ' ')
for p in $PATHS; do BYTES[$p]=$BULK_BYTES; done

if [ "$TOR" = 1 ]; then
	say "tor: waiting for a consensus of the four relays, then for the client to bootstrap"
	if tor_ready; then
		TOR_BOOTED=$(date +%s)
		say "tor: bootstrapped in $((TOR_BOOTED - TOR_STARTED)) s"
		PATHS="$PATHS tor3"
		BYTES[tor3]=$((TOR_BULK_MIB * 1048576))
	else
		say "tor: the client did not bootstrap in 180 s, or a GET failed: not measured"
		tor_log_tail >&2
		TOR=0
	fi
fi
say "origin $ORIGIN, sink $SINK; SOCKS5 ports: $(for p in $PATHS; do [ "$p" = direct ] || printf '%s=%s ' "$p" "${PORT[$p]}"; done)"

# ---- results ---------------------------------------------------------------

mkdir -p "$OUT_DIR"
STAMP=$(date +%Y%m%d-%H%M%S)
TSV=$OUT_DIR/chains-$STAMP.tsv
JSON=$OUT_DIR/chains-$STAMP.json
{
	printf '#date\t%s\n' "$(date -Is)"
	printf '#rounds\t%s\n' "$ROUNDS"
	printf '#smoke\t%s\n' "$SMOKE"
	printf '#nacre\t%s\n' "$NACRE"
	printf '#nacre_commit\t%s\n' "$(git -C "$top_srcdir" rev-parse --short HEAD 2>/dev/null || echo unknown)"
	printf '#shadowsocks\t%s\n' "$( (ss-server -h 2>&1 || true) | sed -n 's/^shadowsocks-libev //p' | head -n 1)"
	[ "$TOR" = 1 ] && printf '#tor\t%s\n' "$(tor --version 2>/dev/null | sed -n 's/^Tor version \([^ ]*\).*/\1/p' | head -n 1)"
	printf '#ss_method\t%s\n' "$SS_METHOD"
	printf '#nacre_record_cipher\t%s\n' "$NACRE_CIPHER"
	printf '#nacre_links\t%s\n' "$NACRE_LINKS"
	printf '#nacre_relay_links\t%s\n' "$NACRE_RELAY_LINKS"
	printf '#bulk_bytes\t%s\n' "$BULK_BYTES"
	[ "$TOR" = 1 ] && printf '#tor_bulk_bytes\t%s\n' "${BYTES[tor3]}"
	printf '#ttfb_n\t%s\n' "$TTFB_N"
	printf '#conn_secs\t%s\n' "$CONN_SECS"
	printf '#concurrency\t%s\n' "$CONC"
	printf '#idle_n\t%s\n' "$IDLE_N"
	printf '#after_secs\t%s\n' "$AFTER_SECS"
	printf '#nproc\t%s\n' "$(nproc)"
	for p in $PATHS nacre0; do
		[ "$p" = direct ] || printf '#procs_%s\t%s\n' "$p" "${PNAMES[$p]}"
	done
	printf '#uptime_start\t%s\n' "$(uptime)"
	printf 'round\tfigure\tpath\tvalue\n'
} >"$TSV"
ROUND=0
rec() { printf '%s\t%s\t%s\t%s\n' "$ROUND" "$1" "$2" "$3" >>"$TSV"; }

# lt A B: true when the number A is less than B.
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }

# Tor's processes work when idle (a vote every 20 s, directory fetches): BG_CPU
# holds each one's CPU seconds per second and BG_RT their schedstat
# nanoseconds per second, measured while the other paths' idle tunnels are
# held (nothing goes through Tor then), and subtracted from Tor's figures.
# The other paths use no CPU when idle: theirs are zeros. The window opens 30 s
# after the bootstrap (the first half minute does more: ~35 ms per s against
# ~15) and lasts 20 s at least, one voting interval.
declare -A BG_CPU BG_RT
now() { echo "$EPOCHREALTIME"; }

# cpu_split FIGURE PATH "BEFORE" "AFTER" SECONDS PER: records the CPU of every
# process of the path (FIGURE:NAME) and of them all (FIGURE), each less its
# idle background over SECONDS, multiplied by PER.
cpu_split() {
	local fig=$1 p=$2 b a bg names i tot=0 d
	read -r -a b <<<"$3"
	read -r -a a <<<"$4"
	read -r -a names <<<"${PNAMES[$2]}"
	read -r -a bg <<<"${BG_CPU[$2]:-}"
	for ((i = 0; i < ${#b[@]}; i++)); do
		d=$(calc "(${a[$i]} - ${b[$i]} - ${bg[$i]:-0} * $5) * $6")
		rec "$fig:${names[$i]}" "$p" "$d"
		tot="$tot + $d"
	done
	rec "$fig" "$p" "$(calc "$tot")"
}

# rt_split FIGURE PATH "BEFORE" "AFTER" SECONDS N: the same from schedstat
# nanoseconds, in microseconds per connection over N connections.
rt_split() {
	local fig=$1 p=$2 b a bg names i tot=0 d
	read -r -a b <<<"$3"
	read -r -a a <<<"$4"
	read -r -a names <<<"${PNAMES[$2]}"
	read -r -a bg <<<"${BG_RT[$2]:-}"
	for ((i = 0; i < ${#b[@]}; i++)); do
		d=$(calc "(${a[$i]} - ${b[$i]} - ${bg[$i]:-0} * $5) / 1e3 / $6")
		rec "$fig:${names[$i]}" "$p" "$d"
		tot="$tot + $d"
	done
	rec "$fig" "$p" "$(calc "$tot")"
}

CURL_BULK=(-sS --max-time 300 --speed-limit 100000 --speed-time 15)

# set_via PATH: VIA=(curl's proxy options). Tor gets the address itself (its
# exit does not read /etc/hosts, and a name would be resolved there).
set_via() {
	case $1 in
	direct) VIA=() ;;
	tor3) VIA=(--socks5 "127.0.0.1:${PORT[$1]}") ;;
	*) VIA=(--socks5-hostname "127.0.0.1:${PORT[$1]}") ;;
	esac
}

bigfile() { [ "$1" = tor3 ] && echo big-tor || echo big; }

# down PATH: one download of the big file; MB/s and CPU per GiB.
down() {
	local p=$1 c0 c1 t0 t1 out bytes=${BYTES[$1]}
	set_via "$p"
	[ "$p" = direct ] || { c0=$("$PY" "$U" cpus ${PPIDS[$p]}); t0=$(now); }
	out=$(curl "${CURL_BULK[@]}" "${VIA[@]}" -o /dev/null \
		-w '%{speed_download} %{size_download} %{http_code}' "http://$ORIGIN/$(bigfile "$p")" 2>>"$W/curl.log")
	[ "$p" = direct ] || { c1=$("$PY" "$U" cpus ${PPIDS[$p]}); t1=$(now); }
	set -- $out
	if [ "${2:-0}" != "$bytes" ] || [ "${3:-}" != 200 ]; then
		say "download $p: incomplete ($out; curl: $(tail -n 1 "$W/curl.log"))"
		rec down_errors "$p" 1
		return
	fi
	rec down_mbps "$p" "$(calc "$1 / 1e6")"
	[ "$p" = direct ] ||
		cpu_split down_cpu_s_per_gib "$p" "$c0" "$c1" "$(calc "$t1 - $t0")" "1073741824 / $bytes"
}

# up PATH: one upload of the big file to the sink, which answers with the
# number of bytes it received.
up() {
	local p=$1 c0 c1 t0 t1 out got bytes=${BYTES[$1]}
	set_via "$p"
	[ "$p" = direct ] || { c0=$("$PY" "$U" cpus ${PPIDS[$p]}); t0=$(now); }
	rm -f "$W/up.reply"
	out=$(curl "${CURL_BULK[@]}" "${VIA[@]}" -T "$WWW/$(bigfile "$p")" -H 'Expect:' -o "$W/up.reply" \
		-w '%{speed_upload} %{size_upload} %{http_code}' "http://$SINK/up" 2>>"$W/curl.log")
	[ "$p" = direct ] || { c1=$("$PY" "$U" cpus ${PPIDS[$p]}); t1=$(now); }
	got=$(cat "$W/up.reply" 2>/dev/null)
	set -- $out
	if [ "${2:-0}" != "$bytes" ] || [ "${3:-}" != 200 ] || [ "$got" != "$bytes" ]; then
		say "upload $p: incomplete ($out; the sink got '$got'; curl: $(tail -n 1 "$W/curl.log"))"
		rec up_errors "$p" 1
		return
	fi
	rec up_mbps "$p" "$(calc "$1 / 1e6")"
	[ "$p" = direct ] ||
		cpu_split up_cpu_s_per_gib "$p" "$c0" "$c1" "$(calc "$t1 - $t0")" "1073741824 / $bytes"
}

# loadgen_via PATH ARGS...: loadgen GETs of the 1 KiB file through PATH.
loadgen_via() {
	local p=$1
	shift
	if [ "$p" = direct ]; then
		timeout 150 "$LOADGEN" --mode direct --target "$ORIGIN" --path /1k --sources 8 "$@"
	else
		timeout 150 "$LOADGEN" --mode socks5 --proxy "127.0.0.1:${PORT[$p]}" \
			--target "$ORIGIN" --path /1k --sources 8 "$@"
	fi
}

# tor_warm: Tor keeps streams from different client addresses on different
# circuits, and loadgen's come from 8 (--sources 8): one GET from each first,
# so no measured request waits for a circuit to be built.
tor_warm() {
	[ "$1" = tor3 ] || return 0
	loadgen_via tor3 --concurrency 8 --requests 16 --duration 60 --timeout 30 >/dev/null
}

# ttfb PATH [close]: TTFB_N GETs of 1 KiB, one at a time, each on a new
# connection (through a new chain): time to first byte from connect(), and the
# CPU all the path's processes spent per connection (schedstat, exact to the
# nanosecond: 10 ms clock ticks are too coarse for a few hundred microseconds).
# The client closes first, as curl does; with "close" the requests carry
# Connection: close and the origin closes first (figures ttfbc_*).
#
# The two differ for Tor, whose relay connections keep Nagle's algorithm on:
# when the client ends a stream, its END cell goes to the guard and on to the
# exit, nothing answers it, and the next stream's BEGIN cell waits at each hop
# until the delayed ACK for the END comes (~40 ms; tcpdump shows it). When the
# origin closes first, the END comes from the exit and the client sends none.
# Spaced out, a GET of 1 KiB through Tor's three hops takes 10-16 ms here.
ttfb() {
	local p=$1 r0 r1 t0 t1 out n f=ttfb args=()
	[ "${2:-}" = close ] && f=ttfbc args=(--connection-close)
	tor_warm "$p"
	[ "$p" = direct ] || { r0=$("$PY" "$U" runtimes ${PPIDS[$p]}); t0=$(now); }
	out=$(loadgen_via "$p" --concurrency 1 --requests "$TTFB_N" --duration 120 --timeout 10 \
		"${args[@]}") || {
		say "$f $p: loadgen failed ($out)"
		rec ${f}_errors "$p" "$TTFB_N"
		return
	}
	[ "$p" = direct ] || { r1=$("$PY" "$U" runtimes ${PPIDS[$p]}); t1=$(now); }
	echo "$f $p round $ROUND: $out" >>"$W/loadgen.log"
	n=$(kv completed "$out")
	rec ${f}_completed "$p" "$n"
	rec ${f}_errors "$p" "$(kv errors "$out")"
	[ "${n:-0}" -gt 0 ] || return
	rec ${f}_p50_us "$p" "$(kv ttfb_p50_us "$out")"
	rec ${f}_p99_us "$p" "$(kv ttfb_p99_us "$out")"
	[ "$p" = direct ] || rt_split ${f}_cpu_us_per_conn "$p" "$r0" "$r1" "$(calc "$t1 - $t0")" "$n"
}

# conn PATH: CONC clients, each a new connection (a new chain) per GET, for
# CONN_SECS: the rate, TTFB and the CPU of all the path's processes per
# connection under load.
conn() {
	local p=$1 r0 r1 t0 t1 out n
	tor_warm "$p"
	[ "$p" = direct ] || { r0=$("$PY" "$U" runtimes ${PPIDS[$p]}); t0=$(now); }
	out=$(loadgen_via "$p" --concurrency "$CONC" --duration "$CONN_SECS") || {
		say "conn $p: loadgen failed ($out)"
		return
	}
	[ "$p" = direct ] || { r1=$("$PY" "$U" runtimes ${PPIDS[$p]}); t1=$(now); }
	echo "conn $p round $ROUND: $out" >>"$W/loadgen.log"
	n=$(kv completed "$out")
	rec conn_rps "$p" "$(kv rps "$out")"
	rec conn_errors "$p" "$(kv errors "$out")"
	[ "${n:-0}" -gt 0 ] || return
	rec conn_ttfb_p50_us "$p" "$(kv ttfb_p50_us "$out")"
	rec conn_ttfb_p99_us "$p" "$(kv ttfb_p99_us "$out")"
	[ "$p" = direct ] || rt_split conn_cpu_us_per_conn "$p" "$r0" "$r1" "$(calc "$t1 - $t0")" "$n"
}

# idle PATH: the path is started afresh, then each process's RSS is read before,
# with IDLE_N idle tunnels open through it (each has carried a byte each way),
# and AFTER_SECS after they close.
idle() {
	local p=$1 b w a names opened i tot_b=0 tot_w=0 tot_a=0 per maxper=0
	stop_path "$p"
	start_path "$p" || {
		say "idle $p: the path did not start again"
		return
	}
	[ "$SMOKE" = 1 ] || sleep 0.5
	read -r -a names <<<"${PNAMES[$p]}"
	read -r -a b <<<"$("$PY" "$U" rss ${PPIDS[$p]})"
	hold_open "$p" "${PORT[$p]}" || return
	[ "$SMOKE" = 1 ] || sleep 1
	read -r -a w <<<"$("$PY" "$U" rss ${PPIDS[$p]})"
	hold_release
	sleep "$AFTER_SECS"
	read -r -a a <<<"$("$PY" "$U" rss ${PPIDS[$p]})"
	opened=$(kv opened "$(cat "$HOLD_READY")")
	echo "idle $p round $ROUND: $(cat "$HOLD_READY") before: ${b[*]} with: ${w[*]} after: ${a[*]}" >>"$W/hold.log"
	rec idle_tunnels "$p" "$opened"
	[ "${opened:-0}" = "$IDLE_N" ] || say "idle $p: only $opened of $IDLE_N tunnels opened"
	for ((i = 0; i < ${#names[@]}; i++)); do
		tot_b=$((tot_b + b[i])) tot_w=$((tot_w + w[i])) tot_a=$((tot_a + a[i]))
		rec "idle_rss_kept_kib:${names[$i]}" "$p" "$((a[i] - b[i]))"
		[ "${opened:-0}" -gt 0 ] || continue
		per=$(calc "(${w[$i]} - ${b[$i]}) / $opened")
		rec "idle_kib_per_tunnel:${names[$i]}" "$p" "$per"
		maxper=$(awk -v x="$per" -v m="$maxper" 'BEGIN { print (x > m ? x : m) }')
	done
	rec idle_rss_before_kib "$p" "$tot_b"
	rec idle_rss_with_kib "$p" "$tot_w"
	rec idle_rss_after_kib "$p" "$tot_a"
	rec idle_rss_kept_kib "$p" "$((tot_a - tot_b))"
	if [ "${opened:-0}" -gt 0 ]; then
		rec idle_kib_per_tunnel "$p" "$(calc "($tot_w - $tot_b) / $opened")"
		rec idle_kib_per_tunnel_max "$p" "$maxper"
	fi
}

LOAD_START=$(uptime)
say "load before: $LOAD_START"

# bg_open: opens Tor's background window once the bootstrap is 30 s old
# (waiting for that with "wait").
bg_t0=""
bg_open() {
	[ "$TOR" = 1 ] && [ -z "$bg_t0" ] || return 0
	if [ "${1:-}" = wait ]; then
		while [ $(($(date +%s) - TOR_BOOTED)) -lt 30 ]; do sleep 0.5; done
	fi
	[ $(($(date +%s) - TOR_BOOTED)) -ge 30 ] || return 0
	bg_c0=$("$PY" "$U" cpus ${PPIDS[tor3]})
	bg_r0=$("$PY" "$U" runtimes ${PPIDS[tor3]})
	bg_t0=$(now)
}

# The idle-tunnel rounds go first, on paths started afresh; Tor's idle
# background is measured meanwhile.
for ((ROUND = 1; ROUND <= ROUNDS; ROUND++)); do
	porder=$(rotate "$ROUND" $IDLE_PATHS)
	say "round $ROUND/$ROUNDS: $IDLE_N idle tunnels, each path restarted first ($porder)"
	for p in $porder; do
		bg_open
		idle "$p"
	done
done
if [ "$TOR" = 1 ]; then
	bg_open wait
	while lt "$(calc "$(now) - $bg_t0")" 20; do sleep 0.5; done
	bg_c1=$("$PY" "$U" cpus ${PPIDS[tor3]})
	bg_r1=$("$PY" "$U" runtimes ${PPIDS[tor3]})
	bg_dt=$(calc "$(now) - $bg_t0")
	read -r -a c0 <<<"$bg_c0"
	read -r -a c1 <<<"$bg_c1"
	read -r -a r0 <<<"$bg_r0"
	read -r -a r1 <<<"$bg_r1"
	BG_CPU[tor3]="" BG_RT[tor3]="" bg_ms=0
	for ((i = 0; i < ${#c0[@]}; i++)); do
		BG_CPU[tor3]="${BG_CPU[tor3]} $(calc "(${c1[$i]} - ${c0[$i]}) / $bg_dt")"
		BG_RT[tor3]="${BG_RT[tor3]} $(calc "(${r1[$i]} - ${r0[$i]}) / $bg_dt")"
		bg_ms=$(calc "$bg_ms + (${r1[$i]} - ${r0[$i]}) / 1e6 / $bg_dt")
	done
	ROUND=0 rec bg_cpu_ms_per_s tor3 "$bg_ms"
	say "tor: idle background ${bg_ms} ms of CPU per s over ${bg_dt} s (all five processes)"
fi

for ((ROUND = 1; ROUND <= ROUNDS; ROUND++)); do
	order=$(rotate "$ROUND" $PATHS)
	say "round $ROUND/$ROUNDS: download ($order)"
	for p in $order; do down "$p"; done
	say "round $ROUND/$ROUNDS: upload"
	for p in $order; do up "$p"; done
	say "round $ROUND/$ROUNDS: $TTFB_N new connections, one at a time; again with Connection: close"
	for p in $order; do ttfb "$p"; done
	for p in $order; do ttfb "$p" close; done
	say "round $ROUND/$ROUNDS: new connections, c=$CONC for $CONN_SECS s (and nacre direct)"
	for p in $(rotate "$ROUND" $PATHS nacre0); do conn "$p"; done
done
LOAD_END=$(uptime)
printf '#uptime_end\t%s\n' "$LOAD_END" >>"$TSV"
say "load after: $LOAD_END"

echo
echo "nacre chains benchmark: $ROUNDS round(s)$([ "$SMOKE" = 1 ] && echo ', SMOKE'), $(nproc) cores, $(date -Is)"
echo "bulk: ${BULK_MIB} MiB$([ "$TOR" = 1 ] && echo " (Tor: ${TOR_BULK_MIB} MiB)") via curl," \
	"down from nginx and up to a sink; TTFB: loadgen socks5 -c1, $TTFB_N new connections" \
	"(the client closes first; then with Connection: close, the origin first);" \
	"c=$CONC: loadgen, ${CONN_SECS} s of new connections; idle: $IDLE_N tunnels," \
	"RSS again ${AFTER_SECS} s after they close; ss: $SS_METHOD, --no-delay;" \
	"nacre: record_cipher $NACRE_CIPHER, links $NACRE_LINKS, between relays $NACRE_RELAY_LINKS"
echo "load at start: ${LOAD_START/*load average/load average}"
echo "load at end:   ${LOAD_END/*load average/load average}"
echo
"$PY" "$U" summarize --layout chains "$TSV" "$JSON" || hard_error "summary failed"
echo
echo "MB = 10^6 bytes. CPU is utime+stime (/proc/PID/stat) of every process on the path,"
echo "client and relays (the curl, loadgen, nginx and sink processes are not counted);"
echo "per new connection it is their schedstat run time. RSS is each process's VmRSS;"
echo "KiB per tunnel is (RSS with - RSS before) / tunnels opened."
if [ "$TOR" = 1 ]; then
	echo "Tor: its five processes' idle background CPU (the row above; votes, directory"
	echo "fetches) times each test's length is subtracted from its CPU figures."
fi
echo "Processes per path:"
for p in $PATHS nacre0; do
	[ "$p" = direct ] || printf '  %-7s %s\n' "$p" "${PNAMES[$p]}"
done
echo "raw samples: $TSV"
echo "summary:     $JSON"

# nacre's logs at warn and above: there should be none.
warn=$(cat "$W"/n[013]*.old "$W"/n[013]*.log 2>/dev/null | grep -E ' (warn|error|fatal)' | head -n 10)
if [ -n "$warn" ]; then
	echo
	echo "nacre logged (first 10 lines at warn or above):"
	printf '%s\n' "$warn"
fi

# Sanity: nacre must have done every test of every round without an error.
# sane PATH DESCRIPTION FIGURE TEST: TEST is an awk condition on the values v.
PASSED=0 FAILED=0
sane() {
	local bad
	bad=$(awk -F '\t' -v f="$3" -v p="$1" '$2 == f && $3 == p { n++; v = $4; if (!('"$4"')) b++ }
		END { if (n != '"$ROUNDS"') print "ran " n + 0 " of '"$ROUNDS"'"; else if (b) print b " bad" }' "$TSV")
	if [ -z "$bad" ]; then
		PASSED=$((PASSED + 1))
	else
		FAILED=$((FAILED + 1))
		echo "not ok - $1: $2 ($bad)"
	fi
}
for p in nacre1 nacre3; do
	sane "$p" "downloads complete" down_mbps 'v > 0'
	sane "$p" "uploads complete" up_mbps 'v > 0'
	sane "$p" "every new connection completes" ttfb_completed "v == $TTFB_N"
	sane "$p" "no errors on new connections" ttfb_errors 'v == 0'
	sane "$p" "every new connection completes, Connection: close" ttfbc_completed "v == $TTFB_N"
	sane "$p" "no errors on new connections, Connection: close" ttfbc_errors 'v == 0'
	sane "$p" "new connections at c=$CONC complete" conn_rps 'v > 0'
	sane "$p" "no errors at c=$CONC" conn_errors 'v == 0'
	sane "$p" "every idle tunnel opens" idle_tunnels "v == $IDLE_N"
done
sane nacre0 "new connections at c=$CONC complete, direct" conn_rps 'v > 0'
sane nacre0 "no errors at c=$CONC, direct" conn_errors 'v == 0'
echo "sanity: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ] || exit 1
