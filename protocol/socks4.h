/*
 * SOCKS4 and SOCKS4a requests. Sans-I/O: see proto.h.
 *
 * VN(4) CD DSTPORT(2) DSTIP(4) USERID NUL [DOMAIN NUL]
 * SOCKS4a is signalled by DSTIP 0.0.0.x with x != 0; the domain then follows the
 * USERID's NUL. The parser returns any CD value; the caller refuses what it does
 * not serve.
 */
#ifndef NACRE_SOCKS4_H
#define NACRE_SOCKS4_H

#include <stdbool.h>

#include "proto.h"

#define SOCKS4_VERSION 0x04

enum socks4_cmd {
	SOCKS4_CMD_CONNECT = 0x01,
	SOCKS4_CMD_BIND = 0x02,
};

enum socks4_reply {
	SOCKS4_REP_GRANTED = 90,
	SOCKS4_REP_REJECTED = 91,
	SOCKS4_REP_NO_IDENTD = 92,
	SOCKS4_REP_IDENT_MISMATCH = 93,
};

#define SOCKS4_USERID_MAX 255
/* 8 fixed bytes, USERID and NUL, DOMAIN and NUL. */
#define SOCKS4_REQUEST_MAX (8 + SOCKS4_USERID_MAX + 1 + PROTO_NAME_MAX + 1)
#define SOCKS4_REPLY_LEN   8

struct socks4_request {
	uint8_t cmd;
	bool is_4a;
	struct proto_addr dst; /* IPV4, or DOMAIN for SOCKS4a */
	const uint8_t *userid; /* view, may be empty */
	size_t userid_len;
};

/*
 * A USERID or DOMAIN longer than its maximum without a NUL is
 * PROTO_ERR_TOO_LONG; an empty SOCKS4a domain is PROTO_ERR_MALFORMED.
 */
enum proto_status socks4_parse_request(const uint8_t *p, size_t len, size_t *used,
                                       struct socks4_request *out);

/* VN(0) CD DSTPORT DSTIP; ip may be NULL for 0.0.0.0. */
size_t socks4_encode_reply(uint8_t *dst, size_t cap, uint8_t code, const uint8_t ip[4],
                           uint16_t port);

#endif
