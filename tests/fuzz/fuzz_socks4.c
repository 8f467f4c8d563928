/*
 * libFuzzer target for protocol/socks4.c: parses the input as a SOCKS4/4a
 * request and abort()s when a result breaks the contract in proto.h:
 *  - DONE uses between 9 and len bytes, at most SOCKS4_REQUEST_MAX, and its
 *    views lie inside the input and end where the NULs are;
 *  - answers are prefix-consistent: a request that is DONE with *used = u is
 *    NEED_MORE for every shorter prefix and DONE(u) for every longer input;
 *    an error never turns back into NEED_MORE or DONE as bytes are added;
 *  - the reply encoder echoes the request's address and port.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "socks4.h"

static void check(int ok)
{
	if (!ok)
		abort();
}

static int within(const uint8_t *view, size_t view_len, const uint8_t *p, size_t len)
{
	return view >= p && view_len <= len && (size_t)(view - p) <= len - view_len;
}

static void check_request(const uint8_t *p, size_t len, enum proto_status s, size_t used,
                          const struct socks4_request *r)
{
	check(s == PROTO_DONE || s == PROTO_NEED_MORE || s == PROTO_ERR_VERSION ||
	      s == PROTO_ERR_MALFORMED || s == PROTO_ERR_TOO_LONG);
	if (s != PROTO_DONE)
		return;
	check(used >= 9 && used <= len && used <= SOCKS4_REQUEST_MAX);
	check(r->cmd == p[1] && r->dst.port == proto_load16(p + 2));
	check(r->userid == p + 8 && r->userid_len <= SOCKS4_USERID_MAX);
	check(within(r->userid, r->userid_len + 1, p, len));
	check(memchr(r->userid, 0, r->userid_len) == NULL && r->userid[r->userid_len] == 0);

	int is_4a = p[4] == 0 && p[5] == 0 && p[6] == 0 && p[7] != 0;
	check(r->is_4a == is_4a);
	if (!is_4a) {
		check(r->dst.type == PROTO_ADDR_IPV4 && memcmp(r->dst.ip, p + 4, 4) == 0);
		check(used == 9 + r->userid_len);
		return;
	}
	check(r->dst.type == PROTO_ADDR_DOMAIN);
	check(r->dst.name_len >= 1 && r->dst.name_len <= PROTO_NAME_MAX);
	check(r->dst.name == r->userid + r->userid_len + 1);
	check(within(r->dst.name, r->dst.name_len + 1, p, len));
	check(memchr(r->dst.name, 0, r->dst.name_len) == NULL);
	check(r->dst.name[r->dst.name_len] == 0);
	check(used == 10 + r->userid_len + r->dst.name_len);
}

/*
 * Every prefix up to the deciding one is NEED_MORE, and from there on the
 * answer does not change. The deciding prefix is also parsed from an
 * exact-size copy, so ASan catches a read past it.
 */
static void check_prefixes(const uint8_t *p, size_t len, enum proto_status s, size_t u)
{
	size_t limit = len < SOCKS4_REQUEST_MAX + 1 ? len : SOCKS4_REQUEST_MAX + 1;
	size_t decided = len;
	struct socks4_request r;
	for (size_t k = 0; k <= limit; k++) {
		size_t used = 0;
		enum proto_status t = socks4_parse_request(p, k, &used, &r);
		if (t == PROTO_NEED_MORE)
			continue;
		check(t == s);
		if (s == PROTO_DONE)
			check(used == u && k >= u);
		if (decided == len)
			decided = k;
	}
	if (s == PROTO_DONE)
		check(decided == u);
	if (s == PROTO_NEED_MORE)
		check(decided == len && len < SOCKS4_REQUEST_MAX);

	if (s != PROTO_NEED_MORE) {
		uint8_t *copy = malloc(decided ? decided : 1);
		check(copy != NULL);
		if (decided)
			memcpy(copy, p, decided);
		size_t used = 0;
		check(socks4_parse_request(copy, decided, &used, &r) == s);
		free(copy);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct socks4_request r;
	size_t used = 0;
	enum proto_status s = socks4_parse_request(data, size, &used, &r);
	check_request(data, size, s, used, &r);
	check_prefixes(data, size, s, used);
	check(proto_strerror(s) != NULL);

	uint8_t out[SOCKS4_REPLY_LEN];
	if (s == PROTO_DONE) {
		/* Re-parse: check_prefixes reused r. */
		check(socks4_parse_request(data, size, &used, &r) == PROTO_DONE);
		check(socks4_encode_reply(out, sizeof(out), SOCKS4_REP_GRANTED,
		                          r.is_4a ? NULL : r.dst.ip,
		                          r.dst.port) == SOCKS4_REPLY_LEN);
		check(out[0] == 0 && out[1] == SOCKS4_REP_GRANTED);
		check(memcmp(out + 2, data + 2, 2) == 0);
		if (!r.is_4a)
			check(memcmp(out + 4, data + 4, 4) == 0);
		else
			check(memcmp(out + 4, "\0\0\0\0", 4) == 0);
	}
	uint8_t code = size ? data[0] : 0;
	check(socks4_encode_reply(out, sizeof(out), code, NULL, (uint16_t)size) == 8);
	check(out[1] == code && proto_load16(out + 2) == (uint16_t)size);
	check(socks4_encode_reply(out, sizeof(out) - 1, code, NULL, 0) == 0);
	return 0;
}
