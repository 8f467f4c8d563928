/*
 * The HTTP proxy on top of the connection engine.
 *
 * CONNECT: parse the head, connect, answer 200, then tunnel; bytes the client
 * sent after the head (before the 200) stay in cin and go first.
 *
 * Absolute-form ("GET http://host/path"): one message at a time in each
 * direction. The request head is rewritten to origin-form without hop-by-hop
 * headers into uout, the body is passed through as the framing scanner finds
 * it, then the response head is rewritten into cout and its body passed
 * through. When both sides allow it the client connection stays open for the
 * next request, and the upstream connection is reused when the next request
 * goes to the same host and port.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "client.h"
#include "http.h"
#include "log.h"
#include "server.h"
#include "secret.h"
#include "users.h"

enum req_step {
	REQ_HEAD,   /* waiting for a request head */
	REQ_BODY,   /* passing the request body upstream */
	REQ_DONE,   /* whole request sent; waiting for the response */
	REQ_TUNNEL, /* CONNECT accepted: no more parsing */
};

enum resp_step {
	RESP_IDLE,
	RESP_HEAD,
	RESP_BODY,
};

/* The head we send upstream may grow by a Host line and a Connection line. */
#define HEAD_OUT_MAX (HTTP_HEAD_MAX + 512)

/*
 * The most our own answer to a request (a status, CONNECT's 200) takes in
 * cout. Room for it is kept from the moment a request is taken up until its
 * response head goes out: a next request waits for cout to have that room,
 * and so does an interim (1xx) head, so the answer can never find cout full.
 * (A full cout takes a bulk block instead, but none may be left.)
 */
#define STATUS_MAX 1024

static void send_status(struct client *c, int status, const char *extra)
{
	uint8_t out[STATUS_MAX];
	size_t n = http_encode_status(out, sizeof(out), status, true, extra);
	if (!client_reply(c, out, n)) {
		/* Only without memory: a FIN alone would look like an answer. */
		client_abort(c, "no room for a status");
		return;
	}
	client_finish(c);
}

static int status_for_parse_error(enum proto_status st)
{
	return st == PROTO_ERR_VERSION ? 505 : 400;
}

/* Basic credentials from Proxy-Authorization, checked against the users file. */
static bool authorized(struct client *c, const struct http_request *req)
{
	if (!c->lc->users)
		return true;
	/*
	 * Judged per request (RFC 9110 11.7.2): an earlier request's user on a
	 * kept-alive connection must not carry over to one whose credentials
	 * name nobody, such as a value without the colon RFC 7617 requires.
	 */
	c->user = 0;
	const struct http_header *h =
	    http_find_header(req->headers, req->nheaders, "Proxy-Authorization");
	if (!h || h->value_len < 7 || strncasecmp((const char *)h->value, "Basic ", 6) != 0)
		return false;
	const char *b64 = (const char *)h->value + 6;
	size_t b64len = h->value_len - 6;
	while (b64len && *b64 == ' ') {
		b64++;
		b64len--;
	}
	uint8_t plain[520];
	long n = secret_base64_decode(plain, sizeof(plain), b64, b64len);
	if (n > 0) {
		uint8_t *colon = memchr(plain, ':', (size_t)n);
		if (colon)
			c->user = users_check(c->lc->users, plain, (size_t)(colon - plain),
			                      colon + 1, (size_t)n - (size_t)(colon - plain) - 1);
	}
	secret_wipe(plain, sizeof(plain));
	return c->user != 0;
}

static void dest_from_request(const struct http_request *req, struct proto_addr *dst, bool *ok)
{
	memset(dst, 0, sizeof(*dst));
	dst->port = req->port;
	*ok = true;
	if (req->host_len > PROTO_NAME_MAX) {
		*ok = false;
		return;
	}
	/*
	 * A bracketed host must be an IPv6 address. Anything else goes on as a
	 * name: client_connect takes one that spells an address as that address.
	 */
	if (req->host_is_ipv6) {
		char host[PROTO_NAME_MAX + 1];
		memcpy(host, req->host, req->host_len);
		host[req->host_len] = '\0';
		dst->type = PROTO_ADDR_IPV6;
		*ok = inet_pton(AF_INET6, host, dst->ip) == 1;
		return;
	}
	dst->type = PROTO_ADDR_DOMAIN;
	dst->name = req->host;
	dst->name_len = req->host_len;
}

static void start_request(struct client *c, const struct http_request *req)
{
	struct http_state *hs = &c->u.http;
	struct proto_addr dst;
	bool ok;

	dest_from_request(req, &dst, &ok);
	if (!ok) {
		send_status(c, 400, NULL);
		return;
	}
	hs->req_was_head = req->method_len == 4 && memcmp(req->method, "HEAD", 4) == 0;
	hs->client_keep_alive = req->keep_alive;
	hs->client_http10 = req->version_minor == 0;
	http_body_init(&hs->req_body, req->body, req->content_length);

	uint8_t head[HEAD_OUT_MAX];
	size_t n = http_encode_request_head(head, sizeof(head), req);
	if (n == 0 || !buf_append(&c->uout, head, n)) {
		send_status(c, 400, NULL);
		return;
	}
	hs->req_step = req->body == HTTP_BODY_NONE ? REQ_DONE : REQ_BODY;
	hs->resp_step = RESP_HEAD;

	/*
	 * Reuse the upstream connection when it goes to the same place for the
	 * same user (who may differ per request: isolation holds within a
	 * connection too) and has said nothing since its last answer. It is
	 * read while idle, so bytes or an EOF there are its own (a 408 before
	 * it closes, say), not an answer to this request.
	 */
	bool same = c->ufd >= 0 && !c->u_eof && buf_len(&c->uin) == 0 &&
	            hs->upstream_user == c->user && strlen(hs->host) == req->host_len &&
	            strncasecmp(hs->host, (const char *)req->host, req->host_len) == 0 &&
	            hs->port == req->port;
	memcpy(hs->host, req->host, req->host_len);
	hs->host[req->host_len] = '\0';
	hs->port = req->port;
	buf_consume(&c->cin, req->head_len);
	if (same) {
		c->phase = PHASE_FORWARD;
		return;
	}
	hs->upstream_used = false;
	hs->upstream_user = c->user; /* another user's request takes another stream */
	/*
	 * req and dst point into cin, which buf_consume() above has released:
	 * work only from the copies from here on. Keep the new head too:
	 * client_upstream_close() empties uout.
	 */
	client_upstream_close(c);
	buf_append(&c->uout, head, n);
	if (dst.type == PROTO_ADDR_DOMAIN)
		dst.name = (const uint8_t *)hs->host;
	client_connect(c, &dst);
}

static void parse_head(struct client *c)
{
	struct http_request req;
	enum proto_status st = http_parse_request(buf_head(&c->cin), buf_len(&c->cin), &req);

	if (st == PROTO_NEED_MORE) {
		/*
		 * The answer to the last request may still be in cout (it can be
		 * complete before the FIN is read): finish, which sends it first.
		 */
		if (c->c_eof) {
			log_debug("client %d: %s", c->fd,
			          buf_len(&c->cin) ? "closed inside a request head" : "done");
			client_finish(c);
		}
		return;
	}
	if (st != PROTO_DONE) {
		log_debug("client %d: bad HTTP request: %s", c->fd, proto_strerror(st));
		send_status(c, status_for_parse_error(st), NULL);
		return;
	}
	if (!authorized(c, &req)) {
		send_status(c, 407, "Proxy-Authenticate: Basic realm=\"nacre\"\r\n");
		return;
	}
	if (req.is_connect) {
		struct proto_addr dst;
		bool ok;
		dest_from_request(&req, &dst, &ok);
		if (!ok) {
			send_status(c, 400, NULL);
			return;
		}
		c->u.http.req_step = REQ_TUNNEL;
		/*
		 * An earlier request's upstream (kept alive) must not live on
		 * under the tunnel's: its descriptor and sealed state would leak,
		 * and its unread bytes or EOF would pass for the tunnel's.
		 */
		client_upstream_close(c);
		/*
		 * The head is consumed first, the name copied out of it: a
		 * synchronous failure (a refused name, a block rule) answers and
		 * finishes the client inside client_connect, which releases cin.
		 */
		uint8_t name[PROTO_NAME_MAX];
		dst = proto_addr_detach(&dst, name);
		buf_consume(&c->cin, req.head_len);
		client_connect(c, &dst);
		return;
	}
	if (req.form != HTTP_FORM_ABSOLUTE) {
		/* Not a proxy request: an origin-form request is for a web server. */
		send_status(c, 400, NULL);
		return;
	}
	start_request(c, &req);
}

/*
 * Moves request body bytes from cin to uout as far as the framing and room
 * allow. The scanner is asked even with no bytes to give: a body with nothing
 * left (Content-Length: 0) ends there, and no later read would end it.
 */
static void pump_request_body(struct client *c)
{
	struct http_state *hs = &c->u.http;
	while (hs->req_step == REQ_BODY) {
		size_t avail = buf_len(&c->cin), room = buf_room(&c->uout), used;
		if (avail > room)
			avail = room;
		enum proto_status st =
		    http_body_scan(&hs->req_body, buf_head(&c->cin), avail, &used);
		if (proto_failed(st)) {
			/* After part of an answer, a 400 would read as more of it. */
			if (hs->resp_step == RESP_BODY)
				client_abort(c, "client sent a malformed body");
			else
				send_status(c, 400, NULL);
			return;
		}
		buf_append(&c->uout, buf_head(&c->cin), used);
		buf_consume(&c->cin, used);
		if (st == PROTO_DONE)
			hs->req_step = REQ_DONE;
		else if (used == 0)
			break;
	}
	if (hs->req_step == REQ_BODY && c->c_eof && buf_len(&c->cin) == 0)
		client_close(c, "client closed inside a request body");
}

static void http_input(struct client *c)
{
	struct http_state *hs = &c->u.http;

	if (c->phase == PHASE_CLOSING || hs->req_step == REQ_TUNNEL)
		return;
	if (hs->req_step == REQ_HEAD &&
	    (c->phase == PHASE_HANDSHAKE || c->phase == PHASE_FORWARD)) {
		/*
		 * A pipelined request is taken up only once its answer would
		 * fit behind the last response (see STATUS_MAX); the room that
		 * writing cout makes resumes it (http_upstream_input).
		 */
		if (buf_room(&c->cout) < STATUS_MAX)
			return;
		parse_head(c);
	}
	if (c->closed || c->phase == PHASE_CLOSING)
		return;
	if (hs->req_step == REQ_BODY)
		pump_request_body(c);
	if (!c->closed && hs->req_step == REQ_DONE && c->c_eof && c->phase == PHASE_FORWARD &&
	    buf_len(&c->cin) == 0 && hs->resp_step == RESP_IDLE)
		client_close(c, "client done");
}

/* The response is complete: wait for the next request, or close. */
static void response_done(struct client *c)
{
	struct http_state *hs = &c->u.http;
	hs->resp_step = RESP_IDLE;
	hs->upstream_used = true;
	/* A stopping server serves no next request: it has closed its listeners too. */
	if (hs->close_after || hs->req_step != REQ_DONE || c->srv->draining) {
		client_finish(c);
		return;
	}
	/* Stay in PHASE_FORWARD: the idle timeout covers the wait for the next request. */
	hs->req_step = REQ_HEAD;
	if (buf_len(&c->cin))
		http_input(c);
	else if (c->c_eof)
		client_finish(c);
}

static void bad_gateway(struct client *c)
{
	if (c->u.http.resp_step == RESP_HEAD) {
		send_status(c, 502, NULL);
	} else {
		client_abort(c, "upstream broke a response");
	}
}

static void parse_response(struct client *c)
{
	struct http_state *hs = &c->u.http;
	struct http_response resp;
	enum proto_status st =
	    http_parse_response(buf_head(&c->uin), buf_len(&c->uin), hs->req_was_head, &resp);
	if (st == PROTO_NEED_MORE) {
		if (c->u_eof || buf_room(&c->uin) == 0)
			bad_gateway(c);
		return;
	}
	if (st != PROTO_DONE) {
		bad_gateway(c);
		return;
	}
	bool interim = resp.status >= 100 && resp.status < 200;
	if (resp.status == 101) {
		/* Upgrade is hop-by-hop and never forwarded, so a 101 is a broken origin. */
		bad_gateway(c);
		return;
	}
	if (resp.body == HTTP_BODY_CHUNKED && hs->client_http10) {
		/* RFC 9112 6.1: never chunked to a 1.0 request; its client could not read it. */
		bad_gateway(c);
		return;
	}
	if (interim && hs->client_http10) {
		/* HTTP/1.0 has no 1xx: a client could take one for the answer. */
		buf_consume(&c->uin, resp.head_len);
		return;
	}
	if (!interim)
		hs->close_after =
		    !hs->client_keep_alive || !resp.keep_alive || resp.body == HTTP_BODY_CLOSE;
	uint8_t head[HEAD_OUT_MAX];
	size_t n =
	    http_encode_response_head(head, sizeof(head), &resp, !interim && hs->close_after);
	/* After an interim head a 502 or 400 may still be due: keep its room. */
	if (n == 0 || buf_room(&c->cout) < n + (interim ? STATUS_MAX : 0)) {
		if (n != 0 && buf_len(&c->cout))
			return; /* wait for cout to drain */
		bad_gateway(c);
		return;
	}
	buf_append(&c->cout, head, n);
	buf_consume(&c->uin, resp.head_len);
	if (interim)
		return;
	http_body_init(&hs->resp_body, resp.body, resp.content_length);
	hs->resp_step = RESP_BODY;
}

static void http_upstream_input(struct client *c)
{
	struct http_state *hs = &c->u.http;

	/* Also called when writing made room in cout: a waiting next request goes on. */
	if (hs->resp_step == RESP_IDLE && hs->req_step == REQ_HEAD && buf_len(&c->cin)) {
		http_input(c);
		return;
	}

	while (!c->closed && c->phase == PHASE_FORWARD) {
		if (hs->resp_step == RESP_HEAD) {
			if (buf_len(&c->uin) == 0) {
				if (c->u_eof)
					bad_gateway(c);
				return;
			}
			int before = hs->resp_step;
			size_t had = buf_len(&c->uin);
			parse_response(c);
			if (hs->resp_step == before && buf_len(&c->uin) == had)
				return;
			continue;
		}
		if (hs->resp_step != RESP_BODY)
			return;
		size_t avail = buf_len(&c->uin), room = buf_room(&c->cout), used = 0;
		if (avail > room)
			avail = room;
		/* Asked even with nothing to give: Content-Length: 0 ends the body here. */
		enum proto_status st =
		    http_body_scan(&hs->resp_body, buf_head(&c->uin), avail, &used);
		if (proto_failed(st)) {
			client_abort(c, "upstream sent a malformed body");
			return;
		}
		buf_append(&c->cout, buf_head(&c->uin), used);
		buf_consume(&c->uin, used);
		if (st == PROTO_DONE) {
			if (buf_len(&c->uin))
				hs->close_after = true; /* the origin sent more than it framed */
			response_done(c);
			return;
		}
		if (c->u_eof && buf_len(&c->uin) == 0) {
			if (hs->resp_body.kind == HTTP_BODY_CLOSE) {
				hs->close_after = true;
				response_done(c);
			} else {
				client_abort(c, "upstream closed inside a response body");
			}
			return;
		}
		if (used == 0)
			return;
	}
}

static void http_connected(struct client *c)
{
	struct http_state *hs = &c->u.http;
	if (hs->req_step == REQ_TUNNEL) {
		uint8_t out[128];
		/* Never a tunnel without its 200 (RFC 9110 9.3.6). */
		if (!client_reply(c, out, http_encode_status(out, sizeof(out), 200, false, NULL))) {
			client_abort(c, "no room for the 200");
			return;
		}
		client_start_tunnel(c);
		return;
	}
	client_start_forward(c);
	http_input(c);
}

static void http_failed(struct client *c, enum client_error e)
{
	int status = 502;
	if (e == CERR_NOT_ALLOWED)
		status = 403;
	else if (e == CERR_TIMEOUT)
		status = 504;
	send_status(c, status, NULL);
}

/*
 * Between requests of a kept-alive client: waiting for a head not yet begun,
 * with the last answer all sent (a response is done once it is in cout).
 */
static bool http_idle(const struct client *c)
{
	const struct http_state *hs = &c->u.http;
	return c->phase == PHASE_FORWARD && hs->req_step == REQ_HEAD &&
	       hs->resp_step == RESP_IDLE && buf_len(&c->cin) == 0 && buf_len(&c->cout) == 0;
}

/* No response is awaited from the upstream connection (kept alive, or none). */
static bool http_upstream_quiet(const struct client *c)
{
	return c->phase == PHASE_FORWARD && c->u.http.resp_step == RESP_IDLE;
}

const struct client_handler http_handler = {
    .name = "http",
    .input = http_input,
    .connected = http_connected,
    .failed = http_failed,
    .upstream_input = http_upstream_input,
    .idle = http_idle,
    .upstream_quiet = http_upstream_quiet,
};
