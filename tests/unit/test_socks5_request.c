/*
 * SOCKS5 requests and replies (protocol/socks5.c): every address type and
 * command, request errors in wire order, the reply encoder read back by the
 * request parser, and parsed requests re-encoded to their own bytes. Every input
 * is placed flush against a PROT_NONE page (guard.h), so a parser that reads
 * past the length it was given faults instead of passing.
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

static enum proto_status request_fn(const uint8_t *p, size_t len, size_t *used, void *out)
{
	return socks5_parse_request(p, len, used, out);
}

static void fill_name(uint8_t *name, size_t len)
{
	for (size_t i = 0; i < len; i++)
		name[i] = (uint8_t)('a' + i % 26);
	if (len > 2)
		name[len / 2] = '.';
}

static const uint8_t ip6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

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

/* proto_addr_detach: the name outlives the input it was parsed from. */
static void test_request_detach(void **state)
{
	(void)state;
	uint8_t name[PROTO_NAME_MAX], copy[PROTO_NAME_MAX];
	fill_name(name, sizeof(name));
	uint8_t msg[SOCKS5_REQUEST_MAX];
	size_t n = build_request(msg, SOCKS5_CMD_CONNECT, PROTO_ADDR_DOMAIN, name, 255, 443);
	struct guard g;
	struct socks5_request r;
	size_t used;
	const uint8_t *p = guard_copy(&g, msg, n);
	assert_int_equal(socks5_parse_request(p, n, &used, &r), PROTO_DONE);
	struct proto_addr d = proto_addr_detach(&r.dst, copy);
	guard_free(&g); /* the input is gone: d must not view it */
	assert_ptr_equal(d.name, copy);
	assert_int_equal(d.name_len, 255);
	assert_memory_equal(d.name, name, 255);
	assert_int_equal(d.port, 443);

	n = build_request(msg, SOCKS5_CMD_CONNECT, PROTO_ADDR_IPV6, ip6, 16, 22);
	assert_int_equal(socks5_parse_request(msg, n, &used, &r), PROTO_DONE);
	d = proto_addr_detach(&r.dst, copy);
	assert_int_equal(d.type, PROTO_ADDR_IPV6);
	assert_memory_equal(d.ip, ip6, 16);
	assert_int_equal(d.port, 22);
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

/* ------------------------------------------------------------------- replies */

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
	    cmocka_unit_test(test_request_ipv4),
	    cmocka_unit_test(test_request_ipv6),
	    cmocka_unit_test(test_request_domain),
	    cmocka_unit_test(test_request_domain_1),
	    cmocka_unit_test(test_request_domain_255),
	    cmocka_unit_test(test_request_detach),
	    cmocka_unit_test(test_request_commands),
	    cmocka_unit_test(test_request_resolve),
	    cmocka_unit_test(test_request_truncated),
	    cmocka_unit_test(test_request_err_version),
	    cmocka_unit_test(test_request_err_rsv),
	    cmocka_unit_test(test_request_err_atyp),
	    cmocka_unit_test(test_request_err_empty_domain),
	    cmocka_unit_test(test_request_err_first_wins),
	    cmocka_unit_test(test_encode_reply_null),
	    cmocka_unit_test(test_encode_reply_ipv4),
	    cmocka_unit_test(test_encode_reply_ipv6),
	    cmocka_unit_test(test_encode_reply_domain),
	    cmocka_unit_test(test_encode_reply_domain_255),
	    cmocka_unit_test(test_encode_reply_bad_addr),
	    cmocka_unit_test(test_request_reencode),
	};
	return cmocka_run_group_tests_name("socks5_request", tests, NULL, NULL);
}
