/*
 * libFuzzer target: http_parse_response on arbitrary bytes, as the answer to
 * a GET and to a HEAD.
 *
 * Invariants (abort() on failure):
 *  - both readings give the same status, head and headers; as the answer to
 *    HEAD the body is always NONE;
 *  - NEED_MORE only below HTTP_HEAD_MAX; DONE only with head_len <= size and
 *    every view inside the head; every strict prefix of a head is NEED_MORE,
 *    and a prefix of a refused input is NEED_MORE or refused the same way;
 *  - the head re-encodes (with and without "Connection: close") into
 *    HTTP_HEAD_MAX + 1024 bytes and parses again to the same status, reason
 *    and body framing.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

static void check(int ok)
{
	if (!ok)
		abort();
}

static int inside(const uint8_t *v, size_t n, const uint8_t *base, size_t len)
{
	uintptr_t a = (uintptr_t)v, b = (uintptr_t)base;
	return v != NULL && a >= b && n <= len && a - b <= len - n;
}

static int same(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
	return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

static struct http_response resp, head, again;
static uint8_t enc[HTTP_HEAD_MAX + 1024];

static void check_reencode(bool close)
{
	size_t n = http_encode_response_head(enc, sizeof(enc), &resp, close), forwarded = 0;

	check(n > 0);
	for (size_t i = 0; i < resp.nheaders; i++) {
		if (!resp.headers[i].hop_by_hop)
			forwarded++;
	}
	enum proto_status st = http_parse_response(enc, n, false, &again);
	if (st == PROTO_ERR_TOO_LONG) {
		check(n > HTTP_HEAD_MAX || forwarded + 1 > HTTP_HEADERS_MAX);
		return;
	}
	check(st == PROTO_DONE && again.head_len == n);
	check(again.version_minor == resp.version_minor && again.status == resp.status);
	check(same(again.reason, again.reason_len, resp.reason, resp.reason_len));
	check(again.body == resp.body && again.content_length == resp.content_length);
	if (close)
		check(!again.keep_alive);
	else if (resp.version_minor == 1 && resp.keep_alive)
		check(again.keep_alive);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum proto_status st = http_parse_response(data, size, false, &resp);
	enum proto_status st_head = http_parse_response(data, size, true, &head);

	check(st == st_head);
	if (st == PROTO_NEED_MORE) {
		check(size < HTTP_HEAD_MAX);
		return 0;
	}
	if (st != PROTO_DONE) {
		/* A prefix waits for more, or already shows the same error. */
		size_t cut[2] = {size / 2, size ? size - 1 : 0};
		check(proto_failed(st));
		for (int k = 0; k < 2; k++) {
			enum proto_status p = http_parse_response(data, cut[k], false, &again);
			check(p == PROTO_NEED_MORE || p == st);
		}
		return 0;
	}
	size_t len = resp.head_len;
	check(len > 0 && len <= size && len <= HTTP_HEAD_MAX);
	check(head.head_len == len && head.nheaders == resp.nheaders);
	check(head.status == resp.status && head.body == HTTP_BODY_NONE);
	check(resp.status >= 100 && resp.status <= 999);
	check(resp.version_minor == 0 || resp.version_minor == 1);
	check(resp.reason_len == 0 || inside(resp.reason, resp.reason_len, data, len));
	check(resp.nheaders <= HTTP_HEADERS_MAX);
	check(resp.body == HTTP_BODY_LENGTH || resp.content_length == 0);
	check(resp.body != HTTP_BODY_CLOSE || !resp.keep_alive);
	for (size_t i = 0; i < resp.nheaders; i++) {
		const struct http_header *h = &resp.headers[i];
		check(inside(h->name, h->name_len, data, len) && h->name_len > 0);
		check(h->value_len == 0 || inside(h->value, h->value_len, data, len));
		check(h->hop_by_hop == head.headers[i].hop_by_hop);
	}

	check(http_parse_response(data, len, false, &again) == PROTO_DONE);
	check(again.head_len == len && again.body == resp.body);
	check(http_parse_response(data, len - 1, false, &again) == PROTO_NEED_MORE);

	check_reencode(false);
	check_reencode(true);

	struct http_body b;
	size_t used;
	http_body_init(&b, resp.body, resp.content_length);
	st = http_body_scan(&b, data + len, size - len, &used);
	check(used <= size - len);
	return 0;
}
