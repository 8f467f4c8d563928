/*
 * Shared helpers of the HTTP unit tests (test_http_head.c,
 * test_http_framing.c, test_http_body.c, test_http_encode.c).
 *
 * Every parser input goes through req_check()/resp_check(), which parse it
 * from a copy flush against an unmapped page (so an over-read faults), then
 * every strict prefix (each must be NEED_MORE, or the same error as the whole
 * when the error is already visible), then the input with bytes appended
 * (the result must not change). The result of the whole is left in req or
 * resp; its views stay valid until the next check or the test's teardown.
 *
 * Each test binary registers its cases with teardown() and runs its group
 * with group_setup()/group_teardown(), which own the guarded arena behind
 * flush().
 */
#ifndef NACRE_TEST_HTTP_HELPERS_H
#define NACRE_TEST_HTTP_HELPERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* The results of the last req_check()/resp_check(). */
extern struct http_request req;
extern struct http_response resp;

/* cmocka fixtures: teardown() per test, the other two per group. */
int teardown(void **state);
int group_setup(void **state);
int group_teardown(void **state);

/*
 * One guarded arena for the many short-lived copies (prefixes, body slices,
 * encoder buffers): a copy is placed flush against the arena's end, so a read
 * or write past it faults, without an mmap per copy.
 */
#define ARENA_SIZE (4 * HTTP_HEAD_MAX)
extern uint8_t *arena;

/* A copy of (s, n) whose last byte is followed by an unmapped page; valid
 * until the next call. */
uint8_t *flush(const void *s, size_t n);

/* Prints (p, n) escaped, at most 200 bytes, as "what: \"...\"". */
void show(const char *what, const void *p, size_t n);

enum proto_status req_check_n(const void *s, size_t n);
enum proto_status req_check(const char *s);
enum proto_status resp_check_n(const void *s, size_t n, bool head);
enum proto_status resp_check(const char *s, bool head);

/* req_check_n()/resp_check_n(), failing the test unless the status is want. */
void expect_req(struct bytes in, enum proto_status want);
void expect_resp(struct bytes in, bool head, enum proto_status want);

/* Fails the test unless the view (p, n) holds exactly want. */
void assert_view(const uint8_t *p, size_t n, const char *want);

/* The first header of the last parsed request named name; fails if none. */
const struct http_header *hdr(const char *name);

/* A request with every kind of hop-by-hop header, and a chunked body. */
extern const char hop_request[];

#endif
