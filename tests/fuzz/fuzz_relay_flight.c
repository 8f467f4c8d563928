/*
 * libFuzzer target for a relay receiving a first flight (crypto/hop.c,
 * protocol/relay.c), with one fixed relay key. The input is the bytes on the
 * link: the relay opens the head, and when that passes, parses the header
 * and opens the blob, then replies. Nothing may crash, and:
 *  - a head that does not open leaves no secret behind (the state is wiped);
 *  - an opened header that parses has its blob opened only from bytes that
 *    are there, and a CONNECT's early data lies inside the blob;
 *  - the relay's reply to a genuine flight from the fixed client is accepted
 *    by that client, and both ends then hold the same record keys.
 *
 * A mutated flight almost never gets past the AEAD, so the seed corpus holds
 * genuine flights for this key. Remake them from a build directory such as
 * _build/dev (after `make libnacrecrypto.a libnacreproto.a`) with
 *   cc -DFUZZ_WRITE_SEEDS -I. -I../../protocol -I../../crypto \
 *      ../../tests/fuzz/fuzz_relay_flight.c libnacrecrypto.a libnacreproto.a -lsodium \
 *      -o seeds && ./seeds ../../tests/fuzz/corpus/fuzz_relay_flight
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hop.h"
#include "relay.h"
#include "secret.h"

#define EARLY "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"

static void check(int ok)
{
	if (!ok)
		abort();
}

static bool all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint8_t acc = 0;
	for (size_t i = 0; i < n; i++)
		acc |= b[i];
	return acc == 0;
}

static void seq(uint8_t *p, size_t n, uint8_t start)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(start + i);
}

/* The relay's key, and the client that made the seed flights. */
static struct relay_key key;
static struct hop_client client;

static void init(void)
{
	static bool done;
	uint8_t sk[32], e[32];
	if (done)
		return;
	check(secret_init());
	seq(sk, 32, 0x20);
	seq(e, 32, 0x80);
	check(relay_key_from_secret(&key, sk));
	check(hop_client_init(&client, key.pk, e));
	done = true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hop_relay h;
	uint8_t hdr_raw[RELAY_HDR_LEN];

	init();
	if (size < RELAY_HEAD_LEN)
		return 0;
	if (!hop_relay_open_head(&key, data, &h, hdr_raw)) {
		check(all_zero(&h, sizeof(h)));
		return 0;
	}
	struct relay_hdr hdr;
	if (relay_hdr_parse(hdr_raw, sizeof(hdr_raw), &hdr) != PROTO_DONE)
		return 0;
	check(hdr.blob_len <= RELAY_BLOB_MAX);
	size_t need = RELAY_HEAD_LEN + (size_t)hdr.blob_len + RELAY_TAG_LEN;
	if (size < need)
		return 0;
	uint8_t *blob = malloc(hdr.blob_len ? hdr.blob_len : 1);
	check(blob != NULL);
	if (hop_relay_open_blob(&h, data + RELAY_HEAD_LEN, hdr.blob_len, blob)) {
		if (hdr.cmd == RELAY_CMD_CONNECT)
			check(hdr.data_len <= hdr.blob_len);
		uint8_t r_seed[32], reply[RELAY_REPLY_LEN];
		seq(r_seed, 32, 0xc0);
		enum record_suite suite = hop_suite_pick(hdr.suites, true);
		check(hdr.suites & RELAY_OFFER_AES || suite == RECORD_SUITE_CHACHA);
		check(hop_reply_seal(&h, r_seed, suite, reply));
		check(h.send.suite == suite && h.recv.suite == suite);
		check(all_zero(h.es, 32) && all_zero(h.flight_key, 32));
		/* The fixed client's own flight: its reply must open there. */
		if (memcmp(h.e_pk, client.e_pk, 32) == 0) {
			struct hop_client c = client;
			c.offered = hdr.suites;
			check(hop_reply_open(&c, reply));
			check(c.send.suite == suite);
			check(memcmp(c.send.key, h.recv.key, 32) == 0);
			check(memcmp(c.recv.mask, h.send.mask, 32) == 0);
			hop_client_wipe(&c);
		}
	}
	free(blob);
	hop_relay_wipe(&h);
	return 0;
}

#ifdef FUZZ_WRITE_SEEDS
#include "seeds.h"

/* One layer for the fixed relay: header fields as given, blob of blob_len. */
static size_t layer(uint8_t *out, size_t cap, const uint8_t hdr[RELAY_HDR_LEN], const uint8_t *blob,
                    size_t blob_len)
{
	uint8_t nonce[RELAY_NONCE_LEN];
	seq(nonce, sizeof(nonce), 0);
	return hop_flight_seal(&client, nonce, hdr, blob, blob_len, out, cap);
}

int main(int argc, char **argv)
{
	static uint8_t out[RELAY_LAYER_LEN + RELAY_BLOB_MAX + RELAY_SKIP_MAX];
	static uint8_t blob[RELAY_BLOB_MAX];
	uint8_t hdr[RELAY_HDR_LEN];
	size_t n;
	check(argc == 2);
	init();

	/* An exit's layer, as hop 1 of 1: CONNECT example.com:443 with a request. */
	size_t early = sizeof(EARLY) - 1, blen = relay_blob_len(1, 1, early);
	struct relay_hdr h = {.cmd = RELAY_CMD_CONNECT,
	                      .timestamp = 1700000000,
	                      .blob_len = (uint32_t)blen,
	                      .data_len = (uint32_t)early,
	                      .dst = {.type = PROTO_ADDR_DOMAIN,
	                              .name = (const uint8_t *)"example.com",
	                              .name_len = 11,
	                              .port = 443}};
	check(relay_hdr_encode(hdr, sizeof(hdr), &h) == RELAY_HDR_LEN);
	memset(blob, 0, sizeof(blob));
	memcpy(blob, EARLY, early);
	n = layer(out, sizeof(out), hdr, blob, blen);
	seed_write(argv[1], "connect_1hop", out, n);
	seed_write(argv[1], "connect_head_only", out, RELAY_HEAD_LEN);
	seed_write(argv[1], "connect_truncated", out, n - 1);
	out[RELAY_HEAD_LEN + 10] ^= 1;
	seed_write(argv[1], "connect_bad_blob", out, n);

	/* A middle's layer, hop 2 of 3 (it skips L), its blob random-looking. */
	blen = relay_blob_len(2, 3, early);
	h.cmd = RELAY_CMD_EXTEND;
	h.blob_len = h.data_len = (uint32_t)blen;
	h.skip = (uint16_t)relay_skip_len(2);
	h.dst = (struct proto_addr){
	    .type = PROTO_ADDR_IPV6, .ip = {0x20, 0x01, 0x0d, 0xb8}, .port = 9003};
	check(relay_hdr_encode(hdr, sizeof(hdr), &h) == RELAY_HDR_LEN);
	for (size_t i = 0; i < blen; i++)
		blob[i] = (uint8_t)(i * 7 + 3);
	n = layer(out, sizeof(out), hdr, blob, blen);
	memset(out + n, 0x5a, h.skip); /* the previous relay's padding */
	seed_write(argv[1], "extend_hop2", out, n + h.skip);

	/* Sealed correctly, but a header the parser refuses: version 2, and a name with EXTEND. */
	hdr[0] = 2;
	n = layer(out, sizeof(out), hdr, blob, 0);
	seed_write(argv[1], "sealed_bad_version", out, n);
	h.dst = (struct proto_addr){
	    .type = PROTO_ADDR_DOMAIN, .name = (const uint8_t *)"x", .name_len = 1, .port = 1};
	h.cmd = RELAY_CMD_CONNECT;
	check(relay_hdr_encode(hdr, sizeof(hdr), &h) == RELAY_HDR_LEN);
	hdr[1] = RELAY_CMD_EXTEND;
	n = layer(out, sizeof(out), hdr, blob, 0);
	seed_write(argv[1], "sealed_name_extend", out, n);

	/* Noise of a flight's length. */
	for (size_t i = 0; i < 600; i++)
		out[i] = (uint8_t)(i * 131 + 17);
	seed_write(argv[1], "noise", out, 600);
	return 0;
}
#endif
