/*
 * The helpers shared by the HTTP unit tests: see http_helpers.h.
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

/* The guarded copy behind the views of the last parse; freed by the next. */
static struct guard held;
struct http_request req;
struct http_response resp;

static void release_held(void)
{
	if (held.map)
		guard_free(&held);
}

int teardown(void **state)
{
	(void)state;
	release_held();
	return 0;
}

/* The arena behind flush(): see http_helpers.h. */
static struct guard arena_guard;
uint8_t *arena;

int group_setup(void **state)
{
	(void)state;
	static uint8_t zero[ARENA_SIZE];
	arena = (uint8_t *)guard_copy(&arena_guard, zero, ARENA_SIZE);
	return 0;
}

int group_teardown(void **state)
{
	(void)state;
	guard_free(&arena_guard);
	return 0;
}

uint8_t *flush(const void *s, size_t n)
{
	assert_true(n <= ARENA_SIZE);
	uint8_t *p = arena + ARENA_SIZE - n;
	if (n)
		memmove(p, s, n);
	return p;
}

void show(const char *what, const void *p, size_t n)
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
 * invariants described in http_helpers.h and returns the status of the
 * whole, with the result of the whole left in *out (views valid until the
 * next call). Prefixes that hold the whole head (the input may go on into a
 * body) must give DONE.
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

enum proto_status req_check_n(const void *s, size_t n)
{
	static struct http_request scratch;
	return parse_check(parse_req_fn, s, n, false, &req, &scratch);
}

enum proto_status req_check(const char *s)
{
	return req_check_n(s, strlen(s));
}

enum proto_status resp_check_n(const void *s, size_t n, bool head)
{
	static struct http_response scratch;
	return parse_check(parse_resp_fn, s, n, head, &resp, &scratch);
}

enum proto_status resp_check(const char *s, bool head)
{
	return resp_check_n(s, strlen(s), head);
}

void expect_req(struct bytes in, enum proto_status want)
{
	enum proto_status st = req_check_n(in.s, in.n);
	if (st != want) {
		show("request", in.s, in.n);
		fail_msg("got %s, want %s", proto_strerror(st), proto_strerror(want));
	}
}

void expect_resp(struct bytes in, bool head, enum proto_status want)
{
	enum proto_status st = resp_check_n(in.s, in.n, head);
	if (st != want) {
		show("response", in.s, in.n);
		fail_msg("got %s, want %s", proto_strerror(st), proto_strerror(want));
	}
}

void assert_view(const uint8_t *p, size_t n, const char *want)
{
	if (n != strlen(want) || memcmp(p, want, n) != 0) {
		show("got", p, n);
		fail_msg("want \"%s\"", want);
	}
}

const struct http_header *hdr(const char *name)
{
	const struct http_header *h = http_find_header(req.headers, req.nheaders, name);
	assert_non_null(h);
	return h;
}

const char hop_request[] = "GET http://a/p HTTP/1.1\r\n"
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
