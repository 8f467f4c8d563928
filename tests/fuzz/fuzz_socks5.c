/*
 * libFuzzer target for protocol/socks5.c: runs the greeting, auth and request
 * parsers on the input alone and as one pipelined stream (greeting -> auth ->
 * request), and abort()s when a result breaks the contract in proto.h:
 *  - DONE uses between 1 and len bytes, no more than the message's maximum,
 *    and its views lie inside the input;
 *  - answers are prefix-consistent: a message that is DONE with *used = u is
 *    NEED_MORE for every shorter prefix and DONE(u) for every longer input;
 *    an error never turns back into NEED_MORE or DONE as bytes are added;
 *  - a parsed request's address re-encodes to the bytes it came from.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "socks5.h"

static void check(int ok)
{
	if (!ok)
		abort();
}

static int within(const uint8_t *view, size_t view_len, const uint8_t *p, size_t len)
{
	return view >= p && view_len <= len && (size_t)(view - p) <= len - view_len;
}

typedef enum proto_status (*parse_fn)(const uint8_t *p, size_t len, size_t *used, void *out);

static enum proto_status greeting_fn(const uint8_t *p, size_t len, size_t *used, void *out)
{
	return socks5_parse_greeting(p, len, used, out);
}

static enum proto_status auth_fn(const uint8_t *p, size_t len, size_t *used, void *out)
{
	return socks5_parse_auth(p, len, used, out);
}

static enum proto_status request_fn(const uint8_t *p, size_t len, size_t *used, void *out)
{
	return socks5_parse_request(p, len, used, out);
}

/*
 * Checks the prefix property of fn on (p, len) whose full answer is s (with
 * *used = u when DONE). Every parser here answers from at most max bytes, so
 * only prefixes up to max + 1 can differ. The shortest prefix that decides
 * is also parsed from an exact-size copy, so ASan catches a read past it.
 */
static void check_prefixes(parse_fn fn, const uint8_t *p, size_t len, enum proto_status s, size_t u,
                           size_t max, void *out)
{
	size_t limit = len < max + 1 ? len : max + 1;
	size_t decided = len;
	for (size_t k = 0; k <= limit; k++) {
		size_t used = 0;
		enum proto_status t = fn(p, k, &used, out);
		if (t == PROTO_NEED_MORE)
			continue;
		/* The first deciding prefix must give the final answer, and it sticks. */
		check(t == s);
		if (s == PROTO_DONE)
			check(used == u && k >= u);
		if (decided == len)
			decided = k;
	}
	if (s == PROTO_DONE)
		check(decided == u);
	/* A valid prefix is shorter than the longest message. */
	if (s == PROTO_NEED_MORE)
		check(decided == len && len < max);

	if (decided < len || s != PROTO_NEED_MORE) {
		uint8_t *copy = malloc(decided ? decided : 1);
		check(copy != NULL);
		if (decided)
			memcpy(copy, p, decided);
		size_t used = 0;
		check(fn(copy, decided, &used, out) == s);
		free(copy);
	}
}

static void check_greeting(const uint8_t *p, size_t len, enum proto_status s, size_t used,
                           const struct socks5_greeting *g)
{
	check(s == PROTO_DONE || s == PROTO_NEED_MORE || s == PROTO_ERR_VERSION ||
	      s == PROTO_ERR_MALFORMED);
	if (s != PROTO_DONE)
		return;
	check(used >= 3 && used <= len && used <= SOCKS5_GREETING_MAX);
	check(g->nmethods >= 1 && used == 2 + g->nmethods);
	check(g->methods == p + 2 && within(g->methods, g->nmethods, p, len));
	for (unsigned m = 0; m < 256; m++) {
		int found = memchr(g->methods, (int)m, g->nmethods) != NULL;
		check(socks5_greeting_offers(g, (uint8_t)m) == found);
	}
}

static void check_auth(const uint8_t *p, size_t len, enum proto_status s, size_t used,
                       const struct socks5_auth *a)
{
	check(s == PROTO_DONE || s == PROTO_NEED_MORE || s == PROTO_ERR_VERSION ||
	      s == PROTO_ERR_MALFORMED);
	if (s != PROTO_DONE)
		return;
	check(used >= 5 && used <= len && used <= SOCKS5_AUTH_MAX);
	check(a->user_len >= 1 && a->user_len <= 255 && a->pass_len >= 1 && a->pass_len <= 255);
	check(used == 3 + a->user_len + a->pass_len);
	check(within(a->user, a->user_len, p, len) && within(a->pass, a->pass_len, p, len));
	check(a->user == p + 2 && a->pass == a->user + a->user_len + 1);
}

static void check_request(const uint8_t *p, size_t len, enum proto_status s, size_t used,
                          const struct socks5_request *r)
{
	check(s == PROTO_DONE || s == PROTO_NEED_MORE || s == PROTO_ERR_VERSION ||
	      s == PROTO_ERR_MALFORMED || s == PROTO_ERR_ADDRTYPE);
	if (s != PROTO_DONE)
		return;
	/* The shortest request has a one-byte name: VER CMD RSV ATYP LEN NAME PORT. */
	check(used >= 8 && used <= len && used <= SOCKS5_REQUEST_MAX);
	check(r->cmd == p[1]);
	switch (r->dst.type) {
	case PROTO_ADDR_IPV4:
		check(used == 10);
		break;
	case PROTO_ADDR_IPV6:
		check(used == 22);
		break;
	case PROTO_ADDR_DOMAIN:
		check(r->dst.name_len >= 1 && r->dst.name_len <= PROTO_NAME_MAX);
		check(used == 7 + r->dst.name_len);
		check(within(r->dst.name, r->dst.name_len, p, len));
		break;
	default:
		abort();
	}

	/* A reply has the request's layout: re-encoding gives back the same bytes. */
	uint8_t out[SOCKS5_REPLY_MAX];
	size_t n = socks5_encode_reply(out, sizeof(out), r->cmd, &r->dst);
	check(n == used && memcmp(out, p, n) == 0);
	check(socks5_encode_reply(out, n - 1, r->cmd, &r->dst) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t used;
	enum proto_status s;

	/* Each parser on the whole input. */
	struct socks5_greeting g;
	used = 0;
	s = socks5_parse_greeting(data, size, &used, &g);
	check_greeting(data, size, s, used, &g);
	check_prefixes(greeting_fn, data, size, s, used, SOCKS5_GREETING_MAX, &g);

	struct socks5_auth a;
	used = 0;
	s = socks5_parse_auth(data, size, &used, &a);
	check_auth(data, size, s, used, &a);
	check_prefixes(auth_fn, data, size, s, used, SOCKS5_AUTH_MAX, &a);

	struct socks5_request r;
	used = 0;
	s = socks5_parse_request(data, size, &used, &r);
	check_request(data, size, s, used, &r);
	check_prefixes(request_fn, data, size, s, used, SOCKS5_REQUEST_MAX, &r);

	/* One pipelined stream: greeting, auth when offered, then the request. */
	size_t off = 0;
	s = socks5_parse_greeting(data, size, &used, &g);
	if (s == PROTO_DONE) {
		off += used;
		if (socks5_greeting_offers(&g, SOCKS5_METHOD_USERPASS)) {
			s = socks5_parse_auth(data + off, size - off, &used, &a);
			check_auth(data + off, size - off, s, used, &a);
			if (s == PROTO_DONE)
				off += used;
		}
	}
	if (s == PROTO_DONE) {
		s = socks5_parse_request(data + off, size - off, &used, &r);
		check_request(data + off, size - off, s, used, &r);
		if (s == PROTO_DONE) {
			off += used;
			check(off <= size);
		}
	}
	check(proto_strerror(s) != NULL);

	/* The encoders, fed from the input. */
	uint8_t out[SOCKS5_REPLY_MAX];
	uint8_t rep = size ? data[0] : 0;
	check(socks5_encode_method(out, sizeof(out), rep) == 2 && out[0] == 5 && out[1] == rep);
	check(socks5_encode_auth_reply(out, sizeof(out), rep) == 2 && out[0] == 1);
	check(socks5_encode_reply(out, sizeof(out), rep, NULL) == 10);
	check(out[1] == rep && out[3] == PROTO_ADDR_IPV4);
	struct proto_addr bnd = {.type = PROTO_ADDR_DOMAIN,
	                         .name = data,
	                         .name_len = size < PROTO_NAME_MAX ? size : PROTO_NAME_MAX,
	                         .port = (uint16_t)size};
	size_t n = socks5_encode_reply(out, sizeof(out), rep, &bnd);
	if (size == 0) {
		check(n == 0);
	} else {
		check(n == 7 + bnd.name_len && out[4] == bnd.name_len);
		check(memcmp(out + 5, data, bnd.name_len) == 0);
		check(proto_load16(out + 5 + bnd.name_len) == bnd.port);
	}
	return 0;
}
