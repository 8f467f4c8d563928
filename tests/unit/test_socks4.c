/*
 * SOCKS4 and SOCKS4a request parser and reply encoder (protocol/socks4.c).
 * Every input is placed flush against a PROT_NONE page (guard.h), so a parser
 * that reads past the length it was given faults instead of passing.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "guard.h"
#include "socks4.h"

#define UNTOUCHED   ((size_t)0xdeadbeef)
#define TRAILER_LEN 16

static enum proto_status parse_guarded(struct guard *g, const void *msg, size_t len, size_t *used,
                                       struct socks4_request *out)
{
	const uint8_t *p = guard_copy(g, msg, len);
	return socks4_parse_request(p, len, used, out);
}

/*
 * msg is one whole request: every proper prefix (the empty one included) is
 * NEED_MORE and leaves *used alone, the whole is DONE using all of it, and bytes
 * after it are not consumed.
 */
static void assert_bytewise(const void *msg, size_t len)
{
	struct guard g;
	struct socks4_request r;
	size_t used;
	for (size_t k = 0; k < len; k++) {
		used = UNTOUCHED;
		assert_int_equal(parse_guarded(&g, msg, k, &used, &r), PROTO_NEED_MORE);
		assert_int_equal(used, UNTOUCHED);
		guard_free(&g);
	}
	assert_int_equal(parse_guarded(&g, msg, len, &used, &r), PROTO_DONE);
	assert_int_equal(used, len);
	guard_free(&g);

	uint8_t buf[SOCKS4_REQUEST_MAX + TRAILER_LEN];
	memcpy(buf, msg, len);
	memset(buf + len, 'x', TRAILER_LEN);
	assert_int_equal(parse_guarded(&g, buf, len + TRAILER_LEN, &used, &r), PROTO_DONE);
	assert_int_equal(used, len);
	guard_free(&g);
}

/*
 * The last byte of msg is the first that proves it invalid: every shorter
 * prefix is NEED_MORE, msg itself and msg with more bytes after it are err.
 */
static void assert_error_at(const void *msg, size_t len, enum proto_status err)
{
	struct guard g;
	struct socks4_request r;
	size_t used;
	for (size_t k = 0; k < len; k++) {
		assert_int_equal(parse_guarded(&g, msg, k, &used, &r), PROTO_NEED_MORE);
		guard_free(&g);
	}
	used = UNTOUCHED;
	assert_int_equal(parse_guarded(&g, msg, len, &used, &r), err);
	assert_int_equal(used, UNTOUCHED);
	guard_free(&g);

	uint8_t buf[SOCKS4_REQUEST_MAX + TRAILER_LEN];
	memcpy(buf, msg, len);
	memset(buf + len, 'x', TRAILER_LEN);
	assert_int_equal(parse_guarded(&g, buf, len + TRAILER_LEN, &used, &r), err);
	assert_int_equal(used, UNTOUCHED);
	guard_free(&g);
}

/*
 * Builds VN CD DSTPORT DSTIP USERID NUL, then DOMAIN NUL when name is not NULL.
 * Returns the length.
 */
static size_t build(uint8_t *dst, uint8_t cmd, uint16_t port, const uint8_t ip[4], const void *user,
                    size_t user_len, const void *name, size_t name_len)
{
	size_t n = 0;
	dst[n++] = SOCKS4_VERSION;
	dst[n++] = cmd;
	proto_store16(dst + n, port);
	n += 2;
	memcpy(dst + n, ip, 4);
	n += 4;
	memcpy(dst + n, user, user_len);
	n += user_len;
	dst[n++] = 0;
	if (name) {
		memcpy(dst + n, name, name_len);
		n += name_len;
		dst[n++] = 0;
	}
	return n;
}

static const uint8_t ip_lan[4] = {192, 168, 1, 2};
static const uint8_t ip_4a[4] = {0, 0, 0, 1};

/* ------------------------------------------------------------------- SOCKS4 */

static void test_connect_whole(void **state)
{
	(void)state;
	static const uint8_t msg[] = {0x04, 0x01, 0x00, 0x50, 192, 168, 1, 2, 'b', 'o', 'b', 0};
	struct guard g;
	struct socks4_request r;
	size_t used;
	const uint8_t *p = guard_copy(&g, msg, sizeof(msg));
	assert_int_equal(socks4_parse_request(p, sizeof(msg), &used, &r), PROTO_DONE);
	assert_int_equal(used, 12);
	assert_int_equal(r.cmd, SOCKS4_CMD_CONNECT);
	assert_false(r.is_4a);
	assert_int_equal(r.dst.type, PROTO_ADDR_IPV4);
	assert_memory_equal(r.dst.ip, ip_lan, 4);
	assert_int_equal(r.dst.port, 80);
	assert_null(r.dst.name);
	assert_ptr_equal(r.userid, p + 8);
	assert_int_equal(r.userid_len, 3);
	assert_memory_equal(r.userid, "bob", 3);
	guard_free(&g);
}

static void test_connect_bytewise(void **state)
{
	(void)state;
	uint8_t msg[64];
	assert_bytewise(msg, build(msg, SOCKS4_CMD_CONNECT, 80, ip_lan, "bob", 3, NULL, 0));
	assert_bytewise(msg, build(msg, SOCKS4_CMD_CONNECT, 1, ip_lan, "", 0, NULL, 0));
}

static void test_empty_userid(void **state)
{
	(void)state;
	static const uint8_t msg[] = {0x04, 0x01, 0x1F, 0x90, 127, 0, 0, 1, 0};
	struct guard g;
	struct socks4_request r;
	size_t used;
	assert_int_equal(parse_guarded(&g, msg, sizeof(msg), &used, &r), PROTO_DONE);
	assert_int_equal(used, 9);
	assert_int_equal(r.userid_len, 0);
	assert_int_equal(r.dst.port, 8080);
	guard_free(&g);
}

static void test_max_userid(void **state)
{
	(void)state;
	uint8_t user[SOCKS4_USERID_MAX];
	memset(user, 'u', sizeof(user));
	uint8_t msg[SOCKS4_REQUEST_MAX];
	size_t n = build(msg, SOCKS4_CMD_CONNECT, 80, ip_lan, user, sizeof(user), NULL, 0);
	assert_int_equal(n, 8 + 255 + 1);
	assert_bytewise(msg, n);

	struct guard g;
	struct socks4_request r;
	size_t used;
	assert_int_equal(parse_guarded(&g, msg, n, &used, &r), PROTO_DONE);
	assert_int_equal(r.userid_len, 255);
	guard_free(&g);
}

static void test_overlong_userid(void **state)
{
	(void)state;
	/* 256 bytes without a NUL: the 256th already proves it too long. */
	uint8_t msg[8 + SOCKS4_USERID_MAX + 1];
	build(msg, SOCKS4_CMD_CONNECT, 80, ip_lan, "", 0, NULL, 0);
	memset(msg + 8, 'u', sizeof(msg) - 8);
	assert_error_at(msg, sizeof(msg), PROTO_ERR_TOO_LONG);

	/* The same for a SOCKS4a request. */
	build(msg, SOCKS4_CMD_CONNECT, 80, ip_4a, "", 0, NULL, 0);
	memset(msg + 8, 'u', sizeof(msg) - 8);
	assert_error_at(msg, sizeof(msg), PROTO_ERR_TOO_LONG);

	/* A NUL right after the 256th byte comes too late. */
	uint8_t user[SOCKS4_USERID_MAX + 1];
	memset(user, 'u', sizeof(user));
	uint8_t late[SOCKS4_REQUEST_MAX];
	size_t n = build(late, SOCKS4_CMD_CONNECT, 80, ip_lan, user, sizeof(user), NULL, 0);
	struct guard g;
	struct socks4_request r;
	size_t used;
	assert_int_equal(parse_guarded(&g, late, n, &used, &r), PROTO_ERR_TOO_LONG);
	guard_free(&g);
}

static void test_userid_any_bytes(void **state)
{
	(void)state;
	static const uint8_t msg[] = {0x04, 0x01, 0, 80, 10, 0, 0, 1, 0xFF, 0x80, 0x01, 0};
	struct guard g;
	struct socks4_request r;
	size_t used;
	assert_int_equal(parse_guarded(&g, msg, sizeof(msg), &used, &r), PROTO_DONE);
	assert_int_equal(r.userid_len, 3);
	assert_memory_equal(r.userid, "\xFF\x80\x01", 3);
	guard_free(&g);
}

static void test_commands_as_is(void **state)
{
	(void)state;
	/* BIND and unknown codes are DONE: the caller refuses what it does not serve. */
	static const uint8_t cmds[] = {SOCKS4_CMD_BIND, SOCKS4_CMD_CONNECT, 0x00, 0x03, 0xF0, 0xFF};
	for (size_t i = 0; i < sizeof(cmds); i++) {
		uint8_t msg[64];
		size_t n = build(msg, cmds[i], 21, ip_lan, "ftp", 3, NULL, 0);
		struct guard g;
		struct socks4_request r;
		size_t used;
		assert_int_equal(parse_guarded(&g, msg, n, &used, &r), PROTO_DONE);
		assert_int_equal(r.cmd, cmds[i]);
		assert_int_equal(used, n);
		guard_free(&g);

		n = build(msg, cmds[i], 21, ip_4a, "ftp", 3, "ftp.example", 11);
		assert_int_equal(parse_guarded(&g, msg, n, &used, &r), PROTO_DONE);
		assert_int_equal(r.cmd, cmds[i]);
		assert_true(r.is_4a);
		guard_free(&g);
	}
}

static void test_truncated(void **state)
{
	(void)state;
	static const uint8_t header_only[] = {0x04, 0x01, 0x00, 0x50, 192, 168, 1, 2};
	static const uint8_t no_nul[] = {0x04, 0x01, 0x00, 0x50, 192, 168, 1, 2, 'b', 'o'};
	struct guard g;
	struct socks4_request r;
	size_t used = UNTOUCHED;
	assert_int_equal(parse_guarded(&g, header_only, sizeof(header_only), &used, &r),
	                 PROTO_NEED_MORE);
	guard_free(&g);
	assert_int_equal(parse_guarded(&g, no_nul, sizeof(no_nul), &used, &r), PROTO_NEED_MORE);
	guard_free(&g);
	assert_int_equal(used, UNTOUCHED);
}

static void test_err_version(void **state)
{
	(void)state;
	static const uint8_t v5[] = {0x05};
	static const uint8_t v0[] = {0x00};
	static const uint8_t http[] = {'C'};
	assert_error_at(v5, sizeof(v5), PROTO_ERR_VERSION);
	assert_error_at(v0, sizeof(v0), PROTO_ERR_VERSION);
	assert_error_at(http, sizeof(http), PROTO_ERR_VERSION);
}

/* ------------------------------------------------------------------ SOCKS4a */

static void test_4a_whole(void **state)
{
	(void)state;
	uint8_t msg[64];
	size_t n = build(msg, SOCKS4_CMD_CONNECT, 443, ip_4a, "bob", 3, "example.com", 11);
	assert_int_equal(n, 8 + 4 + 12);
	struct guard g;
	struct socks4_request r;
	size_t used;
	const uint8_t *p = guard_copy(&g, msg, n);
	assert_int_equal(socks4_parse_request(p, n, &used, &r), PROTO_DONE);
	assert_int_equal(used, n);
	assert_true(r.is_4a);
	assert_int_equal(r.dst.type, PROTO_ADDR_DOMAIN);
	assert_ptr_equal(r.dst.name, p + 12);
	assert_int_equal(r.dst.name_len, 11);
	assert_memory_equal(r.dst.name, "example.com", 11);
	assert_int_equal(r.dst.port, 443);
	assert_ptr_equal(r.userid, p + 8);
	assert_int_equal(r.userid_len, 3);
	guard_free(&g);
}

static void test_4a_bytewise(void **state)
{
	(void)state;
	uint8_t msg[64];
	assert_bytewise(msg, build(msg, SOCKS4_CMD_CONNECT, 443, ip_4a, "bob", 3, "a.b", 3));
	assert_bytewise(msg, build(msg, SOCKS4_CMD_CONNECT, 443, ip_4a, "", 0, "x", 1));
}

static void test_4a_empty_userid(void **state)
{
	(void)state;
	uint8_t msg[64];
	size_t n = build(msg, SOCKS4_CMD_CONNECT, 80, ip_4a, "", 0, "example.org", 11);
	struct guard g;
	struct socks4_request r;
	size_t used;
	const uint8_t *p = guard_copy(&g, msg, n);
	assert_int_equal(socks4_parse_request(p, n, &used, &r), PROTO_DONE);
	assert_int_equal(used, n);
	assert_int_equal(r.userid_len, 0);
	assert_ptr_equal(r.dst.name, p + 9);
	assert_int_equal(r.dst.name_len, 11);
	guard_free(&g);
}

static void test_4a_max(void **state)
{
	(void)state;
	uint8_t user[SOCKS4_USERID_MAX], name[PROTO_NAME_MAX];
	memset(user, 'u', sizeof(user));
	for (size_t i = 0; i < sizeof(name); i++)
		name[i] = (uint8_t)('a' + i % 26);
	uint8_t msg[SOCKS4_REQUEST_MAX];
	size_t n = build(msg, SOCKS4_CMD_CONNECT, 80, ip_4a, user, 255, name, 255);
	assert_int_equal(n, SOCKS4_REQUEST_MAX);
	assert_bytewise(msg, n);

	struct guard g;
	struct socks4_request r;
	size_t used;
	assert_int_equal(parse_guarded(&g, msg, n, &used, &r), PROTO_DONE);
	assert_int_equal(used, SOCKS4_REQUEST_MAX);
	assert_int_equal(r.userid_len, 255);
	assert_int_equal(r.dst.name_len, 255);
	assert_memory_equal(r.dst.name, name, 255);
	guard_free(&g);
}

static void test_4a_overlong_domain(void **state)
{
	(void)state;
	uint8_t msg[8 + 4 + PROTO_NAME_MAX + 1];
	size_t n = build(msg, SOCKS4_CMD_CONNECT, 80, ip_4a, "bob", 3, NULL, 0);
	memset(msg + n, 'd', sizeof(msg) - n);
	assert_error_at(msg, sizeof(msg), PROTO_ERR_TOO_LONG);

	/* A NUL right after the 256th byte comes too late. */
	uint8_t name[PROTO_NAME_MAX + 1];
	memset(name, 'd', sizeof(name));
	uint8_t late[SOCKS4_REQUEST_MAX + 1];
	n = build(late, SOCKS4_CMD_CONNECT, 80, ip_4a, "", 0, name, sizeof(name));
	struct guard g;
	struct socks4_request r;
	size_t used;
	assert_int_equal(parse_guarded(&g, late, n, &used, &r), PROTO_ERR_TOO_LONG);
	guard_free(&g);
}

static void test_4a_empty_domain(void **state)
{
	(void)state;
	uint8_t msg[64];
	size_t n = build(msg, SOCKS4_CMD_CONNECT, 80, ip_4a, "bob", 3, "", 0);
	assert_int_equal(n, 8 + 4 + 1);
	assert_error_at(msg, n, PROTO_ERR_MALFORMED);
}

static void test_4a_truncated_domain(void **state)
{
	(void)state;
	uint8_t msg[64];
	size_t n = build(msg, SOCKS4_CMD_CONNECT, 80, ip_4a, "bob", 3, "example.com", 11);
	struct guard g;
	struct socks4_request r;
	size_t used;
	/* Up to the userid's NUL, and into the domain. */
	assert_int_equal(parse_guarded(&g, msg, 12, &used, &r), PROTO_NEED_MORE);
	guard_free(&g);
	assert_int_equal(parse_guarded(&g, msg, n - 1, &used, &r), PROTO_NEED_MORE);
	guard_free(&g);
}

static void test_4a_address_forms(void **state)
{
	(void)state;
	/* Only 0.0.0.x with x != 0 signals SOCKS4a. */
	static const struct {
		uint8_t ip[4];
		bool is_4a;
	} cases[] = {
	    {{0, 0, 0, 1}, true},  {{0, 0, 0, 255}, true},        {{0, 0, 0, 0}, false},
	    {{0, 0, 1, 0}, false}, {{0, 0, 1, 1}, false},         {{0, 1, 0, 1}, false},
	    {{1, 0, 0, 1}, false}, {{255, 255, 255, 255}, false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t msg[64];
		size_t n = build(msg, SOCKS4_CMD_CONNECT, 80, cases[i].ip, "u", 1, NULL, 0);
		size_t want = n;
		if (cases[i].is_4a)
			n = build(msg, SOCKS4_CMD_CONNECT, 80, cases[i].ip, "u", 1, "h", 1);
		struct guard g;
		struct socks4_request r;
		size_t used;
		assert_int_equal(parse_guarded(&g, msg, n, &used, &r), PROTO_DONE);
		assert_int_equal(r.is_4a, cases[i].is_4a);
		if (cases[i].is_4a) {
			assert_int_equal(r.dst.type, PROTO_ADDR_DOMAIN);
			assert_int_equal(used, want + 2);
		} else {
			assert_int_equal(r.dst.type, PROTO_ADDR_IPV4);
			assert_memory_equal(r.dst.ip, cases[i].ip, 4);
			assert_int_equal(used, want);
		}
		guard_free(&g);
	}
}

/* ---------------------------------------------------------------- pipelined */

static void test_pipelined(void **state)
{
	(void)state;
	/* A client that sends its first payload bytes right after the request. */
	static const char payload[] = "GET / HTTP/1.0\r\n\r\n";
	uint8_t msg[128];
	size_t n = build(msg, SOCKS4_CMD_CONNECT, 80, ip_lan, "bob", 3, NULL, 0);
	size_t req = n;
	memcpy(msg + n, payload, sizeof(payload) - 1);
	n += sizeof(payload) - 1;

	struct guard g;
	struct socks4_request r;
	size_t used;
	const uint8_t *p = guard_copy(&g, msg, n);
	assert_int_equal(socks4_parse_request(p, n, &used, &r), PROTO_DONE);
	assert_int_equal(used, req);
	assert_memory_equal(p + used, payload, sizeof(payload) - 1);
	guard_free(&g);

	n = build(msg, SOCKS4_CMD_CONNECT, 80, ip_4a, "bob", 3, "example.com", 11);
	req = n;
	memcpy(msg + n, payload, sizeof(payload) - 1);
	n += sizeof(payload) - 1;
	p = guard_copy(&g, msg, n);
	assert_int_equal(socks4_parse_request(p, n, &used, &r), PROTO_DONE);
	assert_int_equal(used, req);
	assert_int_equal(r.dst.name_len, 11);
	guard_free(&g);
}

/* ------------------------------------------------------------------ encoder */

static void test_encode_reply(void **state)
{
	(void)state;
	static const uint8_t ip[4] = {1, 2, 3, 4};
	uint8_t buf[16];
	assert_int_equal(socks4_encode_reply(buf, sizeof(buf), SOCKS4_REP_GRANTED, ip, 80),
	                 SOCKS4_REPLY_LEN);
	assert_memory_equal(buf, "\x00\x5A\x00\x50\x01\x02\x03\x04", 8);

	memset(buf, 0xEE, sizeof(buf));
	assert_int_equal(socks4_encode_reply(buf, 8, SOCKS4_REP_REJECTED, NULL, 0), 8);
	assert_memory_equal(buf, "\x00\x5B\x00\x00\x00\x00\x00\x00\xEE", 9);
}

static void test_encode_reply_cap(void **state)
{
	(void)state;
	uint8_t buf[8];
	for (size_t cap = 0; cap < SOCKS4_REPLY_LEN; cap++) {
		memset(buf, 0xEE, sizeof(buf));
		assert_int_equal(socks4_encode_reply(buf, cap, SOCKS4_REP_GRANTED, NULL, 1), 0);
		assert_int_equal(buf[0], 0xEE);
	}
}

static void test_encode_reply_echo(void **state)
{
	(void)state;
	/* The usual answer repeats the request's port and address. */
	uint8_t msg[64];
	size_t n = build(msg, SOCKS4_CMD_CONNECT, 0xABCD, ip_lan, "", 0, NULL, 0);
	struct guard g;
	struct socks4_request r;
	size_t used;
	assert_int_equal(parse_guarded(&g, msg, n, &used, &r), PROTO_DONE);
	uint8_t out[SOCKS4_REPLY_LEN];
	assert_int_equal(
	    socks4_encode_reply(out, sizeof(out), SOCKS4_REP_GRANTED, r.dst.ip, r.dst.port), 8);
	assert_int_equal(out[0], 0);
	assert_int_equal(out[1], SOCKS4_REP_GRANTED);
	assert_memory_equal(out + 2, msg + 2, 6);
	guard_free(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_connect_whole),
	    cmocka_unit_test(test_connect_bytewise),
	    cmocka_unit_test(test_empty_userid),
	    cmocka_unit_test(test_max_userid),
	    cmocka_unit_test(test_overlong_userid),
	    cmocka_unit_test(test_userid_any_bytes),
	    cmocka_unit_test(test_commands_as_is),
	    cmocka_unit_test(test_truncated),
	    cmocka_unit_test(test_err_version),
	    cmocka_unit_test(test_4a_whole),
	    cmocka_unit_test(test_4a_bytewise),
	    cmocka_unit_test(test_4a_empty_userid),
	    cmocka_unit_test(test_4a_max),
	    cmocka_unit_test(test_4a_overlong_domain),
	    cmocka_unit_test(test_4a_empty_domain),
	    cmocka_unit_test(test_4a_truncated_domain),
	    cmocka_unit_test(test_4a_address_forms),
	    cmocka_unit_test(test_pipelined),
	    cmocka_unit_test(test_encode_reply),
	    cmocka_unit_test(test_encode_reply_cap),
	    cmocka_unit_test(test_encode_reply_echo),
	};
	return cmocka_run_group_tests_name("socks4", tests, NULL, NULL);
}
