#include "config.h"

#include <sodium.h>
#include <string.h>

#include "aead.h"
#include "record.h"

bool record_aes_available(void)
{
	return crypto_aead_aes256gcm_is_available() == 1;
}

static void length_mask(const struct record_dir *d, const uint8_t nonce[12], uint8_t m[2])
{
	aead_mask(d->mask, nonce, m, 2);
}

size_t record_seal(struct record_dir *d, enum record_type t, const uint8_t *p, size_t n,
                   uint8_t *out, size_t cap)
{
	uint8_t nonce[12], m[2];
	size_t body = n + 1;

	if (n > RECORD_DATA_MAX || cap < n + RECORD_OVERHEAD)
		return 0;
	aead_nonce(nonce, d->seq);
	length_mask(d, nonce, m);
	out[0] = (uint8_t)((body >> 8) ^ m[0]);
	out[1] = (uint8_t)(body ^ m[1]);
	out[2] = (uint8_t)t;
	if (n && p != out + 3)
		memcpy(out + 3, p, n);
	aead_seal((enum record_suite)d->suite, d->key, out + 2, out + 2 + body, out + 2, body, out,
	          RECORD_HDR_LEN, nonce);
	d->seq++;
	return n + RECORD_OVERHEAD;
}

/* The next record's body length (type byte and payload), unmasked; 0 if out of range. */
static size_t body_len(const struct record_dir *d, const uint8_t *in, const uint8_t nonce[12])
{
	uint8_t m[2];
	length_mask(d, nonce, m);
	size_t body = (size_t)((in[0] ^ m[0]) << 8 | (in[1] ^ m[1]));
	return body > RECORD_BODY_MAX ? 0 : body;
}

enum proto_status record_peek(const struct record_dir *d, const uint8_t *in, size_t len,
                              size_t *plen)
{
	uint8_t nonce[12];

	if (len < RECORD_HDR_LEN)
		return PROTO_NEED_MORE;
	aead_nonce(nonce, d->seq);
	size_t body = body_len(d, in, nonce);
	if (body == 0)
		return PROTO_ERR_MALFORMED;
	if (len < RECORD_HDR_LEN + body + RELAY_TAG_LEN)
		return PROTO_NEED_MORE;
	*plen = body - 1;
	return PROTO_DONE;
}

enum proto_status record_open(struct record_dir *d, uint8_t *in, size_t len, size_t *used,
                              uint8_t *type, const uint8_t **payload, size_t *plen)
{
	uint8_t nonce[12];
	size_t peeked;

	enum proto_status st = record_peek(d, in, len, &peeked);
	if (st != PROTO_DONE)
		return st;
	size_t body = peeked + 1; /* the type byte */
	size_t total = RECORD_HDR_LEN + body + RELAY_TAG_LEN;
	aead_nonce(nonce, d->seq);
	if (!aead_open((enum record_suite)d->suite, d->key, in + 2, in + 2, body, in + 2 + body, in,
	               RECORD_HDR_LEN, nonce))
		return PROTO_ERR_MALFORMED;
	d->seq++;
	*used = total;
	*type = in[2];
	*payload = in + 3;
	*plen = body - 1;
	return PROTO_DONE;
}

void record_dir_wipe(struct record_dir *d)
{
	sodium_memzero(d, sizeof(*d));
}
