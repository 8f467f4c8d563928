/*
 * libFuzzer target for a relay's record stream (src/sealed.c over
 * crypto/record.c): a relay-side struct sealed with fixed session keys is
 * fed the input through sealed_pump_in, in chunks whose sizes the input's
 * first bytes choose:
 *
 *   flags  c0 c1 c2 c3  stream...
 *
 * chunk i is c[i % 4] + 1 bytes (times 64 with flag 0x02); flag 0x01 drains
 * the plaintext after every chunk (otherwise it backs up); flag 0x04 makes
 * the relay discard c0 x 16 bytes of padding first; flag 0x08 then seals the
 * input as plaintext with sealed_pump_out (and END with flag 0x10), and
 * opens the result again; flag 0x20 makes the hop's suite AES-256-GCM (on a
 * CPU that has it; ChaCha20-Poly1305 otherwise). abort()s when:
 *  - the plaintext out is ever more than the bytes in;
 *  - broken is not sticky, or pump_in's answer disagrees with it;
 *  - a relay takes a STATUS, or anything follows an END;
 *  - what pump_out seals does not open to exactly what it consumed.
 *
 * The seed corpus holds genuine records for these keys. Remake it from a
 * build directory such as _build/dev (after `make libnacrecrypto.a
 * libnacreproto.a`) with
 *   cc -DFUZZ_WRITE_SEEDS -I. -I../../protocol -I../../crypto -I../../src \
 *      ../../tests/fuzz/fuzz_relay_records.c ../../src/sealed.c ../../src/buffer.c \
 *      libnacrecrypto.a libnacreproto.a -lsodium \
 *      -o seeds && ./seeds ../../tests/fuzz/corpus/fuzz_relay_records
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buffer.h"
#include "record.h"
#include "sealed.h"

#define HDR 5

static uint8_t suite; /* this input's record suite */

static void check(int ok)
{
	if (!ok)
		abort();
}

/* The client's sending direction = the relay's receiving one, and back. */
static void keys(struct record_dir *c2r, struct record_dir *r2c)
{
	for (int i = 0; i < 32; i++) {
		c2r->key[i] = (uint8_t)(0x10 + i);
		c2r->mask[i] = (uint8_t)(0x50 + i);
		r2c->key[i] = (uint8_t)(0x90 + i);
		r2c->mask[i] = (uint8_t)(0xd0 + i);
	}
	c2r->seq = r2c->seq = 0;
	c2r->suite = r2c->suite = suite;
}

/* Seals what is left of the input as plaintext and opens it again. */
static void check_out(struct sealed *s, const uint8_t *p, size_t n, bool end)
{
	struct buf src = {0};
	struct record_dir c2r, r2c;
	keys(&c2r, &r2c);
	r2c.seq = s->relay.send.seq;
	size_t take = n < BUF_CAP ? n : BUF_CAP;
	check(buf_append(&src, p, take));
	s->want_end = end;
	bool was_broken = s->broken;
	size_t before = buf_len(&s->rout);
	check(sealed_pump_out(s, &src) == !was_broken);
	if (was_broken) {
		check(buf_len(&s->rout) == before);
		buf_free(&src);
		return;
	}
	size_t consumed = take - buf_len(&src);
	size_t recs = (consumed + RECORD_DATA_MAX - 1) / RECORD_DATA_MAX;
	bool ended = s->l[0].out_end;
	check(!ended || (end && buf_len(&src) == 0));
	check(buf_len(&s->rout) == before + consumed + RECORD_OVERHEAD * (recs + ended));

	/* Open what was just sealed (it follows any earlier records in rout). */
	uint8_t *wire = malloc(buf_len(&s->rout) + 1);
	check(wire != NULL);
	if (buf_len(&s->rout))
		memcpy(wire, buf_head(&s->rout), buf_len(&s->rout));
	size_t off = before, got = 0, len = buf_len(&s->rout);
	while (off < len) {
		size_t used, plen;
		uint8_t type;
		const uint8_t *payload;
		check(record_open(&r2c, wire + off, len - off, &used, &type, &payload, &plen) ==
		      PROTO_DONE);
		if (type == RECORD_DATA) {
			check(plen >= 1 && got + plen <= consumed);
			check(memcmp(payload, p + got, plen) == 0);
			got += plen;
		} else {
			check(type == RECORD_END && plen == 0 && off + used == len);
		}
		off += used;
	}
	check(got == consumed);
	free(wire);
	buf_free(&src);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < HDR)
		return 0;
	uint8_t flags = data[0];
	const uint8_t *c = data + 1;
	suite = (flags & 0x20) && record_aes_available() ? RECORD_SUITE_AES : RECORD_SUITE_CHACHA;
	struct sealed *s = sealed_new_relay();
	check(s != NULL);
	keys(&s->relay.recv, &s->relay.send);
	size_t discard = 0;
	if (flags & 0x04)
		s->discard = discard = (size_t)c[0] * 16;

	struct buf dst = {0};
	size_t off = HDR, fed = 0, out = 0;
	bool was_broken = false, was_ended = false;
	for (unsigned i = 0; off < size; i++) {
		size_t n = (size_t)c[i % 4] + 1;
		if (flags & 0x02)
			n *= 64;
		if (n > size - off)
			n = size - off;
		if (n > buf_room(&s->rin))
			n = buf_room(&s->rin);
		if (n == 0)
			break; /* backed up: nothing drains the plaintext */
		check(buf_append(&s->rin, data + off, n));
		off += n;
		fed += n;

		size_t before = buf_len(&dst);
		bool ok = sealed_pump_in(s, &dst);
		check(ok == !s->broken);
		if (was_broken)
			check(!ok && buf_len(&dst) == before);
		if (was_ended && buf_len(&s->rin) > 0)
			check(s->broken); /* nothing may follow END */
		out += buf_len(&dst) - before;
		check(out <= fed);
		check(s->status == -1); /* a relay is never told a status */
		was_broken = s->broken;
		was_ended = sealed_in_ended(s);
		if (flags & 0x01)
			buf_consume(&dst, buf_len(&dst));
	}
	/* Each record costs 19 bytes on top of its payload, and the padding is no data. */
	check(out == 0 || out + RECORD_OVERHEAD + (discard < fed ? discard : fed) <= fed);

	if (flags & 0x08)
		check_out(s, data + HDR, size - HDR, flags & 0x10);
	buf_free(&dst);
	sealed_free(s);
	return 0;
}

#ifdef FUZZ_WRITE_SEEDS
#include <stdio.h>

static uint8_t seed[8 * RECORD_WIRE_MAX];
static size_t seed_len;
static struct record_dir seed_dir;

static void start(uint8_t flags, uint8_t c0, uint8_t c1, uint8_t c2, uint8_t c3)
{
	struct record_dir unused;
	suite = flags & 0x20 ? RECORD_SUITE_AES : RECORD_SUITE_CHACHA;
	keys(&seed_dir, &unused);
	seed[0] = flags;
	seed[1] = c0;
	seed[2] = c1;
	seed[3] = c2;
	seed[4] = c3;
	seed_len = HDR;
}

static void rec(enum record_type t, const void *p, size_t n)
{
	seed_len += record_seal(&seed_dir, t, p, n, seed + seed_len, sizeof(seed) - seed_len);
}

static void raw(const void *p, size_t n)
{
	memcpy(seed + seed_len, p, n);
	seed_len += n;
}

static void put(const char *dir, const char *name)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	check(f && fwrite(seed, 1, seed_len, f) == seed_len && fclose(f) == 0);
}

int main(int argc, char **argv)
{
	static uint8_t big[RECORD_DATA_MAX];
	uint8_t st = 0;
	check(argc == 2);
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 31);

	start(0x01, 0, 0, 0, 0); /* byte by byte */
	rec(RECORD_DATA, "hello", 5);
	rec(RECORD_END, NULL, 0);
	put(argv[1], "hello_end_bytewise");

	start(0x1b, 255, 3, 40, 0); /* big chunks, then seal the input back with END */
	rec(RECORD_DATA, big, sizeof(big));
	rec(RECORD_PAD, big, 100);
	rec(RECORD_DATA, big, 1);
	rec(RECORD_END, NULL, 0);
	put(argv[1], "full_record_pad_end");

	start(0x3b, 255, 3, 40, 0); /* the same under AES-256-GCM */
	rec(RECORD_DATA, big, sizeof(big));
	rec(RECORD_PAD, big, 100);
	rec(RECORD_DATA, big, 1);
	rec(RECORD_END, NULL, 0);
	put(argv[1], "full_record_pad_end_aes");

	start(0x21, 20, 20, 20, 20);
	rec(RECORD_DATA, "tampered", 8);
	seed[seed_len - 1] ^= 1;
	put(argv[1], "bad_tag_aes");

	start(0x00, 255, 255, 255, 255); /* nobody drains: the fifth record waits */
	for (int i = 0; i < 5; i++)
		rec(RECORD_DATA, big, sizeof(big));
	put(argv[1], "backed_up");

	start(0x05, 3, 10, 200, 7); /* 48 bytes of padding first */
	memset(big, 0xa5, 48);
	raw(big, 48);
	rec(RECORD_DATA, "after padding", 13);
	put(argv[1], "discard_then_data");

	start(0x01, 7, 7, 7, 7);
	rec(RECORD_STATUS, &st, 1); /* a relay is never told a status */
	put(argv[1], "status_to_relay");

	start(0x01, 9, 1, 2, 3);
	rec(RECORD_DATA, "x", 1);
	rec(RECORD_END, NULL, 0);
	rec(RECORD_DATA, "y", 1); /* nothing may follow END */
	put(argv[1], "data_after_end");

	start(0x01, 20, 20, 20, 20);
	rec((enum record_type)7, "?", 1);
	put(argv[1], "unknown_type");

	start(0x01, 20, 20, 20, 20);
	rec(RECORD_DATA, "tampered", 8);
	seed[seed_len - 1] ^= 1;
	put(argv[1], "bad_tag");

	start(0x0a, 1, 2, 3, 4);
	rec(RECORD_END, "payload", 7); /* END carries nothing */
	put(argv[1], "end_with_payload");
	return 0;
}
#endif
