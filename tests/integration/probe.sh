#!/bin/bash
# Active probing of a relay (protocol/SPEC.md, "Silent failure"): whatever a
# peer that does not know the relay's public key sends (random bytes, a
# truncated flight, a replayed flight, a flight made for another key, a flight
# with one bit flipped, or nothing at all), the relay never writes a byte; it
# reads and discards and closes with a FIN at a deadline in
# [silent_close / 2, silent_close] after the accept. A replay never makes the
# exit connect to its destination, and the relay still serves genuine clients.
#
# Genuine flights come from real nacre clients: one talks to the relay through
# a recording forwarder, two more (the right key, another relay's key) talk to
# recording sinks that never forward, so their flights are fresh. They open a
# connection per circuit (links = false), so each stream's flight is recorded;
# a fourth opens a link through a second forwarder, and its LINK flight is
# replayed too.
TAP_NUMBERS=1
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/integration/lib.sh"

need_python
SC=4           # the relay's silent_close
FLIGHT=3008    # 8 x 376: a SOCKS request's flight carries no early data
rl() { timeout "${PY_TIMEOUT:-60}" "$PYTHON" -S -u "$TESTS_DIR/relaylib.py" "$@"; }

# origin_conns: how many TCP connections the origin has accepted.
origin_conns() { grep -c '^connection from ' "$T/origin.log"; }
# wait_for_file FILE [SECONDS]
wait_for_file() {
	local i=0
	while [ ! -f "$1" ] && [ "$i" -lt $((${2:-10} * 20)) ]; do sleep 0.05; i=$((i + 1)); done
	[ -f "$1" ]
}
size_of() { if [ -f "$1" ]; then wc -c <"$1" | tr -d ' '; else echo none; fi; }

LABEL="probe-$$"
start_helper origin relaylib.py origin --bind 127.0.0.1 --label "$LABEL"
O=$HELPER_PORT

"$NACRE" keygen "$T/relay.key" >"$T/relay.pub" 2>"$T/keygen.log" || hard_error "nacre keygen failed"
"$NACRE" keygen "$T/other.key" >"$T/other.pub" 2>>"$T/keygen.log" || hard_error "nacre keygen failed"
PUB=$(cat "$T/relay.pub")
OTHER=$(cat "$T/other.pub")

cat >"$T/relay.conf" <<EOF
log_level = "debug";
relay = ( { address = "127.0.0.1:0"; key_file = "relay.key"; exit = true;
            silent_close = $SC;
            policy = ( { dest = "127.0.0.0/8"; action = "accept"; } ); } );
EOF
start_nacre relay -c "$T/relay.conf"
R=$NACRE_PORT
RELAY_PID=$NACRE_PID

mkdir "$T/fwd" "$T/sink-good" "$T/sink-other"
start_helper fwd relaylib.py recorder --to 127.0.0.1:$R --dir "$T/fwd"
FWD=$HELPER_PORT
mkdir "$T/fwd-link"
start_helper fwd-link relaylib.py recorder --to 127.0.0.1:$R --dir "$T/fwd-link"
FWD_LINK=$HELPER_PORT
start_helper sink-good relaylib.py recorder --sink --dir "$T/sink-good"
SINK_GOOD=$HELPER_PORT
start_helper sink-other relaylib.py recorder --sink --dir "$T/sink-other"
SINK_OTHER=$HELPER_PORT

# client NAME PORT KEY [LINKS]: a user's nacre whose one-hop chain is
# 127.0.0.1:PORT pinned to KEY, a connection per circuit unless LINKS is true;
# sets NACRE_PORT to its SOCKS/HTTP port.
client() {
	cat >"$T/$1.conf" <<EOF
log_level = "debug";
relays = ( { name = "r1"; address = "127.0.0.1:$2"; key = "$3"; links = ${4:-false}; } );
chains = ( { name = "c1"; hops = [ "r1" ]; } );
route = "c1";
listen = ( { address = "127.0.0.1:0"; } );
EOF
	start_nacre "$1" -c "$T/$1.conf"
}
client client "$FWD" "$PUB"
C=$NACRE_PORT
client client-fresh "$SINK_GOOD" "$PUB"
CF=$NACRE_PORT
client client-other "$SINK_OTHER" "$OTHER"
CO=$NACRE_PORT
client client-link "$FWD_LINK" "$PUB" true
CL=$NACRE_PORT

# ---- genuine flights
expect_eq "a genuine request through the relay (via the recorder) gets the page" \
	"nacre origin $LABEL /first" \
	"$(timeout 20 curl -sS --max-time 15 --socks5-hostname 127.0.0.1:$C "http://127.0.0.1:$O/first")"
expect_eq "the origin saw that one connection" 1 "$(origin_conns)"
expect_eq "a genuine request over a link (via the second recorder) gets the page" \
	"nacre origin $LABEL /link" \
	"$(timeout 20 curl -sS --max-time 15 --socks5-hostname 127.0.0.1:$CL "http://127.0.0.1:$O/link")"
expect_eq "the origin saw that second connection" 2 "$(origin_conns)"
# Two flights that never reach the relay: for the right key, for another key.
timeout 10 curl -s --max-time 8 -o /dev/null --socks5-hostname 127.0.0.1:$CF \
	"http://127.0.0.1:$O/fresh" &
PIDS="$PIDS $!"
timeout 10 curl -s --max-time 8 -o /dev/null --socks5-hostname 127.0.0.1:$CO \
	"http://127.0.0.1:$O/other" &
PIDS="$PIDS $!"
wait_for_file "$T/sink-good/flight.1" 10 && wait_for_file "$T/sink-other/flight.1" 10 ||
	hard_error "the sinks recorded no flight"
# And one with early data: an absolute-form GET travels in the flight.
timeout 10 curl -s --max-time 8 -o /dev/null -x "http://127.0.0.1:$CF" \
	"http://127.0.0.1:$O/early" &
PIDS="$PIDS $!"
wait_for_file "$T/sink-good/flight.2" 10 || hard_error "the sink recorded no second flight"
EARLY="$T/sink-good/flight.2"
USED="$T/fwd/flight.1"
FRESH="$T/sink-good/flight.1"
WRONG="$T/sink-other/flight.1"
expect_eq "recorded flights are $FLIGHT bytes (used, fresh, other key)" \
	"$FLIGHT $FLIGHT $FLIGHT" "$(size_of "$USED") $(size_of "$FRESH") $(size_of "$WRONG")"

# ---- the probes, all at once, each on its own connection to the relay
before_probes=$(origin_conns)
WINDOW=$(awk -v s=$SC 'BEGIN { printf "%g-%g", s / 2 - 0.5, s + 1 }')
rl probe --relay 127.0.0.1:$R --silent-close $SC \
	random2000=random:2000 \
	random100=random:100 \
	nothing=none \
	head200=head:200:"$FRESH" \
	allbutone=head:$(($(size_of "$FRESH") - 1)):"$FRESH" \
	replay=file:"$USED" \
	replay-stream=file:"$T/fwd/stream.1" \
	replay-link=file:"$T/fwd-link/flight.1" \
	otherkey=file:"$WRONG" \
	flip-header=flip:$((100 * 8 + 3)):"$FRESH" \
	flip-blob=flip:-1:"$FRESH" \
	>"$T/probes.out" 2>&1
sed 's/^/# /' "$T/probes.out"
probe() {
	local line
	line=$(grep "^$1 " "$T/probes.out")
	expect_eq "$2: no byte back, closed by FIN after $(kv t "$line") s (window $WINDOW s)" \
		"bytes=0 close=eof window=yes" \
		"bytes=$(kv bytes "$line") close=$(kv close "$line") window=$(kv window "$line")"
}
probe random2000 "2000 random bytes"
probe random100 "100 random bytes, then waiting"
probe nothing "connect and send nothing"
probe head200 "the first 200 bytes of a genuine flight"
probe allbutone "a genuine flight but its last byte"
probe replay "a used genuine flight replayed"
probe replay-stream "everything the client sent (flight and records) replayed"
probe replay-link "a used LINK flight replayed"
probe otherkey "a genuine flight made for another relay's key"
probe flip-header "a fresh genuine flight with one bit of its sealed header flipped"
probe flip-blob "a fresh genuine flight with the last bit of its blob's tag flipped"
expect_eq "no probe made the exit connect to the origin" "$before_probes" "$(origin_conns)"

# ---- the fresh flight itself is genuine (so the probes made of it failed
# only for what was done to them): straight to the relay, it is answered and
# the exit connects to the origin.
# It arrives in slices of 500 bytes, 50 ms apart: the relay opens it (a DH)
# once, when all of it is there, not once per slice.
opened() { grep -c 'opening a flight' "$T/relay.log"; }
o0=$(opened)
line=$(rl probe --relay 127.0.0.1:$R --silent-close 1 --wait 2 --slice 500 fresh=file:"$FRESH" 2>&1)
echo "# $line"
n=$(kv bytes "$line")
check "the untouched fresh flight, sent in 500-byte slices, is answered by the relay ($n bytes)" \
	test "${n:-0}" -gt 0 2>/dev/null
expect_eq "and the exit connected to the origin for it" $((before_probes + 1)) "$(origin_conns)"
expect_eq "the relay opened that flight once, not once per slice" 1 $(($(opened) - o0))
# With early data the flight is longer than the least every flight has: sent
# as 3050 bytes and then 21-byte slices, the relay opens the head once to learn
# how long it is and once more when it is all in, not at every slice between.
o1=$(opened)
line=$(rl probe --relay 127.0.0.1:$R --silent-close 1 --wait 2 --first-slice 3050 --slice 21 early=file:"$EARLY" 2>&1)
echo "# $line"
n=$(kv bytes "$line")
check "a fresh flight with early data ($(size_of "$EARLY") bytes), in slices, is answered ($n bytes)" \
	test "${n:-0}" -gt 0 -a "$(size_of "$EARLY")" -gt "$FLIGHT" 2>/dev/null
expect_eq "the relay opened that flight twice" 2 $(($(opened) - o1))
expect_eq "and the exit connected for it" $((before_probes + 2)) "$(origin_conns)"

# ---- the relay still serves a genuine client after all of this
check "the relay process is still running" kill -0 "$RELAY_PID"
expect_eq "a genuine request after the probes gets the page" \
	"nacre origin $LABEL /after" \
	"$(timeout 20 curl -sS --max-time 15 --socks5-hostname 127.0.0.1:$C "http://127.0.0.1:$O/after")"
expect_eq "the origin accepted exactly the genuine connections (first, link, fresh, early, after)" \
	5 "$(origin_conns)"

# ---- a restart forgets the replay set, but not what it means: a flight
# stamped before the relay started may have been taken by the process before
# it, so it is refused like any replay. The relay comes back on the same port
# (the recorder forwards there); a flight made after the restart is served.
kill "$RELAY_PID"
wait "$RELAY_PID" 2>/dev/null
sed "s/127.0.0.1:0/127.0.0.1:$R/" "$T/relay.conf" >"$T/relay2.conf"
start_nacre relay2 -c "$T/relay2.conf"
rl probe --relay 127.0.0.1:$R --silent-close $SC replay-after-restart=file:"$USED" \
	>"$T/probes2.out" 2>&1
sed 's/^/# /' "$T/probes2.out"
line=$(grep "^replay-after-restart " "$T/probes2.out")
expect_eq "a used flight replayed after the relay restarted: no byte back, FIN in the window" \
	"bytes=0 close=eof window=yes" \
	"bytes=$(kv bytes "$line") close=$(kv close "$line") window=$(kv window "$line")"
expect_eq "and the restarted exit did not connect for it" 5 "$(origin_conns)"
expect_eq "a genuine request after the restart gets the page" \
	"nacre origin $LABEL /restarted" \
	"$(timeout 20 curl -sS --max-time 15 --socks5-hostname 127.0.0.1:$C "http://127.0.0.1:$O/restarted")"

finish
