/*
 * SOCKS5 parsers and encoders (protocol/socks5.c). Every input is placed flush
 * against a PROT_NONE page (guard.h), so a parser that reads past the length it
 * was given faults instead of passing.
 */
#include "config.h"

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

#define UNTOUCHED   ((size_t)0xdeadbeef)
#define TRAILER_LEN 16

/* Parses (msg, len) placed against a guard page; views stay valid until guard_free(g). */
static enum proto_status parse_guarded(parse_fn fn, struct guard *g, const void *msg, size_t len,
                                       size_t *used, void *out)
{
	const uint8_t *p = guard_copy(g, msg, len);
	return fn(p, len, used, out);
}

/* A copy of msg followed by TRAILER_LEN bytes of whatever comes next on the wire. */
static size_t with_trailer(uint8_t *dst, const void *msg, size_t len)
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
static void assert_bytewise(parse_fn fn, const void *msg, size_t len, void *out)
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
static void assert_error_at(parse_fn fn, const void *msg, size_t len, enum proto_status err,
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
static size_t build_request(uint8_t *dst, uint8_t cmd, uint8_t atyp, const void *addr, size_t alen,
                            uint16_t port)
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

static void fill_name(uint8_t *name, size_t len)
{
	for (size_t i = 0; i < len; i++)
		name[i] = (uint8_t)('a' + i % 26);
	if (len > 2)
		name[len / 2] = '.';
}

static const uint8_t ip4[4] = {192, 0, 2, 7};
static const uint8_t ip6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

/* ------------------------------------------------------------------ greeting */

static const uint8_t greeting_both[] = {0x05, 0x02, 0x00, 0x02};

static void test_greeting_whole(void **state)
{
	(void)state;
	struct guard g;
	struct socks5_greeting gr;
	size_t used;
	const uint8_t *p = guard_copy(&g, greeting_both, sizeof(greeting_both));
	assert_int_equal(socks5_parse_greeting(p, sizeof(greeting_both), &used, &gr), PROTO_DONE);
	assert_int_equal(used, 4);
	assert_int_equal(gr.nmethods, 2);
	assert_ptr_equal(gr.methods, p + 2);
	assert_true(socks5_greeting_offers(&gr, SOCKS5_METHOD_NONE));
	assert_true(socks5_greeting_offers(&gr, SOCKS5_METHOD_USERPASS));
	assert_false(socks5_greeting_offers(&gr, 0x01));
	assert_false(socks5_greeting_offers(&gr, SOCKS5_METHOD_REJECT));
	guard_free(&g);
}

static void test_greeting_bytewise(void **state)
{
	(void)state;
	static const uint8_t one[] = {0x05, 0x01, 0x00};
	struct socks5_greeting gr;
	assert_bytewise(greeting_fn, greeting_both, sizeof(greeting_both), &gr);
	assert_bytewise(greeting_fn, one, sizeof(one), &gr);
}

static void test_greeting_255_methods(void **state)
{
	(void)state;
	uint8_t msg[SOCKS5_GREETING_MAX];
	msg[0] = 0x05;
	msg[1] = 255;
	for (size_t i = 0; i < 255; i++)
		msg[2 + i] = (uint8_t)i;
	struct socks5_greeting gr;
	assert_bytewise(greeting_fn, msg, sizeof(msg), &gr);

	struct guard g;
	size_t used;
	assert_int_equal(parse_guarded(greeting_fn, &g, msg, sizeof(msg), &used, &gr), PROTO_DONE);
	assert_int_equal(used, SOCKS5_GREETING_MAX);
	assert_int_equal(gr.nmethods, 255);
	assert_true(socks5_greeting_offers(&gr, 0x00));
	assert_true(socks5_greeting_offers(&gr, 0xFE));
	assert_false(socks5_greeting_offers(&gr, 0xFF));
	guard_free(&g);
}

static void test_greeting_truncated(void **state)
{
	(void)state;
	static const uint8_t msg[] = {0x05, 0x03, 0x00, 0x02};
	struct guard g;
	struct socks5_greeting gr;
	size_t used = UNTOUCHED;
	assert_int_equal(parse_guarded(greeting_fn, &g, msg, sizeof(msg), &used, &gr),
	                 PROTO_NEED_MORE);
	assert_int_equal(used, UNTOUCHED);
	guard_free(&g);
}

static void test_greeting_err_version(void **state)
{
	(void)state;
	static const uint8_t v4[] = {0x04};
	static const uint8_t v0[] = {0x00};
	static const uint8_t http[] = {'G'};
	struct socks5_greeting gr;
	assert_error_at(greeting_fn, v4, sizeof(v4), PROTO_ERR_VERSION, &gr);
	assert_error_at(greeting_fn, v0, sizeof(v0), PROTO_ERR_VERSION, &gr);
	assert_error_at(greeting_fn, http, sizeof(http), PROTO_ERR_VERSION, &gr);
}

static void test_greeting_err_no_methods(void **state)
{
	(void)state;
	static const uint8_t msg[] = {0x05, 0x00};
	struct socks5_greeting gr;
	assert_error_at(greeting_fn, msg, sizeof(msg), PROTO_ERR_MALFORMED, &gr);
}

static void test_greeting_offers_by_hand(void **state)
{
	(void)state;
	static const uint8_t methods[] = {0x02};
	struct socks5_greeting none = {.methods = methods, .nmethods = 0};
	struct socks5_greeting one = {.methods = methods, .nmethods = 1};
	assert_false(socks5_greeting_offers(&none, 0x02));
	assert_true(socks5_greeting_offers(&one, 0x02));
	assert_false(socks5_greeting_offers(&one, 0x00));
}

/* ---------------------------------------------------------------------- auth */

static const uint8_t auth_bob[] = {0x01, 3, 'b', 'o', 'b', 6, 's', 'e', 'c', 'r', 'e', 't'};

static void test_auth_whole(void **state)
{
	(void)state;
	struct guard g;
	struct socks5_auth a;
	size_t used;
	const uint8_t *p = guard_copy(&g, auth_bob, sizeof(auth_bob));
	assert_int_equal(socks5_parse_auth(p, sizeof(auth_bob), &used, &a), PROTO_DONE);
	assert_int_equal(used, sizeof(auth_bob));
	assert_ptr_equal(a.user, p + 2);
	assert_int_equal(a.user_len, 3);
	assert_memory_equal(a.user, "bob", 3);
	assert_ptr_equal(a.pass, p + 6);
	assert_int_equal(a.pass_len, 6);
	assert_memory_equal(a.pass, "secret", 6);
	guard_free(&g);
}

static void test_auth_bytewise(void **state)
{
	(void)state;
	static const uint8_t min[] = {0x01, 1, 'a', 1, 'b'};
	struct socks5_auth a;
	assert_bytewise(auth_fn, auth_bob, sizeof(auth_bob), &a);
	assert_bytewise(auth_fn, min, sizeof(min), &a);
}

static void test_auth_max(void **state)
{
	(void)state;
	uint8_t msg[SOCKS5_AUTH_MAX];
	msg[0] = 0x01;
	msg[1] = 255;
	memset(msg + 2, 'u', 255);
	msg[257] = 255;
	memset(msg + 258, 'p', 255);
	struct socks5_auth a;
	assert_bytewise(auth_fn, msg, sizeof(msg), &a);

	struct guard g;
	size_t used;
	assert_int_equal(parse_guarded(auth_fn, &g, msg, sizeof(msg), &used, &a), PROTO_DONE);
	assert_int_equal(used, SOCKS5_AUTH_MAX);
	assert_int_equal(a.user_len, 255);
	assert_int_equal(a.pass_len, 255);
	assert_int_equal(a.user[254], 'u');
	assert_int_equal(a.pass[0], 'p');
	guard_free(&g);
}

static void test_auth_truncated(void **state)
{
	(void)state;
	static const uint8_t no_pass[] = {0x01, 3, 'b', 'o', 'b', 6, 's', 'e'};
	struct guard g;
	struct socks5_auth a;
	size_t used;
	assert_int_equal(parse_guarded(auth_fn, &g, no_pass, sizeof(no_pass), &used, &a),
	                 PROTO_NEED_MORE);
	guard_free(&g);
}

static void test_auth_err_version(void **state)
{
	(void)state;
	/* A client that sends its SOCKS version where the sub-negotiation's goes. */
	static const uint8_t v5[] = {0x05};
	static const uint8_t v0[] = {0x00};
	struct socks5_auth a;
	assert_error_at(auth_fn, v5, sizeof(v5), PROTO_ERR_VERSION, &a);
	assert_error_at(auth_fn, v0, sizeof(v0), PROTO_ERR_VERSION, &a);
}

static void test_auth_err_empty_user(void **state)
{
	(void)state;
	static const uint8_t msg[] = {0x01, 0};
	struct socks5_auth a;
	assert_error_at(auth_fn, msg, sizeof(msg), PROTO_ERR_MALFORMED, &a);
}

static void test_auth_err_empty_pass(void **state)
{
	(void)state;
	static const uint8_t msg[] = {0x01, 3, 'b', 'o', 'b', 0};
	struct socks5_auth a;
	assert_error_at(auth_fn, msg, sizeof(msg), PROTO_ERR_MALFORMED, &a);
}

/* ------------------------------------------------------------------- request */

static void test_request_ipv4(void **state)
{
	(void)state;
	static const uint8_t msg[] = {0x05, 0x01, 0x00, 0x01, 192, 0, 2, 7, 0x1F, 0x90};
	struct guard g;
	struct socks5_request r;
	size_t used;
	assert_int_equal(parse_guarded(request_fn, &g, msg, sizeof(msg), &used, &r), PROTO_DONE);
	assert_int_equal(used, 10);
	assert_int_equal(r.cmd, SOCKS5_CMD_CONNECT);
	assert_int_equal(r.dst.type, PROTO_ADDR_IPV4);
	assert_memory_equal(r.dst.ip, ip4, 4);
	assert_int_equal(r.dst.port, 8080);
	assert_null(r.dst.name);
	assert_int_equal(r.dst.name_len, 0);
	guard_free(&g);
	assert_bytewise(request_fn, msg, sizeof(msg), &r);
}

static void test_request_ipv6(void **state)
{
	(void)state;
	uint8_t msg[32];
	size_t n = build_request(msg, SOCKS5_CMD_CONNECT, PROTO_ADDR_IPV6, ip6, 16, 443);
	assert_int_equal(n, 22);
	struct guard g;
	struct socks5_request r;
	size_t used;
	assert_int_equal(parse_guarded(request_fn, &g, msg, n, &used, &r), PROTO_DONE);
	assert_int_equal(used, 22);
	assert_int_equal(r.dst.type, PROTO_ADDR_IPV6);
	assert_memory_equal(r.dst.ip, ip6, 16);
	assert_int_equal(r.dst.port, 443);
	guard_free(&g);
	assert_bytewise(request_fn, msg, n, &r);
}

static void test_request_domain(void **state)
{
	(void)state;
	uint8_t msg[SOCKS5_REQUEST_MAX];
	size_t n = build_request(msg, SOCKS5_CMD_CONNECT, PROTO_ADDR_DOMAIN, "example.com", 11, 80);
	assert_int_equal(n, 18);
	struct guard g;
	struct socks5_request r;
	size_t used;
	assert_int_equal(parse_guarded(request_fn, &g, msg, n, &used, &r), PROTO_DONE);
	assert_int_equal(used, 18);
	assert_int_equal(r.dst.type, PROTO_ADDR_DOMAIN);
	assert_int_equal(r.dst.name_len, 11);
	assert_memory_equal(r.dst.name, "example.com", 11);
	assert_int_equal(r.dst.port, 80);
	guard_free(&g);
	assert_bytewise(request_fn, msg, n, &r);
}

static void test_request_domain_1(void **state)
{
	(void)state;
	uint8_t msg[16];
	size_t n = build_request(msg, SOCKS5_CMD_CONNECT, PROTO_ADDR_DOMAIN, "x", 1, 1);
	struct socks5_request r;
	assert_bytewise(request_fn, msg, n, &r);
}

static void test_request_domain_255(void **state)
{
	(void)state;
	uint8_t name[PROTO_NAME_MAX];
	fill_name(name, sizeof(name));
	uint8_t msg[SOCKS5_REQUEST_MAX];
	size_t n = build_request(msg, SOCKS5_CMD_CONNECT, PROTO_ADDR_DOMAIN, name, 255, 65535);
	assert_int_equal(n, SOCKS5_REQUEST_MAX);
	struct guard g;
	struct socks5_request r;
	size_t used;
	const uint8_t *p = guard_copy(&g, msg, n);
	assert_int_equal(socks5_parse_request(p, n, &used, &r), PROTO_DONE);
	assert_int_equal(used, SOCKS5_REQUEST_MAX);
	assert_ptr_equal(r.dst.name, p + 5);
	assert_int_equal(r.dst.name_len, 255);
	assert_memory_equal(r.dst.name, name, 255);
	assert_int_equal(r.dst.port, 65535);
	guard_free(&g);
	assert_bytewise(request_fn, msg, n, &r);
}

static void test_request_commands(void **state)
{
	(void)state;
	/* Every CMD is DONE: the caller answers 0x07 to the ones it does not serve. */
	static const uint8_t cmds[] = {
	    SOCKS5_CMD_CONNECT,
	    SOCKS5_CMD_BIND,
	    SOCKS5_CMD_UDP_ASSOCIATE,
	    SOCKS5_CMD_RESOLVE,
	    SOCKS5_CMD_RESOLVE_PTR,
	    0x00,
	    0x04,
	    0x7F,
	    0xF2,
	    0xFF,
	};
	for (size_t i = 0; i < sizeof(cmds); i++) {
		uint8_t msg[32];
		size_t n = build_request(msg, cmds[i], PROTO_ADDR_IPV4, ip4, 4, 0);
		struct guard g;
		struct socks5_request r;
		size_t used;
		assert_int_equal(parse_guarded(request_fn, &g, msg, n, &used, &r), PROTO_DONE);
		assert_int_equal(r.cmd, cmds[i]);
		assert_int_equal(used, n);
		guard_free(&g);
	}
}

static void test_request_resolve(void **state)
{
	(void)state;
	/* Tor's RESOLVE carries a name, RESOLVE_PTR an address; port is ignored but present. */
	uint8_t msg[32];
	struct socks5_request r;
	size_t n =
	    build_request(msg, SOCKS5_CMD_RESOLVE, PROTO_ADDR_DOMAIN, "torproject.org", 14, 0);
	assert_bytewise(request_fn, msg, n, &r);
	assert_int_equal(r.cmd, SOCKS5_CMD_RESOLVE);
	n = build_request(msg, SOCKS5_CMD_RESOLVE_PTR, PROTO_ADDR_IPV6, ip6, 16, 0);
	assert_bytewise(request_fn, msg, n, &r);
	assert_int_equal(r.cmd, SOCKS5_CMD_RESOLVE_PTR);
}

static void test_request_truncated(void **state)
{
	(void)state;
	static const uint8_t cut_port[] = {0x05, 0x01, 0x00, 0x01, 192, 0, 2, 7, 0x1F};
	static const uint8_t cut_name[] = {0x05, 0x01, 0x00, 0x03, 5, 'a', 'b'};
	struct guard g;
	struct socks5_request r;
	size_t used = UNTOUCHED;
	assert_int_equal(parse_guarded(request_fn, &g, cut_port, sizeof(cut_port), &used, &r),
	                 PROTO_NEED_MORE);
	guard_free(&g);
	assert_int_equal(parse_guarded(request_fn, &g, cut_name, sizeof(cut_name), &used, &r),
	                 PROTO_NEED_MORE);
	guard_free(&g);
	assert_int_equal(used, UNTOUCHED);
}

static void test_request_err_version(void **state)
{
	(void)state;
	static const uint8_t v4[] = {0x04};
	static const uint8_t v6[] = {0x06};
	struct socks5_request r;
	assert_error_at(request_fn, v4, sizeof(v4), PROTO_ERR_VERSION, &r);
	assert_error_at(request_fn, v6, sizeof(v6), PROTO_ERR_VERSION, &r);
}

static void test_request_err_rsv(void **state)
{
	(void)state;
	static const uint8_t rsv1[] = {0x05, 0x01, 0x01};
	static const uint8_t rsv80[] = {0x05, 0x01, 0x80};
	struct socks5_request r;
	assert_error_at(request_fn, rsv1, sizeof(rsv1), PROTO_ERR_MALFORMED, &r);
	assert_error_at(request_fn, rsv80, sizeof(rsv80), PROTO_ERR_MALFORMED, &r);
}

static void test_request_err_atyp(void **state)
{
	(void)state;
	static const uint8_t atyps[] = {0x00, 0x02, 0x05, 0x06, 0x7F, 0xFF};
	for (size_t i = 0; i < sizeof(atyps); i++) {
		uint8_t msg[] = {0x05, 0x01, 0x00, atyps[i]};
		struct socks5_request r;
		assert_error_at(request_fn, msg, sizeof(msg), PROTO_ERR_ADDRTYPE, &r);
	}
}

static void test_request_err_empty_domain(void **state)
{
	(void)state;
	static const uint8_t msg[] = {0x05, 0x01, 0x00, 0x03, 0x00};
	struct socks5_request r;
	assert_error_at(request_fn, msg, sizeof(msg), PROTO_ERR_MALFORMED, &r);
}

static void test_request_err_first_wins(void **state)
{
	(void)state;
	/* Errors are found in wire order: the version before RSV, RSV before ATYP. */
	static const uint8_t bad_ver_rsv[] = {0x04, 0x01, 0x01, 0x09};
	static const uint8_t bad_rsv_atyp[] = {0x05, 0x01, 0x01, 0x09};
	struct guard g;
	struct socks5_request r;
	size_t used;
	assert_int_equal(parse_guarded(request_fn, &g, bad_ver_rsv, 4, &used, &r),
	                 PROTO_ERR_VERSION);
	guard_free(&g);
	assert_int_equal(parse_guarded(request_fn, &g, bad_rsv_atyp, 4, &used, &r),
	                 PROTO_ERR_MALFORMED);
	guard_free(&g);
}

/* ----------------------------------------------------------------- pipelined */

static void test_pipelined_userpass(void **state)
{
	(void)state;
	/* A client that does not wait for answers: greeting, auth, request and data at once. */
	uint8_t buf[512];
	size_t n = 0;
	memcpy(buf + n, greeting_both, sizeof(greeting_both));
	n += sizeof(greeting_both);
	memcpy(buf + n, auth_bob, sizeof(auth_bob));
	n += sizeof(auth_bob);
	size_t req_len =
	    build_request(buf + n, SOCKS5_CMD_CONNECT, PROTO_ADDR_DOMAIN, "example.com", 11, 443);
	n += req_len;
	size_t end_of_socks = n;
	memcpy(buf + n, "\x16\x03\x01", 3);
	n += 3;

	struct guard g;
	const uint8_t *p = guard_copy(&g, buf, n);
	size_t off = 0, used;
	struct socks5_greeting gr;
	struct socks5_auth a;
	struct socks5_request r;

	assert_int_equal(socks5_parse_greeting(p + off, n - off, &used, &gr), PROTO_DONE);
	assert_int_equal(used, sizeof(greeting_both));
	assert_true(socks5_greeting_offers(&gr, SOCKS5_METHOD_USERPASS));
	off += used;

	assert_int_equal(socks5_parse_auth(p + off, n - off, &used, &a), PROTO_DONE);
	assert_int_equal(used, sizeof(auth_bob));
	assert_memory_equal(a.user, "bob", 3);
	assert_memory_equal(a.pass, "secret", 6);
	off += used;

	assert_int_equal(socks5_parse_request(p + off, n - off, &used, &r), PROTO_DONE);
	assert_int_equal(used, req_len);
	assert_memory_equal(r.dst.name, "example.com", 11);
	assert_int_equal(r.dst.port, 443);
	off += used;

	assert_int_equal(off, end_of_socks);
	assert_memory_equal(p + off, "\x16\x03\x01", 3);
	guard_free(&g);

	/* The same stream cut short inside each message. */
	size_t cuts[] = {3, sizeof(greeting_both) + 5, end_of_socks - 1};
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		p = guard_copy(&g, buf, cuts[i]);
		enum proto_status s;
		off = 0;
		s = socks5_parse_greeting(p, cuts[i], &used, &gr);
		if (s == PROTO_DONE) {
			off += used;
			s = socks5_parse_auth(p + off, cuts[i] - off, &used, &a);
		}
		if (s == PROTO_DONE) {
			off += used;
			s = socks5_parse_request(p + off, cuts[i] - off, &used, &r);
		}
		assert_int_equal(s, PROTO_NEED_MORE);
		guard_free(&g);
	}
}

static void test_pipelined_noauth(void **state)
{
	(void)state;
	uint8_t buf[64];
	size_t n = 0;
	buf[n++] = 0x05;
	buf[n++] = 0x01;
	buf[n++] = 0x00;
	n += build_request(buf + n, SOCKS5_CMD_CONNECT, PROTO_ADDR_IPV4, ip4, 4, 22);

	struct guard g;
	const uint8_t *p = guard_copy(&g, buf, n);
	size_t used;
	struct socks5_greeting gr;
	struct socks5_request r;
	assert_int_equal(socks5_parse_greeting(p, n, &used, &gr), PROTO_DONE);
	assert_int_equal(used, 3);
	assert_int_equal(socks5_parse_request(p + used, n - used, &used, &r), PROTO_DONE);
	assert_int_equal(used, 10);
	assert_memory_equal(r.dst.ip, ip4, 4);
	assert_int_equal(r.dst.port, 22);
	guard_free(&g);
}

/* ------------------------------------------------------------------ encoders */

static void test_encode_method(void **state)
{
	(void)state;
	uint8_t buf[4];
	memset(buf, 0xEE, sizeof(buf));
	assert_int_equal(socks5_encode_method(buf, sizeof(buf), SOCKS5_METHOD_USERPASS), 2);
	assert_memory_equal(buf, "\x05\x02\xEE", 3);
	assert_int_equal(socks5_encode_method(buf, 2, SOCKS5_METHOD_REJECT), 2);
	assert_memory_equal(buf, "\x05\xFF", 2);

	memset(buf, 0xEE, sizeof(buf));
	assert_int_equal(socks5_encode_method(buf, 1, SOCKS5_METHOD_NONE), 0);
	assert_int_equal(socks5_encode_method(buf, 0, SOCKS5_METHOD_NONE), 0);
	assert_int_equal(buf[0], 0xEE);
}

static void test_encode_auth_reply(void **state)
{
	(void)state;
	uint8_t buf[2];
	assert_int_equal(socks5_encode_auth_reply(buf, sizeof(buf), 0), 2);
	assert_memory_equal(buf, "\x01\x00", 2);
	assert_int_equal(socks5_encode_auth_reply(buf, sizeof(buf), 1), 2);
	assert_memory_equal(buf, "\x01\x01", 2);

	memset(buf, 0xEE, sizeof(buf));
	assert_int_equal(socks5_encode_auth_reply(buf, 1, 0), 0);
	assert_int_equal(buf[0], 0xEE);
}

static void test_encode_reply_null(void **state)
{
	(void)state;
	static const uint8_t want[] = {0x05, 0x07, 0x00, 0x01, 0, 0, 0, 0, 0, 0};
	uint8_t buf[SOCKS5_REPLY_MAX];
	assert_int_equal(socks5_encode_reply(buf, sizeof(buf), SOCKS5_REP_CMD_UNSUPPORTED, NULL),
	                 10);
	assert_memory_equal(buf, want, sizeof(want));
}

/*
 * A reply has the request's layout (REP where CMD was), so the request parser
 * reads it back: encode, parse, compare.
 */
static void assert_reply_roundtrip(const struct proto_addr *bnd, uint8_t rep, size_t want_len)
{
	uint8_t buf[SOCKS5_REPLY_MAX + 8];
	size_t n = socks5_encode_reply(buf, sizeof(buf), rep, bnd);
	assert_int_equal(n, want_len);
	assert_true(n <= SOCKS5_REPLY_MAX);
	assert_int_equal(buf[0], SOCKS5_VERSION);
	assert_int_equal(buf[1], rep);
	assert_int_equal(buf[2], 0);
	assert_int_equal(buf[3], bnd->type);

	struct guard g;
	struct socks5_request r;
	size_t used;
	assert_int_equal(parse_guarded(request_fn, &g, buf, n, &used, &r), PROTO_DONE);
	assert_int_equal(used, n);
	assert_int_equal(r.cmd, rep);
	assert_int_equal(r.dst.type, bnd->type);
	assert_int_equal(r.dst.port, bnd->port);
	if (bnd->type == PROTO_ADDR_DOMAIN) {
		assert_int_equal(r.dst.name_len, bnd->name_len);
		assert_memory_equal(r.dst.name, bnd->name, bnd->name_len);
	} else {
		assert_memory_equal(r.dst.ip, bnd->ip, bnd->type == PROTO_ADDR_IPV4 ? 4 : 16);
	}
	guard_free(&g);

	/* Every cap short of the length fails without writing. */
	for (size_t cap = 0; cap < n; cap++) {
		memset(buf, 0xEE, sizeof(buf));
		assert_int_equal(socks5_encode_reply(buf, cap, rep, bnd), 0);
		assert_int_equal(buf[0], 0xEE);
	}
	assert_int_equal(socks5_encode_reply(buf, n, rep, bnd), n);
}

static void test_encode_reply_ipv4(void **state)
{
	(void)state;
	struct proto_addr a = {.type = PROTO_ADDR_IPV4, .port = 1080};
	memcpy(a.ip, ip4, 4);
	assert_reply_roundtrip(&a, SOCKS5_REP_SUCCEEDED, 10);

	static const uint8_t want[] = {0x05, 0x00, 0x00, 0x01, 192, 0, 2, 7, 0x04, 0x38};
	uint8_t buf[16];
	assert_int_equal(socks5_encode_reply(buf, sizeof(buf), 0, &a), sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
}

static void test_encode_reply_ipv6(void **state)
{
	(void)state;
	struct proto_addr a = {.type = PROTO_ADDR_IPV6, .port = 443};
	memcpy(a.ip, ip6, 16);
	assert_reply_roundtrip(&a, SOCKS5_REP_HOST_UNREACHABLE, 22);
}

static void test_encode_reply_domain(void **state)
{
	(void)state;
	/* How RESOLVE_PTR answers: ATYP 3, length, name. */
	struct proto_addr a = {.type = PROTO_ADDR_DOMAIN,
	                       .name = (const uint8_t *)"host.example",
	                       .name_len = 12,
	                       .port = 0};
	assert_reply_roundtrip(&a, SOCKS5_REP_SUCCEEDED, 4 + 1 + 12 + 2);

	uint8_t buf[32];
	assert_int_equal(socks5_encode_reply(buf, sizeof(buf), 0, &a), 19);
	assert_memory_equal(buf, "\x05\x00\x00\x03\x0chost.example\x00\x00", 19);
}

static void test_encode_reply_domain_255(void **state)
{
	(void)state;
	uint8_t name[PROTO_NAME_MAX];
	fill_name(name, sizeof(name));
	struct proto_addr a = {.type = PROTO_ADDR_DOMAIN, .name = name, .name_len = 255, .port = 9};
	assert_reply_roundtrip(&a, SOCKS5_REP_SUCCEEDED, SOCKS5_REPLY_MAX);
}

static void test_encode_reply_bad_addr(void **state)
{
	(void)state;
	uint8_t name[PROTO_NAME_MAX + 1];
	fill_name(name, sizeof(name));
	uint8_t buf[SOCKS5_REPLY_MAX * 2];
	struct proto_addr empty = {.type = PROTO_ADDR_DOMAIN, .name = name, .name_len = 0};
	struct proto_addr overlong = {.type = PROTO_ADDR_DOMAIN, .name = name, .name_len = 256};
	struct proto_addr unknown = {.type = (enum proto_addr_type)2};
	assert_int_equal(socks5_encode_reply(buf, sizeof(buf), 0, &empty), 0);
	assert_int_equal(socks5_encode_reply(buf, sizeof(buf), 0, &overlong), 0);
	assert_int_equal(socks5_encode_reply(buf, sizeof(buf), 0, &unknown), 0);
}

static void test_request_reencode(void **state)
{
	(void)state;
	/* A parsed address re-encodes to the bytes it came from. */
	uint8_t name[PROTO_NAME_MAX];
	fill_name(name, sizeof(name));
	uint8_t msgs[3][SOCKS5_REQUEST_MAX];
	size_t lens[3] = {
	    build_request(msgs[0], SOCKS5_CMD_CONNECT, PROTO_ADDR_IPV4, ip4, 4, 1),
	    build_request(msgs[1], SOCKS5_CMD_BIND, PROTO_ADDR_IPV6, ip6, 16, 0x1234),
	    build_request(msgs[2], SOCKS5_CMD_RESOLVE, PROTO_ADDR_DOMAIN, name, 255, 0xFFFF),
	};
	for (size_t i = 0; i < 3; i++) {
		struct guard g;
		struct socks5_request r;
		size_t used;
		assert_int_equal(parse_guarded(request_fn, &g, msgs[i], lens[i], &used, &r),
		                 PROTO_DONE);
		uint8_t out[SOCKS5_REPLY_MAX];
		assert_int_equal(socks5_encode_reply(out, sizeof(out), r.cmd, &r.dst), lens[i]);
		assert_memory_equal(out, msgs[i], lens[i]);
		guard_free(&g);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_greeting_whole),
	    cmocka_unit_test(test_greeting_bytewise),
	    cmocka_unit_test(test_greeting_255_methods),
	    cmocka_unit_test(test_greeting_truncated),
	    cmocka_unit_test(test_greeting_err_version),
	    cmocka_unit_test(test_greeting_err_no_methods),
	    cmocka_unit_test(test_greeting_offers_by_hand),
	    cmocka_unit_test(test_auth_whole),
	    cmocka_unit_test(test_auth_bytewise),
	    cmocka_unit_test(test_auth_max),
	    cmocka_unit_test(test_auth_truncated),
	    cmocka_unit_test(test_auth_err_version),
	    cmocka_unit_test(test_auth_err_empty_user),
	    cmocka_unit_test(test_auth_err_empty_pass),
	    cmocka_unit_test(test_request_ipv4),
	    cmocka_unit_test(test_request_ipv6),
	    cmocka_unit_test(test_request_domain),
	    cmocka_unit_test(test_request_domain_1),
	    cmocka_unit_test(test_request_domain_255),
	    cmocka_unit_test(test_request_commands),
	    cmocka_unit_test(test_request_resolve),
	    cmocka_unit_test(test_request_truncated),
	    cmocka_unit_test(test_request_err_version),
	    cmocka_unit_test(test_request_err_rsv),
	    cmocka_unit_test(test_request_err_atyp),
	    cmocka_unit_test(test_request_err_empty_domain),
	    cmocka_unit_test(test_request_err_first_wins),
	    cmocka_unit_test(test_pipelined_userpass),
	    cmocka_unit_test(test_pipelined_noauth),
	    cmocka_unit_test(test_encode_method),
	    cmocka_unit_test(test_encode_auth_reply),
	    cmocka_unit_test(test_encode_reply_null),
	    cmocka_unit_test(test_encode_reply_ipv4),
	    cmocka_unit_test(test_encode_reply_ipv6),
	    cmocka_unit_test(test_encode_reply_domain),
	    cmocka_unit_test(test_encode_reply_domain_255),
	    cmocka_unit_test(test_encode_reply_bad_addr),
	    cmocka_unit_test(test_request_reencode),
	};
	return cmocka_run_group_tests_name("socks5", tests, NULL, NULL);
}
