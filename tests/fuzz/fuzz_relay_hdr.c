/*
 * libFuzzer target for the relay hop header and the BEGIN record's payload
 * (protocol/relay.c). Parses the input as a header, and its first
 * RELAY_HDR_LEN bytes when longer, and as a BEGIN payload, and abort()s when
 * a result breaks the contract:
 *  - a length other than RELAY_HDR_LEN is NEED_MORE (shorter) or TOO_LONG;
 *  - DONE re-encodes to the identical bytes (the suites and flags bytes
 *    too), every field is within the SPEC's limits (flags: REUSE only, and
 *    only with CONNECT; LINK's fixed values and no address), and a name is
 *    a view inside the input;
 *  - a BEGIN payload is NEED_MORE while shorter than its address length
 *    says and TOO_LONG when longer; DONE re-encodes to exactly the input,
 *    every shorter prefix of it is NEED_MORE, and a name is a view inside
 *    the input;
 *  - the encoder, given fields taken from the input (now and then LINK's
 *    fixed ones), writes only headers that the parser accepts and reads
 *    back unchanged, refuses flags a command may not carry, and takes REUSE
 *    on any CONNECT it accepts;
 *  - the BEGIN encoder, given the same address, takes exactly a port and an
 *    IP or a name of 1..255 bytes (every address a CONNECT header can
 *    carry), and writes only payloads the parser reads back unchanged;
 *  - the flight size arithmetic holds for the n and early length the input
 *    names.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "relay.h"

static void check(int ok)
{
	if (!ok)
		abort();
}

static int within(const uint8_t *view, size_t view_len, const uint8_t *p, size_t len)
{
	return view >= p && view_len <= len && (size_t)(view - p) <= len - view_len;
}

/* The flag bits a command may carry (SPEC.md, "Hop header"). */
static uint8_t flags_allowed(enum relay_cmd cmd)
{
	return cmd == RELAY_CMD_CONNECT ? RELAY_FLAG_REUSE : 0;
}

static void check_fields(const struct relay_hdr *h)
{
	check((h->suites & ~RELAY_OFFERS_KNOWN) == 0);
	check((h->flags & ~flags_allowed(h->cmd)) == 0);
	if (h->cmd == RELAY_CMD_LINK) {
		check(h->blob_len == 7 * RELAY_LAYER_LEN && h->data_len == 0 && h->skip == 0);
		check(h->dst.type == 0 && h->dst.port == 0 && h->flags == 0);
		return;
	}
	check(h->cmd == RELAY_CMD_EXTEND || h->cmd == RELAY_CMD_CONNECT);
	check(h->blob_len <= RELAY_BLOB_MAX && h->skip <= RELAY_SKIP_MAX);
	check(h->cmd == RELAY_CMD_EXTEND ||
	      (h->data_len <= h->blob_len && h->data_len <= RELAY_EARLY_MAX));
	if (h->cmd == RELAY_CMD_EXTEND) {
		check(h->data_len == h->blob_len && h->blob_len >= RELAY_LAYER_LEN);
		check(h->dst.type != PROTO_ADDR_DOMAIN);
	}
	check(h->dst.port != 0);
}

static void check_parse(const uint8_t *p, size_t len)
{
	struct relay_hdr h;
	enum proto_status s = relay_hdr_parse(p, len, &h);
	if (len < RELAY_HDR_LEN) {
		check(s == PROTO_NEED_MORE);
		return;
	}
	if (len > RELAY_HDR_LEN) {
		check(s == PROTO_ERR_TOO_LONG);
		return;
	}
	check(s == PROTO_DONE || s == PROTO_ERR_VERSION || s == PROTO_ERR_MALFORMED ||
	      s == PROTO_ERR_TOO_LONG || s == PROTO_ERR_ADDRTYPE);
	check(proto_strerror(s) != NULL);
	if (s != PROTO_DONE)
		return;
	check_fields(&h);
	check(h.suites == p[279] && h.flags == p[280]);
	switch (h.dst.type) {
	case PROTO_ADDR_IPV4:
	case PROTO_ADDR_IPV6:
		check(h.dst.name == NULL);
		break;
	case PROTO_ADDR_DOMAIN:
		check(h.dst.name_len >= 1 && h.dst.name_len <= PROTO_NAME_MAX);
		check(h.dst.name == p + 24 && within(h.dst.name, h.dst.name_len, p, len));
		break;
	default:
		/* Only LINK names nothing, and then every address byte is zero. */
		check(h.cmd == RELAY_CMD_LINK && h.dst.type == 0 && h.dst.name == NULL);
		for (size_t i = 22; i < 279; i++)
			check(p[i] == 0);
	}
	uint8_t out[RELAY_HDR_LEN];
	check(relay_hdr_encode(out, sizeof(out), &h) == RELAY_HDR_LEN);
	check(memcmp(out, p, RELAY_HDR_LEN) == 0);
	check(relay_hdr_encode(out, sizeof(out) - 1, &h) == 0);
}

/* The input as a BEGIN payload: port, address type, address length, address. */
static void check_begin(const uint8_t *p, size_t len)
{
	struct proto_addr a;
	enum proto_status s = relay_begin_parse(p, len, &a);
	check(proto_strerror(s) != NULL);
	if (len < 4 || len < 4 + (size_t)p[3]) {
		check(s == PROTO_NEED_MORE);
		return;
	}
	if (len > 4 + (size_t)p[3]) {
		check(s == PROTO_ERR_TOO_LONG);
		return;
	}
	check(s == PROTO_DONE || s == PROTO_ERR_MALFORMED || s == PROTO_ERR_ADDRTYPE);
	if (s != PROTO_DONE)
		return;
	check(len <= RELAY_BEGIN_MAX);
	check(a.port != 0 && a.port == (p[0] << 8 | p[1]) && (unsigned)a.type == p[2]);
	switch (a.type) {
	case PROTO_ADDR_IPV4:
	case PROTO_ADDR_IPV6:
		check(a.name == NULL && len == (a.type == PROTO_ADDR_IPV4 ? 8u : 20u));
		check(memcmp(a.ip, p + 4, len - 4) == 0);
		break;
	case PROTO_ADDR_DOMAIN:
		check(a.name_len >= 1 && a.name_len <= PROTO_NAME_MAX && a.name_len == p[3]);
		check(a.name == p + 4 && within(a.name, a.name_len, p, len));
		break;
	default:
		abort();
	}
	uint8_t out[RELAY_BEGIN_MAX];
	check(relay_begin_encode(out, sizeof(out), &a) == len);
	check(memcmp(out, p, len) == 0);
	check(relay_begin_encode(out, len - 1, &a) == 0);
	/* Every shorter prefix of a whole payload asks for more. */
	struct proto_addr b;
	for (size_t k = 0; k < len; k++)
		check(relay_begin_parse(p, k, &b) == PROTO_NEED_MORE);
}

/*
 * An address through the BEGIN encoder: it takes exactly what the SPEC allows
 * (a port, and an IP or a name of 1..255 bytes), and what it writes parses
 * back to the same address.
 */
static void check_begin_encode(const struct proto_addr *a)
{
	uint8_t out[RELAY_BEGIN_MAX];
	size_t n = relay_begin_encode(out, sizeof(out), a);
	bool valid =
	    a->type == PROTO_ADDR_IPV4 || a->type == PROTO_ADDR_IPV6 ||
	    (a->type == PROTO_ADDR_DOMAIN && a->name_len >= 1 && a->name_len <= PROTO_NAME_MAX);
	check((n != 0) == (valid && a->port != 0));
	if (n == 0)
		return;
	struct proto_addr back;
	check(relay_begin_parse(out, n, &back) == PROTO_DONE);
	check(back.port == a->port && back.type == a->type);
	if (a->type == PROTO_ADDR_DOMAIN)
		check(n == 4 + a->name_len && back.name == out + 4 &&
		      back.name_len == a->name_len && memcmp(back.name, a->name, a->name_len) == 0);
	else
		check(n == (a->type == PROTO_ADDR_IPV4 ? 8u : 20u) &&
		      memcmp(back.ip, a->ip, n - 4) == 0);
	check(relay_begin_encode(out, n - 1, a) == 0);
}

static uint32_t load(const uint8_t *p, size_t n)
{
	uint32_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* Fields from the input, some of them pulled into range, through the encoder. */
static void check_encode(const uint8_t *data, size_t size)
{
	uint8_t in[34] = {0};
	memcpy(in, data, size < sizeof(in) ? size : sizeof(in));
	struct relay_hdr h;
	memset(&h, 0, sizeof(h));
	h.cmd = (enum relay_cmd)(in[0] & 3);
	h.timestamp = (uint64_t)load(in + 1, 4) << 32 | load(in + 5, 4);
	h.blob_len = in[9] & 1 ? load(in + 10, 4) : load(in + 10, 2);
	h.data_len = in[9] & 2 ? h.blob_len : load(in + 14, 2);
	h.skip = (uint16_t)load(in + 16, 2);
	h.dst.port = (uint16_t)load(in + 18, 2);
	h.dst.type = (enum proto_addr_type)(in[20] % 6);
	memcpy(h.dst.ip, in + 21, 11);
	h.dst.name = data;
	h.dst.name_len = in[9] & 4 ? size : in[9] >> 3;
	if (h.dst.name_len > size)
		h.dst.name_len = size;
	/* Mostly known bits, so the encoder gets past them; now and then any. */
	h.suites = in[32] & 0x80 ? in[32] : in[32] & RELAY_OFFERS_KNOWN;
	h.flags = in[33] & 0x80 ? in[33] : in[33] & RELAY_FLAG_REUSE;
	if (in[0] & 4) {
		/* LINK's fixed fields, so the encoder gets past them. */
		h.cmd = RELAY_CMD_LINK;
		h.blob_len = 7 * RELAY_LAYER_LEN;
		h.data_len = h.skip = 0;
		if (in[0] & 8)
			memset(&h.dst, 0, sizeof(h.dst));
	}

	check_begin_encode(&h.dst);

	uint8_t out[RELAY_HDR_LEN];
	size_t n = relay_hdr_encode(out, sizeof(out), &h);
	check(n == 0 || n == RELAY_HDR_LEN);
	if (h.flags & ~flags_allowed(h.cmd))
		check(n == 0);
	if (h.cmd == RELAY_CMD_LINK && (h.dst.type != 0 || h.dst.port != 0))
		check(n == 0);
	if (n == 0)
		return;
	if (h.cmd == RELAY_CMD_CONNECT) {
		/* What a CONNECT header carries, a BEGIN carries too. */
		uint8_t begin[RELAY_BEGIN_MAX];
		check(relay_begin_encode(begin, sizeof(begin), &h.dst) != 0);
		/* REUSE changes the flags byte and nothing else. */
		struct relay_hdr r = h;
		uint8_t out2[RELAY_HDR_LEN];
		r.flags ^= RELAY_FLAG_REUSE;
		check(relay_hdr_encode(out2, sizeof(out2), &r) == RELAY_HDR_LEN);
		check(memcmp(out2, out, 280) == 0 && out2[280] == r.flags);
		check(memcmp(out2 + 281, out + 281, RELAY_HDR_LEN - 281) == 0);
	} else {
		struct relay_hdr r = h;
		r.flags = in[33] | 1;
		check(relay_hdr_encode(out, sizeof(out), &r) == 0);
		check(relay_hdr_encode(out, sizeof(out), &h) == RELAY_HDR_LEN);
	}
	struct relay_hdr back;
	check(relay_hdr_parse(out, n, &back) == PROTO_DONE);
	check_fields(&back);
	check(back.cmd == h.cmd && back.timestamp == h.timestamp && back.blob_len == h.blob_len);
	check(back.data_len == h.data_len && back.skip == h.skip && back.dst.port == h.dst.port);
	check(back.dst.type == h.dst.type && back.suites == h.suites && back.flags == h.flags);
	if (h.dst.type == PROTO_ADDR_DOMAIN)
		check(back.dst.name_len == h.dst.name_len &&
		      memcmp(back.dst.name, h.dst.name, h.dst.name_len) == 0);
	else if (h.cmd != RELAY_CMD_LINK)
		check(memcmp(back.dst.ip, h.dst.ip, h.dst.type == PROTO_ADDR_IPV4 ? 4 : 16) == 0);
}

static void check_sizes(const uint8_t *data, size_t size)
{
	if (size < 3)
		return;
	unsigned n = data[0] % RELAY_MAX_HOPS + 1;
	size_t early = load(data + 1, 2) % (RELAY_EARLY_MAX + 1);
	size_t F = relay_flight_len(early);
	check(F == RELAY_MAX_HOPS * RELAY_LAYER_LEN + early);
	check(relay_blob_len(n, n, early) == early + (RELAY_MAX_HOPS - n) * RELAY_LAYER_LEN);
	for (unsigned k = 1; k <= n; k++) {
		size_t blob = relay_blob_len(k, n, early), skip = relay_skip_len(k);
		check(RELAY_LAYER_LEN + blob + skip == F);
		check(blob <= RELAY_BLOB_MAX && skip <= RELAY_SKIP_MAX);
		if (k < n)
			check(blob >= RELAY_LAYER_LEN);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_parse(data, size);
	if (size > RELAY_HDR_LEN) {
		/* An exact-size copy, so a read past the header shows under ASan. */
		uint8_t *copy = malloc(RELAY_HDR_LEN);
		check(copy != NULL);
		memcpy(copy, data, RELAY_HDR_LEN);
		check_parse(copy, RELAY_HDR_LEN);
		free(copy);
	}
	check_begin(data, size);
	check_encode(data, size);
	check_sizes(data, size);
	return 0;
}
