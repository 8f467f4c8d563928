#!/usr/bin/env bash
# Chains benchmark: nacre through one and three relays against shadowsocks-libev
# one hop and its onion-layered three-hop chain, and the no-proxy ceiling, in
# the same run, alternating, over ROUNDS rounds.
#
#   ROUNDS=5 tests/bench/chains.sh          (about 7 minutes on 2 cores; 3 rounds: 4)
#   SMOKE=1  tests/bench/chains.sh          (one short round, about 20 s, for CI)
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
#
# Environment:
#   NACRE        the nacre binary (default: ./nacre in the current directory,
#                else one is built out of tree under the work directory)
#   ROUNDS       rounds (default 5, at most 20); each round runs every test on
#                every path, the order rotated from round to round
#   SMOKE=1      one round, a 64 MiB file, 50 new connections
#   BULK_MIB     size of the bulk file (default 1024)
#   TTFB_N       new connections per time-to-first-byte run (default 200)
#   OUT_DIR      where the result files go (default /tmp/nacre-bench-results)
#   NO_INSTALL=1 do not apt-get missing peers: run without them
#   KEEP_LOGS=1  keep the work directory (configurations and logs)
#
# Exit: 0 done, 1 nacre failed a sanity check (a transfer cut short, a request
# error), 77 skipped (a tool missing), 99 hard error. The peers' failures are
# reported but do not fail the run.
set -u
set -o pipefail

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=$(cd "$here/../.." && pwd)

SMOKE=${SMOKE:-0}
if [ "$SMOKE" = 1 ]; then
	ROUNDS=${ROUNDS:-1}
	BULK_MIB=${BULK_MIB:-64}
	TTFB_N=${TTFB_N:-50}
else
	ROUNDS=${ROUNDS:-5}
	BULK_MIB=${BULK_MIB:-1024}
	TTFB_N=${TTFB_N:-200}
fi
OUT_DIR=${OUT_DIR:-/tmp/nacre-bench-results}
SS_METHOD=chacha20-ietf-poly1305

case "$ROUNDS" in '' | *[!0-9]*) echo "ROUNDS must be a whole number"; exit 99 ;; esac
[ "$ROUNDS" -ge 1 ] && [ "$ROUNDS" -le 20 ] || { echo "ROUNDS must be 1..20"; exit 99; }
case "$BULK_MIB" in '' | *[!0-9]*) echo "BULK_MIB must be a whole number"; exit 99 ;; esac
[ "$BULK_MIB" -ge 1 ] && [ "$BULK_MIB" -le 4096 ] || { echo "BULK_MIB must be 1..4096"; exit 99; }
case "$TTFB_N" in '' | *[!0-9]*) echo "TTFB_N must be a whole number"; exit 99 ;; esac
[ "$TTFB_N" -ge 1 ] && [ "$TTFB_N" -le 10000 ] || { echo "TTFB_N must be 1..10000"; exit 99; }

# Proxy variables in the environment would send curl elsewhere.
unset http_proxy https_proxy all_proxy no_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY NO_PROXY

W=$(mktemp -d "${TMPDIR:-/tmp}/nacre-chains.XXXXXX") || { echo "ERROR: mktemp failed"; exit 99; }
chmod 700 "$W"
WWW=$(mktemp -d /dev/shm/nacre-chains-www.XXXXXX) || { echo "ERROR: no /dev/shm"; rm -rf "$W"; exit 99; }
PIDS=""
STARTED=$(date +%s)

cleanup() {
	local p
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	for p in $PIDS; do wait "$p" 2>/dev/null; done
	if [ "${KEEP_LOGS:-}" ]; then
		echo "logs kept in $W"
	else
		rm -rf "$W"
	fi
	rm -rf "$WWW"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '[%4ds] %s\n' $(($(date +%s) - STARTED)) "$*" >&2; }
hard_error() {
	echo "ERROR: $*"
	for f in "$W"/*.log; do
		[ -f "$f" ] || continue
		echo "---- $f (last 20 lines)"
		tail -n 20 "$f"
	done
	exit 99
}

# ---- tools -----------------------------------------------------------------

PY=$(command -v python3) || { echo "SKIP: python3 is missing"; exit 77; }
# pyenv shims cost a shell per call: use the interpreter itself.
PY=$("$PY" -c 'import sys; print(sys.executable)')
U="$here/benchutil.py"

have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }
missing=""
for pair in ss-server:shadowsocks-libev nginx:nginx-light curl:curl; do
	have "${pair%%:*}" || missing="$missing ${pair#*:}"
done
if [ -n "$missing" ] && [ "${NO_INSTALL:-0}" != 1 ] && [ "$(id -u)" = 0 ]; then
	say "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	{ timeout 300 apt-get install -y --no-install-recommends $missing ||
		{ timeout 300 apt-get update && timeout 300 apt-get install -y --no-install-recommends $missing; }; } \
		>"$W/apt.log" 2>&1 || say "apt-get failed: see $W/apt.log"
fi
PATH=$PATH:/usr/sbin
have nginx || { echo "SKIP: nginx is missing"; exit 77; }
have curl || { echo "SKIP: curl is missing"; exit 77; }
HAVE_SS=1
for t in ss-server ss-local ss-tunnel; do have "$t" || HAVE_SS=0; done
[ "$HAVE_SS" = 1 ] || say "shadowsocks-libev is missing: its paths are not measured"

if [ -z "${NACRE:-}" ]; then
	if [ -x ./nacre ]; then
		NACRE=$(pwd)/nacre
	else
		say "building nacre under $W/build"
		mkdir -p "$W/build"
		(cd "$top_srcdir" && { [ -x configure ] || autoreconf -fi; }) >"$W/build.log" 2>&1 &&
			(cd "$W/build" && "$top_srcdir/configure" && make -j2 nacre) >>"$W/build.log" 2>&1 ||
			hard_error "could not build nacre"
		NACRE=$W/build/nacre
	fi
fi
[ -x "$NACRE" ] || hard_error "NACRE=$NACRE is not executable"

LOADGEN=$W/loadgen
cc -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -o "$LOADGEN" "$here/loadgen.c" "$here/loadgen_conn.c" 2>"$W/loadgen-build.log" ||
	hard_error "could not build loadgen"

free_port() {
	"$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_port PORT SECONDS: until something accepts on 127.0.0.1:PORT.
wait_port() {
	local i=0
	while [ "$i" -lt $(($2 * 20)) ]; do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.05
		i=$((i + 1))
	done
	return 1
}

# ---- origin and upload sink ------------------------------------------------

say "writing ${BULK_MIB} MiB and 1 KiB files to $WWW"
chmod 755 "$WWW"
dd if=/dev/zero of="$WWW/big" bs=1M count="$BULK_MIB" status=none || hard_error "no room in /dev/shm"
head -c 1024 /dev/zero | tr '\0' 'x' >"$WWW/1k"
chmod 644 "$WWW/big" "$WWW/1k"
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

# Uploads go to a sink that reads the whole body and only then answers, with
# the number of bytes it got: the upload's time is end to end, and a body cut
# short shows. (nginx answers a body it discards at once, and reads it 4 KiB
# at a time.)
"$PY" "$U" sink --port-file "$W/sink.port" --max-secs 7200 >>"$W/sink.log" 2>&1 &
PIDS="$PIDS $!"
for i in $(seq 100); do [ -f "$W/sink.port" ] && break; sleep 0.05; done
SINK_PORT=$(cat "$W/sink.port" 2>/dev/null) || hard_error "the upload sink did not start"
SINK=127.0.0.1:$SINK_PORT
[ "$(curl -s --max-time 10 --data-binary abc "http://$SINK/up")" = 3 ] ||
	hard_error "the upload sink does not answer"

# ---- the paths ---------------------------------------------------------------

# PORT[path]: its SOCKS5 port. PPIDS[path]: its processes, client first.
# PNAMES[path]: their names, in the same order.
declare -A PORT PPIDS PNAMES

# nacre_start NAME CONF: runs nacre -c CONF, logging to NAME.log; sets NPID and
# NPORT (the port of the first "listening on" line: each process here has one
# listener, a relay or a SOCKS one).
nacre_start() {
	local name=$1 conf=$2 i
	"$NACRE" check -c "$conf" >"$W/$name.check" 2>&1 || {
		cat "$W/$name.check"
		hard_error "nacre check refuses $conf"
	}
	: >"$W/$name.log" # exists before the loop below reads it
	"$NACRE" -c "$conf" >>"$W/$name.log" 2>&1 &
	NPID=$!
	PIDS="$PIDS $NPID"
	NPORT=""
	for i in $(seq 200); do
		NPORT=$(sed -nE 's/.*listening on 127\.0\.0\.1:([0-9]+) .*/\1/p' "$W/$name.log" | head -n 1)
		[ -n "$NPORT" ] && break
		kill -0 "$NPID" 2>/dev/null || break
		sleep 0.05
	done
	[ -n "$NPORT" ] || hard_error "nacre $name did not start"
}

# nacre_relay NAME POLICY EXIT: a relay process with a fresh key; sets NPID,
# NPORT and NPUB.
nacre_relay() {
	local name=$1 policy=$2 exit=$3
	NPUB=$("$NACRE" keygen "$W/$name.key" 2>>"$W/keygen.log") || hard_error "nacre keygen failed"
	cat >"$W/$name.conf" <<EOF
listen = ();
log_level = "info";
relay = ( { address = "127.0.0.1:0"; key_file = "$name.key"; exit = $exit;
	    policy = ( $policy ); } );
EOF
	nacre_start "$name" "$W/$name.conf"
}

# nacre_client NAME RELAYS HOPS: a SOCKS5 listener whose route is a chain.
# RELAYS: name:port:pubkey words.
nacre_client() {
	local name=$1 relays=$2 hops=$3 r list=""
	for r in $relays; do
		IFS=: read -r rn rp rk <<<"$r"
		list="$list${list:+,
	}{ name = \"$rn\"; address = \"127.0.0.1:$rp\"; key = \"$rk\"; }"
	done
	cat >"$W/$name.conf" <<EOF
log_level = "info";
relays = ( $list );
chains = ( { name = "bench"; hops = [ $hops ]; } );
route = "bench";
listen = ( { address = "127.0.0.1:0"; } );
EOF
	nacre_start "$name" "$W/$name.conf"
}

EXIT_POLICY='{ dest = "127.0.0.1/32"; action = "accept"; }'
# A middle relay may reach the next relay and nothing else.
middle_policy() { echo "{ dest = \"127.0.0.1/32\"; port = $1; action = \"accept\"; }, { dest = \"*\"; action = \"reject\"; }"; }

start_nacre1() {
	local xp xk
	nacre_relay n1-exit "$EXIT_POLICY" true
	xp=$NPORT xk=$NPUB
	PPIDS[nacre1]=$NPID
	nacre_client n1-client "x:$xp:$xk" '"x"'
	PORT[nacre1]=$NPORT
	PPIDS[nacre1]="$NPID ${PPIDS[nacre1]}"
	PNAMES[nacre1]="client exit"
}

start_nacre3() {
	local p3 k3 p2 k2 p1 k1 pids
	nacre_relay n3-r3 "$EXIT_POLICY" true
	p3=$NPORT k3=$NPUB pids=$NPID
	nacre_relay n3-r2 "$(middle_policy "$p3")" false
	p2=$NPORT k2=$NPUB pids="$NPID $pids"
	nacre_relay n3-r1 "$(middle_policy "$p2")" false
	p1=$NPORT k1=$NPUB pids="$NPID $pids"
	nacre_client n3-client "r1:$p1:$k1 r2:$p2:$k2 r3:$p3:$k3" '"r1", "r2", "r3"'
	PORT[nacre3]=$NPORT
	PPIDS[nacre3]="$NPID $pids"
	PNAMES[nacre3]="client r1 r2 r3"
}

ss_key() { head -c 24 /dev/urandom | base64 | tr -d '/+='; }

# ss_run NAME PROGRAM ARGS...: one shadowsocks process; sets SPID.
ss_run() {
	local name=$1
	shift
	"$@" >"$W/$name.log" 2>&1 &
	SPID=$!
	PIDS="$PIDS $SPID"
}

start_ss1() {
	local sp lp k pids
	sp=$(free_port) lp=$(free_port) k=$(ss_key)
	ss_run ss1-server ss-server -s 127.0.0.1 -p "$sp" -k "$k" -m "$SS_METHOD" --no-delay -d 127.0.0.1
	pids=$SPID
	ss_run ss1-local ss-local -s 127.0.0.1 -p "$sp" -b 127.0.0.1 -l "$lp" -k "$k" -m "$SS_METHOD" --no-delay
	pids="$SPID $pids"
	wait_port "$sp" 10 && wait_port "$lp" 10 || return 1
	PORT[ss1]=$lp
	PPIDS[ss1]=$pids
	PNAMES[ss1]="ss-local ss-server"
}

start_ss3() {
	local s1 s2 s3 t1 t2 lp k1 k2 k3 pids
	s1=$(free_port) s2=$(free_port) s3=$(free_port) t1=$(free_port) t2=$(free_port) lp=$(free_port)
	k1=$(ss_key) k2=$(ss_key) k3=$(ss_key)
	ss_run ss3-s3 ss-server -s 127.0.0.1 -p "$s3" -k "$k3" -m "$SS_METHOD" --no-delay -d 127.0.0.1
	pids=$SPID
	ss_run ss3-s2 ss-server -s 127.0.0.1 -p "$s2" -k "$k2" -m "$SS_METHOD" --no-delay -d 127.0.0.1
	pids="$SPID $pids"
	ss_run ss3-s1 ss-server -s 127.0.0.1 -p "$s1" -k "$k1" -m "$SS_METHOD" --no-delay -d 127.0.0.1
	pids="$SPID $pids"
	# T1 wraps layer 1 around a stream for S2 and hands it to S1; T2 wraps
	# layer 2 around a stream for S3 and hands it to T1.
	ss_run ss3-t1 ss-tunnel -s 127.0.0.1 -p "$s1" -b 127.0.0.1 -l "$t1" -k "$k1" -m "$SS_METHOD" \
		-L "127.0.0.1:$s2" --no-delay
	pids="$SPID $pids"
	ss_run ss3-t2 ss-tunnel -s 127.0.0.1 -p "$t1" -b 127.0.0.1 -l "$t2" -k "$k2" -m "$SS_METHOD" \
		-L "127.0.0.1:$s3" --no-delay
	pids="$SPID $pids"
	ss_run ss3-local ss-local -s 127.0.0.1 -p "$t2" -b 127.0.0.1 -l "$lp" -k "$k3" -m "$SS_METHOD" --no-delay
	pids="$SPID $pids"
	for p in "$s1" "$s2" "$s3" "$t1" "$t2" "$lp"; do wait_port "$p" 10 || return 1; done
	PORT[ss3]=$lp
	PPIDS[ss3]=$pids
	PNAMES[ss3]="ss-local T2 T1 S1 S2 S3"
}

start_nacre1
start_nacre3
PATHS="direct nacre1 nacre3"
if [ "$HAVE_SS" = 1 ]; then
	if start_ss1; then PATHS="$PATHS ss1"; else say "shadowsocks 1 hop did not start: not measured"; fi
	if start_ss3; then PATHS="$PATHS ss3"; else say "shadowsocks 3 hops did not start: not measured"; fi
fi

# One GET through each path before any figure.
for p in $PATHS; do
	[ "$p" = direct ] && continue
	got=$(curl -s --max-time 10 --socks5-hostname "127.0.0.1:${PORT[$p]}" -o /dev/null \
		-w '%{size_download}' "http://$ORIGIN/1k")
	[ "$got" = 1024 ] && continue
	case $p in
	nacre*) hard_error "$p does not relay a GET (got '$got')" ;;
	*)
		say "$p does not relay a GET (got '$got'): not measured"
		PATHS=$(printf '%s\n' $PATHS | grep -vx "$p" | tr '\n' ' ')
		;;
	esac
done
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
	printf '#ss_method\t%s\n' "$SS_METHOD"
	printf '#bulk_bytes\t%s\n' "$BULK_BYTES"
	printf '#ttfb_n\t%s\n' "$TTFB_N"
	printf '#nproc\t%s\n' "$(nproc)"
	for p in $PATHS; do
		[ "$p" = direct ] || printf '#procs_%s\t%s\n' "$p" "${PNAMES[$p]}"
	done
	printf '#uptime_start\t%s\n' "$(uptime)"
	printf 'round\tfigure\tpath\tvalue\n'
} >"$TSV"
ROUND=0
rec() { printf '%s\t%s\t%s\t%s\n' "$ROUND" "$1" "$2" "$3" >>"$TSV"; }

# kv KEY LINE: the value of KEY=value in a line of pairs.
kv() { printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -n 1; }
calc() { "$PY" -c "print(round($1, 3))"; }

# cpu_split FIGURE PATH "BEFORE" "AFTER": records the CPU s per GiB of every
# process of the path (FIGURE:NAME) and of them all (FIGURE).
cpu_split() {
	local fig=$1 p=$2 b a names i tot=0 d
	read -r -a b <<<"$3"
	read -r -a a <<<"$4"
	read -r -a names <<<"${PNAMES[$2]}"
	for ((i = 0; i < ${#b[@]}; i++)); do
		d=$(calc "(${a[$i]} - ${b[$i]}) * 1073741824 / $BULK_BYTES")
		rec "$fig:${names[$i]}" "$p" "$d"
		tot="$tot + $d"
	done
	rec "$fig" "$p" "$(calc "$tot")"
}

CURL_BULK=(-sS --max-time 300 --speed-limit 100000 --speed-time 15)

# down PATH: one download of the big file; MB/s and CPU per GiB.
down() {
	local p=$1 c0 c1 out via=()
	[ "$p" = direct ] || via=(--socks5-hostname "127.0.0.1:${PORT[$p]}")
	[ "$p" = direct ] || c0=$("$PY" "$U" cpus ${PPIDS[$p]})
	out=$(curl "${CURL_BULK[@]}" "${via[@]}" -o /dev/null \
		-w '%{speed_download} %{size_download} %{http_code}' "http://$ORIGIN/big" 2>>"$W/curl.log")
	[ "$p" = direct ] || c1=$("$PY" "$U" cpus ${PPIDS[$p]})
	set -- $out
	if [ "${2:-0}" != "$BULK_BYTES" ] || [ "${3:-}" != 200 ]; then
		say "download $p: incomplete ($out; curl: $(tail -n 1 "$W/curl.log"))"
		rec down_errors "$p" 1
		return
	fi
	rec down_mbps "$p" "$(calc "$1 / 1e6")"
	[ "$p" = direct ] || cpu_split down_cpu_s_per_gib "$p" "$c0" "$c1"
}

# up PATH: one upload of the big file to the sink, which answers with the
# number of bytes it received.
up() {
	local p=$1 c0 c1 out got via=()
	[ "$p" = direct ] || via=(--socks5-hostname "127.0.0.1:${PORT[$p]}")
	[ "$p" = direct ] || c0=$("$PY" "$U" cpus ${PPIDS[$p]})
	rm -f "$W/up.reply"
	out=$(curl "${CURL_BULK[@]}" "${via[@]}" -T "$WWW/big" -H 'Expect:' -o "$W/up.reply" \
		-w '%{speed_upload} %{size_upload} %{http_code}' "http://$SINK/up" 2>>"$W/curl.log")
	[ "$p" = direct ] || c1=$("$PY" "$U" cpus ${PPIDS[$p]})
	got=$(cat "$W/up.reply" 2>/dev/null)
	set -- $out
	if [ "${2:-0}" != "$BULK_BYTES" ] || [ "${3:-}" != 200 ] || [ "$got" != "$BULK_BYTES" ]; then
		say "upload $p: incomplete ($out; the sink got '$got'; curl: $(tail -n 1 "$W/curl.log"))"
		rec up_errors "$p" 1
		return
	fi
	rec up_mbps "$p" "$(calc "$1 / 1e6")"
	[ "$p" = direct ] || cpu_split up_cpu_s_per_gib "$p" "$c0" "$c1"
}

# ttfb PATH: TTFB_N GETs of 1 KiB, one at a time, each on a new connection
# (through a new chain): time to first byte from connect(), and the CPU all the
# path's processes spent per connection (schedstat, exact to the nanosecond:
# 10 ms clock ticks are too coarse for a few hundred microseconds).
ttfb() {
	local p=$1 r0 r1 out n args
	if [ "$p" = direct ]; then
		args=(--mode direct)
	else
		args=(--mode socks5 --proxy "127.0.0.1:${PORT[$p]}")
		r0=$("$PY" "$U" runtime ${PPIDS[$p]})
	fi
	out=$(timeout 150 "$LOADGEN" "${args[@]}" --target "$ORIGIN" --path /1k --sources 8 \
		--concurrency 1 --requests "$TTFB_N" --duration 120 --timeout 10) || {
		say "ttfb $p: loadgen failed ($out)"
		rec ttfb_errors "$p" "$TTFB_N"
		return
	}
	[ "$p" = direct ] || r1=$("$PY" "$U" runtime ${PPIDS[$p]})
	echo "ttfb $p round $ROUND: $out" >>"$W/loadgen.log"
	n=$(kv completed "$out")
	rec ttfb_completed "$p" "$n"
	rec ttfb_errors "$p" "$(kv errors "$out")"
	[ "${n:-0}" -gt 0 ] || return
	rec ttfb_p50_us "$p" "$(kv ttfb_p50_us "$out")"
	rec ttfb_p99_us "$p" "$(kv ttfb_p99_us "$out")"
	[ "$p" = direct ] || rec ttfb_cpu_us_per_conn "$p" "$(calc "($r1 - $r0) / 1e3 / $n")"
}

# rotate N WORDS...: the words starting from the (N mod count)th.
rotate() {
	local n=$1
	shift
	local a=("$@") i
	for ((i = 0; i < ${#a[@]}; i++)); do
		printf '%s ' "${a[$(((i + n) % ${#a[@]}))]}"
	done
}

LOAD_START=$(uptime)
say "load before: $LOAD_START"
for ((ROUND = 1; ROUND <= ROUNDS; ROUND++)); do
	order=$(rotate "$ROUND" $PATHS)
	say "round $ROUND/$ROUNDS: download ($order)"
	for p in $order; do down "$p"; done
	say "round $ROUND/$ROUNDS: upload"
	for p in $order; do up "$p"; done
	say "round $ROUND/$ROUNDS: $TTFB_N new connections, one at a time"
	for p in $order; do ttfb "$p"; done
done
LOAD_END=$(uptime)
printf '#uptime_end\t%s\n' "$LOAD_END" >>"$TSV"
say "load after: $LOAD_END"

echo
echo "nacre chains benchmark: $ROUNDS round(s)$([ "$SMOKE" = 1 ] && echo ', SMOKE'), $(nproc) cores, $(date -Is)"
echo "bulk: ${BULK_MIB} MiB via curl --socks5-hostname, down from nginx and up to a sink;" \
	"TTFB: loadgen socks5 -c1, $TTFB_N new connections; ss: $SS_METHOD, --no-delay"
echo "load at start: ${LOAD_START/*load average/load average}"
echo "load at end:   ${LOAD_END/*load average/load average}"
echo
"$PY" "$U" summarize --layout chains "$TSV" "$JSON" || hard_error "summary failed"
echo
echo "MB = 10^6 bytes. CPU is utime+stime (/proc/PID/stat) of every process on the path,"
echo "client and relays (the curl, loadgen, nginx and sink processes are not counted);"
echo "per new connection it is their schedstat run time. Processes per path:"
for p in $PATHS; do
	[ "$p" = direct ] || printf '  %-7s %s\n' "$p" "${PNAMES[$p]}"
done
echo "raw samples: $TSV"
echo "summary:     $JSON"

# nacre's logs at warn and above: there should be none.
warn=$(cat "$W"/n1-*.log "$W"/n3-*.log 2>/dev/null | grep -E ' (warn|error|fatal)' | head -n 10)
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
done
echo "sanity: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ] || exit 1
