#!/usr/bin/env bash
# Round-trip benchmark: time to first byte for a new connection through a
# 3-hop chain whose every link has a 10 ms round trip, against the floor of
# twice the sum of the links' round trips (one round trip to open the stream at
# the exit, one for the request and its answer).
#
#   ROUNDS=5 tests/bench/rtt.sh       (about 2.5 minutes)
#   SMOKE=1  tests/bench/rtt.sh       (one round of a few connections per path, about 20 s)
#
# Five network namespaces in a line, each link a pair of TUN devices driven by
# tundelay (tundelay.c, built here with cc), which holds every packet DELAY_MS
# in each direction (the kernel here has no netem qdisc):
#
#   user --- r1 --- r2 --- r3 --- origin
#   .1.1  .1.2 .2.1  .2.2 .3.1  .3.2 .4.1  .4.2      (10.202.L.x, point to point)
#
# The paths, every client in the user namespace, every relay in r1, r2, r3:
#   direct   curl -> origin, routed through r1, r2, r3 (IP forwarding): the
#            floor as plain TCP reaches it, a check of the set-up
#   nacre    the user's nacre (SOCKS5 and HTTP on 127.0.0.1:1080) with a 3-hop
#            chain: relay in r1 -> relay in r2 -> exit relay in r3 -> origin,
#            through SOCKS5 (--socks5-hostname) and HTTP CONNECT (-p -x), with
#            links = false: a TCP connection to r1 per circuit.
#            Warm: connections one after another, so every nacre holds a
#            spare connection to its next relay (src/spare.c: nacre opens one
#            after it dials a relay, and renews it while that relay was used
#            in the last 30 s). Cold: all four nacre processes restarted
#            before each connection, so every link costs its TCP handshake,
#            as after a pause.
#   nacre-links  the same chain from a second user's nacre (127.0.0.1:1081)
#            with nacre's default, links = true: every circuit to r1 rides
#            one link (SPEC.md, "Links"), kept circuits included. The issue's
#            target is judged on this path (targets.py). Cold (SOCKS5
#            only): every nacre restarted, then a GET at once, while the
#            link the user's side opens at start may still be on its way;
#            started: the same, COLD_SETTLE seconds after the restart, the
#            first stream of a nacre started a moment ago.
#   ss3      shadowsocks-libev layered: ss-local (key 3) -> ss-tunnel T2
#            (key 2) -> ss-tunnel T1 (key 1), all three in the user namespace,
#            -> ss-server S1 in r1 -> S2 in r2 -> S3 in r3 -> origin. SOCKS5
#            only: ss-local has no HTTP CONNECT.
# The origin is nginx serving a 1 KiB file. Each figure is curl's
# %{time_starttransfer} (and %{time_pretransfer}: the stream is open) over
# N new connections made one at a time, per path per round; the paths take
# turns, the order rotated from round to round.
#
# The floor is taken from ping (20 probes per link, 0.2 s apart) before and
# after the rounds: 2 x the sum of the four links' median round trips.
#
# Then bulk: one download of a BULK_MIB file per path per round (direct,
# nacre, nacre-links, ss3), MB/s as curl reports it. A circuit's window on a
# link would cap it at window / the user-r1 round trip (64 KiB / 10 ms is
# 6.5 MB/s) if it did not grow.
#
# Environment:
#   NACRE        the nacre binary (default ./nacre, else built out of tree)
#   ROUNDS       rounds (default 5, at most 20)
#   N            new connections per path per round (default 30)
#   COLD_N       new connections per round on each cold nacre path
#                (default 10; 0 leaves the cold paths out)
#   COLD_SETTLE  seconds between the restart and the GET on the started
#                path (default 0.5)
#   BULK_MIB     size of the bulk file (default 64; 0 leaves bulk out)
#   SMOKE=1      one round, N=5, COLD_N=2, BULK_MIB=8
#   DELAY_MS     one-way delay per link (default 5, so 10 ms round trips)
#   RELAY_LINKS=1  nacre's r1 and r2 reach the next relay over one link each
#                (their relays lists name it), for both nacre paths; by
#                default they open a TCP connection per circuit, with spares
#   TUN_PRIO     SCHED_FIFO priority of the tundelay processes (default 50;
#                0: ordinary processes, whose links then run late by a few
#                ms now and then when the two cores are busy)
#   OUT_DIR      where the result files go (default /tmp/nacre-bench-results)
#   NO_INSTALL=1 do not apt-get what is missing (iputils-ping,
#                shadowsocks-libev, nginx-light, curl)
#   KEEP_LOGS=1  keep the work directory (configurations and logs)
#
# Exit: 0 done, 1 nacre failed a request, 77 skipped (not root, a tool or
# network namespaces missing), 99 hard error.
set -u
set -o pipefail

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=$(cd "$here/../.." && pwd)

SMOKE=${SMOKE:-0}
if [ "$SMOKE" = 1 ]; then
	ROUNDS=${ROUNDS:-1}
	N=${N:-5}
	COLD_N=${COLD_N:-2}
	BULK_MIB=${BULK_MIB:-8}
else
	ROUNDS=${ROUNDS:-5}
	N=${N:-30}
	COLD_N=${COLD_N:-10}
	BULK_MIB=${BULK_MIB:-64}
fi
DELAY_MS=${DELAY_MS:-5}
COLD_SETTLE=${COLD_SETTLE:-0.5}
TUN_PRIO=${TUN_PRIO:-50}
OUT_DIR=${OUT_DIR:-/tmp/nacre-bench-results}
SS_METHOD=chacha20-ietf-poly1305
PINGS=20

case "$ROUNDS" in '' | *[!0-9]*) echo "ROUNDS must be a whole number"; exit 99 ;; esac
[ "$ROUNDS" -ge 1 ] && [ "$ROUNDS" -le 20 ] || { echo "ROUNDS must be 1..20"; exit 99; }
case "$N" in '' | *[!0-9]*) echo "N must be a whole number"; exit 99 ;; esac
[ "$N" -ge 1 ] && [ "$N" -le 1000 ] || { echo "N must be 1..1000"; exit 99; }
case "$COLD_N" in '' | *[!0-9]*) echo "COLD_N must be a whole number"; exit 99 ;; esac
[ "$COLD_N" -le 1000 ] || { echo "COLD_N must be 0..1000"; exit 99; }
case "$BULK_MIB" in '' | *[!0-9]*) echo "BULK_MIB must be a whole number"; exit 99 ;; esac
[ "$BULK_MIB" -le 1024 ] || { echo "BULK_MIB must be 0..1024"; exit 99; }
case "$DELAY_MS" in '' | *[!0-9.]* | *.*.*) echo "DELAY_MS must be a number"; exit 99 ;; esac
case "$TUN_PRIO" in '' | *[!0-9]*) echo "TUN_PRIO must be 0..99"; exit 99 ;; esac
[ "$TUN_PRIO" -le 99 ] || { echo "TUN_PRIO must be 0..99"; exit 99; }

[ "$(id -u)" = 0 ] || { echo "SKIP: network namespaces and TUN devices need root"; exit 77; }
[ -c /dev/net/tun ] || { echo "SKIP: no /dev/net/tun"; exit 77; }
command -v ip >/dev/null || { echo "SKIP: ip (iproute2) is missing"; exit 77; }
command -v cc >/dev/null || { echo "SKIP: cc is missing"; exit 77; }

unset http_proxy https_proxy all_proxy no_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY NO_PROXY

W=$(mktemp -d "${TMPDIR:-/tmp}/nacre-rtt.XXXXXX") || { echo "ERROR: mktemp failed"; exit 99; }
chmod 755 "$W" # nginx's worker reads the files under it
STARTED=$(date +%s)

# Namespaces, in line order, and the processes started in them or for them.
NS_USER=nacre-rtt-user-$$
NS_R1=nacre-rtt-r1-$$
NS_R2=nacre-rtt-r2-$$
NS_R3=nacre-rtt-r3-$$
NS_ORIGIN=nacre-rtt-origin-$$
LINE="$NS_USER $NS_R1 $NS_R2 $NS_R3 $NS_ORIGIN"
NETNS=""   # those made so far
PIDS=""    # servers and proxies
TD_PIDS="" # tundelay, one per link
declare -A NPID # nacre processes by name (restarted for the cold paths)

cleanup() {
	local p ns i left
	stop_pids $PIDS "${NPID[@]}" $TD_PIDS
	# Anything still inside a namespace of ours (a curl cut short by a
	# signal) is ours too: asked to stop, then, after 2 s, killed.
	for i in $(seq 40); do
		left=""
		for ns in $NETNS; do left="$left $(ip netns pids "$ns" 2>/dev/null)"; done
		[ -n "${left// /}" ] || break
		if [ "$i" = 1 ]; then
			for p in $left; do kill "$p" 2>/dev/null; done
		elif [ "$i" = 40 ]; then
			for p in $left; do kill -9 "$p" 2>/dev/null; done
		fi
		sleep 0.05
	done
	for ns in $NETNS; do ip netns del "$ns" 2>/dev/null; done
	# The TUN devices are not persistent: they went with tundelay or with
	# their namespace.
	drop_work_dir
}
# benchlib.sh: the traps, say, hard_error, PY and the shared helpers.
. "$here/benchlib.sh"

# ---- tools -----------------------------------------------------------------

missing=""
for pair in ping:iputils-ping ss-server:shadowsocks-libev nginx:nginx-light curl:curl; do
	have "${pair%%:*}" || missing="$missing ${pair#*:}"
done
install_missing $missing
for t in ping nginx curl; do have "$t" || { echo "SKIP: $t is missing"; exit 77; }; done
HAVE_SS=1
for t in ss-server ss-local ss-tunnel; do have "$t" || HAVE_SS=0; done
[ "$HAVE_SS" = 1 ] || say "shadowsocks-libev is missing: its path is not measured"

case ${NACRE:-} in '' | /*) ;; *) NACRE=$(pwd)/$NACRE ;; esac
find_nacre

TUNDELAY=$W/tundelay
cc -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -o "$TUNDELAY" "$here/tundelay.c" 2>"$W/tundelay-build.log" ||
	hard_error "could not build tundelay"

# ---- the namespaces and their delayed links ----------------------------------

# Everything in a namespace runs as `ip netns exec NS CMD`, which execs CMD:
# started with &, $! is CMD's own PID (a shell function started with & would
# be a subshell, and killing it would leave CMD running).
sysctl_ns() { ip netns exec "$1" sh -c "echo $3 >/proc/sys/$2"; }

for ns in $LINE; do
	ip netns add "$ns" 2>"$W/netns.err" || {
		echo "SKIP: ip netns add failed: $(head -n 1 "$W/netns.err")"
		exit 77
	}
	NETNS="$NETNS $ns"
done

# Link L (1..4) joins the (L-1)th and Lth namespaces of the line (0-based):
# the left one is 10.202.L.1, the right one 10.202.L.2.
ns_at() {
	local a
	read -r -a a <<<"$LINE"
	echo "${a[$1]}"
}
addr() { echo "10.202.$1.$2"; }
R1_IP=$(addr 1 2) R2_IP=$(addr 2 2) R3_IP=$(addr 3 2)
ORIGIN_IP=$(addr 4 2)
ORIGIN_NET=10.202.4.0/24

# tun_name L SIDE: a device name unique to this run (at most 15 characters).
tun_name() { echo "nrt$$l$1$2"; }

setup_links() {
	local ns i l left right ta tb fwd prio=()
	[ "$TUN_PRIO" -gt 0 ] && prio=(-f "$TUN_PRIO")
	for ns in $LINE; do
		ip -n "$ns" link set lo up || return 1
		# No IPv6: its router solicitations would only add packets.
		sysctl_ns "$ns" net/ipv6/conf/all/disable_ipv6 1 2>/dev/null
		sysctl_ns "$ns" net/ipv6/conf/default/disable_ipv6 1 2>/dev/null
	done
	for l in 1 2 3 4; do
		left=$(ns_at $((l - 1))) right=$(ns_at "$l")
		ta=$(tun_name "$l" a) tb=$(tun_name "$l" b)
		rm -f "$W/td$l.ready"
		"$TUNDELAY" -d "$DELAY_MS" "${prio[@]}" -r "$W/td$l.ready" "$ta" "$tb" 2>"$W/tundelay-$l.log" &
		TD_PIDS="$TD_PIDS $!"
		for i in $(seq 100); do
			[ -f "$W/td$l.ready" ] && break
			kill -0 $! 2>/dev/null || break
			sleep 0.02
		done
		[ -f "$W/td$l.ready" ] || return 1
		# The descriptors tundelay holds keep working after the move.
		ip link set "$ta" netns "$left" && ip link set "$tb" netns "$right" &&
			ip -n "$left" addr add "$(addr "$l" 1)" peer "$(addr "$l" 2)" dev "$ta" &&
			ip -n "$right" addr add "$(addr "$l" 2)" peer "$(addr "$l" 1)" dev "$tb" &&
			ip -n "$left" link set "$ta" up && ip -n "$right" link set "$tb" up || return 1
	done
	# Routes for the direct path: the relays' namespaces forward. Every
	# namespace reaches the subnets beyond its neighbours through them.
	for i in 0 1 2 3 4; do
		ns=$(ns_at "$i")
		fwd=0
		[ "$i" -ge 1 ] && [ "$i" -le 3 ] && fwd=1
		sysctl_ns "$ns" net/ipv4/ip_forward "$fwd" || return 1
		for l in 1 2 3 4; do
			if [ "$l" -lt "$i" ]; then
				ip -n "$ns" route add "10.202.$l.0/24" dev "$(tun_name "$i" b)" || return 1
			elif [ "$l" -gt $((i + 1)) ]; then
				ip -n "$ns" route add "10.202.$l.0/24" dev "$(tun_name $((i + 1)) a)" || return 1
			fi
		done
	done
}
setup_links >"$W/setup.log" 2>&1 || hard_error "could not build the delayed links (see setup.log)"

# ping_links TAG: PINGS probes over each link, the four links at once, from
# its left end to its right end; the times (ms) go to ping-TAG-L.txt.
ping_links() {
	local l pids=""
	for l in 1 2 3 4; do
		ip netns exec "$(ns_at $((l - 1)))" timeout 60 ping -n -c "$PINGS" -i 0.2 "$(addr "$l" 2)" \
			>"$W/ping-$1-$l.out" 2>&1 &
		pids="$pids $!"
	done
	wait $pids
	for l in 1 2 3 4; do
		sed -nE 's/.* time=([0-9.]+) ms.*/\1/p' "$W/ping-$1-$l.out" >"$W/ping-$1-$l.txt"
		[ -s "$W/ping-$1-$l.txt" ] || hard_error "no answer to ping over link $l"
	done
}
say "pinging the four links ($PINGS probes each)"
ping_links before

# ns_wait_port NS ADDR PORT SECONDS: until something accepts on ADDR:PORT in NS.
ns_wait_port() {
	ip netns exec "$1" timeout "$4" bash -c "until (exec 3<>/dev/tcp/$2/$3) 2>/dev/null; do sleep 0.05; done"
}

# ---- the origin --------------------------------------------------------------

mkdir -p "$W/www" "$W/ngx-tmp"
head -c 1024 /dev/zero | tr '\0' 'x' >"$W/www/1k"
head -c $((BULK_MIB << 20)) /dev/urandom >"$W/www/bulk"
chmod 755 "$W/www"
chmod 644 "$W/www/1k" "$W/www/bulk"
cat >"$W/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $W/nginx.pid;
error_log $W/nginx.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $W/ngx-tmp/body;
	proxy_temp_path $W/ngx-tmp/proxy;
	fastcgi_temp_path $W/ngx-tmp/fastcgi;
	uwsgi_temp_path $W/ngx-tmp/uwsgi;
	scgi_temp_path $W/ngx-tmp/scgi;
	server {
		listen $ORIGIN_IP:80;
		root $W/www;
		location / { }
	}
}
EOF
ip netns exec "$NS_ORIGIN" nginx -e "$W/nginx.log" -c "$W/nginx.conf" >>"$W/nginx.log" 2>&1 &
PIDS="$PIDS $!"
ns_wait_port "$NS_ORIGIN" "$ORIGIN_IP" 80 10 || hard_error "nginx did not start"
URL=http://$ORIGIN_IP/1k
BULK_URL=http://$ORIGIN_IP/bulk

# ---- nacre: three relays and the user's client --------------------------------

# nacre_start NAME NS: runs nacre -c NAME.conf in NS, logging to NAME.log,
# until it says it listens.
NACRE_NS=()
nacre_start() {
	local name=$1 ns=$2 pid i before
	if [ ! -f "$W/$name.log" ]; then
		"$NACRE" check -c "$W/$name.conf" >"$W/$name.check" 2>&1 || {
			cat "$W/$name.check"
			hard_error "nacre check refuses $name.conf"
		}
		: >"$W/$name.log"
		NACRE_NS+=("$name:$ns")
	fi
	before=$(wc -l <"$W/$name.log")
	ip netns exec "$ns" "$NACRE" -c "$W/$name.conf" >>"$W/$name.log" 2>&1 &
	pid=$!
	NPID[$name]=$pid
	for i in $(seq 200); do
		tail -n +$((before + 1)) "$W/$name.log" | grep -q 'listening on' && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.02
	done
	hard_error "nacre $name did not start"
}

# nacre_restart: every nacre process stopped and started again, exit first,
# so that no spare connection is left anywhere.
nacre_restart() {
	local p
	for p in "${NPID[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${NPID[@]}"; do wait "$p" 2>/dev/null; done
	for p in "${NACRE_NS[@]}"; do nacre_start "${p%%:*}" "${p#*:}"; done
}

# nacre_relay NAME ADDRESS EXIT POLICY [NEXT-NAME NEXT-ADDRESS]: with
# RELAY_LINKS=1 and a next relay, its relays list names that relay (whose key
# is made first).
nacre_relay() {
	"$NACRE" keygen "$W/$1.key" >"$W/$1.pub" 2>>"$W/keygen.log" || hard_error "nacre keygen failed"
	local next=""
	if [ "${RELAY_LINKS:-0}" = 1 ] && [ -n "${5:-}" ]; then
		next="relays = ( { name = \"$5\"; address = \"$6\"; key = \"$(cat "$W/n-$5.pub")\"; } );"
	fi
	cat >"$W/$1.conf" <<EOF
listen = ();
log_level = "info";
timeouts = { drain = 0.1; }; # the cold paths restart every process
$next
relay = ( { address = "$2"; key_file = "$1.key"; exit = $3;
	    policy = ( $4 ); } );
EOF
}
# A middle relay may reach the next relay and nothing else; the exit, the
# origin's subnet (private ranges are refused unless named).
next_only() { echo "{ dest = \"$1/32\"; port = $2; action = \"accept\"; }, { dest = \"*\"; action = \"reject\"; }"; }
nacre_relay n-r3 "$R3_IP:9003" true "{ dest = \"$ORIGIN_NET\"; action = \"accept\"; }"
nacre_relay n-r2 "$R2_IP:9002" false "$(next_only "$R3_IP" 9003)" r3 "$R3_IP:9003"
nacre_relay n-r1 "$R1_IP:9001" false "$(next_only "$R2_IP" 9002)" r2 "$R2_IP:9002"
cat >"$W/n-user.conf" <<EOF
log_level = "info";
timeouts = { drain = 0.1; };
relays = (
	{ name = "r1"; address = "$R1_IP:9001"; key = "$(cat "$W/n-r1.pub")"; links = false; },
	{ name = "r2"; address = "$R2_IP:9002"; key = "$(cat "$W/n-r2.pub")"; },
	{ name = "r3"; address = "$R3_IP:9003"; key = "$(cat "$W/n-r3.pub")"; }
);
chains = ( { name = "c3"; hops = [ "r1", "r2", "r3" ]; } );
route = "c3";
listen = ( { address = "127.0.0.1:1080"; protocols = [ "socks5", "http" ]; } );
EOF
# The same, with r1 reached over one link (nacre's default).
sed -e '/name = "r1";/s/links = false;/links = true;/' -e 's/127.0.0.1:1080/127.0.0.1:1081/' \
	"$W/n-user.conf" >"$W/n-user-links.conf"
grep -q 'links = true' "$W/n-user-links.conf" || hard_error "could not write n-user-links.conf"
nacre_start n-r3 "$NS_R3"
nacre_start n-r2 "$NS_R2"
nacre_start n-r1 "$NS_R1"
nacre_start n-user "$NS_USER"
nacre_start n-user-links "$NS_USER"

# ---- shadowsocks, layered ----------------------------------------------------

ss_key() { head -c 24 /dev/urandom | base64 | tr -d '/+='; }
# ss_run NAME NS PROGRAM ARGS...
ss_run() {
	local name=$1 ns=$2
	shift 2
	ip netns exec "$ns" "$@" >"$W/$name.log" 2>&1 &
	PIDS="$PIDS $!"
}
start_ss3() {
	local k1 k2 k3
	k1=$(ss_key) k2=$(ss_key) k3=$(ss_key)
	ss_run ss-s3 "$NS_R3" ss-server -s "$R3_IP" -p 8388 -k "$k3" -m "$SS_METHOD" --no-delay -d 127.0.0.1
	ss_run ss-s2 "$NS_R2" ss-server -s "$R2_IP" -p 8388 -k "$k2" -m "$SS_METHOD" --no-delay -d 127.0.0.1
	ss_run ss-s1 "$NS_R1" ss-server -s "$R1_IP" -p 8388 -k "$k1" -m "$SS_METHOD" --no-delay -d 127.0.0.1
	# T1 wraps layer 1 around a stream for S2 and hands it to S1; T2 wraps
	# layer 2 around a stream for S3 and hands it to T1; ss-local adds layer 3.
	ss_run ss-t1 "$NS_USER" ss-tunnel -s "$R1_IP" -p 8388 -b 127.0.0.1 -l 1091 -k "$k1" -m "$SS_METHOD" \
		-L "$R2_IP:8388" --no-delay
	ss_run ss-t2 "$NS_USER" ss-tunnel -s 127.0.0.1 -p 1091 -b 127.0.0.1 -l 1092 -k "$k2" -m "$SS_METHOD" \
		-L "$R3_IP:8388" --no-delay
	ss_run ss-local "$NS_USER" ss-local -s 127.0.0.1 -p 1092 -b 127.0.0.1 -l 1090 -k "$k3" -m "$SS_METHOD" \
		--no-delay
	ns_wait_port "$NS_R3" "$R3_IP" 8388 10 && ns_wait_port "$NS_R2" "$R2_IP" 8388 10 &&
		ns_wait_port "$NS_R1" "$R1_IP" 8388 10 && ns_wait_port "$NS_USER" 127.0.0.1 1091 10 &&
		ns_wait_port "$NS_USER" 127.0.0.1 1092 10 && ns_wait_port "$NS_USER" 127.0.0.1 1090 10
}

# ---- the paths ---------------------------------------------------------------

# CURL_VIA[path]: curl's proxy arguments.
declare -A CURL_VIA
CURL_VIA[direct]=""
CURL_VIA[nacre-socks5]="--socks5-hostname 127.0.0.1:1080"
CURL_VIA[nacre-connect]="-p -x http://127.0.0.1:1080"
CURL_VIA[nacre-socks5-cold]=${CURL_VIA[nacre-socks5]}
CURL_VIA[nacre-connect-cold]=${CURL_VIA[nacre-connect]}
CURL_VIA[nacre-links-socks5]="--socks5-hostname 127.0.0.1:1081"
CURL_VIA[nacre-links-connect]="-p -x http://127.0.0.1:1081"
CURL_VIA[nacre-links-socks5-cold]=${CURL_VIA[nacre-links-socks5]}
CURL_VIA[nacre-links-socks5-started]=${CURL_VIA[nacre-links-socks5]}
CURL_VIA[ss3-socks5]="--socks5-hostname 127.0.0.1:1090"
PATHS="direct nacre-socks5 nacre-connect nacre-links-socks5 nacre-links-connect"
if [ "$HAVE_SS" = 1 ]; then
	if start_ss3; then PATHS="$PATHS ss3-socks5"; else say "shadowsocks did not start: not measured"; fi
fi

# fetch PATH COUNT: COUNT GETs of /1k through PATH from the user namespace,
# one at a time, each on a new connection; one line per GET:
# "pretransfer_s starttransfer_s http_code size".
fetch() {
	# Each curl has 10 s; the loop as a whole is bounded as well.
	ip netns exec "$NS_USER" timeout $(($2 * 11 + 10)) bash -c '
		for i in $(seq '"$2"'); do
			out=$(curl -s -o /dev/null --max-time 10 '"${CURL_VIA[$1]}"' \
				-w "%{time_pretransfer} %{time_starttransfer} %{http_code} %{size_download}" \
				"'"$URL"'")
			echo "${out:-- - 000 0}"
		done' 2>>"$W/curl.log"
}

# cold_fetch PATH COUNT [SETTLE]: as fetch, with every nacre process
# restarted before each GET (and SETTLE seconds between the two).
cold_fetch() {
	local i
	for ((i = 0; i < $2; i++)); do
		nacre_restart >&2
		[ -z "${3:-}" ] || sleep "$3"
		fetch "$1" 1
	done
}

# One GET through each path before any figure.
for p in $PATHS; do
	got=$(fetch "$p" 1 | awk '{ print $3, $4 }')
	[ "$got" = "200 1024" ] && continue
	case $p in
	nacre*) hard_error "$p does not relay a GET (got '$got')" ;;
	*)
		say "$p does not fetch the page (got '$got'): not measured"
		PATHS=$(printf '%s\n' $PATHS | grep -vx "$p" | tr '\n' ' ')
		;;
	esac
done
[ "$COLD_N" -gt 0 ] &&
	PATHS="$PATHS nacre-socks5-cold nacre-connect-cold nacre-links-socks5-cold nacre-links-socks5-started"

# ---- the rounds ----------------------------------------------------------------

mkdir -p "$OUT_DIR"
STAMP=$(date +%Y%m%d-%H%M%S)
TSV=$OUT_DIR/rtt-$STAMP.tsv
JSON=$OUT_DIR/rtt-$STAMP.json
{
	printf '#date\t%s\n' "$(date -Is)"
	printf '#rounds\t%s\n' "$ROUNDS"
	printf '#smoke\t%s\n' "$SMOKE"
	printf '#n\t%s\n' "$N"
	printf '#cold_n\t%s\n' "$COLD_N"
	printf '#cold_settle\t%s\n' "$COLD_SETTLE"
	printf '#delay_ms\t%s\n' "$DELAY_MS"
	printf '#relay_links\t%s\n' "${RELAY_LINKS:-0}"
	printf '#tun_prio\t%s\n' "$(grep -q 'SCHED_FIFO refused' "$W"/tundelay-*.log && echo 0 || echo "$TUN_PRIO")"
	printf '#nacre\t%s\n' "$NACRE"
	printf '#nacre_commit\t%s\n' "$(git -C "$top_srcdir" rev-parse --short HEAD 2>/dev/null || echo unknown)"
	printf '#shadowsocks\t%s\n' "$( (ss-server -h 2>&1 || true) | sed -n 's/^shadowsocks-libev //p' | head -n 1)"
	printf '#ss_method\t%s\n' "$SS_METHOD"
	printf '#nproc\t%s\n' "$(nproc)"
	printf '#uptime_start\t%s\n' "$(uptime)"
	printf 'round\tpath\tsample\topen_ms\tttfb_ms\tok\n'
} >"$TSV"

LOAD_START=$(uptime)
say "load before: $LOAD_START"
for ((ROUND = 1; ROUND <= ROUNDS; ROUND++)); do
	order=$(rotate "$ROUND" $PATHS)
	say "round $ROUND/$ROUNDS: $N new connections per path ($COLD_N cold), one at a time ($order)"
	for p in $order; do
		# Not in a pipeline: the restarts must update NPID in this shell.
		case $p in
		*-cold) cold_fetch "$p" "$COLD_N" >"$W/samples" ;;
		*-started) cold_fetch "$p" "$COLD_N" "$COLD_SETTLE" >"$W/samples" ;;
		*) fetch "$p" "$N" >"$W/samples" ;;
		esac
		awk -v r="$ROUND" -v p="$p" 'BEGIN { OFS = "\t" }
			{ ok = ($3 == "200" && $4 == "1024"); n++
			  if (ok) print r, p, n, $1 * 1000, $2 * 1000, 1; else print r, p, n, "-", "-", 0 }' \
			"$W/samples" >>"$TSV"
	done
done

# bulk_fetch PATH: one download of the bulk file through PATH from the user
# namespace: "speed_bytes_per_s size http_code".
bulk_fetch() {
	local out
	out=$(ip netns exec "$NS_USER" timeout 130 curl -s -o /dev/null --max-time 120 ${CURL_VIA[$1]} \
		-w "%{speed_download} %{size_download} %{http_code}" "$BULK_URL" 2>>"$W/curl.log")
	echo "${out:-0 0 000}"
}
if [ "$BULK_MIB" -gt 0 ]; then
	BULK_PATHS=$(printf '%s\n' $PATHS | grep -E '^(direct|nacre-socks5|nacre-links-socks5|ss3-socks5)$' | tr '\n' ' ')
	for ((ROUND = 1; ROUND <= ROUNDS; ROUND++)); do
		order=$(rotate "$ROUND" $BULK_PATHS)
		say "bulk round $ROUND/$ROUNDS: one $BULK_MIB MiB download per path ($order)"
		for p in $order; do
			printf '#bulk\t%s\t%s\t%s\n' "$ROUND" "$p" "$(bulk_fetch "$p")" >>"$TSV"
		done
	done
fi
printf '#bulk_bytes\t%s\n' $((BULK_MIB << 20)) >>"$TSV"
LOAD_END=$(uptime)
printf '#uptime_end\t%s\n' "$LOAD_END" >>"$TSV"
say "load after: $LOAD_END"

say "pinging the four links again"
ping_links after
for l in 1 2 3 4; do
	for tag in before after; do
		sed "s/^/#ping\t$l\t$tag\t/" "$W/ping-$tag-$l.txt" >>"$TSV"
	done
done

# The links' counters: a packet dropped by tundelay would be a lost packet
# the figures do not show.
stop_pids $TD_PIDS
TD_PIDS=""
DROPS=$(cat "$W"/tundelay-*.log | sed -nE 's/.*dropped_full=([0-9]+) dropped_long=([0-9]+).*/\1 \2/p' |
	awk '{ s += $1 + $2 } END { print s + 0 }')
printf '#tundelay_drops\t%s\n' "$DROPS" >>"$TSV"

echo
echo "nacre round-trip benchmark: $ROUNDS round(s)$([ "$SMOKE" = 1 ] && echo ', SMOKE'), $(nproc) cores, $(date -Is)"
tun_sched="SCHED_FIFO $TUN_PRIO"
[ "$TUN_PRIO" -gt 0 ] || tun_sched="not prioritised"
grep -q 'SCHED_FIFO refused' "$W"/tundelay-*.log && tun_sched="SCHED_FIFO refused: not prioritised"
echo "4 links user-r1-r2-r3-origin, each 2 TUN devices and tundelay -d $DELAY_MS (ms each way, $tun_sched);" \
	"$N new connections per path per round ($COLD_N on each cold path, every nacre restarted before each;" \
	"on the started path $COLD_SETTLE s before each)," \
	"one at a time, curl GET of 1 KiB from nginx;" \
	"nacre's relays reach the next one $([ "${RELAY_LINKS:-0}" = 1 ] && echo "over a link" || echo "over TCP, with spares")"
echo "load at start: ${LOAD_START/*load average/load average}"
echo "load at end:   ${LOAD_END/*load average/load average}"
echo
"$PY" - "$TSV" "$JSON" <<'EOF' || hard_error "summary failed"
import json, math, statistics, sys

tsv, out = sys.argv[1], sys.argv[2]
meta, pings, rows, bulk = {}, {}, [], []
for line in open(tsv):
    f = line.rstrip("\n").split("\t")
    if f[0] == "#ping":
        pings.setdefault(int(f[1]), {}).setdefault(f[2], []).append(float(f[3]))
    elif f[0] == "#bulk":
        bulk.append((int(f[1]), f[2], f[3].split()))
    elif f[0].startswith("#"):
        meta[f[0][1:]] = f[1]
    elif f[0] != "round":
        rows.append(f)

def pct(v, q):
    """The nearest-rank percentile."""
    v = sorted(v)
    return v[max(0, math.ceil(q * len(v)) - 1)]

links = []
for l in sorted(pings):
    allv = pings[l].get("before", []) + pings[l].get("after", [])
    links.append({
        "link": l,
        "name": ["user-r1", "r1-r2", "r2-r3", "r3-origin"][l - 1],
        "rtt_ms_median": round(statistics.median(allv), 3),
        "rtt_ms_min": round(min(allv), 3),
        "rtt_ms_mean": round(statistics.mean(allv), 3),
        "rtt_ms_median_before": round(statistics.median(pings[l]["before"]), 3),
        "rtt_ms_median_after": round(statistics.median(pings[l]["after"]), 3),
        "probes": len(allv),
    })
floor = 2 * sum(x["rtt_ms_median"] for x in links)

print("link        ping RTT ms: median (before / after)   min    mean")
for x in links:
    print(f"  {x['name']:<10} {x['rtt_ms_median']:7.2f}  ({x['rtt_ms_median_before']:.2f} / "
          f"{x['rtt_ms_median_after']:.2f})          {x['rtt_ms_min']:6.2f} {x['rtt_ms_mean']:7.2f}")
print(f"floor = 2 x sum of the link medians = 2 x {floor / 2:.2f} = {floor:.2f} ms")
print()

paths = []
for r in rows:
    if r[1] not in paths:
        paths.append(r[1])
order = ["direct", "nacre-socks5", "nacre-connect", "nacre-links-socks5", "nacre-links-connect",
         "nacre-socks5-cold", "nacre-connect-cold", "nacre-links-socks5-cold",
         "nacre-links-socks5-started", "ss3-socks5", "ss3-connect"]
paths.sort(key=lambda p: order.index(p) if p in order else 99)
labels = {"direct": ("direct (routed)", "-"), "nacre-socks5": ("nacre 3 hops", "SOCKS5"),
          "nacre-socks5-cold": ("nacre 3 hops, cold", "SOCKS5"),
          "nacre-connect-cold": ("nacre 3 hops, cold", "CONNECT"),
          "nacre-connect": ("nacre 3 hops", "CONNECT"), "ss3-socks5": ("ss 3 hops layered", "SOCKS5"),
          "nacre-links-socks5": ("nacre 3 hops, link", "SOCKS5"),
          "nacre-links-connect": ("nacre 3 hops, link", "CONNECT"),
          "nacre-links-socks5-cold": ("nacre 3 hops, link, cold", "SOCKS5"),
          "nacre-links-socks5-started": ("nacre 3 hops, link, started", "SOCKS5")}

def agg(vals):
    return {"median": round(statistics.median(vals), 2), "min": round(min(vals), 2),
            "max": round(max(vals), 2), "rounds": [round(v, 2) for v in vals]}

def cell(a):
    if a is None:
        return "-"
    return f"{a['median']:.1f} [{a['min']:.1f}-{a['max']:.1f}]"

result = {"meta": meta, "links": links, "floor_ms": round(floor, 3), "paths": {}}
table = []
for p in paths + (["ss3-connect"] if "ss3-socks5" in paths else []):
    if p == "ss3-connect":
        table.append(("ss 3 hops layered", "CONNECT", None, None, None, None, "n/a (ss-local has no HTTP CONNECT)"))
        continue
    rounds = sorted({int(r[0]) for r in rows if r[1] == p})
    per = {"open_p50": [], "ttfb_p50": [], "ttfb_p90": []}
    errors = completed = 0
    for rd in rounds:
        ok = [r for r in rows if r[1] == p and int(r[0]) == rd and r[5] == "1"]
        errors += sum(1 for r in rows if r[1] == p and int(r[0]) == rd and r[5] != "1")
        completed += len(ok)
        if not ok:
            continue
        t = [float(r[4]) for r in ok]
        o = [float(r[3]) for r in ok]
        per["ttfb_p50"].append(statistics.median(t))
        per["ttfb_p90"].append(pct(t, 0.9))
        per["open_p50"].append(statistics.median(o))
    a = {k: agg(v) if v else None for k, v in per.items()}
    ratio = round(a["ttfb_p50"]["median"] / floor, 3) if a["ttfb_p50"] else None
    ratio90 = round(a["ttfb_p90"]["median"] / floor, 3) if a["ttfb_p90"] else None
    result["paths"][p] = {"ttfb_p50_ms": a["ttfb_p50"], "ttfb_p90_ms": a["ttfb_p90"],
                          "open_p50_ms": a["open_p50"], "ttfb_p50_over_floor": ratio,
                          "ttfb_p90_over_floor": ratio90, "completed": completed, "errors": errors}
    table.append((*labels.get(p, (p, "")), a["ttfb_p50"], a["ttfb_p90"], a["open_p50"], ratio, errors))

hdr = ("path", "via", "TTFB p50 ms", "TTFB p90 ms", "open p50 ms", "p50/floor", "errors")
w = [28, 8, 20, 20, 20, 10, 6]
print("  ".join(h.ljust(w[i]) for i, h in enumerate(hdr)))
for t in table:
    name, via, p50, p90, op, ratio, err = t
    cells = [name, via, cell(p50), cell(p90), cell(op), "-" if ratio is None else f"{ratio:.2f}x",
             str(err) if p50 is not None else "-"]
    print("  ".join(c.ljust(w[i]) for i, c in enumerate(cells)).rstrip())
print()
print("median [min-max] over rounds of each round's percentile; TTFB is curl's time_starttransfer,")
print("open is time_pretransfer (the proxy said the stream is open; for direct, TCP connected);")
print(f"p50/floor is the median p50 over the floor of {floor:.2f} ms.")

# Bulk: MB/s of each download, against direct's in the same run.
want = int(meta.get("bulk_bytes", "0"))
if bulk and want:
    result["bulk_bytes"] = want
    result["bulk"] = {}
    speeds = {}
    for rd, p, v in bulk:
        ok = len(v) == 3 and v[2] == "200" and int(float(v[1])) == want
        speeds.setdefault(p, {"ok": [], "errors": 0})
        if ok:
            speeds[p]["ok"].append(float(v[0]) / 1e6)
        else:
            speeds[p]["errors"] += 1
    base = statistics.median(speeds["direct"]["ok"]) if speeds.get("direct", {}).get("ok") else None
    rtt1 = links[0]["rtt_ms_median"] if links else None
    print()
    print(f"bulk: one {want >> 20} MiB download per path per round")
    print("path                  MB/s median [min-max]     x direct   errors")
    for p in sorted(speeds, key=lambda p: order.index(p) if p in order else 99):
        v = speeds[p]["ok"]
        a = agg(v) if v else None
        ratio = round(a["median"] / base, 3) if a and base else None
        result["bulk"][p] = {"mb_per_s": a, "over_direct": ratio, "errors": speeds[p]["errors"]}
        name = {"direct": "direct (routed)", "nacre-socks5": "nacre 3 hops",
                "nacre-links-socks5": "nacre 3 hops, link", "ss3-socks5": "ss 3 hops layered"}.get(p, p)
        rs = "-" if ratio is None else f"{ratio:.2f}x"
        print(f"{name:<21} {cell(a):<25} {rs:<10} {speeds[p]['errors']}")
    if rtt1:
        cap = 65536 / (rtt1 / 1000) / 1e6
        result["bulk_cap_64k_window_mb_per_s"] = round(cap, 2)
        print(f"(a fixed 64 KiB window over user-r1's {rtt1:.2f} ms round trip would cap a circuit at {cap:.1f} MB/s)")
json.dump(result, open(out, "w"), indent=1)
EOF
echo "tundelay dropped $DROPS packet(s) on the four links"
echo "raw samples: $TSV"
echo "summary:     $JSON"

warn=$(cat "$W"/n-*.log 2>/dev/null | grep -E ' (warn|error|fatal)' | head -n 10)
if [ -n "$warn" ]; then
	echo
	echo "nacre logged (first 10 lines at warn or above):"
	printf '%s\n' "$warn"
fi

# Sanity: every nacre GET and download completed.
bad=$(awk -F '\t' -v want=$((BULK_MIB << 20)) '
	$1 == "#bulk" && $3 ~ /^nacre/ { split($4, v, " "); if (v[3] != "200" || v[2] + 0 != want) n++ }
	$1 !~ /^#/ && $2 ~ /^nacre/ && $6 != 1 { n++ }
	END { print n + 0 }' "$TSV")
if [ "$bad" -ne 0 ]; then
	echo "not ok - nacre: $bad GET(s) or download(s) failed"
	echo "sanity: 0 passed, 1 failed"
	exit 1
fi
echo "sanity: 1 passed, 0 failed"
