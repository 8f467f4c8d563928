/*
 * SOCKS5 (RFC 1928) with username/password authentication (RFC 1929) and Tor's
 * RESOLVE (0xF0) and RESOLVE_PTR (0xF1) commands. Sans-I/O: see proto.h.
 *
 * The parsers check structure only. What a command means (whether BIND is
 * supported, whether the credentials are right) is for the caller to decide.
 */
#ifndef NACRE_SOCKS5_H
#define NACRE_SOCKS5_H

#include <stdbool.h>

#include "proto.h"

#define SOCKS5_VERSION      0x05
#define SOCKS5_AUTH_VERSION 0x01

enum socks5_method {
	SOCKS5_METHOD_NONE = 0x00,
	SOCKS5_METHOD_USERPASS = 0x02,
	SOCKS5_METHOD_REJECT = 0xFF,
};

enum socks5_cmd {
	SOCKS5_CMD_CONNECT = 0x01,
	SOCKS5_CMD_BIND = 0x02,
	SOCKS5_CMD_UDP_ASSOCIATE = 0x03,
	SOCKS5_CMD_RESOLVE = 0xF0,
	SOCKS5_CMD_RESOLVE_PTR = 0xF1,
};

enum socks5_reply {
	SOCKS5_REP_SUCCEEDED = 0x00,
	SOCKS5_REP_GENERAL_FAILURE = 0x01,
	SOCKS5_REP_NOT_ALLOWED = 0x02,
	SOCKS5_REP_NET_UNREACHABLE = 0x03,
	SOCKS5_REP_HOST_UNREACHABLE = 0x04,
	SOCKS5_REP_REFUSED = 0x05,
	SOCKS5_REP_TTL_EXPIRED = 0x06,
	SOCKS5_REP_CMD_UNSUPPORTED = 0x07,
	SOCKS5_REP_ATYP_UNSUPPORTED = 0x08,
};

/* Largest messages: greeting 2+255, auth 3+255+255, request/reply 6+1+255. */
#define SOCKS5_GREETING_MAX 257
#define SOCKS5_AUTH_MAX     513
#define SOCKS5_REQUEST_MAX  262
#define SOCKS5_REPLY_MAX    262

/* VER NMETHODS METHODS... ; NMETHODS must be at least 1. */
struct socks5_greeting {
	const uint8_t *methods; /* view, nmethods bytes */
	size_t nmethods;
};

enum proto_status socks5_parse_greeting(const uint8_t *p, size_t len, size_t *used,
                                        struct socks5_greeting *out);
bool socks5_greeting_offers(const struct socks5_greeting *g, uint8_t method);
/* VER METHOD */
size_t socks5_encode_method(uint8_t *dst, size_t cap, uint8_t method);

/* RFC 1929: VER(1) ULEN UNAME PLEN PASSWD; ULEN and PLEN at least 1. */
struct socks5_auth {
	const uint8_t *user;
	size_t user_len;
	const uint8_t *pass;
	size_t pass_len;
};

enum proto_status socks5_parse_auth(const uint8_t *p, size_t len, size_t *used,
                                    struct socks5_auth *out);
/* VER(1) STATUS: 0 is success, anything else failure. */
size_t socks5_encode_auth_reply(uint8_t *dst, size_t cap, uint8_t status);

/*
 * VER CMD RSV ATYP DST.ADDR DST.PORT. Any CMD value is returned as DONE (the
 * caller answers 0x07 for the ones it does not serve); an unknown ATYP is
 * PROTO_ERR_ADDRTYPE, a non-zero RSV or an empty name PROTO_ERR_MALFORMED.
 */
struct socks5_request {
	uint8_t cmd;
	struct proto_addr dst;
};

enum proto_status socks5_parse_request(const uint8_t *p, size_t len, size_t *used,
                                       struct socks5_request *out);

/*
 * VER REP RSV ATYP BND.ADDR BND.PORT. bnd may be NULL (then 0.0.0.0:0); a DOMAIN
 * bnd is how RESOLVE_PTR answers.
 */
size_t socks5_encode_reply(uint8_t *dst, size_t cap, uint8_t rep, const struct proto_addr *bnd);

#endif
