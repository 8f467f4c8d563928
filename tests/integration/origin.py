#!/usr/bin/env python3
"""Origin servers (and small client helpers) for nacre's integration tests.

Run as a program it starts one server on loopback, port 0 unless --port is
given, and prints "listening on HOST:PORT" (IPv6 as [::1]:PORT) once per
address. Given both --host 127.0.0.1 and --host ::1 it listens on the same port
on both.

Modes:
  http       HTTP/1.1 origin with keep-alive:
               GET|HEAD /bytes/N      N bytes of the deterministic stream
               GET      /chunked[/N]  the stream, chunked, with a trailer
               GET      /close[/N]    the stream, close-delimited
               GET      /headers      the request head exactly as received
               GET      /conn-id      an id unique per TCP connection
               GET      /peer         "ADDR PORT" of the TCP peer seen
               GET      /label        the --label given to this origin
               POST     /sha256       hex SHA-256 of the body (Content-Length
                                      or chunked with trailers)
               GET      /delay/MS     "late", MS milliseconds after the request
               GET      /then-408?TAG "before the 408", then an unsolicited 408
                                      (what an origin sends before closing an
                                      idle connection); the connection is then
                                      held open, and "then-408 TAG: closed by
                                      the peer" logged once the peer closes it
               POST     /answer-first head and first half of a 20-byte body
                                      before reading the request body; the
                                      rest once the request's side has ended
               POST     /interim/N    N "100 Continue" heads before reading
                                      the request body, and no final answer:
                                      reads to EOF, then closes
  echo       raw TCP echo; echoes the peer's FIN too
  halfclose  reads to EOF, replies "got N bytes sha256=HEX", closes; logs
             "halfclose: got N bytes sha256=HEX then EOF". With
             --read-pause MS it reads slowly: 16 KiB at a time, MS
             milliseconds apart, with a 64 KiB receive buffer
  sendclose  sends GREETING, shuts down its write side, reads to EOF, and
             writes "N HEX" to the --record file (one file per connection:
             FILE, or FILE.K for the K-th connection after the first)
  dns        UDP DNS server: A/AAAA for --dns-name names (127.0.0.1 / ::1),
             PTR for 127.0.0.1, NXDOMAIN otherwise; logs each query name to
             --record

Other uses:
  origin.py --print-sha256 N    hex SHA-256 of the first N stream bytes
  origin.py --gen N             writes the first N stream bytes to stdout
The test scripts may also import this file for the client helpers at the end.
"""

import argparse
import hashlib
import itertools
import os
import socket
import struct
import sys
import threading
import time

_say_lock = threading.Lock()


def say(line):
    """One whole line to stdout. Handlers run in threads, and print() writes
    the text and its newline separately: two handlers ending together could
    leave "AB\n\n" in the log. relaylib.py's handlers log through it too."""
    with _say_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


# ---------------------------------------------------------------- the stream
# A deterministic byte stream: a block of SHA-256 outputs whose length is a
# prime, so that a dropped or repeated buffer-sized piece always changes the
# hash of any longer prefix.
_BLOCK_LEN = 1048573
_block = None


def _stream_block():
    global _block
    if _block is None:
        out = bytearray()
        for i in itertools.count():
            out += hashlib.sha256(b"nacre-origin-%d" % i).digest()
            if len(out) >= _BLOCK_LEN:
                break
        _block = bytes(out[:_BLOCK_LEN])
    return _block


def stream_chunks(n, size=256 * 1024):
    """Yields the first n stream bytes as memoryviews of at most size bytes."""
    block = memoryview(_stream_block())
    off = 0
    while n > 0:
        take = min(n, size, _BLOCK_LEN - off)
        yield block[off:off + take]
        n -= take
        off = (off + take) % _BLOCK_LEN


def stream_bytes(n):
    return b"".join(bytes(c) for c in stream_chunks(n))


def stream_sha256(n):
    h = hashlib.sha256()
    for c in stream_chunks(n):
        h.update(c)
    return h.hexdigest()


# ---------------------------------------------------------------- helpers
class Closed(Exception):
    pass


class Reader:
    """Buffered reads from a socket."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()

    def fill(self):
        data = self.sock.recv(262144)
        if not data:
            raise Closed()
        self.buf += data

    def until(self, sep, limit=1 << 20):
        while True:
            i = self.buf.find(sep)
            if i >= 0:
                out = bytes(self.buf[:i + len(sep)])
                del self.buf[:i + len(sep)]
                return out
            if len(self.buf) > limit:
                raise ValueError("line too long")
            self.fill()

    def exact(self, n):
        while len(self.buf) < n:
            self.fill()
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def consume(self, n, sink):
        """Passes n bytes to sink without keeping them."""
        while n > 0:
            if not self.buf:
                self.fill()
            take = min(n, len(self.buf))
            sink(self.buf[:take])
            del self.buf[:take]
            n -= take

    def to_eof(self, sink):
        if self.buf:
            sink(bytes(self.buf))
            self.buf.clear()
        while True:
            data = self.sock.recv(262144)
            if not data:
                return
            sink(data)


def read_head(r):
    """Reads an HTTP head (through the empty line); returns the raw bytes."""
    head = bytearray()
    while True:
        line = r.until(b"\n", limit=65536)
        head += line
        if len(head) > 65536:
            raise ValueError("head too long")
        if line in (b"\r\n", b"\n"):
            if len(head) == len(line):  # tolerate a stray CRLF between requests
                head.clear()
                continue
            return bytes(head)


def parse_head(raw):
    lines = raw.decode("latin-1").split("\n")
    first = lines[0].rstrip("\r")
    headers = []
    for line in lines[1:]:
        line = line.rstrip("\r")
        if not line:
            break
        name, _, value = line.partition(":")
        headers.append((name.strip().lower(), value.strip()))
    return first, headers


def header(headers, name):
    for k, v in headers:
        if k == name:
            return v
    return None


def read_body(r, headers, sink):
    """Reads a request body (Content-Length or chunked) into sink."""
    te = header(headers, "transfer-encoding")
    if te is not None and te.lower().split(",")[-1].strip() == "chunked":
        while True:
            line = r.until(b"\n", limit=4096)
            size = int(line.split(b";")[0].strip(), 16)
            if size == 0:
                while r.until(b"\n", limit=65536) not in (b"\r\n", b"\n"):
                    pass  # trailer fields
                return
            r.consume(size, sink)
            if r.exact(2) != b"\r\n":
                raise ValueError("bad chunk end")
    cl = header(headers, "content-length")
    if cl is not None:
        r.consume(int(cl), sink)


def send_stream(sock, n):
    for c in stream_chunks(n):
        sock.sendall(c)


# ---------------------------------------------------------------- servers
_conn_ids = itertools.count(1)


def serve_http(sock, peer, args):
    conn_id = next(_conn_ids)
    r = Reader(sock)
    while True:
        try:
            raw = read_head(r)
        except Closed:
            return
        first, headers = parse_head(raw)
        parts = first.split(" ")
        if len(parts) != 3:
            sock.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        method, target, version = parts
        conn_hdr = (header(headers, "connection") or "").lower()
        if version == "HTTP/1.0":
            keep = "keep-alive" in conn_hdr
        else:
            keep = "close" not in conn_hdr
        path = target.split("?")[0]
        if method == "POST" and path == "/answer-first":
            # Some origins answer (a refusal, say) before the upload is over.
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 20\r\nConnection: close\r\n\r\n"
                         b"0123456789")
            r.to_eof(lambda b: None)
            sock.sendall(b"abcdefghij")
            return
        if method == "POST" and path.startswith("/interim/"):
            n = int(path.split("/")[2])
            try:
                while n > 0:
                    k = min(n, 10000)
                    sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n" * k)
                    n -= k
                r.to_eof(lambda b: None)
            except OSError:
                pass
            return
        digest = hashlib.sha256()
        nbody = [0]

        def sink(b):
            digest.update(b)
            nbody[0] += len(b)

        read_body(r, headers, sink)
        head_only = method == "HEAD"
        segs = path.strip("/").split("/")
        ka = b"keep-alive" if keep else b"close"

        def reply(status, body, ctype=b"text/plain"):
            sock.sendall(b"HTTP/1.1 " + status + b"\r\nContent-Type: " + ctype +
                         b"\r\nContent-Length: %d\r\nConnection: " % len(body) + ka +
                         b"\r\n\r\n" + (b"" if head_only else body))

        if method in ("GET", "HEAD") and segs[0] == "bytes" and len(segs) == 2:
            n = int(segs[1])
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                         b"Content-Length: %d\r\nConnection: " % n + ka + b"\r\n\r\n")
            if not head_only:
                send_stream(sock, n)
        elif method in ("GET", "HEAD") and segs[0] == "chunked":
            n = int(segs[1]) if len(segs) > 1 else 100000
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                         b"Transfer-Encoding: chunked\r\nTrailer: X-Origin-Trailer\r\n"
                         b"Connection: " + ka + b"\r\n\r\n")
            if not head_only:
                data = stream_bytes(n)
                sizes = itertools.cycle([1, 7, 4096, 100, 65536, 3, 16384])
                off = 0
                while off < n:
                    k = min(next(sizes), n - off)
                    sock.sendall(b"%x\r\n" % k + data[off:off + k] + b"\r\n")
                    off += k
                sock.sendall(b"0\r\nX-Origin-Trailer: sha256=" +
                             stream_sha256(n).encode() + b"\r\n\r\n")
        elif method in ("GET", "HEAD") and segs[0] == "close":
            n = int(segs[1]) if len(segs) > 1 else 100000
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                         b"Connection: close\r\n\r\n")
            if not head_only:
                send_stream(sock, n)
            return
        elif method in ("GET", "HEAD") and path == "/headers":
            reply(b"200 OK", raw)
        elif method in ("GET", "HEAD") and path == "/conn-id":
            reply(b"200 OK", b"%d\n" % conn_id)
        elif method in ("GET", "HEAD") and path == "/label":
            reply(b"200 OK", args.label.encode() + b"\n")
        elif method in ("GET", "HEAD") and path == "/peer":
            reply(b"200 OK", ("%s %d\n" % (peer[0], peer[1])).encode())
        elif method == "POST" and path == "/sha256":
            reply(b"200 OK", digest.hexdigest().encode())
        elif method == "GET" and segs[0] == "delay" and len(segs) == 2:
            time.sleep(int(segs[1]) / 1000.0)
            reply(b"200 OK", b"late\n")
        elif method == "GET" and path == "/1xx":
            # Two interim heads before the answer, whatever the request's version.
            sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\n")
            reply(b"200 OK", b"after 1xx\n")
        elif method == "GET" and path == "/then-reset":
            reply(b"200 OK", b"before the reset\n")
            time.sleep(0.1)
            # An idle keep-alive connection dropped with a reset, as some
            # load balancers do.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return
        elif method == "GET" and path == "/then-408":
            reply(b"200 OK", b"before the 408\n")
            time.sleep(0.1)
            sock.sendall(b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n"
                         b"Connection: close\r\n\r\n")
            # Held open: only the 408's bytes, not an EOF, say the connection is over.
            r.to_eof(lambda b: None)
            say("then-408 %s: closed by the peer" % target.partition("?")[2])
            return
        else:
            reply(b"404 Not Found", b"not found\n")
        if not keep:
            return


def serve_echo(sock, peer, args):
    while True:
        data = sock.recv(262144)
        if not data:
            sock.shutdown(socket.SHUT_WR)
            return
        sock.sendall(data)


def serve_halfclose(sock, peer, args):
    h = hashlib.sha256()
    n = 0
    piece = 262144
    if args.read_pause:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        piece = 16384
    while True:
        data = sock.recv(piece)
        if not data:
            break
        h.update(data)
        n += len(data)
        if args.read_pause:
            time.sleep(args.read_pause / 1000.0)
    reply = "got %d bytes sha256=%s" % (n, h.hexdigest())
    say("halfclose: %s then EOF" % reply)
    sock.sendall(reply.encode())


_record_seq = itertools.count(0)


def write_record(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


def serve_sendclose(sock, peer, args):
    seq = next(_record_seq)
    sock.sendall(args.greeting.encode() + b"\n")
    sock.shutdown(socket.SHUT_WR)
    h = hashlib.sha256()
    n = 0
    while True:
        data = sock.recv(262144)
        if not data:
            break
        h.update(data)
        n += len(data)
    line = "%d %s\n" % (n, h.hexdigest())
    say("sendclose: received " + line.strip())
    if args.record:
        write_record(args.record if seq == 0 else "%s.%d" % (args.record, seq), line)


SERVERS = {"http": serve_http, "echo": serve_echo, "halfclose": serve_halfclose,
           "sendclose": serve_sendclose}


def handle(conn, peer, args):
    try:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        SERVERS[args.mode](conn, peer, args)
    except (Closed, ConnectionError, ValueError, OSError) as e:
        say("connection from %s: %r" % (peer[0], e))
    finally:
        conn.close()


def accept_loop(ls, args):
    while True:
        conn, peer = ls.accept()
        threading.Thread(target=handle, args=(conn, peer, args), daemon=True).start()


# ---------------------------------------------------------------- dns
def dns_name(msg, off):
    labels = []
    while True:
        n = msg[off]
        if n == 0:
            return ".".join(labels), off + 1
        if n & 0xC0:
            raise ValueError("compressed name in question")
        labels.append(msg[off + 1:off + 1 + n].decode("ascii", "replace"))
        off += 1 + n


def dns_encode(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def dns_answer(query, names, log):
    qid, flags, qd = struct.unpack("!HHH", query[:6])
    if qd != 1:
        return None
    name, off = dns_name(query, 12)
    qtype, qclass = struct.unpack("!HH", query[off:off + 4])
    question = query[12:off + 4]
    if log:
        with open(log, "a") as f:
            f.write("%s %d\n" % (name.lower(), qtype))
    lname = name.lower().rstrip(".")
    rdata = None
    rcode = 3
    if lname in names or lname == "localhost":
        rcode = 0
        if qtype == 1:
            rdata = socket.inet_pton(socket.AF_INET, "127.0.0.1")
        elif qtype == 28:
            rdata = socket.inet_pton(socket.AF_INET6, "::1")
    elif lname == "1.0.0.127.in-addr.arpa":
        rcode = 0
        if qtype == 12:
            rdata = dns_encode("localhost")
    rflags = 0x8000 | (flags & 0x0100) | 0x0400 | 0x0080 | rcode
    out = struct.pack("!HHHHHH", qid, rflags, 1, 1 if rdata else 0, 0, 0) + question
    if rdata:
        out += b"\xc0\x0c" + struct.pack("!HHIH", qtype, qclass, 60, len(rdata)) + rdata
    return out


def dns_loop(s, args):
    names = {n.lower().rstrip(".") for n in args.dns_name}
    while True:
        query, peer = s.recvfrom(4096)
        try:
            ans = dns_answer(query, names, args.record)
        except (ValueError, IndexError, struct.error):
            continue
        if ans:
            s.sendto(ans, peer)


# ---------------------------------------------------------------- main
def bind_all(hosts, port, udp):
    """Binds every host on one port (port 0: the kernel picks the first)."""
    kind = socket.SOCK_DGRAM if udp else socket.SOCK_STREAM
    for _attempt in range(50):
        socks = []
        try:
            p = port
            for h in hosts:
                fam = socket.AF_INET6 if ":" in h else socket.AF_INET
                s = socket.socket(fam, kind)
                socks.append(s)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if fam == socket.AF_INET6:
                    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                s.bind((h, p))
                p = s.getsockname()[1]
            return socks, p
        except OSError:
            for s in socks:
                s.close()
            if port:
                raise
    raise OSError("could not bind the same port on " + ", ".join(hosts))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=sorted(SERVERS) + ["dns"], default="http")
    ap.add_argument("--host", action="append", help="127.0.0.1 or ::1 (repeatable)")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--record", help="sendclose: result file; dns: query log")
    ap.add_argument("--greeting", default="hello from sendclose")
    ap.add_argument("--label", default="origin", help="http: what GET /label returns")
    ap.add_argument("--read-pause", type=int, default=0, metavar="MS",
                    help="halfclose: read 16 KiB at a time, MS milliseconds apart")
    ap.add_argument("--dns-name", action="append", default=[])
    ap.add_argument("--print-sha256", type=int, metavar="N")
    ap.add_argument("--gen", type=int, metavar="N")
    args = ap.parse_args()
    if args.print_sha256 is not None:
        print(stream_sha256(args.print_sha256))
        return
    if args.gen is not None:
        out = sys.stdout.buffer
        for c in stream_chunks(args.gen):
            out.write(c)
        out.flush()
        return
    hosts = args.host or ["127.0.0.1"]
    for h in hosts:
        if h not in ("127.0.0.1", "::1"):
            sys.exit("origin.py listens on loopback only, not " + h)
    udp = args.mode == "dns"
    socks, port = bind_all(hosts, args.port, udp)
    if args.mode in ("http",):
        _stream_block()  # before listening, so the first request is not slow
    threads = []
    for s, h in zip(socks, hosts):
        if udp:
            t = threading.Thread(target=dns_loop, args=(s, args), daemon=True)
        else:
            s.listen(128)
            t = threading.Thread(target=accept_loop, args=(s, args), daemon=True)
        t.start()
        threads.append(t)
        print("listening on %s:%d" % ("[%s]" % h if ":" in h else h, port), flush=True)
    for t in threads:
        t.join()


# ---------------------------------------------------------------- client helpers
def recv_exact(sock, n):
    out = bytearray()
    while len(out) < n:
        data = sock.recv(n - len(out))
        if not data:
            raise Closed("EOF after %d of %d bytes" % (len(out), n))
        out += data
    return bytes(out)


def recv_to_eof(sock):
    out = bytearray()
    while True:
        data = sock.recv(262144)
        if not data:
            return bytes(out)
        out += data


def socks5_addr(host):
    """The ATYP + address bytes for host (an IP literal or a name)."""
    try:
        return b"\x01" + socket.inet_pton(socket.AF_INET, host)
    except OSError:
        pass
    try:
        return b"\x04" + socket.inet_pton(socket.AF_INET6, host)
    except OSError:
        pass
    return b"\x03" + bytes([len(host)]) + host.encode()


def socks5_request(host, port, cmd=1):
    return b"\x05" + bytes([cmd]) + b"\x00" + socks5_addr(host) + struct.pack("!H", port)


def socks5_read_reply(sock):
    """Reads a SOCKS5 reply; returns (rep, (host, port)) with host a string."""
    ver, rep, rsv, atyp = recv_exact(sock, 4)
    if ver != 5:
        raise ValueError("reply version %d" % ver)
    if atyp == 1:
        host = socket.inet_ntop(socket.AF_INET, recv_exact(sock, 4))
    elif atyp == 4:
        host = socket.inet_ntop(socket.AF_INET6, recv_exact(sock, 16))
    elif atyp == 3:
        n = recv_exact(sock, 1)[0]
        host = recv_exact(sock, n).decode("latin-1")
    else:
        raise ValueError("reply ATYP %d" % atyp)
    port = struct.unpack("!H", recv_exact(sock, 2))[0]
    return rep, atyp, host, port


def socks5_connect(proxy_port, host, port, user=None, password=None, proxy_host="127.0.0.1"):
    """Opens a SOCKS5 CONNECT tunnel; returns (sock, rep, bnd_host, bnd_port)."""
    s = socket.create_connection((proxy_host, proxy_port), timeout=10)
    if user is None:
        s.sendall(b"\x05\x01\x00")
        if recv_exact(s, 2) != b"\x05\x00":
            raise ValueError("method not accepted")
    else:
        s.sendall(b"\x05\x01\x02")
        if recv_exact(s, 2) != b"\x05\x02":
            raise ValueError("method 2 not accepted")
        u, p = user.encode(), password.encode()
        s.sendall(b"\x01" + bytes([len(u)]) + u + bytes([len(p)]) + p)
        if recv_exact(s, 2)[1] != 0:
            raise ValueError("authentication failed")
    s.sendall(socks5_request(host, port))
    rep, _atyp, bh, bp = socks5_read_reply(s)
    return s, rep, bh, bp


def http_connect(proxy_port, host, port, early=b""):
    """Opens an HTTP CONNECT tunnel; returns (sock, status line, leftover)."""
    s = socket.create_connection(("127.0.0.1", proxy_port), timeout=10)
    authority = "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)
    s.sendall(("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (authority, authority)).encode() + early)
    buf = b""
    while b"\r\n\r\n" not in buf:
        data = s.recv(65536)
        if not data:
            raise Closed("EOF in CONNECT reply: %r" % buf)
        buf += data
    head, _, rest = buf.partition(b"\r\n\r\n")
    return s, head.split(b"\r\n")[0].decode("latin-1"), rest


def http_response(r, head_only=False):
    """Reads one HTTP/1.1 response from Reader r; returns (status, headers, body)."""
    raw = read_head(r)
    first, headers = parse_head(raw)
    status = int(first.split(" ")[1])
    body = bytearray()
    if head_only or status in (204, 304) or 100 <= status < 200:
        pass
    elif header(headers, "transfer-encoding") or header(headers, "content-length"):
        read_body(r, headers, body.extend)
    else:
        r.to_eof(body.extend)
    return status, headers, bytes(body)


if __name__ == "__main__":
    main()
