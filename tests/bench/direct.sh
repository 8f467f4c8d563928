#!/usr/bin/env bash
# One-hop benchmark: nacre against microsocks and dante, and the no-proxy
# ceiling, in the same run, alternating, over ROUNDS rounds.
#
#   ROUNDS=5 tests/bench/direct.sh          (about 13 minutes on 2 cores; 3 rounds: 9)
#   SMOKE=1  tests/bench/direct.sh          (one short round, about 30 s, for CI)
#
# Environment:
#   NACRE        the nacre binary (default: ./nacre in the current directory,
#                else one is built out of tree under the work directory)
#   ROUNDS       rounds (default 5, at most 20); each round runs every test on
#                every path, the order rotated from round to round
#   SMOKE=1      one round, a 64 MiB file, 0.5 s tests, 100 idle tunnels
#   CONN_SECS    seconds per new-connection run (default 5)
#   KA_SECS      seconds of keep-alive GETs through one tunnel (default 2)
#   CONN_CLOSE=1 new-connection requests carry "Connection: close", so the origin
#                closes first (default: the client closes first, as curl does)
#   IDLE_N       idle tunnels (default 2000)
#   AFTER_SECS   seconds to wait after the idle tunnels close before RSS is read
#                again (default 3: nacre gives memory back a second after its
#                last client leaves)
#   OUT_DIR      where the result files go (default /tmp/nacre-bench-results)
#   NO_INSTALL=1 do not apt-get missing peers: run without them
#
# Everything listens on 127.0.0.1 and every request goes to 127.0.0.1.
# Exit: 0 done, 1 nacre failed a sanity check (a download cut short, a request
# error, an idle tunnel that did not open), 77 skipped (a tool missing), 99 hard
# error. The peers' failures are reported but do not fail the run.
set -u
set -o pipefail

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=$(cd "$here/../.." && pwd)

SMOKE=${SMOKE:-0}
if [ "$SMOKE" = 1 ]; then
	ROUNDS=${ROUNDS:-1}
	BULK_MIB=${BULK_MIB:-64}
	CONN_SECS=${CONN_SECS:-0.5}
	LAT1_SECS=${LAT1_SECS:-0.3}
	KA_SECS=${KA_SECS:-0.3}
	IDLE_N=${IDLE_N:-100}
	AFTER_SECS=${AFTER_SECS:-1.2}
	CHECK_SECS=${CHECK_SECS:-1}
	SETTLE=${SETTLE:-1}
else
	ROUNDS=${ROUNDS:-5}
	BULK_MIB=${BULK_MIB:-1024}
	CONN_SECS=${CONN_SECS:-5}
	LAT1_SECS=${LAT1_SECS:-2}
	KA_SECS=${KA_SECS:-2}
	IDLE_N=${IDLE_N:-2000}
	AFTER_SECS=${AFTER_SECS:-3}
	CHECK_SECS=${CHECK_SECS:-5}
	SETTLE=${SETTLE:-3}
fi
CONC=${CONC:-50}
OUT_DIR=${OUT_DIR:-/tmp/nacre-bench-results}

case "$ROUNDS" in '' | *[!0-9]*) echo "ROUNDS must be a whole number"; exit 99 ;; esac
[ "$ROUNDS" -ge 1 ] && [ "$ROUNDS" -le 20 ] || { echo "ROUNDS must be 1..20"; exit 99; }
case "$IDLE_N" in '' | *[!0-9]*) echo "IDLE_N must be a whole number"; exit 99 ;; esac
[ "$IDLE_N" -ge 1 ] && [ "$IDLE_N" -le 5000 ] || { echo "IDLE_N must be 1..5000"; exit 99; }

# Proxy variables in the environment would send curl elsewhere.
unset http_proxy https_proxy all_proxy no_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY NO_PROXY

W=$(mktemp -d "${TMPDIR:-/tmp}/nacre-bench.XXXXXX") || { echo "ERROR: mktemp failed"; exit 99; }
WWW=$(mktemp -d /dev/shm/nacre-bench-www.XXXXXX) || { echo "ERROR: no /dev/shm"; rm -rf "$W"; exit 99; }
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
for pair in microsocks:microsocks danted:dante-server nginx:nginx-light curl:curl wrk:wrk; do
	have "${pair%%:*}" || missing="$missing ${pair#*:}"
done
install_missing $missing
have nginx || { echo "SKIP: nginx is missing"; exit 77; }
have curl || { echo "SKIP: curl is missing"; exit 77; }

find_nacre
build_loadgen

# Each idle tunnel costs the helper two descriptors and a proxy two.
fit_idle_n

# ---- origin ----------------------------------------------------------------

say "writing ${BULK_MIB} MiB and 1 KiB files to $WWW"
chmod 755 "$WWW"
dd if=/dev/zero of="$WWW/big" bs=1M count="$BULK_MIB" status=none || hard_error "no room in /dev/shm"
head -c 1024 /dev/zero | tr '\0' 'x' >"$WWW/1k"
chmod 644 "$WWW/big" "$WWW/1k"
BULK_BYTES=$((BULK_MIB * 1048576))

NGX_PORT=$(free_port)
mkdir -p "$W/ngx-tmp"
cat >"$W/nginx.conf" <<EOF
worker_processes ${NGINX_WORKERS:-1};
worker_rlimit_nofile 20000;
daemon off;
pid $W/nginx.pid;
error_log $W/nginx.log warn;
events { worker_connections 16384; }
http {
	access_log off;
	sendfile on;
	tcp_nopush on;
	keepalive_requests 1000000;
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
NGX_PID=$!
PIDS="$PIDS $NGX_PID"
wait_port "$NGX_PORT" 10 || hard_error "nginx did not start"
ORIGIN=127.0.0.1:$NGX_PORT
[ "$(curl -s -o /dev/null -w '%{size_download}' "http://$ORIGIN/1k")" = 1024 ] ||
	hard_error "nginx does not serve /1k"

# Uploads go to the sink, which answers once it has the whole body.
start_sink

# ---- proxies ---------------------------------------------------------------
# Each proxy can be stopped and started again (on a new port), so the
# idle-tunnel test always meets a fresh process.
#
# Ephemeral ports: the new-connection tests leave tens of thousands of TIME_WAIT
# sockets behind. loadgen spreads its own over 127.0.1.1-8 (--sources 8); the
# proxies' upstream sockets leave theirs on 127.0.0.1. nacre and microsocks let
# connect() pick the port, which may reuse a TIME_WAIT one (tcp_tw_reuse=2 is the
# default for loopback), but dante binds each upstream socket before connecting
# and bind() cannot, so dante gets its own source address (external: 127.0.0.2)
# and the others' TIME_WAIT sockets do not make it fail; its own are waited
# out after each of its tests (dante_settle).

declare -A PID PORT
DANTE_SRC=127.0.0.2

# start_peer NAME: starts the proxy; sets PID[NAME] and PORT[NAME].
start_peer() {
	local p=$1 i
	case $p in
	nacre)
		cat >"$W/nacre.conf" <<EOF
listen = ( { address = "127.0.0.1:0"; } );
limits = { connections = 20000; per_client = 20000; };
log_level = "info";
EOF
		"$NACRE" -c "$W/nacre.conf" >"$W/nacre.log" 2>&1 &
		PID[nacre]=$!
		for i in $(seq 200); do
			grep -q 'listening on ' "$W/nacre.log" && break
			sleep 0.05
		done
		PORT[nacre]=$(sed -nE 's/.*listening on (\[[^]]*\]|[^ ]*):([0-9]+).*/\2/p' \
			"$W/nacre.log" | head -n 1)
		[ -n "${PORT[nacre]}" ] || hard_error "nacre did not start"
		;;
	microsocks)
		PORT[microsocks]=$(free_port)
		microsocks -i 127.0.0.1 -p "${PORT[microsocks]}" >>"$W/microsocks.log" 2>&1 &
		PID[microsocks]=$!
		;;
	dante)
		PORT[dante]=$(free_port)
		cat >"$W/danted.conf" <<EOF
logoutput: $W/danted.log
internal: 127.0.0.1 port = ${PORT[dante]}
external: $DANTE_SRC
clientmethod: none
socksmethod: none
user.privileged: root
user.unprivileged: nobody
client pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }
socks pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }
EOF
		danted -f "$W/danted.conf" >>"$W/danted.log" 2>&1 &
		PID[dante]=$!
		;;
	esac
	PIDS="$PIDS ${PID[$p]}"
	wait_port "${PORT[$p]}" 10 || hard_error "$p did not start"
}

# stop_peer NAME: SIGTERM, then SIGKILL after 5 s.
stop_peer() {
	local pid=${PID[$1]} i
	kill "$pid" 2>/dev/null
	for i in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	PIDS=$(printf '%s\n' $PIDS | grep -vx "$pid" | tr '\n' ' ')
}

PEERS="nacre"
if have microsocks; then PEERS="$PEERS microsocks"; else say "microsocks is missing: not measured"; fi
# dante's configuration switches to "nobody", which takes root.
if ! have danted; then
	say "danted is missing: not measured"
elif [ "$(id -u)" != 0 ]; then
	say "dante needs root here: not measured"
else
	PEERS="$PEERS dante"
fi
for p in $PEERS; do
	start_peer "$p"
	got=$(curl -s --max-time 10 --socks5 "127.0.0.1:${PORT[$p]}" -o /dev/null \
		-w '%{size_download}' "http://$ORIGIN/1k")
	[ "$got" = 1024 ] || hard_error "$p does not relay a GET (got '$got')"
done
say "origin $ORIGIN, sink $SINK; proxies: $(for p in $PEERS; do printf '%s=%s ' "$p" "${PORT[$p]}"; done)"

# ---- results ---------------------------------------------------------------

mkdir -p "$OUT_DIR"
STAMP=$(date +%Y%m%d-%H%M%S)
TSV=$OUT_DIR/direct-$STAMP.tsv
JSON=$OUT_DIR/direct-$STAMP.json
{
	printf '#date\t%s\n' "$(date -Is)"
	printf '#rounds\t%s\n' "$ROUNDS"
	printf '#smoke\t%s\n' "$SMOKE"
	printf '#nacre\t%s\n' "$NACRE"
	printf '#nacre_commit\t%s\n' "$(git -C "$top_srcdir" rev-parse --short HEAD 2>/dev/null || echo unknown)"
	printf '#bulk_bytes\t%s\n' "$BULK_BYTES"
	printf '#conn_secs\t%s\n' "$CONN_SECS"
	printf '#ka_secs\t%s\n' "$KA_SECS"
	printf '#after_secs\t%s\n' "$AFTER_SECS"
	printf '#concurrency\t%s\n' "$CONC"
	printf '#idle_n\t%s\n' "$IDLE_N"
	printf '#nproc\t%s\n' "$(nproc)"
	printf '#uptime_start\t%s\n' "$(uptime)"
	printf 'round\tfigure\tpath\tvalue\n'
} >"$TSV"
ROUND=0
rec() { printf '%s\t%s\t%s\t%s\n' "$ROUND" "$1" "$2" "$3" >>"$TSV"; }

cpu_of() { "$PY" "$U" cpu "$1"; }
# runtime_of PID: nanoseconds on a CPU of the tree (schedstat: exact where
# clock ticks are 10 ms).
runtime_of() { "$PY" "$U" runtime "$1"; }

# ---- the tests -------------------------------------------------------------

# bulk PATH: one download of the big file; MB/s and the proxy's CPU per GiB.
bulk() {
	local p=$1 c0 c1 out via=()
	[ "$p" = direct ] || via=(--socks5 "127.0.0.1:${PORT[$p]}")
	[ "$p" = direct ] || c0=$(cpu_of "${PID[$p]}")
	out=$(curl -sS --max-time 120 "${via[@]}" -o /dev/null \
		-w '%{speed_download} %{size_download} %{http_code}' "http://$ORIGIN/big" 2>>"$W/curl.log")
	set -- $out
	if [ "${2:-0}" != "$BULK_BYTES" ] || [ "${3:-}" != 200 ]; then
		say "bulk $p: incomplete download ($out)"
		rec bulk_errors "$p" 1
		return
	fi
	rec bulk_mbps "$p" "$(calc "$1 / 1e6")"
	if [ "$p" != direct ]; then
		c1=$(cpu_of "${PID[$p]}")
		rec bulk_cpu_s_per_gib "$p" "$(calc "($c1 - $c0) * 1073741824 / $BULK_BYTES")"
	fi
}

# up PATH: one upload of the big file to the sink; MB/s and the proxy's CPU per GiB.
up() {
	local p=$1 c0 c1 out got via=()
	[ "$p" = direct ] || via=(--socks5 "127.0.0.1:${PORT[$p]}")
	[ "$p" = direct ] || c0=$(cpu_of "${PID[$p]}")
	rm -f "$W/up.reply"
	out=$(curl -sS --max-time 120 "${via[@]}" -T "$WWW/big" -H 'Expect:' -o "$W/up.reply" \
		-w '%{speed_upload} %{size_upload} %{http_code}' "http://$SINK/up" 2>>"$W/curl.log")
	[ "$p" = direct ] || c1=$(cpu_of "${PID[$p]}")
	got=$(cat "$W/up.reply" 2>/dev/null)
	set -- $out
	if [ "${2:-0}" != "$BULK_BYTES" ] || [ "${3:-}" != 200 ] || [ "$got" != "$BULK_BYTES" ]; then
		say "upload $p: incomplete ($out; the sink got '$got')"
		rec up_errors "$p" 1
		return
	fi
	rec up_mbps "$p" "$(calc "$1 / 1e6")"
	[ "$p" = direct ] || rec up_cpu_s_per_gib "$p" "$(calc "($c1 - $c0) * 1073741824 / $BULK_BYTES")"
}

# loadgen_for PATH ARGS...: loadgen through PATH (or direct) against the 1 KiB file.
loadgen_for() {
	local p=$1
	shift
	if [ "$p" = direct ]; then
		timeout 150 "$LOADGEN" --mode direct --target "$ORIGIN" --path /1k --sources 8 \
			"${CLOSE_ARG[@]}" "$@"
	else
		timeout 150 "$LOADGEN" --mode socks5 --proxy "127.0.0.1:${PORT[$p]}" \
			--target "$ORIGIN" --path /1k --sources 8 "${CLOSE_ARG[@]}" "$@"
	fi
}

CLOSE_ARG=()
[ "${CONN_CLOSE:-0}" = 1 ] && CLOSE_ARG=(--connection-close)

# conn PATH: CONC clients, a fresh connection per GET, CONN_SECS seconds.
conn() {
	local p=$1 c0 c1 out n
	[ "$p" = direct ] || c0=$(cpu_of "${PID[$p]}")
	out=$(loadgen_for "$p" --concurrency "$CONC" --duration "$CONN_SECS") || {
		say "conn $p: loadgen failed"
		return
	}
	echo "conn $p round $ROUND: $out" >>"$W/loadgen.log"
	n=$(kv completed "$out")
	rec conn_rps "$p" "$(kv rps "$out")"
	rec conn_ttfb_p50_us "$p" "$(kv ttfb_p50_us "$out")"
	rec conn_ttfb_p99_us "$p" "$(kv ttfb_p99_us "$out")"
	rec conn_errors "$p" "$(kv errors "$out")"
	rec conn_loadgen_cpu_pct "$p" "$(calc "100 * $(kv loadgen_cpu_s "$out") / $(kv elapsed_s "$out")")"
	if [ "$p" = direct ]; then
		[ "${CONN_CLOSE:-0}" = 1 ] && return # the check measures that shape itself
		rec loadgen_fresh_rps direct "$(kv rps "$out")"
		rec loadgen_fresh_cpu_us_per_req direct "$(kv loadgen_cpu_us_per_req "$out")"
	elif [ "${n:-0}" -gt 0 ]; then
		c1=$(cpu_of "${PID[$p]}")
		rec conn_cpu_us_per_req "$p" "$(calc "($c1 - $c0) * 1e6 / $n")"
	fi
}

# lat1 PATH: one client, a fresh connection per GET: unloaded time to first byte.
lat1() {
	local p=$1 out
	out=$(loadgen_for "$p" --concurrency 1 --duration "$LAT1_SECS") || return
	echo "lat1 $p round $ROUND: $out" >>"$W/loadgen.log"
	rec lat1_ttfb_p50_us "$p" "$(kv ttfb_p50_us "$out")"
}

# ka PATH: one client, one connection (one tunnel), GETs one after another for
# KA_SECS: the request rate and round trip through an open tunnel, and the
# proxy's CPU per request.
ka() {
	local p=$1 r0 r1 out n args=(--mode direct)
	if [ "$p" != direct ]; then
		args=(--mode socks5 --proxy "127.0.0.1:${PORT[$p]}")
		r0=$(runtime_of "${PID[$p]}")
	fi
	out=$(timeout 150 "$LOADGEN" "${args[@]}" --target "$ORIGIN" --path /1k --keepalive \
		--concurrency 1 --duration "$KA_SECS") || {
		say "ka $p: loadgen failed"
		return
	}
	[ "$p" = direct ] || r1=$(runtime_of "${PID[$p]}")
	echo "ka $p round $ROUND: $out" >>"$W/loadgen.log"
	n=$(kv completed "$out")
	rec ka_rps "$p" "$(kv rps "$out")"
	rec ka_ttfb_p50_us "$p" "$(kv ttfb_p50_us "$out")"
	rec ka_ttfb_p99_us "$p" "$(kv ttfb_p99_us "$out")"
	rec ka_errors "$p" "$(kv errors "$out")"
	rec ka_connections "$p" "$(kv connections "$out")"
	[ "$p" = direct ] || [ "${n:-0}" -le 0 ] ||
		rec ka_cpu_us_per_req "$p" "$(calc "($r1 - $r0) / 1e3 / $n")"
}

mem_of() { "$PY" "$U" mem "$1"; }
# settled_mem PID: the tree's memory once its process count has held still for
# SETTLE samples 0.5 s apart (dante reaps children a while after load), waiting
# at most 10 s.
settled_mem() {
	local m prev="" same=0 i
	for i in $(seq 20); do
		m=$(mem_of "$1")
		[ "$SETTLE" -le 1 ] && break
		if [ "$(kv procs "$m")" = "$(kv procs "$prev")" ]; then
			same=$((same + 1))
			[ "$same" -ge "$SETTLE" ] && break
		else
			same=0
		fi
		prev=$m
		sleep 0.5
	done
	printf '%s\n' "$m"
}

# dante_settle: until fewer than 4,000 TIME_WAIT sockets remain on dante's
# source address; at most 65 s (their lifetime is 60 s). dante binds each
# upstream socket before it connects, so every connection it closes first leaves
# a TIME_WAIT socket that holds a bound port. After one c=50 run (some 20,000 of
# them) dante runs short of ports, and here loadgen's CPU per new direct
# connection went from 42 to over 200 us for up to a minute, slowing whichever
# path came next; with Connection: close, which leaves dante none, it did not.
# So the next test waits until they are gone. With CONN_CLOSE=1 the origin
# closes first and no wait is needed.
dante_settle() {
	local tw i
	have danted && command -v ss >/dev/null || return 0
	for i in $(seq 130); do
		tw=$(ss -Htan state time-wait src "$DANTE_SRC" | wc -l)
		[ "$tw" -lt 4000 ] && return 0
		[ "$i" = 1 ] && say "dante: waiting for $tw TIME_WAIT sockets on $DANTE_SRC to expire"
		sleep 0.5
	done
}

# idle PATH: RSS of a freshly started proxy's process tree before, with IDLE_N
# idle tunnels open (each has carried one byte each way), and AFTER_SECS after
# they close.
idle() {
	local p=$1 m0 m1 m2 r0 r1 r2 s0 s1 opened
	stop_peer "$p"
	[ "$p" = dante ] && dante_settle
	start_peer "$p"
	m0=$(settled_mem "${PID[$p]}")
	hold_open "$p" "${PORT[$p]}" || return
	[ "$SMOKE" = 1 ] || sleep 1
	m1=$(mem_of "${PID[$p]}")
	hold_release
	opened=$(kv opened "$(cat "$HOLD_READY")")
	sleep "$AFTER_SECS"
	m2=$(settled_mem "${PID[$p]}")
	echo "idle $p round $ROUND: $(cat "$HOLD_READY") before: $m0 with: $m1 after: $m2" >>"$W/hold.log"
	r0=$(kv rss_kib "$m0") r1=$(kv rss_kib "$m1") r2=$(kv rss_kib "$m2")
	s0=$(kv pss_kib "$m0") s1=$(kv pss_kib "$m1")
	rec idle_tunnels "$p" "$opened"
	rec idle_rss_before_kib "$p" "$r0"
	rec idle_rss_with_kib "$p" "$r1"
	rec idle_rss_after_kib "$p" "$r2"
	rec idle_rss_kept_kib "$p" "$((r2 - r0))"
	rec idle_procs_with "$p" "$(kv procs "$m1")"
	if [ "${opened:-0}" -gt 0 ]; then
		rec idle_kib_per_tunnel "$p" "$(calc "($r1 - $r0) / $opened")"
		rec idle_pss_kib_per_tunnel "$p" "$(calc "($s1 - $s0) / $opened")"
	fi
	[ "${opened:-0}" = "$IDLE_N" ] || say "idle $p: only $opened of $IDLE_N tunnels opened"
}

# check: wrk against loadgen on the no-proxy path, keep-alive and not, with the
# CPU each client spent per request. The fresh-connection loadgen run is conn direct.
check() {
	local out n cpu
	have wrk || return 0
	wrk_run() {
		timeout 150 "$PY" "$U" cputime wrk -t1 -c"$CONC" -d"${CHECK_SECS}s" --timeout 10s "$@" \
			"http://$ORIGIN/1k" 2>&1
	}
	# wrk_rec NAME OUTPUT
	wrk_rec() {
		n=$(printf '%s\n' "$2" | sed -nE 's/^ *([0-9]+) requests in .*/\1/p')
		cpu=$(kv child_cpu_s "$(printf '%s\n' "$2" | grep child_cpu_s)")
		rec "wrk_$1_rps" direct "$(printf '%s\n' "$2" | sed -n 's/^Requests\/sec: *//p')"
		[ "${n:-0}" -gt 0 ] && [ -n "$cpu" ] &&
			rec "wrk_$1_cpu_us_per_req" direct "$(calc "$cpu * 1e6 / $n")"
	}
	out=$(wrk_run) && wrk_rec keepalive "$out"
	out=$(loadgen_for direct --concurrency "$CONC" --duration "$CHECK_SECS" --keepalive) && {
		rec loadgen_keepalive_rps direct "$(kv rps "$out")"
		rec loadgen_keepalive_cpu_us_per_req direct "$(kv loadgen_cpu_us_per_req "$out")"
	}
	out=$(wrk_run -H 'Connection: close') && wrk_rec close "$out"
	out=$(loadgen_for direct --concurrency "$CONC" --duration "$CHECK_SECS" --connection-close) && {
		rec loadgen_close_rps direct "$(kv rps "$out")"
		rec loadgen_close_cpu_us_per_req direct "$(kv loadgen_cpu_us_per_req "$out")"
	}
}

ALL="direct $PEERS"
say "load before: $(uptime)"
# The idle-tunnel rounds go first, while dante's source address has no TIME_WAIT
# sockets to wait out.
for ((ROUND = 1; ROUND <= ROUNDS; ROUND++)); do
	porder=$(rotate "$ROUND" $PEERS)
	say "round $ROUND/$ROUNDS: idle tunnels, each proxy restarted first ($porder)"
	for p in $porder; do idle "$p"; done
done
for ((ROUND = 1; ROUND <= ROUNDS; ROUND++)); do
	order=$(rotate "$ROUND" $ALL)
	say "round $ROUND/$ROUNDS: bulk download and upload ($order)"
	for p in $order; do bulk "$p"; done
	for p in $order; do up "$p"; done
	say "round $ROUND/$ROUNDS: keep-alive GETs through one tunnel ($order)"
	for p in $order; do ka "$p"; done
	say "round $ROUND/$ROUNDS: new connections, c=1 then c=$CONC ($order)"
	for p in $order; do
		lat1 "$p"
		[ "$p" = dante ] && dante_settle
	done
	for p in $order; do
		conn "$p"
		[ "$p" = dante ] && dante_settle
	done
	say "round $ROUND/$ROUNDS: wrk vs loadgen"
	check
done
LOAD_END=$(uptime)
printf '#uptime_end\t%s\n' "$LOAD_END" >>"$TSV"

echo
echo "nacre one-hop benchmark: $ROUNDS round(s)$([ "$SMOKE" = 1 ] && echo ', SMOKE'), $(nproc) cores, $(date -Is)"
echo "bulk: ${BULK_MIB} MiB file via curl --socks5, down from nginx and up to a sink;" \
	"new connections: loadgen -c$CONC, ${CONN_SECS} s," \
	"$([ "${CONN_CLOSE:-0}" = 1 ] && echo 'Connection: close' || echo 'the client closes first');" \
	"keep-alive: loadgen -c1 --keepalive, ${KA_SECS} s; idle: $IDLE_N tunnels, RSS again ${AFTER_SECS} s after they close"
echo "load at start: $(sed -n 's/^#uptime_start\t//p' "$TSV" | sed 's/.*load average/load average/')"
echo "load at end:   ${LOAD_END/*load average/load average}"
echo
"$PY" "$U" summarize "$TSV" "$JSON" || hard_error "summary failed"
echo
echo "MB = 10^6 bytes. CPU is utime+stime of the proxy's process tree (reaped children included)."
echo "RSS is the sum of VmRSS over the tree (shared pages count once per process; PSS shares them)."
echo "raw samples: $TSV"
echo "summary:     $JSON"

# Sanity: nacre must have done every test of every round without an error.
# sane DESCRIPTION FIGURE TEST: TEST is an awk condition on the values v.
PASSED=0 FAILED=0
sane() {
	local bad
	bad=$(awk -F '\t' -v f="$2" '$2 == f && $3 == "nacre" { n++; v = $4; if (!('"$3"')) b++ }
		END { if (n != '"$ROUNDS"') print "ran " n + 0 " of '"$ROUNDS"'"; else if (b) print b " bad" }' "$TSV")
	if [ -z "$bad" ]; then
		PASSED=$((PASSED + 1))
	else
		FAILED=$((FAILED + 1))
		echo "not ok - nacre: $1 ($bad)"
	fi
}
sane "bulk downloads complete" bulk_mbps 'v > 0'
sane "bulk uploads complete" up_mbps 'v > 0'
sane "keep-alive GETs complete" ka_rps 'v > 0'
sane "no errors on keep-alive GETs" ka_errors 'v == 0'
sane "keep-alive GETs use one tunnel" ka_connections 'v == 1'
sane "no errors on new connections" conn_errors 'v == 0'
sane "new connections complete" conn_rps 'v > 0'
sane "unloaded GETs complete" lat1_ttfb_p50_us 'v > 0'
sane "every idle tunnel opens" idle_tunnels "v == $IDLE_N"
echo "sanity: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ] || exit 1
