#!/bin/bash
# Links between relays (protocol/SPEC.md, "Extending over a link"): three
# relays, each its own process, r1 and r2 configured with the next relay's
# key, so each extends every circuit over one link to the next.
#  - many streams through the three hops, one after another and 100 at once,
#    come back whole, and each relay accepted one link and no connection
#    per circuit;
#  - a stream whose reader stops holds its circuit's window on each link and
#    no more: a stream beside it goes on at once;
#  - failures at the exit still come back as the right reply codes;
#  - a next relay that is down: the reply is 0x01 at once, and after it
#    restarts the next stream opens a new link to it;
#  - a relay entry with `links = false` keeps a TCP connection per circuit.
# chain.sh and chainflow.sh run again with links all the way
# (chain-relaylinks.sh, chainflow-relaylinks.sh).
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/integration/lib.sh"

need_python
links_origins

three_relays 7
# Each relay's configuration knows r2 and r3 by their keys.
RELAY_LINKS=1
{ echo 'log_level = "debug";'; relay_conf 1 "$R1" false 127.0.7.2/32; } >"$T/r1.conf"
{ echo 'log_level = "debug";'; relay_conf 2 "$R2" false 127.0.7.3/32; } >"$T/r2.conf"
{ echo 'log_level = "debug";'; relay_conf 3 "$R3" true 127.0.0.1/32; } >"$T/r3.conf"
declare -A RPID
start_relay() {
	start_nacre "r$1" -c "$T/r$1.conf"
	RPID[$1]=$NACRE_PID
}
for r in 1 2 3; do start_relay $r; done

cat >"$T/user.conf" <<EOF
log_level = "debug";
$(three_chain | sed 's/ links = false;//')
listen = ( { address = "127.0.0.1:0"; } );
EOF
start_nacre user -c "$T/user.conf"
P=$NACRE_PORT
USER_PID=$NACRE_PID

mycurl() { timeout 60 curl -sS --max-time 55 "$@"; }
get() { mycurl "$@" | sha256sum | cut -d' ' -f1; }
# links_accepted N / flights_at N: LINK flights relay N took, and first flights.
links_accepted() { grep -c 'became a link' "$T/r$1.log"; }
flights_at() { grep -c 'opening a flight' "$T/r$1.log"; }
# tcp_circuits N: circuits that reached relay N on a connection of their own
# (a flight read from a socket, "relay FD:", that did not open a link).
tcp_circuits() {
	echo $(($(grep -cE 'relay [0-9]+: opening a flight' "$T/r$1.log") - $(links_accepted "$1")))
}

# ---- many streams, one link per pair of nodes
expect_eq "16 MiB down through three relays linked to each other (SOCKS5)" "$BIG_SHA" \
	"$(get --socks5-hostname "127.0.0.1:$P" "http://127.0.0.1:$NG/big")"
expect_eq "16 MiB down through them (HTTP CONNECT)" "$BIG_SHA" \
	"$(get -p -x "127.0.0.1:$P" "http://127.0.0.1:$NG/big")"
for i in $(seq 1 10); do
	get --socks5-hostname "127.0.0.1:$P" "http://127.0.0.1:$NG/1k" >>"$T/seq.sums"
done
expect_eq "10 streams in a row, each whole" "10" "$(grep -c "^$K_SHA$" "$T/seq.sums")"
expect_eq "100 simultaneous tunnels through the three hops each echo their own data" \
	"simultaneous=100/100 echoed=100/100" \
	"$(py tunnels --proxy 127.0.0.1:$P --dest 127.0.0.1:$ECHO --n 100 --size 16384 2>"$T/tunnels.err")"
check "r2 took more than 100 circuits' flights" [ "$(flights_at 2)" -gt 100 ]
# r1 counts the user's link; r2 and r3 the link from the relay before them.
expect_eq "each relay accepted one link, and every flight came in one" "1 1 1" \
	"$(links_accepted 1) $(links_accepted 2) $(links_accepted 3)"
expect_eq "r1 opened one link to r2, r2 one to r3" "1 1" \
	"$(grep -c 'opening to relay r2' "$T/r1.log") $(grep -c 'opening to relay r3' "$T/r2.log")"
expect_eq "no circuit reached r2 or r3 on a connection of its own" "0 0" \
	"$(tcp_circuits 2) $(tcp_circuits 3)"

# ---- a stalled stream does not stall its neighbour
stalled_beside "on the same links" "$P" "$NG" "$BIG_SHA"

# ---- failures at the exit come back as reply codes
CLOSED=$(free_port 127.0.0.1)
expect_eq "SOCKS5 0x05: the destination refuses" "rep=05 close=eof" \
	"$(py socks5 --proxy 127.0.0.1:$P --dest 127.0.0.1:$CLOSED)"
expect_eq "SOCKS5 0x02: the exit's policy refuses" "rep=02 close=eof" \
	"$(py socks5 --proxy 127.0.0.1:$P --dest 10.1.2.3:80)"

# ---- the next relay is down, then back
kill "${RPID[3]}"
wait "${RPID[3]}" 2>/dev/null
cat "$T/r3.log" >>"$T/r3-old.log"
wait_for_line "$T/r2.log" 'link .*: down' 10 || true
START=$(date +%s)
expect_eq "SOCKS5 0x01 when r3 is down" "rep=01 close=eof" \
	"$(py socks5 --proxy 127.0.0.1:$P --dest 127.0.0.1:$ECHO)"
check "... at once, not after a timeout" [ $(($(date +%s) - START)) -le 5 ]
O3=$(grep -c 'opening to relay r3' "$T/r2.log")
start_relay 3
expect_eq "after r3 is back, the next stream works" "$K_SHA" \
	"$(get --socks5-hostname "127.0.0.1:$P" "http://127.0.0.1:$NG/1k")"
check "... over a new link from r2" \
	test "$(links_accepted 3)" = 1 -a "$(grep -c 'opening to relay r3' "$T/r2.log")" -gt "$O3"

# ---- links = false: a connection per circuit
sed -i '/name = "r3"/s/; }$/; links = false; }/' "$T/r2.conf"
grep -q 'links = false' "$T/r2.conf" || hard_error "could not set links = false: $(cat "$T/r2.conf")"
kill -HUP "${RPID[2]}"
wait_for_line "$T/r2.log" 'configuration reloaded' 10 || hard_error "r2 did not reload"
A3=$(tcp_circuits 3)
# A middle keeps the circuits it has across a reload: a new user's nacre
# builds new ones.
kill "$USER_PID"
wait "$USER_PID" 2>/dev/null
start_nacre user -c "$T/user.conf"
P=$NACRE_PORT
expect_eq "with links = false in r2's entry for r3, streams still work" "$K_SHA" \
	"$(get --socks5-hostname "127.0.0.1:$P" "http://127.0.0.1:$NG/1k")"
check "... and reach r3 on a connection of their own" \
	[ "$(tcp_circuits 3)" -gt "$A3" ]

for r in 1 2 3; do check "r$r is still running" kill -0 "${RPID[$r]}"; done
finish
