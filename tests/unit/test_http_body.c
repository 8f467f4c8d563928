/*
 * Unit tests of protocol/http_body.c: bodies by length, to close and
 * chunked, each scanned whole, cut at every boundary and byte by byte, every
 * slice in its own guarded copy.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http_helpers.h"

/*
 * Scans (p, n) in slices ending at cuts[0], cuts[1], ... then n; each slice
 * is a guarded copy. Returns the status and, in *end, the offset where the
 * body ended (DONE), the error was seen (errors), or n (NEED_MORE).
 */
static enum proto_status scan_cuts(enum http_body_kind kind, uint64_t length, const void *s,
                                   size_t n, const size_t *cuts, size_t ncuts, size_t *end)
{
	struct http_body b;
	size_t off = 0;

	http_body_init(&b, kind, length);
	for (size_t i = 0; i <= ncuts; i++) {
		size_t stop = i < ncuts ? cuts[i] : n, used = (size_t)-1;
		const uint8_t *p = flush((const uint8_t *)s + off, stop - off);
		enum proto_status st = http_body_scan(&b, p, stop - off, &used);
		if (st == PROTO_NEED_MORE) {
			assert_int_equal(used, stop - off);
			off = stop;
			continue;
		}
		assert_true(used <= stop - off);
		*end = off + used;
		return st;
	}
	*end = n;
	return PROTO_NEED_MORE;
}

/*
 * Scans s whole, cut once at every boundary, cut twice at every pair of
 * boundaries (short inputs), and byte by byte: all must agree with want and
 * want_end.
 */
static void body_check(enum http_body_kind kind, uint64_t length, const void *s, size_t n,
                       enum proto_status want, size_t want_end)
{
	size_t end, cuts[2];
	enum proto_status st;

	st = scan_cuts(kind, length, s, n, NULL, 0, &end);
	if (st != want || end != want_end) {
		show("body", s, n);
		fail_msg("whole: %s at %zu, want %s at %zu", proto_strerror(st), end,
		         proto_strerror(want), want_end);
	}
	for (size_t i = 0; i <= n; i++) {
		cuts[0] = i;
		st = scan_cuts(kind, length, s, n, cuts, 1, &end);
		if (st != want || end != want_end) {
			show("body", s, n);
			fail_msg("cut at %zu: %s at %zu", i, proto_strerror(st), end);
		}
		for (size_t j = i; n <= 64 && j <= n; j++) {
			cuts[1] = j;
			st = scan_cuts(kind, length, s, n, cuts, 2, &end);
			if (st != want || end != want_end) {
				show("body", s, n);
				fail_msg("cuts at %zu, %zu: %s at %zu", i, j, proto_strerror(st),
				         end);
			}
		}
	}
	size_t *all = malloc((n + 1) * sizeof(*all));
	assert_non_null(all);
	for (size_t i = 0; i < n; i++)
		all[i] = i + 1;
	st = scan_cuts(kind, length, s, n, all, n, &end);
	free(all);
	if (st != want || end != want_end) {
		show("body", s, n);
		fail_msg("byte by byte: %s at %zu", proto_strerror(st), end);
	}
}

static void test_body_none_close(void **state)
{
	(void)state;
	struct http_body b;
	size_t used = 99;
	static const uint8_t x[] = "abc";

	http_body_init(&b, HTTP_BODY_NONE, 0);
	assert_int_equal(http_body_scan(&b, x, 3, &used), PROTO_DONE);
	assert_int_equal(used, 0);
	http_body_init(&b, HTTP_BODY_CLOSE, 0);
	assert_int_equal(http_body_scan(&b, x, 3, &used), PROTO_NEED_MORE);
	assert_int_equal(used, 3);
	assert_int_equal(http_body_scan(&b, x, 0, &used), PROTO_NEED_MORE);
	assert_int_equal(used, 0);
	body_check(HTTP_BODY_CLOSE, 0, "0\r\n\r\nxyz", 8, PROTO_NEED_MORE, 8);
}

static void test_body_length(void **state)
{
	(void)state;
	struct http_body b;
	size_t used = 99;

	body_check(HTTP_BODY_LENGTH, 5, "helloGET", 8, PROTO_DONE, 5);
	body_check(HTTP_BODY_LENGTH, 5, "hello", 5, PROTO_DONE, 5);
	body_check(HTTP_BODY_LENGTH, 5, "hell", 4, PROTO_NEED_MORE, 4);
	body_check(HTTP_BODY_LENGTH, 0, "GET", 3, PROTO_DONE, 0);
	body_check(HTTP_BODY_LENGTH, 999999999999999999ULL, "abc", 3, PROTO_NEED_MORE, 3);

	http_body_init(&b, HTTP_BODY_LENGTH, 3);
	assert_int_equal(http_body_scan(&b, (const uint8_t *)"ab", 2, &used), PROTO_NEED_MORE);
	assert_int_equal(used, 2);
	assert_int_equal(http_body_scan(&b, (const uint8_t *)"cd", 2, &used), PROTO_DONE);
	assert_int_equal(used, 1);
	assert_int_equal(http_body_scan(&b, (const uint8_t *)"d", 1, &used), PROTO_DONE);
	assert_int_equal(used, 0);
}

static void test_body_chunked(void **state)
{
	(void)state;
	static const struct {
		struct bytes body;
		struct bytes after; /* the next message, never consumed */
	} t[] = {
	    {B("0\r\n\r\n"), B("")},
	    {B("0\r\n\r\n"), B("GET / HTTP/1.1\r\n")},
	    {B("5\r\nhello\r\n0\r\n\r\n"), B("NEXT")},
	    {B("5;ext=1\r\nhello\r\n0\r\n\r\n"), B("\r\n")},
	    {B("5;a=\"b c\"\t;x\r\nhello\r\n0;last\r\n\r\n"), B("X")},
	    {B("5;\r\nhello\r\n0\r\n\r\n"), B("")},
	    {B("A\r\n0123456789\r\n0\r\nX-Trailer: v\r\nY:\r\nZ: a\tb\xff\r\n\r\n"), B("0")},
	    {B("5\r\nhello\r\n3\r\nabc\r\n0\r\nT: 1\r\n\r\n"), B("\n")},
	    {B("000\r\n\r\n"), B("")},
	    {B("00001\r\n\n\r\n0\r\n\r\n"), B("")},
	    {B("1\r\n\r\r\n0\r\n\r\n"), B("")},
	    {B("3\r\n\0\0\0\r\n0\r\n\r\n"), B("")},
	    {B("2\r\nab\r\n1\r\nc\r\n1\r\nd\r\n0\r\n\r\n"), B("")},
	    {B("fffffffffffffff;\r\n"), B("")}, /* NEED_MORE: see below */
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		size_t n = t[i].body.n + t[i].after.n;
		char *buf = malloc(n + 1);
		assert_non_null(buf);
		memcpy(buf, t[i].body.s, t[i].body.n);
		memcpy(buf + t[i].body.n, t[i].after.s, t[i].after.n);
		if (i == sizeof(t) / sizeof(t[0]) - 1)
			body_check(HTTP_BODY_CHUNKED, 0, buf, n, PROTO_NEED_MORE, n);
		else
			body_check(HTTP_BODY_CHUNKED, 0, buf, n, PROTO_DONE, t[i].body.n);
		free(buf);
	}

	/* A chunk of 255 bytes, sized in mixed case. */
	char big[300];
	memcpy(big, "fF\r\n", 4);
	memset(big + 4, 'x', 255);
	memcpy(big + 259, "\r\n0\r\n\r\n", 7);
	body_check(HTTP_BODY_CHUNKED, 0, big, 266, PROTO_DONE, 266);

	/* Incomplete bodies wait. */
	static const char *const partial[] = {"",
	                                      "5",
	                                      "5;",
	                                      "5;x",
	                                      "5\r",
	                                      "5\r\nhel",
	                                      "5\r\nhello",
	                                      "5\r\nhello\r",
	                                      "5\r\nhello\r\n0",
	                                      "0\r\n",
	                                      "0\r\nX",
	                                      "0\r\nX:",
	                                      "0\r\nX: y\r",
	                                      "0\r\n\r"};
	for (size_t i = 0; i < sizeof(partial) / sizeof(partial[0]); i++)
		body_check(HTTP_BODY_CHUNKED, 0, partial[i], strlen(partial[i]), PROTO_NEED_MORE,
		           strlen(partial[i]));
}

static void test_body_chunked_rejects(void **state)
{
	(void)state;
	static const struct {
		struct bytes in;
		size_t at; /* offset of the byte that is refused */
	} t[] = {
	    {B("\r\n"), 0},
	    {B("\n"), 0},
	    {B("g\r\n"), 0},
	    {B("-5\r\n"), 0},
	    {B("+5\r\n"), 0},
	    {B("0x5\r\n"), 1},
	    {B(" 5\r\n"), 0},
	    {B("5 \r\n"), 1},
	    {B("5\t\r\n"), 1},
	    {B(";x\r\n"), 0},
	    {B("5\rX"), 2},
	    {B("5;a\x00"
	       "b\r\n"),
	     3},
	    {B("5;a\x7f\r\n"), 3},
	    {B("5;a\rb\r\n"), 4},
	    {B("5\r\nhelloX"), 8},
	    {B("5\r\nhello\rX"), 9},
	    {B("5\r\nhello\r\r\n"), 9},
	    {B("5\r\nhello\r\n\r\n"), 10},
	    {B("0\r\nbad trailer\r\n\r\n"), 6},
	    {B("0\r\n obs\r\n\r\n"), 3},
	    {B("0\r\n\tobs\r\n\r\n"), 3},
	    {B("0\r\nX: a\x01"
	       "b\r\n\r\n"),
	     7},
	    {B("0\r\nX: a\rb\r\n"), 8},
	    {B("0\r\nX\r\n\r\n"), 4},
	    {B("0\r\n:x\r\n\r\n"), 3},
	    {B("0\r\nX : y\r\n\r\n"), 4},
	    {B("0\r\n\rX"), 4},
	    {B("0\r\nX: y\r\n Z\r\n\r\n"), 9},
	    /* Every line of the chunked coding ends in CRLF: a bare LF is refused. */
	    {B("5\nhello\n0\n\n"), 1},
	    {B("2;\nxx\r\n0\r\n\r\n"), 2},
	    {B("5;a=b\nhello\r\n0\r\n\r\n"), 5},
	    {B("5\r\nhello\n0\r\n\r\n"), 8},
	    {B("5\r\nhello\r\n3\nabc\r\n0\r\n\r\n"), 11},
	    {B("0\n\r\n"), 1},
	    {B("0;x\n\r\n"), 3},
	    {B("0\r\n\n"), 3},
	    {B("0\r\nT\n\r\n"), 4},
	    {B("0\r\nT: 1\n\r\n"), 7},
	    {B("0\r\nT: 1\r\n\n"), 9},
	    {B("0000000000000001\r\n"), 15},
	    {B("10000000000000000\r\n"), 15},
	    {B("ffffffffffffffff\r\n"), 15},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		body_check(HTTP_BODY_CHUNKED, 0, t[i].in.s, t[i].in.n, PROTO_ERR_MALFORMED,
		           t[i].at);
}

static void test_body_chunked_limits(void **state)
{
	(void)state;
	size_t n = 4096 + 64;
	char *buf = malloc(n);
	assert_non_null(buf);

	/* A size line of exactly 4096 bytes (before CRLF) is fine; 4097 is not. */
	buf[0] = '1';
	buf[1] = ';';
	memset(buf + 2, 'e', 4094);
	memcpy(buf + 4096, "\r\nx\r\n0\r\n\r\n", 10);
	body_check(HTTP_BODY_CHUNKED, 0, buf, 4106, PROTO_DONE, 4106);
	buf[4096] = 'e';
	body_check(HTTP_BODY_CHUNKED, 0, buf, 4097, PROTO_ERR_MALFORMED, 4096);

	/* The same for a trailer line. */
	memcpy(buf, "0\r\nT:", 5);
	memset(buf + 5, 'v', 4094);
	memcpy(buf + 4099, "\r\n\r\n", 4);
	body_check(HTTP_BODY_CHUNKED, 0, buf, 4103, PROTO_DONE, 4103);
	buf[4099] = 'v';
	body_check(HTTP_BODY_CHUNKED, 0, buf, 4100, PROTO_ERR_MALFORMED, 4099);
	/* A trailer name alone over the limit. */
	memset(buf + 3, 'T', 4097);
	body_check(HTTP_BODY_CHUNKED, 0, buf, 4100, PROTO_ERR_MALFORMED, 4099);
	body_check(HTTP_BODY_CHUNKED, 0, buf, 4099, PROTO_NEED_MORE, 4099);
	free(buf);

	/* 15 hex digits are the most a size may have. */
	body_check(HTTP_BODY_CHUNKED, 0, "000000000000001\r\nx\r\n0\r\n\r\n", 25, PROTO_DONE, 25);
	struct http_body b;
	size_t used;
	http_body_init(&b, HTTP_BODY_CHUNKED, 0);
	assert_int_equal(http_body_scan(&b, (const uint8_t *)"fffffffffffffff\r\nab", 19, &used),
	                 PROTO_NEED_MORE);
	assert_int_equal(b.remaining, 0xfffffffffffffffULL - 2);
}

static void test_body_after_end(void **state)
{
	(void)state;
	struct http_body b;
	size_t used = 99;

	http_body_init(&b, HTTP_BODY_CHUNKED, 0);
	assert_int_equal(http_body_scan(&b, (const uint8_t *)"0\r\n\r\nxx", 7, &used), PROTO_DONE);
	assert_int_equal(used, 5);
	assert_int_equal(http_body_scan(&b, (const uint8_t *)"xx", 2, &used), PROTO_DONE);
	assert_int_equal(used, 0);

	http_body_init(&b, HTTP_BODY_CHUNKED, 0);
	assert_int_equal(http_body_scan(&b, (const uint8_t *)"z", 1, &used), PROTO_ERR_MALFORMED);
	assert_int_equal(http_body_scan(&b, (const uint8_t *)"0\r\n\r\n", 5, &used),
	                 PROTO_ERR_MALFORMED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_teardown(f, teardown)
	    T(test_body_none_close),      T(test_body_length),         T(test_body_chunked),
	    T(test_body_chunked_rejects), T(test_body_chunked_limits), T(test_body_after_end),
#undef T
	};
	return cmocka_run_group_tests_name("http bodies", tests, group_setup, group_teardown);
}
