/*
 * The record layer (crypto/record.c, SPEC.md "Records"): round trips of every
 * type and size, byte-by-byte arrival, a peek at a whole record's length, and
 * every way a record can be forged: a flipped bit in the length, body or tag,
 * records swapped or replayed, the wrong key, a length out of range. Every
 * case runs once per record suite: ChaCha20-Poly1305, then AES-256-GCM where
 * the CPU has it.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "guard.h"
#include "suites.h"
#include "record.h"
#include "secret.h"

/* Enough room after any record for any length a forged header might claim. */
#define SLACK RECORD_WIRE_MAX

struct pair {
	struct record_dir tx, rx; /* the two ends of one direction */
};

static void pair_init(struct pair *p, uint8_t key_byte, uint8_t mask_byte)
{
	if (suite == RECORD_SUITE_AES && !record_aes_available())
		skip(); /* libsodium has no AES-256-GCM without AES-NI */
	memset(p, 0, sizeof(*p));
	p->tx.suite = (uint8_t)suite;
	for (int i = 0; i < 32; i++) {
		p->tx.key[i] = (uint8_t)(key_byte + i);
		p->tx.mask[i] = (uint8_t)(mask_byte + 3 * i);
	}
	p->rx = p->tx;
}

static void fill(uint8_t *p, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)(seed >> 16);
	}
}

/* Seals one record into a fresh heap buffer with SLACK bytes of 0xee after it. */
static uint8_t *seal(struct record_dir *d, enum record_type t, const uint8_t *p, size_t n,
                     size_t *len)
{
	uint8_t *out = malloc(n + RECORD_OVERHEAD + SLACK);
	assert_non_null(out);
	memset(out, 0xee, n + RECORD_OVERHEAD + SLACK);
	*len = record_seal(d, t, p, n, out, n + RECORD_OVERHEAD);
	assert_int_equal(*len, n + RECORD_OVERHEAD);
	return out;
}

/* Opens (buf, len) expecting want; on DONE checks the record. */
static enum proto_status open_one(struct record_dir *d, uint8_t *buf, size_t len, uint8_t *type,
                                  const uint8_t **payload, size_t *plen, size_t *used)
{
	*used = 0xdead;
	return record_open(d, buf, len, used, type, payload, plen);
}

/* ------------------------------------------------------------ round trips */

static void test_roundtrip(void **state)
{
	(void)state;
	static const size_t sizes[] = {0, 1, 16383};
	static const enum record_type types[] = {RECORD_DATA, RECORD_END, RECORD_STATUS,
	                                         RECORD_PAD};
	struct pair p;
	pair_init(&p, 1, 2);
	uint8_t *msg = malloc(RECORD_DATA_MAX);
	assert_non_null(msg);
	uint64_t seq = 0;
	for (size_t t = 0; t < 4; t++) {
		for (size_t s = 0; s < 3; s++) {
			size_t n = sizes[s], len, used, plen;
			uint8_t type;
			const uint8_t *payload;
			fill(msg, n, (uint32_t)(t * 7 + s));
			uint8_t *rec = seal(&p.tx, types[t], msg, n, &len);
			assert_true(p.tx.seq == seq + 1);
			/* The plaintext never shows on the wire. */
			if (n >= 16)
				assert_memory_not_equal(rec + 3, msg, 16);
			assert_int_equal(open_one(&p.rx, rec, len, &type, &payload, &plen, &used),
			                 PROTO_DONE);
			assert_int_equal(used, len);
			assert_int_equal(type, types[t]);
			assert_int_equal(plen, n);
			assert_ptr_equal(payload, rec + 3); /* opened in place */
			if (n)
				assert_memory_equal(payload, msg, n);
			assert_true(p.rx.seq == seq + 1);
			seq++;
			free(rec);
		}
	}
	free(msg);
}

/* Records one after another in one buffer are opened one at a time. */
static void test_stream(void **state)
{
	(void)state;
	struct pair p;
	pair_init(&p, 9, 10);
	uint8_t buf[4 * (100 + RECORD_OVERHEAD)];
	uint8_t msg[100];
	size_t off = 0;
	for (int i = 0; i < 4; i++) {
		memset(msg, 'a' + i, sizeof(msg));
		off += record_seal(&p.tx, RECORD_DATA, msg, (size_t)(25 * (i + 1)), buf + off,
		                   sizeof(buf) - off);
	}
	size_t at = 0;
	for (int i = 0; i < 4; i++) {
		size_t used, plen;
		uint8_t type;
		const uint8_t *payload;
		assert_int_equal(open_one(&p.rx, buf + at, off - at, &type, &payload, &plen, &used),
		                 PROTO_DONE);
		assert_int_equal(plen, 25 * (i + 1));
		assert_int_equal(payload[0], 'a' + i);
		at += used;
	}
	assert_int_equal(at, off);
}

/* Each prefix of a record is NEED_MORE and leaves the bytes and the counter alone. */
static void test_bytewise(void **state)
{
	(void)state;
	static const size_t sizes[] = {0, 1, 200};
	for (size_t s = 0; s < 3; s++) {
		struct pair p;
		pair_init(&p, 3, 4);
		uint8_t msg[200];
		fill(msg, sizes[s], 5);
		size_t len, used, plen;
		uint8_t type;
		const uint8_t *payload;
		uint8_t *rec = seal(&p.tx, RECORD_DATA, msg, sizes[s], &len);
		for (size_t k = 0; k < len; k++) {
			struct guard g;
			uint8_t *q = (uint8_t *)guard_copy(&g, rec, k);
			assert_int_equal(open_one(&p.rx, q, k, &type, &payload, &plen, &used),
			                 PROTO_NEED_MORE);
			assert_int_equal(used, 0xdead);
			if (k)
				assert_memory_equal(q, rec, k);
			assert_true(p.rx.seq == 0);
			guard_free(&g);
		}
		struct guard g;
		uint8_t *q = (uint8_t *)guard_copy(&g, rec, len);
		assert_int_equal(open_one(&p.rx, q, len, &type, &payload, &plen, &used),
		                 PROTO_DONE);
		assert_int_equal(used, len);
		assert_int_equal(plen, sizes[s]);
		if (sizes[s])
			assert_memory_equal(payload, msg, sizes[s]);
		guard_free(&g);
		free(rec);
	}
}

/* A record cut short is never DONE: the stream's end decides (sealed.c). */
static void test_truncated(void **state)
{
	(void)state;
	struct pair p;
	pair_init(&p, 5, 6);
	uint8_t msg[64] = {0};
	size_t len, used, plen;
	uint8_t type;
	const uint8_t *payload;
	uint8_t *rec = seal(&p.tx, RECORD_DATA, msg, sizeof(msg), &len);
	assert_int_equal(open_one(&p.rx, rec, len - 1, &type, &payload, &plen, &used),
	                 PROTO_NEED_MORE);
	assert_int_equal(open_one(&p.rx, rec, 1, &type, &payload, &plen, &used), PROTO_NEED_MORE);
	assert_int_equal(open_one(&p.rx, rec, len, &type, &payload, &plen, &used), PROTO_DONE);
	free(rec);
}

/*
 * A peek tells a whole record's payload length (what sealed.c needs room
 * for) without opening it: every prefix is NEED_MORE, and neither the bytes
 * nor the counter change, so the record still opens after it.
 */
static void test_peek(void **state)
{
	(void)state;
	static const size_t sizes[] = {0, 1, 200, 16383};
	struct pair p;
	pair_init(&p, 23, 24);
	uint8_t *msg = malloc(RECORD_DATA_MAX);
	assert_non_null(msg);
	for (size_t s = 0; s < 4; s++) {
		size_t n = sizes[s], len, used, plen, peeked;
		uint8_t type;
		const uint8_t *payload;
		fill(msg, n, (uint32_t)s);
		uint8_t *rec = seal(&p.tx, s % 2 ? RECORD_DATA : RECORD_END, msg, n, &len);
		uint8_t *copy = malloc(len);
		assert_non_null(copy);
		memcpy(copy, rec, len);
		for (size_t k = 0; k < len; k += k < 4 ? 1 : len / 7 + 1) {
			peeked = 0xdead;
			assert_int_equal(record_peek(&p.rx, rec, k, &peeked), PROTO_NEED_MORE);
			assert_int_equal(peeked, 0xdead);
		}
		assert_int_equal(record_peek(&p.rx, rec, len - 1, &peeked), PROTO_NEED_MORE);
		assert_int_equal(record_peek(&p.rx, rec, len, &peeked), PROTO_DONE);
		assert_int_equal(peeked, n);
		assert_int_equal(record_peek(&p.rx, rec, len + SLACK, &peeked), PROTO_DONE);
		assert_int_equal(peeked, n);
		assert_true(p.rx.seq == s);
		assert_memory_equal(rec, copy, len);
		assert_int_equal(open_one(&p.rx, rec, len, &type, &payload, &plen, &used),
		                 PROTO_DONE);
		assert_int_equal(plen, n);
		free(copy);
		free(rec);
	}
	free(msg);
}

/* ------------------------------------------------------------ forgeries */

/* Flips one bit at byte i of a fresh record of n bytes and expects ERR. */
static void assert_flip_fails(size_t n, size_t i, unsigned bit)
{
	struct pair p;
	pair_init(&p, 7, 8);
	uint8_t msg[300];
	fill(msg, n, 11);
	size_t len, used, plen;
	uint8_t type;
	const uint8_t *payload;
	uint8_t *rec = seal(&p.tx, RECORD_DATA, msg, n, &len);
	rec[i] ^= (uint8_t)(1u << bit);
	/* SLACK bytes follow, so a length made longer is still decided. */
	enum proto_status s = open_one(&p.rx, rec, len + SLACK, &type, &payload, &plen, &used);
	if (s != PROTO_ERR_MALFORMED)
		fail_msg("n %zu byte %zu bit %u: status %d", n, i, bit, s);
	assert_int_equal(used, 0xdead);
	assert_true(p.rx.seq == 0);
	free(rec);
}

static void test_tampered_length(void **state)
{
	(void)state;
	static const size_t sizes[] = {0, 1, 100, 300};
	for (size_t s = 0; s < 4; s++)
		for (size_t i = 0; i < RECORD_HDR_LEN; i++)
			for (unsigned bit = 0; bit < 8; bit++)
				assert_flip_fails(sizes[s], i, bit);
}

static void test_tampered_body(void **state)
{
	(void)state;
	static const size_t sizes[] = {0, 1, 100};
	for (size_t s = 0; s < 3; s++)
		for (size_t i = RECORD_HDR_LEN; i < RECORD_HDR_LEN + 1 + sizes[s]; i++)
			for (unsigned bit = 0; bit < 8; bit++)
				assert_flip_fails(sizes[s], i, bit);
}

static void test_tampered_tag(void **state)
{
	(void)state;
	static const size_t sizes[] = {0, 100};
	for (size_t s = 0; s < 2; s++) {
		size_t tag = RECORD_HDR_LEN + 1 + sizes[s];
		for (size_t i = tag; i < tag + RELAY_TAG_LEN; i++)
			for (unsigned bit = 0; bit < 8; bit++)
				assert_flip_fails(sizes[s], i, bit);
	}
}

/* Three records, the last two swapped: the first opens, the swapped one does not. */
static void test_reordered(void **state)
{
	(void)state;
	static const char *const msgs[] = {"first", "second", "third"};
	for (int swap = 0; swap < 2; swap++) {
		struct pair p;
		uint8_t *r[3];
		size_t l[3], used, plen;
		uint8_t type;
		const uint8_t *payload;
		pair_init(&p, 12, 13);
		for (int i = 0; i < 3; i++)
			r[i] = seal(&p.tx, RECORD_DATA, (const uint8_t *)msgs[i], strlen(msgs[i]),
			            &l[i]);
		assert_int_equal(open_one(&p.rx, r[0], l[0], &type, &payload, &plen, &used),
		                 PROTO_DONE);
		if (swap) {
			assert_int_equal(
			    open_one(&p.rx, r[2], l[2] + SLACK, &type, &payload, &plen, &used),
			    PROTO_ERR_MALFORMED);
		} else {
			/* In order, everything opens. */
			for (int i = 1; i < 3; i++) {
				assert_int_equal(
				    open_one(&p.rx, r[i], l[i], &type, &payload, &plen, &used),
				    PROTO_DONE);
				assert_memory_equal(payload, msgs[i], strlen(msgs[i]));
			}
		}
		for (int i = 0; i < 3; i++)
			free(r[i]);
	}
}

static void test_replayed(void **state)
{
	(void)state;
	struct pair p;
	pair_init(&p, 14, 15);
	size_t len, used, plen;
	uint8_t type;
	const uint8_t *payload;
	uint8_t *rec = seal(&p.tx, RECORD_DATA, (const uint8_t *)"once", 4, &len);
	uint8_t *copy = malloc(len + SLACK);
	assert_non_null(copy);
	memcpy(copy, rec, len + SLACK);
	assert_int_equal(open_one(&p.rx, rec, len, &type, &payload, &plen, &used), PROTO_DONE);
	assert_int_equal(open_one(&p.rx, copy, len + SLACK, &type, &payload, &plen, &used),
	                 PROTO_ERR_MALFORMED);
	free(rec);
	free(copy);
}

static void test_wrong_key(void **state)
{
	(void)state;
	struct pair p;
	pair_init(&p, 16, 17);
	size_t len, used, plen;
	uint8_t type;
	const uint8_t *payload;
	uint8_t *rec = seal(&p.tx, RECORD_DATA, (const uint8_t *)"secret", 6, &len);
	uint8_t *copy = malloc(len + SLACK);
	assert_non_null(copy);

	/* Another AEAD key, the right mask. */
	struct record_dir other = p.rx;
	other.key[31] ^= 1;
	memcpy(copy, rec, len + SLACK);
	assert_int_equal(open_one(&other, copy, len + SLACK, &type, &payload, &plen, &used),
	                 PROTO_ERR_MALFORMED);
	/* Another mask key: the length comes out wrong. */
	other = p.rx;
	other.mask[0] ^= 0x80;
	memcpy(copy, rec, len + SLACK);
	assert_int_equal(open_one(&other, copy, len + SLACK, &type, &payload, &plen, &used),
	                 PROTO_ERR_MALFORMED);
	/* The other direction's keys. */
	struct pair q;
	pair_init(&q, 17, 18);
	memcpy(copy, rec, len + SLACK);
	assert_int_equal(open_one(&q.rx, copy, len + SLACK, &type, &payload, &plen, &used),
	                 PROTO_ERR_MALFORMED);
	/* And the right one still works. */
	assert_int_equal(open_one(&p.rx, rec, len, &type, &payload, &plen, &used), PROTO_DONE);
	free(rec);
	free(copy);
}

/*
 * A length of 0 or over 16384 is refused from the two length bytes alone;
 * 16384 itself is a valid length and waits for the rest.
 */
static void test_length_range(void **state)
{
	(void)state;
	struct pair p;
	pair_init(&p, 19, 20);
	size_t len, used, plen;
	uint8_t type;
	const uint8_t *payload;
	/* The mask for record 0, from a sealed record whose length is known. */
	uint8_t *rec = seal(&p.tx, RECORD_DATA, NULL, 0, &len);
	uint8_t m0 = rec[0] ^ 0x00, m1 = rec[1] ^ 0x01;
	free(rec);

	static const uint16_t bad[] = {0, 16385, 16386, 0x8000, 0xffff};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t hdr[2] = {(uint8_t)((bad[i] >> 8) ^ m0), (uint8_t)(bad[i] ^ m1)};
		struct guard g;
		uint8_t *q = (uint8_t *)guard_copy(&g, hdr, 2);
		assert_int_equal(open_one(&p.rx, q, 2, &type, &payload, &plen, &used),
		                 PROTO_ERR_MALFORMED);
		assert_int_equal(record_peek(&p.rx, q, 2, &plen), PROTO_ERR_MALFORMED);
		guard_free(&g);
	}
	static const uint16_t good[] = {1, 2, 16383, 16384};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		uint8_t hdr[2] = {(uint8_t)((good[i] >> 8) ^ m0), (uint8_t)(good[i] ^ m1)};
		struct guard g;
		uint8_t *q = (uint8_t *)guard_copy(&g, hdr, 2);
		assert_int_equal(open_one(&p.rx, q, 2, &type, &payload, &plen, &used),
		                 PROTO_NEED_MORE);
		assert_int_equal(record_peek(&p.rx, q, 2, &plen), PROTO_NEED_MORE);
		guard_free(&g);
	}
	assert_true(p.rx.seq == 0);
}

static void test_seal_refuses(void **state)
{
	(void)state;
	struct pair p;
	pair_init(&p, 21, 22);
	size_t big = RECORD_DATA_MAX + 1;
	uint8_t *msg = calloc(1, big);
	uint8_t *out = malloc(big + RECORD_OVERHEAD + 1);
	assert_non_null(msg);
	assert_non_null(out);
	assert_int_equal(record_seal(&p.tx, RECORD_DATA, msg, big, out, big + RECORD_OVERHEAD + 1),
	                 0);
	assert_int_equal(record_seal(&p.tx, RECORD_DATA, msg, 10, out, 10 + RECORD_OVERHEAD - 1),
	                 0);
	assert_int_equal(record_seal(&p.tx, RECORD_END, NULL, 0, out, RECORD_OVERHEAD - 1), 0);
	assert_true(p.tx.seq == 0); /* a refusal uses no record number */
	assert_int_equal(record_seal(&p.tx, RECORD_DATA, msg, RECORD_DATA_MAX, out,
	                             RECORD_DATA_MAX + RECORD_OVERHEAD),
	                 RECORD_WIRE_MAX);
	assert_true(p.tx.seq == 1);
	free(msg);
	free(out);
}

/* The same payload twice gives different bytes: the nonce moves on. */
static void test_nonce_advances(void **state)
{
	(void)state;
	struct pair p;
	pair_init(&p, 23, 24);
	uint8_t a[5 + RECORD_OVERHEAD], b[5 + RECORD_OVERHEAD];
	record_seal(&p.tx, RECORD_DATA, (const uint8_t *)"hello", 5, a, sizeof(a));
	record_seal(&p.tx, RECORD_DATA, (const uint8_t *)"hello", 5, b, sizeof(b));
	assert_memory_not_equal(a, b, sizeof(a));
	assert_memory_not_equal(a, b, 2); /* the length mask too */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    BOTH(test_roundtrip),       BOTH(test_stream),
	    BOTH(test_bytewise),        BOTH(test_truncated),
	    BOTH(test_tampered_length), BOTH(test_tampered_body),
	    BOTH(test_tampered_tag),    BOTH(test_reordered),
	    BOTH(test_replayed),        BOTH(test_wrong_key),
	    BOTH(test_length_range),    BOTH(test_seal_refuses),
	    BOTH(test_nonce_advances),  BOTH(test_peek),
	};
	return cmocka_run_group_tests_name("relay_record", tests, suites_setup, NULL);
}
