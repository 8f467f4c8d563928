#!/bin/bash
# Privacy: at the default log level nothing a client asked for (names,
# addresses, ports) reaches the log, whether the request succeeds or fails;
# with -v (debug) it does, which shows the check below can see it.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/integration/lib.sh"

start_origin http http
OP=$ORIGIN_PORT
start_helper dns dnsd.py secret-origin.test=127.0.0.1
DNS=$HELPER_PORT

# drive NAME: successful and failing requests of every kind through nacre NAME.
drive() {
	local p=$NACRE_PORT
	curl -s -o /dev/null --max-time 10 --socks5-hostname 127.0.0.1:$p "http://secret-origin.test:$OP/bytes/10"
	curl -s -o /dev/null --max-time 10 --socks5 127.0.0.1:$p "http://127.0.0.1:$OP/bytes/10"
	curl -s -o /dev/null --max-time 10 --socks4a 127.0.0.1:$p "http://secret-origin.test:$OP/bytes/10"
	curl -s -o /dev/null --max-time 10 -x http://127.0.0.1:$p "http://secret-origin.test:$OP/bytes/10"
	curl -s -o /dev/null --max-time 10 -p -x http://127.0.0.1:$p "http://secret-origin.test:$OP/bytes/10"
	curl -s -o /dev/null --max-time 10 --socks5-hostname 127.0.0.1:$p "http://no-such-secret.test:$OP/"
	curl -s -o /dev/null --max-time 10 -x http://127.0.0.1:$p "http://no-such-secret.test:$OP/"
	curl -s -o /dev/null --max-time 10 --socks5 127.0.0.1:$p "http://127.0.0.1:1/"
}

leaks() { grep -cE "secret-origin|no-such-secret|:$OP\\b|127\\.0\\.0\\.1:1\\b" "$T/$1.log"; }

start_nacre quiet --listen 127.0.0.1:0 --resolver 127.0.0.1:$DNS
drive
check "the resolver was asked (the requests really ran)" grep -q 'secret-origin.test' "$T/dns.log"
expect_eq "default log level: no destination in the log" 0 "$(leaks quiet)"

start_nacre loud -v --listen 127.0.0.1:0 --resolver 127.0.0.1:$DNS
drive
n=$(leaks loud)
check "debug log level: destinations are logged ($n lines)" test "$n" -gt 0

finish
