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
 * CPU that has it; ChaCha20-Poly1305 otherwise); flag 0x40 makes the circuit
 * a reused one (REUSE): once the client's END is in, the relay ends its side
 * too (want_end and sealed_pump_out) and lets the stream go
 * (sealed_next_stream), takes the BEGIN that must come next (checks it and
 * clears begun) and goes on feeding, stream after stream; flag 0x80 makes
 * the relay end its side first, as each stream starts. After the input (or
 * as much as fitted) the link says EOF (link_eof) and the plaintext is
 * drained until nothing moves. abort()s when:
 *  - the plaintext out is ever more than the bytes in;
 *  - broken is not sticky, or pump_in's answer disagrees with it;
 *  - a relay takes a STATUS, or anything follows an END, except on a reused
 *    circuit whose relay has ended too, where it waits;
 *  - begun is set without reuse, or a BEGIN is taken while the stream is
 *    not over (before sealed_next_stream) or does not parse
 *    (relay_begin_parse), or between streams anything but a BEGIN is taken
 *    without breaking the stream;
 *  - records move while both directions have ended and sealed_next_stream
 *    has not been called, sealed_next_stream takes a stream that is not
 *    over, or more streams start than the bytes in can pay for;
 *  - the END the relay seals does not open as one END;
 *  - what pump_out seals does not open to exactly what it consumed (nothing
 *    once the relay's END is out);
 *  - after the EOF and the drain the stream has neither ended (END, or the
 *    EOF between streams) nor broken, or a stream that had ended with
 *    nothing left in rin is broken by the EOF.
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
	bool was_broken = s->broken, was_ended = s->l[0].out_end;
	size_t before = buf_len(&s->rout);
	check(sealed_pump_out(s, &src) == !was_broken);
	if (was_broken || was_ended) {
		check(buf_len(&s->rout) == before && buf_len(&src) == take);
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

/* The relay ends its side of the stream: one END into rout, which is then sent. */
static void relay_end(struct sealed *s)
{
	struct record_dir c2r, r2c;
	keys(&c2r, &r2c);
	r2c.seq = s->relay.send.seq;
	check(!s->l[0].out_end && buf_len(&s->rout) == 0);
	s->want_end = true;
	check(sealed_pump_out(s, NULL));
	check(s->l[0].out_end && buf_len(&s->rout) == RECORD_OVERHEAD);
	check(s->relay.send.seq == r2c.seq + 1);

	uint8_t wire[RECORD_OVERHEAD];
	size_t used, plen;
	uint8_t type;
	const uint8_t *payload;
	memcpy(wire, buf_head(&s->rout), sizeof(wire));
	check(record_open(&r2c, wire, sizeof(wire), &used, &type, &payload, &plen) == PROTO_DONE);
	check(type == RECORD_END && plen == 0 && used == sizeof(wire));
	buf_consume(&s->rout, buf_len(&s->rout));
}

/* One input's run through a relay's sealed. */
struct run {
	struct sealed *s;
	struct buf dst;    /* the plaintext out */
	size_t fed, out;   /* bytes into rin, plaintext out */
	bool was_broken;   /* broken after the last pump */
	bool end_first;    /* flag 0x80 */
	bool expect_begin; /* sealed_next_stream() said yes; no BEGIN taken since */
	unsigned streams;  /* BEGINs taken */
};

static void pump(struct run *r)
{
	struct sealed *s = r->s;
	struct sealed_layer *l = &s->l[0];
	size_t before = buf_len(&r->dst), rin = buf_len(&s->rin);
	bool ok = sealed_pump_in(s, &r->dst);
	check(ok == !s->broken);
	if (r->was_broken)
		check(!ok && buf_len(&r->dst) == before && buf_len(&s->rin) == rin);
	r->out += buf_len(&r->dst) - before;
	check(r->out <= r->fed);
	check(s->status == -1); /* a relay is never told a status */
	/* Nothing may follow END, but on a reused circuit the relay has ended too. */
	if (l->in_end && buf_len(&s->rin) > 0 && !(s->reuse && l->out_end))
		check(s->broken);
	/* Only a reused circuit takes a BEGIN, and only once the last stream is over. */
	check(!s->begun || (s->reuse && r->expect_begin));
	if (s->begun)
		check(!s->between && !l->in_end && !l->out_end && buf_len(&r->dst) == before);
	/* Between streams a BEGIN, or the stream breaks. */
	if (r->expect_begin && !s->begun && !s->broken)
		check(s->between && !l->in_end && buf_len(&r->dst) == before);
	r->was_broken = s->broken;
}

/* What relay.c does between pumps; true if records may move again. */
static bool advance(struct run *r)
{
	struct sealed *s = r->s;
	struct sealed_layer *l = &s->l[0];
	if (s->broken)
		return false;
	if (!s->reuse) {
		check(!sealed_next_stream(s) && !s->between);
		return false;
	}
	if (s->begun) {
		struct proto_addr a;
		check(s->begin_len <= RELAY_BEGIN_MAX &&
		      relay_begin_parse(s->begin, s->begin_len, &a) == PROTO_DONE);
		s->begun = false;
		r->expect_begin = false;
		r->streams++;
		if (r->end_first)
			relay_end(s);
		return true;
	}
	if (!l->in_end) {
		check(!sealed_next_stream(s)); /* the stream is not over */
		return false;
	}
	if (!l->out_end) {
		check(!sealed_next_stream(s) && l->in_end && !s->between);
		relay_end(s);
	}
	/* Both ways over: what came after END waits until the stream is let go. */
	size_t rin = buf_len(&s->rin), before = buf_len(&r->dst);
	check(sealed_idle(s));
	check(sealed_pump_in(s, &r->dst) && !s->begun);
	check(buf_len(&s->rin) == rin && buf_len(&r->dst) == before);
	check(sealed_next_stream(s));
	check(s->between && !l->in_end && !l->out_end && !s->want_end && !sealed_idle(s));
	r->expect_begin = true;
	return true;
}

static int run_input(const uint8_t *data, size_t size)
{
	if (size < HDR)
		return 0;
	uint8_t flags = data[0];
	const uint8_t *c = data + 1;
	suite = (flags & 0x20) && record_aes_available() ? RECORD_SUITE_AES : RECORD_SUITE_CHACHA;
	struct run r = {0};
	struct sealed *s = r.s = sealed_new_relay();
	check(s != NULL);
	keys(&s->relay.recv, &s->relay.send);
	s->reuse = flags & 0x40;
	r.end_first = flags & 0x80;
	size_t discard = 0;
	if (flags & 0x04)
		s->discard = discard = (size_t)c[0] * 16;
	if (r.end_first)
		relay_end(s);

	size_t off = HDR;
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
		r.fed += n;
		do
			pump(&r);
		while (advance(&r));
		if (flags & 0x01)
			buf_consume(&r.dst, buf_len(&r.dst));
	}
	/* Each record costs 19 bytes on top of its payload, and the padding is no data. */
	size_t out = r.out, fed = r.fed;
	check(out == 0 || out + RECORD_OVERHEAD + (discard < fed ? discard : fed) <= fed);
	/* Each stream after the first took an END and a BEGIN of 5 bytes or more. */
	check(r.streams == 0 || (s->reuse && r.streams * (2 * RECORD_OVERHEAD + 5) <= fed));

	/*
	 * The link's EOF, then a reader that takes everything: the records left
	 * in rin are opened first, and then the stream has ended or was cut.
	 */
	bool over = !s->broken && (s->l[0].in_end || s->between) && buf_len(&s->rin) == 0;
	s->link_eof = true;
	size_t left;
	do {
		left = buf_len(&s->rin);
		buf_consume(&r.dst, buf_len(&r.dst));
		do
			pump(&r);
		while (advance(&r));
	} while (!s->broken && buf_len(&s->rin) < left);
	check(s->broken || sealed_in_eof(s));
	check(!over || !s->broken);

	if (flags & 0x08)
		check_out(s, data + HDR, size - HDR, flags & 0x10);
	buf_free(&r.dst);
	sealed_free(s);
	return 0;
}

#ifdef FUZZ_PLAIN
/*
 * fuzz_relay_plain.c: the input's stream is a script of plaintext records,
 *
 *   type  len_hi len_lo  payload...
 *
 * (len taken modulo RECORD_DATA_MAX + 1, cut to what is left), each sealed
 * here with the client's keys. The fuzzer then chooses types, lengths and
 * payloads (a BEGIN of any length, a STATUS from the client, data between
 * streams) instead of guessing tags; the stream the relay reads is genuine.
 */
static size_t seal_script(const uint8_t *data, size_t size, uint8_t **wire)
{
	struct record_dir c2r, r2c;
	size_t cap = size + (size / 3 + 1) * RECORD_OVERHEAD, len = HDR, off = HDR;
	suite = (data[0] & 0x20) && record_aes_available() ? RECORD_SUITE_AES : RECORD_SUITE_CHACHA;
	keys(&c2r, &r2c);
	*wire = malloc(cap);
	check(*wire != NULL);
	memcpy(*wire, data, HDR);
	while (size - off >= 3) {
		uint8_t type = data[off];
		size_t n = ((size_t)data[off + 1] << 8 | data[off + 2]) % (RECORD_DATA_MAX + 1);
		off += 3;
		if (n > size - off)
			n = size - off;
		size_t w = record_seal(&c2r, (enum record_type)type, data + off, n, *wire + len,
		                       cap - len);
		check(w == n + RECORD_OVERHEAD);
		len += w;
		off += n;
	}
	return len;
}
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
#ifdef FUZZ_PLAIN
	if (size < HDR)
		return 0;
	uint8_t *wire;
	size_t len = seal_script(data, size, &wire);
	int r = run_input(wire, len);
	free(wire);
	return r;
#else
	return run_input(data, size);
#endif
}

#ifdef FUZZ_WRITE_SEEDS
#include "seeds.h"

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

/* A BEGIN record for port and an address of type t (an IP or a name). */
static void begin(uint16_t port, enum proto_addr_type t, const void *addr, size_t alen)
{
	struct proto_addr a = {.type = t, .port = port};
	uint8_t p[RELAY_BEGIN_MAX];
	if (t == PROTO_ADDR_DOMAIN) {
		a.name = (const uint8_t *)addr;
		a.name_len = alen;
	} else {
		memcpy(a.ip, addr, alen);
	}
	size_t n = relay_begin_encode(p, sizeof(p), &a);
	check(n != 0);
	rec(RECORD_BEGIN, p, n);
}

static void raw(const void *p, size_t n)
{
	memcpy(seed + seed_len, p, n);
	seed_len += n;
}

static void put(const char *dir, const char *name)
{
	seed_write(dir, name, seed, seed_len);
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

	start(0x01, 0, 0, 0, 0);
	rec(RECORD_STATUS, &st, 1);
	rec(RECORD_DATA, "x", 1); /* broken stays broken */
	put(argv[1], "status_then_data");

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

	/* Reused circuits (flag 0x40). */
	static const uint8_t ip4[4] = {192, 0, 2, 1};
	static const uint8_t ip6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 7};
	/* Byte by byte: two streams, under ChaCha20-Poly1305 and AES-256-GCM. */
	static const struct {
		uint8_t flags;
		const char *name;
	} two[] = {{0x41, "reuse_two_streams"}, {0x61, "reuse_two_streams_aes"}};
	for (size_t i = 0; i < 2; i++) {
		start(two[i].flags, 0, 0, 0, 0);
		rec(RECORD_DATA, "hello", 5);
		rec(RECORD_END, NULL, 0);
		begin(443, PROTO_ADDR_IPV4, ip4, 4);
		rec(RECORD_DATA, "again", 5);
		rec(RECORD_END, NULL, 0);
		put(argv[1], two[i].name);
	}

	/* The relay ends each stream first, so all of it comes in one chunk; then sealed back. */
	start(0xd9, 255, 255, 255, 255);
	rec(RECORD_DATA, "hello", 5);
	rec(RECORD_END, NULL, 0);
	begin(443, PROTO_ADDR_DOMAIN, "example.com", 11);
	rec(RECORD_DATA, big, 1000);
	rec(RECORD_END, NULL, 0);
	begin(80, PROTO_ADDR_IPV6, ip6, 16);
	rec(RECORD_PAD, big, 10);
	rec(RECORD_END, NULL, 0);
	put(argv[1], "reuse_end_first_three_streams");

	start(0x41, 255, 255, 255, 255); /* BEGIN with END, before the relay has ended */
	rec(RECORD_DATA, "hello", 5);
	rec(RECORD_END, NULL, 0);
	begin(443, PROTO_ADDR_IPV4, ip4, 4);
	put(argv[1], "reuse_begin_before_relay_end");

	start(0x41, 0, 0, 0, 0);
	rec(RECORD_END, NULL, 0);
	rec(RECORD_DATA, "x", 1); /* between streams, only a BEGIN */
	put(argv[1], "reuse_data_between_streams");

	start(0x41, 0, 0, 0, 0);
	rec(RECORD_DATA, "x", 1);
	begin(443, PROTO_ADDR_IPV4, ip4, 4); /* the stream is not over */
	put(argv[1], "reuse_begin_mid_stream");

	start(0x41, 0, 0, 0, 0);
	rec(RECORD_END, NULL, 0);
	begin(443, PROTO_ADDR_IPV4, ip4, 4);
	begin(443, PROTO_ADDR_IPV4, ip4, 4); /* one BEGIN a stream */
	put(argv[1], "reuse_two_begins");

	start(0x41, 0, 0, 0, 0);
	rec(RECORD_END, NULL, 0);
	rec(RECORD_BEGIN, "\x00\x00\x01\x04\xc0\x00\x02\x01", 8); /* port 0 */
	put(argv[1], "reuse_begin_port_zero");

	start(0x01, 0, 0, 0, 0);
	rec(RECORD_END, NULL, 0);
	begin(443, PROTO_ADDR_IPV4, ip4, 4); /* no reuse: nothing follows END */
	put(argv[1], "begin_without_reuse");

	start(0x89, 255, 255, 255, 255); /* the relay has ended: pump_out seals nothing */
	rec(RECORD_DATA, "hello", 5);
	put(argv[1], "end_first_then_seal");
	return 0;
}
#endif
