/*
 * libFuzzer target: http_parse_request on arbitrary bytes.
 *
 * Invariants (abort() on failure):
 *  - NEED_MORE only below HTTP_HEAD_MAX; DONE only with 0 < head_len <= size
 *    and head_len <= HTTP_HEAD_MAX; every view lies inside the head;
 *  - the result does not depend on bytes after the head, and every strict
 *    prefix of a complete head is NEED_MORE; a prefix of an input that is
 *    refused is NEED_MORE or refused for the same reason;
 *  - an absolute-form request re-encodes into HTTP_HEAD_MAX + 1024 bytes, and
 *    the encoded head parses again to the same method, path, destination
 *    (as its Host) and body framing, with no hop-by-hop header left.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

static void check(int ok)
{
	if (!ok)
		abort();
}

/* Is (v, n) inside (base, len)? Compared as integers: no pointer UB. */
static int inside(const uint8_t *v, size_t n, const uint8_t *base, size_t len)
{
	uintptr_t a = (uintptr_t)v, b = (uintptr_t)base;
	return v != NULL && a >= b && n <= len && a - b <= len - n;
}

static int same(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
	return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

static void check_views(const struct http_request *r, const uint8_t *data)
{
	size_t len = r->head_len;

	check(inside(r->method, r->method_len, data, len) && r->method_len > 0);
	check(inside(r->target, r->target_len, data, len) && r->target_len > 0);
	check(r->version_minor == 0 || r->version_minor == 1);
	check(r->nheaders <= HTTP_HEADERS_MAX);
	check(r->body != HTTP_BODY_CLOSE);
	check(r->body == HTTP_BODY_LENGTH || r->content_length == 0);
	for (size_t i = 0; i < r->nheaders; i++) {
		const struct http_header *h = &r->headers[i];
		check(inside(h->name, h->name_len, data, len) && h->name_len > 0);
		check(h->value_len == 0 || inside(h->value, h->value_len, data, len));
	}
	switch (r->form) {
	case HTTP_FORM_AUTHORITY:
		check(r->is_connect && r->port != 0);
		check(inside(r->host, r->host_len, r->target, r->target_len));
		check(r->host_len > 0 && r->host_len <= PROTO_NAME_MAX);
		break;
	case HTTP_FORM_ABSOLUTE:
		check(!r->is_connect && r->port != 0);
		check(inside(r->host, r->host_len, r->target, r->target_len));
		check(r->host_len > 0 && r->host_len <= PROTO_NAME_MAX);
		/* path is a view of the target, or the "/" supplied for none */
		check(inside(r->path, r->path_len, r->target, r->target_len) ||
		      same(r->path, r->path_len, (const uint8_t *)"/", 1));
		check(r->path_len > 0 && r->path[0] == '/');
		break;
	case HTTP_FORM_ORIGIN:
		check(!r->is_connect && r->target[0] == '/');
		break;
	case HTTP_FORM_ASTERISK:
		check(!r->is_connect && r->target_len == 1);
		break;
	default:
		abort();
	}
}

static struct http_request req, again;
static uint8_t enc[HTTP_HEAD_MAX + 1024];

static void check_reencode(void)
{
	size_t n = http_encode_request_head(enc, sizeof(enc), &req), forwarded = 0;
	char host[PROTO_NAME_MAX + 16];
	int hl;

	check(n > 0);
	for (size_t i = 0; i < req.nheaders; i++) {
		if (!req.headers[i].hop_by_hop)
			forwarded++;
	}
	enum proto_status st = http_parse_request(enc, n, &again);
	if (st == PROTO_ERR_TOO_LONG) {
		/* The encoder adds Host and maybe Connection, and CRLF for bare LF. */
		check(n > HTTP_HEAD_MAX || forwarded + 2 > HTTP_HEADERS_MAX);
		return;
	}
	check(st == PROTO_DONE);
	check(again.head_len == n);
	check(again.form == HTTP_FORM_ORIGIN);
	check(same(again.method, again.method_len, req.method, req.method_len));
	check(same(again.target, again.target_len, req.path, req.path_len));
	check(again.version_minor == req.version_minor);
	check(again.body == req.body && again.content_length == req.content_length);
	if (req.version_minor == 1)
		check(again.keep_alive == req.keep_alive);
	if (!req.keep_alive)
		check(!again.keep_alive);

	hl = snprintf(host, sizeof(host), req.host_is_ipv6 ? "[%.*s]" : "%.*s", (int)req.host_len,
	              (const char *)req.host);
	if (req.port != 80)
		hl += snprintf(host + hl, sizeof(host) - (size_t)hl, ":%u", req.port);
	const struct http_header *h = http_find_header(again.headers, again.nheaders, "Host");
	check(h != NULL && same(h->value, h->value_len, (const uint8_t *)host, (size_t)hl));
	for (size_t i = 0; i < again.nheaders; i++) {
		const struct http_header *a = &again.headers[i];
		check(!a->hop_by_hop ||
		      (same(a->name, a->name_len, (const uint8_t *)"Connection", 10) &&
		       same(a->value, a->value_len, (const uint8_t *)"close", 5)));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum proto_status st = http_parse_request(data, size, &req);

	if (st == PROTO_NEED_MORE) {
		check(size < HTTP_HEAD_MAX);
		return 0;
	}
	if (st != PROTO_DONE) {
		/* A prefix waits for more, or already shows the same error. */
		size_t cut[2] = {size / 2, size ? size - 1 : 0};
		check(proto_failed(st));
		for (int k = 0; k < 2; k++) {
			enum proto_status p = http_parse_request(data, cut[k], &again);
			check(p == PROTO_NEED_MORE || p == st);
		}
		return 0;
	}
	size_t head_len = req.head_len;
	check(head_len > 0 && head_len <= size && head_len <= HTTP_HEAD_MAX);
	check_views(&req, data);

	/* Same answer from the head alone; NEED_MORE from the head minus a byte. */
	check(http_parse_request(data, head_len, &again) == PROTO_DONE);
	check(again.head_len == head_len && again.nheaders == req.nheaders);
	check(again.body == req.body && again.keep_alive == req.keep_alive);
	check(http_parse_request(data, head_len - 1, &again) == PROTO_NEED_MORE);

	if (req.form == HTTP_FORM_ABSOLUTE)
		check_reencode();

	/* Exercise the body scanner over whatever follows the head. */
	struct http_body b;
	size_t used;
	http_body_init(&b, req.body, req.content_length);
	st = http_body_scan(&b, data + head_len, size - head_len, &used);
	check(used <= size - head_len);
	return 0;
}
