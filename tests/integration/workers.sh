#!/bin/bash
# workers = N: N processes share the listeners through SO_REUSEPORT. New
# connections are spread over them; a worker that dies is started again;
# SIGHUP reaches every worker; SIGTERM stops them all; relay listeners live
# in the first worker only (one replay set must see every first flight).
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
relay = ( { address = "$ADDR:$RP"; key_file = "r.key"; } );
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

kill -HUP "$MASTER"
i=0
while [ "$(grep -c 'configuration reloaded' "$T/nacre.log")" -lt 2 ] && [ $i -lt 100 ]; do
	sleep 0.05
	i=$((i + 1))
done
expect_eq "SIGHUP to the master reloads both workers" 2 "$(grep -c 'configuration reloaded' "$T/nacre.log")"

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

cat >"$T/zero.conf" <<EOF
workers = 2;
listen = ( { address = "127.0.0.1:0"; } );
EOF
check "workers > 1 refuses a listener without a port" sh -c \
	"! '$NACRE' check -c '$T/zero.conf' 2>'$T/zero.err' && grep -q 'needs a port' '$T/zero.err'"
finish
