/*
 * One hop's handshake (crypto/hop.c, SPEC.md "Handshake"): a client's layer
 * of the first flight, the relay opening it and replying, and records both
 * ways under the keys both ends derive. Then everything that must fail: a
 * flight for another relay, any flipped bit in the head or the blob, a forged
 * reply, low-order keys; and the secrets that must be gone afterwards.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hop.h"
#include "record.h"
#include "relay.h"
#include "secret.h"

#define BLOB_LEN 400 /* enough for a flight's smallest EXTEND blob (376) */

static void seq_fill(uint8_t *p, size_t n, uint8_t start)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(start + i);
}

static bool all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;
	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

/* One client, one relay and the flight between them. */
struct fixture {
	struct relay_key key;
	struct hop_client c;
	struct hop_relay r;
	uint8_t hdr[RELAY_HDR_LEN];
	uint8_t blob[BLOB_LEN];
	uint8_t flight[RELAY_LAYER_LEN + BLOB_LEN];
	size_t flight_len;
};

static void make_hdr(uint8_t hdr[RELAY_HDR_LEN])
{
	struct relay_hdr h = {.cmd = RELAY_CMD_EXTEND,
	                      .timestamp = 1700000000,
	                      .blob_len = BLOB_LEN,
	                      .data_len = BLOB_LEN,
	                      .dst = {.type = PROTO_ADDR_IPV4, .ip = {192, 0, 2, 2}, .port = 9002}};
	assert_int_equal(relay_hdr_encode(hdr, RELAY_HDR_LEN, &h), RELAY_HDR_LEN);
}

static struct fixture *fixture_new(uint8_t relay_seed, uint8_t client_seed)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	uint8_t sk[32], e[32], nonce[RELAY_NONCE_LEN];
	seq_fill(sk, 32, relay_seed);
	seq_fill(e, 32, client_seed);
	seq_fill(nonce, sizeof(nonce), (uint8_t)(client_seed ^ 0x55));
	assert_true(relay_key_from_secret(&f->key, sk));
	assert_true(hop_client_init(&f->c, f->key.pk, e));
	make_hdr(f->hdr);
	seq_fill(f->blob, BLOB_LEN, 0x33);
	f->flight_len =
	    hop_flight_seal(&f->c, nonce, f->hdr, f->blob, BLOB_LEN, f->flight, sizeof(f->flight));
	assert_int_equal(f->flight_len, RELAY_LAYER_LEN + BLOB_LEN);
	return f;
}

/* The relay's side of a genuine flight: head, header, blob. */
static void relay_opens(struct fixture *f)
{
	uint8_t hdr[RELAY_HDR_LEN], blob[BLOB_LEN];
	assert_true(hop_relay_open_head(&f->key, f->flight, &f->r, hdr));
	assert_memory_equal(hdr, f->hdr, RELAY_HDR_LEN);
	struct relay_hdr h;
	assert_int_equal(relay_hdr_parse(hdr, sizeof(hdr), &h), PROTO_DONE);
	assert_int_equal(h.blob_len, BLOB_LEN);
	assert_true(hop_relay_open_blob(&f->r, f->flight + RELAY_HEAD_LEN, h.blob_len, blob));
	assert_memory_equal(blob, f->blob, BLOB_LEN);
	assert_memory_equal(f->r.e_pk, f->c.e_pk, 32);
}

/* Seals on one side, opens on the other. */
static void assert_record(struct record_dir *tx, struct record_dir *rx, const char *msg)
{
	size_t n = strlen(msg), used, plen;
	uint8_t buf[64 + RECORD_OVERHEAD], type;
	const uint8_t *payload;
	assert_true(n <= 64);
	size_t len = record_seal(tx, RECORD_DATA, (const uint8_t *)msg, n, buf, sizeof(buf));
	assert_int_equal(len, n + RECORD_OVERHEAD);
	assert_int_equal(record_open(rx, buf, len, &used, &type, &payload, &plen), PROTO_DONE);
	assert_int_equal(type, RECORD_DATA);
	assert_int_equal(plen, n);
	assert_memory_equal(payload, msg, n);
}

static void test_handshake(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(0x20, 0x80);
	relay_opens(f);

	uint8_t r_seed[32], reply[RELAY_REPLY_LEN];
	seq_fill(r_seed, 32, 0xc0);
	assert_true(hop_reply_seal(&f->r, r_seed, RECORD_SUITE_CHACHA, reply));
	assert_false(f->c.ready);
	assert_true(hop_reply_open(&f->c, reply));
	assert_true(f->c.ready);

	/* Both ends hold the same four keys, and the two directions differ. */
	assert_memory_equal(f->c.send.key, f->r.recv.key, 32);
	assert_memory_equal(f->c.send.mask, f->r.recv.mask, 32);
	assert_memory_equal(f->c.recv.key, f->r.send.key, 32);
	assert_memory_equal(f->c.recv.mask, f->r.send.mask, 32);
	assert_memory_not_equal(f->c.send.key, f->c.recv.key, 32);
	assert_memory_not_equal(f->c.send.key, f->c.send.mask, 32);

	for (int i = 0; i < 3; i++) {
		assert_record(&f->c.send, &f->r.recv, "to the relay");
		assert_record(&f->r.send, &f->c.recv, "to the client");
	}
	assert_record(&f->c.send, &f->r.recv, "");
	hop_client_wipe(&f->c);
	hop_relay_wipe(&f->r);
	assert_true(all_zero((const uint8_t *)&f->c, sizeof(f->c)));
	free(f);
}

/* The randomness is an input: the same inputs make the same flight. */
static void test_deterministic(void **state)
{
	(void)state;
	struct fixture *a = fixture_new(0x20, 0x80);
	struct fixture *b = fixture_new(0x20, 0x80);
	struct fixture *c = fixture_new(0x20, 0x81);
	assert_memory_equal(a->flight, b->flight, a->flight_len);
	assert_memory_not_equal(a->flight + RELAY_NONCE_LEN, c->flight + RELAY_NONCE_LEN, 32);
	free(a);
	free(b);
	free(c);
}

static void test_keys(void **state)
{
	(void)state;
	uint8_t sk[32], pk[32], mask[32];
	seq_fill(sk, 32, 1);
	struct relay_key k;
	assert_true(relay_key_from_secret(&k, sk));
	assert_memory_equal(k.sk, sk, 32);
	relay_mask_key(mask, k.pk);
	assert_memory_equal(mask, k.mask, 32);
	/* secret.c makes key pairs the same way. */
	assert_true(secret_x25519_keypair(pk, sk));
	assert_true(relay_key_from_secret(&k, sk));
	assert_memory_equal(k.pk, pk, 32);
	relay_key_wipe(&k);
	assert_true(all_zero((const uint8_t *)&k, sizeof(k)));
}

static void test_cap(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(0x20, 0x80);
	uint8_t nonce[RELAY_NONCE_LEN] = {0};
	uint8_t out[RELAY_LAYER_LEN + BLOB_LEN];
	assert_int_equal(
	    hop_flight_seal(&f->c, nonce, f->hdr, f->blob, BLOB_LEN, out, sizeof(out) - 1), 0);
	assert_int_equal(hop_flight_seal(&f->c, nonce, f->hdr, NULL, 0, out, RELAY_LAYER_LEN),
	                 RELAY_LAYER_LEN);
	free(f);
}

/* A flight made for one relay's key means nothing to another relay. */
static void test_wrong_relay(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(0x20, 0x80);
	struct fixture *other = fixture_new(0x40, 0x80);
	uint8_t hdr[RELAY_HDR_LEN];
	assert_false(hop_relay_open_head(&other->key, f->flight, &other->r, hdr));
	assert_true(all_zero((const uint8_t *)&other->r, sizeof(other->r)));
	assert_false(hop_relay_open_head(&f->key, other->flight, &f->r, hdr));
	/* A relay that knows only the public key cannot open it either. */
	struct relay_key fake = f->key;
	memset(fake.sk, 0x42, 32);
	assert_false(hop_relay_open_head(&fake, f->flight, &f->r, hdr));
	free(f);
	free(other);
}

/* Any single flipped bit anywhere in the flight is refused. */
static void test_flipped_bits(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(0x20, 0x80);
	uint8_t hdr[RELAY_HDR_LEN], blob[BLOB_LEN];
	for (size_t i = 0; i < f->flight_len; i++) {
		for (unsigned bit = 0; bit < 8; bit++) {
			/* Every bit of the head, one bit per byte (rotating) of the blob. */
			if (i >= RELAY_HEAD_LEN && bit != i % 8)
				continue;
			f->flight[i] ^= (uint8_t)(1u << bit);
			bool head = hop_relay_open_head(&f->key, f->flight, &f->r, hdr);
			bool ok = head && hop_relay_open_blob(&f->r, f->flight + RELAY_HEAD_LEN,
			                                      BLOB_LEN, blob);
			if (ok)
				fail_msg("byte %zu bit %u flipped: accepted", i, bit);
			/* The head fails on its own bytes; the blob's on the blob's. */
			if (head != (i >= RELAY_HEAD_LEN))
				fail_msg("byte %zu bit %u: head %d", i, bit, head);
			f->flight[i] ^= (uint8_t)(1u << bit);
		}
	}
	relay_opens(f); /* and the flight is intact again */
	free(f);
}

static void test_forged_reply(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(0x20, 0x80);
	relay_opens(f);
	uint8_t r_seed[32], reply[RELAY_REPLY_LEN], bad[RELAY_REPLY_LEN];
	seq_fill(r_seed, 32, 0xc0);
	assert_true(hop_reply_seal(&f->r, r_seed, RECORD_SUITE_CHACHA, reply));

	/* Random bytes, all zeros, each bit flipped. */
	seq_fill(bad, sizeof(bad), 7);
	assert_false(hop_reply_open(&f->c, bad));
	memset(bad, 0, sizeof(bad));
	assert_false(hop_reply_open(&f->c, bad));
	for (size_t i = 0; i < RELAY_REPLY_LEN; i++) {
		for (unsigned bit = 0; bit < 8; bit++) {
			memcpy(bad, reply, sizeof(bad));
			bad[i] ^= (uint8_t)(1u << bit);
			assert_false(hop_reply_open(&f->c, bad));
		}
	}
	/* A genuine reply from the same relay to another client's flight. */
	struct fixture *g = fixture_new(0x20, 0x90);
	relay_opens(g);
	assert_true(hop_reply_seal(&g->r, r_seed, RECORD_SUITE_CHACHA, bad));
	assert_false(hop_reply_open(&f->c, bad));
	assert_false(f->c.ready);

	/* None of that spoiled the client's state: the real reply still opens. */
	assert_true(hop_reply_open(&f->c, reply));
	assert_record(&f->c.send, &f->r.recv, "still here");
	free(f);
	free(g);
}

/* Public keys of small order (the usual list), which give no shared secret. */
static const uint8_t low_order[][32] = {
    {0},
    {1},
    {0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3,
     0xfa, 0xf1, 0x9f, 0xc4, 0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32,
     0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00},
    {0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1,
     0x55, 0x9c, 0x83, 0xef, 0x5b, 0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c,
     0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f, 0x11, 0x57},
    /* p - 1, p, p + 1 */
    {0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
    {0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
    {0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
};
#define N_LOW_ORDER (sizeof(low_order) / sizeof(low_order[0]))

static void test_low_order_relay_key(void **state)
{
	(void)state;
	uint8_t e[32];
	seq_fill(e, 32, 0x80);
	for (size_t i = 0; i < N_LOW_ORDER; i++) {
		struct hop_client c;
		memset(&c, 0xaa, sizeof(c));
		if (hop_client_init(&c, low_order[i], e))
			fail_msg("low-order key %zu accepted", i);
		assert_true(all_zero((const uint8_t *)&c, sizeof(c)));
	}
}

/* A flight whose ephemeral key unmasks to a low-order point fails at the relay. */
static void test_low_order_ephemeral(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(0x20, 0x80);
	uint8_t hdr[RELAY_HDR_LEN];
	/* masked = E ^ key stream, so the key stream for this nonce is masked ^ E. */
	uint8_t stream[32];
	for (int i = 0; i < 32; i++)
		stream[i] = f->flight[RELAY_NONCE_LEN + i] ^ f->c.e_pk[i];
	for (size_t i = 0; i < N_LOW_ORDER; i++) {
		for (int j = 0; j < 32; j++)
			f->flight[RELAY_NONCE_LEN + j] = stream[j] ^ low_order[i][j];
		assert_false(hop_relay_open_head(&f->key, f->flight, &f->r, hdr));
	}
	free(f);
}

/* Once the keys exist, the handshake secrets are gone on both sides. */
static void test_secrets_wiped(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(0x20, 0x80);
	assert_false(all_zero(f->c.e_sk, 32));
	assert_false(all_zero(f->c.es, 32));
	relay_opens(f);
	assert_false(all_zero(f->r.es, 32));
	assert_false(all_zero(f->r.flight_key, 32));

	uint8_t r_seed[32], reply[RELAY_REPLY_LEN];
	seq_fill(r_seed, 32, 0xc0);
	assert_true(hop_reply_seal(&f->r, r_seed, RECORD_SUITE_CHACHA, reply));
	assert_true(all_zero(f->r.es, 32));
	assert_true(all_zero(f->r.flight_key, 32));
	assert_true(all_zero(f->r.reply_key, 32));

	assert_true(hop_reply_open(&f->c, reply));
	assert_true(all_zero(f->c.e_sk, 32));
	assert_true(all_zero(f->c.es, 32));
	assert_true(all_zero(f->c.reply_key, 32));
	/* The keys themselves are there. */
	assert_false(all_zero(f->c.send.key, 32));
	assert_false(all_zero(f->c.recv.mask, 32));
	free(f);
}

/* Two streams to the same relay share no key. */
static void test_streams_independent(void **state)
{
	(void)state;
	struct fixture *a = fixture_new(0x20, 0x80);
	struct fixture *b = fixture_new(0x20, 0x81);
	uint8_t r_seed[32], reply[RELAY_REPLY_LEN];
	seq_fill(r_seed, 32, 0xc0);
	relay_opens(a);
	relay_opens(b);
	assert_true(hop_reply_seal(&a->r, r_seed, RECORD_SUITE_CHACHA, reply));
	assert_true(hop_reply_open(&a->c, reply));
	assert_true(hop_reply_seal(&b->r, r_seed, RECORD_SUITE_CHACHA,
	                           reply)); /* even with the relay's same r */
	assert_true(hop_reply_open(&b->c, reply));
	assert_memory_not_equal(a->c.send.key, b->c.send.key, 32);
	assert_memory_not_equal(a->c.recv.key, b->c.recv.key, 32);
	free(a);
	free(b);
}

/* Opens f's flight again and replies naming suite, as a relay would. */
static bool reply_with(struct fixture *f, enum record_suite suite)
{
	uint8_t r_seed[32], reply[RELAY_REPLY_LEN];
	seq_fill(r_seed, 32, 0xc0);
	relay_opens(f);
	assert_true(hop_reply_seal(&f->r, r_seed, suite, reply));
	return hop_reply_open(&f->c, reply);
}

/* SPEC.md "Record suites": offer, pick, agreement, and replies to refuse. */
static void test_suites(void **state)
{
	(void)state;
	bool aes = record_aes_available();
	assert_int_equal(hop_suites_offer(false), 0);
	assert_int_equal(hop_suites_offer(true), aes ? RELAY_OFFER_AES : 0);
	assert_int_equal(hop_suite_pick(0, true), RECORD_SUITE_CHACHA);
	assert_int_equal(hop_suite_pick(RELAY_OFFER_AES, false), RECORD_SUITE_CHACHA);
	assert_int_equal(hop_suite_pick(RELAY_OFFER_AES, true),
	                 aes ? RECORD_SUITE_AES : RECORD_SUITE_CHACHA);

	/* Whatever the CPU: a suite not offered, or unknown, fails the hop. */
	struct fixture *f = fixture_new(0x20, 0x81);
	assert_false(reply_with(f, RECORD_SUITE_AES));
	f->c.offered = RELAY_OFFER_AES;
	assert_false(reply_with(f, (enum record_suite)2));
	assert_false(reply_with(f, (enum record_suite)0xff));
	assert_false(f->c.ready);
	free(f);
	if (!aes)
		skip(); /* libsodium has no AES-256-GCM without AES-NI */

	/* The same seeds with each suite: records flow, and the keys differ. */
	struct fixture *a = fixture_new(0x20, 0x80), *b = fixture_new(0x20, 0x80);
	a->c.offered = b->c.offered = RELAY_OFFER_AES;
	assert_true(reply_with(a, RECORD_SUITE_AES));
	assert_true(reply_with(b, RECORD_SUITE_CHACHA));
	assert_int_equal(a->c.send.suite, RECORD_SUITE_AES);
	assert_int_equal(a->c.recv.suite, RECORD_SUITE_AES);
	assert_int_equal(a->r.send.suite, RECORD_SUITE_AES);
	assert_int_equal(a->r.recv.suite, RECORD_SUITE_AES);
	assert_int_equal(b->c.send.suite, RECORD_SUITE_CHACHA);
	assert_memory_not_equal(a->c.send.key, b->c.send.key, 32);
	assert_memory_not_equal(a->c.recv.mask, b->c.recv.mask, 32);
	for (int i = 0; i < 3; i++) {
		assert_record(&a->c.send, &a->r.recv, "to the relay");
		assert_record(&a->r.send, &a->c.recv, "to the client");
	}

	/* A record sealed under the other suite with the same key does not open. */
	struct record_dir other = a->c.send;
	other.suite = RECORD_SUITE_CHACHA;
	uint8_t buf[64], type;
	const uint8_t *payload;
	size_t used, plen,
	    len = record_seal(&other, RECORD_DATA, (const uint8_t *)"x", 1, buf, sizeof(buf));
	assert_int_equal(record_open(&a->r.recv, buf, len, &used, &type, &payload, &plen),
	                 PROTO_ERR_MALFORMED);
	free(a);
	free(b);
}

static void test_fingerprint(void **state)
{
	(void)state;
	uint8_t e[32], k1[16], k2[16];
	seq_fill(e, 32, 1);
	seq_fill(k1, 16, 2);
	seq_fill(k2, 16, 3);
	uint64_t a = hop_fingerprint(e, k1);
	assert_true(a == hop_fingerprint(e, k1));
	assert_true(a != hop_fingerprint(e, k2));
	e[31] ^= 1;
	assert_true(a != hop_fingerprint(e, k1));
}

static int setup(void **state)
{
	(void)state;
	return secret_init() ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_handshake),
	    cmocka_unit_test(test_deterministic),
	    cmocka_unit_test(test_keys),
	    cmocka_unit_test(test_cap),
	    cmocka_unit_test(test_wrong_relay),
	    cmocka_unit_test(test_flipped_bits),
	    cmocka_unit_test(test_forged_reply),
	    cmocka_unit_test(test_low_order_relay_key),
	    cmocka_unit_test(test_low_order_ephemeral),
	    cmocka_unit_test(test_secrets_wiped),
	    cmocka_unit_test(test_suites),
	    cmocka_unit_test(test_streams_independent),
	    cmocka_unit_test(test_fingerprint),
	};
	return cmocka_run_group_tests_name("relay_hop", tests, setup, NULL);
}
