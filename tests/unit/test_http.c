/*
 * Unit tests of protocol/http.c: the strict HTTP/1.x request and response
 * head parsers, body framing, and the encoders.
 *
 * Every parser input goes through req_check()/resp_check(), which parse it
 * from a copy flush against an unmapped page (so an over-read faults), then
 * every strict prefix (each must be NEED_MORE, or the same error as the whole
 * when the error is already visible), then the input with bytes appended
 * (the result must not change). Bodies are scanned whole, cut at every
 * boundary, and byte by byte, each slice in its own guarded copy.
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

#include "guard.h"
#include "http.h"

/* A byte string that may hold NULs. */
struct bytes {
	const char *s;
	size_t n;
};
#define B(x)                                                                                       \
	{                                                                                          \
		x, sizeof(x) - 1                                                                   \
	}

/* -------------------------------------------------------------- helpers */

/* The guarded copy behind the views of the last parse; freed by the next. */
static struct guard held;
static struct http_request req;
static struct http_response resp;

static void release_held(void)
{
	if (held.map)
		guard_free(&held);
}

static int teardown(void **state)
{
	(void)state;
	release_held();
	return 0;
}

/*
 * One guarded arena for the many short-lived copies (prefixes, body slices,
 * encoder buffers): a copy is placed flush against the arena's end, so a read
 * or write past it faults, without an mmap per copy.
 */
#define ARENA_SIZE (4 * HTTP_HEAD_MAX)
static struct guard arena_guard;
static uint8_t *arena;

static int group_setup(void **state)
{
	(void)state;
	static uint8_t zero[ARENA_SIZE];
	arena = (uint8_t *)guard_copy(&arena_guard, zero, ARENA_SIZE);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	guard_free(&arena_guard);
	return 0;
}

/* A copy of (s, n) whose last byte is followed by an unmapped page; valid
 * until the next call. */
static uint8_t *flush(const void *s, size_t n)
{
	assert_true(n <= ARENA_SIZE);
	uint8_t *p = arena + ARENA_SIZE - n;
	if (n)
		memmove(p, s, n);
	return p;
}

static void show(const char *what, const void *p, size_t n)
{
	const uint8_t *b = p;
	print_message("%s: \"", what);
	for (size_t i = 0; i < n && i < 200; i++) {
		if (b[i] >= 0x20 && b[i] < 0x7f && b[i] != '"' && b[i] != '\\')
			print_message("%c", b[i]);
		else
			print_message("\\x%02x", b[i]);
	}
	print_message("%s\"\n", n > 200 ? "..." : "");
}

static bool want_prefix(enum proto_status got, enum proto_status whole)
{
	return got == PROTO_NEED_MORE || (proto_failed(whole) && got == whole);
}

/* Which strict prefixes to try: all of short inputs, a sample of long ones. */
static bool try_prefix(size_t i, size_t n)
{
	return n <= 2048 || i % 97 == 0 || i + 64 >= n;
}

typedef enum proto_status (*parse_fn)(const uint8_t *p, size_t len, bool head, void *out);

static enum proto_status parse_req_fn(const uint8_t *p, size_t len, bool head, void *out)
{
	(void)head;
	return http_parse_request(p, len, out);
}

static enum proto_status parse_resp_fn(const uint8_t *p, size_t len, bool head, void *out)
{
	return http_parse_response(p, len, head, out);
}

static size_t head_len_of(parse_fn fn, const void *out)
{
	return fn == parse_req_fn ? ((const struct http_request *)out)->head_len
	                          : ((const struct http_response *)out)->head_len;
}

/*
 * Parses (s, n) whole, prefix by prefix and with bytes appended; checks the
 * invariants above and returns the status of the whole, with the result of
 * the whole left in *out (views valid until the next call). Prefixes that
 * hold the whole head (the input may go on into a body) must give DONE.
 */
static enum proto_status parse_check(parse_fn fn, const void *s, size_t n, bool head, void *out,
                                     void *scratch)
{
	enum proto_status whole, st;
	const uint8_t *p;

	release_held();
	p = guard_copy(&held, s, n);
	whole = fn(p, n, head, out);

	for (size_t i = 0; i < n; i++) {
		if (!try_prefix(i, n))
			continue;
		st = fn(flush(s, i), i, head, scratch);
		if (whole == PROTO_DONE && i >= head_len_of(fn, out)) {
			/* The input holds more than the head: the prefix holds all of it. */
			if (st != PROTO_DONE || head_len_of(fn, scratch) != head_len_of(fn, out))
				fail_msg("prefix of %zu/%zu bytes past the head: %s", i, n,
				         proto_strerror(st));
			continue;
		}
		if (!want_prefix(st, whole)) {
			show("input", s, n);
			fail_msg("prefix of %zu/%zu bytes: %s, whole: %s", i, n, proto_strerror(st),
			         proto_strerror(whole));
		}
	}

	if (whole != PROTO_NEED_MORE) {
		static const char more[] = "GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n";
		size_t m = n + sizeof(more) - 1;
		uint8_t *buf = malloc(m);
		assert_non_null(buf);
		memcpy(buf, s, n);
		memcpy(buf + n, more, sizeof(more) - 1);
		st = fn(flush(buf, m), m, head, scratch);
		free(buf);
		if (st != whole ||
		    (whole == PROTO_DONE && head_len_of(fn, scratch) != head_len_of(fn, out))) {
			show("input", s, n);
			fail_msg("with bytes appended: %s, whole: %s", proto_strerror(st),
			         proto_strerror(whole));
		}
	}
	if (whole == PROTO_DONE && head_len_of(fn, out) > n)
		fail_msg("head_len %zu > %zu", head_len_of(fn, out), n);
	return whole;
}

static enum proto_status req_check_n(const void *s, size_t n)
{
	static struct http_request scratch;
	return parse_check(parse_req_fn, s, n, false, &req, &scratch);
}

static enum proto_status req_check(const char *s)
{
	return req_check_n(s, strlen(s));
}

static enum proto_status resp_check_n(const void *s, size_t n, bool head)
{
	static struct http_response scratch;
	return parse_check(parse_resp_fn, s, n, head, &resp, &scratch);
}

static enum proto_status resp_check(const char *s, bool head)
{
	return resp_check_n(s, strlen(s), head);
}

static void expect_req(struct bytes in, enum proto_status want)
{
	enum proto_status st = req_check_n(in.s, in.n);
	if (st != want) {
		show("request", in.s, in.n);
		fail_msg("got %s, want %s", proto_strerror(st), proto_strerror(want));
	}
}

static void expect_resp(struct bytes in, bool head, enum proto_status want)
{
	enum proto_status st = resp_check_n(in.s, in.n, head);
	if (st != want) {
		show("response", in.s, in.n);
		fail_msg("got %s, want %s", proto_strerror(st), proto_strerror(want));
	}
}

static void assert_view(const uint8_t *p, size_t n, const char *want)
{
	if (n != strlen(want) || memcmp(p, want, n) != 0) {
		show("got", p, n);
		fail_msg("want \"%s\"", want);
	}
}

static const struct http_header *hdr(const char *name)
{
	const struct http_header *h = http_find_header(req.headers, req.nheaders, name);
	assert_non_null(h);
	return h;
}

/* -------------------------------------------------------------- requests: accepted */

static void test_req_absolute_get(void **state)
{
	(void)state;
	const char *in = "GET http://example.com/index.html?q=1&r=%20 HTTP/1.1\r\n"
	                 "Host: example.com\r\n"
	                 "User-Agent: t/1\r\n"
	                 "Accept: */*\r\n"
	                 "\r\n";
	assert_int_equal(req_check(in), PROTO_DONE);
	assert_view(req.method, req.method_len, "GET");
	assert_view(req.target, req.target_len, "http://example.com/index.html?q=1&r=%20");
	assert_int_equal(req.version_minor, 1);
	assert_int_equal(req.form, HTTP_FORM_ABSOLUTE);
	assert_false(req.is_connect);
	assert_view(req.host, req.host_len, "example.com");
	assert_false(req.host_is_ipv6);
	assert_int_equal(req.port, 80);
	assert_view(req.path, req.path_len, "/index.html?q=1&r=%20");
	assert_int_equal(req.nheaders, 3);
	assert_view(req.headers[1].name, req.headers[1].name_len, "User-Agent");
	assert_view(req.headers[1].value, req.headers[1].value_len, "t/1");
	assert_int_equal(req.body, HTTP_BODY_NONE);
	assert_true(req.keep_alive);
	assert_int_equal(req.head_len, strlen(in));
	for (size_t i = 0; i < req.nheaders; i++)
		assert_false(req.headers[i].hop_by_hop);
}

static void test_req_absolute_forms(void **state)
{
	(void)state;
	static const struct {
		const char *target, *host, *path;
		unsigned port;
		bool v6;
	} t[] = {
	    {"http://a", "a", "/", 80, false},
	    {"http://a/", "a", "/", 80, false},
	    {"HTTP://A.example:8080/x/y", "A.example", "/x/y", 8080, false},
	    {"hTtP://a:80/", "a", "/", 80, false},
	    {"http://a:1/", "a", "/", 1, false},
	    {"http://a:65535", "a", "/", 65535, false},
	    {"http://a:00080/", "a", "/", 80, false},
	    {"http://10.0.0.1:81/p?x=1", "10.0.0.1", "/p?x=1", 81, false},
	    {"http://[::1]/", "::1", "/", 80, true},
	    {"http://[2001:db8::1]:8443/a?b", "2001:db8::1", "/a?b", 8443, true},
	    {"http://[::ffff:1.2.3.4]", "::ffff:1.2.3.4", "/", 80, true},
	    {"http://my_host-1.example./p@q", "my_host-1.example.", "/p@q", 80, false},
	    {"http://a/?", "a", "/?", 80, false},
	    {"http://a//", "a", "//", 80, false},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char in[512];
		snprintf(in, sizeof(in), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", t[i].target);
		if (req_check(in) != PROTO_DONE)
			fail_msg("%s: not accepted", t[i].target);
		assert_int_equal(req.form, HTTP_FORM_ABSOLUTE);
		assert_view(req.host, req.host_len, t[i].host);
		assert_view(req.path, req.path_len, t[i].path);
		assert_int_equal(req.port, t[i].port);
		assert_int_equal(req.host_is_ipv6, t[i].v6);
	}
}

static void test_req_connect(void **state)
{
	(void)state;
	static const struct {
		const char *target, *host;
		unsigned port;
		bool v6;
	} t[] = {
	    {"example.com:443", "example.com", 443, false},
	    {"1.2.3.4:1", "1.2.3.4", 1, false},
	    {"a:65535", "a", 65535, false},
	    {"a:08080", "a", 8080, false},
	    {"[2001:db8::1]:443", "2001:db8::1", 443, true},
	    {"[::]:22", "::", 22, true},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char in[512];
		snprintf(in, sizeof(in), "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", t[i].target,
		         t[i].target);
		if (req_check(in) != PROTO_DONE)
			fail_msg("%s: not accepted", t[i].target);
		assert_true(req.is_connect);
		assert_int_equal(req.form, HTTP_FORM_AUTHORITY);
		assert_view(req.host, req.host_len, t[i].host);
		assert_int_equal(req.port, t[i].port);
		assert_int_equal(req.host_is_ipv6, t[i].v6);
		assert_int_equal(req.body, HTTP_BODY_NONE);
	}
	/* HTTP/1.0 CONNECT needs no Host. */
	assert_int_equal(req_check("CONNECT a:443 HTTP/1.0\r\n\r\n"), PROTO_DONE);
	assert_false(req.keep_alive);
}

static void test_req_origin_asterisk(void **state)
{
	(void)state;
	assert_int_equal(req_check("GET /a?b HTTP/1.1\r\nHost: a\r\n\r\n"), PROTO_DONE);
	assert_int_equal(req.form, HTTP_FORM_ORIGIN);
	assert_false(req.is_connect);
	assert_view(req.path, req.path_len, "/a?b");
	assert_int_equal(req_check("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"), PROTO_DONE);
	assert_int_equal(req.form, HTTP_FORM_ASTERISK);
	assert_int_equal(req_check("GET * HTTP/1.1\r\nHost: a\r\n\r\n"), PROTO_ERR_MALFORMED);
	/* Method names are case-sensitive: "connect" is not CONNECT. */
	assert_int_equal(req_check("connect /x HTTP/1.1\r\nHost: a\r\n\r\n"), PROTO_DONE);
	assert_false(req.is_connect);
	assert_int_equal(req_check("connect a:443 HTTP/1.1\r\nHost: a\r\n\r\n"),
	                 PROTO_ERR_MALFORMED);
}

static void test_req_versions(void **state)
{
	(void)state;
	assert_int_equal(req_check("GET http://a/ HTTP/1.0\r\n\r\n"), PROTO_DONE);
	assert_int_equal(req.version_minor, 0);
	assert_int_equal(req_check("GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n"), PROTO_DONE);
	assert_int_equal(req.version_minor, 1);
	/* A higher minor version is read as the highest one known (RFC 9110 6.2). */
	assert_int_equal(req_check("GET http://a/ HTTP/1.9\r\nHost: a\r\n\r\n"), PROTO_DONE);
	assert_int_equal(req.version_minor, 1);
	assert_int_equal(req_check("GET http://a/ HTTP/1.9\r\n\r\n"), PROTO_ERR_NO_HOST);

	static const struct bytes bad[] = {
	    B("GET http://a/ HTTP/2.0\r\nHost: a\r\n\r\n"),
	    B("GET http://a/ HTTP/0.9\r\nHost: a\r\n\r\n"),
	    B("GET http://a/ HTTP/3.1\r\n\r\n"),
	    B("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_req(bad[i], PROTO_ERR_VERSION);
}

static void test_req_bare_lf(void **state)
{
	(void)state;
	const char *in = "POST http://a/x HTTP/1.1\nHost: a\nContent-Length: 3\n\nabc";
	assert_int_equal(req_check(in), PROTO_DONE);
	assert_int_equal(req.head_len, strlen(in) - 3);
	assert_int_equal(req.body, HTTP_BODY_LENGTH);
	assert_int_equal(req.content_length, 3);
	/* Mixed endings. */
	assert_int_equal(req_check("GET http://a/ HTTP/1.1\nHost: a\r\nX: y\n\r\n"), PROTO_DONE);
	assert_int_equal(req.nheaders, 2);
}

static void test_req_values(void **state)
{
	(void)state;
	static const char in[] = "GET http://a/ HTTP/1.1\r\n"
	                         "Host:a\r\n"
	                         "X-Ows: \t v a l \t \r\n"
	                         "X-Empty:\r\n"
	                         "X-Blank:   \r\n"
	                         "X-Obs-Text: caf\xc3\xa9\r\n"
	                         "X-Tab: a\tb\r\n"
	                         "!#$%&'*+-.^_`|~09azAZ: token\r\n"
	                         "\r\n";
	assert_int_equal(req_check(in), PROTO_DONE);
	assert_view(hdr("host")->value, hdr("host")->value_len, "a");
	assert_view(hdr("x-ows")->value, hdr("x-ows")->value_len, "v a l");
	assert_int_equal(hdr("X-Empty")->value_len, 0);
	assert_int_equal(hdr("X-Blank")->value_len, 0);
	assert_view(hdr("X-Obs-Text")->value, hdr("X-Obs-Text")->value_len, "caf\xc3\xa9");
	assert_view(hdr("X-Tab")->value, hdr("X-Tab")->value_len, "a\tb");
	assert_view(hdr("!#$%&'*+-.^_`|~09AZAZ")->value, 5, "token");
}

static void test_find_header(void **state)
{
	(void)state;
	assert_int_equal(req_check("GET http://a/ HTTP/1.1\r\nHost: a\r\nProxy-Authorization: "
	                           "Basic dTpw\r\nX: 1\r\nx: 2\r\n\r\n"),
	                 PROTO_DONE);
	const struct http_header *h =
	    http_find_header(req.headers, req.nheaders, "proxy-AUTHORIZATION");
	assert_non_null(h);
	assert_view(h->value, h->value_len, "Basic dTpw");
	assert_true(h->hop_by_hop);
	h = http_find_header(req.headers, req.nheaders, "X");
	assert_non_null(h);
	assert_view(h->value, h->value_len, "1"); /* the first of several */
	assert_null(http_find_header(req.headers, req.nheaders, "Proxy-Auth"));
	assert_null(http_find_header(req.headers, req.nheaders, "Proxy-Authorization2"));
	assert_null(http_find_header(req.headers, 0, "Host"));
}

/* -------------------------------------------------------------- requests: limits */

/* A request of exactly total bytes, padded in one header value. */
static char *make_request(size_t total, bool complete)
{
	const char *start = "GET http://a/ HTTP/1.1\r\nHost: a\r\nX-Pad: ";
	const char *end = complete ? "\r\n\r\n" : "\r\n";
	size_t s = strlen(start), e = strlen(end);
	char *buf = malloc(total + 1);
	assert_non_null(buf);
	assert_true(total > s + e);
	memcpy(buf, start, s);
	memset(buf + s, 'p', total - s - e);
	memcpy(buf + total - e, end, e);
	buf[total] = '\0';
	return buf;
}

static void test_req_head_max(void **state)
{
	(void)state;
	char *in = make_request(HTTP_HEAD_MAX, true);
	assert_int_equal(req_check(in), PROTO_DONE);
	assert_int_equal(req.head_len, HTTP_HEAD_MAX);
	free(in);

	in = make_request(HTTP_HEAD_MAX + 1, true);
	assert_int_equal(req_check(in), PROTO_ERR_TOO_LONG);
	free(in);

	/* Incomplete: wait below the maximum, refuse at it. */
	in = make_request(HTTP_HEAD_MAX - 1, false);
	assert_int_equal(req_check(in), PROTO_NEED_MORE);
	free(in);
	in = make_request(HTTP_HEAD_MAX, false);
	assert_int_equal(req_check(in), PROTO_ERR_TOO_LONG);
	free(in);
	in = make_request(HTTP_HEAD_MAX + 500, false);
	assert_int_equal(req_check(in), PROTO_ERR_TOO_LONG);
	free(in);

	/* One line with no LF at all. */
	char *junk = malloc(HTTP_HEAD_MAX + 1);
	assert_non_null(junk);
	memset(junk, 'G', HTTP_HEAD_MAX);
	junk[HTTP_HEAD_MAX] = '\0';
	assert_int_equal(req_check_n(junk, HTTP_HEAD_MAX - 1), PROTO_NEED_MORE);
	assert_int_equal(req_check_n(junk, HTTP_HEAD_MAX), PROTO_ERR_TOO_LONG);
	free(junk);
}

static char *make_headers(size_t count)
{
	size_t cap = 64 + count * 16, n;
	char *buf = malloc(cap);
	assert_non_null(buf);
	n = (size_t)snprintf(buf, cap, "GET http://a/ HTTP/1.1\r\nHost: a\r\n");
	for (size_t i = 1; i < count; i++)
		n += (size_t)snprintf(buf + n, cap - n, "X-%zu: %zu\r\n", i, i);
	snprintf(buf + n, cap - n, "\r\n");
	return buf;
}

static void test_req_headers_max(void **state)
{
	(void)state;
	char *in = make_headers(HTTP_HEADERS_MAX);
	assert_int_equal(req_check(in), PROTO_DONE);
	assert_int_equal(req.nheaders, HTTP_HEADERS_MAX);
	free(in);
	in = make_headers(HTTP_HEADERS_MAX + 1);
	assert_int_equal(req_check(in), PROTO_ERR_TOO_LONG);
	free(in);
}

/* -------------------------------------------------------------- requests: refused */

static void test_req_line_rejects(void **state)
{
	(void)state;
	static const struct bytes t[] = {
	    B("GET  http://a/ HTTP/1.1\r\nHost: a\r\n\r\n"),
	    B("GET http://a/  HTTP/1.1\r\nHost: a\r\n\r\n"),
	    B("GET\thttp://a/ HTTP/1.1\r\nHost: a\r\n\r\n"),
	    B("GET http://a/\tHTTP/1.1\r\nHost: a\r\n\r\n"),
	    B(" GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n"),
	    B("\r\nGET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n"),
	    B("\nGET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n"),
	    B("GET http://a/ http/1.1\r\nHost: a\r\n\r\n"),
	    B("GET http://a/ HTTP/1.1 \r\nHost: a\r\n\r\n"),
	    B("GET http://a/ HTTP/1.10\r\nHost: a\r\n\r\n"),
	    B("GET http://a/ HTTP/11\r\nHost: a\r\n\r\n"),
	    B("GET http://a/ HTTP/1\r\nHost: a\r\n\r\n"),
	    B("GET http://a/ HTTP/1.x\r\nHost: a\r\n\r\n"),
	    B("GET http://a/ HTTP/a.1\r\nHost: a\r\n\r\n"),
	    B("GET http://a/ HTTP/1.1\r\r\nHost: a\r\n\r\n"),
	    B("GET http://a/ HTTP/1.1\rHost: a\r\n\r\n"),
	    B("GET http://a/\r\nHost: a\r\n\r\n"),
	    B("GET\r\nHost: a\r\n\r\n"),
	    B("GET \r\nHost: a\r\n\r\n"),
	    B("\r\n\r\n"),
	    B("G(T http://a/ HTTP/1.1\r\nHost: a\r\n\r\n"),
	    B("G\x00T http://a/ HTTP/1.1\r\nHost: a\r\n\r\n"),
	    B("GET http://a/\x01 HTTP/1.1\r\nHost: a\r\n\r\n"),
	    B("GET http://a/\x7f HTTP/1.1\r\nHost: a\r\n\r\n"),
	    B("GET http://a/\x80 HTTP/1.1\r\nHost: a\r\n\r\n"),
	    B("GET http://a/\x00 HTTP/1.1\r\nHost: a\r\n\r\n"),
	    B("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\n\n"),
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		expect_req(t[i], PROTO_ERR_MALFORMED);
}

static void test_req_target_rejects(void **state)
{
	(void)state;
	static const char *const t[] = {
	    "https://a/",      "HTTPS://a/",      "ftp://a/",
	    "ws://a/",         "http:/a/",        "http:a/",
	    "http//a/",        "http://",         "http:///x",
	    "http://:80/",     "http://user@a/",  "http://user:pw@a/",
	    "http://@a/",      "http://a@/",      "http://a:/",
	    "http://a:0/",     "http://a:65536/", "http://a:123456/",
	    "http://a:8x/",    "http://a:-1/",    "http://a:+80/",
	    "http://a%2e/",    "http://a%/",      "http://a/#frag",
	    "http://a#frag",   "http://a?q",      "http://[::1/",
	    "http://[::1]x/",  "http://[::1]:/",  "http://[fe80::1%25eth0]/",
	    "http://[zz::1]/", "http://[]/",      "http://[1234]/",
	    "http://[v1.x]/",  "http://a!b/",     "http://a$b/",
	    "http://a&b/",     "http://a'b/",     "http://a(b)/",
	    "http://a*b/",     "http://a+b/",     "http://a,b/",
	    "http://a;b/",     "http://a=b/",     "http://a~b/",
	    "http://a\"b/",    "http://a<b>/",    "http://a\\b/",
	    "http://a:80:80/", "a.example:80",    "a.example",
	    "example.com/x",   "\"http://a/\"",
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char in[512];
		int n = snprintf(in, sizeof(in), "GET %s HTTP/1.1\r\nHost: a\r\n\r\n", t[i]);
		expect_req((struct bytes){in, (size_t)n}, PROTO_ERR_MALFORMED);
	}
}

static void test_req_connect_rejects(void **state)
{
	(void)state;
	static const char *const t[] = {
	    "a.example",
	    "a.example:",
	    ":443",
	    "a.example:0",
	    "a.example:65536",
	    "a.example:443/",
	    "http://a.example:443",
	    "/",
	    "*",
	    "[::1]",
	    "[::1]:",
	    "[::1]443",
	    "a.example:-1",
	    "a.example:+443",
	    "user@a.example:443",
	    "a.example:443:1",
	    "a%20b:443",
	    "[fe80::1%eth0]:443",
	    "a,b:443",
	    "a.example:0x1bb",
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char in[512];
		int n = snprintf(in, sizeof(in), "CONNECT %s HTTP/1.1\r\nHost: a\r\n\r\n", t[i]);
		expect_req((struct bytes){in, (size_t)n}, PROTO_ERR_MALFORMED);
	}
}

static void test_req_host_length(void **state)
{
	(void)state;
	char host[300], in[512];
	memset(host, 'h', sizeof(host));
	host[PROTO_NAME_MAX] = '\0';
	snprintf(in, sizeof(in), "GET http://%s/ HTTP/1.1\r\nHost: a\r\n\r\n", host);
	assert_int_equal(req_check(in), PROTO_DONE);
	assert_int_equal(req.host_len, PROTO_NAME_MAX);
	snprintf(in, sizeof(in), "CONNECT %s:443 HTTP/1.1\r\nHost: a\r\n\r\n", host);
	assert_int_equal(req_check(in), PROTO_DONE);

	host[PROTO_NAME_MAX] = 'h';
	host[PROTO_NAME_MAX + 1] = '\0';
	snprintf(in, sizeof(in), "GET http://%s/ HTTP/1.1\r\nHost: a\r\n\r\n", host);
	assert_int_equal(req_check(in), PROTO_ERR_MALFORMED);
	snprintf(in, sizeof(in), "CONNECT %s:443 HTTP/1.1\r\nHost: a\r\n\r\n", host);
	assert_int_equal(req_check(in), PROTO_ERR_MALFORMED);
}

static void test_req_host_header(void **state)
{
	(void)state;
	static const struct {
		struct bytes in;
		enum proto_status want;
	} t[] = {
	    {B("GET http://a/ HTTP/1.1\r\n\r\n"), PROTO_ERR_NO_HOST},
	    {B("GET /x HTTP/1.1\r\n\r\n"), PROTO_ERR_NO_HOST},
	    {B("CONNECT a:443 HTTP/1.1\r\n\r\n"), PROTO_ERR_NO_HOST},
	    {B("GET http://a/ HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"), PROTO_ERR_NO_HOST},
	    {B("GET http://a/ HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n"), PROTO_ERR_NO_HOST},
	    {B("GET http://a/ HTTP/1.0\r\nHost: a\r\nHOST: a\r\n\r\n"), PROTO_ERR_NO_HOST},
	    {B("GET http://a/ HTTP/1.1\r\nHost: a b\r\n\r\n"), PROTO_ERR_NO_HOST},
	    {B("GET http://a/ HTTP/1.1\r\nHost: a@b\r\n\r\n"), PROTO_ERR_NO_HOST},
	    {B("GET http://a/ HTTP/1.1\r\nHost: a:99999\r\n\r\n"), PROTO_ERR_NO_HOST},
	    {B("GET http://a/ HTTP/1.1\r\nHost: a, b\r\n\r\n"), PROTO_ERR_NO_HOST},
	    {B("GET http://a/ HTTP/1.1\r\nHost: [::1\r\n\r\n"), PROTO_ERR_NO_HOST},
	    {B("GET http://a/ HTTP/1.1\r\nHost : a\r\n\r\n"), PROTO_ERR_HEADER},
	    {B("GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n"), PROTO_DONE},
	    {B("GET http://a/ HTTP/1.1\r\nhOST: a\r\n\r\n"), PROTO_DONE},
	    {B("GET http://a/ HTTP/1.1\r\nHost: a:\r\n\r\n"), PROTO_DONE},
	    {B("GET http://a/ HTTP/1.1\r\nHost: a:8080\r\n\r\n"), PROTO_DONE},
	    {B("GET http://a/ HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n"), PROTO_DONE},
	    {B("GET http://a/ HTTP/1.1\r\nHost:\r\n\r\n"), PROTO_DONE},
	    {B("GET http://a/ HTTP/1.1\r\nHost: other.example\r\n\r\n"), PROTO_DONE},
	    {B("GET http://a/ HTTP/1.0\r\n\r\n"), PROTO_DONE},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		expect_req(t[i].in, t[i].want);
	/* The destination comes from the target, never from Host. */
	assert_int_equal(req_check("GET http://a/ HTTP/1.1\r\nHost: other.example\r\n\r\n"),
	                 PROTO_DONE);
	assert_view(req.host, req.host_len, "a");
}

static void test_req_header_rejects(void **state)
{
	(void)state;
#define H(x) B("GET http://a/ HTTP/1.1\r\nHost: a\r\n" x "\r\n")
	static const struct bytes t[] = {
	    H("X : y\r\n"),                       /* whitespace before the colon */
	    H("X\t: y\r\n"),      H(" X: y\r\n"), /* obs-fold as the first field */
	    H("X: y\r\n z\r\n"),                  /* obs-fold */
	    H("X: y\r\n\tz\r\n"),                 /* obs-fold with HTAB */
	    H("X: a\x00z\r\n"),                   /* NUL */
	    H("X: a\rz\r\n"),                     /* bare CR */
	    H("X: a\r\r\n"),                      /* CR CR LF */
	    H("X: a\x01\r\n"),    H("X: \x1f\r\n"), H("X: a\x7f\r\n"), /* DEL */
	    H("X: a\x0b\r\n"),                                         /* VT */
	    H("X: a\x0c\r\n"),                                         /* FF */
	    H("Xy\r\n"),                                               /* no colon */
	    H(": y\r\n"),                                              /* empty name */
	    H("X\x00Y: y\r\n"),                                        /* NUL in the name */
	    H("X Y: y\r\n"),      H("X(Y): y\r\n"), H("X\"Y: y\r\n"),  H("X\x80: y\r\n"),
	    H("\x00\r\n"),        H("\rX: y\r\n"),  H("\r\r\n"),
	};
#undef H
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		expect_req(t[i], PROTO_ERR_HEADER);
}

/* -------------------------------------------------------------- requests: framing */

#define POST(h) B("POST http://a/ HTTP/1.1\r\nHost: a\r\n" h "\r\n")

static void test_req_framing(void **state)
{
	(void)state;
	static const struct {
		struct bytes in;
		enum proto_status want;
		enum http_body_kind body;
		uint64_t length;
	} t[] = {
	    {POST(""), PROTO_DONE, HTTP_BODY_NONE, 0},
	    {POST("Content-Length: 5\r\n"), PROTO_DONE, HTTP_BODY_LENGTH, 5},
	    {POST("Content-Length: 0\r\n"), PROTO_DONE, HTTP_BODY_LENGTH, 0},
	    {POST("content-length:\t7\t\r\n"), PROTO_DONE, HTTP_BODY_LENGTH, 7},
	    {POST("Content-Length: 000123\r\n"), PROTO_DONE, HTTP_BODY_LENGTH, 123},
	    {POST("Content-Length: 999999999999999999\r\n"), PROTO_DONE, HTTP_BODY_LENGTH,
	     999999999999999999ULL},
	    {POST("Content-Length: 5,5\r\n"), PROTO_DONE, HTTP_BODY_LENGTH, 5},
	    {POST("Content-Length: 5 , 5,\t5\r\n"), PROTO_DONE, HTTP_BODY_LENGTH, 5},
	    {POST("Content-Length: 5\r\nContent-Length: 5\r\n"), PROTO_DONE, HTTP_BODY_LENGTH, 5},
	    {POST("Content-Length: 5\r\nContent-Length: 5, 005\r\n"), PROTO_DONE, HTTP_BODY_LENGTH,
	     5},
	    {POST("Transfer-Encoding: chunked\r\n"), PROTO_DONE, HTTP_BODY_CHUNKED, 0},
	    {POST("Transfer-Encoding: CHUNKED\r\n"), PROTO_DONE, HTTP_BODY_CHUNKED, 0},
	    {POST("transfer-encoding:Chunked\r\n"), PROTO_DONE, HTTP_BODY_CHUNKED, 0},
	    {POST("Transfer-Encoding:  \tchunked \t\r\n"), PROTO_DONE, HTTP_BODY_CHUNKED, 0},
	    {POST("Transfer_Encoding: chunked\r\n"), PROTO_DONE, HTTP_BODY_NONE, 0},
	    {POST("TE: chunked\r\n"), PROTO_DONE, HTTP_BODY_NONE, 0},
	    {POST("Content-Length: 1000000000000000000\r\n"), PROTO_ERR_LENGTH, 0, 0},
	    {POST("Content-Length: 99999999999999999999999\r\n"), PROTO_ERR_LENGTH, 0, 0},
	    {POST("Content-Length: +5\r\n"), PROTO_ERR_LENGTH, 0, 0},
	    {POST("Content-Length: -5\r\n"), PROTO_ERR_LENGTH, 0, 0},
	    {POST("Content-Length: 5 5\r\n"), PROTO_ERR_LENGTH, 0, 0},
	    {POST("Content-Length: 5, 6\r\n"), PROTO_ERR_LENGTH, 0, 0},
	    {POST("Content-Length: 5,\r\n"), PROTO_ERR_LENGTH, 0, 0},
	    {POST("Content-Length: ,5\r\n"), PROTO_ERR_LENGTH, 0, 0},
	    {POST("Content-Length:\r\n"), PROTO_ERR_LENGTH, 0, 0},
	    {POST("Content-Length: 0x5\r\n"), PROTO_ERR_LENGTH, 0, 0},
	    {POST("Content-Length: 5.0\r\n"), PROTO_ERR_LENGTH, 0, 0},
	    {POST("Content-Length: 5a\r\n"), PROTO_ERR_LENGTH, 0, 0},
	    {POST("Content-Length: \"5\"\r\n"), PROTO_ERR_LENGTH, 0, 0},
	    {POST("Content-Length: 5\r\nContent-Length: 6\r\n"), PROTO_ERR_LENGTH, 0, 0},
	    {POST("Content-Length: 5\r\nContent-Length: 5,6\r\n"), PROTO_ERR_LENGTH, 0, 0},
	    {POST("Transfer-Encoding: identity\r\n"), PROTO_ERR_FRAMING, 0, 0},
	    {POST("Transfer-Encoding: gzip, chunked\r\n"), PROTO_ERR_FRAMING, 0, 0},
	    {POST("Transfer-Encoding: chunked, identity\r\n"), PROTO_ERR_FRAMING, 0, 0},
	    {POST("Transfer-Encoding: chunked, chunked\r\n"), PROTO_ERR_FRAMING, 0, 0},
	    {POST("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"),
	     PROTO_ERR_FRAMING, 0, 0},
	    {POST("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n"), PROTO_ERR_FRAMING,
	     0, 0},
	    {POST("Transfer-Encoding: chunked,\r\n"), PROTO_ERR_FRAMING, 0, 0},
	    {POST("Transfer-Encoding: ,chunked\r\n"), PROTO_ERR_FRAMING, 0, 0},
	    {POST("Transfer-Encoding:\r\n"), PROTO_ERR_FRAMING, 0, 0},
	    {POST("Transfer-Encoding: xchunked\r\n"), PROTO_ERR_FRAMING, 0, 0},
	    {POST("Transfer-Encoding: chunk\r\n"), PROTO_ERR_FRAMING, 0, 0},
	    {POST("Transfer-Encoding: chunked;q=1\r\n"), PROTO_ERR_FRAMING, 0, 0},
	    {POST("Transfer-Encoding: \"chunked\"\r\n"), PROTO_ERR_FRAMING, 0, 0},
	    {POST("Transfer-Encoding: chun ked\r\n"), PROTO_ERR_FRAMING, 0, 0},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		expect_req(t[i].in, t[i].want);
		if (t[i].want != PROTO_DONE)
			continue;
		if (req.body != t[i].body || req.content_length != t[i].length) {
			show("request", t[i].in.s, t[i].in.n);
			fail_msg("body %d length %llu", req.body,
			         (unsigned long long)req.content_length);
		}
	}
}

/* The classic request-smuggling shapes: each must be refused, never guessed at. */
static void test_req_smuggling(void **state)
{
	(void)state;
	static const struct {
		struct bytes in;
		enum proto_status want;
	} t[] = {
	    /* CL.TE and TE.CL */
	    {POST("Content-Length: 6\r\nTransfer-Encoding: chunked\r\n"), PROTO_ERR_FRAMING},
	    {POST("Transfer-Encoding: chunked\r\nContent-Length: 6\r\n"), PROTO_ERR_FRAMING},
	    {POST("Content-Length: +5\r\nTransfer-Encoding: chunked\r\n"), PROTO_ERR_FRAMING},
	    {POST("Transfer-Encoding: chunked\r\nContent-Length: 0\r\n"), PROTO_ERR_FRAMING},
	    /* TE.TE obfuscations */
	    {POST("Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n"),
	     PROTO_ERR_FRAMING},
	    {POST("Transfer-Encoding: identity, chunked\r\n"), PROTO_ERR_FRAMING},
	    {POST("Transfer-Encoding: x\r\nTransfer-Encoding: chunked\r\n"), PROTO_ERR_FRAMING},
	    {POST("Transfer-Encoding : chunked\r\n"), PROTO_ERR_HEADER},
	    {POST("Transfer-Encoding\t:chunked\r\n"), PROTO_ERR_HEADER},
	    {POST(" Transfer-Encoding: chunked\r\n"), PROTO_ERR_HEADER},
	    {POST("X: y\r\n Transfer-Encoding: chunked\r\n"), PROTO_ERR_HEADER},
	    {POST("Transfer-Encoding:\r\n chunked\r\n"), PROTO_ERR_HEADER},
	    {POST("Transfer-Encoding: \x0b"
	          "chunked\r\n"),
	     PROTO_ERR_HEADER},
	    {POST("Transfer-Encoding: chunked\x00\r\n"), PROTO_ERR_HEADER},
	    {POST("Transfer-Encoding: chunked\rX: y\r\n"), PROTO_ERR_HEADER},
	    {POST("Transfer-Encoding: chunked\r\r\n"), PROTO_ERR_HEADER},
	    {POST("Transfer-Encoding: \xff"
	          "chunked\r\n"),
	     PROTO_ERR_FRAMING},
	    {POST("Transfer-Encoding: chunked\x85\r\n"), PROTO_ERR_FRAMING},
	    /* CL obfuscations */
	    {POST("Content-Length: 5\r\nContent-Length: 50\r\n"), PROTO_ERR_LENGTH},
	    {POST("Content-Length : 5\r\n"), PROTO_ERR_HEADER},
	    {POST("Content-Length: 5\r\n Content-Length: 6\r\n"), PROTO_ERR_HEADER},
	    {POST("Content-Length: 0\x00\r\n"), PROTO_ERR_HEADER},
	    {POST("Content-Length: 1_0\r\n"), PROTO_ERR_LENGTH},
	    {POST("Content-Length: 18446744073709551621\r\n"), PROTO_ERR_LENGTH},
	    /* Asking the next hop to drop the framing header. */
	    {POST("Connection: Content-Length\r\nContent-Length: 5\r\n"), PROTO_ERR_FRAMING},
	    {POST("Connection: close, transfer-encoding\r\nTransfer-Encoding: chunked\r\n"),
	     PROTO_ERR_FRAMING},
	    /* Transfer-Encoding in HTTP/1.0 (RFC 9112 6.1: faulty framing). */
	    {B("POST http://a/ HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"), PROTO_ERR_FRAMING},
	    {B("POST http://a/ HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Length: "
	       "5\r\n\r\n"),
	     PROTO_ERR_FRAMING},
	    /* Bare CR in the request line. */
	    {B("GET http://a/ HTTP/1.1\rHost: a\r\n\r\n"), PROTO_ERR_MALFORMED},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		expect_req(t[i].in, t[i].want);
}

static void test_req_keep_alive(void **state)
{
	(void)state;
	static const struct {
		struct bytes in;
		enum proto_status want;
		bool keep;
	} t[] = {
	    {B("GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n"), PROTO_DONE, true},
	    {B("GET http://a/ HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"), PROTO_DONE,
	     false},
	    {B("GET http://a/ HTTP/1.1\r\nHost: a\r\nConnection: CLOSE\r\n\r\n"), PROTO_DONE,
	     false},
	    {B("GET http://a/ HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\r\n"), PROTO_DONE,
	     true},
	    {B("GET http://a/ HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, close\r\n\r\n"),
	     PROTO_DONE, false},
	    {B("GET http://a/ HTTP/1.1\r\nHost: a\r\nConnection: foo,  Close \r\n\r\n"), PROTO_DONE,
	     false},
	    {B("GET http://a/ HTTP/1.1\r\nHost: a\r\nConnection: closed\r\n\r\n"), PROTO_DONE,
	     true},
	    {B("GET http://a/ HTTP/1.1\r\nHost: a\r\nConnection: x\r\nConnection: "
	       "close\r\n\r\n"),
	     PROTO_DONE, false},
	    {B("GET http://a/ HTTP/1.1\r\nHost: a\r\nConnection: , ,\r\n\r\n"), PROTO_DONE, true},
	    {B("GET http://a/ HTTP/1.1\r\nHost: a\r\nProxy-Connection: close\r\n\r\n"), PROTO_DONE,
	     true},
	    {B("GET http://a/ HTTP/1.0\r\n\r\n"), PROTO_DONE, false},
	    {B("GET http://a/ HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"), PROTO_DONE, true},
	    {B("GET http://a/ HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"), PROTO_DONE, true},
	    {B("GET http://a/ HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n"), PROTO_DONE,
	     false},
	    {B("GET http://a/ HTTP/1.0\r\nConnection: keepalive\r\n\r\n"), PROTO_DONE, false},
	    {B("GET http://a/ HTTP/1.1\r\nHost: a\r\nConnection: a b\r\n\r\n"), PROTO_ERR_HEADER,
	     false},
	    {B("GET http://a/ HTTP/1.1\r\nHost: a\r\nConnection: close;x\r\n\r\n"),
	     PROTO_ERR_HEADER, false},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		expect_req(t[i].in, t[i].want);
		if (t[i].want == PROTO_DONE && req.keep_alive != t[i].keep) {
			show("request", t[i].in.s, t[i].in.n);
			fail_msg("keep_alive %d", req.keep_alive);
		}
	}
}

static const char hop_request[] = "GET http://a/p HTTP/1.1\r\n"
                                  "Host: a\r\n"
                                  "Connection: keep-alive, X-Secret\r\n"
                                  "Proxy-Connection: keep-alive\r\n"
                                  "Keep-Alive: 300\r\n"
                                  "Proxy-Authorization: Basic dTpw\r\n"
                                  "TE: trailers\r\n"
                                  "Trailer: X-T\r\n"
                                  "Upgrade: websocket\r\n"
                                  "X-Secret: 1\r\n"
                                  "x-secret: 2\r\n"
                                  "Transfer-Encoding: chunked\r\n"
                                  "Accept: */*\r\n"
                                  "Keep-Alive-Not: 1\r\n"
                                  "Proxy-Authenticate: x\r\n"
                                  "\r\n";

static void test_req_hop_by_hop(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		bool hop;
	} t[] = {
	    {"Host", false},
	    {"Connection", true},
	    {"Proxy-Connection", true},
	    {"Keep-Alive", true},
	    {"Proxy-Authorization", true},
	    {"TE", true},
	    {"Trailer", true},
	    {"Upgrade", true},
	    {"X-Secret", true},
	    {"x-secret", true},
	    {"Transfer-Encoding", false},
	    {"Accept", false},
	    {"Keep-Alive-Not", false},
	    {"Proxy-Authenticate", true},
	};
	assert_int_equal(req_check(hop_request), PROTO_DONE);
	assert_int_equal(req.nheaders, sizeof(t) / sizeof(t[0]));
	for (size_t i = 0; i < req.nheaders; i++) {
		assert_view(req.headers[i].name, req.headers[i].name_len, t[i].name);
		if (req.headers[i].hop_by_hop != t[i].hop)
			fail_msg("%s: hop_by_hop %d", t[i].name, req.headers[i].hop_by_hop);
	}
	assert_int_equal(req.body, HTTP_BODY_CHUNKED);
}

/* Several requests back to back in one buffer, each with its body. */
static void test_req_pipelined(void **state)
{
	(void)state;
	static const char in[] = "GET http://a/1 HTTP/1.1\r\nHost: a\r\n\r\n"
	                         "POST http://a/2 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n"
	                         "hello"
	                         "POST http://b:81/3 HTTP/1.1\r\nHost: b\r\nTransfer-Encoding: "
	                         "chunked\r\n\r\n"
	                         "3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n"
	                         "GET http://c/4 HTTP/1.1\r\nHost: c\r\nConnection: close\r\n\r\n";
	static const char *const paths[] = {"/1", "/2", "/3", "/4"};
	size_t n = sizeof(in) - 1, off = 0;
	struct guard g;
	const uint8_t *p = guard_copy(&g, in, n);

	for (size_t i = 0; i < 4; i++) {
		size_t used;
		struct http_body b;
		assert_int_equal(http_parse_request(p + off, n - off, &req), PROTO_DONE);
		assert_view(req.path, req.path_len, paths[i]);
		off += req.head_len;
		http_body_init(&b, req.body, req.content_length);
		assert_int_equal(http_body_scan(&b, p + off, n - off, &used), PROTO_DONE);
		off += used;
		assert_int_equal(req.keep_alive, i != 3);
	}
	assert_int_equal(off, n);
	assert_int_equal(http_parse_request(p + off, 0, &req), PROTO_NEED_MORE);
	guard_free(&g);
}

/* Truncations in the middle of every part of a head, including a lone CR. */
static void test_req_truncated(void **state)
{
	(void)state;
	static const char *const t[] = {
	    "",
	    "G",
	    "GET",
	    "GET ",
	    "GET http://a/",
	    "GET http://a/ HTTP/1.",
	    "GET http://a/ HTTP/1.1",
	    "GET http://a/ HTTP/1.1\r",
	    "GET http://a/ HTTP/1.1\r\n",
	    "GET http://a/ HTTP/1.1\r\nHost",
	    "GET http://a/ HTTP/1.1\r\nHost: a",
	    "GET http://a/ HTTP/1.1\r\nHost: a\r\n",
	    "GET http://a/ HTTP/1.1\r\nHost: a\r\n\r",
	    "GET http://a/ HTTP/1.1\nHost: a\n",
	    "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n",
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (req_check(t[i]) != PROTO_NEED_MORE)
			fail_msg("\"%s\": not NEED_MORE", t[i]);
	}
}

/*
 * Before its end, a request or status line is refused as soon as its first
 * bytes cannot start one; header lines are judged only once the head is
 * complete.
 */
static void test_early_reject(void **state)
{
	(void)state;
	static const struct bytes bad_req[] = {
	    B("\x16\x03\x01"),
	    B("\x05\x01\x00"),
	    B("\x04\x01\x00\x50"),
	    B(" "),
	    B("GET\t"),
	    B("GET\x00"),
	    B("G(T"),
	    B("\r"),
	};
	for (size_t i = 0; i < sizeof(bad_req) / sizeof(bad_req[0]); i++)
		expect_req(bad_req[i], PROTO_ERR_MALFORMED);
	static const struct bytes wait_req[] = {
	    B("GET"),
	    B("GET "),
	    B("GET \x01"), /* the target is checked once the line is complete */
	    B("GET http://a/ HTTP/1.1\r\nX : y\r\n"),
	    B("GET http://a/ HTTP/1.1\r\n\x00\r\n"),
	};
	for (size_t i = 0; i < sizeof(wait_req) / sizeof(wait_req[0]); i++)
		expect_req(wait_req[i], PROTO_NEED_MORE);

	static const struct bytes bad_resp[] = {B("H"), B("HTTX"), B("ICY"), B("http/"),
	                                        B("\x16\x03")};
	for (size_t i = 1; i < sizeof(bad_resp) / sizeof(bad_resp[0]); i++)
		expect_resp(bad_resp[i], false, PROTO_ERR_MALFORMED);
	expect_resp(bad_resp[0], false, PROTO_NEED_MORE);
	expect_resp((struct bytes)B("HTTP/1.1 200 OK\r\nX : y\r\n"), false, PROTO_NEED_MORE);
}

/* -------------------------------------------------------------- responses */

static void test_resp_basic(void **state)
{
	(void)state;
	const char *in = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nServer: o\r\n\r\nhello";
	assert_int_equal(resp_check(in, false), PROTO_DONE);
	assert_int_equal(resp.version_minor, 1);
	assert_int_equal(resp.status, 200);
	assert_view(resp.reason, resp.reason_len, "OK");
	assert_int_equal(resp.nheaders, 2);
	assert_int_equal(resp.body, HTTP_BODY_LENGTH);
	assert_int_equal(resp.content_length, 5);
	assert_true(resp.keep_alive);
	assert_int_equal(resp.head_len, strlen(in) - 5);
}

static void test_resp_body_kinds(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		bool head;
		enum http_body_kind body;
		uint64_t length;
		bool keep;
	} t[] = {
	    {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", false, HTTP_BODY_LENGTH, 5, true},
	    {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", true, HTTP_BODY_NONE, 0, true},
	    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", false, HTTP_BODY_CHUNKED, 0,
	     true},
	    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", true, HTTP_BODY_NONE, 0,
	     true},
	    {"HTTP/1.1 200 OK\r\n\r\n", false, HTTP_BODY_CLOSE, 0, false},
	    {"HTTP/1.1 200 OK\r\n\r\n", true, HTTP_BODY_NONE, 0, true},
	    {"HTTP/1.1 204 No Content\r\n\r\n", false, HTTP_BODY_NONE, 0, true},
	    {"HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\n", false, HTTP_BODY_NONE, 0,
	     true},
	    {"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", false, HTTP_BODY_NONE, 0,
	     true},
	    {"HTTP/1.1 100 Continue\r\n\r\n", false, HTTP_BODY_NONE, 0, true},
	    {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\n", false,
	     HTTP_BODY_NONE, 0, true},
	    {"HTTP/1.1 199 X\r\n\r\n", false, HTTP_BODY_NONE, 0, true},
	    {"HTTP/1.1 205 Reset Content\r\n\r\n", false, HTTP_BODY_CLOSE, 0, false},
	    {"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", false, HTTP_BODY_LENGTH, 0,
	     true},
	    {"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\n", false,
	     HTTP_BODY_LENGTH, 3, false},
	    {"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\n", false, HTTP_BODY_LENGTH, 3, false},
	    {"HTTP/1.0 200 OK\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\n", false,
	     HTTP_BODY_LENGTH, 3, true},
	    {"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n", false, HTTP_BODY_CLOSE, 0, false},
	    {"HTTP/1.1 200 OK\nContent-Length: 2\n\n", false, HTTP_BODY_LENGTH, 2, true},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (resp_check(t[i].in, t[i].head) != PROTO_DONE)
			fail_msg("%zu: not DONE", i);
		if (resp.body != t[i].body || resp.content_length != t[i].length ||
		    resp.keep_alive != t[i].keep)
			fail_msg("%zu: body %d length %llu keep %d", i, resp.body,
			         (unsigned long long)resp.content_length, resp.keep_alive);
	}
}

static void test_resp_status_line(void **state)
{
	(void)state;
	static const struct {
		struct bytes line;
		enum proto_status want;
		int status;
		const char *reason;
	} t[] = {
	    {B("HTTP/1.1 200 OK"), PROTO_DONE, 200, "OK"},
	    {B("HTTP/1.0 404 Not Found"), PROTO_DONE, 404, "Not Found"},
	    {B("HTTP/1.1 200"), PROTO_DONE, 200, ""},
	    {B("HTTP/1.1 200 "), PROTO_DONE, 200, ""},
	    {B("HTTP/1.1 200  two  spaces\tand tab "), PROTO_DONE, 200, " two  spaces\tand tab "},
	    {B("HTTP/1.1 200 caf\xc3\xa9"), PROTO_DONE, 200, "caf\xc3\xa9"},
	    {B("HTTP/1.1 999 X"), PROTO_DONE, 999, "X"},
	    {B("HTTP/1.1 100 X"), PROTO_DONE, 100, "X"},
	    {B("HTTP/1.1 099 X"), PROTO_ERR_MALFORMED, 0, NULL},
	    {B("HTTP/1.1 20 X"), PROTO_ERR_MALFORMED, 0, NULL},
	    {B("HTTP/1.1 20"), PROTO_ERR_MALFORMED, 0, NULL},
	    {B("HTTP/1.1 2000 X"), PROTO_ERR_MALFORMED, 0, NULL},
	    {B("HTTP/1.1 20a X"), PROTO_ERR_MALFORMED, 0, NULL},
	    {B("HTTP/1.1 -200 X"), PROTO_ERR_MALFORMED, 0, NULL},
	    {B("HTTP/1.1  200 OK"), PROTO_ERR_MALFORMED, 0, NULL},
	    {B("HTTP/1.1 200\tOK"), PROTO_ERR_MALFORMED, 0, NULL},
	    {B("HTTP/1.1\t200 OK"), PROTO_ERR_MALFORMED, 0, NULL},
	    {B("HTTP/1.1 200 O\x01K"), PROTO_ERR_MALFORMED, 0, NULL},
	    {B("HTTP/1.1 200 O\x00K"), PROTO_ERR_MALFORMED, 0, NULL},
	    {B("HTTP/1.1 200 O\rK"), PROTO_ERR_MALFORMED, 0, NULL},
	    {B("HTTP/1.1 200 OK\r"), PROTO_ERR_MALFORMED, 0, NULL},
	    {B("HTTP/2 200 OK"), PROTO_ERR_MALFORMED, 0, NULL},
	    {B("http/1.1 200 OK"), PROTO_ERR_MALFORMED, 0, NULL},
	    {B("HTTP/1.1"), PROTO_ERR_MALFORMED, 0, NULL},
	    {B("HTTP/1.1 "), PROTO_ERR_MALFORMED, 0, NULL},
	    {B("ICY 200 OK"), PROTO_ERR_MALFORMED, 0, NULL},
	    {B(" HTTP/1.1 200 OK"), PROTO_ERR_MALFORMED, 0, NULL},
	    {B(""), PROTO_ERR_MALFORMED, 0, NULL},
	    {B("HTTP/2.0 200 OK"), PROTO_ERR_VERSION, 0, NULL},
	    {B("HTTP/0.9 200 OK"), PROTO_ERR_VERSION, 0, NULL},
	    {B("HTTP/3.0 200 OK"), PROTO_ERR_VERSION, 0, NULL},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char in[256];
		memcpy(in, t[i].line.s, t[i].line.n);
		memcpy(in + t[i].line.n, "\r\nContent-Length: 0\r\n\r\n", 23);
		expect_resp((struct bytes){in, t[i].line.n + 23}, false, t[i].want);
		if (t[i].want != PROTO_DONE)
			continue;
		assert_int_equal(resp.status, t[i].status);
		assert_view(resp.reason, resp.reason_len, t[i].reason);
	}
}

static void test_resp_rejects(void **state)
{
	(void)state;
#define R(h) B("HTTP/1.1 200 OK\r\n" h "\r\n")
	static const struct {
		struct bytes in;
		enum proto_status want;
	} t[] = {
	    {R("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n"), PROTO_ERR_FRAMING},
	    {R("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n"), PROTO_ERR_FRAMING},
	    {R("Transfer-Encoding: gzip\r\n"), PROTO_ERR_FRAMING},
	    {R("Transfer-Encoding: gzip, chunked\r\n"), PROTO_ERR_FRAMING},
	    {R("Transfer-Encoding: chunked, gzip\r\n"), PROTO_ERR_FRAMING},
	    {B("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), PROTO_ERR_FRAMING},
	    {R("Connection: content-length\r\nContent-Length: 5\r\n"), PROTO_ERR_FRAMING},
	    {R("Content-Length: 5\r\nContent-Length: 6\r\n"), PROTO_ERR_LENGTH},
	    {R("Content-Length: 5, 6\r\n"), PROTO_ERR_LENGTH},
	    {R("Content-Length: +5\r\n"), PROTO_ERR_LENGTH},
	    {R("Content-Length: 1000000000000000000\r\n"), PROTO_ERR_LENGTH},
	    {R("Content-Length : 5\r\n"), PROTO_ERR_HEADER},
	    {R("X: a\r\n b\r\n"), PROTO_ERR_HEADER},
	    {R("X: a\x00\r\n"), PROTO_ERR_HEADER},
	    {R("X: a\rb\r\n"), PROTO_ERR_HEADER},
	    {R("X\r\n"), PROTO_ERR_HEADER},
	    {R("Connection: a b\r\n"), PROTO_ERR_HEADER},
	};
#undef R
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		expect_resp(t[i].in, false, t[i].want);
		/* Framing headers are checked even when the response has no body. */
		expect_resp(t[i].in, true, t[i].want);
	}
}

static void test_resp_hop_by_hop(void **state)
{
	(void)state;
	static const char in[] = "HTTP/1.1 200 OK\r\n"
	                         "Connection: keep-alive, X-Hop\r\n"
	                         "Keep-Alive: timeout=5\r\n"
	                         "X-Hop: a\r\n"
	                         "Proxy-Authenticate: Basic\r\n"
	                         "Transfer-Encoding: chunked\r\n"
	                         "Trailer: X-T\r\n"
	                         "Upgrade: h2c\r\n"
	                         "Server: o\r\n"
	                         "\r\n";
	static const bool hop[] = {true, true, true, true, false, true, true, false};
	assert_int_equal(resp_check(in, false), PROTO_DONE);
	assert_int_equal(resp.nheaders, sizeof(hop) / sizeof(hop[0]));
	for (size_t i = 0; i < resp.nheaders; i++)
		assert_int_equal(resp.headers[i].hop_by_hop, hop[i]);
}

static void test_resp_limits(void **state)
{
	(void)state;
	/* make_request() heads start with a 24-byte request line: swap in a status line. */
	static const char status[] = "HTTP/1.1 200 OK1234567\r\n";
	char *in = make_request(HTTP_HEAD_MAX, true);
	memcpy(in, status, 24);
	assert_int_equal(resp_check(in, false), PROTO_DONE);
	assert_int_equal(resp.head_len, HTTP_HEAD_MAX);
	free(in);

	in = make_request(HTTP_HEAD_MAX + 1, true);
	memcpy(in, status, 24);
	assert_int_equal(resp_check(in, false), PROTO_ERR_TOO_LONG);
	free(in);

	in = make_headers(HTTP_HEADERS_MAX + 1);
	memcpy(in, status, 24);
	assert_int_equal(resp_check(in, false), PROTO_ERR_TOO_LONG);
	free(in);
	assert_int_equal(resp_check("HTTP/1.1 200 OK\r\n", false), PROTO_NEED_MORE);
}

/* -------------------------------------------------------------- bodies */

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
	    {B("5\nhello\n0\n\n"), B("\n")},
	    {B("5\r\nhello\n3\nabc\r\n0\r\nT: 1\n\r\n"), B("")},
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

/* -------------------------------------------------------------- encoders */

static void assert_bytes(const uint8_t *p, size_t n, const char *want)
{
	if (n != strlen(want) || memcmp(p, want, n) != 0) {
		show("got ", p, n);
		show("want", want, strlen(want));
		fail_msg("encoder output differs");
	}
}

/* Encodes the last parsed request; checks every smaller cap gives 0. */
static void enc_request(const char *want)
{
	uint8_t out[2048];
	size_t n = http_encode_request_head(out, sizeof(out), &req);
	assert_bytes(out, n, want);
	for (size_t cap = 0; cap <= n; cap++) {
		uint8_t *dst = arena + ARENA_SIZE - cap; /* writes past cap fault */
		size_t m = http_encode_request_head(dst, cap, &req);
		if (m != (cap == n ? n : 0))
			fail_msg("cap %zu of %zu: wrote %zu", cap, n, m);
		if (m)
			assert_memory_equal(dst, out, n);
	}
}

static void enc_response(bool close, const char *want)
{
	uint8_t out[2048];
	size_t n = http_encode_response_head(out, sizeof(out), &resp, close);
	assert_bytes(out, n, want);
	for (size_t cap = 0; cap <= n; cap++) {
		uint8_t *dst = arena + ARENA_SIZE - cap; /* writes past cap fault */
		size_t m = http_encode_response_head(dst, cap, &resp, close);
		if (m != (cap == n ? n : 0))
			fail_msg("cap %zu of %zu: wrote %zu", cap, n, m);
	}
}

static void test_enc_request(void **state)
{
	(void)state;
	static const struct {
		const char *in, *out;
	} t[] = {
	    {"GET http://example.com/index.html?q=1 HTTP/1.1\r\nHost: example.com\r\n"
	     "User-Agent: t/1\r\nAccept: */*\r\n\r\n",
	     "GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t/1\r\n"
	     "Accept: */*\r\n\r\n"},
	    /* Host comes from the URI; the client's Host is dropped. */
	    {"GET http://real.example:8080/x HTTP/1.1\r\nHost: evil.example\r\n\r\n",
	     "GET /x HTTP/1.1\r\nHost: real.example:8080\r\n\r\n"},
	    {"GET http://a:80 HTTP/1.1\r\nhost: a:80\r\n\r\n", "GET / HTTP/1.1\r\nHost: a\r\n\r\n"},
	    {"GET http://[::1]:8080 HTTP/1.0\r\n\r\n",
	     "GET / HTTP/1.0\r\nHost: [::1]:8080\r\nConnection: close\r\n\r\n"},
	    {"HEAD http://[2001:db8::1]/ HTTP/1.1\r\nHost: x\r\n\r\n",
	     "HEAD / HTTP/1.1\r\nHost: [2001:db8::1]\r\n\r\n"},
	    {"GET http://a/ HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
	     "GET / HTTP/1.0\r\nHost: a\r\n\r\n"},
	    {"GET http://a/ HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
	     "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"},
	    {"GET http://a/ HTTP/1.9\nHost: a\nX-Empty:  \nX-Ows:\t v \t\n\n",
	     "GET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\nX-Ows: v\r\n\r\n"},
	    {"POST http://a/up HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
	     "POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n"},
	    {hop_request, "GET /p HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
	                  "Accept: */*\r\nKeep-Alive-Not: 1\r\n\r\n"},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (req_check(t[i].in) != PROTO_DONE)
			fail_msg("%zu: not parsed", i);
		enc_request(t[i].out);
	}

	/* Only absolute-form requests are forwarded as requests. */
	uint8_t out[256];
	assert_int_equal(req_check("CONNECT a:443 HTTP/1.1\r\nHost: a\r\n\r\n"), PROTO_DONE);
	assert_int_equal(http_encode_request_head(out, sizeof(out), &req), 0);
	assert_int_equal(req_check("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), PROTO_DONE);
	assert_int_equal(http_encode_request_head(out, sizeof(out), &req), 0);
}

/* What the proxy sends must parse again, to the same destination. */
static void test_enc_request_roundtrip(void **state)
{
	(void)state;
	static uint8_t out[HTTP_HEAD_MAX + 1024];
	static struct http_request again;
	size_t n;

	assert_int_equal(req_check(hop_request), PROTO_DONE);
	n = http_encode_request_head(out, sizeof(out), &req);
	assert_true(n > 0);
	assert_int_equal(http_parse_request(out, n, &again), PROTO_DONE);
	assert_int_equal(again.head_len, n);
	assert_int_equal(again.form, HTTP_FORM_ORIGIN);
	assert_view(again.target, again.target_len, "/p");
	assert_int_equal(again.body, HTTP_BODY_CHUNKED);
	for (size_t i = 0; i < again.nheaders; i++)
		assert_false(again.headers[i].hop_by_hop);
	assert_null(http_find_header(again.headers, again.nheaders, "Via"));
	assert_null(http_find_header(again.headers, again.nheaders, "X-Forwarded-For"));
	assert_null(http_find_header(again.headers, again.nheaders, "Forwarded"));
}

static void test_enc_response(void **state)
{
	(void)state;
	assert_int_equal(resp_check("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
	                            "Connection: keep-alive, X-Hop\r\nKeep-Alive: timeout=5\r\n"
	                            "X-Hop: a\r\nProxy-Authenticate: Basic\r\nServer: o\r\n\r\n",
	                            false),
	                 PROTO_DONE);
	enc_response(false, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nServer: o\r\n\r\n");
	enc_response(true, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nServer: o\r\n"
	                   "Connection: close\r\n\r\n");

	assert_int_equal(resp_check("HTTP/1.1 200\n\n", false), PROTO_DONE);
	enc_response(true, "HTTP/1.1 200 \r\nConnection: close\r\n\r\n");

	assert_int_equal(resp_check("HTTP/1.0 404 Not Found\r\nTrailer: x\r\nContent-Length: "
	                            "0\r\nX-Empty:\r\n\r\n",
	                            false),
	                 PROTO_DONE);
	enc_response(false, "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\nX-Empty:\r\n\r\n");

	assert_int_equal(resp_check("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
	                            "Trailer: X-T\r\n\r\n",
	                            false),
	                 PROTO_DONE);
	enc_response(false, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
}

static void enc_status(int status, bool close, const char *extra, const char *want)
{
	uint8_t out[1024];
	size_t n = http_encode_status(out, sizeof(out), status, close, extra);
	assert_bytes(out, n, want);
	for (size_t cap = 0; cap <= n; cap++) {
		uint8_t *dst = arena + ARENA_SIZE - cap; /* writes past cap fault */
		size_t m = http_encode_status(dst, cap, status, close, extra);
		if (m != (cap == n ? n : 0))
			fail_msg("cap %zu of %zu: wrote %zu", cap, n, m);
	}
	/* The proxy's own answers parse as responses, with the body they announce. */
	assert_int_equal(resp_check_n(out, n, false), PROTO_DONE);
	assert_int_equal(resp.status, status);
	if (status != 200) {
		assert_int_equal(resp.body, HTTP_BODY_LENGTH);
		assert_int_equal(resp.head_len + resp.content_length, n);
	}
}

static void test_enc_status(void **state)
{
	(void)state;
	enc_status(200, false, NULL, "HTTP/1.1 200 Connection established\r\n\r\n");
	enc_status(200, true, NULL, "HTTP/1.1 200 Connection established\r\n\r\n");
	enc_status(200, false, "X-A: b\r\n",
	           "HTTP/1.1 200 Connection established\r\nX-A: b\r\n\r\n");
	enc_status(407, true, "Proxy-Authenticate: Basic realm=\"nacre\"\r\n",
	           "HTTP/1.1 407 Proxy Authentication Required\r\n"
	           "Content-Type: text/plain\r\nContent-Length: 34\r\nConnection: close\r\n"
	           "Proxy-Authenticate: Basic realm=\"nacre\"\r\n\r\n"
	           "407 Proxy Authentication Required\n");
	enc_status(407, false, "Proxy-Authenticate: Basic realm=\"nacre\"\r\n",
	           "HTTP/1.1 407 Proxy Authentication Required\r\n"
	           "Content-Type: text/plain\r\nContent-Length: 34\r\n"
	           "Proxy-Authenticate: Basic realm=\"nacre\"\r\n\r\n"
	           "407 Proxy Authentication Required\n");
	enc_status(400, true, NULL,
	           "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 16\r\n"
	           "Connection: close\r\n\r\n400 Bad Request\n");
	enc_status(403, false, NULL,
	           "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 14\r\n"
	           "\r\n403 Forbidden\n");
	enc_status(405, true, NULL,
	           "HTTP/1.1 405 Method Not Allowed\r\nContent-Type: text/plain\r\n"
	           "Content-Length: 23\r\nConnection: close\r\n\r\n405 Method Not Allowed\n");
	enc_status(502, false, NULL,
	           "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nContent-Length: 16\r\n"
	           "\r\n502 Bad Gateway\n");
	enc_status(503, true, NULL,
	           "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
	           "Content-Length: 24\r\nConnection: close\r\n\r\n503 Service Unavailable\n");
	enc_status(504, true, NULL,
	           "HTTP/1.1 504 Gateway Timeout\r\nContent-Type: text/plain\r\n"
	           "Content-Length: 20\r\nConnection: close\r\n\r\n504 Gateway Timeout\n");
	enc_status(
	    505, true, NULL,
	    "HTTP/1.1 505 HTTP Version Not Supported\r\nContent-Type: text/plain\r\n"
	    "Content-Length: 31\r\nConnection: close\r\n\r\n505 HTTP Version Not Supported\n");
	enc_status(500, true, NULL,
	           "HTTP/1.1 500 Error\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n"
	           "Connection: close\r\n\r\n500 Error\n");

	uint8_t out[256];
	assert_int_equal(http_encode_status(out, sizeof(out), 99, true, NULL), 0);
	assert_int_equal(http_encode_status(out, sizeof(out), 1000, true, NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_teardown(f, teardown)
	    T(test_req_absolute_get),
	    T(test_req_absolute_forms),
	    T(test_req_connect),
	    T(test_req_origin_asterisk),
	    T(test_req_versions),
	    T(test_req_bare_lf),
	    T(test_req_values),
	    T(test_find_header),
	    T(test_req_head_max),
	    T(test_req_headers_max),
	    T(test_req_line_rejects),
	    T(test_req_target_rejects),
	    T(test_req_connect_rejects),
	    T(test_req_host_length),
	    T(test_req_host_header),
	    T(test_req_header_rejects),
	    T(test_req_framing),
	    T(test_req_smuggling),
	    T(test_req_keep_alive),
	    T(test_req_hop_by_hop),
	    T(test_req_pipelined),
	    T(test_req_truncated),
	    T(test_early_reject),
	    T(test_resp_basic),
	    T(test_resp_body_kinds),
	    T(test_resp_status_line),
	    T(test_resp_rejects),
	    T(test_resp_hop_by_hop),
	    T(test_resp_limits),
	    T(test_body_none_close),
	    T(test_body_length),
	    T(test_body_chunked),
	    T(test_body_chunked_rejects),
	    T(test_body_chunked_limits),
	    T(test_body_after_end),
	    T(test_enc_request),
	    T(test_enc_request_roundtrip),
	    T(test_enc_response),
	    T(test_enc_status),
#undef T
	};
	return cmocka_run_group_tests_name("http", tests, group_setup, group_teardown);
}
