/*
 * libFuzzer target: http_body_scan. The first byte picks the framing (low two
 * bits: NONE, LENGTH, CHUNKED, CLOSE) and, for LENGTH, the Content-Length
 * (the other six bits); the rest is the stream after the head.
 *
 * Invariants (abort() on failure): the stream scanned whole, byte by byte and
 * in pseudo-random slices (each slice its own exact-size copy, so ASan sees a
 * read past it) gives the same status and the same end offset; NEED_MORE
 * always consumes the whole slice; once DONE, further scans give DONE with
 * nothing used.
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

/* Scans (p, n) in slices of the lengths next_cut() gives; returns the status
 * and, in *end, the offset where the body ended or the error was seen. */
static enum proto_status scan(enum http_body_kind kind, uint64_t length, const uint8_t *p, size_t n,
                              uint32_t seed, size_t *end)
{
	struct http_body b;
	size_t off = 0;
	uint32_t x = seed;

	http_body_init(&b, kind, length);
	do {
		size_t cut;
		if (seed == 0) {
			cut = n - off; /* whole */
		} else if (seed == 1) {
			cut = n - off ? 1 : 0; /* byte by byte */
		} else {
			x ^= x << 13; /* xorshift32 */
			x ^= x >> 17;
			x ^= x << 5;
			cut = x % 17 == 0 ? 0 : x % (n - off + 1);
		}
		uint8_t *slice = malloc(cut ? cut : 1);
		if (!slice)
			abort();
		memcpy(slice, p + off, cut);
		size_t used = (size_t)-1;
		enum proto_status st = http_body_scan(&b, slice, cut, &used);
		free(slice);
		check(used <= cut);
		if (st != PROTO_NEED_MORE) {
			*end = off + used;
			if (st == PROTO_DONE) {
				check(http_body_scan(&b, p, n, &used) == PROTO_DONE && used == 0);
			} else {
				check(st == PROTO_ERR_MALFORMED && kind == HTTP_BODY_CHUNKED);
			}
			return st;
		}
		check(used == cut);
		off += cut;
	} while (off < n);
	*end = n;
	return PROTO_NEED_MORE;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	enum http_body_kind kind = (enum http_body_kind)(data[0] & 3);
	uint64_t length = data[0] >> 2;
	const uint8_t *p = data + 1;
	size_t n = size - 1, end, end2;
	uint32_t seed = 2166136261u;

	if (length >= 48)
		length = (uint64_t)1 << (length - 16); /* 2^32 .. 2^47 */
	for (size_t i = 0; i < n; i++)
		seed = (seed ^ p[i]) * 16777619u; /* FNV-1a */
	seed |= 2;

	enum proto_status st = scan(kind, length, p, n, 0, &end);
	check(end <= n);
	if (st == PROTO_NEED_MORE)
		check(end == n && kind != HTTP_BODY_NONE);
	if (kind == HTTP_BODY_CLOSE)
		check(st == PROTO_NEED_MORE);
	if (kind == HTTP_BODY_NONE)
		check(st == PROTO_DONE && end == 0);
	if (kind == HTTP_BODY_LENGTH)
		check(st == (n >= length ? PROTO_DONE : PROTO_NEED_MORE));

	if (n <= 4096) {
		check(scan(kind, length, p, n, 1, &end2) == st && end2 == end);
	}
	for (uint32_t k = 0; k < 4; k++) {
		check(scan(kind, length, p, n, seed + k * 0x9e3779b9u, &end2) == st);
		check(end2 == end);
	}
	return 0;
}
