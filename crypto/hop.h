/*
 * One hop's handshake (protocol/SPEC.md, "Handshake"): what a client puts in
 * a relay's layer of the first flight, how the relay checks it, and the
 * relay's one reply, after which both hold the hop's record keys.
 *
 * Randomness is passed in (ephemeral seeds, nonces) so that the code is
 * deterministic and the spec's test vectors can be checked; callers take it
 * from hop_random().
 */
#ifndef NACRE_HOP_H
#define NACRE_HOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "record.h"
#include "relay.h"

/* A relay's long-term X25519 key, and the mask key every client derives from it. */
struct relay_key {
	uint8_t sk[32];
	uint8_t pk[32];
	uint8_t mask[32];
};

/* The client's state for one hop of one circuit. */
struct hop_client {
	uint8_t relay_pk[32];
	uint8_t mask[32];
	uint8_t e_sk[32], e_pk[32];
	uint8_t es[32];
	uint8_t reply_key[32];
	uint8_t offered; /* RELAY_OFFER_* bits this hop's header carries */
	bool ready;      /* the reply was opened: send/recv hold the record keys */
	struct record_dir send, recv;
};

/* The relay's state for one incoming circuit. */
struct hop_relay {
	uint8_t e_pk[32]; /* the client's ephemeral key: what the replay set remembers */
	uint8_t s_pk[32]; /* the relay's own public key */
	uint8_t es[32];
	uint8_t flight_key[32];
	uint8_t reply_key[32];
	struct record_dir send, recv;
};

void hop_random(void *p, size_t n);

/* Makes a relay key from a 32-byte secret (from hop_random or a key file). */
bool relay_key_from_secret(struct relay_key *k, const uint8_t sk[32]);
/* The mask key for a relay's public key (SPEC.md: "mask key"). */
void relay_mask_key(uint8_t mask[32], const uint8_t pk[32]);
void relay_key_wipe(struct relay_key *k);

/*
 * Record suites (SPEC.md, "Record suites"): what a client offers, given
 * whether its configuration allows AES-256-GCM, and what a relay picks from
 * an offer. Both count only suites this CPU can run.
 */
uint8_t hop_suites_offer(bool allow_aes);
enum record_suite hop_suite_pick(uint8_t offered, bool allow_aes);

/* false if relay_pk is a low-order point (no shared secret). */
bool hop_client_init(struct hop_client *h, const uint8_t relay_pk[32], const uint8_t e_seed[32]);

/*
 * Writes this hop's layer: nonce, masked ephemeral key, sealed header, sealed
 * blob. Returns RELAY_LAYER_LEN + blob_len, or 0 if cap is too small.
 * out must not overlap hdr or blob.
 */
size_t hop_flight_seal(const struct hop_client *h, const uint8_t nonce[RELAY_NONCE_LEN],
                       const uint8_t hdr[RELAY_HDR_LEN], const uint8_t *blob, size_t blob_len,
                       uint8_t *out, size_t cap);

/*
 * Relay: checks the first RELAY_HEAD_LEN bytes of a flight and writes the
 * header plaintext to hdr. false for anything not made with this relay's key
 * (the caller treats every false the same way).
 */
bool hop_relay_open_head(const struct relay_key *k, const uint8_t in[RELAY_HEAD_LEN],
                         struct hop_relay *h, uint8_t hdr[RELAY_HDR_LEN]);
/* Relay: opens the blob (blob_len + RELAY_TAG_LEN bytes at in) into out. */
bool hop_relay_open_blob(const struct hop_relay *h, const uint8_t *in, size_t blob_len,
                         uint8_t *out);

/*
 * Relay: writes the RELAY_REPLY_LEN-byte reply made with a fresh ephemeral
 * seed, naming the record suite, and derives the record keys. Wipes the
 * handshake secrets.
 */
bool hop_reply_seal(struct hop_relay *h, const uint8_t r_seed[32], enum record_suite suite,
                    uint8_t out[RELAY_REPLY_LEN]);
/*
 * Client: opens the reply and derives the record keys; false if it is not
 * genuine or names a suite h->offered did not include.
 */
bool hop_reply_open(struct hop_client *h, const uint8_t in[RELAY_REPLY_LEN]);

/* A keyed 64-bit hash of an ephemeral key, for the replay set's buckets. */
uint64_t hop_fingerprint(const uint8_t e_pk[32], const uint8_t key[16]);

void hop_client_wipe(struct hop_client *h);
void hop_relay_wipe(struct hop_relay *h);

#endif
