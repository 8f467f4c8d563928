#!/bin/bash
# Signals. SIGHUP reloads the config: a listener is added (then removed), the
# users file is re-read, a live tunnel keeps echoing through every reload, the
# reload is logged, and a config with an error is rejected (logged, old config
# kept). SIGTERM: the listeners close at once, a live tunnel keeps working
# while draining, and the daemon exits 0 when the tunnel closes or when
# timeouts.drain runs out. A reload naming another DNS server lets a lookup
# in flight finish, and a failed one keeps the running server. A relay with
# silent_close stopping with only failed flights (bad records held before
# closing) exits at once, and each such link ends with a FIN. A SIGHUP sent
# while nacre is still starting is a reload once it is ready.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/integration/lib.sh"

need_python

# start_hold NAME ARGS...: a long-lived SOCKS5 tunnel (errlib.py hold) that
# reads commands (echo, "eof SECONDS", close) from the fifo $T/NAME.in, open
# here on descriptor HOLD_FD, and answers in $T/NAME.log.
start_hold() {
	local name=$1; shift
	mkfifo "$T/$name.in"
	"$PYTHON" -S -u "$ERRLIB" hold "$@" <"$T/$name.in" >"$T/$name.log" 2>&1 &
	PIDS="$PIDS $!"
	exec {HOLD_FD}>"$T/$name.in"
	wait_for_line "$T/$name.log" '^tunnel (up|fail)' 10 || hard_error "hold $name did not start"
}
# hold_cmd FD CMD: sends CMD to a holder; a subshell, so that if the holder
# has died the SIGPIPE ends only the subshell.
hold_cmd() { (echo "$2" >&"$1") 2>/dev/null; }
# hold_echo NAME FD N: asks for the N-th echo; true if it came back intact.
hold_echo() {
	hold_cmd "$2" echo
	wait_for_line "$T/$1.log" "^echo-[a-z]+ $3( |\$)" 10 && grep -qx "echo-ok $3" "$T/$1.log"
}

# log_after NAME LINE REGEX [SECONDS]: waits for REGEX in $T/NAME.log past line LINE.
log_after() {
	local i=0
	while [ "$i" -lt $((${4:-10} * 20)) ]; do
		tail -n +$(($2 + 1)) "$T/$1.log" | grep -qE "$3" && return 0
		sleep 0.05
		i=$((i + 1))
	done
	return 1
}

# exited_within PID SECONDS: true once PID has gone (bounded poll).
exited_within() {
	local i=0
	while kill -0 "$1" 2>/dev/null; do
		i=$((i + 1))
		[ "$i" -gt $(($2 * 10)) ] && return 1
		sleep 0.1
	done
	return 0
}

start_helper echo errlib.py echo-server
ECHO=127.0.0.1:$HELPER_PORT

# The reload listeners use an address of their own, where no other test's
# outgoing connections take ports, so the ports picked here stay free.
L=127.0.2.1
P1=$(free_port $L)
P2=$(free_port $L)
while [ "$P2" = "$P1" ]; do P2=$(free_port $L); done
CONF="$T/nacre.conf"
printf 'alice:apples\n' >"$T/users"
chmod 600 "$T/users"

# write_conf PORT... : a config with one listener per port, all using $T/users.
write_conf() {
	{
		echo 'log_level = "info";'
		echo 'timeouts = { handshake = 10.0; connect = 5.0; idle = 300.0; drain = 20.0; };'
		echo 'listen = ('
		local sep=""
		for p in "$@"; do
			printf '%s\t{ address = "%s:%s"; users = "%s"; }\n' "$sep" "$L" "$p" "$T/users"
			sep=","
		done
		echo ');'
	} >"$CONF.new"
	mv "$CONF.new" "$CONF"
}

# ================================================================ SIGHUP
write_conf "$P1"
start_nacre nacre -c "$CONF"
NPID=$NACRE_PID
expect_eq "started on the configured port" "$P1" "$NACRE_PORT"

start_hold tun --proxy $L:$P1 --dest $ECHO --auth alice:apples
TUN=$HOLD_FD
check "long-lived tunnel (alice) is up" grep -qx "tunnel up" "$T/tun.log"
check "long-lived tunnel echoes before any reload" hold_echo tun $TUN 1
expect_eq "second port is not listening yet" "new=refused" "$(py refused --host $L --port "$P2" --wait 1)"

# Reload 1: add a listener on P2, and alice is replaced by bob in the users file.
printf 'bob:bananas\n' >"$T/users"
write_conf "$P1" "$P2"
before=$(wc -l <"$T/nacre.log")
kill -HUP "$NPID"
check "reload is logged" log_after nacre "$before" '[Rr]eload' 10
check "the new listener is logged" log_after nacre "$before" "listening on 127\\.0\\.2\\.1:$P2" 10
expect_eq "new listener on P2 serves bob" "rep=00 echo=ok" \
	"$(py socks5 --proxy $L:$P2 --dest $ECHO --auth bob:bananas --echo)"
expect_eq "old listener on P1 serves bob (users file re-read)" "rep=00 echo=ok" \
	"$(py socks5 --proxy $L:$P1 --dest $ECHO --auth bob:bananas --echo)"
res=$(py socks5 --proxy $L:$P1 --dest $ECHO --auth alice:apples --echo)
check "alice, no longer in the users file, is refused at authentication on P1 ($res)" \
	test "${res#greeting=}" != "$res"
check "the tunnel opened before the reload still echoes" hold_echo tun $TUN 2
check "nacre still runs after the reload" kill -0 "$NPID"

# Reload 2: a config with a syntax error on line 3 is rejected; all stays as it was.
printf 'log_level = "info";\nlisten = (\n\t{ address = "%s:%s" users = ; }\n);\n' "$L" "$P1" >"$CONF"
before=$(wc -l <"$T/nacre.log")
kill -HUP "$NPID"
check "the bad config's error is logged with file and line" \
	log_after nacre "$before" "$(printf '%s' "$CONF" | sed 's/[.]/\\./g'):3:" 10
check "nacre still runs after the rejected reload" kill -0 "$NPID"
expect_eq "after the rejected reload, P2 still serves bob" "rep=00 echo=ok" \
	"$(py socks5 --proxy $L:$P2 --dest $ECHO --auth bob:bananas --echo)"
expect_eq "after the rejected reload, P1 still serves bob" "rep=00 echo=ok" \
	"$(py socks5 --proxy $L:$P1 --dest $ECHO --auth bob:bananas --echo)"
check "the tunnel still echoes after the rejected reload" hold_echo tun $TUN 3

# Reload 3: P2 is removed again.
write_conf "$P1"
before=$(wc -l <"$T/nacre.log")
kill -HUP "$NPID"
check "third reload is logged" log_after nacre "$before" '[Rr]eload' 10
expect_eq "a listener removed from the config stops listening" "new=refused" \
	"$(py refused --host $L --port "$P2" --wait 5)"
expect_eq "P1 still serves bob" "rep=00 echo=ok" \
	"$(py socks5 --proxy $L:$P1 --dest $ECHO --auth bob:bananas --echo)"
check "the tunnel still echoes after the listener was removed" hold_echo tun $TUN 4

# ================================================================ SIGTERM
# Drain ends when the last tunnel closes (timeouts.drain is 20 s here).
kill -TERM "$NPID"
expect_eq "after SIGTERM new connections are refused" "new=refused" \
	"$(py refused --host $L --port "$P1" --wait 5)"
check "during the drain the live tunnel still echoes" hold_echo tun $TUN 5
check "nacre is still draining while the tunnel is open" kill -0 "$NPID"
hold_cmd $TUN close
check "nacre exits once the last tunnel has closed" exited_within "$NPID" 10
wait "$NPID"
expect_eq "exit status after a drained SIGTERM" 0 "$?"

# Drain ends at timeouts.drain = 3 s with the tunnel still open.
cat >"$T/drain.conf" <<EOF
timeouts = { drain = 3.0; };
listen = ( { address = "127.0.0.1:0"; } );
EOF
start_nacre nacre2 -c "$T/drain.conf"
NPID=$NACRE_PID
PD=$NACRE_PORT
start_hold tun2 --proxy 127.0.0.1:$PD --dest $ECHO
TUN2=$HOLD_FD
check "second daemon: tunnel echoes" hold_echo tun2 $TUN2 1
kill -TERM "$NPID"
expect_eq "second daemon: after SIGTERM new connections are refused" "new=refused" \
	"$(py refused --port "$PD" --wait 5)"
check "second daemon: the tunnel echoes during the drain" hold_echo tun2 $TUN2 2
check "second daemon: exits after the drain timeout with the tunnel still open" \
	exited_within "$NPID" 15
wait "$NPID"
expect_eq "second daemon: exit status after the drain timeout" 0 "$?"
hold_cmd $TUN2 "eof 5"
wait_for_line "$T/tun2.log" '^close-' 10
expect_eq "second daemon: the tunnel was closed when the drain ended" "close-eof" \
	"$(grep '^close-' "$T/tun2.log")"

# An HTTP client between requests carries nothing: SIGTERM closes it at once,
# so the drain (20 s here) does not wait for it.
start_origin web http
cat >"$T/drain3.conf" <<EOF
timeouts = { drain = 20.0; };
listen = ( { address = "127.0.0.1:0"; protocols = [ "http" ]; } );
EOF
start_nacre nacre3 -c "$T/drain3.conf"
NPID=$NACRE_PID
run_py 30 - "$NACRE_PORT" "$ORIGIN_PORT" >"$T/keepalive.out" 2>&1 <<'PY' &
import socket, sys, time
p, o = int(sys.argv[1]), int(sys.argv[2])
s = socket.create_connection(("127.0.0.1", p), timeout=25)
s.sendall(b"GET http://127.0.0.1:%d/ HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % (o, o))
got = b""
while b"\r\n\r\n" not in got:
    got += s.recv(65536)
head, _, body = got.partition(b"\r\n\r\n")
n = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")][0])
while len(body) < n:
    body += s.recv(65536)
print("answered", flush=True)
t = time.monotonic()
rest = s.recv(65536)
print("eof" if rest == b"" else "more", "%.1f" % (time.monotonic() - t), flush=True)
PY
KA=$!
PIDS="$PIDS $KA"
wait_for_line "$T/keepalive.out" '^answered' 20 || hard_error "no answer to the keep-alive client"
# A second kept-alive client whose answer is complete at nacre but not yet
# read (a small receive buffer, and it waits): it is not idle, and the drain
# must not cut what is still to be sent.
run_py 30 - "$NACRE_PORT" "$ORIGIN_PORT" >"$T/unread.out" 2>&1 <<'PY' &
import socket, sys, time
p, o = int(sys.argv[1]), int(sys.argv[2])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.settimeout(25)
s.connect(("127.0.0.1", p))
s.sendall(b"GET http://127.0.0.1:%d/bytes/40000 HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % (o, o))
print("sent", flush=True)
time.sleep(2)
got = b""
while b"\r\n\r\n" not in got:
    got += s.recv(65536)
head, _, body = got.partition(b"\r\n\r\n")
while len(body) < 40000:
    data = s.recv(65536)
    if not data:
        break
    body += data
print("body", len(body), flush=True)
PY
UNREAD=$!
PIDS="$PIDS $UNREAD"
wait_for_line "$T/unread.out" '^sent' 20 || hard_error "the unread client did not start"
sleep 0.5
kill -TERM "$NPID"
wait "$UNREAD"
expect_eq "the drain sent all of an answer not yet read (40000 bytes)" "body 40000" \
	"$(grep '^body' "$T/unread.out")"
check "third daemon: exits at once once no client carries anything" \
	exited_within "$NPID" 5
wait "$NPID"
expect_eq "third daemon: exit status" 0 "$?"
wait "$KA"
expect_eq "the keep-alive client saw its connection end (FIN)" eof \
	"$(sed -n 's/^\(eof\|more\) .*/\1/p' "$T/keepalive.out")"

# ================================================================ SIGHUP and DNS
# A reload that names another DNS server: a lookup in flight finishes on the
# server it was sent to (dns-old answers a second late), new lookups go to the
# new server, and a reload that fails leaves the running server in use.
start_helper dns-old dnsd.py --delay 1 slow.test=127.0.0.1
DNS_OLD=$HELPER_PORT
start_helper dns-new dnsd.py new.test=127.0.0.1 new2.test=127.0.0.1
DNS_NEW=$HELPER_PORT
start_helper dns-next dnsd.py --count-file "$T/dns-next.count"
DNS_NEXT=$HELPER_PORT
# dns_conf DNS-PORT [LISTEN-ADDRESS]: resolver DNS-PORT; a second listener if given.
dns_conf() {
	{
		echo 'timeouts = { handshake = 10.0; };'
		echo "resolver = { servers = [ \"127.0.0.1:$1\" ]; };"
		echo "listen = ( { address = \"127.0.0.1:0\"; }${2:+, { address = \"$2\"; \}} );"
	} >"$T/dns.conf.new"
	mv "$T/dns.conf.new" "$T/dns.conf"
}
dns_conf "$DNS_OLD"
start_nacre dns -c "$T/dns.conf"
DPID=$NACRE_PID
PN=$NACRE_PORT
py socks5 --proxy 127.0.0.1:$PN --dest "slow.test:${ECHO##*:}" --echo --reply-wait 10 \
	>"$T/slow.out" 2>&1 &
SLOW=$!
PIDS="$PIDS $SLOW"
wait_for_line "$T/dns-old.log" '^query slow\.test ' 10 || hard_error "slow.test was not looked up"
dns_conf "$DNS_NEW"
before=$(wc -l <"$T/dns.log")
kill -HUP "$DPID"
check "reload with another DNS server is logged" log_after dns "$before" 'configuration reloaded' 10
wait "$SLOW"
expect_eq "a lookup in flight across the reload still succeeds" "rep=00 echo=ok" \
	"$(cat "$T/slow.out")"
expect_eq "after the reload new.test is resolved by the new server" "rep=00 echo=ok" \
	"$(py socks5 --proxy 127.0.0.1:$PN --dest "new.test:${ECHO##*:}" --echo)"

# A reload that changes the server but cannot open a listener (the echo
# server's address is taken) fails as a whole.
dns_conf "$DNS_NEXT" "$ECHO"
before=$(wc -l <"$T/dns.log")
kill -HUP "$DPID"
check "the failed reload is logged" log_after dns "$before" 'reload failed' 10
expect_eq "after the failed reload new2.test is resolved by the running server" \
	"rep=00 echo=ok" "$(py socks5 --proxy 127.0.0.1:$PN --dest "new2.test:${ECHO##*:}" --echo)"
expect_eq "the server of the failed reload was never asked" "0" "$(cat "$T/dns-next.count")"
kill -TERM "$DPID"
check "nacre stops after the DNS reloads" exited_within "$DPID" 10
wait "$DPID"
expect_eq "exit status after the DNS reloads" 0 "$?"

# A relay holds a failed flight open until a deadline (silent_close, 30 s
# here) so that a prober learns nothing from when it closes. SIGTERM closes
# such a connection at once, quietly, and one whose flight is still arriving
# when SIGTERM comes and then fails goes as soon as it fails: neither holds
# the drain (20 s here).
"$NACRE" keygen "$T/drain.key" >/dev/null 2>"$T/keygen.log" || hard_error "nacre keygen failed"
cat >"$T/drain4.conf" <<EOF
listen = ();
timeouts = { drain = 20.0; };
relay = ( { address = "127.0.0.1:0"; key_file = "drain.key"; exit = true; silent_close = 30;
            policy = ( { dest = "127.0.0.0/8"; action = "accept"; } ); } );
EOF
start_nacre nacre4 -c "$T/drain4.conf"
NPID=$NACRE_PID
run_py 40 - "$NACRE_PORT" "$T/garbage.go" >"$T/garbage.out" 2>&1 <<'PY' &
import os, socket, sys, time
p, go = int(sys.argv[1]), sys.argv[2]
failed = socket.create_connection(("127.0.0.1", p), timeout=35)
failed.sendall(os.urandom(8192))          # a whole flight's worth: it fails now
arriving = socket.create_connection(("127.0.0.1", p), timeout=35)
arriving.sendall(os.urandom(16))          # too short to be judged yet
print("sent", flush=True)
while not os.path.exists(go):
    time.sleep(0.05)
arriving.sendall(os.urandom(8192))        # after SIGTERM: now it fails
t = time.monotonic()
for name, s in (("failed", failed), ("arriving", arriving)):
    try:
        while s.recv(65536):
            pass
        end = "eof"
    except ConnectionResetError:
        end = "reset"
    except socket.timeout:
        end = "open"
    print(name, end, "%.1f" % (time.monotonic() - t), flush=True)
PY
GARBAGE=$!
PIDS="$PIDS $GARBAGE"
wait_for_line "$T/garbage.out" '^sent' 20 || hard_error "the garbage client did not start"
sleep 0.5
kill -TERM "$NPID"
sleep 0.5
: >"$T/garbage.go"
check "fourth daemon: exits at once when only failed flights are left" \
	exited_within "$NPID" 5
wait "$NPID"
expect_eq "fourth daemon: exit status" 0 "$?"
wait "$GARBAGE"
expect_eq "a failed flight held at SIGTERM is closed with a FIN" "failed eof" \
	"$(sed -n 's/^\(failed [a-z]*\) .*/\1/p' "$T/garbage.out")"
expect_eq "a flight that fails after SIGTERM is closed with a FIN" "arriving eof" \
	"$(sed -n 's/^\(arriving [a-z]*\) .*/\1/p' "$T/garbage.out")"

# ---- A SIGHUP that arrives while nacre is still starting (a reload sent
# right after a restart) is a reload once nacre is ready, not the signal's
# default action that would end it. The config is a FIFO here, so nacre waits
# in open() until the test writes it: once for the start, once for the reload.
A5=127.0.7.5
P5=$(free_port $A5)
printf 'log_level = "debug";\nlisten = ( { address = "%s:%s"; } );\n' "$A5" "$P5" >"$T/early.real"
mkfifo "$T/early.conf"
"$NACRE" -c "$T/early.conf" >"$T/early.log" 2>&1 &
EARLY=$!
PIDS="$PIDS $EARLY"
# Wait until nacre is past its first lines (SIGHUP, bit 0 of SigBlk, blocked,
# as it is from the start of "run"); a binary that never blocks it gets the
# signal after 5 s, in open().
i=0
while [ $i -lt 100 ]; do
	blk=$(sed -n 's/^SigBlk:[[:space:]]*//p' "/proc/$EARLY/status" 2>/dev/null)
	[ -n "$blk" ] && [ $((0x$blk & 1)) -eq 1 ] && break
	sleep 0.05
	i=$((i + 1))
done
kill -HUP "$EARLY"
timeout 10 sh -c "cat '$T/early.real' >'$T/early.conf'"
timeout 10 sh -c "cat '$T/early.real' >'$T/early.conf'" &
PIDS="$PIDS $!"
check "fifth daemon: a SIGHUP while starting becomes a reload" \
	wait_for_line "$T/early.log" "configuration reloaded" 10
check "fifth daemon: and nacre is still running" kill -0 "$EARLY"
kill -TERM "$EARLY"
wait "$EARLY"
expect_eq "fifth daemon: exit status after SIGTERM" 0 "$?"

finish
