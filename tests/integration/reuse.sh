#!/bin/bash
# Circuits kept between streams (protocol/SPEC.md, "Reused circuits"): a
# stream that ends cleanly leaves its circuit to the next stream of the same
# listener, client address and user, which then costs one BEGIN record and no
# handshake. Checked with curl and small Python clients through three relays:
# the data, the count of handshakes the relays did, isolation, failures on a
# kept circuit, a circuit its exit closed, and the switch that turns it off.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/integration/lib.sh"

need_python
PY_TIMEOUT=60
mkdir -p "$T/www"
head -c $((4 * 1024 * 1024)) /dev/urandom >"$T/www/big"
BIG_SHA=$(sha256_of "$T/www/big")
start_nginx
NG=$NGINX_PORT
start_origin origin http
O=$ORIGIN_PORT
start_origin halfclose-origin halfclose
HC=$ORIGIN_PORT

three_relays 5
# The exit's resolver answers after 1.5 s: time for a reload mid-lookup.
start_helper slow-dns dnsd.py --delay 1.5 slow.test=127.0.0.1
SLOWDNS=$HELPER_PORT
# relays_conf IDLE [ACTION [EXIT]]: the relays' idle timeout; what the exit's
# policy does with 127.0.0.1 (accept), and whether r3 is an exit (true).
relays_conf() {
	cat <<EOF
log_level = "debug";
timeouts = { idle = $1; };
resolver = { servers = [ "127.0.0.1:$SLOWDNS" ]; };
relay = (
	{ address = "$R1"; key_file = "r1.key"; policy = ( { dest = "127.0.5.0/24"; action = "accept"; } ); },
	{ address = "$R2"; key_file = "r2.key"; policy = ( { dest = "127.0.5.0/24"; action = "accept"; } ); },
	{ address = "$R3"; key_file = "r3.key"; exit = ${3:-true};
	  policy = ( { dest = "127.0.0.1/32"; action = "${2:-accept}"; } ); }
);
listen = ();
EOF
}
relays_conf 300 >"$T/relays.conf"
start_nacre relays -c "$T/relays.conf"
RELAYS_PID=$NACRE_PID

printf 'alice:wonderland\nbob:builder\n' >"$T/users"
chmod 600 "$T/users"
user_conf() { # REUSE
	cat <<EOF
log_level = "debug";
reuse_circuits = $1;
$(three_chain)
listen = (
	{ address = "127.0.0.1:0"; },
	{ address = "127.0.0.1:0"; protocols = [ "socks5" ]; users = "$T/users"; }
);
EOF
}
user_conf true >"$T/user.conf"
start_nacre user -c "$T/user.conf"
P=$NACRE_PORT
PA=$(sed -nE 's/.*listening on (\[[^]]*\]|[^ ]*):([0-9]+).*/\2/p' "$T/user.log" | sed -n 2p)

# Handshakes the relays have done (one line per relay per circuit) and
# streams an exit took on a kept circuit.
# Circuits' handshakes at the relays: a link's own (LINKS=1) is not a circuit's.
flights() {
	echo $(($(grep -c 'records under' "$T/relays.log") - $(grep -c 'became a link' "$T/relays.log")))
}
reused() { grep -c 'a new stream on a reused circuit' "$T/relays.log"; }
mycurl() { timeout 30 curl -sS --max-time 25 "$@"; }
get() { mycurl "$@" "http://127.0.0.1:$NG/big" | sha256sum | cut -d' ' -f1; }

# ---- one circuit, many streams
F0=$(flights)
for i in 1 2 3 4 5; do
	expect_eq "stream $i of 5 in a row gets all its data (SOCKS5)" "$BIG_SHA" \
		"$(get --socks5 "127.0.0.1:$P")"
done
expect_eq "five streams in a row: one circuit (3 handshakes), four reuses" "3 4" \
	"$(($(flights) - F0)) $(reused)"
expect_eq "HTTP CONNECT and absolute-form GET share that circuit" "$BIG_SHA $BIG_SHA" \
	"$(get -p -x "127.0.0.1:$P") $(get -x "127.0.0.1:$P")"
expect_eq "... still no new handshake" "3" "$(($(flights) - F0))"
# An absolute-form GET keeps the origin's connection for its own keep-alive
# and ends the circuit with the client: the next stream builds one.
F0=$(flights)
expect_eq "an upload on a kept circuit arrives whole" "$BIG_SHA" \
	"$(mycurl -X POST -H 'Expect:' -T "$T/www/big" --socks5 "127.0.0.1:$P" \
		"http://127.0.0.1:$O/sha256")"

# Half-close both ways on a kept circuit: END ends the stream, not the circuit.
WANT="got 1048579 bytes sha256=$(origin_sha256 1048579)"
for i in 1 2; do
	expect_eq "client FIN on a kept circuit (round $i); the reply still arrives" "$WANT" \
		"$(client_fin socks5 "$P" "$HC")"
done
expect_eq "upload and half-closed streams: one new circuit for the three" "3" \
	"$(($(flights) - F0))"

# ---- isolation: another client address, another user: another circuit
F0=$(flights)
expect_eq "from another client address" "rep=00" \
	"$(py socks5 --proxy 127.0.0.1:$P --src 127.0.0.9 --dest 127.0.0.1:$NG --wait 0.5 | cut -d' ' -f1)"
expect_eq "a new client address takes a circuit of its own" "3" "$(($(flights) - F0))"
# by_label WHAT CURL-OPTION PORT LABEL...: one GET per label (user:password),
# each checked whole.
by_label() {
	local what=$1 opt=$2 port=$3 l
	shift 3
	for l; do
		expect_eq "$what ${l%%:*} gets all the data" "$BIG_SHA" \
			"$(get "$opt" "127.0.0.1:$port" --proxy-user "$l")"
	done
}
F0=$(flights)
by_label "SOCKS5 user" --socks5 "$PA" alice:wonderland bob:builder alice:wonderland bob:builder
expect_eq "two users, two streams each: two circuits" "6" "$(($(flights) - F0))"
# Without a users file, credentials are only a label (Tor's IsolateSOCKSAuth,
# as Tor Browser and torsocks --isolate use it): any are taken, and streams
# with different ones never share a circuit.
F0=$(flights)
by_label "without a users file, SOCKS5 label" --socks5 "$P" site1:x site2:x site1:x site2:x
expect_eq "two labels, two streams each: two circuits" "6" "$(($(flights) - F0))"
F0=$(flights)
by_label "SOCKS4a user id" --socks4a "$P" app1: app2: app1:
expect_eq "two SOCKS4 user ids: two circuits" "6" "$(($(flights) - F0))"

# ---- a failure on a kept circuit is reported as usual; the next stream works
CLOSED=$(free_port 127.0.0.1)
get --socks5 "127.0.0.1:$P" >/dev/null
F0=$(flights)
expect_eq "SOCKS5 0x05 through a kept circuit: the destination refuses" "rep=05 close=eof" \
	"$(py socks5 --proxy 127.0.0.1:$P --dest 127.0.0.1:$CLOSED)"
expect_eq "... on that circuit, without a handshake" "0" "$(($(flights) - F0))"
expect_eq "the next stream still works" "$BIG_SHA" "$(get --socks5 "127.0.0.1:$P")"

# ---- 20 streams at once, then 20 again: circuits are reused, never shared
F0=$(flights)
batch() {
	local i pids=""
	for i in $(seq 1 20); do
		get --socks5 "127.0.0.1:$P" >"$T/batch.$i" &
		pids="$pids $!"
	done
	wait $pids
	cat "$T"/batch.* | sort | uniq -c | awk '{print $1}'
	rm -f "$T"/batch.*
}
expect_eq "20 streams at once all get their data" "20" "$(batch)"
N1=$(($(flights) - F0))
expect_eq "20 more at once all get their data" "20" "$(batch)"
N2=$(($(flights) - F0 - N1))
check "the second batch needs fewer handshakes than the first ($N2 < $N1)" [ "$N2" -lt "$N1" ]

# ---- a reload on the relays: a kept circuit does not outlive the config
# it was accepted under (SPEC.md, "Reused circuits": a BEGIN is checked as a
# first flight is). The exit closes its kept circuits between streams at once
# and the one in a stream when that stream ends; the user's side then builds
# a new circuit, judged by the new config.
reload_relays() { # ARGS for relays_conf
	local n i=0
	n=$(grep -c 'info: configuration reloaded' "$T/relays.log")
	relays_conf "$@" >"$T/relays.conf"
	kill -HUP "$RELAYS_PID"
	while [ "$(grep -c 'info: configuration reloaded' "$T/relays.log")" -le "$n" ]; do
		i=$((i + 1))
		[ "$i" -gt 200 ] && hard_error "the relays did not reload"
		sleep 0.05
	done
}
at_reload() { grep -c 'closed: configuration reloaded' "$T/relays.log"; }
stream_end() { grep -c 'closed: stream over, configuration reloaded' "$T/relays.log"; }
ask() { py socks5 --proxy "127.0.0.1:$P" --dest "127.0.0.1:$NG" --wait 1 | cut -d' ' -f1; }

# A reload that changes nothing the stream needs: a stream under way on a
# kept circuit (the origin answers after 1.5 s) goes on to its end.
get --socks5 "127.0.0.1:$P" >/dev/null
R0=$(reused) S0=$(stream_end)
mycurl --socks5 "127.0.0.1:$P" "http://127.0.0.1:$O/delay/1500" >"$T/late.out" &
LATE=$!
for i in $(seq 1 100); do [ "$(reused)" -gt "$R0" ] && break; sleep 0.05; done
reload_relays 300
wait "$LATE"
expect_eq "a reload under a stream on a kept circuit: the stream gets its answer" \
	"late" "$(cat "$T/late.out")"
# The exit sees the stream end a moment after the application has its data.
for i in $(seq 1 100); do [ "$(stream_end)" -gt "$S0" ] && break; sleep 0.05; done
expect_eq "... and the exit closes that circuit when the stream ends" "$((S0 + 1))" \
	"$(stream_end)"
F0=$(flights)
expect_eq "the next stream gets its data, on a new circuit" "$BIG_SHA 3" \
	"$(get --socks5 "127.0.0.1:$P") $(($(flights) - F0))"

# The exit now refuses the destination: a kept circuit must not carry it there.
get --socks5 "127.0.0.1:$P" >/dev/null
R0=$(reused) A0=$(at_reload)
reload_relays 300 reject
expect_eq "after a reload that rejects the destination, SOCKS5 0x02" "rep=02" "$(ask)"
expect_eq "... and no stream went on a kept circuit" "$R0" "$(reused)"
check "... which the exit closed at the reload" [ "$(at_reload)" -gt "$A0" ]
# The same when the exit stops being one.
reload_relays 300
expect_eq "an exit again: the destination is reached" "$BIG_SHA" "$(get --socks5 "127.0.0.1:$P")"
R0=$(reused)
reload_relays 300 accept false
expect_eq "after a reload with exit = false, SOCKS5 0x02" "rep=02" "$(ask)"
expect_eq "... and no stream went on a kept circuit" "$R0" "$(reused)"
reload_relays 300
expect_eq "an exit once more: the destination is reached" "$BIG_SHA" \
	"$(get --socks5 "127.0.0.1:$P")"

# A stream the exit is still looking up or connecting at a reload is not yet
# connected: the address it connects to must meet the new policy, not the
# one the stream came under. Each SOCKS5 client waits up to 20 s for its
# reply; the exit's connect timeout is 10 s.
ask_bg() { # DEST OUT
	py socks5 --proxy "127.0.0.1:$P" --dest "$1" --wait 1 --reply-wait 20 |
		cut -d' ' -f1 >"$2" &
	ASK_PID=$!
}
queries() { grep -c '^query slow\.test ' "$T/slow-dns.log"; }
Q0=$(queries)
ask_bg "slow.test:$NG" "$T/slow.out"
for i in $(seq 1 200); do [ "$(queries)" -gt "$Q0" ] && break; sleep 0.05; done
[ "$(queries)" -gt "$Q0" ] || hard_error "the exit did not look slow.test up"
reload_relays 300 reject
wait "$ASK_PID"
expect_eq "a reload while the exit looks the name up: its address meets the new policy, 0x02" \
	"rep=02" "$(cat "$T/slow.out")"
reload_relays 300
# A listener that never accepts, its queue full: a connect to it hangs.
start_inline stuck '
import socket, time
ls = socket.socket()
ls.bind(("127.0.0.1", 0))
ls.listen(0)
held = socket.create_connection(ls.getsockname())  # the one the queue holds
print("listening on 127.0.0.1:%d" % ls.getsockname()[1], flush=True)
time.sleep(60)
'
STUCK=$HELPER_PORT
syn_sent() { ss -Htn state syn-sent "( dport = :$STUCK )" | wc -l; }
ask_bg "127.0.0.1:$STUCK" "$T/stuck.out"
for i in $(seq 1 200); do [ "$(syn_sent)" -gt 0 ] && break; sleep 0.05; done
[ "$(syn_sent)" -gt 0 ] || hard_error "the exit is not connecting to the stuck listener"
reload_relays 300 reject
wait "$ASK_PID"
expect_eq "a reload while the exit connects: the connect is dropped, 0x02 (not 0x06 later)" \
	"rep=02" "$(cat "$T/stuck.out")"
reload_relays 300
expect_eq "an exit that accepts again: the destination is reached" "$BIG_SHA" \
	"$(get --socks5 "127.0.0.1:$P")"

# ---- an exit that closes an idle circuit: the user's side lets it go
restart_relays() { # IDLE
	kill -KILL "$RELAYS_PID"
	wait "$RELAYS_PID" 2>/dev/null
	relays_conf "$1" >"$T/relays.conf"
	cat "$T/relays.log" >>"$T/relays-old.log"
	start_nacre relays -c "$T/relays.conf"
	RELAYS_PID=$NACRE_PID
}
let_go() { grep -c 'a kept circuit was closed by its relay' "$T/user.log"; }
tried() { grep -c 'kept circuit gone' "$T/user.log"; }
L0=$(let_go) G0=$(tried)
restart_relays 1
expect_eq "a kept circuit whose relays died: the next stream builds a new one" "$BIG_SHA 3" \
	"$(get --socks5 "127.0.0.1:$P") $(flights)"
check "... as the pool let the circuit go when its relay closed it" [ "$(let_go)" -gt "$L0" ]
expect_eq "... so that no stream tried it" "$G0" "$(tried)"
sleep 2.5 # the relays' idle timeout is 1 s: the exit closes the kept circuit
expect_eq "after the exit's idle timeout, the next stream builds a new circuit" "$BIG_SHA 6" \
	"$(get --socks5 "127.0.0.1:$P") $(flights)"
check "... which the exit had closed as idle" grep -q 'closed: idle between streams' "$T/relays.log"

# ---- a kept circuit that dies as a stream starts on it: rebuilt, not failed
# The user's side reaches r1 through a forwarder that resets the connection
# carrying the first bytes sent after "$T/cut" appears: the kept circuit,
# once a BEGIN is on it.
mkdir -p "$T/cutter"
start_helper cutter relaylib.py recorder --to "$R1" --cut "$T/cut" --dir "$T/cutter"
(R1=127.0.0.1:$HELPER_PORT && user_conf true) >"$T/user3.conf"
start_nacre user3 -c "$T/user3.conf"
P3=$NACRE_PORT
gone() { grep -c 'kept circuit gone, building a new one' "$T/user3.log"; }
get --socks5 "127.0.0.1:$P3" >/dev/null
F0=$(flights)
touch "$T/cut"
expect_eq "a kept circuit cut under a SOCKS5 stream: the stream gets its data" "$BIG_SHA 1" \
	"$(get --socks5 "127.0.0.1:$P3") $(gone)"
expect_eq "... on a new circuit" "3" "$(($(flights) - F0))"
touch "$T/cut"
expect_eq "the same with an absolute-form GET: its request goes in the new flight" "$BIG_SHA 2" \
	"$(get -x "127.0.0.1:$P3") $(gone)"
check "... both times the forwarder cut the kept circuit" \
	[ "$(grep -c ': cut' "$T/cutter.log")" = 2 ]

# ---- reuse_circuits = false: one circuit per stream
user_conf false >"$T/user2.conf"
start_nacre user2 -c "$T/user2.conf"
P2=$NACRE_PORT
F0=$(flights)
get --socks5 "127.0.0.1:$P2" >/dev/null
get --socks5 "127.0.0.1:$P2" >/dev/null
expect_eq "reuse_circuits = false: two streams, two circuits" "6" "$(($(flights) - F0))"

# ---- a reload drops the spare connections opened ahead to a first relay:
# one the new config no longer uses is not dialled again.
"$NACRE" keygen "$T/x.key" >"$T/x.pub" 2>/dev/null || hard_error "keygen x"
X=127.0.5.9:$(free_port 127.0.5.9)
printf '%s\n' "listen = ();" \
	"relay = ( { address = \"$X\"; key_file = \"x.key\"; exit = true;" \
	"  policy = ( { dest = \"127.0.0.1/32\"; action = \"accept\"; } ); } );" >"$T/x.conf"
start_nacre x -c "$T/x.conf"
user4_conf() { # HOPS
	printf '%s\n' 'log_level = "debug";' "relays = (" \
		"{ name = \"x\"; address = \"$X\"; key = \"$(cat "$T/x.pub")\"; }," \
		"{ name = \"r1\"; address = \"$R1\"; key = \"$(cat "$T/r1.pub")\"; }," \
		"{ name = \"r2\"; address = \"$R2\"; key = \"$(cat "$T/r2.pub")\"; }," \
		"{ name = \"r3\"; address = \"$R3\"; key = \"$(cat "$T/r3.pub")\"; } );" \
		"chains = ( { name = \"c\"; hops = [ $1 ]; } );" 'route = "c";' \
		'listen = ( { address = "127.0.0.1:0"; } );'
}
user4_conf '"x"' >"$T/user4.conf"
start_nacre user4 -c "$T/user4.conf"
P4=$NACRE_PORT
USER4_PID=$NACRE_PID
to_x() { ss -Htn state established state syn-sent "( dport = :${X##*:} )" | wc -l; }
expect_eq "a stream through x" "$BIG_SHA" "$(get --socks5 "127.0.0.1:$P4")"
check "... leaves connections to x: a kept circuit, a spare ($(to_x))" [ "$(to_x)" -gt 0 ]
user4_conf '"r1", "r2", "r3"' >"$T/user4.conf"
kill -HUP "$USER4_PID"
wait_for_line "$T/user4.log" 'configuration reloaded' 10 || hard_error "user4 did not reload"
sleep 2 # past a spare's 1.5 s: one still wanted would have been opened again
expect_eq "after a reload to a chain without x, no connection to x is left or opened" "0" \
	"$(to_x)"
F0=$(flights)
S=$(get --socks5 "127.0.0.1:$P4")
expect_eq "... and the next stream goes through the new chain (3 handshakes)" "$BIG_SHA 3" \
	"$S $(($(flights) - F0))"

finish
