#!/usr/bin/env python3
"""A tiny authoritative UDP DNS server for the integration tests.

    dnsd.py [--bind 127.0.0.1] [--count-file FILE] [--delay SECONDS] NAME=ADDR[,ADDR...] ...

Answers A and AAAA queries for the names given on the command line (an
address with a ':' is an AAAA record, otherwise an A record), NODATA for a
known name without a record of the asked type, and NXDOMAIN for every other
name. It listens on an ephemeral port and prints "listening on IP:PORT".
Every query is printed to stdout as "query NAME TYPE RCODE" (flushed), and
when --count-file is given the number of queries answered so far is written
to that file, so a test can assert that the lookup happened at the proxy.
With --delay every reply is sent that many seconds after its query arrived
(the query is printed on arrival), so a test can act while a lookup is in
flight.
Names match case-insensitively and without the trailing dot. Loopback only:
the test's daemons send their lookups here instead of to the system resolver.
"""
import argparse
import ipaddress
import os
import select
import socket
import struct
import sys
import time

TYPE_A, TYPE_AAAA = 1, 28
TYPE_NAMES = {1: "A", 28: "AAAA", 5: "CNAME", 15: "MX", 16: "TXT", 33: "SRV", 65: "HTTPS", 255: "ANY"}
RCODE_NOERROR, RCODE_FORMERR, RCODE_NXDOMAIN, RCODE_NOTIMP = 0, 1, 3, 4
RCODE_NAMES = {0: "NOERROR", 1: "FORMERR", 3: "NXDOMAIN", 4: "NOTIMP"}


def parse_table(items):
    table = {}
    for item in items:
        name, sep, addrs = item.partition("=")
        if not sep or not name:
            sys.exit(f"dnsd: bad entry {item!r}: want NAME=ADDR[,ADDR...]")
        records = table.setdefault(name.lower().rstrip("."), [])
        for a in addrs.split(","):
            if not a:
                continue
            ip = ipaddress.ip_address(a)
            records.append((TYPE_AAAA if ip.version == 6 else TYPE_A, ip.packed))
    return table


def parse_question(msg):
    """Returns (qname, qtype, qclass, end offset) or None if malformed."""
    off, labels = 12, []
    while True:
        if off >= len(msg):
            return None
        n = msg[off]
        off += 1
        if n == 0:
            break
        if n & 0xC0 or off + n > len(msg):
            return None  # no compression in a question we accept
        labels.append(msg[off:off + n].decode("ascii", "replace"))
        off += n
    if off + 4 > len(msg):
        return None
    qtype, qclass = struct.unpack("!HH", msg[off:off + 4])
    return ".".join(labels).lower(), qtype, qclass, off + 4


def answer(msg, table):
    """Builds the reply to one query; returns (reply, qname, qtype, rcode)."""
    if len(msg) < 12:
        return None, "?", 0, RCODE_FORMERR
    qid, flags, qdcount = struct.unpack("!HHH", msg[:6])
    if flags & 0x8000:
        return None, "?", 0, RCODE_FORMERR  # a response, not a query
    opcode = (flags >> 11) & 0xF
    rd = flags & 0x0100
    q = parse_question(msg) if qdcount == 1 else None
    if q is None or opcode != 0:
        rcode = RCODE_FORMERR if q is None else RCODE_NOTIMP
        hdr = struct.pack("!HHHHHH", qid, 0x8000 | (opcode << 11) | rd | 0x80 | rcode, 0, 0, 0, 0)
        return hdr, "?", 0, rcode
    qname, qtype, qclass, end = q
    question = msg[12:end]
    answers = []
    if qname in table:
        rcode = RCODE_NOERROR
        for rtype, rdata in table[qname]:
            if qclass == 1 and (qtype == rtype or qtype == 255):
                answers.append(struct.pack("!HHHIH", 0xC00C, rtype, 1, 60, len(rdata)) + rdata)
    else:
        rcode = RCODE_NXDOMAIN
    # QR, the query's opcode and RD, AA, RA.
    rflags = 0x8000 | (opcode << 11) | 0x0400 | rd | 0x0080 | rcode
    hdr = struct.pack("!HHHHHH", qid, rflags, 1, len(answers), 0, 0)
    return hdr + question + b"".join(answers), qname, qtype, rcode


def main():
    ap = argparse.ArgumentParser(description="tiny UDP DNS server for tests")
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--count-file")
    ap.add_argument("--delay", type=float, default=0.0)
    ap.add_argument("records", nargs="*", metavar="NAME=ADDR[,ADDR...]")
    args = ap.parse_args()
    table = parse_table(args.records)

    family = socket.AF_INET6 if ":" in args.bind else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.bind((args.bind, args.port))
    port = sock.getsockname()[1]
    shown = f"[{args.bind}]" if family == socket.AF_INET6 else args.bind
    print(f"listening on {shown}:{port}", flush=True)

    count = 0
    if args.count_file:
        with open(args.count_file, "w") as f:
            f.write("0\n")
    pending = []  # (due time, reply, peer), oldest first
    while True:
        timeout = max(0.0, pending[0][0] - time.monotonic()) if pending else None
        if select.select([sock], [], [], timeout)[0]:
            msg, peer = sock.recvfrom(4096)
            reply, qname, qtype, rcode = answer(msg, table)
            count += 1
            tname = TYPE_NAMES.get(qtype, str(qtype))
            shown = "".join(c if c.isprintable() and c != " " else f"\\x{ord(c):02x}" for c in qname)
            print(f"query {shown} {tname} {RCODE_NAMES.get(rcode, rcode)}", flush=True)
            if args.count_file:
                tmp = args.count_file + ".tmp"
                with open(tmp, "w") as f:
                    f.write(f"{count}\n")
                os.replace(tmp, args.count_file)
            if reply is not None:
                pending.append((time.monotonic() + args.delay, reply, peer))
        now = time.monotonic()
        while pending and pending[0][0] <= now:
            _, reply, peer = pending.pop(0)
            sock.sendto(reply, peer)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
