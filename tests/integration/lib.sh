# Shared helpers for the integration tests: sourced, never run.
# Each test gets its own temporary directory, removed on exit, and its daemons
# are killed on exit. Exit codes follow automake: 0 pass, 77 skip, 99 hard error.
set -u

: "${NACRE:?NACRE must name the nacre binary (make check sets it)}"
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
TESTS_DIR="$top_srcdir/tests/integration"
T=$(mktemp -d "${TMPDIR:-/tmp}/nacre-test.XXXXXX")
PIDS=""
FAILS=0

cleanup() {
	local rc=$?
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	for p in $PIDS; do wait "$p" 2>/dev/null; done
	# Logs are shown for failures and hard errors alike (not for skips).
	if [ "$FAILS" -ne 0 ] || { [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; } || [ "${KEEP_LOGS:-}" ]; then
		for f in "$T"/*.log; do
			[ -f "$f" ] || continue
			echo "---- $f (last 40 lines)"
			tail -n 40 "$f"
		done
	fi
	rm -rf "$T"
}
trap cleanup EXIT

skip() { echo "SKIP: $*"; exit 77; }
# skip_all REASON: the TAP way to skip a whole script (a plan of no tests),
# with automake's skip status.
skip_all() { echo "1..0 # SKIP $*"; exit 77; }
hard_error() { echo "ERROR: $*"; exit 99; }
# With TAP_NUMBERS set (before sourcing this file), results are numbered
# ("ok 3 - ...") and finish prints the plan "1..N" last.
TAP_N=0
pass() {
	TAP_N=$((TAP_N + 1))
	if [ -n "${TAP_NUMBERS:-}" ]; then echo "ok $TAP_N - $*"; else echo "ok - $*"; fi
}
fail() {
	TAP_N=$((TAP_N + 1))
	if [ -n "${TAP_NUMBERS:-}" ]; then echo "not ok $TAP_N - $*"; else echo "not ok - $*"; fi
	FAILS=$((FAILS + 1))
}
# check DESCRIPTION COMMAND...: passes when the command exits 0.
check() {
	local what=$1; shift
	if "$@"; then pass "$what"; else fail "$what"; fi
}
# expect_eq DESCRIPTION EXPECTED ACTUAL
expect_eq() {
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: expected '$2', got '$3'"; fi
}
finish() {
	[ -n "${TAP_NUMBERS:-}" ] && echo "1..$TAP_N"
	if [ "$FAILS" -ne 0 ]; then echo "$FAILS check(s) failed"; exit 1; fi
	exit 0
}

# free_port [ADDR]: a TCP port nobody uses on ADDR (127.0.0.1) right now, for
# servers that cannot take port 0. Another test may take it before it is used:
# tests that must name ports in advance use an address of their own in
# 127.0.0.0/8, where no test's outgoing connections take ports.
free_port() {
	python3 -c 'import socket,sys; s=socket.socket(); s.bind((sys.argv[1],0)); print(s.getsockname()[1])' \
		"${1:-127.0.0.1}"
}

# wait_for_line FILE REGEX [SECONDS]: waits until a line matching REGEX appears.
wait_for_line() {
	local file=$1 re=$2 secs=${3:-10} i=0
	while [ "$i" -lt $((secs * 20)) ]; do
		grep -qE "$re" "$file" 2>/dev/null && return 0
		sleep 0.05
		i=$((i + 1))
	done
	return 1
}

# start_nacre NAME ARGS...: starts the daemon in the background with its log in
# $T/NAME.log; sets NACRE_PID and NACRE_PORT (the first "listening on" port).
# Pass --listen 127.0.0.1:0 to let the kernel choose the port.
start_nacre() {
	local name=$1; shift
	# Emptied here, not only by the job's own redirection, which runs later:
	# a name started again must not find the last run's "listening on".
	: >"$T/$name.log"
	"$NACRE" "$@" >"$T/$name.log" 2>&1 &
	NACRE_PID=$!
	PIDS="$PIDS $NACRE_PID"
	if ! wait_for_line "$T/$name.log" 'listening on ' 30; then
		cat "$T/$name.log"
		hard_error "nacre did not start: $*"
	fi
	NACRE_PORT=$(sed -nE 's/.*listening on (\[[^]]*\]|[^ ]*):([0-9]+).*/\2/p' "$T/$name.log" | head -n 1)
}

# start_nginx: serves $T/www on 127.0.0.1; sets NGINX_PORT. Skips if nginx is absent.
start_nginx() {
	command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || skip "nginx not installed"
	NGINX_PORT=$(free_port)
	mkdir -p "$T/www" "$T/nginx"
	# Run as root, nginx's workers would drop to nobody and could not read $T
	# (mode 0700): keep them as the user running the test.
	local user_line=""
	[ "$(id -u)" -eq 0 ] && user_line="user $(id -un) $(id -gn);"
	cat >"$T/nginx/nginx.conf" <<NGX
$user_line
daemon off;
worker_processes 1;
error_log $T/nginx.log warn;
pid $T/nginx/nginx.pid;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $T/nginx/body;
	proxy_temp_path $T/nginx/proxy;
	fastcgi_temp_path $T/nginx/fastcgi;
	uwsgi_temp_path $T/nginx/uwsgi;
	scgi_temp_path $T/nginx/scgi;
	server {
		listen 127.0.0.1:$NGINX_PORT;
		listen [::1]:$NGINX_PORT;
		root $T/www;
	}
}
NGX
	/usr/sbin/nginx -c "$T/nginx/nginx.conf" -e "$T/nginx.log" &
	PIDS="$PIDS $!"
	local i=0
	while ! (exec 3<>/dev/tcp/127.0.0.1/$NGINX_PORT) 2>/dev/null; do
		i=$((i + 1))
		[ "$i" -gt 100 ] && hard_error "nginx did not start"
		sleep 0.05
	done
}

ORIGIN_PY="$TESTS_DIR/origin.py"
# need_python: sets PYTHON to the interpreter python3 names (skipping version
# manager shims, which cost a second per start), or skips the test.
PYTHON=""
need_python() {
	[ -n "$PYTHON" ] && return 0
	command -v python3 >/dev/null || skip "python3 not installed"
	PYTHON=$(python3 -c 'import sys; print(sys.executable)') && [ -x "$PYTHON" ] ||
		PYTHON=python3
}

# start_origin NAME MODE [ARGS...]: starts tests/integration/origin.py in MODE
# (http, echo, halfclose, sendclose, dns) with its log in $T/NAME.log; sets
# ORIGIN_PID and ORIGIN_PORT. Listens on 127.0.0.1 unless ARGS give --host.
start_origin() {
	local name=$1 mode=$2; shift 2
	need_python
	: >"$T/$name.log" # as in start_nacre
	"$PYTHON" -u "$ORIGIN_PY" --mode "$mode" "$@" >"$T/$name.log" 2>&1 &
	ORIGIN_PID=$!
	PIDS="$PIDS $ORIGIN_PID"
	if ! wait_for_line "$T/$name.log" 'listening on ' 30; then
		cat "$T/$name.log"
		hard_error "origin $name ($mode) did not start"
	fi
	ORIGIN_PORT=$(sed -nE 's/.*listening on (\[[^]]*\]|[^ ]*):([0-9]+).*/\2/p' "$T/$name.log" | head -n 1)
}

# origin_sha256 N: the SHA-256 of the first N bytes the origin's /bytes/N sends.
origin_sha256() { need_python; "$PYTHON" "$ORIGIN_PY" --print-sha256 "$1"; }

# curl_sha256 CURL-ARGS...: the hex SHA-256 of what curl received (bounded in time).
curl_sha256() { timeout 20 curl -sS --max-time 15 "$@" | sha256sum | cut -d' ' -f1; }

# sha256_of FILE: the hex SHA-256 of FILE's contents.
sha256_of() { sha256sum <"$1" | cut -d' ' -f1; }

# run_py SECONDS ARGS...: python3 ($PYTHON) with origin.py importable (as "origin"),
# killed after SECONDS. Use "run_py 20 - ARG... <<'PY'" for inline clients.
run_py() {
	local secs=$1; shift
	need_python
	PYTHONPATH="$TESTS_DIR${PYTHONPATH:+:$PYTHONPATH}" timeout "$secs" "$PYTHON" "$@"
}

# three_relays NET: key files r1..r3 in $T (r1.key, r1.pub, ...) and R1..R3,
# each on an address of its own in 127.0.NET.0/24 with a port chosen ahead.
three_relays() {
	local r
	for r in 1 2 3; do
		"$NACRE" keygen "$T/r$r.key" >"$T/r$r.pub" 2>/dev/null || hard_error "keygen r$r"
		eval "R$r=127.0.$1.$r:$(free_port "127.0.$1.$r")"
	done
}

# relays_block: the user's side's "relays" list naming r1..r3 of three_relays.
# r1 is reached over a TCP connection per circuit, or with LINKS=1 in the
# environment over a link (SPEC.md, "Links"; the daemon's default).
relays_block() {
	local links=" links = false;"
	[ "${LINKS:-0}" = 1 ] && links=" links = true;"
	cat <<EOF
relays = (
	{ name = "r1"; address = "$R1"; key = "$(cat "$T/r1.pub")";$links },
	{ name = "r2"; address = "$R2"; key = "$(cat "$T/r2.pub")"; },
	{ name = "r3"; address = "$R3"; key = "$(cat "$T/r3.pub")"; }
);
EOF
}

# three_chain: relays_block, and the chain "three" through r1, r2 and r3 as
# the route of every listener: the user's side of a three-relay test.
three_chain() {
	relays_block
	printf '%s\n' 'chains = ( { name = "three"; hops = [ "r1", "r2", "r3" ]; } );' 'route = "three";'
}

# relays_known: with RELAY_LINKS=1 in the environment, the relays' own
# "relays" list naming r2 and r3 of three_relays with their keys, so that a
# relay extends to them over links (SPEC.md, "Extending over a link");
# nothing otherwise, and each circuit gets a TCP connection of its own.
relays_known() {
	[ "${RELAY_LINKS:-0}" = 1 ] || return 0
	cat <<EOF
relays = (
	{ name = "r2"; address = "$R2"; key = "$(cat "$T/r2.pub")"; },
	{ name = "r3"; address = "$R3"; key = "$(cat "$T/r3.pub")"; }
);
EOF
}

# links_origins: nginx (NG) serving /big (16 MiB, sha256 BIG_SHA) and /1k
# (K_SHA), and an echo server (ECHO), on 127.0.0.1.
links_origins() {
	mkdir -p "$T/www"
	head -c $((16 * 1024 * 1024)) /dev/urandom >"$T/www/big"
	head -c 1024 /dev/urandom >"$T/www/1k"
	BIG_SHA=$(sha256_of "$T/www/big")
	K_SHA=$(sha256_of "$T/www/1k")
	start_nginx
	NG=$NGINX_PORT
	start_helper echo errlib.py echo-server --bind 127.0.0.1
	ECHO=$HELPER_PORT
}

# stalled_beside WHERE PROXY-PORT NGINX-PORT SHA: a stream whose reader stops
# does not stall its neighbour (links: each circuit has a window of its own).
# A client reads 64 KiB of nginx's /big (16 MiB, whose sha256 is SHA) through
# the SOCKS5 proxy, then stops reading for 10 s; meanwhile a download of it
# beside the first completes while the first reader still sleeps, and the
# first then gets the rest.
stalled_beside() {
	run_py 40 - "$2" "$3" >"$T/stall.out" 2>&1 <<'PY' &
import socket, sys, time
from origin import socks5_connect
s, rep, _, _ = socks5_connect(int(sys.argv[1]), "127.0.0.1", int(sys.argv[2]))
assert rep == 0, rep
s.sendall(b"GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
got = 0
while got < 65536:
    got += len(s.recv(65536))
print("stalled", flush=True)
time.sleep(10)
s.settimeout(20)
while True:
    b = s.recv(1 << 20)
    if not b:
        break
    got += len(b)
print("rest", got > 16 * 1024 * 1024)
PY
	local stall=$!
	wait_for_line "$T/stall.out" stalled 10 || hard_error "the stalled client did not start"
	expect_eq "a download beside a stalled stream $1 completes" "$4" "$(timeout 60 curl -sS \
		--max-time 55 --socks5-hostname "127.0.0.1:$2" "http://127.0.0.1:$3/big" | sha256sum | cut -d' ' -f1)"
	check "... while the stalled reader still sleeps" [ "$(grep -c rest "$T/stall.out")" = 0 ]
	wait "$stall"
	expect_eq "the stalled stream then gets the rest" "rest True" "$(tail -1 "$T/stall.out")"
}

# relay_conf N ADDRESS EXIT POLICY-DEST: the configuration of relay N of
# three_relays alone in a process, accepting POLICY-DEST only (its next relay,
# or the exit's destinations); with RELAY_LINKS=1 it knows r2 and r3 by their
# keys (relays_known).
relay_conf() {
	cat <<EOF
$(relays_known)
relay = ( { address = "$2"; key_file = "r$1.key"; exit = $3;
	    policy = ( { dest = "$4"; action = "accept"; } ); } );
listen = ();
EOF
}

# client_fin VIA PROXY-PORT ORIGIN-PORT: through the proxy (VIA socks5 or
# connect), sends 1 MiB (+3 bytes) to a halfclose origin, shuts down its write
# side, then reads the origin's reply to EOF. Prints the reply.
client_fin() {
	run_py 60 - "$1" "$2" "$3" <<'PY'
import socket, sys
from origin import http_connect, recv_to_eof, socks5_connect, stream_bytes
via, p, o = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
if via == "socks5":
    s, rep, _, _ = socks5_connect(p, "127.0.0.1", o)
    assert rep == 0, "SOCKS5 reply %d" % rep
else:
    s, line, rest = http_connect(p, "127.0.0.1", o)
    assert line.split(" ")[1] == "200", line
    assert rest == b""
s.sendall(stream_bytes(1048579))
s.shutdown(socket.SHUT_WR)
print(recv_to_eof(s).decode("latin-1"))
PY
}

# nacre_port_for NAME ADDR: the port nacre's log NAME.log says it listens on
# for ADDR (e.g. "\[::1\]"), for daemons given several --listen options.
nacre_port_for() {
	sed -nE "s/.*listening on $2:([0-9]+).*/\\1/p" "$T/$1.log" | head -n 1
}

# ---- raw clients and servers (errlib.py, dnsd.py): stdlib only, so python
# runs with -S, which skips site-packages start-up hooks (a tenth of a second
# per call here).
ERRLIB="$TESTS_DIR/errlib.py"

# py ARGS...: errlib.py ARGS, killed after PY_TIMEOUT seconds (60 by default).
py() {
	need_python
	timeout "${PY_TIMEOUT:-60}" "$PYTHON" -S -u "$ERRLIB" "$@"
}

# start_helper NAME SCRIPT ARGS...: a python server from this folder, log in
# $T/NAME.log; sets HELPER_PID, and HELPER_PORT from its "listening on" line.
# With HELPER_NETNS=NS it runs inside network namespace NS.
start_helper() {
	local name=$1 script=$2; shift 2
	need_python
	: >"$T/$name.log" # as in start_nacre
	${HELPER_NETNS:+ip netns exec "$HELPER_NETNS"} \
		"$PYTHON" -S -u "$TESTS_DIR/$script" "$@" >"$T/$name.log" 2>&1 &
	HELPER_PID=$!
	PIDS="$PIDS $HELPER_PID"
	wait_for_line "$T/$name.log" 'listening on ' 30 || hard_error "$name did not start"
	HELPER_PORT=$(sed -nE 's/.*listening on (\[[^]]*\]|[^ ]*):([0-9]+).*/\2/p' "$T/$name.log" | head -n 1)
}

# start_inline NAME CODE: as start_helper, for a few lines of Python written
# in the test rather than a script; CODE prints "listening on ADDR:PORT"
# once it is ready.
start_inline() {
	local name=$1 code=$2
	need_python
	: >"$T/$name.log" # as in start_nacre
	"$PYTHON" -S -u -c "$code" >"$T/$name.log" 2>&1 &
	HELPER_PID=$!
	PIDS="$PIDS $HELPER_PID"
	wait_for_line "$T/$name.log" 'listening on ' 30 || hard_error "$name did not start"
	HELPER_PORT=$(sed -nE 's/.*listening on (\[[^]]*\]|[^ ]*):([0-9]+).*/\2/p' "$T/$name.log" | head -n 1)
}

# kv KEY "k=v k=v ...": the value for KEY ("missing" if absent).
kv() {
	local w
	for w in $2; do
		case $w in "$1="*) echo "${w#*=}"; return ;; esac
	done
	echo missing
}

# ns_wrapper NS PROGRAM: prints the name of a script that runs PROGRAM inside
# network namespace NS (e.g. NACRE=$(ns_wrapper NS "$NACRE") start_nacre ...).
ns_wrapper() {
	local w="$T/$(basename "$2")-in-$1"
	printf '#!/bin/sh\nexec ip netns exec %s "%s" "$@"\n' "$1" "$2" >"$w"
	chmod +x "$w"
	echo "$w"
}
