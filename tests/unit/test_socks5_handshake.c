/*
 * SOCKS5 handshake (protocol/socks5.c): the greeting, RFC 1929 username/password
 * sub-negotiation, the method and auth-status encoders, and a client that
 * pipelines greeting, auth and request. Every input is placed flush against a
 * PROT_NONE page (guard.h), so a parser that reads past the length it was given
 * faults instead of passing.
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
#include "socks5_helpers.h"

static enum proto_status greeting_fn(const uint8_t *p, size_t len, size_t *used, void *out)
{
	return socks5_parse_greeting(p, len, used, out);
}

static enum proto_status auth_fn(const uint8_t *p, size_t len, size_t *used, void *out)
{
	return socks5_parse_auth(p, len, used, out);
}

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
	    cmocka_unit_test(test_pipelined_userpass),
	    cmocka_unit_test(test_pipelined_noauth),
	    cmocka_unit_test(test_encode_method),
	    cmocka_unit_test(test_encode_auth_reply),
	};
	return cmocka_run_group_tests_name("socks5_handshake", tests, NULL, NULL);
}
