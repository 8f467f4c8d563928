/*
 * The record layer (protocol/SPEC.md, "Records"): after the first flight,
 * each hop's stream in each direction is a sequence of records
 *
 *     len[2] ^ mask     body = AEAD(type || payload)     tag[16]
 *
 * under that direction's own keys, numbered from 0; the AEAD is the hop's
 * suite (ChaCha20-Poly1305 or AES-256-GCM), and the masked length is its
 * additional data, so a flipped length bit fails authentication.
 * Sans-I/O: bytes in, bytes out, no allocation.
 */
#ifndef NACRE_RECORD_H
#define NACRE_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"
#include "relay.h"

struct record_dir {
	uint8_t key[32];  /* AEAD key */
	uint8_t mask[32]; /* ChaCha20 key for the length mask */
	uint64_t seq;     /* next record's number: the nonce */
	uint8_t suite;    /* enum record_suite */
};

/* This CPU can seal and open AES-256-GCM records (libsodium needs AES-NI). */
bool record_aes_available(void);

/*
 * Seals one record of type t carrying n <= RECORD_DATA_MAX bytes into out;
 * returns n + RECORD_OVERHEAD, or 0 if cap is too small or n too big.
 * p either is where the payload goes, out + RECORD_HDR_LEN + 1 (the record
 * is sealed in place, no copy), or does not overlap out at all.
 */
size_t record_seal(struct record_dir *d, enum record_type t, const uint8_t *p, size_t n,
                   uint8_t *out, size_t cap);

/*
 * Opens the record at the start of in (len bytes), decrypting in place.
 * PROTO_DONE: *used bytes were the record, *type and (*payload, *plen) a view
 * into in. PROTO_NEED_MORE: in is left untouched. PROTO_ERR_MALFORMED: a
 * length out of range or an authentication failure; the stream is dead.
 */
enum proto_status record_open(struct record_dir *d, uint8_t *in, size_t len, size_t *used,
                              uint8_t *type, const uint8_t **payload, size_t *plen);

/*
 * The payload length of the record at the start of in, without opening it
 * (nothing is decrypted, the counter stays): PROTO_DONE once all of the
 * record is in len, PROTO_NEED_MORE before, PROTO_ERR_MALFORMED for a length
 * out of range. Only record_open() tells whether the record is genuine.
 */
enum proto_status record_peek(const struct record_dir *d, const uint8_t *in, size_t len,
                              size_t *plen);

void record_dir_wipe(struct record_dir *d);

#endif
