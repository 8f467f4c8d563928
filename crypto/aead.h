/*
 * The record suites' AEADs (protocol/SPEC.md, "Record suites") with the
 * spec's N(i) nonces, for record.c and link.c; nothing outside crypto/
 * includes it.
 */
#ifndef NACRE_AEAD_H
#define NACRE_AEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "relay.h"

/* N(i): i as 64 bits little-endian, then four zero bytes. */
void aead_nonce(uint8_t nonce[12], uint64_t i);

/* Seals n bytes of m into c (which may be m) and the 16-byte tag. */
void aead_seal(enum record_suite suite, const uint8_t key[32], uint8_t *c, uint8_t *tag,
               const uint8_t *m, size_t n, const uint8_t *ad, size_t ad_len,
               const uint8_t nonce[12]);
/* Opens n bytes of c into m (which may be c); false if the tag is wrong. */
bool aead_open(enum record_suite suite, const uint8_t key[32], uint8_t *m, const uint8_t *c,
               size_t n, const uint8_t *tag, const uint8_t *ad, size_t ad_len,
               const uint8_t nonce[12]);

/* The first n (<= 64) bytes of STREAM(key, nonce). */
void aead_mask(const uint8_t key[32], const uint8_t nonce[12], uint8_t *out, size_t n);

#endif
