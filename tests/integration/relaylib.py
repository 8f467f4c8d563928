#!/usr/bin/env python3
"""Servers, probes and a packet recorder for the relay tests (probe.sh,
anonymity.sh). Standard library only; every socket operation is bounded.

    relaylib.py origin --bind IP [--port N] [--label TEXT]
        An HTTP origin that logs "connection from IP PORT" for every TCP
        connection it accepts, answers any request with
        "nacre origin LABEL PATH\\n" (Connection: close), and logs how the
        peer ended: "end from IP PORT: eof|reset|eof-before-request|error:E".
    relaylib.py recorder --bind IP (--to HOST:PORT | --sink) --dir DIR [--cut FILE]
        A TCP forwarder that records what clients send. For the K-th
        connection it writes DIR/flight.K (the bytes the client sent before
        the first byte came back: its first flight) and DIR/stream.K
        (everything the client sent). With --sink nothing is forwarded and
        flight.K is written once the client has been quiet for half a second.
        With --cut FILE, the first bytes a client sends once FILE exists make
        the recorder delete FILE and reset that connection both ways (a link
        that dies as a stream starts on it); the connections after it pass.
    relaylib.py probe --relay HOST:PORT --silent-close S [--wait S] PROBE...
        Opens one connection per PROBE to the relay, all at once, and reports
        how each ended: "NAME bytes=N close=eof|reset|open|error:E
        window=yes|no t=SECONDS", in the order given. window=yes when the
        close came between S/2 - 0.5 and S + 1 seconds after the connect.
        A PROBE is NAME=KIND:
          random:N          N random bytes, then wait
          none              send nothing, wait
          file:PATH         the file's bytes
          head:N:PATH       the file's first N bytes
          flip:BIT:PATH     the file with bit BIT flipped (negative: from the end)
    relaylib.py capture --out FILE
        Records every packet seen by this network namespace (an AF_PACKET
        socket bound to no interface) as one line:
        "IFACE DIR TYPE SRC DST PROTO SPORT DPORT"; prints "listening on
        capture:0" once the socket is open. Runs until killed.
    relaylib.py reach --to HOST:PORT [--timeout S]
        Prints "connect=ok|refused|timeout|unreachable|error:E".
"""
import argparse
import errno
import ipaddress
import os
import socket
import socketserver
import struct
import threading
import time

from origin import say  # one whole log line per call, whatever thread calls it


def hostport(s):
    if s.startswith("["):
        host, _, rest = s[1:].partition("]")
        return host, int(rest.lstrip(":"))
    host, _, port = s.rpartition(":")
    return host, int(port)


def family_of(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def show(host, port):
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class ThreadingServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def make_server(bind, port, handler):
    cls = ThreadingServer
    if ":" in bind:
        cls = type("ThreadingServer6", (ThreadingServer,), {"address_family": socket.AF_INET6})
    return cls((bind, port), handler)


# ------------------------------------------------------------------ origin
def cmd_origin(a):
    label = a.label

    class Handler(socketserver.BaseRequestHandler):
        def handle(self):
            peer = self.client_address
            say(f"connection from {peer[0]} {peer[1]}")
            s = self.request
            s.settimeout(20)
            head = b""
            end = "eof"
            try:
                while b"\r\n\r\n" not in head and len(head) < 65536:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    head += chunk
                if b"\r\n\r\n" not in head:
                    raise EOFError
                line = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
                path = line[1] if len(line) == 3 else "?"
                body = f"nacre origin {label} {path}\n".encode()
                s.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                          b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
                s.shutdown(socket.SHUT_WR)
                while s.recv(4096):
                    pass
                end = "eof"
            except EOFError:
                end = "eof-before-request"
            except ConnectionResetError:
                end = "reset"
            except OSError as e:
                end = "error:" + errno.errorcode.get(e.errno, str(e.errno))
            say(f"end from {peer[0]} {peer[1]}: {end}")

    srv = make_server(a.bind, a.port, Handler)
    print("listening on " + show(a.bind, srv.server_address[1]), flush=True)
    srv.serve_forever()


# ------------------------------------------------------------------ recorder
def write_file(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def cut_now(path):
    """Whether path existed; deletes it, so that one cut answers it."""
    try:
        os.unlink(path)
        return True
    except FileNotFoundError:
        return False


def reset_close(s):
    """Closes s with a reset (SO_LINGER 0), as a link that dies does."""
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
    except OSError:
        pass


def cmd_recorder(a):
    counter = [0]
    lock = threading.Lock()
    to = hostport(a.to) if a.to else None

    class Handler(socketserver.BaseRequestHandler):
        def handle(self):
            with lock:
                counter[0] += 1
                k = counter[0]
            say(f"connection {k}")
            c = self.request
            flight = bytearray()
            stream = bytearray()
            state = {"flight_done": False}
            slock = threading.Lock()

            def finish_flight():
                with slock:
                    if state["flight_done"]:
                        return
                    state["flight_done"] = True
                    data = bytes(flight)
                write_file(os.path.join(a.dir, f"flight.{k}"), data)
                say(f"flight {k} {len(data)}")

            up = None
            if to:
                try:
                    up = socket.create_connection(to, timeout=10)
                except OSError as e:
                    say(f"connection {k}: upstream {e}")
                    return
                up.settimeout(None)

                def down():
                    # Upstream -> client. The first byte back ends the flight:
                    # the relay answers only once it has the whole of it.
                    try:
                        while True:
                            d = up.recv(65536)
                            if not d:
                                break
                            finish_flight()
                            c.sendall(d)
                    except OSError:
                        pass
                    try:
                        c.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass

                threading.Thread(target=down, daemon=True).start()
            c.settimeout(0.5 if not to else 120)
            try:
                while True:
                    try:
                        d = c.recv(65536)
                    except socket.timeout:
                        if not to and flight:
                            finish_flight()
                        continue
                    if not d:
                        break
                    if a.cut and cut_now(a.cut):
                        say(f"connection {k}: cut")
                        for s in (c, up):
                            if s:
                                reset_close(s)
                        return
                    with slock:
                        if not state["flight_done"]:
                            flight.extend(d)
                    stream.extend(d)
                    write_file(os.path.join(a.dir, f"stream.{k}"), bytes(stream))
                    if up:
                        up.sendall(d)
            except OSError:
                pass
            finish_flight()
            if up:
                try:
                    up.shutdown(socket.SHUT_WR)
                except OSError:
                    pass

    srv = make_server(a.bind, 0, Handler)
    print("listening on " + show(a.bind, srv.server_address[1]), flush=True)
    srv.serve_forever()


# ------------------------------------------------------------------ probes
def probe_payload(kind):
    what, _, rest = kind.partition(":")
    if what == "none":
        return b""
    if what == "random":
        return os.urandom(int(rest))
    if what == "file":
        with open(rest, "rb") as f:
            return f.read()
    if what == "head":
        n, _, path = rest.partition(":")
        with open(path, "rb") as f:
            return f.read()[: int(n)]
    if what == "flip":
        bit, _, path = rest.partition(":")
        with open(path, "rb") as f:
            data = bytearray(f.read())
        b = int(bit)
        if b < 0:
            b += len(data) * 8
        data[b // 8] ^= 1 << (b % 8)
        return bytes(data)
    raise SystemExit(f"unknown probe kind {kind!r}")


def run_probe(relay, payload, wait, out, slice_len=0, first=0):
    """Connects, sends payload (the first `first` bytes, then slices of
    slice_len, 50 ms apart, if they are given), then reads until the relay
    closes."""
    try:
        s = socket.create_connection(relay, timeout=5)
    except OSError as e:
        out.update(close="connect:" + errno.errorcode.get(e.errno, str(e.errno)), t=0.0)
        return
    t0 = time.monotonic()
    got = 0
    close = "open"
    try:
        step = slice_len or len(payload) or 1
        cuts = [0] + ([first] if first else []) + \
            list(range(first + step if first else step, len(payload), step))
        for k, i in enumerate(cuts):
            if k:
                time.sleep(0.05)
            end = cuts[k + 1] if k + 1 < len(cuts) else len(payload)
            s.sendall(payload[i:end])
        while True:
            left = t0 + wait - time.monotonic()
            if left <= 0:
                break
            s.settimeout(left)
            try:
                d = s.recv(65536)
            except socket.timeout:
                break
            if not d:
                close = "eof"
                break
            got += len(d)
    except ConnectionResetError:
        close = "reset"
    except OSError as e:
        close = "error:" + errno.errorcode.get(e.errno, str(e.errno))
    out.update(bytes=got, close=close, t=time.monotonic() - t0)
    s.close()


def cmd_probe(a):
    relay = hostport(a.relay)
    lo, hi = a.silent_close / 2 - 0.5, a.silent_close + 1
    probes = []
    for p in a.probes:
        name, _, kind = p.partition("=")
        probes.append((name, probe_payload(kind), {"bytes": 0}))
    wait = a.wait if a.wait is not None else hi + 2
    threads = [threading.Thread(target=run_probe,
                                args=(relay, pl, wait, out, a.slice, a.first_slice))
               for _, pl, out in probes]
    for t in threads:
        t.start()
    for t in threads:
        t.join(wait + 10)
    for name, pl, out in probes:
        t = out.get("t", -1.0)
        closed = out.get("close") in ("eof", "reset")
        window = "yes" if closed and lo <= t <= hi else "no"
        print(f"{name} bytes={out['bytes']} close={out.get('close', 'none')} "
              f"window={window} t={t:.2f} sent={len(pl)}", flush=True)


# ------------------------------------------------------------------ capture
ETH_P_ALL = 0x0003
PKTTYPES = {0: "in", 1: "bcast", 2: "mcast", 3: "other", 4: "out"}
IPPROTO = {1: "icmp", 6: "tcp", 17: "udp", 58: "icmp6"}


def describe(frame, hatype):
    """(TYPE, SRC, DST, PROTO, SPORT, DPORT) of an Ethernet or loopback frame."""
    if hatype in (1, 772):  # ARPHRD_ETHER, ARPHRD_LOOPBACK: both have a 14-byte header
        if len(frame) < 14:
            return ("short", "-", "-", "-", 0, 0)
        etype = struct.unpack("!H", frame[12:14])[0]
        p = frame[14:]
    else:
        return (f"hatype{hatype}", "-", "-", "-", 0, 0)
    if etype == 0x0800 and len(p) >= 20:
        ihl = (p[0] & 15) * 4
        proto = p[9]
        src, dst = socket.inet_ntoa(p[12:16]), socket.inet_ntoa(p[16:20])
        l4 = p[ihl:]
        sport = dport = 0
        if proto in (6, 17) and len(l4) >= 4:
            sport, dport = struct.unpack("!HH", l4[:4])
        return ("ipv4", src, dst, IPPROTO.get(proto, str(proto)), sport, dport)
    if etype == 0x86DD and len(p) >= 40:
        nh = p[6]
        src = str(ipaddress.IPv6Address(p[8:24]))
        dst = str(ipaddress.IPv6Address(p[24:40]))
        l4 = p[40:]
        sport = dport = 0
        if nh in (6, 17) and len(l4) >= 4:
            sport, dport = struct.unpack("!HH", l4[:4])
        return ("ipv6", src, dst, IPPROTO.get(nh, str(nh)), sport, dport)
    if etype == 0x0806 and len(p) >= 28:
        return ("arp", socket.inet_ntoa(p[14:18]), socket.inet_ntoa(p[24:28]), "arp", 0, 0)
    return (f"0x{etype:04x}", "-", "-", "-", 0, 0)


def cmd_capture(a):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    out = open(a.out, "a", buffering=1)
    print("listening on capture:0", flush=True)
    while True:
        frame, addr = s.recvfrom(65536)
        ifname, _, pkttype, hatype = addr[:4]
        d = describe(frame, hatype)
        out.write(f"{ifname} {PKTTYPES.get(pkttype, pkttype)} {d[0]} {d[1]} {d[2]} "
                  f"{d[3]} {d[4]} {d[5]}\n")


# ------------------------------------------------------------------ reach
def cmd_reach(a):
    host, port = hostport(a.to)
    s = socket.socket(family_of(host), socket.SOCK_STREAM)
    s.settimeout(a.timeout)
    try:
        s.connect((host, port))
        print("connect=ok")
    except socket.timeout:
        print("connect=timeout")
    except ConnectionRefusedError:
        print("connect=refused")
    except OSError as e:
        if e.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
            print("connect=unreachable")
        else:
            print("connect=error:" + errno.errorcode.get(e.errno, str(e.errno)))
    s.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("origin")
    p.add_argument("--bind", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--label", default="page")
    p.set_defaults(fn=cmd_origin)
    p = sub.add_parser("recorder")
    p.add_argument("--bind", default="127.0.0.1")
    p.add_argument("--to")
    p.add_argument("--sink", action="store_true")
    p.add_argument("--cut", help="reset the first connection to send once this file exists")
    p.add_argument("--dir", required=True)
    p.set_defaults(fn=cmd_recorder)
    p = sub.add_parser("probe")
    p.add_argument("--relay", required=True)
    p.add_argument("--silent-close", type=float, required=True)
    p.add_argument("--wait", type=float, help="give up after this long (silent_close + 3)")
    p.add_argument("--slice", type=int, default=0, help="send in slices of this many bytes")
    p.add_argument("--first-slice", type=int, default=0, help="... after a first one this long")
    p.add_argument("probes", nargs="+")
    p.set_defaults(fn=cmd_probe)
    p = sub.add_parser("capture")
    p.add_argument("--out", required=True)
    p.set_defaults(fn=cmd_capture)
    p = sub.add_parser("reach")
    p.add_argument("--to", required=True)
    p.add_argument("--timeout", type=float, default=1.0)
    p.set_defaults(fn=cmd_reach)
    a = ap.parse_args()
    if a.cmd == "recorder" and bool(a.to) == a.sink:
        ap.error("recorder: give exactly one of --to and --sink")
    a.fn(a)


if __name__ == "__main__":
    try:
        main()
    except (KeyboardInterrupt, BrokenPipeError):
        pass
