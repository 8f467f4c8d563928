/*
 * The few libsodium services the rest of the daemon needs: library start-up,
 * constant-time comparison of secrets, wiping, base64, and making a relay's
 * long-term key pair. Only crypto/ includes sodium.h.
 */
#ifndef NACRE_SECRET_H
#define NACRE_SECRET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Must be called once before any other crypto/ function; false on failure. */
bool secret_init(void);

/*
 * True when (a, alen) equals (b, blen). Time depends only on the lengths,
 * never on where the contents differ.
 */
bool secret_equal(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);

/* Overwrites len bytes at p with zeros in a way the compiler cannot elide. */
void secret_wipe(void *p, size_t len);
/* Whether all len bytes are zero, in time that does not depend on them. */
bool secret_is_zero(const void *p, size_t len);

/*
 * Decodes standard base64 (with padding) from (src, srclen) into dst; returns
 * the decoded length, or -1 for invalid input or a too small dst.
 */
long secret_base64_decode(uint8_t *dst, size_t cap, const char *src, size_t srclen);

/*
 * Encodes (src, len) as standard base64 with padding into dst, NUL-terminated;
 * returns the length without the NUL, or 0 if cap is too small.
 */
size_t secret_base64_encode(char *dst, size_t cap, const uint8_t *src, size_t len);

/*
 * A fresh X25519 key pair from the system's random source: sk is 32 random
 * bytes used as is (X25519 clamps when it multiplies), pk its public key,
 * as relay_key_from_secret() computes it. false (both wiped) on failure.
 */
bool secret_x25519_keypair(uint8_t pk[32], uint8_t sk[32]);

/*
 * A 64-bit tag of the credentials (a, b) under a key drawn once per process:
 * equal credentials, equal tags; nothing about them can be learnt from it.
 * Keeps apart the streams of applications that send different credentials.
 */
uint64_t secret_isolation_tag(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);

#endif
