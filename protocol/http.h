/*
 * HTTP/1.x proxy messages: request heads (CONNECT and absolute-form), response
 * heads, and message-body framing. Sans-I/O: see proto.h.
 *
 * Strict on purpose (RFC 9112): a proxy that reads a message differently from
 * the origin is a request-smuggling hole. Rejected: a bad request line, a major
 * version other than 1 (PROTO_ERR_VERSION), HTTP/1.1 without Host
 * (PROTO_ERR_NO_HOST), conflicting Content-Length (PROTO_ERR_LENGTH),
 * Content-Length with Transfer-Encoding or a coding other than a final
 * "chunked" (PROTO_ERR_FRAMING), whitespace before a colon and obs-fold
 * (PROTO_ERR_HEADER), a head over HTTP_HEAD_MAX (PROTO_ERR_TOO_LONG).
 * Bare LF line endings are accepted as CRLF is in the start line and header
 * fields, as RFC 9112 allows; every line of a chunked body must end in CRLF.
 */
#ifndef NACRE_HTTP_H
#define NACRE_HTTP_H

#include <stdbool.h>

#include "proto.h"

#define HTTP_HEAD_MAX    16384 /* request line or status line plus all headers */
#define HTTP_HEADERS_MAX 100

struct http_header {
	const uint8_t *name;
	size_t name_len;
	const uint8_t *value; /* leading and trailing whitespace trimmed */
	size_t value_len;
	bool hop_by_hop; /* set by the parser: never forwarded by a proxy */
};

enum http_body_kind {
	HTTP_BODY_NONE,    /* no body */
	HTTP_BODY_LENGTH,  /* exactly content_length bytes */
	HTTP_BODY_CHUNKED, /* chunked coding, ends with the last chunk and trailers */
	HTTP_BODY_CLOSE,   /* until the connection closes (responses only) */
};

enum http_form {
	HTTP_FORM_ORIGIN,    /* "/path": not a proxy request */
	HTTP_FORM_ABSOLUTE,  /* "http://host[:port]/path" */
	HTTP_FORM_AUTHORITY, /* "host:port", CONNECT only */
	HTTP_FORM_ASTERISK,  /* "*" */
};

struct http_request {
	const uint8_t *method;
	size_t method_len;
	const uint8_t *target; /* the request-target as sent */
	size_t target_len;
	int version_minor; /* HTTP/1.x */
	enum http_form form;
	bool is_connect;
	/*
	 * ABSOLUTE and AUTHORITY forms: the destination. host is a view without
	 * IPv6 brackets; port defaults to 80 for http://. path is the origin-form
	 * to send ("/" when the URI has none), including any query.
	 * An absolute URI with a scheme other than http, or with userinfo, is
	 * PROTO_ERR_MALFORMED.
	 */
	const uint8_t *host;
	size_t host_len;
	bool host_is_ipv6;
	uint16_t port;
	const uint8_t *path;
	size_t path_len;
	struct http_header headers[HTTP_HEADERS_MAX];
	size_t nheaders;
	enum http_body_kind body; /* never HTTP_BODY_CLOSE for requests */
	uint64_t content_length;
	bool keep_alive; /* the client wants the connection kept after this */
	size_t head_len; /* bytes of the head, including the blank line */
};

/*
 * Parses one request head from the start of p. A method must be a token; the
 * request target must have no whitespace or control bytes; CONNECT takes only
 * authority-form with a port.
 */
enum proto_status http_parse_request(const uint8_t *p, size_t len, struct http_request *out);

struct http_response {
	int version_minor;
	int status; /* 100..999 */
	const uint8_t *reason;
	size_t reason_len;
	struct http_header headers[HTTP_HEADERS_MAX];
	size_t nheaders;
	enum http_body_kind body;
	uint64_t content_length;
	bool keep_alive; /* the origin keeps the connection after this */
	size_t head_len;
};

/*
 * Parses one response head. The body kind follows RFC 9112 section 6.3: none
 * for a response to HEAD, for 1xx, 204 and 304; then chunked, Content-Length,
 * or until close.
 */
enum proto_status http_parse_response(const uint8_t *p, size_t len, bool request_was_head,
                                      struct http_response *out);

/* Finds a header by case-insensitive name; NULL if absent. */
const struct http_header *http_find_header(const struct http_header *h, size_t n, const char *name);

/*
 * Body framing. The bytes of a body are passed through unchanged (chunked stays
 * chunked); the scanner only finds where the body ends. Call with successive
 * slices of the stream: *used says how many bytes of this slice belong to the
 * body. PROTO_DONE: the body ended at *used. PROTO_NEED_MORE: all of the slice
 * was body and more follows. PROTO_ERR_MALFORMED: a broken chunk size line,
 * chunk terminator or trailer, any of them ending in a bare LF (a chunk-size
 * line or trailer line longer than its fixed maximum is also malformed).
 * HTTP_BODY_CLOSE never ends here: the caller ends it at EOF.
 */
struct http_body {
	enum http_body_kind kind;
	uint64_t remaining; /* LENGTH: bytes left; CHUNKED: bytes left in chunk */
	int state;          /* chunked decoder state, private */
	size_t line_len;    /* length of the current size or trailer line so far */
	bool ext;           /* inside a chunk extension */
	bool digits;        /* the size line has at least one hex digit */
};

void http_body_init(struct http_body *b, enum http_body_kind kind, uint64_t content_length);
enum proto_status http_body_scan(struct http_body *b, const uint8_t *p, size_t len, size_t *used);

/*
 * Writes the head to send to the origin for an absolute-form request:
 * "METHOD path HTTP/1.x", then "Host: host[:port]" from the URI (the port only
 * when it is not 80; IPv6 in brackets), then every header except Host and the
 * hop-by-hop ones, then "Connection: close" when !req->keep_alive, then the
 * blank line. Nothing is added that identifies the client.
 */
size_t http_encode_request_head(uint8_t *dst, size_t cap, const struct http_request *req);

/*
 * Writes a response head to send to the client: the origin's status line and
 * headers minus the hop-by-hop ones, plus "Connection: close" when close is
 * true, plus the blank line.
 */
size_t http_encode_response_head(uint8_t *dst, size_t cap, const struct http_response *resp,
                                 bool close);

/*
 * Writes a whole short response generated by the proxy itself:
 * "HTTP/1.1 <status> <reason>", Content-Type: text/plain, Content-Length of a
 * one-line body naming the status, "Connection: close" when close is true, and
 * extra (a block of complete "Name: value\r\n" lines, or NULL). Reason phrases
 * are known for 200, 400, 403, 405, 407, 502, 503, 504, 505; "Connection
 * established" is used for 200 (the answer to CONNECT, with no body and no
 * Content-Length).
 */
size_t http_encode_status(uint8_t *dst, size_t cap, int status, bool close, const char *extra);

#endif
