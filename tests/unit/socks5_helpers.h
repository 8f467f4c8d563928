/*
 * Helpers shared by the SOCKS5 unit tests (test_socks5_handshake.c and
 * test_socks5_request.c): parse a message placed flush against a PROT_NONE
 * page (guard.h), check every prefix and a trailer, build requests. Header-only;
 * each test binary includes it once.
 */
#ifndef NACRE_TEST_SOCKS5_HELPERS_H
#define NACRE_TEST_SOCKS5_HELPERS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "guard.h"
#include "socks5.h"

/* One signature for the three parsers, so the helpers below serve them all. */
typedef enum proto_status (*parse_fn)(const uint8_t *p, size_t len, size_t *used, void *out);

#define UNTOUCHED   ((size_t)0xdeadbeef)
#define TRAILER_LEN 16

/* Parses (msg, len) placed against a guard page; views stay valid until guard_free(g). */
static inline enum proto_status parse_guarded(parse_fn fn, struct guard *g, const void *msg,
                                              size_t len, size_t *used, void *out)
{
	const uint8_t *p = guard_copy(g, msg, len);
	return fn(p, len, used, out);
}

/* A copy of msg followed by TRAILER_LEN bytes of whatever comes next on the wire. */
static inline size_t with_trailer(uint8_t *dst, const void *msg, size_t len)
{
	memcpy(dst, msg, len);
	memset(dst + len, 0xA5, TRAILER_LEN);
	return len + TRAILER_LEN;
}

/*
 * msg is one whole message: every proper prefix (the empty one included) is
 * NEED_MORE and leaves *used alone, the whole is DONE using all of it, and bytes
 * after it are not consumed.
 */
static inline void assert_bytewise(parse_fn fn, const void *msg, size_t len, void *out)
{
	struct guard g;
	size_t used;
	for (size_t k = 0; k < len; k++) {
		used = UNTOUCHED;
		assert_int_equal(parse_guarded(fn, &g, msg, k, &used, out), PROTO_NEED_MORE);
		assert_int_equal(used, UNTOUCHED);
		guard_free(&g);
	}
	assert_int_equal(parse_guarded(fn, &g, msg, len, &used, out), PROTO_DONE);
	assert_int_equal(used, len);
	guard_free(&g);

	uint8_t buf[1024];
	size_t n = with_trailer(buf, msg, len);
	assert_int_equal(parse_guarded(fn, &g, buf, n, &used, out), PROTO_DONE);
	assert_int_equal(used, len);
	guard_free(&g);
}

/*
 * The last byte of msg is the first that proves it invalid: every shorter
 * prefix is NEED_MORE, msg itself and msg with more bytes after it are err.
 */
static inline void assert_error_at(parse_fn fn, const void *msg, size_t len, enum proto_status err,
                                   void *out)
{
	struct guard g;
	size_t used;
	for (size_t k = 0; k < len; k++) {
		assert_int_equal(parse_guarded(fn, &g, msg, k, &used, out), PROTO_NEED_MORE);
		guard_free(&g);
	}
	used = UNTOUCHED;
	assert_int_equal(parse_guarded(fn, &g, msg, len, &used, out), err);
	assert_int_equal(used, UNTOUCHED);
	guard_free(&g);

	uint8_t buf[1024];
	size_t n = with_trailer(buf, msg, len);
	assert_int_equal(parse_guarded(fn, &g, buf, n, &used, out), err);
	assert_int_equal(used, UNTOUCHED);
	guard_free(&g);
}

/* Builds VER CMD RSV ATYP ADDR PORT; for a DOMAIN, addr is the name, without its length. */
static inline size_t build_request(uint8_t *dst, uint8_t cmd, uint8_t atyp, const void *addr,
                                   size_t alen, uint16_t port)
{
	size_t n = 0;
	dst[n++] = SOCKS5_VERSION;
	dst[n++] = cmd;
	dst[n++] = 0;
	dst[n++] = atyp;
	if (atyp == PROTO_ADDR_DOMAIN)
		dst[n++] = (uint8_t)alen;
	memcpy(dst + n, addr, alen);
	n += alen;
	proto_store16(dst + n, port);
	return n + 2;
}

static const uint8_t ip4[4] = {192, 0, 2, 7};

#endif
