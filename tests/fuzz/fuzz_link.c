/*
 * libFuzzer target for links (protocol/link.c over crypto/frame.c,
 * SPEC.md "Links"). The input is
 *
 *   flags  chunk  stream...
 *
 * and flag 0x01 makes the link's suite AES-256-GCM (on a CPU that has it).
 * The stream is opened as one direction of a link under fixed keys, fed
 * chunk + 1 bytes at a time, and abort()s when:
 *  - a frame opens whose length is out of range, whose body is not inside
 *    the bytes given, or whose bytes are not exactly what sealing its header
 *    (a data frame) or its messages (a control frame) at the same number
 *    makes again;
 *  - NEED_MORE is answered for a frame that is all there, or changes the
 *    bytes or the frame count; a failure is not final (the stream is dead:
 *    nothing is opened after it);
 *  - a control frame's messages parse otherwise than the SPEC's table says.
 * The stream's bytes are also read as bare messages and as bare headers
 * (unmasked, and under a fixed mask), each checked against the SPEC's rules
 * spelled out here, and what parses is encoded back to the same bytes.
 *
 * The seed corpus holds genuine frames for these keys. Remake it from a
 * build directory such as _build/dev (after `make libnacrecrypto.a
 * libnacreproto.a`) with
 *   cc -DFUZZ_WRITE_SEEDS -I. -I../../protocol -I../../crypto \
 *      ../../tests/fuzz/fuzz_link.c libnacrecrypto.a libnacreproto.a -lsodium \
 *      -o seeds && ./seeds ../../tests/fuzz/corpus/fuzz_link
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "link.h"
#include "secret.h"

#define HDR 2

static void check(int ok)
{
	if (!ok)
		abort();
}

static uint32_t load32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void keys(struct record_dir *d, uint8_t suite)
{
	memset(d, 0, sizeof(*d));
	for (int i = 0; i < 32; i++) {
		d->key[i] = (uint8_t)(0x21 + 5 * i);
		d->mask[i] = (uint8_t)(0xc7 ^ i);
	}
	d->suite = suite;
}

/* The SPEC's message table, spelled out again. */
static bool msg_valid(const uint8_t m[LINK_MSG_LEN])
{
	uint32_t id = load32(m + 1), value = load32(m + 5);
	switch (m[0]) {
	case 0:
		return id == 0 && value == 0;
	case 1:
		return id != 0 && value != 0;
	case 2:
	case 3:
	case 4:
		return id != 0 && value == 0;
	default:
		return false;
	}
}

static void check_msg(const uint8_t *p, size_t len)
{
	struct link_msg m;
	size_t used = 0;
	enum proto_status st = link_msg_parse(p, len, &used, &m);
	if (len < LINK_MSG_LEN) {
		check(st == PROTO_NEED_MORE);
		return;
	}
	check(st == (msg_valid(p) ? PROTO_DONE : PROTO_ERR_MALFORMED));
	if (st != PROTO_DONE)
		return;
	uint8_t out[LINK_MSG_LEN];
	check(used == LINK_MSG_LEN && link_msg_encode(out, sizeof(out), &m) == LINK_MSG_LEN);
	check(memcmp(out, p, LINK_MSG_LEN) == 0);
}

static void check_hdr(const uint8_t *p, const uint8_t mask[LINK_HDR_LEN])
{
	uint8_t u[LINK_HDR_LEN], out[LINK_HDR_LEN];
	for (int i = 0; i < LINK_HDR_LEN; i++)
		u[i] = p[i] ^ mask[i];
	uint32_t id = load32(u);
	size_t len = (size_t)u[4] << 8 | u[5];
	bool valid =
	    len >= 1 && len <= 16402 && (id != 0 || (len >= 16 + 9 && (len - 16) % 9 == 0));
	struct link_frame_hdr h;
	enum proto_status st = link_hdr_parse(p, mask, &h);
	check(st == (valid ? PROTO_DONE : PROTO_ERR_MALFORMED));
	if (!valid)
		return;
	check(h.id == id && h.len == len);
	check(link_hdr_encode(out, mask, &h) == LINK_HDR_LEN && memcmp(out, p, LINK_HDR_LEN) == 0);
}

/* A frame just opened: sealing the same thing at the same number gives the same bytes. */
static void check_frame(const uint8_t *orig, size_t used, const struct link_frame_hdr *h,
                        const uint8_t *body, size_t body_len, uint64_t j, uint8_t suite)
{
	struct record_dir tx;
	keys(&tx, suite);
	tx.seq = j;
	check(h->len >= 1 && h->len <= LINK_BODY_MAX && used == LINK_HDR_LEN + h->len);
	if (h->id != LINK_ID_CONTROL) {
		uint8_t hdr[LINK_HDR_LEN];
		check(body_len == h->len && memcmp(body, orig + LINK_HDR_LEN, body_len) == 0);
		check(frame_seal_data(&tx, h->id, h->len, hdr) == LINK_HDR_LEN);
		check(memcmp(hdr, orig, LINK_HDR_LEN) == 0);
		return;
	}
	check(body_len + RELAY_TAG_LEN == h->len && body_len % LINK_MSG_LEN == 0);
	static uint8_t again[LINK_WIRE_MAX];
	check(frame_seal_control(&tx, body, body_len, again, sizeof(again)) == used);
	check(memcmp(again, orig, used) == 0);
	for (size_t off = 0; off < body_len; off += LINK_MSG_LEN)
		check_msg(body + off, LINK_MSG_LEN);
}

static void check_stream(const uint8_t *p, size_t n, size_t chunk, uint8_t suite)
{
	static uint8_t buf[2 * LINK_WIRE_MAX], orig[LINK_WIRE_MAX];
	struct record_dir rx;
	keys(&rx, suite);
	size_t have = 0, fed = 0;
	bool dead = false;

	while (fed < n && !dead) {
		size_t take = n - fed < chunk ? n - fed : chunk;
		if (take > sizeof(buf) - have)
			take = sizeof(buf) - have;
		memcpy(buf + have, p + fed, take);
		have += take;
		fed += take;
		for (;;) {
			struct link_frame_hdr h;
			const uint8_t *body;
			size_t used, body_len;
			uint64_t j = rx.seq;
			size_t keep = have < sizeof(orig) ? have : sizeof(orig);
			memcpy(orig, buf, keep);
			enum proto_status st =
			    frame_open(&rx, buf, have, &used, &h, &body, &body_len);
			if (st == PROTO_NEED_MORE) {
				check(rx.seq == j && memcmp(orig, buf, keep) == 0);
				/* Not there yet: short of a header, or of the length it names. */
				check(have < LINK_HDR_LEN || have < LINK_HDR_LEN + h.len);
				break;
			}
			if (st != PROTO_DONE) {
				check(st == PROTO_ERR_MALFORMED && rx.seq == j);
				dead = true;
				break;
			}
			check(rx.seq == j + 1 && used <= have);
			check(body >= buf + LINK_HDR_LEN && body + body_len <= buf + used);
			check_frame(orig, used, &h, body, body_len, j, suite);
			memmove(buf, buf + used, have - used);
			have -= used;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	static const uint8_t zero[LINK_HDR_LEN];
	static const uint8_t fixed[LINK_HDR_LEN] = {0x9e, 0x37, 0x79, 0xb9, 0x7f, 0x4a};
	if (!ready) {
		check(secret_init());
		ready = true;
	}
	if (size < HDR)
		return 0;
	uint8_t suite =
	    (data[0] & 0x01) && record_aes_available() ? RECORD_SUITE_AES : RECORD_SUITE_CHACHA;
	size_t chunk = (size_t)data[1] + 1;
	const uint8_t *p = data + HDR;
	size_t n = size - HDR;

	for (size_t off = 0; off < n && off < 64 * LINK_MSG_LEN; off++)
		check_msg(p + off, n - off);
	for (size_t off = 0; off + LINK_HDR_LEN <= n && off < 256; off++) {
		check_hdr(p + off, zero);
		check_hdr(p + off, fixed);
	}
	check_stream(p, n, chunk, suite);
	return 0;
}

#ifdef FUZZ_WRITE_SEEDS
#include "seeds.h"

static uint8_t seed[8 * LINK_WIRE_MAX];
static size_t seed_len;
static struct record_dir seed_dir;

static void start(uint8_t flags, uint8_t chunk)
{
	keys(&seed_dir, flags & 0x01 ? RECORD_SUITE_AES : RECORD_SUITE_CHACHA);
	seed[0] = flags;
	seed[1] = chunk;
	seed_len = HDR;
}

static void data_frame(uint32_t id, const void *p, size_t n)
{
	check(frame_seal_data(&seed_dir, id, n, seed + seed_len) == LINK_HDR_LEN);
	memcpy(seed + seed_len + LINK_HDR_LEN, p, n);
	seed_len += LINK_HDR_LEN + n;
}

static void control(const struct link_msg *m, size_t count)
{
	uint8_t msgs[LINK_MSGS_MAX * LINK_MSG_LEN];
	for (size_t i = 0; i < count; i++)
		check(link_msg_encode(msgs + i * LINK_MSG_LEN, LINK_MSG_LEN, &m[i]) ==
		      LINK_MSG_LEN);
	size_t w = frame_seal_control(&seed_dir, msgs, count * LINK_MSG_LEN, seed + seed_len,
	                              sizeof(seed) - seed_len);
	check(w != 0);
	seed_len += w;
}

static void put(const char *dir, const char *name)
{
	seed_write(dir, name, seed, seed_len);
}

int main(int argc, char **argv)
{
	static uint8_t big[LINK_BODY_MAX];
	check(argc == 2 && secret_init());
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 13);
	struct link_msg credit = {LINK_MSG_CREDIT, 1, 65536}, fin = {LINK_MSG_FIN, 1, 0};
	struct link_msg reset = {LINK_MSG_RESET, 2, 0}, pad = {LINK_MSG_PAD, 0, 0};
	struct link_msg blocked = {LINK_MSG_BLOCKED, 1, 0};

	start(0x00, 0); /* byte by byte */
	data_frame(1, "hello", 5);
	control((struct link_msg[]){credit, fin}, 2);
	put(argv[1], "data_credit_fin_bytewise");

	start(0x01, 200);
	data_frame(1, "hello", 5);
	control((struct link_msg[]){credit, fin}, 2);
	put(argv[1], "data_credit_fin_aes");

	start(0x00, 255); /* two circuits interleaved, full frames */
	data_frame(1, big, sizeof(big));
	data_frame(2, big, 100);
	data_frame(1, big, 1);
	control((struct link_msg[]){reset, pad, credit, blocked}, 4);
	put(argv[1], "interleaved_full");

	start(0x00, 255); /* the most messages a frame holds */
	{
		static struct link_msg many[LINK_MSGS_MAX];
		for (size_t i = 0; i < LINK_MSGS_MAX; i++)
			many[i] = (struct link_msg){LINK_MSG_CREDIT, (uint32_t)i + 1, 1};
		control(many, LINK_MSGS_MAX);
	}
	put(argv[1], "most_messages");

	start(0x00, 7);
	control(&credit, 1);
	seed[seed_len - 1] ^= 1; /* a bad tag ends the link */
	data_frame(1, "after", 5);
	put(argv[1], "bad_tag");

	start(0x00, 30);
	data_frame(3, "cut", 3);
	seed_len -= 1; /* the last frame is cut short */
	put(argv[1], "truncated");

	start(0x00, 30); /* a control frame sealed around messages the table refuses */
	{
		uint8_t bad[2 * LINK_MSG_LEN] = {4, 0, 0, 0, 1, 0, 0, 0, 0,
		                                 1, 0, 0, 0, 0, 0, 0, 0, 0};
		seed_len += frame_seal_control(&seed_dir, bad, sizeof(bad), seed + seed_len,
		                               sizeof(seed) - seed_len);
	}
	put(argv[1], "unknown_kind");
	return 0;
}
#endif
