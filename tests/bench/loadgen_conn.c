/*
 * loadgen's clients: the per-connection protocol state machine and its I/O.
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
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loadgen.h"

/* The handshake and request bytes are the same for every request: build them once. */
void build_messages(void)
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

static void slot_close(struct slot *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	s->phase = PH_IDLE;
}

void slot_fail(struct slot *s, enum err_kind k)
{
	g.errors++;
	g.err[k]++;
	slot_close(s);
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

void start_connection(struct slot *s)
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

void on_event(struct slot *s, uint32_t events)
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
