/*
 * loadgen: a single-threaded epoll HTTP load generator that can go through a
 * SOCKS5 or HTTP proxy, for nacre's benchmarks (tests/bench/direct.sh).
 *
 * Built on its own, outside automake, so it has no config.h:
 *   cc -O2 -std=c11 -D_GNU_SOURCE -o loadgen loadgen.c
 *
 * Each slot is one client. A request on a fresh connection walks
 *   CONNECTING -> HS_WRITE -> HS_READ [-> HS_WRITE -> HS_READ] -> REQ_WRITE -> RESP_READ
 * (the handshake phases are skipped in direct and http-absolute modes); with
 * --keepalive the next request on that connection starts at REQ_WRITE.
 * SOCKS5 waits for the method reply before it sends CONNECT, as curl and
 * browsers do (microsocks, for one, drops a CONNECT pipelined behind the
 * greeting); --socks5-pipeline sends both in one write.
 * Time to first byte is measured from connect() for a fresh connection and
 * from the request's first write for a reused one; only completed requests
 * (status 200, whole body) count.
 *
 * Sockets are registered once, edge-triggered for both directions; every
 * phase change tries its I/O at once, so no edge is lost while a slot waits
 * in the other direction.
 *
 * --sources N binds the client sockets to 127.0.1.1 .. 127.0.1.N in turn
 * (IP_BIND_ADDRESS_NO_PORT, so the port is still chosen at connect time).
 * Thousands of fresh connections a second leave their TIME_WAIT sockets
 * spread over those addresses instead of using up 127.0.0.1's ephemeral
 * ports, which a proxy that binds before it connects (dante) needs too.
 *
 * Only loopback targets are accepted: this tool must never load a machine
 * other than the one it runs on.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONCURRENCY 10000
#define MAX_DURATION_S  120.0
#define HEAD_MAX        16384 /* response (and CONNECT reply) heads larger than this are errors */
#define MSG_MAX         1024  /* handshake and request bytes */
#define LAT_CAP         (50u * 1000 * 1000)
#define MAX_SOURCES     64

enum mode { MODE_DIRECT, MODE_SOCKS5, MODE_HTTP_CONNECT, MODE_HTTP_ABSOLUTE };

enum phase { PH_IDLE, PH_CONNECTING, PH_HS_WRITE, PH_HS_READ, PH_REQ_WRITE, PH_RESP_READ };

enum err_kind { E_CONNECT, E_HANDSHAKE, E_IO, E_EOF, E_STATUS, E_PARSE, E_TIMEOUT, E_COUNT };
static const char *const err_names[E_COUNT] = {"connect", "handshake", "io",     "eof",
                                               "status",  "parse",     "timeout"};

struct endpoint {
	struct sockaddr_storage ss;
	socklen_t len;
	char text[64]; /* as it goes in a Host header: "127.0.0.1:80" or "[::1]:80" */
};

struct slot {
	int fd;
	enum phase phase;
	uint64_t t_start; /* ns */
	uint64_t deadline;
	bool got_first_byte;
	uint64_t ttfb;          /* ns, recorded when the response completes */
	bool socks_method_done; /* the 05 00 method reply has been read */
	const uint8_t *out;
	size_t out_len, out_off;
	uint8_t in[HEAD_MAX];
	size_t in_len;
	bool head_done;
	bool until_close;   /* no Content-Length: the body ends at EOF */
	bool server_closes; /* "Connection: close" in the response */
	unsigned long long body_left;
};

static struct {
	enum mode mode;
	bool have_proxy;
	struct endpoint proxy, target;
	const char *path;
	int concurrency;
	double duration;
	unsigned long long max_requests; /* 0: no cap */
	bool keepalive;
	bool pipeline;
	bool conn_close; /* send "Connection: close": the origin closes first */
	int sources;     /* 0: let the kernel choose the source address */
	int next_source;
	bool json;
	double timeout;

	uint8_t hs[MSG_MAX]; /* first handshake write */
	size_t hs_len;
	uint8_t hs2[MSG_MAX]; /* SOCKS5 CONNECT, when not pipelined behind the greeting */
	size_t hs2_len;
	uint8_t req[MSG_MAX];
	size_t req_len;

	int ep;
	struct slot *slots;
	unsigned long long issued, completed, errors, err[E_COUNT], body_bytes, connections;
	uint32_t *lat; /* TTFB in us, one per completed request up to LAT_CAP */
	size_t lat_n, lat_cap;
	bool stopping;
} g;

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: loadgen [--proxy HOST:PORT] --mode socks5|http-connect|http-absolute|direct\n"
	    "               --target HOST:PORT [--path /1k] [--concurrency N]\n"
	    "               [--duration SECONDS] [--requests N] [--keepalive]\n"
	    "               [--socks5-pipeline] [--connection-close] [--sources N]\n"
	    "               [--timeout SECONDS] [--json]\n"
	    "HOST must be a loopback address (127.0.0.0/8, ::1) or localhost.\n"
	    "Prints one line of key=value pairs (or a JSON object with --json).\n");
}

static void die(const char *msg)
{
	fprintf(stderr, "loadgen: %s\n", msg);
	exit(2);
}

static bool is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
		return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
	}
	if (ss->ss_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
		if (IN6_IS_ADDR_LOOPBACK(a))
			return true;
		return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
	}
	return false;
}

/* HOST:PORT, [V6]:PORT or localhost:PORT; numeric only, so nothing is looked up. */
static bool parse_endpoint(const char *s, struct endpoint *ep)
{
	char host[INET6_ADDRSTRLEN];
	const char *port_s;
	size_t hlen;
	bool v6 = false;

	memset(ep, 0, sizeof(*ep));
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close || close[1] != ':')
			return false;
		hlen = (size_t)(close - s - 1);
		if (hlen >= sizeof(host))
			return false;
		memcpy(host, s + 1, hlen);
		port_s = close + 2;
		v6 = true;
	} else {
		const char *colon = strrchr(s, ':');
		if (!colon)
			return false;
		hlen = (size_t)(colon - s);
		if (hlen >= sizeof(host))
			return false;
		memcpy(host, s, hlen);
		port_s = colon + 1;
	}
	host[hlen] = '\0';
	char *end;
	errno = 0;
	long port = strtol(port_s, &end, 10);
	if (errno || *port_s == '\0' || *end != '\0' || port < 1 || port > 65535)
		return false;
	if (!v6 && strcmp(host, "localhost") == 0)
		strcpy(host, "127.0.0.1");

	struct sockaddr_in *a4 = (struct sockaddr_in *)&ep->ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ep->ss;
	if (!v6 && inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		ep->len = sizeof(*a4);
		snprintf(ep->text, sizeof(ep->text), "%s:%ld", host, port);
	} else if (v6 && inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		ep->len = sizeof(*a6);
		snprintf(ep->text, sizeof(ep->text), "[%s]:%ld", host, port);
	} else {
		return false;
	}
	return true;
}

static double parse_double(const char *s, const char *what, double lo, double hi)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || *s == '\0' || *end != '\0' || !(v >= lo && v <= hi)) {
		fprintf(stderr, "loadgen: %s: expected a number from %g to %g\n", what, lo, hi);
		exit(2);
	}
	return v;
}

static void parse_args(int argc, char **argv)
{
	const char *mode = NULL, *proxy = NULL, *target = NULL;

	g.path = "/";
	g.concurrency = 1;
	g.duration = 5;
	g.timeout = 10;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		bool takes = true;
		if (strcmp(a, "--keepalive") == 0) {
			g.keepalive = true;
			takes = false;
		} else if (strcmp(a, "--socks5-pipeline") == 0) {
			g.pipeline = true;
			takes = false;
		} else if (strcmp(a, "--connection-close") == 0) {
			g.conn_close = true;
			takes = false;
		} else if (strcmp(a, "--json") == 0) {
			g.json = true;
			takes = false;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			exit(0);
		} else if (!v) {
			usage(stderr);
			exit(2);
		} else if (strcmp(a, "--proxy") == 0) {
			proxy = v;
		} else if (strcmp(a, "--mode") == 0) {
			mode = v;
		} else if (strcmp(a, "--target") == 0) {
			target = v;
		} else if (strcmp(a, "--path") == 0) {
			g.path = v;
		} else if (strcmp(a, "--concurrency") == 0) {
			g.concurrency = (int)parse_double(v, a, 1, MAX_CONCURRENCY);
		} else if (strcmp(a, "--duration") == 0) {
			g.duration = parse_double(v, a, 0.01, MAX_DURATION_S);
		} else if (strcmp(a, "--requests") == 0) {
			g.max_requests = (unsigned long long)parse_double(v, a, 1, 1e12);
		} else if (strcmp(a, "--sources") == 0) {
			g.sources = (int)parse_double(v, a, 1, MAX_SOURCES);
		} else if (strcmp(a, "--timeout") == 0) {
			g.timeout = parse_double(v, a, 0.01, MAX_DURATION_S);
		} else {
			usage(stderr);
			exit(2);
		}
		if (takes)
			i++;
	}

	if (!mode || !target) {
		usage(stderr);
		exit(2);
	}
	if (strcmp(mode, "direct") == 0)
		g.mode = MODE_DIRECT;
	else if (strcmp(mode, "socks5") == 0)
		g.mode = MODE_SOCKS5;
	else if (strcmp(mode, "http-connect") == 0)
		g.mode = MODE_HTTP_CONNECT;
	else if (strcmp(mode, "http-absolute") == 0)
		g.mode = MODE_HTTP_ABSOLUTE;
	else
		die("--mode: expected socks5, http-connect, http-absolute or direct");

	if (!parse_endpoint(target, &g.target))
		die("--target: expected a numeric HOST:PORT, [V6]:PORT or localhost:PORT");
	if (!is_loopback(&g.target.ss))
		die("--target: only loopback addresses (127.0.0.0/8, ::1) are allowed");
	if (proxy) {
		if (!parse_endpoint(proxy, &g.proxy))
			die("--proxy: expected a numeric HOST:PORT, [V6]:PORT or localhost:PORT");
		if (!is_loopback(&g.proxy.ss))
			die("--proxy: only loopback addresses (127.0.0.0/8, ::1) are allowed");
		g.have_proxy = true;
	}
	if (g.sources && (g.have_proxy ? &g.proxy : &g.target)->ss.ss_family != AF_INET)
		die("--sources needs an IPv4 destination");
	if (g.keepalive && g.conn_close)
		die("--keepalive and --connection-close contradict each other");
	if (g.mode == MODE_DIRECT && g.have_proxy)
		die("--mode direct takes no --proxy");
	if (g.mode != MODE_DIRECT && !g.have_proxy)
		die("this mode needs --proxy (or use --mode direct)");
	if (g.path[0] != '/' || strpbrk(g.path, " \r\n") || strlen(g.path) > 512)
		die("--path: expected /something without spaces, at most 512 bytes");
}

/* The handshake and request bytes are the same for every request: build them once. */
static void build_messages(void)
{
	int n;

	g.hs_len = 0;
	g.hs2_len = 0;
	if (g.mode == MODE_SOCKS5) {
		/* Greeting (no auth), then CONNECT: in one write, or in the second one. */
		uint8_t *p = g.hs;
		*p++ = 5, *p++ = 1, *p++ = 0;
		if (!g.pipeline) {
			g.hs_len = 3;
			p = g.hs2;
		}
		uint8_t *req = p;
		*p++ = 5, *p++ = 1, *p++ = 0;
		if (g.target.ss.ss_family == AF_INET) {
			const struct sockaddr_in *a = (const struct sockaddr_in *)&g.target.ss;
			*p++ = 1;
			memcpy(p, &a->sin_addr, 4);
			p += 4;
			memcpy(p, &a->sin_port, 2);
		} else {
			const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&g.target.ss;
			*p++ = 4;
			memcpy(p, &a->sin6_addr, 16);
			p += 16;
			memcpy(p, &a->sin6_port, 2);
		}
		p += 2;
		if (g.pipeline)
			g.hs_len = (size_t)(p - g.hs);
		else
			g.hs2_len = (size_t)(p - req);
	} else if (g.mode == MODE_HTTP_CONNECT) {
		n = snprintf((char *)g.hs, sizeof(g.hs), "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n",
		             g.target.text, g.target.text);
		g.hs_len = (size_t)n;
	}

	const char *extra = g.conn_close ? "Connection: close\r\n" : "";
	if (g.mode == MODE_HTTP_ABSOLUTE)
		n = snprintf((char *)g.req, sizeof(g.req),
		             "GET http://%s%s HTTP/1.1\r\nHost: %s\r\n%s\r\n", g.target.text,
		             g.path, g.target.text, extra);
	else
		n = snprintf((char *)g.req, sizeof(g.req), "GET %s HTTP/1.1\r\nHost: %s\r\n%s\r\n",
		             g.path, g.target.text, extra);
	if (n < 0 || (size_t)n >= sizeof(g.req))
		die("request too long");
	g.req_len = (size_t)n;
}

static void record_latency(uint64_t ns)
{
	if (g.lat_n == g.lat_cap) {
		if (g.lat_cap >= LAT_CAP)
			return;
		size_t cap = g.lat_cap ? g.lat_cap * 2 : 65536;
		uint32_t *n = realloc(g.lat, cap * sizeof(*n));
		if (!n)
			return;
		g.lat = n;
		g.lat_cap = cap;
	}
	uint64_t us = ns / 1000;
	g.lat[g.lat_n++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

static void slot_close(struct slot *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	s->phase = PH_IDLE;
}

static void slot_fail(struct slot *s, enum err_kind k)
{
	g.errors++;
	g.err[k]++;
	slot_close(s);
}

static bool may_issue(void)
{
	return !g.stopping && (g.max_requests == 0 || g.issued < g.max_requests);
}

static void start_request(struct slot *s, uint64_t now)
{
	g.issued++;
	s->t_start = now;
	s->deadline = now + (uint64_t)(g.timeout * 1e9);
	s->got_first_byte = false;
	s->socks_method_done = false;
	s->in_len = 0;
	s->head_done = false;
	s->until_close = false;
	s->server_closes = false;
	s->body_left = 0;
	s->out = g.req;
	s->out_len = g.req_len;
	s->out_off = 0;
	s->phase = PH_REQ_WRITE;
}

static void advance(struct slot *s);

/* The TCP connection is up: send the handshake, or the request if there is none. */
static void connected(struct slot *s)
{
	if (g.hs_len) {
		s->out = g.hs;
		s->out_len = g.hs_len;
		s->out_off = 0;
		s->phase = PH_HS_WRITE;
	} else {
		s->phase = PH_REQ_WRITE;
	}
	advance(s);
}

static void start_connection(struct slot *s)
{
	const struct endpoint *to = g.have_proxy ? &g.proxy : &g.target;
	uint64_t now = now_ns();

	start_request(s, now);
	s->fd = socket(to->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		slot_fail(s, E_CONNECT);
		return;
	}
	g.connections++;
	int one = 1;
	setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (g.sources) {
		struct sockaddr_in src = {.sin_family = AF_INET};
		src.sin_addr.s_addr = htonl(0x7f000101u + (uint32_t)g.next_source);
		g.next_source = (g.next_source + 1) % g.sources;
		setsockopt(s->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
		if (bind(s->fd, (struct sockaddr *)&src, sizeof(src)) < 0) {
			slot_fail(s, E_CONNECT);
			return;
		}
	}
	struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
	                         .data.ptr = s};
	if (epoll_ctl(g.ep, EPOLL_CTL_ADD, s->fd, &ev) < 0) {
		slot_fail(s, E_CONNECT);
		return;
	}
	s->phase = PH_CONNECTING;
	if (connect(s->fd, (const struct sockaddr *)&to->ss, to->len) == 0)
		connected(s);
	else if (errno != EINPROGRESS)
		slot_fail(s, E_CONNECT);
}

/* Starts the slot's next request: on the same connection or a new one. */
static void next(struct slot *s, bool reuse)
{
	if (!may_issue()) {
		slot_close(s);
		return;
	}
	if (reuse) {
		start_request(s, now_ns());
		advance(s);
	} else {
		slot_close(s);
		start_connection(s);
	}
}

static const uint8_t *find_crlf2(const uint8_t *p, size_t n)
{
	for (size_t i = 3; i < n; i++)
		if (p[i] == '\n' && p[i - 1] == '\r' && p[i - 2] == '\n' && p[i - 3] == '\r')
			return p + i + 1;
	return NULL;
}

/* 200 from "HTTP/1.x 200 ..." at p; -1 if the line is not a status line. */
static int status_code(const uint8_t *p, size_t n)
{
	if (n < 12 || memcmp(p, "HTTP/1.", 7) != 0 || p[8] != ' ')
		return -1;
	int code = 0;
	for (int i = 9; i < 12; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		code = code * 10 + (p[i] - '0');
	}
	return code;
}

/* Looks at each header line of head[0..n) for Content-Length and Connection. */
static bool parse_head_fields(struct slot *s, const uint8_t *head, size_t n)
{
	const char *p = (const char *)head, *end = p + n;
	bool have_len = false;

	s->until_close = true;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			break;
		size_t ll = (size_t)(eol - p);
		if (ll >= 15 && strncasecmp(p, "Content-Length:", 15) == 0) {
			unsigned long long v = 0;
			const char *q = p + 15;
			while (q < eol && (*q == ' ' || *q == '\t'))
				q++;
			if (q == eol || *q < '0' || *q > '9')
				return false;
			while (q < eol && *q >= '0' && *q <= '9')
				v = v * 10 + (unsigned long long)(*q++ - '0');
			s->body_left = v;
			have_len = true;
		} else if (ll >= 18 && strncasecmp(p, "Transfer-Encoding:", 18) == 0) {
			return false; /* chunked bodies are not needed here */
		} else if (ll >= 11 && strncasecmp(p, "Connection:", 11) == 0) {
			const char *q = p + 11;
			while (q < eol && (*q == ' ' || *q == '\t'))
				q++;
			if (eol - q >= 5 && strncasecmp(q, "close", 5) == 0)
				s->server_closes = true;
		}
		p = eol + 1;
	}
	if (have_len)
		s->until_close = false;
	return true;
}

static void response_done(struct slot *s)
{
	g.completed++;
	record_latency(s->ttfb);
	bool reuse = g.keepalive && !s->server_closes && !s->until_close;
	next(s, reuse);
}

/* Bytes of the response just read into s->in[s->in_len - n .. s->in_len). */
static bool on_response_bytes(struct slot *s, size_t n)
{
	if (!s->got_first_byte) {
		s->got_first_byte = true;
		s->ttfb = now_ns() - s->t_start;
	}
	if (s->head_done) {
		if (!s->until_close) {
			if (n > s->body_left) {
				slot_fail(s, E_PARSE);
				return false;
			}
			s->body_left -= n;
		}
		g.body_bytes += n;
		return true;
	}
	const uint8_t *body = find_crlf2(s->in, s->in_len);
	if (!body) {
		if (s->in_len == sizeof(s->in)) {
			slot_fail(s, E_PARSE);
			return false;
		}
		return true;
	}
	int code = status_code(s->in, s->in_len);
	if (code < 0 || !parse_head_fields(s, s->in, (size_t)(body - s->in))) {
		slot_fail(s, E_PARSE);
		return false;
	}
	if (code != 200) {
		slot_fail(s, E_STATUS);
		return false;
	}
	s->head_done = true;
	size_t extra = s->in_len - (size_t)(body - s->in);
	s->in_len = 0;
	if (!s->until_close && extra > s->body_left) {
		slot_fail(s, E_PARSE);
		return false;
	}
	if (!s->until_close)
		s->body_left -= extra;
	g.body_bytes += extra;
	return true;
}

/*
 * Handshake replies: true when complete and good; false with *failed set, or
 * false to wait for more. A SOCKS5 slot that must now send its CONNECT gets
 * *send_next.
 */
static bool handshake_complete(struct slot *s, bool *failed, bool *send_next)
{
	*failed = false;
	*send_next = false;
	if (g.mode == MODE_SOCKS5) {
		/* 05 00 (method reply) | 05 00 00 ATYP BND.ADDR BND.PORT */
		const uint8_t *p = s->in;
		size_t n = s->in_len;
		if (!s->socks_method_done) {
			if (n < 2)
				return false;
			if (p[0] != 5 || p[1] != 0 || (!g.pipeline && n > 2)) {
				*failed = true;
				return false;
			}
			s->socks_method_done = true;
			if (!g.pipeline) {
				s->in_len = 0;
				*send_next = true;
				return false;
			}
			p += 2;
			n -= 2;
		} else if (g.pipeline) {
			p += 2;
			n -= 2;
		}
		if (n < 5)
			return false;
		if (p[0] != 5 || p[1] != 0) {
			*failed = true;
			return false;
		}
		size_t need;
		switch (p[3]) {
		case 1:
			need = 4 + 4 + 2;
			break;
		case 4:
			need = 4 + 16 + 2;
			break;
		case 3:
			need = 4 + 1 + (size_t)p[4] + 2;
			break;
		default:
			*failed = true;
			return false;
		}
		if (n < need)
			return false;
		if (n > need) /* the origin spoke first: not expected for HTTP */
			*failed = true;
		return !*failed;
	}
	/* HTTP CONNECT: "HTTP/1.x 200 ...\r\n...\r\n\r\n" */
	const uint8_t *end = find_crlf2(s->in, s->in_len);
	if (!end) {
		if (s->in_len == sizeof(s->in))
			*failed = true;
		return false;
	}
	if (status_code(s->in, s->in_len) != 200 || end != s->in + s->in_len)
		*failed = true;
	return !*failed;
}

/* Does whatever I/O the slot's phase allows until it would block. */
static void advance(struct slot *s)
{
	static uint8_t scratch[262144];

	for (int guard = 0; guard < 100000; guard++) {
		switch (s->phase) {
		case PH_IDLE:
		case PH_CONNECTING:
			return;
		case PH_HS_WRITE:
		case PH_REQ_WRITE: {
			ssize_t n =
			    send(s->fd, s->out + s->out_off, s->out_len - s->out_off, MSG_NOSIGNAL);
			if (n < 0) {
				if (errno == EAGAIN || errno == EINTR)
					return;
				slot_fail(s, E_IO);
				return;
			}
			s->out_off += (size_t)n;
			if (s->out_off == s->out_len) {
				s->in_len = 0;
				s->phase = s->phase == PH_HS_WRITE ? PH_HS_READ : PH_RESP_READ;
			}
			break;
		}
		case PH_HS_READ: {
			ssize_t n = recv(s->fd, s->in + s->in_len, sizeof(s->in) - s->in_len, 0);
			if (n < 0) {
				if (errno == EAGAIN || errno == EINTR)
					return;
				slot_fail(s, E_IO);
				return;
			}
			if (n == 0) {
				slot_fail(s, E_HANDSHAKE);
				return;
			}
			s->in_len += (size_t)n;
			bool failed, send_next;
			if (handshake_complete(s, &failed, &send_next)) {
				s->out = g.req;
				s->out_len = g.req_len;
				s->out_off = 0;
				s->phase = PH_REQ_WRITE;
			} else if (failed) {
				slot_fail(s, E_HANDSHAKE);
				return;
			} else if (send_next) {
				s->out = g.hs2;
				s->out_len = g.hs2_len;
				s->out_off = 0;
				s->phase = PH_HS_WRITE;
			}
			break;
		}
		case PH_RESP_READ: {
			uint8_t *buf;
			size_t cap;
			if (s->head_done) {
				buf = scratch;
				cap = sizeof(scratch);
				if (!s->until_close && s->body_left < cap)
					cap = s->body_left ? (size_t)s->body_left : 1;
			} else {
				buf = s->in + s->in_len;
				cap = sizeof(s->in) - s->in_len;
			}
			ssize_t n = recv(s->fd, buf, cap, 0);
			if (n < 0) {
				if (errno == EAGAIN || errno == EINTR)
					return;
				slot_fail(s, E_IO);
				return;
			}
			if (n == 0) {
				if (s->head_done && s->until_close) {
					s->server_closes = true;
					response_done(s);
				} else {
					slot_fail(s, E_EOF);
				}
				return;
			}
			if (!s->head_done)
				s->in_len += (size_t)n;
			if (!on_response_bytes(s, (size_t)n))
				return;
			if (s->head_done && !s->until_close && s->body_left == 0) {
				response_done(s);
				/* The slot may now hold a new connection or request. */
			}
			break;
		}
		}
	}
}

static void on_event(struct slot *s, uint32_t events)
{
	if (s->phase == PH_CONNECTING) {
		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		int err = 0;
		socklen_t len = sizeof(err);
		if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0) {
			slot_fail(s, E_CONNECT);
			return;
		}
		connected(s);
		return;
	}
	advance(s);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

static unsigned long pct(double p)
{
	if (g.lat_n == 0)
		return 0;
	size_t i = (size_t)(p * (double)(g.lat_n - 1) + 0.5);
	return g.lat[i];
}

static bool emitted;

/* One field of the report: " key=value", or ",\"key\":value" in JSON. */
static void emit(const char *key, bool quote, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void emit(const char *key, bool quote, const char *fmt, ...)
{
	va_list ap;
	if (g.json)
		printf("%s\"%s\":%s", emitted ? "," : "{", key, quote ? "\"" : "");
	else
		printf("%s%s=", emitted ? " " : "", key);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (g.json && quote)
		putchar('"');
	emitted = true;
}

static void report(double elapsed)
{
	static const char *const mode_names[] = {"direct", "socks5", "http-connect",
	                                         "http-absolute"};
	int inflight = 0;
	for (int i = 0; i < g.concurrency; i++)
		inflight += g.slots[i].phase != PH_IDLE;
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	             (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	double n = (double)g.completed;

	qsort(g.lat, g.lat_n, sizeof(*g.lat), cmp_u32);
	emit("mode", true, "%s", mode_names[g.mode]);
	emit("concurrency", false, "%d", g.concurrency);
	emit("keepalive", false, "%d", g.keepalive ? 1 : 0);
	emit("completed", false, "%llu", g.completed);
	emit("errors", false, "%llu", g.errors);
	emit("elapsed_s", false, "%.3f", elapsed);
	emit("rps", false, "%.1f", elapsed > 0 ? n / elapsed : 0.0);
	emit("ttfb_p50_us", false, "%lu", pct(0.50));
	emit("ttfb_p90_us", false, "%lu", pct(0.90));
	emit("ttfb_p99_us", false, "%lu", pct(0.99));
	emit("ttfb_max_us", false, "%lu", g.lat_n ? (unsigned long)g.lat[g.lat_n - 1] : 0ul);
	emit("inflight", false, "%d", inflight);
	emit("connections", false, "%llu", g.connections);
	emit("body_bytes", false, "%llu", g.body_bytes);
	emit("loadgen_cpu_s", false, "%.3f", cpu);
	emit("loadgen_cpu_us_per_req", false, "%.1f", n > 0 ? cpu * 1e6 / n : 0.0);
	for (int k = 0; k < E_COUNT; k++) {
		char key[32];
		snprintf(key, sizeof(key), "err_%s", err_names[k]);
		emit(key, false, "%llu", g.err[k]);
	}
	printf(g.json ? "}\n" : "\n");
	fflush(stdout);
}

int main(int argc, char **argv)
{
	parse_args(argc, argv);
	build_messages();

	/* Each slot holds one descriptor: take all the hard limit allows. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	g.ep = epoll_create1(EPOLL_CLOEXEC);
	if (g.ep < 0)
		die("epoll_create1 failed");
	g.slots = calloc((size_t)g.concurrency, sizeof(*g.slots));
	if (!g.slots)
		die("out of memory");

	uint64_t t0 = now_ns();
	uint64_t t_end = t0 + (uint64_t)(g.duration * 1e9);
	for (int i = 0; i < g.concurrency; i++) {
		g.slots[i].fd = -1;
		if (may_issue())
			start_connection(&g.slots[i]);
	}

	struct epoll_event evs[256];
	uint64_t next_sweep = t0;
	for (;;) {
		int n = epoll_wait(g.ep, evs, 256, 50);
		if (n < 0 && errno != EINTR)
			die("epoll_wait failed");
		for (int i = 0; i < n; i++)
			on_event(evs[i].data.ptr, evs[i].events);

		uint64_t now = now_ns();
		if (now >= t_end || interrupted)
			g.stopping = true;
		if (g.stopping)
			break;
		/* Slots whose request failed wait here to start again, and slow ones time out. */
		bool busy = false;
		for (int i = 0; i < g.concurrency; i++) {
			struct slot *s = &g.slots[i];
			if (s->phase != PH_IDLE && now >= s->deadline)
				slot_fail(s, E_TIMEOUT);
			if (s->phase == PH_IDLE && may_issue() && now >= next_sweep)
				start_connection(s);
			busy |= s->phase != PH_IDLE;
		}
		if (now >= next_sweep)
			next_sweep = now + 1000000; /* retry failed slots at most every 1 ms */
		if (!busy && !may_issue())
			break;
	}
	double elapsed = (double)(now_ns() - t0) / 1e9;
	report(elapsed);
	return 0;
}
