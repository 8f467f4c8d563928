/*
 * SOCKS5 and SOCKS4/4a on top of the connection engine: parse with
 * protocol/socks5.c and socks4.c, answer, and hand the destination to
 * client_connect(). Every failure is answered with its own reply code before
 * the connection is closed.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "client.h"
#include "hostname.h"
#include "log.h"
#include "rules.h"
#include "secret.h"
#include "server.h"
#include "socks4.h"
#include "socks5.h"
#include "users.h"

enum socks_step {
	STEP_GREETING,
	STEP_AUTH,
	STEP_REQUEST,
	STEP_WAITING, /* resolving or connecting; input is kept for later */
};

/* ---------------------------------------------------------------- SOCKS5 */

static void s5_reply(struct client *c, uint8_t rep, const struct proto_addr *bnd)
{
	uint8_t out[SOCKS5_REPLY_MAX];
	size_t n = socks5_encode_reply(out, sizeof(out), rep, bnd);
	client_reply(c, out, n);
}

static void s5_fail(struct client *c, uint8_t rep)
{
	s5_reply(c, rep, NULL);
	client_finish(c);
}

static bool sockaddr_to_proto(const struct sockaddr_storage *ss, struct proto_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
		a->type = PROTO_ADDR_IPV4;
		memcpy(a->ip, &sin->sin_addr, 4);
		a->port = ntohs(sin->sin_port);
		return true;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
		a->type = PROTO_ADDR_IPV6;
		memcpy(a->ip, &sin6->sin6_addr, 16);
		a->port = ntohs(sin6->sin6_port);
		return true;
	}
	return false;
}

static void s5_greeting(struct client *c)
{
	struct socks5_greeting g;
	size_t used;
	enum proto_status st =
	    socks5_parse_greeting(buf_head(&c->cin), buf_len(&c->cin), &used, &g);
	if (st == PROTO_NEED_MORE)
		return;
	if (st != PROTO_DONE) {
		client_close(c, "bad SOCKS5 greeting");
		return;
	}
	uint8_t want = c->lc->users ? SOCKS5_METHOD_USERPASS : SOCKS5_METHOD_NONE;
	/*
	 * Through a chain without a users file, credentials are taken (any of
	 * them) only to keep streams apart on kept circuits, as Tor does.
	 */
	if (!c->lc->users && c->lc->route && socks5_greeting_offers(&g, SOCKS5_METHOD_USERPASS))
		want = SOCKS5_METHOD_USERPASS;
	bool offered = socks5_greeting_offers(&g, want);
	buf_consume(&c->cin, used);
	uint8_t out[2];
	client_reply(c, out,
	             socks5_encode_method(out, sizeof(out), offered ? want : SOCKS5_METHOD_REJECT));
	if (!offered) {
		client_finish(c);
		return;
	}
	c->u.socks.step = want == SOCKS5_METHOD_USERPASS ? STEP_AUTH : STEP_REQUEST;
}

/* The tags below are 64 bits, their top bit the mark of a tag: all of it must be kept. */
_Static_assert(sizeof(((struct client *)0)->user) == sizeof(uint64_t),
               "client.user must hold a whole isolation tag");

static void s5_auth(struct client *c)
{
	struct socks5_auth a;
	size_t used;
	enum proto_status st = socks5_parse_auth(buf_head(&c->cin), buf_len(&c->cin), &used, &a);
	if (st == PROTO_NEED_MORE)
		return;
	uint8_t out[2];
	if (st != PROTO_DONE) {
		client_reply(c, out, socks5_encode_auth_reply(out, sizeof(out), 1));
		client_finish(c);
		return;
	}
	if (c->lc->users)
		c->user = users_check(c->lc->users, a.user, a.user_len, a.pass, a.pass_len);
	else /* a tag, with the top bit set so it is never a users file's number */
		c->user = secret_isolation_tag(a.user, a.user_len, a.pass, a.pass_len) | 1ull << 63;
	bool ok = c->user != 0;
	/* The password is no longer needed: do not leave it in the buffer. */
	secret_wipe((void *)a.pass, a.pass_len);
	buf_consume(&c->cin, used);
	client_reply(c, out, socks5_encode_auth_reply(out, sizeof(out), ok ? 0 : 1));
	if (!ok) {
		log_info("client %d: SOCKS5 authentication failed", c->fd);
		client_finish(c);
		return;
	}
	c->u.socks.step = STEP_REQUEST;
}

static void on_resolve_reply(void *arg, const struct resolve_result *res)
{
	struct client *c = arg;
	struct proto_addr a;

	c->rreq = NULL;
	if (res->status != RESOLVE_OK) {
		s5_fail(c, SOCKS5_REP_HOST_UNREACHABLE);
		return;
	}
	if (c->u.socks.cmd == SOCKS5_CMD_RESOLVE_PTR) {
		memset(&a, 0, sizeof(a));
		a.type = PROTO_ADDR_DOMAIN;
		a.name = (const uint8_t *)res->name;
		a.name_len = strlen(res->name);
		if (a.name_len > PROTO_NAME_MAX)
			a.name_len = PROTO_NAME_MAX;
		/* A PTR record naming "" cannot be sent (SOCKS5 names are 1..255 bytes). */
		if (a.name_len == 0) {
			s5_fail(c, SOCKS5_REP_HOST_UNREACHABLE);
			return;
		}
	} else {
		/* Like Tor, answer with the first address, IPv4 if there is one. */
		size_t pick = 0;
		for (size_t i = 0; i < res->naddrs; i++) {
			if (res->addrs[i].ss_family == AF_INET) {
				pick = i;
				break;
			}
		}
		sockaddr_to_proto(&res->addrs[pick], &a);
	}
	a.port = 0;
	s5_reply(c, SOCKS5_REP_SUCCEEDED, &a);
	client_finish(c);
}

/* Tor's RESOLVE and RESOLVE_PTR: answer from the resolver, then close. */
static void s5_resolve(struct client *c, const struct socks5_request *r)
{
	if (r->cmd == SOCKS5_CMD_RESOLVE) {
		if (r->dst.type != PROTO_ADDR_DOMAIN) {
			struct proto_addr a = r->dst;
			a.port = 0;
			s5_reply(c, SOCKS5_REP_SUCCEEDED, &a);
			client_finish(c);
			return;
		}
		if (!hostname_ok(r->dst.name, r->dst.name_len)) {
			s5_fail(c, SOCKS5_REP_HOST_UNREACHABLE);
			return;
		}
		/* A blocked name is not looked up either: the query would leak it. */
		if (rules_match_name(&c->conf->rules, (const char *)r->dst.name, r->dst.name_len,
		                     r->dst.port) == RULE_BLOCK) {
			s5_fail(c, SOCKS5_REP_NOT_ALLOWED);
			return;
		}
		char name[PROTO_NAME_MAX + 1];
		memcpy(name, r->dst.name, r->dst.name_len);
		name[r->dst.name_len] = '\0';
		c->rreq = resolver_lookup(c->srv->resolver, name, on_resolve_reply, c);
	} else {
		if (r->dst.type == PROTO_ADDR_DOMAIN) {
			s5_fail(c, SOCKS5_REP_ATYP_UNSUPPORTED);
			return;
		}
		int family = r->dst.type == PROTO_ADDR_IPV4 ? AF_INET : AF_INET6;
		if (rules_match_ip(&c->conf->rules, family, r->dst.ip, r->dst.port) == RULE_BLOCK) {
			s5_fail(c, SOCKS5_REP_NOT_ALLOWED);
			return;
		}
		struct sockaddr_storage ss;
		memset(&ss, 0, sizeof(ss));
		if (r->dst.type == PROTO_ADDR_IPV4) {
			ss.ss_family = AF_INET;
			memcpy(&((struct sockaddr_in *)&ss)->sin_addr, r->dst.ip, 4);
		} else {
			ss.ss_family = AF_INET6;
			memcpy(&((struct sockaddr_in6 *)&ss)->sin6_addr, r->dst.ip, 16);
		}
		c->rreq =
		    resolver_reverse(c->srv->resolver, (struct sockaddr *)&ss, on_resolve_reply, c);
	}
	if (!c->rreq)
		s5_fail(c, SOCKS5_REP_GENERAL_FAILURE);
	else
		c->phase = PHASE_RESOLVING;
}

static void s5_request(struct client *c)
{
	struct socks5_request r;
	size_t used;
	enum proto_status st = socks5_parse_request(buf_head(&c->cin), buf_len(&c->cin), &used, &r);
	if (st == PROTO_NEED_MORE)
		return;
	if (st == PROTO_ERR_ADDRTYPE) {
		s5_fail(c, SOCKS5_REP_ATYP_UNSUPPORTED);
		return;
	}
	if (st != PROTO_DONE) {
		s5_fail(c, SOCKS5_REP_GENERAL_FAILURE);
		return;
	}
	c->u.socks.cmd = r.cmd;
	c->u.socks.step = STEP_WAITING;
	uint8_t name[PROTO_NAME_MAX];
	switch (r.cmd) {
	/*
	 * The request is consumed before its destination is acted on (a copy
	 * that no longer views cin): a synchronous failure (a refused name, a
	 * block rule) answers and finishes the client at once, releasing cin.
	 */
	case SOCKS5_CMD_CONNECT: {
		struct proto_addr dst = proto_addr_detach(&r.dst, name);
		buf_consume(&c->cin, used);
		client_connect(c, &dst);
		break;
	}
	case SOCKS5_CMD_RESOLVE:
	case SOCKS5_CMD_RESOLVE_PTR:
		if (c->lc->route) {
			/* A lookup here would leak the name; the exit does not offer one. */
			s5_fail(c, SOCKS5_REP_CMD_UNSUPPORTED);
			break;
		}
		r.dst = proto_addr_detach(&r.dst, name);
		buf_consume(&c->cin, used);
		s5_resolve(c, &r);
		break;
	default: /* BIND, UDP ASSOCIATE and anything unknown */
		s5_fail(c, SOCKS5_REP_CMD_UNSUPPORTED);
		break;
	}
}

static void s5_input(struct client *c)
{
	/* Several messages may have arrived in one read: handle each in turn. */
	for (;;) {
		int step = c->u.socks.step;
		if (c->closed || c->phase == PHASE_CLOSING || step == STEP_WAITING)
			return;
		if (buf_len(&c->cin) == 0)
			break;
		if (step == STEP_GREETING)
			s5_greeting(c);
		else if (step == STEP_AUTH)
			s5_auth(c);
		else
			s5_request(c);
		if (c->u.socks.step == step)
			break; /* needs more bytes */
	}
	if (!c->closed && c->c_eof && c->phase == PHASE_HANDSHAKE)
		client_close(c, "client closed during handshake");
}

static void s5_connected(struct client *c)
{
	struct sockaddr_storage local;
	socklen_t len = sizeof(local);
	struct proto_addr bnd;

	/*
	 * BND.ADDR and BND.PORT: the real local end of the outgoing connection.
	 * Through a chain that is the exit's, which nobody here knows: zeros, as
	 * Tor answers.
	 */
	if (c->via_chain) {
		memset(&bnd, 0, sizeof(bnd));
		bnd.type = PROTO_ADDR_IPV4;
	} else if (getsockname(c->ufd, (struct sockaddr *)&local, &len) != 0 ||
	           !sockaddr_to_proto(&local, &bnd)) {
		s5_fail(c, SOCKS5_REP_GENERAL_FAILURE);
		return;
	}
	s5_reply(c, SOCKS5_REP_SUCCEEDED, &bnd);
	client_start_tunnel(c);
}

static uint8_t s5_code(enum client_error e)
{
	switch (e) {
	case CERR_NOT_ALLOWED:
		return SOCKS5_REP_NOT_ALLOWED;
	case CERR_NET_UNREACH:
		return SOCKS5_REP_NET_UNREACHABLE;
	case CERR_HOST_UNREACH:
	case CERR_NOT_FOUND:
		return SOCKS5_REP_HOST_UNREACHABLE;
	case CERR_REFUSED:
		return SOCKS5_REP_REFUSED;
	case CERR_TIMEOUT:
		return SOCKS5_REP_TTL_EXPIRED;
	case CERR_GENERAL:
		break;
	}
	return SOCKS5_REP_GENERAL_FAILURE;
}

static void s5_failed(struct client *c, enum client_error e)
{
	s5_fail(c, s5_code(e));
}

static void no_upstream_input(struct client *c)
{
	(void)c;
}

const struct client_handler socks5_handler = {
    .name = "socks5",
    .input = s5_input,
    .connected = s5_connected,
    .failed = s5_failed,
    .upstream_input = no_upstream_input,
};

/* ---------------------------------------------------------------- SOCKS4 */

static void s4_fail(struct client *c)
{
	uint8_t out[SOCKS4_REPLY_LEN];
	client_reply(c, out, socks4_encode_reply(out, sizeof(out), SOCKS4_REP_REJECTED, NULL, 0));
	client_finish(c);
}

static void s4_input(struct client *c)
{
	if (c->u.socks.step == STEP_WAITING || c->phase == PHASE_CLOSING)
		return;
	struct socks4_request r;
	size_t used;
	enum proto_status st = socks4_parse_request(buf_head(&c->cin), buf_len(&c->cin), &used, &r);
	if (st == PROTO_NEED_MORE) {
		if (c->c_eof)
			client_close(c, "client closed during handshake");
		return;
	}
	/* SOCKS4 cannot carry a password: where credentials are required, refuse it. */
	if (st != PROTO_DONE || r.cmd != SOCKS4_CMD_CONNECT || c->lc->users) {
		s4_fail(c);
		return;
	}
	/* SOCKS4's user id keeps streams apart on kept circuits, as a password would. */
	if (r.userid_len)
		c->user = secret_isolation_tag(r.userid, r.userid_len, NULL, 0) | 1ull << 63;
	c->u.socks.step = STEP_WAITING;
	uint8_t name[PROTO_NAME_MAX];
	struct proto_addr dst = proto_addr_detach(&r.dst, name); /* as in s5_request */
	buf_consume(&c->cin, used);
	client_connect(c, &dst);
}

static void s4_connected(struct client *c)
{
	struct sockaddr_storage local;
	socklen_t len = sizeof(local);
	uint8_t ip[4] = {0, 0, 0, 0};
	uint16_t port = 0;

	/* Through a chain the exit's end is unknown here: zeros. */
	if (!c->via_chain && getsockname(c->ufd, (struct sockaddr *)&local, &len) == 0 &&
	    local.ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)&local;
		memcpy(ip, &sin->sin_addr, 4);
		port = ntohs(sin->sin_port);
	}
	uint8_t out[SOCKS4_REPLY_LEN];
	client_reply(c, out, socks4_encode_reply(out, sizeof(out), SOCKS4_REP_GRANTED, ip, port));
	client_start_tunnel(c);
}

static void s4_failed(struct client *c, enum client_error e)
{
	(void)e; /* SOCKS4 has one code for every failure */
	s4_fail(c);
}

const struct client_handler socks4_handler = {
    .name = "socks4",
    .input = s4_input,
    .connected = s4_connected,
    .failed = s4_failed,
    .upstream_input = no_upstream_input,
};
