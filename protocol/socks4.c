/*
 * SOCKS4 and SOCKS4a requests.
 *
 *   client -> server  VN(4) CD DSTPORT(2) DSTIP(4) USERID NUL           SOCKS4
 *   client -> server  VN(4) CD DSTPORT(2) 0.0.0.x USERID NUL DOMAIN NUL  SOCKS4a, x != 0
 *   server -> client  VN(0) CD DSTPORT(2) DSTIP(4)
 *
 * The parser checks bytes in wire order and answers as soon as they decide: an
 * error the moment a byte proves the request invalid, NEED_MORE while the bytes
 * are a valid prefix. On anything but PROTO_DONE, *used and *out are untouched.
 */
#include "config.h"

#include <string.h>

#include "socks4.h"

#define SOCKS4_FIXED_LEN 8

/*
 * Finds the NUL that ends a field of at most max bytes starting at p[0]. Returns
 * DONE with *field_len set, or NEED_MORE, or TOO_LONG once max + 1 bytes have
 * arrived without a NUL.
 */
static enum proto_status scan_nul(const uint8_t *p, size_t len, size_t max, size_t *field_len)
{
	size_t window = len < max + 1 ? len : max + 1;
	const uint8_t *nul = window ? memchr(p, 0, window) : NULL;
	if (nul) {
		*field_len = (size_t)(nul - p);
		return PROTO_DONE;
	}
	return len > max ? PROTO_ERR_TOO_LONG : PROTO_NEED_MORE;
}

enum proto_status socks4_parse_request(const uint8_t *p, size_t len, size_t *used,
                                       struct socks4_request *out)
{
	if (len < 1)
		return PROTO_NEED_MORE;
	if (p[0] != SOCKS4_VERSION)
		return PROTO_ERR_VERSION;
	/* CD, DSTPORT and DSTIP: any value is structurally valid. */
	if (len < SOCKS4_FIXED_LEN)
		return PROTO_NEED_MORE;

	size_t user_len;
	enum proto_status s =
	    scan_nul(p + SOCKS4_FIXED_LEN, len - SOCKS4_FIXED_LEN, SOCKS4_USERID_MAX, &user_len);
	if (s != PROTO_DONE)
		return s;
	size_t n = SOCKS4_FIXED_LEN + user_len + 1;

	const uint8_t *ip = p + 4;
	bool is_4a = ip[0] == 0 && ip[1] == 0 && ip[2] == 0 && ip[3] != 0;
	const uint8_t *name = NULL;
	size_t name_len = 0;
	if (is_4a) {
		s = scan_nul(p + n, len - n, PROTO_NAME_MAX, &name_len);
		if (s != PROTO_DONE)
			return s;
		if (name_len == 0)
			return PROTO_ERR_MALFORMED;
		name = p + n;
		n += name_len + 1;
	}

	memset(out, 0, sizeof(*out));
	out->cmd = p[1];
	out->is_4a = is_4a;
	out->dst.port = proto_load16(p + 2);
	if (is_4a) {
		out->dst.type = PROTO_ADDR_DOMAIN;
		out->dst.name = name;
		out->dst.name_len = name_len;
	} else {
		out->dst.type = PROTO_ADDR_IPV4;
		memcpy(out->dst.ip, ip, 4);
	}
	out->userid = p + SOCKS4_FIXED_LEN;
	out->userid_len = user_len;
	*used = n;
	return PROTO_DONE;
}

size_t socks4_encode_reply(uint8_t *dst, size_t cap, uint8_t code, const uint8_t ip[4],
                           uint16_t port)
{
	if (cap < SOCKS4_REPLY_LEN)
		return 0;
	dst[0] = 0;
	dst[1] = code;
	proto_store16(dst + 2, port);
	if (ip)
		memcpy(dst + 4, ip, 4);
	else
		memset(dst + 4, 0, 4);
	return SOCKS4_REPLY_LEN;
}
