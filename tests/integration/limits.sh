#!/bin/bash
# Limits and timeouts: limits.per_client and limits.connections turn away the
# connection past the limit at once while the others keep working;
# timeouts.handshake closes a client that never finishes its handshake (but not
# a tunnel); timeouts.idle closes a silent tunnel (but not a busy one); and
# under `ulimit -n 64` nacre turns new clients away when out of descriptors
# (every one of them at once, none left waiting), keeps the existing ones, and
# recovers when some close, or, with not even its reserve descriptor left,
# when descriptors come free some other way.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/integration/lib.sh"

need_python
PY_TIMEOUT=90


start_helper echo errlib.py echo-server
ECHO=127.0.0.1:$HELPER_PORT

# ---- limits.per_client = 3, limits.connections = 6. A long handshake timeout,
# so only the limit can close the extra connection quickly.
cat >"$T/limits.conf" <<EOF
timeouts = { handshake = 30.0; idle = 300.0; };
limits = { connections = 6; per_client = 3; };
listen = ( { address = "127.0.0.1:0"; allow = [ "127.0.0.0/8" ]; } );
EOF
start_nacre limits -c "$T/limits.conf"
r=$(py limits --proxy 127.0.0.1:$NACRE_PORT --dest $ECHO --per-client 3 --connections 6 --wait 5)
echo "# limits: $r"
expect_eq "per_client=3: three tunnels from 127.0.0.1 open" "3/3" "$(kv a_open "$r")"
expect_eq "per_client=3: the 4th connection from 127.0.0.1 is closed at once" "closed" "$(kv a_extra "$r")"
expect_eq "per_client=3: a client from 127.0.0.2 is still served" "ok" "$(kv b_tunnel "$r")"
expect_eq "per_client=3: the three tunnels from 127.0.0.1 still echo" "3/3" "$(kv a_still "$r")"
expect_eq "connections=6: six tunnels from several addresses open" "6/6" "$(kv total_open "$r")"
expect_eq "connections=6: the 7th connection (from 127.0.0.99) is closed at once" "closed" "$(kv global_extra "$r")"
expect_eq "connections=6: all six tunnels still echo" "6/6" "$(kv all_still "$r")"
expect_eq "after one tunnel closes, a new client is served" "ok" "$(kv after_close "$r")"

# ---- timeouts.handshake = 1.0
cat >"$T/handshake.conf" <<EOF
timeouts = { handshake = 1.0; idle = 300.0; };
listen = ( { address = "127.0.0.1:0"; } );
EOF
start_nacre handshake -c "$T/handshake.conf"
PH=127.0.0.1:$NACRE_PORT
expect_eq "handshake timeout closes a client that sends nothing" "close=eof" \
	"$(py idle-close --proxy $PH --wait 8)"
expect_eq "handshake timeout closes a client stuck after one SOCKS5 byte" "close=eof" \
	"$(py idle-close --proxy $PH --send 05 --wait 8)"
expect_eq "handshake timeout closes a client stuck in an HTTP request line" "close=eof" \
	"$(py idle-close --proxy $PH --send "$(printf 'GET http://' | od -An -tx1 | tr -d ' \n')" --wait 8)"
expect_eq "a tunnel quiet for 2 s outlives the 1 s handshake timeout" "active=ok" \
	"$(py active --proxy $PH --dest $ECHO --seconds 3 --interval 2)"

# ---- timeouts.idle = 1.0
cat >"$T/idle.conf" <<EOF
timeouts = { handshake = 10.0; idle = 1.0; };
listen = ( { address = "127.0.0.1:0"; } );
EOF
start_nacre idle -c "$T/idle.conf"
PI=127.0.0.1:$NACRE_PORT
expect_eq "idle timeout closes a silent tunnel" "close=eof" \
	"$(py idle-close --proxy $PI --dest $ECHO --wait 8)"
expect_eq "a tunnel with traffic every 0.25 s stays open for 3 s (idle = 1 s)" "active=ok" \
	"$(py active --proxy $PI --dest $ECHO --seconds 3 --interval 0.25)"

# ---- descriptor exhaustion under ulimit -n 64
printf '#!/bin/bash\nulimit -n 64 || exit 1\nexec "%s" "$@"\n' "$NACRE" >"$T/nacre-64"
chmod +x "$T/nacre-64"
NACRE="$T/nacre-64" start_nacre fd --listen 127.0.0.1:0
PF=127.0.0.1:$NACRE_PORT
check "nacre runs with a 64-descriptor limit" \
	grep -q '^Max open files *64 ' "/proc/$NACRE_PID/limits"
r=$(py fdfill --proxy $PF --dest $ECHO --max 100 --step 3 | tr '\n' ' ')
echo "# fdfill: $r"
opened=$(kv opened "$r")
check "some tunnels open before descriptors run out (opened=$opened)" test "${opened:-0}" -ge 5 2>/dev/null
expect_eq "when descriptors run out, a new client is turned away (how=$(kv how "$r"))" "yes" "$(kv refused "$r")"
expect_eq "the tunnels opened before still echo" "$opened/$opened" "$(kv existing "$r")"
expect_eq "out of descriptors, each later client is closed at once too" "5/5" "$(kv later "$r")"
expect_eq "after half of them close, a new client is served" "ok" "$(kv after_free "$r")"
expect_eq "the remaining tunnels still echo" "$((opened - opened / 2))/$((opened - opened / 2))" "$(kv remaining "$r")"
check "nacre is still running after running out of descriptors" kill -0 "$NACRE_PID"
expect_eq "nacre still serves a fresh tunnel" "rep=00 echo=ok" \
	"$(py socks5 --proxy $PF --dest $ECHO --echo)"

# ---- not even the reserve descriptor: with the soft limit lowered under the
# descriptors nacre holds, giving up the reserve does not make room either, so
# the first client pauses the listener. When descriptors come free without a
# client closing (here the limit is raised again from outside), the listener
# must resume by itself.
start_nacre low --listen 127.0.0.1:0
PL=127.0.0.1:$NACRE_PORT
read -r soft hard < <(prlimit --pid "$NACRE_PID" --nofile --output SOFT,HARD --noheadings 2>/dev/null)
if [ -n "${hard:-}" ] && prlimit --pid "$NACRE_PID" --nofile="3:$hard"; then
	py socks5 --proxy $PL --dest $ECHO --echo >"$T/low.out" 2>&1 &
	pyp=$!
	check "with no descriptor left, a client finds nacre out of them" \
		wait_for_line "$T/low.log" 'out of file descriptors' 5
	prlimit --pid "$NACRE_PID" --nofile="$soft:$hard"
	wait "$pyp"
	expect_eq "once descriptors come free, the paused listener serves that client" \
		"rep=00 echo=ok" "$(cat "$T/low.out")"
else
	echo "# skipped: cannot change a running process's descriptor limit here"
fi

finish
