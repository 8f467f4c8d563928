#!/bin/bash
# workers = N: N processes share the listeners through SO_REUSEPORT. New
# connections are spread over them; a worker that dies is started again;
# SIGHUP reaches every worker; a worker started again serves the config the
# master last accepted, not an unreloaded edit; a worker that cannot start
# stops the daemon with status 1; SIGTERM stops them
# all, and so does killing the master; relay listeners live in the first
# worker only (one replay set must see every first flight).
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/integration/lib.sh"

start_nginx
NG=$NGINX_PORT
echo hello >"$T/www/hello"
ADDR=127.0.6.1
P=$(free_port $ADDR)
"$NACRE" keygen "$T/r.key" >/dev/null 2>&1
RP=$(free_port $ADDR)
cat >"$T/w.conf" <<EOF
log_level = "debug";
workers = 2;
listen = ( { address = "$ADDR:$P"; } );
relay = ( { address = "$ADDR:$RP"; key_file = "r.key"; exit = true; } );
EOF
start_nacre nacre -c "$T/w.conf"
MASTER=$NACRE_PID
i=0
while [ "$(grep -c 'worker [12] of 2 started' "$T/nacre.log")" -lt 2 ] && [ $i -lt 100 ]; do
	sleep 0.05
	i=$((i + 1))
done
workers() { pgrep -P "$MASTER" | sort; }
expect_eq "the master runs two workers" 2 "$(workers | wc -l)"
expect_eq "the relay listener is opened once, by the first worker" 1 \
	"$(grep -c "listening on $ADDR:$RP (relay" "$T/nacre.log")"

for i in $(seq 1 60); do
	curl -s -o /dev/null --max-time 5 --socks5 "$ADDR:$P" "http://127.0.0.1:$NG/hello"
done
# Every connection is logged by the worker that served it.
served=$(grep 'closed: both sides finished' "$T/nacre.log" | sed -nE 's/.*nacre\[([0-9]+)\].*/\1/p' | sort -u | wc -l)
expect_eq "60 connections were served by both workers" 2 "$served"

# hup_master WHAT: SIGHUP to the master; prints how many lines of the log
# say WHAT once both workers have said it (or 5 s have passed).
hup_master() {
	local i=0
	kill -HUP "$MASTER"
	while [ "$(grep -c "$1" "$T/nacre.log")" -lt 2 ] && [ $i -lt 100 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	grep -c "$1" "$T/nacre.log"
}
expect_eq "SIGHUP to the master reloads both workers" 2 "$(hup_master 'configuration reloaded')"

victim=$(workers | head -n 1)
kill -9 "$victim"
i=0
while { [ "$(workers | wc -l)" -lt 2 ] || workers | grep -qx "$victim"; } && [ $i -lt 100 ]; do
	sleep 0.05
	i=$((i + 1))
done
check "a killed worker is started again" test "$(workers | wc -l)" -eq 2
expect_eq "and the port still serves" "hello" \
	"$(curl -s --max-time 5 --socks5 "$ADDR:$P" "http://127.0.0.1:$NG/hello")"

# ---- A worker started again serves the config the master last accepted,
# not an edit of the file nobody has reloaded: not a good one (that worker
# would enforce other rules than its sibling), nor a broken one (it would not
# start, and the relay port would be gone with the first worker).
# restart_worker PID: kills that worker outright and prints its successor's
# pid once the successor has logged its start.
restart_worker() {
	local victim=$1 fresh="" i=0
	kill -9 "$victim"
	while [ $i -lt 200 ]; do
		fresh=$(workers | grep -vxF "$(printf '%s\n' $kids_before)" | head -n 1)
		[ -n "$fresh" ] && grep -q "nacre\[$fresh\].*worker [12] of 2 started" "$T/nacre.log" && break
		sleep 0.05
		i=$((i + 1))
	done
	echo "$fresh"
}
cp "$T/w.conf" "$T/w.saved"
echo "rules = ( { port = $NG; action = \"block\"; } );" >>"$T/w.conf"
kids_before=$(workers)
fresh=$(restart_worker "$(echo "$kids_before" | head -n 1)")
check "a worker is started again after an edit that was not reloaded" test -n "$fresh"
served=0
for i in $(seq 1 20); do
	[ "$(curl -s --max-time 5 --socks5 "$ADDR:$P" "http://127.0.0.1:$NG/hello")" = hello ] &&
		served=$((served + 1))
done
expect_eq "neither worker applies the edit nobody reloaded: 20 of 20 fetched" 20 "$served"

printf 'workers = 2;\nbogus = 1;\n' >"$T/w.conf"
relay_pid=$(sed -nE "s/.*nacre\[([0-9]+)\].*listening on $ADDR:$RP \(relay.*/\1/p" "$T/nacre.log" | tail -n 1)
kids_before=$(workers)
fresh=$(restart_worker "$relay_pid")
check "the first worker, killed while the file is broken, starts again" test -n "$fresh"
check "and opens the relay port again" grep -q "nacre\[$fresh\].*listening on $ADDR:$RP (relay" "$T/nacre.log"
expect_eq "and the proxy port still serves" "hello" \
	"$(curl -s --max-time 5 --socks5 "$ADDR:$P" "http://127.0.0.1:$NG/hello")"
cp "$T/w.saved" "$T/w.conf"

# A reload the workers refuse (a new listener on a port taken) leaves them on
# the config before it; a worker started again after that must not be given
# the refused one for ever: it comes back with the config its siblings run.
start_helper taken errlib.py echo-server
sed "s|^listen = .*|listen = ( { address = \"$ADDR:$P\"; }, { address = \"127.0.0.1:$HELPER_PORT\"; } );|" \
	"$T/w.saved" >"$T/w.conf"
expect_eq "both workers refuse the reload" 2 "$(hup_master 'reload failed')"
kids_before=$(workers)
fresh=$(restart_worker "$(echo "$kids_before" | head -n 1)")
check "a worker killed after a refused reload starts again" test -n "$fresh"
check "with the config before the reload" grep -q "starting it with the one before" "$T/nacre.log"
expect_eq "and the port still serves" "hello" \
	"$(curl -s --max-time 5 --socks5 "$ADDR:$P" "http://127.0.0.1:$NG/hello")"
cp "$T/w.saved" "$T/w.conf"

kids=$(workers)
kill -TERM "$MASTER"
i=0
while kill -0 "$MASTER" 2>/dev/null && [ $i -lt 100 ]; do
	sleep 0.05
	i=$((i + 1))
done
check "SIGTERM stops the master" sh -c "! kill -0 $MASTER 2>/dev/null"
alive=0
for k in $kids; do kill -0 "$k" 2>/dev/null && alive=$((alive + 1)); done
expect_eq "and every worker" 0 "$alive"

# ---- A second daemon, for the master killed outright.
A2=127.0.6.2
P2=$(free_port $A2)
cat >"$T/w2.conf" <<EOF
workers = 2;
listen = ( { address = "$A2:$P2"; } );
EOF
start_nacre nacre2 -c "$T/w2.conf"
MASTER=$NACRE_PID
i=0
while [ "$(workers | wc -l)" -lt 2 ] && [ $i -lt 100 ]; do
	sleep 0.05
	i=$((i + 1))
done

# ---- Workers do not outlive a master that is killed outright.
kids=$(workers)
PIDS="$PIDS $kids"
kill -9 "$MASTER"
i=0
while [ $i -lt 100 ]; do
	alive=0
	for k in $kids; do kill -0 "$k" 2>/dev/null && alive=$((alive + 1)); done
	[ "$alive" -eq 0 ] && break
	sleep 0.05
	i=$((i + 1))
done
expect_eq "every worker stops when the master is killed" 0 "$alive"

# ---- A worker that cannot start (its port is taken) stops the daemon with
# status 1, as one process would, instead of being started again for ever.
timeout 20 "$NACRE" --workers 2 -l "127.0.0.1:$HELPER_PORT" >"$T/taken.log" 2>&1
rc=$?
expect_eq "workers: a port taken at start ends the daemon with status 1" 1 "$rc"
check "the master says a worker could not start" grep -q "master: a worker could not start" "$T/taken.log"

cat >"$T/zero.conf" <<EOF
workers = 2;
listen = ( { address = "127.0.0.1:0"; } );
EOF
check "workers > 1 refuses a listener without a port" sh -c \
	"! '$NACRE' check -c '$T/zero.conf' 2>'$T/zero.err' && grep -q 'needs a port' '$T/zero.err'"
finish
