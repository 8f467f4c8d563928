#!/bin/bash
# Links (protocol/SPEC.md, "Links"): the user's side reaches the first relay
# of its chains over one link that carries every circuit.
#  - sequential and concurrent streams through one and three hops share one
#    TCP connection to the first relay, and come back whole; streams in a
#    row share a kept circuit on it;
#  - a stream whose reader stops holds its circuit's window and no more: a
#    stream beside it on the same link goes on at once;
#  - failures inside the chain still come back as the right reply codes;
#  - the link is opened when the user's side starts, before any stream, and
#    again at once after a reload;
#  - a first relay that restarts: the next stream opens a new link.
# chain.sh and chainflow.sh run again with LINKS=1 (chain-links.sh,
# chainflow-links.sh): every check they make holds over a link too; and with
# RELAY_LINKS=1 as well, the relays linked to each other (chain-relaylinks.sh,
# chainflow-relaylinks.sh).
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/integration/lib.sh"

need_python
links_origins

three_relays 6
cat >"$T/relays.conf" <<EOF
log_level = "debug";
relay = (
	{ address = "$R1"; key_file = "r1.key"; exit = true;
	  policy = ( { dest = "127.0.6.0/24"; action = "accept"; },
	             { dest = "127.0.0.1/32"; action = "accept"; } ); },
	{ address = "$R2"; key_file = "r2.key"; policy = ( { dest = "127.0.6.0/24"; action = "accept"; } ); },
	{ address = "$R3"; key_file = "r3.key"; exit = true;
	  policy = ( { dest = "127.0.0.1/32"; action = "accept"; } ); }
);
listen = ();
EOF
start_nacre relays -c "$T/relays.conf"
RELAYS_PID=$NACRE_PID

# No links setting in the relays' entries: links are the default.
cat >"$T/user.conf" <<EOF
log_level = "debug";
$(relays_block | sed 's/ links = false;//')
chains = ( { name = "one"; hops = [ "r1" ]; }, { name = "three"; hops = [ "r1", "r2", "r3" ]; } );
listen = ( { address = "127.0.0.1:0"; route = "one"; }, { address = "127.0.0.2:0"; route = "three"; } );
EOF
start_nacre user -c "$T/user.conf"
USER_PID=$NACRE_PID
P1=$(sed -nE 's/.*listening on 127\.0\.0\.1:([0-9]+).*/\1/p' "$T/user.log" | head -1)
P3=$(sed -nE 's/.*listening on 127\.0\.0\.2:([0-9]+).*/\1/p' "$T/user.log" | head -1)
[ -n "$P1" ] && [ -n "$P3" ] || hard_error "the user's listeners did not start"

mycurl() { timeout 60 curl -sS --max-time 55 "$@"; }
get() { mycurl "$@" | sha256sum | cut -d' ' -f1; }
links_made() { grep -c 'became a link' "$T/relays.log"; }
flights_at_relay() { grep -c 'opening a flight' "$T/relays.log"; }

# ---- opened ahead: the link is up before any stream asks for it
check "the link to r1 is opened at start and up before any stream" \
	wait_for_line "$T/user.log" 'link .*: up' 10
expect_eq "... one flight at r1, the link's own: no circuit yet" "1 1" \
	"$(links_made) $(flights_at_relay)"

# ---- many streams, one connection
expect_eq "16 MiB through one hop over a link (SOCKS5)" "$BIG_SHA" \
	"$(get --socks5-hostname "127.0.0.1:$P1" "http://127.0.0.1:$NG/big")"
expect_eq "16 MiB through three hops over a link (HTTP CONNECT)" "$BIG_SHA" \
	"$(get -p -x "127.0.0.2:$P3" "http://127.0.0.1:$NG/big")"
F0=$(flights_at_relay)
for i in $(seq 1 10); do
	get --socks5-hostname "127.0.0.1:$P1" "http://127.0.0.1:$NG/1k" >>"$T/seq.sums"
done
expect_eq "10 streams in a row, each whole" "10" "$(grep -c "^$K_SHA$" "$T/seq.sums")"
check "... on a kept circuit: at most one new flight at r1 for the ten" \
	[ $(($(flights_at_relay) - F0)) -le 1 ]
expect_eq "100 simultaneous tunnels through one hop each echo their own data" \
	"simultaneous=100/100 echoed=100/100" \
	"$(py tunnels --proxy 127.0.0.1:$P1 --dest 127.0.0.1:$ECHO --n 100 --size 16384 2>"$T/tunnels.err")"
expect_eq "... and through three hops" "simultaneous=100/100 echoed=100/100" \
	"$(py tunnels --proxy 127.0.0.2:$P3 --dest 127.0.0.1:$ECHO --n 100 --size 16384 2>>"$T/tunnels.err")"
expect_eq "every stream went on one link to r1: one LINK flight" "1" "$(links_made)"
# Three hops: r1 extends to r2 over TCP, as the relays' configuration names
# no next relay's key (relaylinks.sh has relays that do).
check "the user's side opened one connection to r1 for all of them" \
	[ "$(grep -c 'opening to relay r1' "$T/user.log")" -eq 1 ]

# ---- a stalled stream does not stall its neighbour
stalled_beside "on the same link" "$P1" "$NG" "$BIG_SHA"

# ---- failures come back as reply codes
CLOSED=$(free_port 127.0.6.9)
expect_eq "SOCKS5 0x05 over a link: the destination refuses" "rep=05 close=eof" \
	"$(py socks5 --proxy 127.0.0.1:$P1 --dest 127.0.6.9:$CLOSED)"
expect_eq "SOCKS5 0x02 over a link: the exit's policy refuses" "rep=02 close=eof" \
	"$(py socks5 --proxy 127.0.0.1:$P1 --dest 10.1.2.3:80)"
expect_eq "HTTP 403 over a link" "status=403 close=eof" \
	"$(py http --proxy 127.0.0.1:$P1 --request 'GET http://10.1.2.3/ HTTP/1.1\r\nHost: 10.1.2.3\r\n\r\n')"

# ---- the first relay restarts: the next stream opens a new link
kill -KILL "$RELAYS_PID"
wait "$RELAYS_PID" 2>/dev/null
cat "$T/relays.log" >>"$T/relays-old.log"
start_nacre relays -c "$T/relays.conf"
RELAYS_PID=$NACRE_PID
wait_for_line "$T/user.log" 'link .*: down' 10 || true
expect_eq "after r1 restarted, the next stream works" "$K_SHA" \
	"$(get --socks5-hostname "127.0.0.1:$P1" "http://127.0.0.1:$NG/1k")"
expect_eq "... over a new link" "1" "$(links_made)"
check "... the user's side saw the old one go down" grep -q 'link .*: down' "$T/user.log"

# ---- a reload opens the new configuration's link at once; the old one,
# left without a circuit, closes
kill -HUP "$USER_PID"
wait_for_line "$T/user.log" 'configuration reloaded' 10 || hard_error "the user's side did not reload"
for i in $(seq 1 100); do
	[ "$(links_made)" -ge 2 ] && [ "$(grep -c 'link .*: down' "$T/user.log")" -ge 2 ] && break
	sleep 0.05
done
expect_eq "after a reload, a new link to r1 opened ahead of any stream; the old one down" "2 2" \
	"$(links_made) $(grep -c 'link .*: down' "$T/user.log")"
expect_eq "... and the next stream works" "$K_SHA" \
	"$(get --socks5-hostname "127.0.0.1:$P1" "http://127.0.0.1:$NG/1k")"
expect_eq "... on that link" "2" "$(links_made)"

# ---- one process that is its own first relay, as contrib/quickstart.sh runs:
# the flight of the link it opens at start is stamped after its relay began
# (a relay takes no flight from before its first whole second)
S1=127.0.6.8:$(free_port 127.0.6.8)
cat >"$T/self.conf" <<EOF
log_level = "debug";
relays = ( { name = "s1"; address = "$S1"; key = "$(cat "$T/r1.pub")"; } );
chains = ( { name = "s"; hops = [ "s1" ]; } );
route = "s";
listen = ( { address = "127.0.0.1:0"; } );
relay = ( { address = "$S1"; key_file = "r1.key"; exit = true;
	    policy = ( { dest = "127.0.0.1/32"; action = "accept"; } ); } );
EOF
start_nacre self -c "$T/self.conf"
check "a process that is its own first relay: its link opened at start comes up" \
	wait_for_line "$T/self.log" 'link .*: up' 5
expect_eq "... and carries a stream" "$K_SHA" \
	"$(get --socks5-hostname "127.0.0.1:$NACRE_PORT" "http://127.0.0.1:$NG/1k")"

finish
