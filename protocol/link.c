#include "config.h"

#include <string.h>

#include "link.h"

static bool hdr_ok(const struct link_frame_hdr *h)
{
	if (h->len == 0 || h->len > LINK_BODY_MAX)
		return false;
	if (h->id != LINK_ID_CONTROL)
		return true;
	/* A control body is a tag and at least one whole message. */
	return h->len >= RELAY_TAG_LEN + LINK_MSG_LEN &&
	       (h->len - RELAY_TAG_LEN) % LINK_MSG_LEN == 0;
}

enum proto_status link_hdr_parse(const uint8_t in[LINK_HDR_LEN], const uint8_t mask[LINK_HDR_LEN],
                                 struct link_frame_hdr *out)
{
	uint8_t p[LINK_HDR_LEN];
	for (size_t i = 0; i < LINK_HDR_LEN; i++)
		p[i] = in[i] ^ mask[i];
	out->id = proto_load32(p);
	out->len = proto_load16(p + 4);
	return hdr_ok(out) ? PROTO_DONE : PROTO_ERR_MALFORMED;
}

size_t link_hdr_encode(uint8_t out[LINK_HDR_LEN], const uint8_t mask[LINK_HDR_LEN],
                       const struct link_frame_hdr *h)
{
	if (!hdr_ok(h))
		return 0;
	proto_store32(out, h->id);
	proto_store16(out + 4, (uint16_t)h->len);
	for (size_t i = 0; i < LINK_HDR_LEN; i++)
		out[i] ^= mask[i];
	return LINK_HDR_LEN;
}

static bool msg_ok(const struct link_msg *m)
{
	switch (m->kind) {
	case LINK_MSG_PAD:
		return m->id == 0 && m->value == 0;
	case LINK_MSG_CREDIT:
		return m->id != 0 && m->value != 0;
	case LINK_MSG_FIN:
	case LINK_MSG_RESET:
	case LINK_MSG_BLOCKED:
		return m->id != 0 && m->value == 0;
	default:
		return false;
	}
}

enum proto_status link_msg_parse(const uint8_t *p, size_t len, size_t *used, struct link_msg *out)
{
	if (len < LINK_MSG_LEN)
		return PROTO_NEED_MORE;
	out->kind = (enum link_msg_kind)p[0];
	out->id = proto_load32(p + 1);
	out->value = proto_load32(p + 5);
	if (!msg_ok(out))
		return PROTO_ERR_MALFORMED;
	*used = LINK_MSG_LEN;
	return PROTO_DONE;
}

size_t link_msg_encode(uint8_t *dst, size_t cap, const struct link_msg *m)
{
	if (cap < LINK_MSG_LEN || !msg_ok(m))
		return 0;
	dst[0] = (uint8_t)m->kind;
	proto_store32(dst + 1, m->id);
	proto_store32(dst + 5, m->value);
	return LINK_MSG_LEN;
}

enum link_id_class link_id_classify(uint32_t last, uint32_t id)
{
	if (id != LINK_ID_CONTROL && id <= last)
		return LINK_ID_OPENED;
	if (last < UINT32_MAX && id == last + 1)
		return LINK_ID_NEXT;
	return LINK_ID_BAD;
}

bool link_allow_take(uint32_t *allow, size_t n)
{
	if (n > *allow)
		return false;
	*allow -= (uint32_t)n;
	return true;
}

bool link_allow_credit(uint32_t *allow, uint32_t n)
{
	if (n > LINK_ALLOW_MAX - *allow)
		return false;
	*allow += n;
	return true;
}

struct relay_hdr link_flight_hdr(uint64_t timestamp, uint8_t suites)
{
	struct relay_hdr h;
	memset(&h, 0, sizeof(h));
	h.cmd = RELAY_CMD_LINK;
	h.timestamp = timestamp;
	h.blob_len = LINK_BLOB_LEN;
	h.suites = suites;
	return h;
}
