/*
 * Unit tests of the head parsers in protocol/http.c: request lines, targets,
 * header syntax and size limits of requests, and responses. Message framing
 * (Content-Length, Transfer-Encoding, Connection) is in test_http_framing.c.
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

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_teardown(f, teardown)
	    T(test_req_absolute_get),    T(test_req_absolute_forms), T(test_req_connect),
	    T(test_req_origin_asterisk), T(test_req_versions),       T(test_req_bare_lf),
	    T(test_req_values),          T(test_find_header),        T(test_req_head_max),
	    T(test_req_headers_max),     T(test_req_line_rejects),   T(test_req_target_rejects),
	    T(test_req_connect_rejects), T(test_req_host_length),    T(test_req_host_header),
	    T(test_req_header_rejects),  T(test_resp_basic),         T(test_resp_body_kinds),
	    T(test_resp_status_line),    T(test_resp_rejects),       T(test_resp_hop_by_hop),
	    T(test_resp_limits),
#undef T
	};
	return cmocka_run_group_tests_name("http heads", tests, group_setup, group_teardown);
}
