#!/usr/bin/env python3
"""Raw clients and servers for nacre's error, limit, signal and load tests.

Each subcommand prints key=value results on one line (or a few lines) that the
shell tests compare with lib.sh's expect_eq; nothing here decides pass or fail
on its own. Every socket operation is bounded by a timeout. Only the addresses
given on the command line are contacted (the tests pass loopback addresses or
addresses inside a network namespace the test created).

    errlib.py echo-server [--bind IP]
    errlib.py socks5 --proxy H:P --dest H:P [--cmd N] [--rsv N] [--atyp N] [--auth U:P] [--echo]
    errlib.py socks4 --proxy H:P --dest H:P [--user ID]
    errlib.py http --proxy H:P (--request STR | --big-header BYTES) [--expect-body STR]
    errlib.py tunnels --proxy H:P --dest H:P --n N [--size BYTES]
    errlib.py stall --proxy H:P --n N [--bytes HEX]
    errlib.py hold --proxy H:P --dest H:P [--auth U:P]     (commands on stdin)
    errlib.py idle-close --proxy H:P [--send HEX] [--wait S]
    errlib.py active --proxy H:P --dest H:P --seconds S --interval S
    errlib.py limits --proxy H:P --dest H:P --per-client M --connections N
    errlib.py fdfill --proxy H:P --dest H:P [--max N] [--probes N]
    errlib.py refused --port P [--wait S]

A "close" result is one of: eof (the peer sent FIN after everything we read),
reset (ECONNRESET), open (nothing happened within the wait), data (more bytes
arrived than the reply we expected).
"""
import argparse
import errno
import ipaddress
import os
import select
import socket
import socketserver
import struct
import sys
import threading
import time


# ------------------------------------------------------------------ helpers
def hostport(s):
    """Splits "1.2.3.4:80", "[::1]:80" or "name:80" into (host, port)."""
    if s.startswith("["):
        host, _, rest = s[1:].partition("]")
        return host, int(rest.lstrip(":"))
    host, _, port = s.rpartition(":")
    return host, int(port)


def is_ip(host):
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


def connect(addr, src=None, timeout=5.0):
    host, port = addr
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(timeout)
    if src:
        s.bind((src, 0))
    s.connect((host, port))
    return s


def recv_exact(s, n, timeout=5.0):
    """Reads exactly n bytes; raises EOFError on early close, socket.timeout."""
    s.settimeout(timeout)
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError(f"closed after {len(buf)} of {n} bytes")
        buf += chunk
    return buf


def close_kind(s, wait=5.0):
    """After a complete reply: how does the peer end the connection?"""
    s.settimeout(wait)
    try:
        data = s.recv(4096)
    except socket.timeout:
        return "open"
    except ConnectionResetError:
        return "reset"
    except OSError as e:
        return f"error:{errno.errorcode.get(e.errno, e.errno)}"
    return "eof" if not data else "data"


def socks5_greet(s, auth=None, timeout=5.0):
    """Sends the greeting (and RFC 1929 auth); raises RuntimeError on refusal."""
    if auth:
        s.sendall(b"\x05\x01\x02")
    else:
        s.sendall(b"\x05\x01\x00")
    ver, method = recv_exact(s, 2, timeout)
    if ver != 5:
        raise RuntimeError(f"greeting: bad version {ver}")
    if method == 0xFF:
        raise RuntimeError("greeting: no acceptable method")
    if auth:
        if method != 2:
            raise RuntimeError(f"greeting: method {method}, wanted 2")
        user, _, pw = auth.partition(":")
        u, p = user.encode(), pw.encode()
        s.sendall(bytes([1, len(u)]) + u + bytes([len(p)]) + p)
        _, status = recv_exact(s, 2, timeout)
        if status != 0:
            raise RuntimeError(f"auth: status {status}")
    elif method != 0:
        raise RuntimeError(f"greeting: method {method}, wanted 0")


def socks5_request_bytes(host, port, cmd=1, rsv=0, atyp=None):
    if atyp is None:
        if is_ip(host):
            ip = ipaddress.ip_address(host)
            atyp = 4 if ip.version == 6 else 1
            addr = ip.packed
        else:
            atyp = 3
            addr = bytes([len(host)]) + host.encode()
    elif atyp == 1:
        addr = ipaddress.IPv4Address(host).packed
    elif atyp == 4:
        addr = ipaddress.IPv6Address(host).packed
    elif atyp == 3:
        addr = bytes([len(host)]) + host.encode()
    else:
        addr = b"\x7f\x00\x00\x01"  # an unknown type: four bytes of something
    return bytes([5, cmd, rsv, atyp]) + addr + struct.pack("!H", port)


def socks5_read_reply_bnd(s, timeout=8.0):
    """Returns (REP, "BND.ADDR:BND.PORT"); raises RuntimeError on a malformed reply."""
    head = recv_exact(s, 4, timeout)
    ver, rep, rsv, atyp = head
    if ver != 5 or rsv != 0:
        raise RuntimeError(f"malformed reply header {head.hex()}")
    if atyp == 1:
        b = recv_exact(s, 4 + 2, timeout)
        host = socket.inet_ntop(socket.AF_INET, b[:4])
    elif atyp == 4:
        b = recv_exact(s, 16 + 2, timeout)
        host = "[" + socket.inet_ntop(socket.AF_INET6, b[:16]) + "]"
    elif atyp == 3:
        n = recv_exact(s, 1, timeout)[0]
        b = recv_exact(s, n + 2, timeout)
        host = b[:n].decode("ascii", "replace")
    else:
        raise RuntimeError(f"malformed reply ATYP {atyp}")
    return rep, f"{host}:{int.from_bytes(b[-2:], 'big')}"


def socks5_read_reply(s, timeout=8.0):
    """Returns REP; raises RuntimeError on a malformed reply."""
    return socks5_read_reply_bnd(s, timeout)[0]


def socks5_tunnel(proxy, dest, auth=None, src=None, timeout=5.0):
    """Opens a CONNECT tunnel; returns the socket or raises."""
    s = connect(proxy, src, timeout)
    try:
        socks5_greet(s, auth, timeout)
        s.sendall(socks5_request_bytes(dest[0], dest[1]))
        rep = socks5_read_reply(s, timeout)
        if rep != 0:
            raise RuntimeError(f"reply {rep:02x}")
    except BaseException:
        s.close()
        raise
    return s


def echo_roundtrip(s, payload, timeout=5.0):
    s.sendall(payload)
    return recv_exact(s, len(payload), timeout) == payload


def outcome(exc):
    """A short word for why a step failed."""
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, ConnectionResetError):
        return "reset"
    if isinstance(exc, EOFError):
        return "eof"
    if isinstance(exc, socket.timeout):
        return "noreply"
    if isinstance(exc, RuntimeError):
        return "rejected:" + str(exc).replace(" ", "_")
    return type(exc).__name__


# ------------------------------------------------------------------ servers
class EchoHandler(socketserver.BaseRequestHandler):
    def handle(self):
        # Logged so a test can tell that a blocked destination was never contacted.
        print(f"connection from {self.client_address[0]}", flush=True)
        self.request.settimeout(600)
        try:
            while True:
                data = self.request.recv(65536)
                if not data:
                    break
                self.request.sendall(data)
        except OSError:
            pass


class ThreadingServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 512


class ThreadingServer6(ThreadingServer):
    address_family = socket.AF_INET6


def cmd_echo_server(a):
    cls = ThreadingServer6 if ":" in a.bind else ThreadingServer
    srv = cls((a.bind, a.port), EchoHandler)
    port = srv.server_address[1]
    shown = f"[{a.bind}]" if ":" in a.bind else a.bind
    print(f"listening on {shown}:{port}", flush=True)
    srv.serve_forever()


def listen_once(a):
    ls = socket.socket()
    ls.bind((a.bind, a.port))
    ls.listen(64)
    print(f"listening on {a.bind}:{ls.getsockname()[1]}", flush=True)
    return ls


def cmd_reset_server(a):
    """Reads the first bytes of every connection, then resets it."""
    ls = listen_once(a)
    while True:
        c, _ = ls.accept()
        c.recv(100)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()


def cmd_watch_server(a):
    """Takes one connection, reads 5 bytes, prints how the peer ended it."""
    ls = listen_once(a)
    c, _ = ls.accept()
    c.recv(5)
    try:
        b = c.recv(100)
        print("saw", "eof" if not b else "data", flush=True)
    except ConnectionResetError:
        print("saw reset", flush=True)


# ------------------------------------------------------------------ clients
def cmd_socks5(a):
    proxy, (host, port) = hostport(a.proxy), hostport(a.dest)
    try:
        s = connect(proxy, a.src)
        socks5_greet(s, a.auth)
    except Exception as e:
        print(f"greeting={outcome(e)}")
        return
    s.sendall(socks5_request_bytes(host, port, a.cmd, a.rsv, a.atyp))
    try:
        rep, bnd = socks5_read_reply_bnd(s, a.reply_wait)
    except RuntimeError as e:
        print(f"rep=malformed close=none ({e})")
        return
    except Exception as e:
        print(f"rep=none close={outcome(e)}")
        return
    if a.bnd:
        print(f"rep={rep:02x} bnd={bnd}")
        return
    if rep == 0 and a.echo:
        ok = echo_roundtrip(s, b"hello through nacre\n")
        print(f"rep=00 echo={'ok' if ok else 'bad'}")
        return
    print(f"rep={rep:02x} close={close_kind(s, a.wait)}")


def cmd_socks4(a):
    proxy, (host, port) = hostport(a.proxy), hostport(a.dest)
    s = connect(proxy)
    uid = a.user.encode() + b"\0"
    if is_ip(host):
        req = struct.pack("!BBH", 4, 1, port) + ipaddress.IPv4Address(host).packed + uid
    else:
        req = struct.pack("!BBH", 4, 1, port) + b"\0\0\0\x01" + uid + host.encode() + b"\0"
    s.sendall(req)
    try:
        reply = recv_exact(s, 8, a.reply_wait)
    except Exception as e:
        print(f"rep=none close={outcome(e)}")
        return
    if reply[0] != 0:
        print(f"rep=malformed close=none ({reply.hex()})")
        return
    print(f"rep={reply[1]:02x} close={close_kind(s, a.wait)}")


def read_until_close(s, wait):
    """Reads everything until the peer closes; returns (data, close kind)."""
    deadline = time.monotonic() + wait
    data = b""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return data, "open"
        s.settimeout(left)
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            return data, "open"
        except ConnectionResetError:
            return data, "reset"
        if not chunk:
            return data, "eof"
        data += chunk


def unescape(s):
    return s.encode("latin-1").decode("unicode_escape").encode("latin-1")


def cmd_http(a):
    proxy = hostport(a.proxy)
    if a.big_header:
        # A few 1000-byte headers adding up to BYTES or a little more: big,
        # but far from any limit on the number of headers.
        req = f"GET http://{a.target}/hello.txt HTTP/1.1\r\nHost: {a.target}\r\nConnection: close\r\n".encode()
        i = 0
        while len(req) + 2 < a.big_header:
            req += f"X-Filler-{i}: {'a' * 985}\r\n".encode()
            i += 1
        req += b"\r\n"
    else:
        req = unescape(a.request)
    s = connect(proxy)
    try:
        s.sendall(req)
    except OSError as e:
        # The proxy may close before taking all of an oversized request; what
        # it answered is still in our receive buffer.
        print(f"# send stopped: {e}", file=sys.stderr)
    data, kind = read_until_close(s, a.wait)
    line = data.split(b"\r\n", 1)[0].decode("latin-1")
    parts = line.split(" ")
    status = parts[1] if len(parts) > 1 and line.startswith("HTTP/1.") else "none"
    out = f"status={status} close={kind}"
    if a.expect_body is not None:
        out += " body=" + ("yes" if a.expect_body.encode() in data else "no")
    print(out)
    if a.show:
        print(data.decode("latin-1"), file=sys.stderr)


def cmd_tunnels(a):
    """N tunnels open at once; each echoes its own payload."""
    proxy, dest = hostport(a.proxy), hostport(a.dest)
    n = a.n
    opened = threading.Barrier(n, timeout=60)
    done = threading.Barrier(n, timeout=60)
    results = [None] * n
    open_count = [0]
    lock = threading.Lock()

    def worker(i):
        s = None
        try:
            s = socks5_tunnel(proxy, dest, timeout=20)
            with lock:
                open_count[0] += 1
        except Exception as e:
            results[i] = "open:" + outcome(e)
        try:
            opened.wait()  # all tunnels are up at the same time
        except threading.BrokenBarrierError:
            pass
        if s is not None:
            payload = (f"tunnel {i:04d} ".encode() + os.urandom(16).hex().encode()) * (a.size // 48 + 1)
            payload = payload[: a.size]
            try:
                ok = echo_roundtrip(s, payload, timeout=30)
                results[i] = "ok" if ok else "mismatch"
            except Exception as e:
                results[i] = "echo:" + outcome(e)
        try:
            done.wait()  # keep every tunnel open until all have echoed
        except threading.BrokenBarrierError:
            pass
        if s is not None:
            s.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    ok = sum(1 for r in results if r == "ok")
    bad = [f"{i}:{r}" for i, r in enumerate(results) if r != "ok"]
    print(f"simultaneous={open_count[0]}/{n} echoed={ok}/{n}")
    if bad:
        print("failures: " + " ".join(bad[:20]), file=sys.stderr)


def cmd_stall(a):
    """Opens N connections that each send one byte of a handshake, then wait."""
    proxy = hostport(a.proxy)
    patterns = [bytes.fromhex(h) for h in a.bytes.split(",")]
    socks = []
    for i in range(a.n):
        s = connect(proxy)
        s.sendall(patterns[i % len(patterns)])
        socks.append(s)
    print(f"stalled {len(socks)}", flush=True)
    # Hold them until killed or stdin closes, but never longer than --hold.
    deadline = time.monotonic() + a.hold
    while time.monotonic() < deadline:
        r, _, _ = select.select([sys.stdin], [], [], 0.5)
        if r and not sys.stdin.readline():
            break
    closed = 0
    for s in socks:
        s.setblocking(False)
        try:
            if s.recv(1) == b"":
                closed += 1
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
    print(f"closed-by-proxy {closed}", flush=True)


def cmd_hold(a):
    """A long-lived tunnel driven by lines on stdin: echo, eof SECONDS, close."""
    proxy, dest = hostport(a.proxy), hostport(a.dest)
    try:
        s = socks5_tunnel(proxy, dest, a.auth)
    except Exception as e:
        print(f"tunnel fail {outcome(e)}", flush=True)
        sys.exit(1)
    print("tunnel up", flush=True)
    seq = 0
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] == "echo":
            seq += 1
            try:
                ok = echo_roundtrip(s, f"ping {seq}\n".encode())
                print(f"echo-{'ok' if ok else 'bad'} {seq}", flush=True)
            except Exception as e:
                print(f"echo-fail {seq} {outcome(e)}", flush=True)
        elif words[0] == "eof":
            wait = float(words[1]) if len(words) > 1 else 10.0
            print(f"close-{close_kind(s, wait)}", flush=True)
        elif words[0] == "close":
            s.close()
            print("closed", flush=True)
            return


def cmd_idle_close(a):
    """Connects (optionally sends bytes or opens a tunnel) and waits for the close."""
    proxy = hostport(a.proxy)
    if a.dest:
        s = socks5_tunnel(proxy, hostport(a.dest))
        ok = echo_roundtrip(s, b"before idling\n")
        if not ok:
            print("close=badecho")
            return
    else:
        s = connect(proxy)
        if a.send:
            s.sendall(bytes.fromhex(a.send))
    print(f"close={close_kind(s, a.wait)}")


def cmd_active(a):
    """A tunnel that echoes every INTERVAL seconds for SECONDS: must stay open."""
    proxy, dest = hostport(a.proxy), hostport(a.dest)
    s = socks5_tunnel(proxy, dest)
    end = time.monotonic() + a.seconds
    n = 0
    while time.monotonic() < end:
        try:
            if not echo_roundtrip(s, f"keepalive {n}\n".encode()):
                print(f"active=bad after {n}")
                return
        except Exception as e:
            print(f"active={outcome(e)} after {n}")
            return
        n += 1
        time.sleep(a.interval)
    print("active=ok")


def try_tunnel(proxy, dest, src=None, timeout=5.0):
    """Returns (socket or None, outcome word)."""
    try:
        s = socks5_tunnel(proxy, dest, src=src, timeout=timeout)
        if not echo_roundtrip(s, b"check\n", timeout):
            s.close()
            return None, "badecho"
        return s, "ok"
    except Exception as e:
        return None, outcome(e)


def still_echo(socks):
    ok = 0
    for s in socks:
        try:
            if echo_roundtrip(s, b"still there?\n"):
                ok += 1
        except Exception:
            pass
    return f"{ok}/{len(socks)}"


def extra_conn(proxy, src, wait):
    """A connection past a limit: connects, sends nothing, reports its fate."""
    try:
        s = connect(proxy, src)
    except ConnectionRefusedError:
        return "refused"
    kind = close_kind(s, wait)
    s.close()
    return "closed" if kind in ("eof", "reset") else kind


def cmd_limits(a):
    proxy, dest = hostport(a.proxy), hostport(a.dest)
    out = []
    a_socks = []
    for _ in range(a.per_client):
        s, how = try_tunnel(proxy, dest, "127.0.0.1")
        if s:
            a_socks.append(s)
    out.append(f"a_open={len(a_socks)}/{a.per_client}")
    out.append(f"a_extra={extra_conn(proxy, '127.0.0.1', a.wait)}")
    b, how = try_tunnel(proxy, dest, "127.0.0.2")
    out.append(f"b_tunnel={how}")
    out.append(f"a_still={still_echo(a_socks)}")
    everyone = a_socks + ([b] if b else [])
    # Fill up to the global limit from further addresses, per_client at most each.
    src_i = 3
    while len(everyone) < a.connections and src_i < 60:
        for _ in range(min(a.per_client, a.connections - len(everyone))):
            s, how = try_tunnel(proxy, dest, f"127.0.0.{src_i}")
            if s:
                everyone.append(s)
        src_i += 1
    out.append(f"total_open={len(everyone)}/{a.connections}")
    out.append(f"global_extra={extra_conn(proxy, '127.0.0.99', a.wait)}")
    out.append(f"all_still={still_echo(everyone)}")
    # Closing one tunnel makes room again (the proxy may need a moment to see it).
    a_socks[0].close() if a_socks else None
    how = "none"
    for _ in range(20):
        s, how = try_tunnel(proxy, dest, "127.0.0.100")
        if s:
            s.close()
            break
        time.sleep(0.25)
    out.append(f"after_close={how}")
    print(" ".join(out))


def cmd_fdfill(a):
    """Opens tunnels until the proxy stops taking them (descriptor exhaustion)."""
    proxy, dest = hostport(a.proxy), hostport(a.dest)
    good, stuck = [], []
    refused_how = "never"
    for _ in range(a.max):
        try:
            s = connect(proxy, timeout=a.step)
        except Exception as e:
            refused_how = "connect:" + outcome(e)
            break
        try:
            socks5_greet(s, timeout=a.step)
            s.sendall(socks5_request_bytes(dest[0], dest[1]))
            rep = socks5_read_reply(s, a.step)
            if rep != 0:
                raise RuntimeError(f"reply {rep:02x}")
            if not echo_roundtrip(s, b"fill\n", a.step):
                raise RuntimeError("bad echo")
            good.append(s)
        except Exception as e:
            refused_how = outcome(e)
            stuck.append(s)
            break
    print(f"opened={len(good)} refused={'yes' if refused_how != 'never' else 'no'} how={refused_how}")
    print(f"existing={still_echo(good)}")
    # Every later client must be closed at once, not left in the backlog. The
    # first few may still be taken as clients (a descriptor or two left over):
    # count the clients closed at once after the first one that was.
    probes, later = [], "none"
    for _ in range(a.probes + 4):
        try:
            s = connect(proxy, timeout=a.step)
        except Exception as e:
            kind = outcome(e)
        else:
            probes.append(s)
            kind = close_kind(s, 1.0)
        if kind in ("eof", "reset"):
            later = 0 if later == "none" else later + 1
            if later == a.probes:
                break
        elif later != "none":
            break
    print(f"later={later}/{a.probes}")
    for s in stuck + probes:
        s.close()
    # Free half of them, then a new client must get through.
    half = len(good) // 2
    for s in good[:half]:
        s.close()
    good = good[half:]
    time.sleep(0.5)
    s, how = try_tunnel(proxy, dest, timeout=10.0)
    print(f"after_free={how}")
    print(f"remaining={still_echo(good)}")
    if s:
        s.close()


def cmd_refused(a):
    """Polls until connecting to HOST:PORT is refused (the listener closed)."""
    deadline = time.monotonic() + a.wait
    last = "accepted"
    while time.monotonic() < deadline:
        try:
            s = connect((a.host, a.port), timeout=2)
        except ConnectionRefusedError:
            print("new=refused")
            return
        except Exception as e:
            last = outcome(e)
        else:
            # Accepted by the kernel: was it then closed at once by the daemon?
            kind = close_kind(s, 0.5)
            s.close()
            last = "accepted-" + kind
        time.sleep(0.1)
    print(f"new={last}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd_name", required=True)

    p = sub.add_parser("echo-server")
    p.add_argument("--bind", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.set_defaults(fn=cmd_echo_server)

    for name, fn in (("reset-server", cmd_reset_server), ("watch-server", cmd_watch_server)):
        p = sub.add_parser(name)
        p.add_argument("--bind", default="127.0.0.1")
        p.add_argument("--port", type=int, default=0)
        p.set_defaults(fn=fn)

    p = sub.add_parser("socks5")
    p.add_argument("--proxy", required=True)
    p.add_argument("--dest", required=True)
    p.add_argument("--cmd", type=int, default=1)
    p.add_argument("--rsv", type=int, default=0)
    p.add_argument("--atyp", type=int)
    p.add_argument("--auth")
    p.add_argument("--src")
    p.add_argument("--echo", action="store_true")
    p.add_argument("--bnd", action="store_true", help="print REP and BND.ADDR:BND.PORT")
    p.add_argument("--wait", type=float, default=5.0)
    p.add_argument("--reply-wait", type=float, default=8.0)
    p.set_defaults(fn=cmd_socks5)

    p = sub.add_parser("socks4")
    p.add_argument("--proxy", required=True)
    p.add_argument("--dest", required=True)
    p.add_argument("--user", default="")
    p.add_argument("--wait", type=float, default=5.0)
    p.add_argument("--reply-wait", type=float, default=8.0)
    p.set_defaults(fn=cmd_socks4)

    p = sub.add_parser("http")
    p.add_argument("--proxy", required=True)
    p.add_argument("--request")
    p.add_argument("--big-header", type=int)
    p.add_argument("--target", default="127.0.0.1:9")
    p.add_argument("--expect-body")
    p.add_argument("--show", action="store_true")
    p.add_argument("--wait", type=float, default=8.0)
    p.set_defaults(fn=cmd_http)

    p = sub.add_parser("tunnels")
    p.add_argument("--proxy", required=True)
    p.add_argument("--dest", required=True)
    p.add_argument("--n", type=int, default=200)
    p.add_argument("--size", type=int, default=16384)
    p.set_defaults(fn=cmd_tunnels)

    p = sub.add_parser("stall")
    p.add_argument("--proxy", required=True)
    p.add_argument("--n", type=int, default=60)
    p.add_argument("--bytes", default="05")
    p.add_argument("--hold", type=float, default=50.0)
    p.set_defaults(fn=cmd_stall)

    p = sub.add_parser("hold")
    p.add_argument("--proxy", required=True)
    p.add_argument("--dest", required=True)
    p.add_argument("--auth")
    p.set_defaults(fn=cmd_hold)

    p = sub.add_parser("idle-close")
    p.add_argument("--proxy", required=True)
    p.add_argument("--send")
    p.add_argument("--dest")
    p.add_argument("--wait", type=float, default=8.0)
    p.set_defaults(fn=cmd_idle_close)

    p = sub.add_parser("active")
    p.add_argument("--proxy", required=True)
    p.add_argument("--dest", required=True)
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--interval", type=float, default=0.25)
    p.set_defaults(fn=cmd_active)

    p = sub.add_parser("limits")
    p.add_argument("--proxy", required=True)
    p.add_argument("--dest", required=True)
    p.add_argument("--per-client", type=int, required=True)
    p.add_argument("--connections", type=int, required=True)
    p.add_argument("--wait", type=float, default=5.0)
    p.set_defaults(fn=cmd_limits)

    p = sub.add_parser("fdfill")
    p.add_argument("--proxy", required=True)
    p.add_argument("--dest", required=True)
    p.add_argument("--max", type=int, default=100)
    p.add_argument("--step", type=float, default=3.0)
    p.add_argument("--probes", type=int, default=5)
    p.set_defaults(fn=cmd_fdfill)

    p = sub.add_parser("refused")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--wait", type=float, default=5.0)
    p.set_defaults(fn=cmd_refused)

    a = ap.parse_args()
    a.fn(a)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
    except BrokenPipeError:
        pass
