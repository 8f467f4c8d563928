#!/bin/bash
# Flow through a chain of three relays, each its own process:
#  - a client that stops reading slows the origin's side down hop by hop: no
#    process buffers more than a bounded amount, and nothing is lost;
#  - with reuse_circuits = false, where each stream ends with END then FIN, a
#    FIN that comes while records ahead of it still wait for room ends the
#    stream cleanly, whether the client or the origin is the slow reader;
#  - a reset at either end reaches the other end as a reset, through every hop;
#  - SIGHUP on a relay keeps its live streams and serves new ones.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/integration/lib.sh"

need_python
start_origin http http
HTTP_PORT=$ORIGIN_PORT

declare -A RPID
three_relays 5
relay_conf 1 "$R1" false 127.0.5.2/32 >"$T/r1.conf"
relay_conf 2 "$R2" false 127.0.5.3/32 >"$T/r2.conf"
relay_conf 3 "$R3" true 127.0.0.1/32 >"$T/r3.conf"
cat >"$T/user.conf" <<EOF
$(three_chain)
listen = ( { address = "127.0.0.1:0"; } );
EOF
# start_chain: (re)starts the three relays and the user's nacre (RPID, UPID,
# P), so that a measure of what a load takes starts from fresh processes and
# not from memory an earlier load left in their heaps.
start_chain() {
	local r p
	for p in ${UPID:-} ${RPID[1]:-} ${RPID[2]:-} ${RPID[3]:-}; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	for r in 1 2 3; do
		start_nacre "relay$r" -c "$T/r$r.conf"
		RPID[$r]=$NACRE_PID
	done
	start_nacre user -c "$T/user.conf"
	P=$NACRE_PORT
	UPID=$NACRE_PID
}
start_chain

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
all_rss() { echo "$(rss_kib "$UPID") $(rss_kib "${RPID[1]}") $(rss_kib "${RPID[2]}") $(rss_kib "${RPID[3]}")"; }

# In a sanitizer build the allocator keeps freed blocks in quarantine, so RSS
# there counts those too: the figures are shown and not bounded. (With links
# between the relays, a middle's link queue takes and frees 64 KiB chunks
# as a stream moves: a relay grew by 7-12 MiB there behind one stalled
# reader, against 3.5 MiB in a plain build.)
ASAN_BUILD=0
ldd "$NACRE" 2>/dev/null | grep -q libasan && ASAN_BUILD=1

# ------------------------------------------------------------ backpressure
# 256 MiB from the origin, through SOCKS5 and then as an absolute-form HTTP
# request; the client reads 1 MiB, stops for 4 s, then reads the rest. While
# it is stopped no process may grow by more than its buffers.
N=$((256 * 1024 * 1024))
cat >"$T/pause.py" <<'PY'
import hashlib, socket, sys, time
from origin import socks5_connect, recv_exact
proxy, port, n, how = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
if how == "socks5":
    s = socks5_connect(proxy, "127.0.0.1", port)[0]
    target = b"/bytes/%d" % n
else:  # absolute-form, relayed message by message
    s = socket.create_connection(("127.0.0.1", proxy))
    target = b"http://127.0.0.1:%d/bytes/%d" % (port, n)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
s.sendall(b"GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n"
          % (target, port))
head = b""
while b"\r\n\r\n" not in head:
    head += s.recv(1)
h = hashlib.sha256()
got = 0
first = recv_exact(s, 1 << 20)
h.update(first); got += len(first)
print("paused", flush=True)
time.sleep(4)
print("resumed", flush=True)
while True:
    b = s.recv(1 << 20)
    if not b:
        break
    h.update(b); got += len(b)
print("got", got, h.hexdigest(), flush=True)
PY
names=(user relay1 relay2 relay3)
for how in socks5 http; do
	base=($(all_rss))
	run_py 180 "$T/pause.py" "$P" "$HTTP_PORT" "$N" "$how" >"$T/bp.out" 2>&1 &
	BP_PID=$!
	wait_for_line "$T/bp.out" '^paused' 60 || fail "$how backpressure client did not start"
	sleep 3
	during=($(all_rss))
	wait "$BP_PID"
	for i in 0 1 2 3; do
		grew=$((during[i] - base[i]))
		if [ "$ASAN_BUILD" = 1 ]; then
			pass "${names[i]}: RSS grew by ${grew} KiB while the $how client was not reading # SKIP not bounded in a sanitizer build"
		elif [ "$grew" -lt 8192 ]; then
			pass "${names[i]}: RSS grew by ${grew} KiB while the $how client was not reading (bounded)"
		else
			fail "${names[i]}: RSS grew by ${grew} KiB while the $how client was not reading"
		fi
	done
	expect_eq "every byte arrived through the chain ($how) after the client read again" \
		"got $N $(origin_sha256 "$N")" "$(grep '^got' "$T/bp.out")"
done

# ------------------------------------------------------------ stalled streams
# 20 downloads stop reading after their first byte, then 20 uploads go to an
# origin that stops reading, each through SOCKS5 and then as absolute-form
# HTTP requests: every process on the way then holds about one bulk buffer
# (512 KiB) a stream; the bound is 768 KiB a stream (896 KiB for HTTP).
#  - The exit reads the origin straight into the records it seals for the
#    link, with no buffer of the origin's bytes in front of them (before:
#    1 MiB a stalled download).
#  - A side that opens records for a slow reader (the user's side on a
#    download, each relay on an upload) reads the link only once what it
#    opened has gone out, keeps the part of a record left over in a small
#    block, and the user's side opens its three layers record by record, so
#    the layers in between hold a record or two (before: about 1.6 MiB a
#    stalled download at the user's side, 1 MiB a stalled upload at each
#    relay).
#  - Absolute-form HTTP: the same. The handler moves a message from one
#    buffer to another, each a small block (64 KiB; hence the higher
#    bound); the side it reads from is read only once either is empty, and
#    through a chain the client's bytes stay in a small block in front of
#    the records (before, at the user's side: 1.2 MiB a stalled download,
#    and every bulk block of the process for 20 stalled uploads).
# Over a link (LINKS=1, between the user's side and relay1; with
# RELAY_LINKS=1 between the relays too) the bytes a
# circuit has in flight wait in the receiving process, not in a socket's
# kernel buffer, and a circuit whose reader kept up before it stalled has a
# grown window (SPEC.md, "Links": up to 2 MiB): the receiving end of the
# link (the user's side on a download, relay1 on an upload) may hold what
# the windows grew by, at most 32 MiB in a process (src/link_circ.c), and
# part of a 64 KiB queue chunk a stream.
# Each load starts on a fresh chain, so that one load's growth is not hidden
# in the heap another left behind.
# stalled WHAT PID OUT SETTLE [KIB]: once the streams that PID holds say
# "stalled" in OUT, waits SETTLE seconds, takes every process's RSS, lets the
# streams go and checks what each process grew by: KIB (768) a stream at most.
stalled() {
	local what=$1 pid=$2 out=$3 i grew bound
	wait_for_line "$out" '^stalled' 60 || fail "stalled $what did not start ($(cat "$out"))"
	sleep "$4"
	during=($(all_rss))
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	# The receiving ends of links: the user's side (0) on a download and
	# relay1 (1) on an upload; with RELAY_LINKS=1 relay1 and relay2 on a
	# download and relay2 and relay3 on an upload too.
	local receivers=0
	case $what in *up*) receivers=1 ;; esac
	[ "${RELAY_LINKS:-0}" = 1 ] && receivers="$receivers $((receivers + 1)) $((receivers + 2))"
	for i in 0 1 2 3; do
		bound=$((20 * ${5:-768}))
		if [ "${LINKS:-0}" = 1 ] && [[ " $receivers " == *" $i "* ]]; then
			bound=$((bound + 32768 + 20 * 64))
		fi
		grew=$((during[i] - base[i]))
		if [ "$ASAN_BUILD" = 1 ]; then
			pass "${names[i]}: RSS grew by ${grew} KiB for 20 stalled $what # SKIP not bounded in a sanitizer build"
		elif [ "$grew" -lt "$bound" ]; then
			pass "${names[i]}: RSS grew by ${grew} KiB for 20 stalled $what (under $bound)"
		else
			fail "${names[i]}: RSS grew by ${grew} KiB for 20 stalled $what (bound $bound)"
		fi
	done
}
cat >"$T/stall.py" <<'PY'
import socket, sys, time
from origin import socks5_connect
proxy, port, how, way = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
held = []
for i in range(20):
    if how == "socks5":
        s = socks5_connect(proxy, "127.0.0.1", port)[0]
        target = b"/bytes/%d" % (64 << 20)
    else:  # absolute-form, relayed message by message
        s = socket.create_connection(("127.0.0.1", proxy))
        target = b"http://127.0.0.1:%d/bytes/%d" % (port, 64 << 20)
    if way == "down":
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        s.sendall(b"GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n"
                  % (target, port))
        s.recv(1)
    elif how != "socks5":
        s.sendall(b"POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Length: %d\r\n\r\n"
                  % (target, port, 1 << 30))
    held.append(s)
if way == "up":
    chunk = b"x" * (1 << 20)
    for s in held:
        s.setblocking(False)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        for s in held:
            try:
                s.send(chunk)
            except BlockingIOError:
                pass
        time.sleep(0.05)
print("stalled", flush=True)
time.sleep(60)
PY
for way in down:3 up:1; do
	for how in socks5:768 http:896; do
		port=$HTTP_PORT
		if [ "${way%:*}" = up ]; then
			start_origin "stall-${how%:*}" halfclose --read-pause 100000
			port=$ORIGIN_PORT
		fi
		start_chain
		base=($(all_rss))
		run_py 120 "$T/stall.py" "$P" "$port" "${how%:*}" "${way%:*}" >"$T/st.out" 2>&1 &
		stalled "${how%:*} ${way%:*}loads" $! "$T/st.out" "${way#*:}" "${how#*:}"
	done
done

# ------------------------------------------------------------ END, then FIN
# Without reuse every hop ends a stream with END and at once a FIN. Behind a
# slow reader the END is often still among the records waiting for room when
# the FIN is read: the stream must end whole, with a FIN, not be taken for a
# cut. 16 MiB, because the kernel's send buffer towards a slow reader alone
# takes up to 4 MiB; two uploads at once, because whether a hop reads its FIN
# before it has opened its END is a race (each upload lost it about half the
# time before the fix).
cat >"$T/user-noreuse.conf" <<EOF
$(three_chain)
reuse_circuits = false;
listen = ( { address = "127.0.0.1:0"; } );
EOF
start_nacre user-noreuse -c "$T/user-noreuse.conf"
NP=$NACRE_PORT
N=$((16 * 1024 * 1024))
SHA=$(origin_sha256 "$N")

# (a) Download: the client reads 16 KiB at a time, 3 ms apart.
expect_eq "no reuse, slow client: all of a download, then EOF" "got $N $SHA eof" \
	"$(run_py 120 - "$NP" "$HTTP_PORT" "$N" <<'PY'
import hashlib, socket, sys, time
from origin import socks5_connect
proxy, port, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
s = socks5_connect(proxy, "127.0.0.1", port)[0]
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
s.sendall(b"GET /bytes/%d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % n)
head = b""
while b"\r\n\r\n" not in head and len(head) < 4096:
    b = s.recv(1)
    if not b:
        break
    head += b
h = hashlib.sha256()
got, end = 0, "timeout"
deadline = time.monotonic() + 90
try:
    while time.monotonic() < deadline and got <= n:
        b = s.recv(16384)
        if not b:
            end = "eof"
            break
        h.update(b)
        got += len(b)
        time.sleep(0.003)
except ConnectionResetError:
    end = "reset"
except socket.timeout:
    pass
print("got", got, h.hexdigest(), end)
PY
)"

# (b) Upload: the origin reads 16 KiB at a time, 3 ms apart; each client
# sends everything, then shuts down its write side and reads the reply.
start_origin slow-origin halfclose --read-pause 3
SLOW_PORT=$ORIGIN_PORT
expect_eq "no reuse, slow origin: both clients get the origin's count of their upload" \
	"$(printf 'got %s bytes sha256=%s eof\n' "$N" "$SHA" "$N" "$SHA")" \
	"$(run_py 120 - "$NP" "$SLOW_PORT" "$N" <<'PY'
import socket, sys, threading
from origin import socks5_connect, stream_chunks
proxy, port, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
out = []

def upload():
    reply, end = b"", "timeout"
    try:
        s = socks5_connect(proxy, "127.0.0.1", port)[0]
        s.settimeout(90)
        for c in stream_chunks(n, size=65536):
            s.sendall(c)
        s.shutdown(socket.SHUT_WR)
        while len(reply) < 4096:
            b = s.recv(4096)
            if not b:
                end = "eof"
                break
            reply += b
    except (ConnectionResetError, BrokenPipeError):
        end = "reset"
    except socket.timeout:
        pass
    out.append("%s %s" % (reply.decode("latin-1"), end))

threads = [threading.Thread(target=upload) for _ in range(2)]
for t in threads:
    t.start()
for t in threads:
    t.join(100)
print("\n".join(sorted(out)))
PY
)"
for _ in $(seq 100); do # both uploads' ends are logged
	[ "$(grep -cE '^(halfclose: |connection from)' "$T/slow-origin.log")" -ge 2 ] && break
	sleep 0.1
done
expect_eq "no reuse, slow origin: the origin saw every byte of both, then a FIN" \
	"$(printf 'halfclose: got %s bytes sha256=%s then EOF\n' "$N" "$SHA" "$N" "$SHA")" \
	"$(grep -E '^(halfclose|connection from)' "$T/slow-origin.log")"

# ------------------------------------------------------------ resets
start_helper rst-origin errlib.py reset-server
RST_PORT=$HELPER_PORT
expect_eq "an origin's reset reaches the client as a reset, through three relays" "reset" \
	"$(run_py 20 - "$P" "$RST_PORT" <<'PY'
import sys
from origin import socks5_connect
s = socks5_connect(int(sys.argv[1]), "127.0.0.1", int(sys.argv[2]))[0]
s.sendall(b"hello")
try:
    b = s.recv(100)
    print("eof" if not b else "data")
except ConnectionResetError:
    print("reset")
PY
)"

start_helper rst-origin2 errlib.py watch-server
RST2_PORT=$HELPER_PORT
run_py 20 - "$P" "$RST2_PORT" <<'PY'
import socket, struct, sys, time
from origin import socks5_connect
s = socks5_connect(int(sys.argv[1]), "127.0.0.1", int(sys.argv[2]))[0]
s.sendall(b"hello")
time.sleep(0.3)
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()
PY
wait_for_line "$T/rst-origin2.log" '^saw' 10
expect_eq "a client's reset reaches the origin as a reset, through three relays" "saw reset" \
	"$(grep '^saw' "$T/rst-origin2.log")"

# ------------------------------------------------------------ reload
# A stream open across SIGHUP on the middle relay keeps flowing.
run_py 60 - "$P" "$HTTP_PORT" >"$T/hup.out" 2>&1 <<'PY' &
import hashlib, socket, sys, time
from origin import socks5_connect
s = socks5_connect(int(sys.argv[1]), "127.0.0.1", int(sys.argv[2]))[0]
s.sendall(b"GET /bytes/1000 HTTP/1.1\r\nHost: x\r\n\r\n")
time.sleep(0.2)
first = s.recv(65536)
print("first", flush=True)
time.sleep(2)
s.sendall(b"GET /bytes/2000 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
data = first
while True:
    b = s.recv(65536)
    if not b:
        break
    data += b
print("ok" if data.count(b"HTTP/1.1 200") == 2 else "bad", flush=True)
PY
HUP_PID=$!
wait_for_line "$T/hup.out" '^first' 20 || fail "reload client did not start"
kill -HUP "${RPID[2]}"
wait "$HUP_PID"
expect_eq "a stream open across SIGHUP on the middle relay keeps flowing" "ok" "$(tail -n 1 "$T/hup.out")"
expect_eq "a new stream after the reload works" "200" \
	"$(timeout 20 curl -sS --max-time 15 -o /dev/null -w '%{http_code}' --socks5 "127.0.0.1:$P" "http://127.0.0.1:$HTTP_PORT/bytes/10")"
check "relay 2 logged the reload" grep -q "reload" "$T/relay2.log"

finish
