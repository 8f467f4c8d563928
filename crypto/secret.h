/*
 * The few libsodium services the daemon needs before the relay layer exists:
 * library start-up, constant-time comparison of secrets, wiping, and base64
 * decoding. Only crypto/ includes sodium.h.
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

/*
 * Decodes standard base64 (with padding) from (src, srclen) into dst; returns
 * the decoded length, or -1 for invalid input or a too small dst.
 */
long secret_base64_decode(uint8_t *dst, size_t cap, const char *src, size_t srclen);

#endif
