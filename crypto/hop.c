/*
 * The hop handshake: Noise NK in shape, built from libsodium primitives.
 *
 *     <- s                    the client knows the relay's static key (pinned)
 *     ...
 *     -> e, es, {hdr}, {blob} e travels masked; hdr and blob sealed under keys from es
 *     <- {e}, ee              the relay's e sealed under a key from es;
 *                             records from then on under keys from es and ee
 *
 * Everything after the first flight has forward secrecy (it needs both
 * ephemeral secrets); the flight itself is as safe as the relay's static key.
 * The client's e crosses the wire XORed with XChaCha20(mask key, nonce),
 * where the mask key is a hash of the relay's public key: only someone
 * given that key can tell the flight from random bytes (an X25519 public key
 * on its own is not uniform: its top bit is always clear).
 */
#include "config.h"

#include <sodium.h>
#include <string.h>

#include "hop.h"

#define LABEL_MASK    "nacre/1 mask"
#define LABEL_FLIGHT  "nacre/1 flight"
#define LABEL_REPLY   "nacre/1 reply"
#define LABEL_SESSION "nacre/1 session"
#define KDF_CONTEXT   "nacre1rk" /* crypto_kdf: exactly 8 bytes */

enum { KDF_C2R_KEY = 1, KDF_C2R_MASK = 2, KDF_R2C_KEY = 3, KDF_R2C_MASK = 4 };

static const uint8_t nonce_hdr[12] = {0};
static const uint8_t nonce_blob[12] = {1};
static const uint8_t nonce_reply[12] = {0};

void hop_random(void *p, size_t n)
{
	randombytes_buf(p, n);
}

void relay_mask_key(uint8_t mask[32], const uint8_t pk[32])
{
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, 32);
	crypto_generichash_update(&st, (const uint8_t *)LABEL_MASK, sizeof(LABEL_MASK) - 1);
	crypto_generichash_update(&st, pk, 32);
	crypto_generichash_final(&st, mask, 32);
}

bool relay_key_from_secret(struct relay_key *k, const uint8_t sk[32])
{
	memcpy(k->sk, sk, 32);
	if (crypto_scalarmult_base(k->pk, k->sk) != 0) {
		sodium_memzero(k, sizeof(*k));
		return false;
	}
	relay_mask_key(k->mask, k->pk);
	return true;
}

void relay_key_wipe(struct relay_key *k)
{
	sodium_memzero(k, sizeof(*k));
}

/* key = BLAKE2b-256(key: es, label || E || S): the flight and reply keys. */
static void derive(uint8_t out[32], const char *label, const uint8_t es[32], const uint8_t e_pk[32],
                   const uint8_t s_pk[32])
{
	crypto_generichash_state st;
	crypto_generichash_init(&st, es, 32, 32);
	crypto_generichash_update(&st, (const uint8_t *)label, strlen(label));
	crypto_generichash_update(&st, e_pk, 32);
	crypto_generichash_update(&st, s_pk, 32);
	crypto_generichash_final(&st, out, 32);
	sodium_memzero(&st, sizeof(st));
}

/*
 * master = BLAKE2b-256(key: es || ee, "nacre/1 session" || E || R || S ||
 * suite), and the four record keys are crypto_kdf subkeys of it.
 */
static void derive_session(struct record_dir *c2r, struct record_dir *r2c, const uint8_t es[32],
                           const uint8_t ee[32], const uint8_t e_pk[32], const uint8_t r_pk[32],
                           const uint8_t s_pk[32], uint8_t suite)
{
	uint8_t ikm[64], master[crypto_kdf_KEYBYTES];
	crypto_generichash_state st;

	memcpy(ikm, es, 32);
	memcpy(ikm + 32, ee, 32);
	crypto_generichash_init(&st, ikm, sizeof(ikm), sizeof(master));
	crypto_generichash_update(&st, (const uint8_t *)LABEL_SESSION, sizeof(LABEL_SESSION) - 1);
	crypto_generichash_update(&st, e_pk, 32);
	crypto_generichash_update(&st, r_pk, 32);
	crypto_generichash_update(&st, s_pk, 32);
	crypto_generichash_update(&st, &suite, 1);
	crypto_generichash_final(&st, master, sizeof(master));
	crypto_kdf_derive_from_key(c2r->key, 32, KDF_C2R_KEY, KDF_CONTEXT, master);
	crypto_kdf_derive_from_key(c2r->mask, 32, KDF_C2R_MASK, KDF_CONTEXT, master);
	crypto_kdf_derive_from_key(r2c->key, 32, KDF_R2C_KEY, KDF_CONTEXT, master);
	crypto_kdf_derive_from_key(r2c->mask, 32, KDF_R2C_MASK, KDF_CONTEXT, master);
	c2r->seq = r2c->seq = 0;
	c2r->suite = r2c->suite = suite;
	sodium_memzero(ikm, sizeof(ikm));
	sodium_memzero(master, sizeof(master));
	sodium_memzero(&st, sizeof(st));
}

uint8_t hop_suites_offer(bool allow_aes)
{
	return allow_aes && record_aes_available() ? RELAY_OFFER_AES : 0;
}

enum record_suite hop_suite_pick(uint8_t offered, bool allow_aes)
{
	if ((offered & RELAY_OFFER_AES) && allow_aes && record_aes_available())
		return RECORD_SUITE_AES;
	return RECORD_SUITE_CHACHA;
}

bool hop_client_init(struct hop_client *h, const uint8_t relay_pk[32], const uint8_t e_seed[32])
{
	memset(h, 0, sizeof(*h));
	memcpy(h->relay_pk, relay_pk, 32);
	relay_mask_key(h->mask, relay_pk);
	memcpy(h->e_sk, e_seed, 32);
	if (crypto_scalarmult_base(h->e_pk, h->e_sk) != 0 ||
	    crypto_scalarmult(h->es, h->e_sk, relay_pk) != 0) {
		hop_client_wipe(h);
		return false;
	}
	derive(h->reply_key, LABEL_REPLY, h->es, h->e_pk, relay_pk);
	return true;
}

size_t hop_flight_seal(const struct hop_client *h, const uint8_t nonce[RELAY_NONCE_LEN],
                       const uint8_t hdr[RELAY_HDR_LEN], const uint8_t *blob, size_t blob_len,
                       uint8_t *out, size_t cap)
{
	uint8_t fk[32];
	size_t total = RELAY_LAYER_LEN + blob_len;
	if (cap < total)
		return 0;

	uint8_t *masked = out + RELAY_NONCE_LEN;
	uint8_t *hdr_ct = masked + RELAY_KEY_LEN;
	uint8_t *blob_ct = out + RELAY_HEAD_LEN;
	memcpy(out, nonce, RELAY_NONCE_LEN);
	crypto_stream_xchacha20_xor(masked, h->e_pk, 32, nonce, h->mask);

	derive(fk, LABEL_FLIGHT, h->es, h->e_pk, h->relay_pk);
	crypto_aead_chacha20poly1305_ietf_encrypt_detached(
	    hdr_ct, hdr_ct + RELAY_HDR_LEN, NULL, hdr, RELAY_HDR_LEN, out,
	    RELAY_NONCE_LEN + RELAY_KEY_LEN, NULL, nonce_hdr, fk);
	crypto_aead_chacha20poly1305_ietf_encrypt_detached(blob_ct, blob_ct + blob_len, NULL, blob,
	                                                   blob_len, NULL, 0, NULL, nonce_blob, fk);
	sodium_memzero(fk, sizeof(fk));
	return total;
}

bool hop_relay_open_head(const struct relay_key *k, const uint8_t in[RELAY_HEAD_LEN],
                         struct hop_relay *h, uint8_t hdr[RELAY_HDR_LEN])
{
	const uint8_t *nonce = in;
	const uint8_t *masked = in + RELAY_NONCE_LEN;
	const uint8_t *hdr_ct = masked + RELAY_KEY_LEN;

	memset(h, 0, sizeof(*h));
	memcpy(h->s_pk, k->pk, 32);
	crypto_stream_xchacha20_xor(h->e_pk, masked, 32, nonce, k->mask);
	if (crypto_scalarmult(h->es, k->sk, h->e_pk) != 0)
		goto fail;
	derive(h->flight_key, LABEL_FLIGHT, h->es, h->e_pk, k->pk);
	if (crypto_aead_chacha20poly1305_ietf_decrypt_detached(
	        hdr, NULL, hdr_ct, RELAY_HDR_LEN, hdr_ct + RELAY_HDR_LEN, in,
	        RELAY_NONCE_LEN + RELAY_KEY_LEN, nonce_hdr, h->flight_key) != 0)
		goto fail;
	derive(h->reply_key, LABEL_REPLY, h->es, h->e_pk, k->pk);
	return true;
fail:
	hop_relay_wipe(h);
	return false;
}

bool hop_relay_open_blob(const struct hop_relay *h, const uint8_t *in, size_t blob_len,
                         uint8_t *out)
{
	return crypto_aead_chacha20poly1305_ietf_decrypt_detached(
	           out, NULL, in, blob_len, in + blob_len, NULL, 0, nonce_blob, h->flight_key) == 0;
}

bool hop_reply_seal(struct hop_relay *h, const uint8_t r_seed[32], enum record_suite suite,
                    uint8_t out[RELAY_REPLY_LEN])
{
	uint8_t r_sk[32], pt[RELAY_KEY_LEN + 1], ee[32];
	bool ok = false;

	memcpy(r_sk, r_seed, 32);
	if (crypto_scalarmult_base(pt, r_sk) != 0 || crypto_scalarmult(ee, r_sk, h->e_pk) != 0)
		goto out;
	pt[RELAY_KEY_LEN] = (uint8_t)suite;
	crypto_aead_chacha20poly1305_ietf_encrypt_detached(
	    out, out + sizeof(pt), NULL, pt, sizeof(pt), NULL, 0, NULL, nonce_reply, h->reply_key);
	/* The relay sends with r2c and receives with c2r. */
	derive_session(&h->recv, &h->send, h->es, ee, h->e_pk, pt, h->s_pk, (uint8_t)suite);
	ok = true;
out:
	sodium_memzero(r_sk, sizeof(r_sk));
	sodium_memzero(ee, sizeof(ee));
	sodium_memzero(h->es, sizeof(h->es));
	sodium_memzero(h->flight_key, sizeof(h->flight_key));
	sodium_memzero(h->reply_key, sizeof(h->reply_key));
	return ok;
}

bool hop_reply_open(struct hop_client *h, const uint8_t in[RELAY_REPLY_LEN])
{
	uint8_t pt[RELAY_KEY_LEN + 1], ee[32];
	bool ok = false;

	if (crypto_aead_chacha20poly1305_ietf_decrypt_detached(
	        pt, NULL, in, sizeof(pt), in + sizeof(pt), NULL, 0, nonce_reply, h->reply_key) != 0)
		return false;
	uint8_t suite = pt[RELAY_KEY_LEN];
	if (suite != RECORD_SUITE_CHACHA &&
	    !(suite == RECORD_SUITE_AES && (h->offered & RELAY_OFFER_AES)))
		return false;
	if (crypto_scalarmult(ee, h->e_sk, pt) != 0)
		goto out;
	derive_session(&h->send, &h->recv, h->es, ee, h->e_pk, pt, h->relay_pk, suite);
	h->ready = true;
	ok = true;
out:
	sodium_memzero(ee, sizeof(ee));
	sodium_memzero(h->e_sk, sizeof(h->e_sk));
	sodium_memzero(h->es, sizeof(h->es));
	sodium_memzero(h->reply_key, sizeof(h->reply_key));
	return ok;
}

uint64_t hop_fingerprint(const uint8_t e_pk[32], const uint8_t key[16])
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v = 0;
	crypto_shorthash(h, e_pk, 32, key);
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)h[i] << (8 * i);
	return v;
}

void hop_client_wipe(struct hop_client *h)
{
	sodium_memzero(h, sizeof(*h));
}

void hop_relay_wipe(struct hop_relay *h)
{
	sodium_memzero(h, sizeof(*h));
}
