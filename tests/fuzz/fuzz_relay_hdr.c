/*
 * libFuzzer target for the relay hop header (protocol/relay.c). Parses the
 * input as a header, and its first RELAY_HDR_LEN bytes when longer, and
 * abort()s when a result breaks the contract:
 *  - a length other than RELAY_HDR_LEN is NEED_MORE (shorter) or TOO_LONG;
 *  - DONE re-encodes to the identical bytes, every field is within the
 *    SPEC's limits, and a name is a view inside the input;
 *  - the encoder, given fields taken from the input, writes only headers
 *    that the parser accepts and reads back unchanged;
 *  - the flight size arithmetic holds for the n and early length the input
 *    names.
 */
#include "config.h"

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

static void check_fields(const struct relay_hdr *h)
{
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
		abort();
	}
	uint8_t out[RELAY_HDR_LEN];
	check(relay_hdr_encode(out, sizeof(out), &h) == RELAY_HDR_LEN);
	check(memcmp(out, p, RELAY_HDR_LEN) == 0);
	check(relay_hdr_encode(out, sizeof(out) - 1, &h) == 0);
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
	uint8_t in[32] = {0};
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

	uint8_t out[RELAY_HDR_LEN];
	size_t n = relay_hdr_encode(out, sizeof(out), &h);
	check(n == 0 || n == RELAY_HDR_LEN);
	if (n == 0)
		return;
	struct relay_hdr back;
	check(relay_hdr_parse(out, n, &back) == PROTO_DONE);
	check_fields(&back);
	check(back.cmd == h.cmd && back.timestamp == h.timestamp && back.blob_len == h.blob_len);
	check(back.data_len == h.data_len && back.skip == h.skip && back.dst.port == h.dst.port);
	check(back.dst.type == h.dst.type);
	if (h.dst.type == PROTO_ADDR_DOMAIN)
		check(back.dst.name_len == h.dst.name_len &&
		      memcmp(back.dst.name, h.dst.name, h.dst.name_len) == 0);
	else
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
	check_encode(data, size);
	check_sizes(data, size);
	return 0;
}
