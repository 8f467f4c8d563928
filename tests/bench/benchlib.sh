# Sourced by direct.sh, chains.sh and rtt.sh once their work directory exists:
# what they share. Expects here (the scripts' directory), top_srcdir, W (the
# work directory), STARTED (date +%s at the start) and a cleanup function;
# PIDS (start_sink adds the sink to it) and IDLE_N (fit_idle_n, hold_open)
# where those are called.
#
# On sourcing it sets the traps (cleanup on exit), finds python (PY; exit 77
# without it) and sets U (benchutil.py) and HOLD_READY/HOLD_RELEASE (the
# holder's files under W). It defines say, hard_error, have,
# install_missing, find_nacre, build_loadgen, fit_idle_n, free_port,
# wait_port, stop_pids, drop_work_dir, start_sink, hold_open, hold_release,
# rotate, kv and calc.

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

# stop_pids PID...: SIGTERM to each, then reaps them.
stop_pids() {
	local p
	for p in "$@"; do kill "$p" 2>/dev/null; done
	for p in "$@"; do wait "$p" 2>/dev/null; done
}

# drop_work_dir: removes W, unless KEEP_LOGS asks to keep it for a look.
drop_work_dir() {
	if [ "${KEEP_LOGS:-}" ]; then
		echo "logs kept in $W"
	else
		rm -rf "$W"
	fi
}

# ---- tools -----------------------------------------------------------------

PY=$(command -v python3) || { echo "SKIP: python3 is missing"; exit 77; }
# pyenv shims cost a shell per call: use the interpreter itself.
PY=$("$PY" -c 'import sys; print(sys.executable)')
U="$here/benchutil.py"

have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }

# install_missing PACKAGE...: apt-get them, as root and unless NO_INSTALL=1;
# a failure is only said (the script then runs without them, or skips). Then
# /usr/sbin joins PATH either way: nginx and danted live there.
install_missing() {
	if [ "$#" -gt 0 ] && [ "${NO_INSTALL:-0}" != 1 ] && [ "$(id -u)" = 0 ]; then
		say "installing: $*"
		export DEBIAN_FRONTEND=noninteractive
		{ timeout 300 apt-get install -y --no-install-recommends "$@" ||
			{ timeout 300 apt-get update && timeout 300 apt-get install -y --no-install-recommends "$@"; }; } \
			>"$W/apt.log" 2>&1 || say "apt-get failed: see $W/apt.log"
	fi
	PATH=$PATH:/usr/sbin
}

# find_nacre: NACRE as given, else ./nacre, else one built out of tree under
# W, so that the source tree is left as it is.
find_nacre() {
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
}

# build_loadgen: LOADGEN, built from its source here for this machine.
build_loadgen() {
	LOADGEN=$W/loadgen
	cc -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -o "$LOADGEN" "$here/loadgen.c" "$here/loadgen_conn.c" \
		2>"$W/loadgen-build.log" || hard_error "could not build loadgen"
}

# fit_idle_n: raises the descriptor limit as far as it goes and, if that is
# still short of two per idle tunnel and some to spare, holds fewer (IDLE_N).
fit_idle_n() {
	ulimit -n "$(ulimit -Hn)" 2>/dev/null
	if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((IDLE_N * 2 + 200)) ]; then
		IDLE_N=$((($(ulimit -n) - 200) / 2))
		say "ulimit -n is $(ulimit -n): holding $IDLE_N idle tunnels"
	fi
}

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

# start_sink: the upload sink (benchutil.py), which reads the whole body and
# only then answers, with the number of bytes it got: an upload's time is end
# to end, and a body cut short shows. Sets SINK_PORT and SINK (address:port).
start_sink() {
	local i
	"$PY" "$U" sink --port-file "$W/sink.port" --max-secs 7200 >>"$W/sink.log" 2>&1 &
	PIDS="$PIDS $!"
	for i in $(seq 100); do [ -f "$W/sink.port" ] && break; sleep 0.05; done
	SINK_PORT=$(cat "$W/sink.port" 2>/dev/null) || hard_error "the upload sink did not start"
	SINK=127.0.0.1:$SINK_PORT
	[ "$(curl -s --max-time 10 --data-binary abc "http://$SINK/up")" = 3 ] ||
		hard_error "the upload sink does not answer"
}

# hold_open NAME PORT: IDLE_N tunnels through the SOCKS5 proxy on
# 127.0.0.1:PORT, each having carried a byte each way, held open by
# benchutil.py hold (HOLD_PID) until hold_release. Once they are open its
# report is in HOLD_READY. Non-zero, and said, when they did not open within
# 120 s.
HOLD_READY=$W/idle-ready
HOLD_RELEASE=$W/idle-release
hold_open() {
	local i
	rm -f "$HOLD_READY" "$HOLD_RELEASE"
	timeout 200 "$PY" "$U" hold --proxy "127.0.0.1:$2" --n "$IDLE_N" \
		--ready "$HOLD_READY" --release "$HOLD_RELEASE" --max-hold 60 2>>"$W/hold.log" &
	HOLD_PID=$!
	for i in $(seq 1200); do # at most 120 s
		[ -f "$HOLD_READY" ] && break
		kill -0 "$HOLD_PID" 2>/dev/null || break
		sleep 0.1
	done
	if [ ! -f "$HOLD_READY" ]; then
		say "idle $1: the tunnels did not open"
		kill "$HOLD_PID" 2>/dev/null
		wait "$HOLD_PID" 2>/dev/null
		return 1
	fi
}

# hold_release: the holder resets its tunnels (no TIME_WAIT left behind) and
# exits.
hold_release() {
	touch "$HOLD_RELEASE"
	wait "$HOLD_PID" 2>/dev/null
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

# kv KEY LINE: the value of KEY=value in a line of pairs.
# Both in the shell and awk: a python start costs ~50 ms here, and they run
# hundreds of times.
kv() {
	local w
	for w in $2; do
		[ "${w%%=*}" = "$1" ] && { printf '%s\n' "${w#*=}"; return; }
	done
}
calc() { awk "BEGIN { printf \"%.3f\\n\", $1 }"; }
