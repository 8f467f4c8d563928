#!/bin/bash
# 1 worker against 2 (workers = N, SO_REUSEPORT): 50 clients opening fresh
# SOCKS5 connections and fetching 1 KiB from nginx for 5 s, alternating over
# ROUNDS rounds. Prints req/s and nacre's CPU us per request (master and
# workers) for each round, then the medians. Loopback only.
#   NACRE=path/to/nacre [ROUNDS=3] tests/bench/workers.sh
set -u
here=$(cd "$(dirname "$0")" && pwd)
NACRE=${NACRE:?set NACRE to the nacre binary}
ROUNDS=${ROUNDS:-3}
[ "${SMOKE:-0}" = 1 ] && ROUNDS=1
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || { echo "SKIP: nginx is missing"; exit 77; }
W=$(mktemp -d /tmp/nacre-workers.XXXXXX)
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
cc -O2 -std=c11 -D_GNU_SOURCE -o "$W/loadgen" "$here/loadgen.c" "$here/loadgen_conn.c" ||
	{ echo "could not build loadgen"; exit 99; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
NG=$(free_port)
head -c 1024 /dev/urandom >"$W/1k"
user_line=""
[ "$(id -u)" -eq 0 ] && user_line="user $(id -un) $(id -gn);"
cat >"$W/nginx.conf" <<EOF
$user_line
daemon off; worker_processes 1; error_log $W/nginx.err warn; pid $W/nginx.pid;
events { worker_connections 4096; }
http { access_log off; server { listen 127.0.0.1:$NG; root $W; } }
EOF
/usr/sbin/nginx -c "$W/nginx.conf" &
PIDS="$PIDS $!"
sleep 0.5

tree_ticks() {
	local t=0 p
	for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done
	echo "$t"
}
kv() { tr ' ' '\n' | sed -n "s/^$1=//p"; }
echo "load before: $(cat /proc/loadavg)"
fails=0
for r in $(seq 1 "$ROUNDS"); do
	for w in 1 2; do
		P=$(free_port)
		"$NACRE" -w "$w" -l "127.0.0.1:$P" --log-level warn >"$W/nacre$w.log" 2>&1 &
		m=$!
		sleep 0.5
		pids="$m $(pgrep -P "$m" | tr '\n' ' ')"
		c0=$(tree_ticks $pids)
		out=$(timeout 60 "$W/loadgen" --mode socks5 --proxy "127.0.0.1:$P" \
			--target "127.0.0.1:$NG" --path /1k --sources 8 --concurrency 50 --duration 5)
		c1=$(tree_ticks $pids)
		kill "$m"
		wait "$m" 2>/dev/null
		n=$(echo "$out" | kv completed)
		e=$(echo "$out" | kv errors)
		[ "${n:-0}" -gt 0 ] && [ "${e:-1}" = 0 ] || fails=$((fails + 1))
		tick=$(getconf CLK_TCK)
		us=$(python3 -c "print(round(($c1 - $c0) * 1e6 / $tick / max(1, ${n:-0}), 1))")
		echo "round $r workers=$w req_per_s=$(echo "$out" | kv rps) cpu_us_per_req=$us errors=$e"
		sleep 2
	done
done | tee "$W/rounds.txt"
python3 - "$W/rounds.txt" <<'PY'
import statistics, sys
rows = [dict(kv.split("=") for kv in l.split()[2:]) | {"w": l.split()[2]} for l in open(sys.argv[1]) if l.startswith("round")]
for w in ("workers=1", "workers=2"):
    rs = [r for r in rows if r["w"] == w]
    print(f"{w}: median req/s {statistics.median(float(r['req_per_s']) for r in rs):.0f}, "
          f"CPU us per request {statistics.median(float(r['cpu_us_per_req']) for r in rs):.1f}")
PY
echo "load after: $(cat /proc/loadavg)"
bad=$(grep -c 'errors=[^0]' "$W/rounds.txt")
echo "sanity: $((2 * ROUNDS - bad)) passed, $bad failed"
[ "$bad" -eq 0 ]
