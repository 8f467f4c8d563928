/*
 * Shared vocabulary of the sans-I/O parsers and encoders in protocol/.
 *
 * Contract for every parser in this folder:
 *  - it takes (p, len) from the start of a message and never reads p[len];
 *  - it returns PROTO_DONE with *used set to the message's length, or
 *    PROTO_NEED_MORE when the bytes so far are a valid prefix, or one PROTO_ERR_*;
 *  - results are views into p (pointer + length, never NUL-terminated) and
 *    stay valid only while the caller keeps p;
 *  - it allocates nothing, reads no clock and no global, and logs nothing.
 * Encoders write into (dst, cap) and return the length written, or 0 when cap is
 * too small (no message is empty, so 0 is never a valid length).
 */
#ifndef NACRE_PROTO_H
#define NACRE_PROTO_H

#include <stddef.h>
#include <stdint.h>

enum proto_status {
	PROTO_DONE,          /* one whole message parsed */
	PROTO_NEED_MORE,     /* a valid prefix: call again with more bytes */
	PROTO_ERR_VERSION,   /* a protocol version this parser does not speak */
	PROTO_ERR_MALFORMED, /* bytes that can never become a valid message */
	PROTO_ERR_TOO_LONG,  /* over the message's fixed maximum size */
	PROTO_ERR_ADDRTYPE,  /* an address type this parser does not know */
	PROTO_ERR_NO_HOST,   /* HTTP/1.1 request without a usable Host */
	PROTO_ERR_LENGTH,    /* conflicting or invalid Content-Length */
	PROTO_ERR_FRAMING,   /* Content-Length with Transfer-Encoding, or unknown coding */
	PROTO_ERR_HEADER, /* a header line that breaks the grammar (space before colon, obs-fold) */
};

static inline int proto_failed(enum proto_status s)
{
	return s != PROTO_DONE && s != PROTO_NEED_MORE;
}

/* A short, fixed English description of a status, for logs. */
const char *proto_strerror(enum proto_status s);

/* Destination address as carried by SOCKS (the ATYP values of RFC 1928). */
enum proto_addr_type {
	PROTO_ADDR_IPV4 = 1,
	PROTO_ADDR_DOMAIN = 3,
	PROTO_ADDR_IPV6 = 4,
};

#define PROTO_NAME_MAX 255

struct proto_addr {
	enum proto_addr_type type;
	uint8_t ip[16];      /* IPV4: ip[0..3]; IPV6: ip[0..15]; network order */
	const uint8_t *name; /* DOMAIN: view into the input, 1..255 bytes */
	size_t name_len;
	uint16_t port; /* host byte order */
};

/*
 * a, with its name (if any) copied to the caller's name[] so that it no
 * longer views the input: the input may then be consumed or released.
 */
struct proto_addr proto_addr_detach(const struct proto_addr *a, uint8_t name[PROTO_NAME_MAX]);

/* Big-endian loads and stores: wire fields are never read through casts. */
static inline uint16_t proto_load16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static inline void proto_store16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline uint32_t proto_load32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void proto_store32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

#endif
