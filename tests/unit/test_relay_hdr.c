/*
 * The relay hop header and the flight's size arithmetic (protocol/relay.c,
 * SPEC.md "Hop header" and "Padding"). Headers are written here byte by byte
 * from the SPEC's table, not with relay_hdr_encode(), so the encoder is
 * checked against the same bytes; every parse runs flush against a PROT_NONE
 * page (guard.h).
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "guard.h"
#include "link.h"
#include "relay.h"

#define L RELAY_LAYER_LEN

/* The SPEC's offsets, spelled out again rather than taken from relay.c. */
enum {
	O_VER = 0,
	O_CMD = 1,
	O_TIME = 2,
	O_BLOB = 10,
	O_DATA = 14,
	O_SKIP = 18,
	O_PORT = 20,
	O_ATYP = 22,
	O_ALEN = 23,
	O_ADDR = 24,
	O_SUITES = 279,
	O_FLAGS = 280,
};

static void put(uint8_t *p, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

/* A header as the SPEC's table lays it out. */
static void raw(uint8_t h[RELAY_HDR_LEN], uint8_t cmd, uint64_t ts, uint32_t blob, uint32_t data,
                uint16_t skip, uint16_t port, uint8_t atyp, const void *addr, uint8_t alen)
{
	memset(h, 0, RELAY_HDR_LEN);
	h[O_VER] = 1;
	h[O_CMD] = cmd;
	put(h + O_TIME, ts, 8);
	put(h + O_BLOB, blob, 4);
	put(h + O_DATA, data, 4);
	put(h + O_SKIP, skip, 2);
	put(h + O_PORT, port, 2);
	h[O_ATYP] = atyp;
	h[O_ALEN] = alen;
	if (alen) /* LINK names no address: addr may be NULL */
		memcpy(h + O_ADDR, addr, alen);
}

static const uint8_t ip4[4] = {192, 0, 2, 1};
static const uint8_t ip6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
#define NAME "example.com"

static enum proto_status parse_guarded(struct guard *g, const uint8_t *h, size_t len,
                                       struct relay_hdr *out, const uint8_t **at)
{
	const uint8_t *p = guard_copy(g, h, len);
	if (at)
		*at = p;
	return relay_hdr_parse(p, len, out);
}

static void assert_status(const uint8_t h[RELAY_HDR_LEN], enum proto_status want)
{
	struct guard g;
	struct relay_hdr out;
	assert_int_equal(parse_guarded(&g, h, RELAY_HDR_LEN, &out, NULL), want);
	guard_free(&g);
}

/* Parses h, re-encodes the result and expects the same bytes. */
static void assert_roundtrip(const uint8_t h[RELAY_HDR_LEN], struct relay_hdr *out)
{
	struct guard g;
	const uint8_t *p;
	uint8_t again[RELAY_HDR_LEN + 8];
	assert_int_equal(parse_guarded(&g, h, RELAY_HDR_LEN, out, &p), PROTO_DONE);
	if (out->dst.type == PROTO_ADDR_DOMAIN)
		assert_ptr_equal(out->dst.name, p + O_ADDR); /* a view, not a copy */
	memset(again, 0xa5, sizeof(again));
	assert_int_equal(relay_hdr_encode(again, sizeof(again), out), RELAY_HDR_LEN);
	assert_memory_equal(again, h, RELAY_HDR_LEN);
	assert_int_equal(again[RELAY_HDR_LEN], 0xa5); /* nothing past the header */
	/* The view dies with the guarded copy: point the caller at a copy of the name. */
	if (out->dst.type == PROTO_ADDR_DOMAIN) {
		static uint8_t name[PROTO_NAME_MAX];
		memcpy(name, out->dst.name, out->dst.name_len);
		out->dst.name = name;
	}
	guard_free(&g);
}

/* ------------------------------------------------------------ round trips */

static void test_extend_ipv4(void **state)
{
	(void)state;
	uint8_t h[RELAY_HDR_LEN];
	struct relay_hdr r;
	raw(h, 1, 1700000000, 7 * L, 7 * L, 0, 9002, 1, ip4, 4);
	assert_roundtrip(h, &r);
	assert_int_equal(r.cmd, RELAY_CMD_EXTEND);
	assert_true(r.timestamp == 1700000000);
	assert_int_equal(r.blob_len, 7 * L);
	assert_int_equal(r.data_len, 7 * L);
	assert_int_equal(r.skip, 0);
	assert_int_equal(r.dst.type, PROTO_ADDR_IPV4);
	assert_memory_equal(r.dst.ip, ip4, 4);
	assert_int_equal(r.dst.port, 9002);
	assert_null(r.dst.name);
}

static void test_extend_ipv6(void **state)
{
	(void)state;
	uint8_t h[RELAY_HDR_LEN];
	struct relay_hdr r;
	raw(h, 1, UINT64_MAX, L, L, RELAY_SKIP_MAX, 65535, 4, ip6, 16);
	assert_roundtrip(h, &r);
	assert_true(r.timestamp == UINT64_MAX); /* the parser reads no clock */
	assert_int_equal(r.dst.type, PROTO_ADDR_IPV6);
	assert_memory_equal(r.dst.ip, ip6, 16);
	assert_int_equal(r.skip, RELAY_SKIP_MAX);
	assert_int_equal(r.dst.port, 65535);
}

static void test_connect_name(void **state)
{
	(void)state;
	uint8_t h[RELAY_HDR_LEN];
	struct relay_hdr r;
	raw(h, 2, 0, 5 * L + 37, 37, 2 * L, 443, 3, NAME, sizeof(NAME) - 1);
	assert_roundtrip(h, &r);
	assert_int_equal(r.cmd, RELAY_CMD_CONNECT);
	assert_int_equal(r.data_len, 37);
	assert_int_equal(r.dst.type, PROTO_ADDR_DOMAIN);
	assert_int_equal(r.dst.name_len, sizeof(NAME) - 1);
	assert_memory_equal(r.dst.name, NAME, sizeof(NAME) - 1);

	/* The shortest and the longest names; a name fills the address field. */
	uint8_t name[255];
	memset(name, 'n', sizeof(name));
	raw(h, 2, 0, 0, 0, 0, 1, 3, name, 1);
	assert_roundtrip(h, &r);
	assert_int_equal(r.dst.name_len, 1);
	raw(h, 2, 0, 0, 0, 0, 1, 3, name, 255);
	assert_roundtrip(h, &r);
	assert_int_equal(r.dst.name_len, 255);
	assert_int_equal(h[O_ADDR + 254], 'n'); /* up to offset 278; 279.. reserved */
}

static void test_connect_ip(void **state)
{
	(void)state;
	uint8_t h[RELAY_HDR_LEN];
	struct relay_hdr r;
	raw(h, 2, 1, RELAY_BLOB_MAX, RELAY_EARLY_MAX, 0, 80, 1, ip4, 4);
	assert_roundtrip(h, &r);
	assert_int_equal(r.data_len, RELAY_EARLY_MAX);
	raw(h, 2, 1, 8 * L, 0, 7 * L, 80, 4, ip6, 16);
	assert_roundtrip(h, &r);
	assert_int_equal(r.dst.type, PROTO_ADDR_IPV6);
}

/* The encoder writes the SPEC's layout: big-endian fields at fixed offsets. */
static void test_encode_layout(void **state)
{
	(void)state;
	struct relay_hdr h = {
	    .cmd = RELAY_CMD_EXTEND,
	    .timestamp = 0x0102030405060708ULL,
	    .blob_len = 0x0a0b0c0d,
	    .data_len = 0x0a0b0c0d,
	    .skip = 0x0102,
	    .dst = {.type = PROTO_ADDR_IPV4, .ip = {10, 1, 2, 3}, .port = 0x2329},
	};
	uint8_t out[RELAY_HDR_LEN];
	/* Too big a blob: refused. Then one in range. */
	assert_int_equal(relay_hdr_encode(out, sizeof(out), &h), 0);
	h.blob_len = h.data_len = 0x00000c0d;
	h.skip = 0x0a48; /* 7 x 376 */
	assert_int_equal(relay_hdr_encode(out, sizeof(out), &h), RELAY_HDR_LEN);
	static const uint8_t want[] = {1,    1,    1,    2,    3,  4, 5,    6,    7,    8,
	                               0,    0,    0x0c, 0x0d, 0,  0, 0x0c, 0x0d, 0x0a, 0x48,
	                               0x23, 0x29, 1,    4,    10, 1, 2,    3};
	assert_memory_equal(out, want, sizeof(want));
	for (size_t i = sizeof(want); i < RELAY_HDR_LEN; i++)
		assert_int_equal(out[i], 0);
}

/* ------------------------------------------------------------ refusals */

static void test_size(void **state)
{
	(void)state;
	uint8_t h[RELAY_HDR_LEN + 1];
	struct relay_hdr r;
	struct guard g;
	raw(h, 1, 0, L, L, 0, 1, 1, ip4, 4);
	h[RELAY_HDR_LEN] = 0;
	for (size_t k = 0; k < RELAY_HDR_LEN; k++) {
		assert_int_equal(parse_guarded(&g, h, k, &r, NULL), PROTO_NEED_MORE);
		guard_free(&g);
	}
	assert_int_equal(parse_guarded(&g, h, RELAY_HDR_LEN + 1, &r, NULL), PROTO_ERR_TOO_LONG);
	guard_free(&g);
}

static void test_version(void **state)
{
	(void)state;
	uint8_t h[RELAY_HDR_LEN];
	static const uint8_t bad[] = {0, 2, 0x81, 0xff};
	for (size_t i = 0; i < sizeof(bad); i++) {
		raw(h, 1, 0, L, L, 0, 1, 1, ip4, 4);
		h[O_VER] = bad[i];
		assert_status(h, PROTO_ERR_VERSION);
	}
}

static void test_command(void **state)
{
	(void)state;
	uint8_t h[RELAY_HDR_LEN];
	for (unsigned c = 0; c < 256; c++) {
		if (c == RELAY_CMD_EXTEND || c == RELAY_CMD_CONNECT || c == RELAY_CMD_LINK)
			continue;
		raw(h, (uint8_t)c, 0, L, L, 0, 1, 1, ip4, 4);
		assert_status(h, PROTO_ERR_MALFORMED);
	}
}

static void test_lengths(void **state)
{
	(void)state;
	uint8_t h[RELAY_HDR_LEN];
	struct {
		uint8_t cmd;
		uint32_t blob, data;
		uint16_t skip;
		enum proto_status want;
	} cases[] = {
	    /* blob_len <= 8 x 376 + 16384 */
	    {2, RELAY_BLOB_MAX, 0, 0, PROTO_DONE},
	    {2, RELAY_BLOB_MAX + 1, 0, 0, PROTO_ERR_TOO_LONG},
	    {1, RELAY_BLOB_MAX + 1, RELAY_BLOB_MAX + 1, 0, PROTO_ERR_TOO_LONG},
	    {2, UINT32_MAX, 0, 0, PROTO_ERR_TOO_LONG},
	    /* data_len <= 16384 and within the blob */
	    {2, RELAY_EARLY_MAX + 1, RELAY_EARLY_MAX + 1, 0, PROTO_ERR_TOO_LONG},
	    {2, 100, 101, 0, PROTO_ERR_TOO_LONG},
	    {2, 100, 100, 0, PROTO_DONE},
	    {2, 0, 0, 0, PROTO_DONE},
	    {2, 0, UINT32_MAX, 0, PROTO_ERR_TOO_LONG},
	    /* skip <= 7 x 376 */
	    {2, 0, 0, RELAY_SKIP_MAX, PROTO_DONE},
	    {2, 0, 0, RELAY_SKIP_MAX + 1, PROTO_ERR_TOO_LONG},
	    {1, L, L, UINT16_MAX, PROTO_ERR_TOO_LONG},
	    /* EXTEND: data_len = blob_len >= 376 */
	    {1, L, L, 0, PROTO_DONE},
	    {1, L - 1, L - 1, 0, PROTO_ERR_TOO_LONG},
	    {1, 0, 0, 0, PROTO_ERR_TOO_LONG},
	    {1, L + 1, L, 0, PROTO_ERR_TOO_LONG},
	    {1, L, L + 1, 0, PROTO_ERR_TOO_LONG},
	    {1, RELAY_BLOB_MAX, RELAY_BLOB_MAX, 0, PROTO_DONE},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		raw(h, cases[i].cmd, 0, cases[i].blob, cases[i].data, cases[i].skip, 1, 1, ip4, 4);
		struct guard g;
		struct relay_hdr r;
		enum proto_status s = parse_guarded(&g, h, sizeof(h), &r, NULL);
		guard_free(&g);
		if (s != cases[i].want)
			fail_msg("case %zu: status %d, want %d", i, s, cases[i].want);
		/* The encoder refuses exactly what the parser refuses. */
		struct relay_hdr e = {.cmd = cases[i].cmd,
		                      .blob_len = cases[i].blob,
		                      .data_len = cases[i].data,
		                      .skip = cases[i].skip,
		                      .dst = {.type = PROTO_ADDR_IPV4, .port = 1}};
		memcpy(e.dst.ip, ip4, 4);
		uint8_t out[RELAY_HDR_LEN];
		size_t n = relay_hdr_encode(out, sizeof(out), &e);
		if (cases[i].want == PROTO_DONE) {
			assert_int_equal(n, RELAY_HDR_LEN);
			assert_memory_equal(out, h, RELAY_HDR_LEN);
		} else {
			assert_int_equal(n, 0);
		}
	}
}

/*
 * Every reserved byte (after the address, to the end) must be zero; in the
 * suites byte, every bit but bit 0 (AES-256-GCM offered).
 */
static void test_reserved(void **state)
{
	(void)state;
	uint8_t h[RELAY_HDR_LEN];
	struct {
		uint8_t atyp, alen;
		const void *addr;
	} forms[] = {{1, 4, ip4}, {4, 16, ip6}, {3, sizeof(NAME) - 1, NAME}};
	for (size_t f = 0; f < 3; f++) {
		for (size_t i = O_ADDR + forms[f].alen; i < RELAY_HDR_LEN; i++) {
			for (unsigned bit = 0; bit < 8; bit++) {
				raw(h, 2, 0, 0, 0, 0, 1, forms[f].atyp, forms[f].addr,
				    forms[f].alen);
				h[i] = (uint8_t)(1u << bit);
				/* Bit 0 of suites (AES) and of flags (reuse, CONNECT) are known. */
				bool known = (i == O_SUITES || i == O_FLAGS) && bit == 0;
				assert_status(h, known ? PROTO_DONE : PROTO_ERR_MALFORMED);
			}
		}
	}
}

static void test_port_zero(void **state)
{
	(void)state;
	uint8_t h[RELAY_HDR_LEN];
	raw(h, 1, 0, L, L, 0, 0, 1, ip4, 4);
	assert_status(h, PROTO_ERR_MALFORMED);
	raw(h, 2, 0, 0, 0, 0, 0, 3, NAME, sizeof(NAME) - 1);
	assert_status(h, PROTO_ERR_MALFORMED);
	raw(h, 2, 0, 0, 0, 0, 0, 4, ip6, 16);
	assert_status(h, PROTO_ERR_MALFORMED);
}

/* A relay is named by its address: names go to the exit only. */
static void test_name_with_extend(void **state)
{
	(void)state;
	uint8_t h[RELAY_HDR_LEN];
	raw(h, 1, 0, L, L, 0, 9001, 3, NAME, sizeof(NAME) - 1);
	assert_status(h, PROTO_ERR_MALFORMED);

	struct relay_hdr e = {.cmd = RELAY_CMD_EXTEND,
	                      .blob_len = L,
	                      .data_len = L,
	                      .dst = {.type = PROTO_ADDR_DOMAIN,
	                              .name = (const uint8_t *)NAME,
	                              .name_len = sizeof(NAME) - 1,
	                              .port = 9001}};
	assert_int_equal(relay_hdr_encode(h, sizeof(h), &e), 0);
}

static void test_address_lengths(void **state)
{
	(void)state;
	uint8_t h[RELAY_HDR_LEN];
	static const uint8_t zeros[255] = {0};
	static const uint8_t v4_bad[] = {0, 3, 5, 16, 255};
	static const uint8_t v6_bad[] = {0, 4, 15, 17, 255};
	for (size_t i = 0; i < sizeof(v4_bad); i++) {
		raw(h, 2, 0, 0, 0, 0, 1, 1, zeros, v4_bad[i]);
		assert_status(h, PROTO_ERR_MALFORMED);
	}
	for (size_t i = 0; i < sizeof(v6_bad); i++) {
		raw(h, 2, 0, 0, 0, 0, 1, 4, zeros, v6_bad[i]);
		assert_status(h, PROTO_ERR_MALFORMED);
	}
	raw(h, 2, 0, 0, 0, 0, 1, 3, zeros, 0); /* an empty name */
	assert_status(h, PROTO_ERR_MALFORMED);
	static const uint8_t types[] = {0, 2, 5, 6, 0xff};
	for (size_t i = 0; i < sizeof(types); i++) {
		raw(h, 2, 0, 0, 0, 0, 1, types[i], ip4, 4);
		assert_status(h, PROTO_ERR_ADDRTYPE);
	}
}

static void test_encode_refuses(void **state)
{
	(void)state;
	uint8_t out[RELAY_HDR_LEN];
	struct relay_hdr ok = {.cmd = RELAY_CMD_CONNECT,
	                       .dst = {.type = PROTO_ADDR_IPV4, .ip = {1, 2, 3, 4}, .port = 1}};
	assert_int_equal(relay_hdr_encode(out, sizeof(out), &ok), RELAY_HDR_LEN);
	assert_int_equal(relay_hdr_encode(out, RELAY_HDR_LEN - 1, &ok), 0);

	struct relay_hdr h = ok;
	h.dst.port = 0;
	assert_int_equal(relay_hdr_encode(out, sizeof(out), &h), 0);
	h = ok;
	h.dst.type = (enum proto_addr_type)2;
	assert_int_equal(relay_hdr_encode(out, sizeof(out), &h), 0);
	h = ok;
	h.cmd = (enum relay_cmd)0;
	assert_int_equal(relay_hdr_encode(out, sizeof(out), &h), 0);
	h.cmd = (enum relay_cmd)3;
	assert_int_equal(relay_hdr_encode(out, sizeof(out), &h), 0);

	static const uint8_t name[256] = {'a'};
	h = ok;
	h.dst.type = PROTO_ADDR_DOMAIN;
	h.dst.name = name;
	h.dst.name_len = 0;
	assert_int_equal(relay_hdr_encode(out, sizeof(out), &h), 0);
	h.dst.name_len = 256;
	assert_int_equal(relay_hdr_encode(out, sizeof(out), &h), 0);
	h.dst.name_len = 255;
	assert_int_equal(relay_hdr_encode(out, sizeof(out), &h), RELAY_HDR_LEN);

	/* Only the suites SPEC.md defines can be offered. */
	h = ok;
	for (unsigned bit = 1; bit < 8; bit++) {
		h.suites = (uint8_t)(RELAY_OFFER_AES | 1u << bit);
		assert_int_equal(relay_hdr_encode(out, sizeof(out), &h), 0);
	}
	h.suites = RELAY_OFFER_AES;
	assert_int_equal(relay_hdr_encode(out, sizeof(out), &h), RELAY_HDR_LEN);
	assert_int_equal(out[O_SUITES], 0x01);
}

/* The suites byte reaches the caller and survives a round trip. */
static void test_suites(void **state)
{
	(void)state;
	uint8_t h[RELAY_HDR_LEN];
	struct relay_hdr out;
	raw(h, 2, 0, 0, 0, 0, 443, 3, NAME, sizeof(NAME) - 1);
	assert_roundtrip(h, &out);
	assert_int_equal(out.suites, 0);
	h[O_SUITES] = RELAY_OFFER_AES;
	assert_roundtrip(h, &out);
	assert_int_equal(out.suites, RELAY_OFFER_AES);
}

/* The reuse flag: CONNECT only, and it survives a round trip. */
static void test_flags(void **state)
{
	(void)state;
	uint8_t h[RELAY_HDR_LEN], out[RELAY_HDR_LEN];
	struct relay_hdr r;
	raw(h, 2, 0, 0, 0, 0, 443, 3, NAME, sizeof(NAME) - 1);
	assert_roundtrip(h, &r);
	assert_int_equal(r.flags, 0);
	h[O_FLAGS] = RELAY_FLAG_REUSE;
	assert_roundtrip(h, &r);
	assert_int_equal(r.flags, RELAY_FLAG_REUSE);
	assert_int_equal(relay_hdr_encode(out, sizeof(out), &r), RELAY_HDR_LEN);
	assert_memory_equal(out, h, RELAY_HDR_LEN);

	/* A middle relay keeps no circuit for anyone: EXTEND with the flag is refused. */
	raw(h, 1, 0, L, L, 0, 443, 1, ip4, 4);
	h[O_FLAGS] = RELAY_FLAG_REUSE;
	assert_status(h, PROTO_ERR_MALFORMED);
	struct relay_hdr e = {.cmd = RELAY_CMD_EXTEND,
	                      .blob_len = L,
	                      .data_len = L,
	                      .flags = RELAY_FLAG_REUSE,
	                      .dst = {.type = PROTO_ADDR_IPV4, .port = 443}};
	assert_int_equal(relay_hdr_encode(out, sizeof(out), &e), 0);
	e.cmd = RELAY_CMD_CONNECT;
	e.data_len = 0;
	e.flags = 0x02;
	assert_int_equal(relay_hdr_encode(out, sizeof(out), &e), 0);

	/* No other bit, with either command. */
	for (unsigned f = 0x02; f < 0x100; f <<= 1) {
		raw(h, 1, 0, L, L, 0, 443, 1, ip4, 4);
		h[O_FLAGS] = (uint8_t)f;
		assert_status(h, PROTO_ERR_MALFORMED);
		raw(h, 2, 0, 0, 0, 0, 443, 3, NAME, sizeof(NAME) - 1);
		h[O_FLAGS] = (uint8_t)f;
		assert_status(h, PROTO_ERR_MALFORMED);
	}
}

/* LINK (SPEC.md, "Opening a link"): fixed lengths, no address, no flags. */
static void link_raw(uint8_t h[RELAY_HDR_LEN])
{
	raw(h, 3, 1700000000, 7 * L, 0, 0, 0, 0, NULL, 0);
}

static void test_link(void **state)
{
	(void)state;
	uint8_t h[RELAY_HDR_LEN], out[RELAY_HDR_LEN];
	struct relay_hdr r;

	link_raw(h);
	h[O_SUITES] = RELAY_OFFER_AES;
	assert_roundtrip(h, &r);
	assert_int_equal(r.cmd, RELAY_CMD_LINK);
	assert_int_equal(r.blob_len, 2632);
	assert_int_equal(r.dst.port, 0);
	assert_int_equal(r.suites, RELAY_OFFER_AES);
	/* The header a client's LINK flight carries is this one. */
	struct relay_hdr lh = link_flight_hdr(1700000000, RELAY_OFFER_AES);
	assert_int_equal(relay_hdr_encode(out, sizeof(out), &lh), RELAY_HDR_LEN);
	assert_memory_equal(out, h, RELAY_HDR_LEN);

	/* Every fixed field, one at a time. */
	static const uint32_t blobs[] = {0, L, 7 * L - 1, 7 * L + 1, 8 * L};
	for (size_t i = 0; i < sizeof(blobs) / sizeof(blobs[0]); i++) {
		raw(h, 3, 0, blobs[i], 0, 0, 0, 0, NULL, 0);
		assert_status(h, PROTO_ERR_TOO_LONG);
	}
	raw(h, 3, 0, 7 * L, 1, 0, 0, 0, NULL, 0);
	assert_status(h, PROTO_ERR_TOO_LONG);
	raw(h, 3, 0, 7 * L, 0, L, 0, 0, NULL, 0);
	assert_status(h, PROTO_ERR_TOO_LONG);
	raw(h, 3, 0, 7 * L, 0, 0, 443, 0, NULL, 0);
	assert_status(h, PROTO_ERR_MALFORMED);
	raw(h, 3, 0, 7 * L, 0, 0, 0, 1, ip4, 4);
	assert_status(h, PROTO_ERR_MALFORMED);
	raw(h, 3, 0, 7 * L, 0, 0, 0, 1, NULL, 0);
	assert_status(h, PROTO_ERR_MALFORMED);
	raw(h, 3, 0, 7 * L, 0, 0, 0, 0, ip4, 4);
	assert_status(h, PROTO_ERR_MALFORMED);
	for (size_t at = O_ADDR; at < O_SUITES; at += 37) {
		link_raw(h);
		h[at] = 1;
		assert_status(h, PROTO_ERR_MALFORMED);
	}
	for (unsigned f = 1; f < 0x100; f <<= 1) {
		link_raw(h);
		h[O_FLAGS] = (uint8_t)f;
		assert_status(h, PROTO_ERR_MALFORMED);
	}
	link_raw(h);
	h[RELAY_HDR_LEN - 1] = 1;
	assert_status(h, PROTO_ERR_MALFORMED);

	/* The encoder writes no address, port or flag into a LINK header. */
	lh = link_flight_hdr(0, 0);
	lh.dst.port = 443;
	assert_int_equal(relay_hdr_encode(out, sizeof(out), &lh), 0);
	lh = link_flight_hdr(0, 0);
	lh.dst.type = PROTO_ADDR_IPV4;
	assert_int_equal(relay_hdr_encode(out, sizeof(out), &lh), 0);
	lh = link_flight_hdr(0, 0);
	lh.flags = RELAY_FLAG_REUSE;
	assert_int_equal(relay_hdr_encode(out, sizeof(out), &lh), 0);
	lh = link_flight_hdr(0, 0);
	lh.skip = 1;
	assert_int_equal(relay_hdr_encode(out, sizeof(out), &lh), 0);
}

/* ------------------------------------------------------------ BEGIN */

static enum proto_status begin_guarded(const uint8_t *p, size_t len, struct proto_addr *a)
{
	struct guard g;
	enum proto_status st = relay_begin_parse(guard_copy(&g, p, len), len, a);
	guard_free(&g);
	return st;
}

static void test_begin(void **state)
{
	(void)state;
	struct proto_addr a;
	static const uint8_t v4[] = {0x01, 0xbb, 1, 4, 192, 0, 2, 1};
	assert_int_equal(begin_guarded(v4, sizeof(v4), &a), PROTO_DONE);
	assert_int_equal(a.type, PROTO_ADDR_IPV4);
	assert_int_equal(a.port, 443);
	assert_memory_equal(a.ip, ip4, 4);

	uint8_t name[4 + sizeof(NAME) - 1] = {0x00, 0x50, 3, sizeof(NAME) - 1};
	memcpy(name + 4, NAME, sizeof(NAME) - 1);
	assert_int_equal(relay_begin_parse(name, sizeof(name), &a), PROTO_DONE);
	assert_int_equal(a.type, PROTO_ADDR_DOMAIN);
	assert_int_equal(a.port, 80);
	assert_int_equal(a.name_len, sizeof(NAME) - 1);
	assert_memory_equal(a.name, NAME, sizeof(NAME) - 1);

	uint8_t v6[4 + 16] = {0x00, 0x16, 4, 16};
	memcpy(v6 + 4, ip6, 16);
	assert_int_equal(begin_guarded(v6, sizeof(v6), &a), PROTO_DONE);
	assert_int_equal(a.type, PROTO_ADDR_IPV6);
	assert_memory_equal(a.ip, ip6, 16);

	/* Encoding gives the same bytes back. */
	uint8_t out[RELAY_BEGIN_MAX];
	assert_int_equal(relay_begin_encode(out, sizeof(out), &a), sizeof(v6));
	assert_memory_equal(out, v6, sizeof(v6));
	assert_int_equal(relay_begin_parse(name, sizeof(name), &a), PROTO_DONE);
	assert_int_equal(relay_begin_encode(out, sizeof(out), &a), sizeof(name));
	assert_memory_equal(out, name, sizeof(name));
	assert_int_equal(relay_begin_encode(out, sizeof(name) - 1, &a), 0);
}

static void test_begin_refuses(void **state)
{
	(void)state;
	struct proto_addr a;
	uint8_t b[8] = {0x01, 0xbb, 1, 4, 192, 0, 2, 1};
	/* Every cut is short; one byte more is too long. */
	for (size_t n = 0; n < sizeof(b); n++)
		assert_int_equal(begin_guarded(b, n, &a), PROTO_NEED_MORE);
	uint8_t longer[9] = {0x01, 0xbb, 1, 4, 192, 0, 2, 1, 0};
	assert_int_equal(begin_guarded(longer, sizeof(longer), &a), PROTO_ERR_TOO_LONG);
	b[0] = b[1] = 0; /* port 0 */
	assert_int_equal(begin_guarded(b, sizeof(b), &a), PROTO_ERR_MALFORMED);
	b[1] = 80;
	b[2] = 2; /* no such address type */
	assert_int_equal(begin_guarded(b, sizeof(b), &a), PROTO_ERR_ADDRTYPE);
	b[2] = 4; /* IPv6 with 4 bytes */
	assert_int_equal(begin_guarded(b, sizeof(b), &a), PROTO_ERR_MALFORMED);
	uint8_t empty[4] = {0, 80, 3, 0}; /* an empty name */
	assert_int_equal(begin_guarded(empty, sizeof(empty), &a), PROTO_ERR_MALFORMED);
	struct proto_addr bad = {.type = PROTO_ADDR_IPV4, .port = 0};
	uint8_t out[RELAY_BEGIN_MAX];
	assert_int_equal(relay_begin_encode(out, sizeof(out), &bad), 0);
}

/* ------------------------------------------------------------ padding */

static void test_sizes(void **state)
{
	(void)state;
	/* SPEC.md: a layer is 24 + 32 + 304 + 16 bytes; the head is what precedes the blob. */
	assert_int_equal(RELAY_LAYER_LEN, 376);
	assert_int_equal(RELAY_HEAD_LEN, 360);
	assert_int_equal(RELAY_BLOB_MAX, 8 * 376 + 16384);
	assert_int_equal(RELAY_SKIP_MAX, 7 * 376);
	assert_int_equal(RELAY_REPLY_LEN, 49); /* R, the suite byte, the tag */
	assert_int_equal(RECORD_OVERHEAD, 19);
	assert_int_equal(RECORD_WIRE_MAX, 16402);
}

/*
 * For every chain length and amounts of early data: every link carries F =
 * 8L + d bytes, each header is in range, and the exit's blob is the data
 * and (8 - n)L bytes of filler.
 */
static void test_flight_arithmetic(void **state)
{
	(void)state;
	static const size_t early[] = {0, 1, 37, 375, 376, 16383, RELAY_EARLY_MAX};
	for (size_t e = 0; e < sizeof(early) / sizeof(early[0]); e++) {
		size_t d = early[e];
		size_t F = relay_flight_len(d);
		assert_int_equal(F, 8 * 376 + d);
		for (unsigned n = 1; n <= RELAY_MAX_HOPS; n++) {
			assert_int_equal(relay_blob_len(n, n, d), d + (8 - n) * L);
			for (unsigned k = 1; k <= n; k++) {
				size_t blob = relay_blob_len(k, n, d);
				size_t skip = relay_skip_len(k);
				assert_int_equal(blob, F - k * L);
				assert_int_equal(skip, (k - 1) * L);
				/* What hop k reads: its layer, then the skip. */
				assert_int_equal(L + blob + skip, F);
				/* What it sends on: its blob, then L + skip random bytes. */
				assert_int_equal(blob + L + skip, F);
				/* Hop k's blob is hop k+1's layer. */
				if (k < n)
					assert_int_equal(blob, L + relay_blob_len(k + 1, n, d));
				/* Every header that a client builds parses. */
				uint8_t h[RELAY_HDR_LEN];
				if (k < n)
					raw(h, 1, 0, (uint32_t)blob, (uint32_t)blob, (uint16_t)skip,
					    1, 1, ip4, 4);
				else
					raw(h, 2, 0, (uint32_t)blob, (uint32_t)d, (uint16_t)skip, 1,
					    3, NAME, sizeof(NAME) - 1);
				assert_status(h, PROTO_DONE);
			}
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_extend_ipv4),
	    cmocka_unit_test(test_extend_ipv6),
	    cmocka_unit_test(test_connect_name),
	    cmocka_unit_test(test_connect_ip),
	    cmocka_unit_test(test_encode_layout),
	    cmocka_unit_test(test_size),
	    cmocka_unit_test(test_version),
	    cmocka_unit_test(test_command),
	    cmocka_unit_test(test_lengths),
	    cmocka_unit_test(test_reserved),
	    cmocka_unit_test(test_suites),
	    cmocka_unit_test(test_flags),
	    cmocka_unit_test(test_link),
	    cmocka_unit_test(test_begin),
	    cmocka_unit_test(test_begin_refuses),
	    cmocka_unit_test(test_port_zero),
	    cmocka_unit_test(test_name_with_extend),
	    cmocka_unit_test(test_address_lengths),
	    cmocka_unit_test(test_encode_refuses),
	    cmocka_unit_test(test_sizes),
	    cmocka_unit_test(test_flight_arithmetic),
	};
	return cmocka_run_group_tests_name("relay_hdr", tests, NULL, NULL);
}
