/*
 * HTTP message-body framing (RFC 9112 sections 6 and 7.1): finds where a
 * Content-Length or chunked body ends while its bytes are passed through
 * unchanged. The chunked decoder is a byte-at-a-time state machine, so a body
 * may arrive cut at any point. See http.h.
 *
 * Every line of the chunked coding (chunk-size lines, the end of chunk data,
 * trailer lines and the final blank line) must end in CRLF: RFC 9112 lets a
 * recipient take a bare LF only in the start line and header fields. The bytes
 * pass through unchanged, so an origin that requires CRLF would frame a body
 * such as "2;\nxx\r\n..." differently from us: a smuggled request.
 */
#include "config.h"

#include <string.h>

#include "http.h"
#include "http_chars.h"

enum {
	HTTP_CH_SIZE,     /* in a chunk-size line (digits, then b->ext) */
	HTTP_CH_SIZE_LF,  /* after the CR of a chunk-size line */
	HTTP_CH_DATA,     /* in chunk data: b->remaining bytes left */
	HTTP_CH_DATA_CR,  /* after chunk data: CR */
	HTTP_CH_DATA_LF,  /* after chunk data and CR: LF */
	HTTP_CH_TRAILER,  /* at the start of a trailer line or the final blank line */
	HTTP_CH_TR_NAME,  /* in a trailer field name */
	HTTP_CH_TR_VALUE, /* in a trailer field value */
	HTTP_CH_TR_LF,    /* after the CR of a trailer line */
	HTTP_CH_END_LF,   /* after the CR of the final blank line */
	HTTP_CH_DONE,
	HTTP_CH_ERROR,
};

void http_body_init(struct http_body *b, enum http_body_kind kind, uint64_t content_length)
{
	memset(b, 0, sizeof(*b));
	b->kind = kind;
	b->remaining = kind == HTTP_BODY_LENGTH ? content_length : 0;
	b->state = HTTP_CH_SIZE;
}

/* Steps the chunked decoder over one byte outside chunk data. */
static enum proto_status http_chunk_byte(struct http_body *b, uint8_t c)
{
	int v;

	switch (b->state) {
	case HTTP_CH_SIZE:
		if (c == '\r') {
			if (!b->digits)
				return PROTO_ERR_MALFORMED;
			b->state = HTTP_CH_SIZE_LF;
			return PROTO_NEED_MORE;
		}
		/* A bare LF is refused as a CTL in an extension, as a non-digit before. */
		if (++b->line_len > HTTP_CHUNK_LINE_MAX)
			return PROTO_ERR_MALFORMED;
		if (b->ext)
			return http_is_bad_ctl(c) ? PROTO_ERR_MALFORMED : PROTO_NEED_MORE;
		if (c == ';' && b->digits) {
			b->ext = true;
			return PROTO_NEED_MORE;
		}
		v = http_hex_value(c);
		if (v < 0 || b->line_len > HTTP_CHUNK_DIGITS_MAX)
			return PROTO_ERR_MALFORMED;
		b->digits = true;
		b->remaining = b->remaining * 16 + (uint64_t)v;
		return PROTO_NEED_MORE;
	case HTTP_CH_SIZE_LF:
		if (c != '\n')
			return PROTO_ERR_MALFORMED;
		break;
	case HTTP_CH_DATA_CR:
		if (c != '\r')
			return PROTO_ERR_MALFORMED;
		b->state = HTTP_CH_DATA_LF;
		return PROTO_NEED_MORE;
	case HTTP_CH_DATA_LF:
		if (c != '\n')
			return PROTO_ERR_MALFORMED;
		b->state = HTTP_CH_SIZE;
		return PROTO_NEED_MORE;
	case HTTP_CH_TRAILER:
		b->line_len = 0;
		if (c == '\r') {
			b->state = HTTP_CH_END_LF;
			return PROTO_NEED_MORE;
		}
		if (!http_is_tchar(c))
			return PROTO_ERR_MALFORMED; /* a bare LF, obs-fold or garbage */
		b->state = HTTP_CH_TR_NAME;
		b->line_len = 1;
		return PROTO_NEED_MORE;
	case HTTP_CH_TR_NAME:
		if (++b->line_len > HTTP_CHUNK_LINE_MAX)
			return PROTO_ERR_MALFORMED;
		if (c == ':')
			b->state = HTTP_CH_TR_VALUE;
		else if (!http_is_tchar(c))
			return PROTO_ERR_MALFORMED;
		return PROTO_NEED_MORE;
	case HTTP_CH_TR_VALUE:
		if (c == '\r') {
			b->state = HTTP_CH_TR_LF;
			return PROTO_NEED_MORE;
		}
		if (++b->line_len > HTTP_CHUNK_LINE_MAX || http_is_bad_ctl(c))
			return PROTO_ERR_MALFORMED;
		return PROTO_NEED_MORE;
	case HTTP_CH_TR_LF:
		if (c != '\n')
			return PROTO_ERR_MALFORMED;
		b->state = HTTP_CH_TRAILER;
		return PROTO_NEED_MORE;
	case HTTP_CH_END_LF:
		return c == '\n' ? PROTO_DONE : PROTO_ERR_MALFORMED;
	default:
		return PROTO_ERR_MALFORMED;
	}

	/* The end of a chunk-size line: data follows, or the trailers. */
	b->state = b->remaining ? HTTP_CH_DATA : HTTP_CH_TRAILER;
	b->line_len = 0;
	b->ext = false;
	b->digits = false;
	return PROTO_NEED_MORE;
}

static enum proto_status http_chunked_scan(struct http_body *b, const uint8_t *p, size_t len,
                                           size_t *used)
{
	size_t i = 0;

	if (b->state == HTTP_CH_DONE) {
		*used = 0;
		return PROTO_DONE;
	}
	while (i < len && b->state != HTTP_CH_ERROR) {
		if (b->state == HTTP_CH_DATA) {
			size_t take = len - i;
			if ((uint64_t)take > b->remaining)
				take = (size_t)b->remaining;
			i += take;
			b->remaining -= take;
			if (b->remaining == 0)
				b->state = HTTP_CH_DATA_CR;
			continue;
		}
		enum proto_status st = http_chunk_byte(b, p[i++]);
		if (st == PROTO_DONE) {
			b->state = HTTP_CH_DONE;
			*used = i;
			return PROTO_DONE;
		}
		if (st != PROTO_NEED_MORE) {
			b->state = HTTP_CH_ERROR;
			*used = i - 1;
			return st;
		}
	}
	if (b->state == HTTP_CH_ERROR) {
		*used = 0;
		return PROTO_ERR_MALFORMED;
	}
	*used = len;
	return PROTO_NEED_MORE;
}

enum proto_status http_body_scan(struct http_body *b, const uint8_t *p, size_t len, size_t *used)
{
	switch (b->kind) {
	case HTTP_BODY_NONE:
		*used = 0;
		return PROTO_DONE;
	case HTTP_BODY_LENGTH:
		if ((uint64_t)len >= b->remaining) {
			*used = (size_t)b->remaining;
			b->remaining = 0;
			return PROTO_DONE;
		}
		b->remaining -= len;
		*used = len;
		return PROTO_NEED_MORE;
	case HTTP_BODY_CHUNKED:
		return http_chunked_scan(b, p, len, used);
	case HTTP_BODY_CLOSE:
		*used = len;
		return PROTO_NEED_MORE;
	}
	*used = 0;
	return PROTO_ERR_MALFORMED;
}
