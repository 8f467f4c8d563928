/*
 * Character classes and comparisons shared by the HTTP parser, body scanner
 * and encoders (RFC 9110 section 5.6). Private to protocol/.
 */
#ifndef NACRE_HTTP_CHARS_H
#define NACRE_HTTP_CHARS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A chunk-size line or a trailer line longer than this is malformed. */
#define HTTP_CHUNK_LINE_MAX 4096
/* Content-Length digits: 10^18 - 1 fits easily in a uint64_t. */
#define HTTP_LENGTH_DIGITS_MAX 18
/* Chunk-size hex digits: 16^15 - 1 fits easily in a uint64_t. */
#define HTTP_CHUNK_DIGITS_MAX 15

static inline bool http_is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

static inline bool http_is_alpha(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline int http_hex_value(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* tchar of RFC 9110 section 5.6.2. */
static inline bool http_is_tchar(uint8_t c)
{
	static const char extra[] = "!#$%&'*+-.^_`|~";

	if (http_is_digit(c) || http_is_alpha(c))
		return true;
	return c != 0 && memchr(extra, c, sizeof(extra) - 1) != NULL;
}

/* A byte that may not appear in a field value: CTL other than HTAB, and DEL. */
static inline bool http_is_bad_ctl(uint8_t c)
{
	return (c < 0x20 && c != '\t') || c == 0x7f;
}

static inline bool http_is_ows(uint8_t c)
{
	return c == ' ' || c == '\t';
}

static inline uint8_t http_lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + ('a' - 'A')) : c;
}

/* Case-insensitive comparison of (a, n) with the NUL-terminated s. */
static inline bool http_ieq(const uint8_t *a, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] == '\0' || http_lower(a[i]) != http_lower((uint8_t)s[i]))
			return false;
	}
	return s[i] == '\0';
}

static inline bool http_ieq2(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
	if (an != bn)
		return false;
	for (size_t i = 0; i < an; i++) {
		if (http_lower(a[i]) != http_lower(b[i]))
			return false;
	}
	return true;
}

#endif
