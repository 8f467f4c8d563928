#include "config.h"

#include <string.h>

#include "aead.h"
#include "frame.h"

static void header_mask(const struct record_dir *d, uint8_t nonce[12], uint8_t m[LINK_HDR_LEN])
{
	aead_nonce(nonce, d->seq);
	aead_mask(d->mask, nonce, m, LINK_HDR_LEN);
}

size_t frame_seal_data(struct record_dir *d, uint32_t id, size_t len, uint8_t out[LINK_HDR_LEN])
{
	uint8_t nonce[12], m[LINK_HDR_LEN];
	struct link_frame_hdr h = {.id = id, .len = len};

	if (id == LINK_ID_CONTROL)
		return 0;
	header_mask(d, nonce, m);
	if (link_hdr_encode(out, m, &h) == 0)
		return 0;
	d->seq++;
	return LINK_HDR_LEN;
}

size_t frame_seal_control(struct record_dir *d, const uint8_t *msgs, size_t n, uint8_t *out,
                          size_t cap)
{
	uint8_t nonce[12], m[LINK_HDR_LEN];
	struct link_frame_hdr h = {.id = LINK_ID_CONTROL, .len = n + RELAY_TAG_LEN};

	if (n > LINK_MSGS_MAX * LINK_MSG_LEN || cap < LINK_HDR_LEN + h.len)
		return 0;
	header_mask(d, nonce, m);
	if (link_hdr_encode(out, m, &h) == 0)
		return 0;
	if (msgs != out + LINK_HDR_LEN)
		memcpy(out + LINK_HDR_LEN, msgs, n);
	/* The masked header is the additional data: a flipped bit fails the tag. */
	aead_seal((enum record_suite)d->suite, d->key, out + LINK_HDR_LEN, out + LINK_HDR_LEN + n,
	          out + LINK_HDR_LEN, n, out, LINK_HDR_LEN, nonce);
	d->seq++;
	return LINK_HDR_LEN + h.len;
}

enum proto_status frame_open(struct record_dir *d, uint8_t *in, size_t len, size_t *used,
                             struct link_frame_hdr *h, const uint8_t **body, size_t *body_len)
{
	uint8_t nonce[12], m[LINK_HDR_LEN];

	if (len < LINK_HDR_LEN)
		return PROTO_NEED_MORE;
	header_mask(d, nonce, m);
	if (link_hdr_parse(in, m, h) != PROTO_DONE)
		return PROTO_ERR_MALFORMED;
	if (len < LINK_HDR_LEN + h->len)
		return PROTO_NEED_MORE;
	uint8_t *b = in + LINK_HDR_LEN;
	size_t n = h->len;
	if (h->id == LINK_ID_CONTROL) {
		n -= RELAY_TAG_LEN;
		if (!aead_open((enum record_suite)d->suite, d->key, b, b, n, b + n, in,
		               LINK_HDR_LEN, nonce))
			return PROTO_ERR_MALFORMED;
	}
	d->seq++;
	*used = LINK_HDR_LEN + h->len;
	*body = b;
	*body_len = n;
	return PROTO_DONE;
}
