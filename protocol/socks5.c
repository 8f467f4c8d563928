/*
 * SOCKS5 (RFC 1928) and its username/password sub-negotiation (RFC 1929).
 *
 * Every parser checks the bytes in wire order and returns as soon as they decide
 * the answer: an error the moment a byte proves the message invalid (a wrong
 * version in a one-byte input is PROTO_ERR_VERSION, not NEED_MORE), NEED_MORE
 * while the bytes so far are a valid prefix. On anything but PROTO_DONE, *used
 * and *out are left untouched. All messages are self-delimiting, so none of the
 * parsers ever looks past the message it parses.
 *
 *   client -> server  greeting  VER(5) NMETHODS METHODS[NMETHODS]
 *   server -> client  method    VER(5) METHOD
 *   client -> server  auth      VER(1) ULEN UNAME[ULEN] PLEN PASSWD[PLEN]  (method 0x02)
 *   server -> client  status    VER(1) STATUS
 *   client -> server  request   VER(5) CMD RSV(0) ATYP DST.ADDR DST.PORT
 *   server -> client  reply     VER(5) REP RSV(0) ATYP BND.ADDR BND.PORT
 */
#include "config.h"

#include <string.h>

#include "socks5.h"

enum proto_status socks5_parse_greeting(const uint8_t *p, size_t len, size_t *used,
                                        struct socks5_greeting *out)
{
	if (len < 1)
		return PROTO_NEED_MORE;
	if (p[0] != SOCKS5_VERSION)
		return PROTO_ERR_VERSION;
	if (len < 2)
		return PROTO_NEED_MORE;
	size_t n = p[1];
	if (n == 0)
		return PROTO_ERR_MALFORMED;
	if (len < 2 + n)
		return PROTO_NEED_MORE;
	out->methods = p + 2;
	out->nmethods = n;
	*used = 2 + n;
	return PROTO_DONE;
}

bool socks5_greeting_offers(const struct socks5_greeting *g, uint8_t method)
{
	for (size_t i = 0; i < g->nmethods; i++) {
		if (g->methods[i] == method)
			return true;
	}
	return false;
}

size_t socks5_encode_method(uint8_t *dst, size_t cap, uint8_t method)
{
	if (cap < 2)
		return 0;
	dst[0] = SOCKS5_VERSION;
	dst[1] = method;
	return 2;
}

enum proto_status socks5_parse_auth(const uint8_t *p, size_t len, size_t *used,
                                    struct socks5_auth *out)
{
	if (len < 1)
		return PROTO_NEED_MORE;
	if (p[0] != SOCKS5_AUTH_VERSION)
		return PROTO_ERR_VERSION;
	if (len < 2)
		return PROTO_NEED_MORE;
	size_t ulen = p[1];
	if (ulen == 0)
		return PROTO_ERR_MALFORMED;
	/* PLEN sits at 2 + ulen. */
	if (len < 3 + ulen)
		return PROTO_NEED_MORE;
	size_t plen = p[2 + ulen];
	if (plen == 0)
		return PROTO_ERR_MALFORMED;
	if (len < 3 + ulen + plen)
		return PROTO_NEED_MORE;
	out->user = p + 2;
	out->user_len = ulen;
	out->pass = p + 3 + ulen;
	out->pass_len = plen;
	*used = 3 + ulen + plen;
	return PROTO_DONE;
}

size_t socks5_encode_auth_reply(uint8_t *dst, size_t cap, uint8_t status)
{
	if (cap < 2)
		return 0;
	dst[0] = SOCKS5_AUTH_VERSION;
	dst[1] = status;
	return 2;
}

/*
 * ATYP DST.ADDR DST.PORT, starting at p[0] = ATYP, shared by the request parser.
 * Returns DONE with *used covering the address and port.
 */
static enum proto_status parse_addr(const uint8_t *p, size_t len, size_t *used,
                                    struct proto_addr *out)
{
	if (len < 1)
		return PROTO_NEED_MORE;
	size_t alen, off = 1;
	switch (p[0]) {
	case PROTO_ADDR_IPV4:
		alen = 4;
		break;
	case PROTO_ADDR_IPV6:
		alen = 16;
		break;
	case PROTO_ADDR_DOMAIN:
		if (len < 2)
			return PROTO_NEED_MORE;
		alen = p[1];
		if (alen == 0)
			return PROTO_ERR_MALFORMED;
		off = 2;
		break;
	default:
		return PROTO_ERR_ADDRTYPE;
	}
	if (len < off + alen + 2)
		return PROTO_NEED_MORE;

	memset(out, 0, sizeof(*out));
	out->type = (enum proto_addr_type)p[0];
	if (out->type == PROTO_ADDR_DOMAIN) {
		out->name = p + off;
		out->name_len = alen;
	} else {
		memcpy(out->ip, p + off, alen);
	}
	out->port = proto_load16(p + off + alen);
	*used = off + alen + 2;
	return PROTO_DONE;
}

enum proto_status socks5_parse_request(const uint8_t *p, size_t len, size_t *used,
                                       struct socks5_request *out)
{
	if (len < 1)
		return PROTO_NEED_MORE;
	if (p[0] != SOCKS5_VERSION)
		return PROTO_ERR_VERSION;
	/* p[1] is CMD: any value is structurally valid. */
	if (len < 3)
		return PROTO_NEED_MORE;
	if (p[2] != 0)
		return PROTO_ERR_MALFORMED;

	struct proto_addr addr;
	size_t alen;
	enum proto_status s = parse_addr(p + 3, len - 3, &alen, &addr);
	if (s != PROTO_DONE)
		return s;
	out->cmd = p[1];
	out->dst = addr;
	*used = 3 + alen;
	return PROTO_DONE;
}

size_t socks5_encode_reply(uint8_t *dst, size_t cap, uint8_t rep, const struct proto_addr *bnd)
{
	const struct proto_addr unspecified = {.type = PROTO_ADDR_IPV4};
	if (!bnd)
		bnd = &unspecified;

	size_t alen, off = 4;
	switch (bnd->type) {
	case PROTO_ADDR_IPV4:
		alen = 4;
		break;
	case PROTO_ADDR_IPV6:
		alen = 16;
		break;
	case PROTO_ADDR_DOMAIN:
		/* A reply must be parseable: no empty or overlong name. */
		if (bnd->name_len == 0 || bnd->name_len > PROTO_NAME_MAX || !bnd->name)
			return 0;
		alen = bnd->name_len;
		off = 5;
		break;
	default:
		return 0;
	}
	size_t n = off + alen + 2;
	if (cap < n)
		return 0;

	dst[0] = SOCKS5_VERSION;
	dst[1] = rep;
	dst[2] = 0;
	dst[3] = (uint8_t)bnd->type;
	if (bnd->type == PROTO_ADDR_DOMAIN) {
		dst[4] = (uint8_t)alen;
		memcpy(dst + off, bnd->name, alen);
	} else {
		memcpy(dst + off, bnd->ip, alen);
	}
	proto_store16(dst + off + alen, bnd->port);
	return n;
}
