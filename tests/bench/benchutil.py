#!/usr/bin/env python3
"""Helpers for tests/bench/direct.sh and chains.sh: process-tree CPU and memory,
idle SOCKS5 tunnels held open, an upload sink, and the summary table.

  benchutil.py cpu PID...         CPU seconds (user+sys, reaped children included)
                                  of each PID and all its descendants, summed
  benchutil.py cpus PID...        the same, one figure per PID, space-separated
  benchutil.py runtime PID...     nanoseconds on a CPU of the same trees, from
                                  schedstat (exact, but reaped children not included)
  benchutil.py runtimes PID...    the same, one figure per PID, space-separated
  benchutil.py mem PID            "rss_kib=N pss_kib=N procs=N" for the same tree
  benchutil.py rss PID...         VmRSS KiB of each PID's tree, space-separated
  benchutil.py hold --proxy H:P --n N --ready FILE --release FILE [--max-hold S]
                                  opens N SOCKS5 tunnels through the proxy to a sink
                                  this process listens on, writes FILE when they are
                                  up, and closes them when RELEASE exists (or after S)
  benchutil.py sink --port-file FILE [--max-secs S]
                                  an HTTP server on 127.0.0.1 (port written to FILE)
                                  that reads and discards each request's body
                                  (Content-Length) and answers 200 with the number
                                  of body bytes it received; exits after S seconds
  benchutil.py cputime CMD...     runs CMD, then prints "child_cpu_s=N" (its user+sys)
  benchutil.py summarize [--layout direct|chains] TSV JSON
                                  prints the table of medians and writes JSON

Only loopback addresses are used: the sinks listen on 127.0.0.1 and the proxy
must be on 127.0.0.0/8 or ::1.
"""
import ipaddress
import json
import os
import select
import socket
import statistics
import struct
import sys
import threading
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


def read_stat(pid):
    """(ppid, utime+stime+cutime+cstime ticks) from /proc/PID/stat, or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    # The command name may hold spaces and parentheses: fields start after the last ')'.
    fields = data[data.rindex(b")") + 2:].split()
    # fields[0] is state (field 3); ppid is field 4; utime..cstime are fields 14..17.
    ppid = int(fields[1])
    ticks = sum(int(x) for x in fields[11:15])
    return ppid, ticks


_children = None


def children_map():
    """ppid -> [pid] for every process now, read once per run of this script
    (each command reads its figures once; a walk of /proc costs ~20 ms)."""
    global _children
    if _children is None:
        _children = {}
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            st = read_stat(name)
            if st:
                _children.setdefault(st[0], []).append(int(name))
    return _children


def tree(root):
    """PIDs of root and all its descendants that exist now."""
    children = children_map()
    out, todo = [], [root]
    while todo and len(out) < 100000:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def tree_cpu(root):
    total = 0
    for p in tree(root):
        st = read_stat(p)
        if st:
            total += st[1]
    return total / CLK_TCK


def status_kib(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def pss_kib(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def task_runtime_ns(pid):
    """Nanoseconds on a CPU (user+sys, every thread) from /proc/PID/task/*/schedstat:
    exact, where /proc/PID/stat counts clock ticks (10 ms here)."""
    total = 0
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total


def tree_mem(root):
    pids = tree(root)
    rss = sum(status_kib(p, "VmRSS") for p in pids)
    pss = sum(pss_kib(p) for p in pids)
    return rss, pss, len(pids)


def parse_hostport(s):
    host, _, port = s.rpartition(":")
    host = host.strip("[]")
    if host == "localhost":
        host = "127.0.0.1"
    if not ipaddress.ip_address(host).is_loopback:
        sys.exit(f"benchutil: {host} is not a loopback address")
    return host, int(port)


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    return buf


def socks5_open(proxy, sink_port):
    fam = socket.AF_INET6 if ":" in proxy[0] else socket.AF_INET
    c = socket.socket(fam, socket.SOCK_STREAM)
    c.settimeout(10)
    c.connect(proxy)
    # Greeting (no auth), then CONNECT 127.0.0.1:sink_port once the method is chosen,
    # as curl does (microsocks drops a CONNECT pipelined behind the greeting).
    c.sendall(b"\x05\x01\x00")
    if recv_exact(c, 2) != b"\x05\x00":
        raise ConnectionError("no-auth method refused")
    c.sendall(b"\x05\x01\x00\x01" + socket.inet_aton("127.0.0.1") + struct.pack("!H", sink_port))
    head = recv_exact(c, 4)
    if head[:2] != b"\x05\x00":
        raise ConnectionError(f"refused: {head!r}")
    alen = {1: 4, 4: 16}.get(head[3])
    if alen is None:
        alen = recv_exact(c, 1)[0]
    recv_exact(c, alen + 2)
    return c


def hold(args):
    opts = dict(zip(args[::2], args[1::2]))
    proxy = parse_hostport(opts["--proxy"])
    n = int(opts["--n"])
    ready, release = opts["--ready"], opts["--release"]
    max_hold = float(opts.get("--max-hold", "60"))
    deadline = time.monotonic() + 90  # for opening them all

    sink = socket.socket()
    sink.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sink.bind(("127.0.0.1", 0))
    sink.listen(4096)
    sink.setblocking(False)
    sink_port = sink.getsockname()[1]

    clients, accepted, failed = [], [], 0

    def drain_accepts():
        while True:
            try:
                a, _ = sink.accept()
            except BlockingIOError:
                return
            a.settimeout(10)
            accepted.append(a)

    while len(clients) < n and failed < 20 and time.monotonic() < deadline:
        try:
            clients.append(socks5_open(proxy, sink_port))
        except (OSError, ConnectionError) as e:
            failed += 1
            print(f"benchutil hold: tunnel {len(clients)}: {e}", file=sys.stderr)
        drain_accepts()
    end = time.monotonic() + 10
    while len(accepted) < len(clients) and time.monotonic() < end:
        select.select([sink], [], [], 0.1)
        drain_accepts()

    # One byte each way through every tunnel, so each has carried traffic before it idles.
    pinged = 0
    try:
        for c in clients:
            c.sendall(b"p")
        for a in accepted:
            recv_exact(a, 1)
            a.sendall(b"q")
        for c in clients:
            recv_exact(c, 1)
            pinged += 1
    except (OSError, ConnectionError) as e:
        print(f"benchutil hold: ping: {e}", file=sys.stderr)

    with open(ready + ".tmp", "w") as f:
        f.write(f"opened={len(clients)} accepted={len(accepted)} pinged={pinged} failed={failed}\n")
    os.rename(ready + ".tmp", ready)

    end = time.monotonic() + max_hold
    while not os.path.exists(release) and time.monotonic() < end:
        time.sleep(0.05)
    # Reset rather than close: no TIME_WAIT is left behind to use up the ephemeral
    # ports that later tests (and dante, which binds before it connects) need. The
    # origin side goes first so the proxy sees its upstream reset too.
    linger = struct.pack("ii", 1, 0)
    for s in accepted + clients:
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
        except OSError:
            pass
        s.close()
    sink.close()


# ---- upload sink -------------------------------------------------------------

SINK_HEAD_MAX = 65536


def sink_serve_one(conn):
    """One request: headers, then Content-Length body bytes read and dropped."""
    try:
        conn.settimeout(120)
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = conn.recv(4096)
            if not chunk or len(head) > SINK_HEAD_MAX:
                return
            head += chunk
        head, _, rest = head.partition(b"\r\n\r\n")
        length, expect = None, False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == b"content-length" and value.isdigit():
                length = int(value)
            elif name == b"expect" and value == b"100-continue":
                expect = True
        if length is None:
            conn.sendall(b"HTTP/1.1 411 Length Required\r\nContent-Length: 0\r\n"
                         b"Connection: close\r\n\r\n")
            return
        if expect:
            conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        got = len(rest)
        buf = bytearray(1 << 20)
        while got < length:
            n = conn.recv_into(buf)
            if n == 0:
                break
            got += n
        body = str(got).encode()
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "
                     + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)
    except OSError:
        pass
    finally:
        conn.close()


def sink(args):
    opts = dict(zip(args[::2], args[1::2]))
    port_file = opts["--port-file"]
    end = time.monotonic() + float(opts.get("--max-secs", "7200"))
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    srv.settimeout(1)
    with open(port_file + ".tmp", "w") as f:
        f.write(f"{srv.getsockname()[1]}\n")
    os.rename(port_file + ".tmp", port_file)
    while time.monotonic() < end:
        try:
            conn, _ = srv.accept()
        except socket.timeout:
            continue
        conn.setblocking(True)
        threading.Thread(target=sink_serve_one, args=(conn,), daemon=True).start()


# ---- summary ---------------------------------------------------------------

PEER_ORDER = ["direct", "nacre", "microsocks", "dante"]
PEER_TITLE = {"direct": "no proxy", "nacre": "nacre", "microsocks": "microsocks", "dante": "dante"}

# (key, title, better): "hi" or "lo" is which way is better; None: informative only.
FIGURES = [
    ("bulk_mbps", "bulk download, MB/s", "hi"),
    ("bulk_cpu_s_per_gib", "  proxy CPU s per GiB", "lo"),
    ("up_mbps", "bulk upload, MB/s", "hi"),
    ("up_cpu_s_per_gib", "  proxy CPU s per GiB", "lo"),
    ("conn_rps", "new conn+GET 1k, c=50, req/s", "hi"),
    ("conn_ttfb_p50_us", "  TTFB p50, us", "lo"),
    ("conn_ttfb_p99_us", "  TTFB p99, us", "lo"),
    ("conn_cpu_us_per_req", "  proxy CPU us per request", "lo"),
    ("conn_errors", "  errors", "lo"),
    ("conn_loadgen_cpu_pct", "  loadgen's own CPU, % of one core", None),
    ("lat1_ttfb_p50_us", "new conn+GET 1k, c=1, TTFB p50 us", "lo"),
    ("ka_rps", "keep-alive GET 1k, one tunnel, c=1, req/s", "hi"),
    ("ka_ttfb_p50_us", "  TTFB p50, us", "lo"),
    ("ka_ttfb_p99_us", "  TTFB p99, us", "lo"),
    ("ka_cpu_us_per_req", "  proxy CPU us per request", "lo"),
    ("ka_errors", "  errors", "lo"),
    ("idle_kib_per_tunnel", "RSS KiB per idle tunnel", "lo"),
    ("idle_pss_kib_per_tunnel", "PSS KiB per idle tunnel", "lo"),
    ("idle_rss_before_kib", "  RSS before, KiB", None),
    ("idle_rss_with_kib", "  RSS with tunnels open, KiB", None),
    ("idle_rss_after_kib", "  RSS after they close, KiB", "lo"),
    ("idle_rss_kept_kib", "  RSS after - before, KiB", "lo"),
    ("idle_procs_with", "  processes with tunnels open", None),
    ("idle_tunnels", "  tunnels opened", None),
]

# chains.sh: the paths, each a chain of processes, and the ratios it reports.
CHAIN_ORDER = ["direct", "nacre0", "nacre1", "ss1", "nacre3", "ss3", "tor3"]
CHAIN_TITLE = {"direct": "no proxy", "nacre0": "nacre direct", "nacre1": "nacre 1 hop",
               "ss1": "ss 1 hop", "nacre3": "nacre 3 hops", "ss3": "ss 3 hops",
               "tor3": "Tor 3 hops"}
CHAIN_RATIOS = [("nacre1", "ss1"), ("nacre3", "ss3"), ("nacre3", "ss1"), ("nacre3", "tor3")]
CHAIN_FIGURES = [
    ("down_mbps", "bulk download, MB/s", "hi"),
    ("down_cpu_s_per_gib", "  CPU s per GiB, all the path's processes", "lo"),
    ("up_mbps", "bulk upload, MB/s", "hi"),
    ("up_cpu_s_per_gib", "  CPU s per GiB, all the path's processes", "lo"),
    ("ttfb_p50_us", "new conn+GET 1k, c=1: TTFB p50, us", "lo"),
    ("ttfb_p99_us", "  TTFB p99, us", "lo"),
    ("ttfb_cpu_us_per_conn", "  CPU us per new conn+GET, all processes", "lo"),
    ("ttfb_completed", "  requests completed", None),
    ("ttfb_errors", "  errors", "lo"),
    ("ttfbc_p50_us", "  the same, Connection: close: TTFB p50, us", "lo"),
    ("ttfbc_p99_us", "    TTFB p99, us", "lo"),
    ("ttfbc_cpu_us_per_conn", "    CPU us per new conn+GET, all processes", "lo"),
    ("ttfbc_errors", "    errors", "lo"),
    ("conn_rps", "new conn+GET 1k, c=50: req/s", "hi"),
    ("conn_ttfb_p50_us", "  TTFB p50, us", "lo"),
    ("conn_ttfb_p99_us", "  TTFB p99, us", "lo"),
    ("conn_cpu_us_per_conn", "  CPU us per new conn+GET, all processes", "lo"),
    ("conn_errors", "  errors", "lo"),
    ("idle_kib_per_tunnel", "idle tunnels: RSS KiB per tunnel, all processes", "lo"),
    ("idle_kib_per_tunnel_max", "  KiB per tunnel, the largest one process", "lo"),
    ("idle_rss_before_kib", "  RSS before, KiB, all processes", None),
    ("idle_rss_with_kib", "  RSS with tunnels open, KiB", None),
    ("idle_rss_after_kib", "  RSS after they close, KiB", "lo"),
    ("idle_rss_kept_kib", "  RSS after - before, KiB", "lo"),
    ("idle_tunnels", "  tunnels opened", None),
    ("bg_cpu_ms_per_s", "idle background CPU, ms per s (subtracted)", None),
]

LAYOUTS = {
    "direct": {"order": PEER_ORDER, "title": PEER_TITLE, "figures": FIGURES, "ratios": None},
    "chains": {"order": CHAIN_ORDER, "title": CHAIN_TITLE, "figures": CHAIN_FIGURES,
               "ratios": CHAIN_RATIOS,
               # (figure, row title, section): each process's share, by section
               "split": [("down_cpu_s_per_gib", "download", "CPU s per GiB by process"),
                         ("up_cpu_s_per_gib", "upload", "CPU s per GiB by process"),
                         ("ttfb_cpu_us_per_conn", "c=1",
                          "CPU us per new conn+GET by process"),
                         ("conn_cpu_us_per_conn", "c=50",
                          "CPU us per new conn+GET by process"),
                         ("idle_kib_per_tunnel", "KiB per idle tunnel",
                          "memory by process"),
                         ("idle_rss_kept_kib", "RSS after - before, KiB",
                          "memory by process")]},
}

CHECK_FIGURES = [
    ("wrk_keepalive_rps", "wrk -t1 -c50, keep-alive: req/s"),
    ("loadgen_keepalive_rps", "loadgen -c50 --keepalive: req/s"),
    ("wrk_close_rps", "wrk -t1 -c50, Connection: close: req/s"),
    ("loadgen_close_rps", "loadgen -c50 --connection-close: req/s"),
    ("loadgen_fresh_rps", "loadgen -c50, fresh connections (client closes): req/s"),
    ("wrk_keepalive_cpu_us_per_req", "wrk's own CPU us/request, keep-alive"),
    ("loadgen_keepalive_cpu_us_per_req", "loadgen's own CPU us/request, keep-alive"),
    ("wrk_close_cpu_us_per_req", "wrk's own CPU us/request, Connection: close"),
    ("loadgen_close_cpu_us_per_req", "loadgen's own CPU us/request, Connection: close"),
    ("loadgen_fresh_cpu_us_per_req", "loadgen's own CPU us/request, client closes"),
]


def fmt(v):
    if v is None:
        return "-"
    if v == int(v) and abs(v) < 1e15:
        return str(int(v))
    a = abs(v)
    if a >= 100:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def cell(vals):
    if not vals:
        return "-"
    m = statistics.median(vals)
    if len(vals) == 1:
        return fmt(m)
    return f"{fmt(m)} [{fmt(min(vals))}-{fmt(max(vals))}]"


def summarize(tsv, out_json, layout="direct"):
    data = {}  # (figure, peer) -> [values]
    by_round = {}  # (figure, peer) -> {round: value}
    meta = {}
    with open(tsv) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) == 2 and parts[0].startswith("#"):
                meta[parts[0][1:]] = parts[1]
                continue
            if len(parts) != 4 or parts[0] == "round":
                continue
            rnd, fig, peer, val = parts
            try:
                data.setdefault((fig, peer), []).append(float(val))
                by_round.setdefault((fig, peer), {})[rnd] = float(val)
            except ValueError:
                pass
    lay = LAYOUTS[layout]
    titles = lay["title"]
    peers = [p for p in lay["order"] if any(k[1] == p for k in data)]
    if lay["ratios"] is None:
        # nacre against each peer: "nacre/microsocks", JSON ratio_nacre_microsocks
        ratios = [("nacre", p, p, f"nacre/{p}") for p in peers if p not in ("nacre", "direct")]
    else:
        ratios = [(a, b, f"{a}_{b}", f"{titles[a]} / {titles[b]}") for a, b in lay["ratios"]
                  if a in peers and b in peers]

    rows = []
    header = ["figure (median [min-max])"] + [titles[p] for p in peers] + \
        [r[3] for r in ratios]
    summary = {"meta": meta, "figures": {}}
    for key, title, better in lay["figures"]:
        if not any((key, p) in data for p in peers):
            continue
        row = [title]
        fig = {"better": better}
        for p in peers:
            vals = data.get((key, p), [])
            row.append(cell(vals))
            if vals:
                fig[p] = {"median": statistics.median(vals), "min": min(vals),
                          "max": max(vals), "n": len(vals), "values": vals}
        for num, den, name, _ in ratios:
            a, b = data.get((key, num)), data.get((key, den))
            if a and b and statistics.median(b) != 0:
                r = statistics.median(a) / statistics.median(b)
                row.append(f"{r:.2f}")
                fig[f"ratio_{name}"] = r
            else:
                row.append("-")
        rows.append(row)
        summary["figures"][key] = fig

    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]

    def line(r):
        return "| " + " | ".join(c.ljust(widths[i]) for i, c in enumerate(r)) + " |"
    print(line(header))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print(line(r))

    check_rows = []
    for key, title in CHECK_FIGURES:
        vals = data.get((key, "direct"), [])
        if vals:
            check_rows.append((title, cell(vals)))
            summary["figures"][key] = {"direct": {"median": statistics.median(vals),
                                                  "min": min(vals), "max": max(vals),
                                                  "n": len(vals), "values": vals}}
    if check_rows:
        print()
        print("Is loadgen the bottleneck? Same origin, no proxy, same run:")
        w = max(len(t) for t, _ in check_rows)
        for t, c in check_rows:
            print(f"  {t.ljust(w)}  {c}")

    # loadgen's CPU per request on the direct path does not depend on any proxy:
    # when it jumps, setting up a connection cost more in that round (a busy
    # machine or host, or TIME_WAIT sockets left by an earlier test), and the
    # CPU and rate figures of that round are high with it.
    canary = (by_round.get(("loadgen_fresh_cpu_us_per_req", "direct"))
              or by_round.get(("loadgen_close_cpu_us_per_req", "direct"), {}))
    if len(canary) > 1:
        low = min(canary.values())
        noisy = sorted(r for r, v in canary.items() if v > 1.5 * low)
        summary["noisy_rounds"] = noisy
        if noisy:
            print()
            print(f"note: loadgen's own CPU per new direct connection was {fmt(low)}-"
                  f"{fmt(max(canary.values()))} us: in round(s) {', '.join(noisy)} connections "
                  "cost more than usual, so their CPU and rate figures are high.")
    # chains.sh records each process's share as FIGURE:NAME, the names in the
    # order of the meta line procs_PATH (client first).
    sections = {}
    for key, title, section in lay.get("split", []):
        for p in peers:
            names = meta.get(f"procs_{p}", "").split()
            cells = []
            for n in names:
                vals = data.get((f"{key}:{n}", p))
                if vals:
                    m = statistics.median(vals)
                    cells.append(f"{n} {fmt(m)}")
                    summary["figures"].setdefault(key, {}).setdefault(p, {}) \
                        .setdefault("by_process", {})[n] = m
            if cells:
                sections.setdefault(section, []).append(
                    f"  {title}, {titles[p]}: " + ", ".join(cells))
    for section, split_rows in sections.items():
        print()
        print(f"{section} (medians):")
        for r in split_rows:
            print(r)

    targets = memory_targets(data, meta, titles, layout)
    if targets:
        print()
        print("The issue's memory targets (medians):")
        for t in targets:
            print(t)
        summary["targets"] = targets

    with open(out_json, "w") as f:
        json.dump(summary, f, indent=1, sort_keys=True)


def rss_kept_share(before, with_, after):
    """Of what the idle tunnels took (with - before), the share still held
    after they closed; None when they took nothing measurable."""
    if None in (before, with_, after) or with_ <= before:
        return None
    return max(0.0, (after - before) / (with_ - before))


def memory_targets(data, meta, titles, layout):
    """Lines on nacre's idle-tunnel memory against the issue's targets: at most
    8 KiB per hop (each process) per idle chained tunnel, and RSS back near
    its baseline once the tunnels close."""
    def med(key, p):
        vals = data.get((key, p))
        return statistics.median(vals) if vals else None

    out = []
    paths = ["nacre"] if layout == "direct" else ["nacre1", "nacre3"]
    for p in paths:
        b, w, a = (med(k, p) for k in ("idle_rss_before_kib", "idle_rss_with_kib",
                                        "idle_rss_after_kib"))
        if layout == "chains":
            per = [(n, med(f"idle_kib_per_tunnel:{n}", p))
                   for n in meta.get(f"procs_{p}", "").split()]
            per = [(n, v) for n, v in per if v is not None]
            if per:
                n, v = max(per, key=lambda x: x[1])
                out.append(f"  {titles[p]}: KiB per idle tunnel per process, at most {fmt(v)}"
                           f" ({n}); target <= 8: {'met' if v <= 8 else 'NOT met'}")
        kept = rss_kept_share(b, w, a)
        if kept is not None:
            back = 100 * (1 - kept)
            out.append(f"  {titles[p]}: RSS {fmt(b)} KiB before, {fmt(w)} with the tunnels,"
                       f" {fmt(a)} after: {back:.0f}% of what they took given back,"
                       f" {fmt(a - b)} KiB above the baseline")
    return out


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "cpu":
        print(f"{sum(tree_cpu(int(a)) for a in args):.2f}")
    elif cmd == "runtime":
        print(sum(task_runtime_ns(int(p)) for a in args for p in tree(int(a))))
    elif cmd == "runtimes":
        print(" ".join(str(sum(task_runtime_ns(p) for p in tree(int(a)))) for a in args))
    elif cmd == "cpus":
        print(" ".join(f"{tree_cpu(int(a)):.2f}" for a in args))
    elif cmd == "rss":
        print(" ".join(str(tree_mem(int(a))[0]) for a in args))
    elif cmd == "mem":
        rss, pss, n = tree_mem(int(args[0]))
        print(f"rss_kib={rss} pss_kib={pss} procs={n}")
    elif cmd == "cputime":
        import resource
        import subprocess
        rc = subprocess.call(args)
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        sys.stdout.flush()
        print(f"child_cpu_s={ru.ru_utime + ru.ru_stime:.3f}")
        sys.exit(rc)
    elif cmd == "hold":
        hold(args)
    elif cmd == "sink":
        sink(args)
    elif cmd == "summarize":
        layout = "direct"
        if args[:1] == ["--layout"]:
            layout, args = args[1], args[2:]
        summarize(args[0], args[1], layout)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
