/*
 * Links (SPEC.md, "Links"): the frame header and control message codec and
 * the id and credit rules (protocol/link.c), and frames sealed and opened
 * (crypto/frame.c): round trips, arrival byte by byte, and every way a
 * frame can be forged or misplaced. Headers and messages are written here
 * byte by byte from the SPEC's tables; parses run flush against a PROT_NONE
 * page (guard.h). The frame cases run once per suite, as the record tests do.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "frame.h"
#include "guard.h"
#include "suites.h"
#include "link.h"
#include "secret.h"

static void put(uint8_t *p, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

/* ------------------------------------------------------------ headers */

static const uint8_t zero_mask[LINK_HDR_LEN];
static const uint8_t some_mask[LINK_HDR_LEN] = {0x5a, 0x01, 0xff, 0x80, 0x33, 0xc4};

static enum proto_status hdr_parse(const uint8_t raw[LINK_HDR_LEN], const uint8_t *mask,
                                   struct link_frame_hdr *h)
{
	struct guard g;
	enum proto_status st = link_hdr_parse(guard_copy(&g, raw, LINK_HDR_LEN), mask, h);
	guard_free(&g);
	return st;
}

static void test_hdr(void **state)
{
	(void)state;
	struct {
		uint32_t id;
		size_t len;
		bool ok;
	} cases[] = {
	    {1, 1, true},
	    {1, 16402, true},
	    {1, 16403, false},
	    {1, 0, false},
	    {0xffffffffu, 5, true},
	    {0, 16 + 9, true},
	    {0, 16 + 18, true},
	    {0, 16 + 9 * 1820, true}, /* LINK_MSGS_MAX messages: 16396 bytes */
	    {0, 16, false},           /* a tag and no message */
	    {0, 9, false},            /* no room for the tag */
	    {0, 16 + 10, false},      /* not whole messages */
	    {0, 16 + 9 * 1821, false},
	    {0, 65535, false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (int m = 0; m < 2; m++) {
			const uint8_t *mask = m ? some_mask : zero_mask;
			uint8_t raw[LINK_HDR_LEN], enc[LINK_HDR_LEN];
			put(raw, cases[i].id, 4);
			put(raw + 4, cases[i].len, 2);
			for (int k = 0; k < LINK_HDR_LEN; k++)
				raw[k] ^= mask[k];
			struct link_frame_hdr h = {.id = cases[i].id, .len = cases[i].len}, got;
			if (cases[i].len >
			    65535) /* not even expressible: only the encoder sees it */
				continue;
			if (!cases[i].ok) {
				assert_int_equal(hdr_parse(raw, mask, &got), PROTO_ERR_MALFORMED);
				assert_int_equal(link_hdr_encode(enc, mask, &h), 0);
				continue;
			}
			assert_int_equal(hdr_parse(raw, mask, &got), PROTO_DONE);
			assert_int_equal(got.id, cases[i].id);
			assert_int_equal(got.len, cases[i].len);
			assert_int_equal(link_hdr_encode(enc, mask, &h), LINK_HDR_LEN);
			assert_memory_equal(enc, raw, LINK_HDR_LEN);
		}
	}
	/* The encoder refuses a length the two bytes cannot carry. */
	uint8_t enc[LINK_HDR_LEN];
	struct link_frame_hdr big = {.id = 1, .len = 65536 + 5};
	assert_int_equal(link_hdr_encode(enc, zero_mask, &big), 0);
}

/* ------------------------------------------------------------ messages */

static enum proto_status msg_parse(const uint8_t *p, size_t len, size_t *used, struct link_msg *m)
{
	struct guard g;
	enum proto_status st = link_msg_parse(guard_copy(&g, p, len), len, used, m);
	guard_free(&g);
	return st;
}

static void test_msgs(void **state)
{
	(void)state;
	struct {
		uint8_t kind;
		uint32_t id, value;
		bool ok;
	} cases[] = {
	    {0, 0, 0, true},
	    {0, 1, 0, false},
	    {0, 0, 1, false},
	    {1, 7, 65536, true},
	    {1, 7, 0, false},
	    {1, 0, 5, false},
	    {1, 0xffffffffu, 0xffffffffu, true},
	    {2, 9, 0, true},
	    {2, 9, 1, false},
	    {2, 0, 0, false},
	    {3, 1, 0, true},
	    {3, 1, 2, false},
	    {3, 0, 0, false},
	    {4, 1, 0, true},
	    {4, 1, 3, false},
	    {4, 0, 0, false},
	    {5, 1, 0, false},
	    {0xff, 0, 0, false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t raw[LINK_MSG_LEN + 4], enc[LINK_MSG_LEN + 4];
		raw[0] = cases[i].kind;
		put(raw + 1, cases[i].id, 4);
		put(raw + 5, cases[i].value, 4);
		memset(raw + LINK_MSG_LEN, 0xee, 4);
		struct link_msg m = {.kind = (enum link_msg_kind)cases[i].kind,
		                     .id = cases[i].id,
		                     .value = cases[i].value},
		                got;
		size_t used = 0;
		/* A piece of a message is a piece, whatever it holds so far. */
		for (size_t n = 0; n < LINK_MSG_LEN; n++)
			assert_int_equal(msg_parse(raw, n, &used, &got), PROTO_NEED_MORE);
		memset(enc, 0xa5, sizeof(enc));
		if (!cases[i].ok) {
			assert_int_equal(msg_parse(raw, LINK_MSG_LEN, &used, &got),
			                 PROTO_ERR_MALFORMED);
			assert_int_equal(link_msg_encode(enc, sizeof(enc), &m), 0);
			continue;
		}
		/* Only the message is read, whatever follows it. */
		assert_int_equal(msg_parse(raw, sizeof(raw), &used, &got), PROTO_DONE);
		assert_int_equal(used, LINK_MSG_LEN);
		assert_int_equal(got.kind, cases[i].kind);
		assert_int_equal(got.id, cases[i].id);
		assert_int_equal(got.value, cases[i].value);
		assert_int_equal(link_msg_encode(enc, LINK_MSG_LEN - 1, &m), 0);
		assert_int_equal(link_msg_encode(enc, sizeof(enc), &m), LINK_MSG_LEN);
		assert_memory_equal(enc, raw, LINK_MSG_LEN);
		assert_int_equal(enc[LINK_MSG_LEN], 0xa5);
	}
}

/* ------------------------------------------------------------ ids, credit */

static void test_ids(void **state)
{
	(void)state;
	const uint32_t max = 0xffffffffu;
	struct {
		uint32_t last, id;
		enum link_id_class want;
	} cases[] = {
	    {0, 1, LINK_ID_NEXT},       {0, 0, LINK_ID_BAD},    {0, 2, LINK_ID_BAD},
	    {5, 1, LINK_ID_OPENED},     {5, 5, LINK_ID_OPENED}, {5, 6, LINK_ID_NEXT},
	    {5, 7, LINK_ID_BAD},        {5, 0, LINK_ID_BAD},    {max - 1, max, LINK_ID_NEXT},
	    {max, max, LINK_ID_OPENED}, {max, 0, LINK_ID_BAD},  {max, 1, LINK_ID_OPENED},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(link_id_classify(cases[i].last, cases[i].id), cases[i].want);
}

static void test_credit(void **state)
{
	(void)state;
	uint32_t allow = LINK_WINDOW;
	assert_true(link_allow_take(&allow, 65536));
	assert_int_equal(allow, 0);
	assert_false(link_allow_take(&allow, 1));
	assert_int_equal(allow, 0);
	assert_true(link_allow_take(&allow, 0));
	assert_true(link_allow_credit(&allow, 100));
	assert_false(link_allow_take(&allow, 101));
	assert_int_equal(allow, 100);
	assert_true(link_allow_take(&allow, 100));
	/* Up to 2^30 left to send, and not a byte more. */
	assert_true(link_allow_credit(&allow, 1u << 30));
	assert_false(link_allow_credit(&allow, 1));
	assert_int_equal(allow, 1u << 30);
	assert_true(link_allow_take(&allow, 1));
	assert_true(link_allow_credit(&allow, 1));
	assert_false(link_allow_credit(&allow, 0xffffffffu));
	assert_false(link_allow_take(&allow, (size_t)1 << 31));
	assert_int_equal(allow, 1u << 30);
}

/* ------------------------------------------------------------ frames */

struct pair {
	struct record_dir tx, rx;
};

static void pair_init(struct pair *p)
{
	if (suite == RECORD_SUITE_AES && !record_aes_available())
		skip();
	memset(p, 0, sizeof(*p));
	p->tx.suite = (uint8_t)suite;
	for (int i = 0; i < 32; i++) {
		p->tx.key[i] = (uint8_t)(0x40 + i);
		p->tx.mask[i] = (uint8_t)(0x91 + 7 * i);
	}
	p->rx = p->tx;
}

static size_t control(struct pair *p, const struct link_msg *m, size_t n, uint8_t *out, size_t cap)
{
	uint8_t msgs[LINK_MSGS_MAX * LINK_MSG_LEN];
	for (size_t i = 0; i < n; i++)
		assert_int_equal(link_msg_encode(msgs + i * LINK_MSG_LEN, LINK_MSG_LEN, &m[i]),
		                 LINK_MSG_LEN);
	return frame_seal_control(&p->tx, msgs, n * LINK_MSG_LEN, out, cap);
}

/* Opens the frame at in from a guarded copy: the status, and a copy of its body. */
static enum proto_status open_guarded(struct record_dir *d, const uint8_t *in, size_t len,
                                      size_t *used, struct link_frame_hdr *h, uint8_t *body,
                                      size_t *body_len)
{
	struct guard g;
	uint8_t *p = (uint8_t *)guard_copy(&g, in, len);
	const uint8_t *b = NULL;
	enum proto_status st = frame_open(d, p, len, used, h, &b, body_len);
	if (st == PROTO_DONE) {
		assert_true(b >= p && b + *body_len <= p + len);
		memcpy(body, b, *body_len);
	}
	guard_free(&g);
	return st;
}

static void test_frames_roundtrip(void **state)
{
	(void)state;
	struct pair p;
	pair_init(&p);
	static uint8_t wire[4 * LINK_WIRE_MAX], body[LINK_WIRE_MAX];
	size_t w = 0;

	/* A data frame: a header the caller puts the bytes behind. */
	assert_int_equal(frame_seal_data(&p.tx, 1, 5, wire + w), LINK_HDR_LEN);
	memcpy(wire + w + LINK_HDR_LEN, "hello", 5);
	w += LINK_HDR_LEN + 5;
	/* A full one. */
	assert_int_equal(frame_seal_data(&p.tx, 7, LINK_BODY_MAX, wire + w), LINK_HDR_LEN);
	memset(wire + w + LINK_HDR_LEN, 0x3c, LINK_BODY_MAX);
	w += LINK_WIRE_MAX;
	/* A control frame with three messages. */
	struct link_msg m[3] = {
	    {LINK_MSG_CREDIT, 1, 65536}, {LINK_MSG_FIN, 1, 0}, {LINK_MSG_PAD, 0, 0}};
	size_t n = control(&p, m, 3, wire + w, sizeof(wire) - w);
	assert_int_equal(n, LINK_HDR_LEN + 27 + 16);
	w += n;
	/* The most messages one frame holds, sealed in place. */
	uint8_t *at = wire + w + LINK_HDR_LEN;
	struct link_msg reset = {LINK_MSG_RESET, 3, 0};
	for (size_t i = 0; i < LINK_MSGS_MAX; i++)
		link_msg_encode(at + i * LINK_MSG_LEN, LINK_MSG_LEN, &reset);
	n = frame_seal_control(&p.tx, at, LINK_MSGS_MAX * LINK_MSG_LEN, wire + w, sizeof(wire) - w);
	assert_int_equal(n, LINK_HDR_LEN + LINK_MSGS_MAX * LINK_MSG_LEN + 16);
	assert_true(n <= LINK_WIRE_MAX);
	w += n;
	assert_int_equal(p.tx.seq, 4);

	size_t r = 0, used, blen;
	struct link_frame_hdr h;
	assert_int_equal(open_guarded(&p.rx, wire + r, w - r, &used, &h, body, &blen), PROTO_DONE);
	assert_int_equal(h.id, 1);
	assert_int_equal(blen, 5);
	assert_memory_equal(body, "hello", 5);
	r += used;
	assert_int_equal(open_guarded(&p.rx, wire + r, w - r, &used, &h, body, &blen), PROTO_DONE);
	assert_int_equal(h.id, 7);
	assert_int_equal(blen, LINK_BODY_MAX);
	assert_int_equal(body[LINK_BODY_MAX - 1], 0x3c);
	r += used;
	assert_int_equal(open_guarded(&p.rx, wire + r, w - r, &used, &h, body, &blen), PROTO_DONE);
	assert_int_equal(h.id, LINK_ID_CONTROL);
	assert_int_equal(blen, 27);
	struct link_msg got;
	size_t mu;
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(link_msg_parse(body + 9 * i, blen - 9 * i, &mu, &got), PROTO_DONE);
		assert_int_equal(got.kind, m[i].kind);
		assert_int_equal(got.id, m[i].id);
		assert_int_equal(got.value, m[i].value);
	}
	r += used;
	assert_int_equal(open_guarded(&p.rx, wire + r, w - r, &used, &h, body, &blen), PROTO_DONE);
	assert_int_equal(blen, LINK_MSGS_MAX * LINK_MSG_LEN);
	assert_int_equal(link_msg_parse(body + blen - 9, 9, &mu, &got), PROTO_DONE);
	assert_int_equal(got.kind, LINK_MSG_RESET);
	r += used;
	assert_int_equal(r, w);
	assert_int_equal(p.rx.seq, 4);

	/* Out of range: nothing is written and the count stays. */
	assert_int_equal(frame_seal_data(&p.tx, 0, 5, wire), 0);
	assert_int_equal(frame_seal_data(&p.tx, 1, 0, wire), 0);
	assert_int_equal(frame_seal_data(&p.tx, 1, LINK_BODY_MAX + 1, wire), 0);
	assert_int_equal(frame_seal_control(&p.tx, body, 0, wire, sizeof(wire)), 0);
	assert_int_equal(frame_seal_control(&p.tx, body, 10, wire, sizeof(wire)), 0);
	assert_int_equal(
	    frame_seal_control(&p.tx, body, 9 * (LINK_MSGS_MAX + 1), wire, sizeof(wire)), 0);
	assert_int_equal(frame_seal_control(&p.tx, body, 9, wire, LINK_HDR_LEN + 9 + 15), 0);
	assert_int_equal(p.tx.seq, 4);
}

/* Every prefix of a frame is NEED_MORE and leaves both the bytes and the count alone. */
static void test_frames_prefixes(void **state)
{
	(void)state;
	struct pair p;
	pair_init(&p);
	uint8_t wire[256], copy[256], body[256];
	struct link_msg m = {LINK_MSG_CREDIT, 2, 4096};
	size_t n = control(&p, &m, 1, wire, sizeof(wire));
	assert_int_not_equal(n, 0);
	assert_int_equal(frame_seal_data(&p.tx, 2, 30, wire + n), LINK_HDR_LEN);
	memset(wire + n + LINK_HDR_LEN, 0x77, 30);
	size_t total = n + LINK_HDR_LEN + 30;
	memcpy(copy, wire, total);

	size_t used, blen;
	struct link_frame_hdr h;
	for (size_t k = 0; k < n; k++) {
		assert_int_equal(open_guarded(&p.rx, wire, k, &used, &h, body, &blen),
		                 PROTO_NEED_MORE);
		assert_int_equal(p.rx.seq, 0);
	}
	assert_memory_equal(wire, copy, total);
	assert_int_equal(open_guarded(&p.rx, wire, total, &used, &h, body, &blen), PROTO_DONE);
	assert_int_equal(used, n);
	for (size_t k = 0; k < LINK_HDR_LEN + 30; k++)
		assert_int_equal(open_guarded(&p.rx, wire + n, k, &used, &h, body, &blen),
		                 PROTO_NEED_MORE);
	assert_int_equal(open_guarded(&p.rx, wire + n, LINK_HDR_LEN + 30, &used, &h, body, &blen),
	                 PROTO_DONE);
	assert_int_equal(h.id, 2);
	assert_int_equal(p.rx.seq, 2);
}

/* A flipped bit anywhere in a control frame, or in a data frame's header. */
static void test_frames_forged(void **state)
{
	(void)state;
	uint8_t wire[128], body[128];
	struct link_msg m = {LINK_MSG_FIN, 5, 0};
	size_t used, blen;
	struct link_frame_hdr h;

	struct pair p;
	pair_init(&p);
	size_t n = control(&p, &m, 1, wire, sizeof(wire));
	for (size_t bit = 0; bit < 8 * n; bit++) {
		struct record_dir rx = p.rx;
		uint8_t f[128];
		memcpy(f, wire, n);
		f[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		enum proto_status st = open_guarded(&rx, f, n, &used, &h, body, &blen);
		/*
		 * A header bit makes the length longer (more is awaited), out of
		 * range, or another circuit's: never a control frame that opens.
		 */
		if (st == PROTO_DONE)
			assert_int_not_equal(h.id, LINK_ID_CONTROL);
		else if (bit >= 8 * LINK_HDR_LEN)
			assert_int_equal(st, PROTO_ERR_MALFORMED);
		if (st != PROTO_DONE)
			assert_int_equal(rx.seq, 0);
	}

	/* A data frame's length bits: longer waits, shorter is another frame boundary. */
	pair_init(&p);
	assert_int_equal(frame_seal_data(&p.tx, 9, 20, wire), LINK_HDR_LEN);
	struct record_dir rx = p.rx;
	wire[5] ^= 0x01; /* 20 -> 21 */
	assert_int_equal(open_guarded(&rx, wire, LINK_HDR_LEN + 20, &used, &h, body, &blen),
	                 PROTO_NEED_MORE);
	wire[5] ^= 0x01 | 0x04; /* 20 -> 16 */
	assert_int_equal(open_guarded(&rx, wire, LINK_HDR_LEN + 20, &used, &h, body, &blen),
	                 PROTO_DONE);
	assert_int_equal(h.len, 16);
}

/* Frames opened out of order, under the wrong key, or in the other direction. */
static void test_frames_misplaced(void **state)
{
	(void)state;
	struct pair p;
	pair_init(&p);
	uint8_t a[64], b[64], body[64];
	struct link_msg m1 = {LINK_MSG_CREDIT, 1, 100}, m2 = {LINK_MSG_CREDIT, 1, 200};
	size_t na = control(&p, &m1, 1, a, sizeof(a));
	size_t nb = control(&p, &m2, 1, b, sizeof(b));
	size_t used, blen;
	struct link_frame_hdr h;

	/* Frame 1 where frame 0 is due: its header unmasks to garbage, or its tag fails. */
	struct record_dir rx = p.rx;
	enum proto_status st = open_guarded(&rx, b, nb, &used, &h, body, &blen);
	assert_true(st == PROTO_ERR_MALFORMED || (st == PROTO_NEED_MORE) ||
	            (st == PROTO_DONE && h.id != LINK_ID_CONTROL));
	/* Replayed: frame 0 twice. */
	rx = p.rx;
	assert_int_equal(open_guarded(&rx, a, na, &used, &h, body, &blen), PROTO_DONE);
	st = open_guarded(&rx, a, na, &used, &h, body, &blen);
	assert_true(st != PROTO_DONE || h.id != LINK_ID_CONTROL);
	/* Another key, same mask: the header reads, the tag fails. */
	rx = p.rx;
	rx.key[0] ^= 1;
	assert_int_equal(open_guarded(&rx, a, na, &used, &h, body, &blen), PROTO_ERR_MALFORMED);
	/* The other suite. */
	rx = p.rx;
	rx.suite = suite == RECORD_SUITE_AES ? RECORD_SUITE_CHACHA : RECORD_SUITE_AES;
	if (rx.suite == RECORD_SUITE_CHACHA || record_aes_available())
		assert_int_equal(open_guarded(&rx, a, na, &used, &h, body, &blen),
		                 PROTO_ERR_MALFORMED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hdr),    cmocka_unit_test(test_msgs), cmocka_unit_test(test_ids),
	    cmocka_unit_test(test_credit), BOTH(test_frames_roundtrip), BOTH(test_frames_prefixes),
	    BOTH(test_frames_forged),      BOTH(test_frames_misplaced),
	};
	return cmocka_run_group_tests(tests, suites_setup, NULL);
}
