#include "config.h"

#include <string.h>

#include "relay.h"

/* Header layout (SPEC.md, "Hop header"). */
enum {
	OFF_VERSION = 0,
	OFF_CMD = 1,
	OFF_TIME = 2,
	OFF_BLOB = 10,
	OFF_DATA = 14,
	OFF_SKIP = 18,
	OFF_PORT = 20,
	OFF_ATYP = 22,
	OFF_ALEN = 23,
	OFF_ADDR = 24,
	OFF_SUITES = 279,
	OFF_FLAGS = 280,
	OFF_RESERVED = 281,
};

static uint64_t load64(const uint8_t *p)
{
	return (uint64_t)proto_load32(p) << 32 | proto_load32(p + 4);
}

static void store64(uint8_t *p, uint64_t v)
{
	proto_store32(p, (uint32_t)(v >> 32));
	proto_store32(p + 4, (uint32_t)v);
}

static bool all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;
	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

static bool lengths_ok(const struct relay_hdr *h)
{
	if (h->cmd == RELAY_CMD_LINK)
		return h->blob_len == RELAY_LINK_BLOB_LEN && h->data_len == 0 && h->skip == 0;
	if (h->blob_len > RELAY_BLOB_MAX || h->skip > RELAY_SKIP_MAX)
		return false;
	if (h->cmd == RELAY_CMD_EXTEND)
		return h->data_len == h->blob_len && h->blob_len >= RELAY_LAYER_LEN;
	return h->data_len <= h->blob_len && h->data_len <= RELAY_EARLY_MAX;
}

static bool cmd_known(unsigned cmd)
{
	return cmd == RELAY_CMD_EXTEND || cmd == RELAY_CMD_CONNECT || cmd == RELAY_CMD_LINK;
}

/* The flag bits each command may carry: REUSE, with CONNECT only. */
static bool flags_ok(enum relay_cmd cmd, uint8_t flags)
{
	uint8_t known = cmd == RELAY_CMD_CONNECT ? RELAY_FLAG_REUSE : 0;
	return (flags & ~known) == 0;
}

/* An address as the header and BEGIN carry it: names only for CONNECT. */
static enum proto_status addr_parse(uint8_t atyp, size_t alen, const uint8_t *addr,
                                    enum relay_cmd cmd, struct proto_addr *dst)
{
	switch (atyp) {
	case PROTO_ADDR_IPV4:
		if (alen != 4)
			return PROTO_ERR_MALFORMED;
		break;
	case PROTO_ADDR_IPV6:
		if (alen != 16)
			return PROTO_ERR_MALFORMED;
		break;
	case PROTO_ADDR_DOMAIN:
		/* A relay is named by its address only: names go to the exit. */
		if (alen == 0 || cmd == RELAY_CMD_EXTEND)
			return PROTO_ERR_MALFORMED;
		break;
	default:
		return PROTO_ERR_ADDRTYPE;
	}
	dst->type = (enum proto_addr_type)atyp;
	if (dst->type == PROTO_ADDR_DOMAIN) {
		dst->name = addr;
		dst->name_len = alen;
	} else {
		memcpy(dst->ip, addr, alen);
	}
	return PROTO_DONE;
}

/* The address's length on the wire, 0 if it cannot be sent. */
static size_t addr_len_of(const struct proto_addr *a, enum relay_cmd cmd)
{
	switch (a->type) {
	case PROTO_ADDR_IPV4:
		return 4;
	case PROTO_ADDR_IPV6:
		return 16;
	case PROTO_ADDR_DOMAIN:
		if (a->name_len == 0 || a->name_len > PROTO_NAME_MAX || cmd == RELAY_CMD_EXTEND)
			return 0;
		return a->name_len;
	default:
		return 0;
	}
}

enum proto_status relay_hdr_parse(const uint8_t *p, size_t len, struct relay_hdr *out)
{
	if (len < RELAY_HDR_LEN)
		return PROTO_NEED_MORE;
	if (len > RELAY_HDR_LEN)
		return PROTO_ERR_TOO_LONG;
	if (p[OFF_VERSION] != RELAY_VERSION)
		return PROTO_ERR_VERSION;
	memset(out, 0, sizeof(*out));
	if (!cmd_known(p[OFF_CMD]))
		return PROTO_ERR_MALFORMED;
	out->cmd = (enum relay_cmd)p[OFF_CMD];
	out->timestamp = load64(p + OFF_TIME);
	out->blob_len = proto_load32(p + OFF_BLOB);
	out->data_len = proto_load32(p + OFF_DATA);
	out->skip = proto_load16(p + OFF_SKIP);
	out->dst.port = proto_load16(p + OFF_PORT);
	if (!lengths_ok(out))
		return PROTO_ERR_TOO_LONG;

	size_t alen = p[OFF_ALEN];
	if (out->cmd == RELAY_CMD_LINK) {
		/* No address: its type, length and port are zero like the rest. */
		if (p[OFF_ATYP] != 0 || alen != 0 || out->dst.port != 0)
			return PROTO_ERR_MALFORMED;
	} else {
		enum proto_status st =
		    addr_parse(p[OFF_ATYP], alen, p + OFF_ADDR, out->cmd, &out->dst);
		if (st != PROTO_DONE)
			return st;
		if (out->dst.port == 0)
			return PROTO_ERR_MALFORMED;
	}
	/* The address field's unused tail and the reserved bytes must be zero. */
	if (!all_zero(p + OFF_ADDR + alen, OFF_SUITES - OFF_ADDR - alen) ||
	    !all_zero(p + OFF_RESERVED, RELAY_HDR_LEN - OFF_RESERVED))
		return PROTO_ERR_MALFORMED;
	if (p[OFF_SUITES] & ~RELAY_OFFERS_KNOWN)
		return PROTO_ERR_MALFORMED;
	out->suites = p[OFF_SUITES];
	if (!flags_ok(out->cmd, p[OFF_FLAGS]))
		return PROTO_ERR_MALFORMED;
	out->flags = p[OFF_FLAGS];
	return PROTO_DONE;
}

size_t relay_hdr_encode(uint8_t *dst, size_t cap, const struct relay_hdr *h)
{
	if (!cmd_known(h->cmd) || cap < RELAY_HDR_LEN || !lengths_ok(h) ||
	    (h->suites & ~RELAY_OFFERS_KNOWN) || !flags_ok(h->cmd, h->flags))
		return 0;
	/* LINK names nothing: its address bytes and port stay zero. */
	bool link = h->cmd == RELAY_CMD_LINK;
	size_t alen = link ? 0 : addr_len_of(&h->dst, h->cmd);
	if (link ? h->dst.type != 0 || h->dst.port != 0 : alen == 0 || h->dst.port == 0)
		return 0;
	memset(dst, 0, RELAY_HDR_LEN);
	dst[OFF_VERSION] = RELAY_VERSION;
	dst[OFF_CMD] = (uint8_t)h->cmd;
	store64(dst + OFF_TIME, h->timestamp);
	proto_store32(dst + OFF_BLOB, h->blob_len);
	proto_store32(dst + OFF_DATA, h->data_len);
	proto_store16(dst + OFF_SKIP, h->skip);
	if (alen) {
		proto_store16(dst + OFF_PORT, h->dst.port);
		dst[OFF_ATYP] = (uint8_t)h->dst.type;
		dst[OFF_ALEN] = (uint8_t)alen;
		memcpy(dst + OFF_ADDR, h->dst.type == PROTO_ADDR_DOMAIN ? h->dst.name : h->dst.ip,
		       alen);
	}
	dst[OFF_SUITES] = h->suites;
	dst[OFF_FLAGS] = h->flags;
	return RELAY_HDR_LEN;
}

enum proto_status relay_begin_parse(const uint8_t *p, size_t len, struct proto_addr *dst)
{
	if (len < 4)
		return PROTO_NEED_MORE;
	memset(dst, 0, sizeof(*dst));
	size_t alen = p[3];
	if (len != 4 + alen)
		return len < 4 + alen ? PROTO_NEED_MORE : PROTO_ERR_TOO_LONG;
	enum proto_status st = addr_parse(p[2], alen, p + 4, RELAY_CMD_CONNECT, dst);
	if (st != PROTO_DONE)
		return st;
	dst->port = proto_load16(p);
	return dst->port ? PROTO_DONE : PROTO_ERR_MALFORMED;
}

size_t relay_begin_encode(uint8_t *dst, size_t cap, const struct proto_addr *a)
{
	size_t alen = addr_len_of(a, RELAY_CMD_CONNECT);
	if (alen == 0 || a->port == 0 || cap < 4 + alen)
		return 0;
	proto_store16(dst, a->port);
	dst[2] = (uint8_t)a->type;
	dst[3] = (uint8_t)alen;
	memcpy(dst + 4, a->type == PROTO_ADDR_DOMAIN ? a->name : a->ip, alen);
	return 4 + alen;
}

size_t relay_flight_len(size_t early)
{
	return RELAY_MAX_HOPS * RELAY_LAYER_LEN + early;
}

size_t relay_blob_len(unsigned k, unsigned n, size_t early)
{
	(void)n; /* the same for every n: that is the point */
	return relay_flight_len(early) - k * RELAY_LAYER_LEN;
}

size_t relay_skip_len(unsigned k)
{
	return (k - 1) * RELAY_LAYER_LEN;
}
