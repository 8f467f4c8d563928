/*
 * Unit tests of how protocol/http.c frames requests: the body kind from
 * Content-Length and Transfer-Encoding (and the smuggling shapes it must
 * refuse), keep-alive, hop-by-hop headers, heads back to back, and inputs cut
 * short or refused before they are complete.
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
#include "http_helpers.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_teardown(f, teardown)
	    T(test_req_framing),    T(test_req_smuggling), T(test_req_keep_alive),
	    T(test_req_hop_by_hop), T(test_req_pipelined), T(test_req_truncated),
	    T(test_early_reject),
#undef T
	};
	return cmocka_run_group_tests_name("http framing", tests, group_setup, group_teardown);
}
