/*
 * The test vectors in protocol/SPEC.md ("Test vectors"), recomputed with the
 * C code and compared. The expected values come from
 * tests/vectors/relay_vectors.py, an implementation written from SPEC.md
 * alone; when this test fails, one of the two does not follow the text.
 * Regenerate the table below with `relay_vectors.py --c`.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "buffer.h"
#include "circuit.h"
#include "frame.h"
#include "hop.h"
#include "link.h"
#include "record.h"
#include "relay.h"
#include "sealed.h"
#include "secret.h"

#define NOW   1700000000
#define EARLY "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"
#define HELLO "hello"

static const struct {
	const char *name, *hex;
} vectors[] = {
    {"relay1_sk", "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"},
    {"relay1_pk", "358072d6365880d1aeea329adf9121383851ed21a28e3b75e965d0d2cd166254"},
    {"relay1_mask", "c2585da5ed4ff0b7ab644548c2e82c73e2b536f1e81a4a86c3ed7d6374896453"},
    {"relay2_sk", "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"},
    {"relay2_pk", "79a631eede1bf9c98f12032cdeadd0e7a079398fc786b88cc846ec89af85a51a"},
    {"relay2_mask", "24d3a159b296920fe818e379d317dbb2bd4a2064eb5c149b3bd36b140bca8757"},
    {"relay3_sk", "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"},
    {"relay3_pk", "675dd574ed7789310b3d2e7681f3790b466c773b1521fecf36577958371ea52f"},
    {"relay3_mask", "e39b0ada74ad48743e6be13af4ad0e0cff68eece0767640ad225255cff3d56af"},
    {"e1_seed", "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"},
    {"nonce1", "000102030405060708090a0b0c0d0e0f1011121314151617"},
    {"r1_seed", "dfdedddcdbdad9d8d7d6d5d4d3d2d1d0cfcecdcccbcac9c8c7c6c5c4c3c2c1c0"},
    {"e2_seed", "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"},
    {"nonce2", "18191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f"},
    {"r2_seed", "bfbebdbcbbbab9b8b7b6b5b4b3b2b1b0afaeadacabaaa9a8a7a6a5a4a3a2a1a0"},
    {"e3_seed", "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"},
    {"nonce3", "303132333435363738393a3b3c3d3e3f4041424344454647"},
    {"r3_seed", "9f9e9d9c9b9a999897969594939291908f8e8d8c8b8a89888786858483828180"},
    {"hop1_e_pk", "493e82fc74464a59268817623d2053c5eb8e2cc4a988b4fee179ec6b010d531d"},
    {"hop1_fk", "30d7a244da30d14b615de209b940e137aea9bf4f80606fe14591961e5bb7d067"},
    {"hop1_rk", "6093385d99854f69b49c4b4823ebaaeedd4641d41209768baea9e40e8ed78465"},
    {"flight1_head", "000102030405060708090a0b0c0d0e0f1011121314151617c9a8c459fc47c93a"
                     "d764825055803d31e48c30b50514162116228ec5396851014a924a9445cb43bf"},
    {"flight1_hash", "7907b5a933a231f9bbc4fe8a4718773f08eb0fdb2abb3495c84fbf7ae49c08e7"},
    {"flight3_head", "000102030405060708090a0b0c0d0e0f1011121314151617c9a8c459fc47c93a"
                     "d764825055803d31e48c30b50514162116228ec5396851014a914a9445cb43bf"},
    {"flight3_hash", "d25fbb878e87724e959ab78b8475cdf35c9f5baad557456cc6ff44b9d0358d7d"},
    {"flight3v6_head", "000102030405060708090a0b0c0d0e0f1011121314151617c9a8c459fc47c93a"
                       "d764825055803d31e48c30b50514162116228ec5396851014a914a9445cb43bf"},
    {"flight3v6_hash", "0b9a42b03c28b7e4a24eb97409526a1a7d826ed92f74b520871eb190a801b7a0"},
    {"reply1", "32df8056b196a8ef36fb990e983c47569c37dfab8c1aa733f65073f73cfde85a"
               "558d03e23c1f4bfa3036b478369b344a85"},
    {"reply2", "7d0f248a663212dc02b6ce918b81356c34a10ff62172d67b26dad70a503391f3"
               "a56e431b89268188758d4006363f0b2dc0"},
    {"reply3", "df6b72439218ca63c2027887fdf1283b8e2ee1f8d84558f645ff1bc49484ae84"
               "0a5a77cf993d686e43e036ad8eede3402b"},
    {"reply1_gcm", "32df8056b196a8ef36fb990e983c47569c37dfab8c1aa733f65073f73cfde85a"
                   "544600f2c14a1f015a83a25336decb6cb8"},
    {"hop1_c2r_key", "d859a4a027e7a1c49d1bdc28202231e2473b7f941b22f30b16dcc308c0659201"},
    {"hop1_c2r_mask", "80480ff2ac5e08cbcab998150db83d92f7e073bf55aba655cb8c344749a24adc"},
    {"hop1_r2c_key", "1ebd9afe7d8551fba9f85c20d37aebe9e2dda2f9cb62b9e5fdbd56e934f18b39"},
    {"hop1_r2c_mask", "3dbf0f02de276234892b5720abc235217a2c26a29c31b821e47a8e1f64d9448d"},
    {"hello_c2r", "4683aed2f25174118d6656f12fd34a0dfddcb44448887026"},
    {"hello_r2c", "050ab40c46c75174648f4bbd88fd39e1294979f552704098"},
    {"hello_gcm_c2r", "fc65dbcadfee6c7d4b2984e60ff962381bc7cdd9722b7d11"},
    {"hello_gcm_r2c", "23459cf0f367fd9407e3a4219531d13d6fb7c91066e8bf1e"},
    {"hello3_c2r", "46a9ae6851632ed32edd85d6b6d63e5828fa34795607333058890b33adad24fc"
                   "58b432f972599524d1d8f509c8fa72e7bfcc4997de5c16efe0f07a1409da"},
    {"link_flight_head", "000102030405060708090a0b0c0d0e0f1011121314151617c9a8c459fc47c93a"
                         "d764825055803d31e48c30b50514162116228ec5396851014a934a9445cb43bf"},
    {"link_flight_hash", "af600fa49d575f3133babaeb4771fdafb2cc6f1bc867a30b96cc8a6d95dc1e2a"},
    {"link_c2r_0", "4685b1f3809068656c6c6f"},
    {"link_c2r_1", "fbaba2cd49b3d855f594dc04c44bce90e7b22dbafe33005e5808fc98910797e2"
                   "db48d59a44325064"},
    {"link_r2c_0", "050cf3947ef6b76423ab3c1bcfbc7fb3c7a1d11418e1cb16d9dd9e5c0e26e4"},
};

/* The named vector, decoded into out; returns its length. */
static size_t vec(const char *name, uint8_t *out, size_t cap)
{
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		if (strcmp(vectors[i].name, name) != 0)
			continue;
		size_t n = strlen(vectors[i].hex) / 2;
		assert_true(n <= cap);
		for (size_t j = 0; j < n; j++) {
			unsigned v;
			char two[3] = {vectors[i].hex[2 * j], vectors[i].hex[2 * j + 1], 0};
			v = (unsigned)strtoul(two, NULL, 16);
			out[j] = (uint8_t)v;
		}
		return n;
	}
	fail_msg("no vector %s", name);
	return 0;
}

/* Compares (p, n) with the named vector, printing both on a mismatch. */
static void check(const char *name, const uint8_t *p, size_t n)
{
	uint8_t want[512];
	size_t len = vec(name, want, sizeof(want));
	if (len == n && memcmp(p, want, n) == 0)
		return;
	char got[2 * 512 + 1];
	for (size_t i = 0; i < n && i < 512; i++)
		snprintf(got + 2 * i, 3, "%02x", p[i]);
	fail_msg("%s: got %s", name, got);
}

static void vec_n(const char *name, uint8_t *out, size_t n)
{
	assert_int_equal(vec(name, out, n), n);
}

/* ------------------------------------------------------------ the chains */

struct chain {
	unsigned n;
	struct relay_key keys[3];
	struct sealed *c;
	struct buf flight;
};

/* Relays 1..n with the vectors' keys; next hops 192.0.2.k:900k or [2001:db8::k]:900k. */
static void chain_build(struct chain *ch, unsigned n, bool v6)
{
	uint8_t pks[3][32], seeds[3 * 32], nonces[3 * RELAY_NONCE_LEN], sk[32];
	struct proto_addr next[3];
	char name[32];
	memset(ch, 0, sizeof(*ch));
	ch->n = n;
	for (unsigned k = 0; k < n; k++) {
		snprintf(name, sizeof(name), "relay%u_sk", k + 1);
		vec_n(name, sk, 32);
		assert_true(relay_key_from_secret(&ch->keys[k], sk));
		memcpy(pks[k], ch->keys[k].pk, 32);
		snprintf(name, sizeof(name), "e%u_seed", k + 1);
		vec_n(name, seeds + 32 * k, 32);
		snprintf(name, sizeof(name), "nonce%u", k + 1);
		vec_n(name, nonces + RELAY_NONCE_LEN * k, RELAY_NONCE_LEN);
		/* Hop k's header names hop k+1. */
		unsigned nk = k + 2;
		memset(&next[k], 0, sizeof(next[k]));
		next[k].port = (uint16_t)(9000 + nk);
		if (v6) {
			static const uint8_t db8[16] = {0x20, 0x01, 0x0d, 0xb8};
			next[k].type = PROTO_ADDR_IPV6;
			memcpy(next[k].ip, db8, 16);
			next[k].ip[15] = (uint8_t)nk;
		} else {
			next[k].type = PROTO_ADDR_IPV4;
			next[k].ip[0] = 192;
			next[k].ip[2] = 2;
			next[k].ip[3] = (uint8_t)nk;
		}
	}
	struct proto_addr dst;
	memset(&dst, 0, sizeof(dst));
	if (v6) {
		/* The variant asks for 198.51.100.7:80 with no early data. */
		dst.type = PROTO_ADDR_IPV4;
		dst.ip[0] = 198;
		dst.ip[1] = 51;
		dst.ip[2] = 100;
		dst.ip[3] = 7;
		dst.port = 80;
	} else {
		dst.type = PROTO_ADDR_DOMAIN;
		dst.name = (const uint8_t *)"example.com";
		dst.name_len = 11;
		dst.port = 443;
	}
	ch->c = sealed_new_client(n);
	assert_non_null(ch->c);
	/* The 1-hop chain offers AES-256-GCM; the 3-hop chains offer nothing. */
	ch->c->offer = n == 1 ? RELAY_OFFER_AES : 0;
	assert_true(circuit_build_with(
	    ch->c, (const uint8_t(*)[32])pks, next, n, &dst, v6 ? NULL : (const uint8_t *)EARLY,
	    v6 ? 0 : sizeof(EARLY) - 1, NOW, seeds, nonces, &ch->flight));
}

static void chain_free(struct chain *ch)
{
	sealed_free(ch->c);
	buf_free(&ch->flight);
	for (unsigned k = 0; k < ch->n; k++)
		relay_key_wipe(&ch->keys[k]);
}

static void check_flight(struct chain *ch, const char *head, const char *hash)
{
	uint8_t h[32];
	check(head, buf_head(&ch->flight), 64);
	crypto_generichash(h, sizeof(h), buf_head(&ch->flight), buf_len(&ch->flight), NULL, 0);
	check(hash, h, sizeof(h));
}

/*
 * Each relay in turn opens its layer (the previous relay's blob) and
 * replies; the client opens every reply. Leaves the relays' states in r.
 */
static void chain_open(struct chain *ch, struct hop_relay *r)
{
	size_t len = buf_len(&ch->flight);
	uint8_t *layer = malloc(len), *blob = malloc(len);
	assert_non_null(layer);
	assert_non_null(blob);
	memcpy(layer, buf_head(&ch->flight), len);
	for (unsigned k = 0; k < ch->n; k++) {
		uint8_t hdr_raw[RELAY_HDR_LEN], r_seed[32], reply[RELAY_REPLY_LEN];
		struct relay_hdr hdr;
		char name[32];
		assert_true(hop_relay_open_head(&ch->keys[k], layer, &r[k], hdr_raw));
		assert_int_equal(relay_hdr_parse(hdr_raw, sizeof(hdr_raw), &hdr), PROTO_DONE);
		assert_true(hdr.timestamp == NOW);
		assert_true(hop_relay_open_blob(&r[k], layer + RELAY_HEAD_LEN, hdr.blob_len, blob));
		if (k == 0) {
			check("hop1_e_pk", r[k].e_pk, 32);
			check("hop1_fk", r[k].flight_key, 32);
			check("hop1_rk", r[k].reply_key, 32);
			check("hop1_rk", ch->c->hops[0].reply_key, 32);
		}
		snprintf(name, sizeof(name), "r%u_seed", k + 1);
		vec_n(name, r_seed, 32);
		/* The vectors' relays pick AES-256-GCM whenever it is offered. */
		enum record_suite suite =
		    hdr.suites & RELAY_OFFER_AES ? RECORD_SUITE_AES : RECORD_SUITE_CHACHA;
		assert_true(hop_reply_seal(&r[k], r_seed, suite, reply));
		if (ch->n == 3) {
			snprintf(name, sizeof(name), "reply%u", k + 1);
			check(name, reply, sizeof(reply));
		} else {
			check("reply1_gcm", reply, sizeof(reply));
		}
		assert_true(hop_reply_open(&ch->c->hops[k], reply));
		memcpy(layer, blob, hdr.blob_len);
	}
	assert_true(sealed_ready(ch->c));
	free(layer);
	free(blob);
}

/* ------------------------------------------------------------ tests */

/* The 3-hop chain with the name, opened: the fixture of the tests that use it. */
struct opened3 {
	struct chain ch;
	struct hop_relay r[3];
};

static int open3(void **state)
{
	struct opened3 *o = calloc(1, sizeof(*o));
	if (!o)
		return -1;
	chain_build(&o->ch, 3, false);
	chain_open(&o->ch, o->r);
	*state = o;
	return 0;
}

static int close3(void **state)
{
	struct opened3 *o = *state;
	chain_free(&o->ch);
	free(o);
	return 0;
}

/* n bytes that differ from one 512-byte stretch to the next. */
static uint8_t *pattern(size_t n)
{
	uint8_t *p = malloc(n);
	assert_non_null(p);
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 7 + (i >> 9));
	return p;
}

static void test_relay_keys(void **state)
{
	(void)state;
	for (unsigned k = 1; k <= 3; k++) {
		uint8_t sk[32];
		char name[32];
		struct relay_key key;
		snprintf(name, sizeof(name), "relay%u_sk", k);
		vec_n(name, sk, 32);
		assert_true(relay_key_from_secret(&key, sk));
		snprintf(name, sizeof(name), "relay%u_pk", k);
		check(name, key.pk, 32);
		snprintf(name, sizeof(name), "relay%u_mask", k);
		check(name, key.mask, 32);
	}
}

static void test_flight_1(void **state)
{
	(void)state;
	struct chain ch;
	struct hop_relay r[1];
	chain_build(&ch, 1, false);
	assert_int_equal(buf_len(&ch.flight), 8 * 376 + sizeof(EARLY) - 1);
	check_flight(&ch, "flight1_head", "flight1_hash");
	chain_open(&ch, r);
	chain_free(&ch);
}

static void test_flight_3(void **state)
{
	(void)state;
	struct chain ch;
	struct hop_relay r[3];
	chain_build(&ch, 3, false);
	assert_int_equal(buf_len(&ch.flight), 8 * 376 + sizeof(EARLY) - 1);
	check_flight(&ch, "flight3_head", "flight3_hash");
	chain_open(&ch, r);
	chain_free(&ch);
}

static void test_flight_3v6(void **state)
{
	(void)state;
	struct chain ch;
	struct hop_relay r[3];
	chain_build(&ch, 3, true);
	assert_int_equal(buf_len(&ch.flight), 8 * 376);
	check_flight(&ch, "flight3v6_head", "flight3v6_hash");
	chain_open(&ch, r);
	chain_free(&ch);
}

static void test_record_keys(void **state)
{
	struct opened3 *o = *state;
	struct chain *ch = &o->ch;
	struct hop_relay *r = o->r;
	struct hop_client *c = &ch->c->hops[0];
	check("hop1_c2r_key", c->send.key, 32);
	check("hop1_c2r_mask", c->send.mask, 32);
	check("hop1_r2c_key", c->recv.key, 32);
	check("hop1_r2c_mask", c->recv.mask, 32);
	check("hop1_c2r_key", r[0].recv.key, 32);
	check("hop1_r2c_mask", r[0].send.mask, 32);
}

/* Hop 1's first DATA record "hello" each way against the named vectors, and its opening. */
static void check_hello(struct chain *ch, struct hop_relay *r0, const char *c2r, const char *r2c)
{
	uint8_t rec[64], type;
	const uint8_t *payload;
	size_t used, plen, n;

	n = record_seal(&ch->c->hops[0].send, RECORD_DATA, (const uint8_t *)HELLO, 5, rec,
	                sizeof(rec));
	check(c2r, rec, n);
	assert_int_equal(record_open(&r0->recv, rec, n, &used, &type, &payload, &plen), PROTO_DONE);
	assert_int_equal(plen, 5);
	assert_memory_equal(payload, HELLO, 5);

	n = record_seal(&r0->send, RECORD_DATA, (const uint8_t *)HELLO, 5, rec, sizeof(rec));
	check(r2c, rec, n);
	assert_int_equal(record_open(&ch->c->hops[0].recv, rec, n, &used, &type, &payload, &plen),
	                 PROTO_DONE);
	assert_memory_equal(payload, HELLO, 5);
}

static void test_hello(void **state)
{
	struct opened3 *o = *state;
	struct chain *ch = &o->ch;
	struct hop_relay *r = o->r;
	check_hello(ch, &r[0], "hello_c2r", "hello_r2c");
}

/* The 1-hop chain's, under AES-256-GCM. */
static void test_hello_gcm(void **state)
{
	(void)state;
	struct chain ch;
	struct hop_relay r[1];
	if (!record_aes_available())
		skip(); /* libsodium has no AES-256-GCM without AES-NI */
	chain_build(&ch, 1, false);
	chain_open(&ch, r);
	assert_int_equal(ch.c->hops[0].send.suite, RECORD_SUITE_AES);
	check_hello(&ch, &r[0], "hello_gcm_c2r", "hello_gcm_r2c");
	chain_free(&ch);
}

/*
 * Opens the DATA record at the start of wire (len bytes) at each of the
 * three relays in turn, every inner layer exactly the payload of the one
 * outside it. Returns the outermost record's length; *payload and *plen are
 * the exit's plaintext.
 */
static size_t peel3(struct hop_relay *r, uint8_t *wire, size_t len, const uint8_t **payload,
                    size_t *plen)
{
	uint8_t *p = wire, type;
	size_t n = len, used, outer = 0;
	for (unsigned k = 0; k < 3; k++) {
		assert_int_equal(record_open(&r[k].recv, p, n, &used, &type, payload, plen),
		                 PROTO_DONE);
		assert_int_equal(type, RECORD_DATA);
		if (k == 0)
			outer = used;
		else
			assert_int_equal(used, n);
		p = (uint8_t *)*payload;
		n = *plen;
	}
	return outer;
}

/* "hello" through 3 hops: sealed for the exit, then for hop 2, then hop 1. */
static void test_hello_nested(void **state)
{
	struct opened3 *o = *state;
	struct chain *ch = &o->ch;
	struct hop_relay *r = o->r;
	struct buf app = {0};
	assert_true(buf_append(&app, HELLO, 5));
	assert_true(sealed_pump_out(ch->c, &app));
	assert_int_equal(buf_len(&app), 0);
	check("hello3_c2r", buf_head(&ch->c->rout), buf_len(&ch->c->rout));

	/* Each relay peels its layer. */
	const uint8_t *payload;
	size_t plen, n = buf_len(&ch->c->rout);
	assert_int_equal(peel3(r, buf_head_mut(&ch->c->rout), n, &payload, &plen), n);
	assert_int_equal(plen, 5);
	assert_memory_equal(payload, HELLO, 5);
	buf_free(&app);
}

/*
 * Through 3 hops, a sealed_unit() of plaintext fills one outermost record:
 * each layer's record is the whole payload of the one outside it, so every
 * link carries full records. Two full pieces and a short one, then END.
 */
static void test_full_nested(void **state)
{
	struct opened3 *o = *state;
	struct chain *ch = &o->ch;
	struct hop_relay *r = o->r;
	struct buf app = {0};
	size_t unit = sealed_unit(ch->c), total = 2 * unit + 5;
	assert_int_equal(unit + 3 * RECORD_OVERHEAD, RECORD_WIRE_MAX);
	uint8_t *plain = pattern(total), *got = malloc(total);
	assert_non_null(got);
	assert_true(buf_append(&app, plain, total));
	ch->c->want_end = true;
	assert_true(sealed_pump_out(ch->c, &app));
	assert_int_equal(buf_len(&app), 0);
	/*
	 * Three nested data records, then the ENDs by the general path: the
	 * exit's END and the middle's, sealed as data of hop 1's layer, and
	 * hop 1's END: five records' overhead in all.
	 */
	size_t ends = 5 * RECORD_OVERHEAD;
	assert_int_equal(buf_len(&ch->c->rout), total + 3 * 3 * RECORD_OVERHEAD + ends);

	uint8_t *wire = buf_head_mut(&ch->c->rout), type;
	size_t left = buf_len(&ch->c->rout), got_len = 0;
	const uint8_t *payload;
	size_t used, plen;
	for (unsigned rec = 0; rec < 3; rec++) {
		used = peel3(r, wire, left, &payload, &plen);
		assert_int_equal(used, rec < 2 ? RECORD_WIRE_MAX : 5 + 3 * RECORD_OVERHEAD);
		wire += used;
		left -= used;
		memcpy(got + got_len, payload, plen);
		got_len += plen;
	}
	assert_int_equal(got_len, total);
	assert_memory_equal(got, plain, total);
	/* Then hop 1 carries one record with the inner ENDs, and its own END. */
	for (unsigned k = 0; k < 2; k++) {
		assert_int_equal(record_open(&r[0].recv, wire, left, &used, &type, &payload, &plen),
		                 PROTO_DONE);
		wire += used;
		left -= used;
		assert_int_equal(type, k == 0 ? RECORD_DATA : RECORD_END);
		assert_int_equal(plen, k == 0 ? 3 * RECORD_OVERHEAD : 0);
	}
	assert_int_equal(left, 0);
	buf_free(&app);
	free(plain);
	free(got);
}

/*
 * Plaintext read straight into records (sealed_frame): what a read puts into
 * the frames comes out as the same nested full records, and nothing is
 * sealed straight while a layer holds bytes of its own or has ended.
 */
/* Seals count messages of the given kinds for circuit 1 as one control frame. */
static size_t link_control(struct record_dir *d, const struct link_msg *m, size_t count,
                           uint8_t *out, size_t cap)
{
	uint8_t msgs[4 * LINK_MSG_LEN];
	for (size_t i = 0; i < count; i++)
		assert_int_equal(link_msg_encode(msgs + LINK_MSG_LEN * i, LINK_MSG_LEN, &m[i]),
		                 LINK_MSG_LEN);
	return frame_seal_control(d, msgs, count * LINK_MSG_LEN, out, cap);
}

/* A link to relay 1 (SPEC.md, "Links"): its flight, reply, keys and first frames. */
static void test_link(void **state)
{
	(void)state;
	struct relay_key key;
	struct hop_client hc;
	struct hop_relay hr;
	uint8_t sk[32], seed[32], nonce[RELAY_NONCE_LEN], r_seed[32], h[32];
	vec_n("relay1_sk", sk, 32);
	vec_n("e1_seed", seed, 32);
	vec_n("nonce1", nonce, sizeof(nonce));
	vec_n("r1_seed", r_seed, 32);
	assert_true(relay_key_from_secret(&key, sk));
	assert_true(hop_client_init(&hc, key.pk, seed));
	hc.offered = 0;

	/* The flight: LINK's header and a blob of zeros, as long as any flight without data. */
	static uint8_t blob[RELAY_LINK_BLOB_LEN], opened[RELAY_LINK_BLOB_LEN], flight[8 * 376];
	uint8_t hdr[RELAY_HDR_LEN];
	struct relay_hdr lh = link_flight_hdr(NOW, 0);
	assert_int_equal(relay_hdr_encode(hdr, sizeof(hdr), &lh), RELAY_HDR_LEN);
	assert_int_equal(
	    hop_flight_seal(&hc, nonce, hdr, blob, sizeof(blob), flight, sizeof(flight)),
	    sizeof(flight));
	check("link_flight_head", flight, 64);
	crypto_generichash(h, sizeof(h), flight, sizeof(flight), NULL, 0);
	check("link_flight_hash", h, sizeof(h));

	/* The relay opens it as any flight, and replies as to any. */
	struct relay_hdr got;
	uint8_t raw[RELAY_HDR_LEN], reply[RELAY_REPLY_LEN];
	assert_true(hop_relay_open_head(&key, flight, &hr, raw));
	assert_int_equal(relay_hdr_parse(raw, sizeof(raw), &got), PROTO_DONE);
	assert_int_equal(got.cmd, RELAY_CMD_LINK);
	assert_int_equal(got.blob_len, sizeof(blob));
	assert_true(hop_relay_open_blob(&hr, flight + RELAY_HEAD_LEN, got.blob_len, opened));
	assert_memory_equal(opened, blob, sizeof(blob));
	assert_true(hop_reply_seal(&hr, r_seed, RECORD_SUITE_CHACHA, reply));
	check("reply1", reply, sizeof(reply));
	assert_true(hop_reply_open(&hc, reply));
	check("hop1_c2r_key", hc.send.key, 32);
	check("hop1_c2r_mask", hc.send.mask, 32);
	check("hop1_r2c_key", hc.recv.key, 32);
	check("hop1_r2c_mask", hc.recv.mask, 32);

	/* Its first frames each way, and the other end opening them. */
	uint8_t f[64];
	const uint8_t *body;
	size_t used, blen;
	struct link_frame_hdr fh;
	assert_int_equal(frame_seal_data(&hc.send, 1, 5, f), LINK_HDR_LEN);
	memcpy(f + LINK_HDR_LEN, HELLO, 5);
	check("link_c2r_0", f, LINK_HDR_LEN + 5);
	assert_int_equal(frame_open(&hr.recv, f, LINK_HDR_LEN + 5, &used, &fh, &body, &blen),
	                 PROTO_DONE);
	assert_int_equal(fh.id, 1);
	assert_memory_equal(body, HELLO, 5);

	const struct link_msg c2r[] = {{LINK_MSG_CREDIT, 1, 65536}, {LINK_MSG_FIN, 1, 0}};
	size_t n = link_control(&hc.send, c2r, 2, f, sizeof(f));
	check("link_c2r_1", f, n);
	assert_int_equal(frame_open(&hr.recv, f, n, &used, &fh, &body, &blen), PROTO_DONE);
	assert_int_equal(fh.id, LINK_ID_CONTROL);
	assert_int_equal(blen, 2 * LINK_MSG_LEN);

	const struct link_msg r2c = {LINK_MSG_RESET, 1, 0};
	n = link_control(&hr.send, &r2c, 1, f, sizeof(f));
	check("link_r2c_0", f, n);
	assert_int_equal(frame_open(&hc.recv, f, n, &used, &fh, &body, &blen), PROTO_DONE);
	struct link_msg m;
	assert_int_equal(link_msg_parse(body, blen, &used, &m), PROTO_DONE);
	assert_int_equal(m.kind, LINK_MSG_RESET);
	assert_int_equal(m.id, 1);
	hop_client_wipe(&hc);
	hop_relay_wipe(&hr);
}

static void test_straight(void **state)
{
	struct opened3 *o = *state;
	struct chain *ch = &o->ch;
	struct hop_relay *r = o->r;
	int sv[2];
	size_t total = 2 * sealed_unit(ch->c) + 5;
	uint8_t *plain = pattern(total);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(write(sv[0], plain, total), (ssize_t)total);
	assert_true(sealed_straight(ch->c));
	struct buf_frame f = sealed_frame(ch->c);
	assert_int_equal(f.head + f.unit + f.tail, RECORD_WIRE_MAX);
	assert_int_equal(buf_read_fd_framed(&ch->c->rout, sv[1], &f), total);
	assert_int_equal(buf_len(&ch->c->rout), total + 3 * 3 * RECORD_OVERHEAD);
	uint8_t *wire = buf_head_mut(&ch->c->rout);
	size_t left = buf_len(&ch->c->rout), at = 0, used, plen;
	const uint8_t *payload;
	for (unsigned rec = 0; rec < 3; rec++) {
		used = peel3(r, wire, left, &payload, &plen);
		assert_int_equal(used, rec < 2 ? RECORD_WIRE_MAX : 5 + 3 * RECORD_OVERHEAD);
		assert_memory_equal(payload, plain + at, plen);
		at += plen;
		wire += used;
		left -= used;
	}
	assert_int_equal(at, total);
	buf_consume(&ch->c->rout, buf_len(&ch->c->rout));

	/* A record of the exit's layer still to wrap: not until it is out. */
	struct buf app = {0};
	assert_true(buf_append(&app, HELLO, 5));
	assert_true(buf_append(&ch->c->fwd[2], HELLO, 5));
	assert_false(sealed_straight(ch->c));
	buf_free(&ch->c->fwd[2]);
	assert_true(sealed_straight(ch->c));
	/* Nor once the stream going out has ended. */
	ch->c->want_end = true;
	assert_true(sealed_pump_out(ch->c, &app));
	assert_false(sealed_straight(ch->c));
	buf_free(&app);
	free(plain);
	close(sv[0]);
	close(sv[1]);
}

static int setup(void **state)
{
	(void)state;
	return secret_init() ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_relay_keys),
	    cmocka_unit_test(test_flight_1),
	    cmocka_unit_test(test_flight_3),
	    cmocka_unit_test(test_flight_3v6),
	    cmocka_unit_test_setup_teardown(test_record_keys, open3, close3),
	    cmocka_unit_test_setup_teardown(test_hello, open3, close3),
	    cmocka_unit_test_setup_teardown(test_hello_nested, open3, close3),
	    cmocka_unit_test(test_hello_gcm),
	    cmocka_unit_test_setup_teardown(test_full_nested, open3, close3),
	    cmocka_unit_test_setup_teardown(test_straight, open3, close3),
	    cmocka_unit_test(test_link),
	};
	return cmocka_run_group_tests_name("relay_vectors", tests, setup, NULL);
}
