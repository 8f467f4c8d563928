/*
 * Unit tests of protocol/http_encode.c: the request and response heads the
 * proxy forwards, and its own status answers. Every encoder is also run with
 * each smaller capacity, its buffer flush against an unmapped page.
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
	    /* One Content-Length, one value, whatever list of equal ones came in. */
	    {"POST http://a/up HTTP/1.1\r\nHost: a\r\ncontent-length: 3 ,\t3\r\nX: y\r\n"
	     "Content-Length: 3\r\n\r\nabc",
	     "POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nX: y\r\n\r\n"},
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

	assert_int_equal(resp_check("HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n"
	                            "Content-Length: 2\r\n\r\n",
	                            false),
	                 PROTO_DONE);
	enc_response(false, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n");

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
	    T(test_enc_request),
	    T(test_enc_request_roundtrip),
	    T(test_enc_response),
	    T(test_enc_status),
#undef T
	};
	return cmocka_run_group_tests_name("http encoders", tests, group_setup, group_teardown);
}
