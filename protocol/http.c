/*
 * Strict HTTP/1.x proxy messages (RFC 9110, RFC 9112). See http.h.
 *
 * Nothing is kept between calls, so each call starts again from the first
 * byte; to keep that cheap while a head arrives in small pieces, a call checks
 * the request or status line (refusing garbage early, even before its end:
 * a TLS ClientHello sent to the HTTP port fails on its first byte), then only
 * looks for the blank line with memchr. The header lines are parsed and the
 * fields judged as a whole (Host, framing, Connection) once the head is
 * complete.
 *
 * Choices that the RFCs leave open, made here on the strict side:
 *  - a minor version above 1 is read as HTTP/1.1 (RFC 9110 section 6.2), so
 *    version_minor is always 0 or 1;
 *  - an empty line before the request line is refused, not skipped;
 *  - the request-target is printable ASCII only, without '#';
 *  - "http://host?query" (no path before the query) is refused, since path
 *    must be a view of the origin-form to send;
 *  - a host is a DNS-style reg-name (letters, digits, '-', '.', '_') or an
 *    IPv6 literal; every sub-delim is refused, as is '%' (no zone ids);
 *  - Transfer-Encoding in an HTTP/1.0 message is refused (RFC 9112 section
 *    6.1 says its framing is faulty);
 *  - a Connection header naming Content-Length or Transfer-Encoding is
 *    refused: dropping either would change how the next hop frames a body
 *    that is passed through unchanged.
 */
#include "config.h"

#include <string.h>

#include "http.h"
#include "http_chars.h"

/* ------------------------------------------------------------ characters */

static bool http_is_token(const uint8_t *p, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!http_is_tchar(p[i]))
			return false;
	}
	return true;
}

/*
 * Iterates the comma-separated elements of a field value, each trimmed of
 * OWS. Start with *pos = 0. An empty value yields one empty element, and
 * "a," yields "a" then "": the callers decide whether empty ones are allowed.
 */
static bool http_list_next(const uint8_t *v, size_t n, size_t *pos, const uint8_t **elem,
                           size_t *elem_len)
{
	size_t start = *pos, end;
	const uint8_t *comma;

	if (start > n)
		return false;
	comma = memchr(v + start, ',', n - start);
	end = comma ? (size_t)(comma - v) : n;
	*pos = end + 1;
	while (start < end && http_is_ows(v[start]))
		start++;
	while (end > start && http_is_ows(v[end - 1]))
		end--;
	*elem = v + start;
	*elem_len = end - start;
	return true;
}

/* ------------------------------------------------------------ hosts */

/* reg-name restricted to what a DNS name or an IPv4 literal can contain. */
static bool http_valid_regname(const uint8_t *h, size_t n)
{
	if (n == 0 || n > PROTO_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = h[i];
		if (!http_is_alpha(c) && !http_is_digit(c) && c != '-' && c != '.' && c != '_')
			return false;
	}
	return true;
}

/* The inside of "[...]": hex digits, ':' and '.', with at least one ':'. */
static bool http_valid_ipv6(const uint8_t *h, size_t n)
{
	bool colon = false;

	if (n < 2 || n > PROTO_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = h[i];
		if (c == ':')
			colon = true;
		else if (c != '.' && http_hex_value(c) < 0)
			return false;
	}
	return colon;
}

struct http_hostport {
	const uint8_t *host;
	size_t host_len;
	bool is_ipv6;
	bool has_port;
	uint16_t port;
};

enum http_port_rule {
	HTTP_PORT_REQUIRED, /* authority-form: ":" 1-65535 */
	HTTP_PORT_OPTIONAL, /* absolute URI: none, or ":" 1-65535 */
	HTTP_PORT_LENIENT,  /* Host field: none, ":" (empty), or ":" 1-65535 */
};

/* Parses all of (a, n) as host [":" port]. */
static bool http_parse_hostport(const uint8_t *a, size_t n, enum http_port_rule rule,
                                struct http_hostport *hp)
{
	size_t i;

	memset(hp, 0, sizeof(*hp));
	if (n > 0 && a[0] == '[') {
		const uint8_t *rb = memchr(a, ']', n);
		if (!rb)
			return false;
		hp->host = a + 1;
		hp->host_len = (size_t)(rb - a) - 1;
		if (!http_valid_ipv6(hp->host, hp->host_len))
			return false;
		hp->is_ipv6 = true;
		i = hp->host_len + 2;
	} else {
		const uint8_t *colon = memchr(a, ':', n);
		i = colon ? (size_t)(colon - a) : n;
		hp->host = a;
		hp->host_len = i;
		if (!http_valid_regname(a, i))
			return false;
	}
	if (i == n)
		return rule != HTTP_PORT_REQUIRED;
	if (a[i] != ':')
		return false;
	i++;
	if (i == n)
		return rule == HTTP_PORT_LENIENT;
	if (n - i > 5)
		return false;
	uint32_t port = 0;
	for (; i < n; i++) {
		if (!http_is_digit(a[i]))
			return false;
		port = port * 10 + (uint32_t)(a[i] - '0');
	}
	if (port == 0 || port > 65535)
		return false;
	hp->has_port = true;
	hp->port = (uint16_t)port;
	return true;
}

/* ------------------------------------------------------------ head lines */

/*
 * Finds the line that starts at pos: (*line, *line_len) without its CRLF or
 * LF, *next just after the LF. A CR that is not right before the LF stays in
 * the line, where the checks of each line refuse it as a control byte.
 * Looks no further than HTTP_HEAD_MAX bytes from the start of the head.
 */
static enum proto_status http_next_line(const uint8_t *p, size_t len, size_t pos,
                                        const uint8_t **line, size_t *line_len, size_t *next)
{
	size_t limit = len < HTTP_HEAD_MAX ? len : HTTP_HEAD_MAX;
	const uint8_t *lf = pos < limit ? memchr(p + pos, '\n', limit - pos) : NULL;

	if (!lf)
		return len >= HTTP_HEAD_MAX ? PROTO_ERR_TOO_LONG : PROTO_NEED_MORE;
	size_t end = (size_t)(lf - p);
	*next = end + 1;
	if (end > pos && p[end - 1] == '\r')
		end--;
	*line = p + pos;
	*line_len = end - pos;
	return PROTO_DONE;
}

/* "HTTP/" DIGIT "." DIGIT, exactly the n bytes at v. */
static enum proto_status http_parse_version(const uint8_t *v, size_t n, int *minor)
{
	if (n != 8 || memcmp(v, "HTTP/", 5) != 0 || !http_is_digit(v[5]) || v[6] != '.' ||
	    !http_is_digit(v[7]))
		return PROTO_ERR_MALFORMED;
	if (v[5] != '1')
		return PROTO_ERR_VERSION;
	*minor = v[7] == '0' ? 0 : 1;
	return PROTO_DONE;
}

/* field-line = field-name ":" OWS field-value OWS */
static enum proto_status http_parse_field(const uint8_t *l, size_t n, struct http_header *h)
{
	size_t i = 0, end = n;

	/* A line that starts with SP or HTAB (obs-fold) fails here too. */
	while (i < n && http_is_tchar(l[i]))
		i++;
	if (i == 0 || i == n || l[i] != ':')
		return PROTO_ERR_HEADER;
	h->name = l;
	h->name_len = i;
	h->hop_by_hop = false;
	i++;
	while (i < end && http_is_ows(l[i]))
		i++;
	while (end > i && http_is_ows(l[end - 1]))
		end--;
	for (size_t j = i; j < end; j++) {
		if (http_is_bad_ctl(l[j]))
			return PROTO_ERR_HEADER;
	}
	h->value = l + i;
	h->value_len = end - i;
	return PROTO_DONE;
}

/* Finds the blank line that ends the head, looking at the lines from pos on. */
static enum proto_status http_find_end(const uint8_t *p, size_t len, size_t pos, size_t *head_len)
{
	const uint8_t *line;
	size_t line_len, next;
	enum proto_status st;

	for (;;) {
		st = http_next_line(p, len, pos, &line, &line_len, &next);
		if (st != PROTO_DONE)
			return st;
		if (line_len == 0) {
			*head_len = next;
			return PROTO_DONE;
		}
		pos = next;
	}
}

/*
 * Parses the header lines of a complete head, from pos to the blank line at
 * the end of (p, head_len).
 */
static enum proto_status http_parse_fields(const uint8_t *p, size_t head_len, size_t pos,
                                           struct http_header *headers, size_t *nheaders)
{
	const uint8_t *line;
	size_t line_len, next;
	enum proto_status st;

	*nheaders = 0;
	for (;;) {
		st = http_next_line(p, head_len, pos, &line, &line_len, &next);
		if (st != PROTO_DONE || line_len == 0)
			return st;
		if (*nheaders == HTTP_HEADERS_MAX)
			return PROTO_ERR_TOO_LONG;
		st = http_parse_field(line, line_len, &headers[*nheaders]);
		if (st != PROTO_DONE)
			return st;
		(*nheaders)++;
		pos = next;
	}
}

/*
 * Bytes so far of a request line with no end yet: can they still become a
 * method and its SP? The same bytes fail the whole-line check later, so
 * refusing them now gives the same answer sooner.
 */
static bool http_method_prefix_ok(const uint8_t *p, size_t len)
{
	size_t limit = len < HTTP_HEAD_MAX ? len : HTTP_HEAD_MAX, i = 0;

	while (i < limit && http_is_tchar(p[i]))
		i++;
	return i == limit || (i > 0 && p[i] == ' ');
}

/* ------------------------------------------------------------ fields */

/* What the header fields say about the message as a whole. */
struct http_fields {
	bool chunked;    /* Transfer-Encoding: chunked */
	bool has_length; /* at least one Content-Length */
	uint64_t length;
	bool conn_close;      /* Connection lists "close" */
	bool conn_keep_alive; /* Connection lists "keep-alive" */
	size_t nhost;
	const struct http_header *host;
};

static const char *const http_hop_names[] = {
    "connection", "proxy-connection", "keep-alive", "proxy-authorization", "proxy-authenticate",
    "te",         "trailer",          "upgrade",
};

/* Is (name, n) listed in any Connection header? */
static bool http_named_in_connection(const struct http_header *h, size_t nh, const uint8_t *name,
                                     size_t n)
{
	for (size_t i = 0; i < nh; i++) {
		if (!http_ieq(h[i].name, h[i].name_len, "connection"))
			continue;
		size_t pos = 0, elen;
		const uint8_t *e;
		while (http_list_next(h[i].value, h[i].value_len, &pos, &e, &elen)) {
			if (http_ieq2(e, elen, name, n))
				return true;
		}
	}
	return false;
}

static enum proto_status http_check_connection(const struct http_header *h, struct http_fields *f)
{
	size_t pos = 0, elen;
	const uint8_t *e;

	while (http_list_next(h->value, h->value_len, &pos, &e, &elen)) {
		if (elen == 0)
			continue; /* RFC 9110 section 5.6.1: empty elements are ignored */
		if (!http_is_token(e, elen))
			return PROTO_ERR_HEADER;
		if (http_ieq(e, elen, "close"))
			f->conn_close = true;
		else if (http_ieq(e, elen, "keep-alive"))
			f->conn_keep_alive = true;
		else if (http_ieq(e, elen, "content-length") ||
		         http_ieq(e, elen, "transfer-encoding"))
			return PROTO_ERR_FRAMING;
	}
	return PROTO_DONE;
}

/* Every coding listed must be "chunked", and it must be listed exactly once. */
static enum proto_status http_check_te(const struct http_header *h, struct http_fields *f)
{
	size_t pos = 0, elen;
	const uint8_t *e;

	while (http_list_next(h->value, h->value_len, &pos, &e, &elen)) {
		if (!http_ieq(e, elen, "chunked") || f->chunked)
			return PROTO_ERR_FRAMING;
		f->chunked = true;
	}
	return PROTO_DONE;
}

/* Content-Length = 1*DIGIT; a list of them must all be the same. */
static enum proto_status http_check_length(const struct http_header *h, struct http_fields *f)
{
	size_t pos = 0, elen;
	const uint8_t *e;

	while (http_list_next(h->value, h->value_len, &pos, &e, &elen)) {
		uint64_t v = 0;
		if (elen == 0 || elen > HTTP_LENGTH_DIGITS_MAX)
			return PROTO_ERR_LENGTH;
		for (size_t i = 0; i < elen; i++) {
			if (!http_is_digit(e[i]))
				return PROTO_ERR_LENGTH;
			v = v * 10 + (uint64_t)(e[i] - '0');
		}
		if (f->has_length && f->length != v)
			return PROTO_ERR_LENGTH;
		f->has_length = true;
		f->length = v;
	}
	return PROTO_DONE;
}

/*
 * Judges the header fields of a whole head and marks the hop-by-hop ones.
 * Errors are reported in a fixed order: Connection syntax, then framing.
 */
static enum proto_status http_check_fields(struct http_header *h, size_t nh, int minor,
                                           struct http_fields *f)
{
	enum proto_status st = PROTO_DONE;
	bool has_te = false, has_cl = false;

	memset(f, 0, sizeof(*f));
	for (size_t i = 0; i < nh && st == PROTO_DONE; i++) {
		if (http_ieq(h[i].name, h[i].name_len, "connection"))
			st = http_check_connection(&h[i], f);
	}
	if (st != PROTO_DONE)
		return st;
	for (size_t i = 0; i < nh; i++) {
		if (http_ieq(h[i].name, h[i].name_len, "host")) {
			f->nhost++;
			f->host = &h[i];
		} else if (http_ieq(h[i].name, h[i].name_len, "transfer-encoding")) {
			has_te = true;
		} else if (http_ieq(h[i].name, h[i].name_len, "content-length")) {
			has_cl = true;
		}
	}
	if (has_te && (has_cl || minor == 0))
		return PROTO_ERR_FRAMING;
	for (size_t i = 0; i < nh && st == PROTO_DONE; i++) {
		if (http_ieq(h[i].name, h[i].name_len, "transfer-encoding"))
			st = http_check_te(&h[i], f);
		else if (http_ieq(h[i].name, h[i].name_len, "content-length"))
			st = http_check_length(&h[i], f);
	}
	if (st != PROTO_DONE)
		return st;

	for (size_t i = 0; i < nh; i++) {
		bool hop = false;
		for (size_t k = 0; k < sizeof(http_hop_names) / sizeof(http_hop_names[0]); k++) {
			if (http_ieq(h[i].name, h[i].name_len, http_hop_names[k])) {
				hop = true;
				break;
			}
		}
		h[i].hop_by_hop = hop || http_named_in_connection(h, nh, h[i].name, h[i].name_len);
	}
	return PROTO_DONE;
}

static bool http_keep_alive(int minor, const struct http_fields *f)
{
	if (f->conn_close)
		return false;
	return minor >= 1 || f->conn_keep_alive;
}

/* ------------------------------------------------------------ requests */

/* Sets form, destination and path from the method and request-target. */
static enum proto_status http_parse_target(struct http_request *r)
{
	const uint8_t *t = r->target;
	size_t n = r->target_len;
	struct http_hostport hp;

	r->host = NULL;
	r->host_len = 0;
	r->host_is_ipv6 = false;
	r->port = 0;
	r->path = NULL;
	r->path_len = 0;

	if (memchr(t, '#', n))
		return PROTO_ERR_MALFORMED;
	if (r->is_connect) {
		if (!http_parse_hostport(t, n, HTTP_PORT_REQUIRED, &hp))
			return PROTO_ERR_MALFORMED;
		r->form = HTTP_FORM_AUTHORITY;
		r->host = hp.host;
		r->host_len = hp.host_len;
		r->host_is_ipv6 = hp.is_ipv6;
		r->port = hp.port;
		return PROTO_DONE;
	}
	if (t[0] == '/') {
		r->form = HTTP_FORM_ORIGIN;
		r->path = t;
		r->path_len = n;
		return PROTO_DONE;
	}
	if (n == 1 && t[0] == '*') {
		if (r->method_len != 7 || memcmp(r->method, "OPTIONS", 7) != 0)
			return PROTO_ERR_MALFORMED;
		r->form = HTTP_FORM_ASTERISK;
		return PROTO_DONE;
	}
	/* absolute-form: only "http://", no userinfo. */
	if (n < 7 || !http_ieq(t, 4, "http") || memcmp(t + 4, "://", 3) != 0)
		return PROTO_ERR_MALFORMED;
	size_t a = 7, e = 7;
	while (e < n && t[e] != '/' && t[e] != '?')
		e++;
	if (e < n && t[e] == '?')
		return PROTO_ERR_MALFORMED;
	if (memchr(t + a, '@', e - a))
		return PROTO_ERR_MALFORMED;
	if (!http_parse_hostport(t + a, e - a, HTTP_PORT_OPTIONAL, &hp))
		return PROTO_ERR_MALFORMED;
	r->form = HTTP_FORM_ABSOLUTE;
	r->host = hp.host;
	r->host_len = hp.host_len;
	r->host_is_ipv6 = hp.is_ipv6;
	r->port = hp.has_port ? hp.port : 80;
	if (e < n) {
		r->path = t + e;
		r->path_len = n - e;
	} else {
		r->path = (const uint8_t *)"/";
		r->path_len = 1;
	}
	return PROTO_DONE;
}

/* request-line = method SP request-target SP HTTP-version */
static enum proto_status http_parse_request_line(const uint8_t *l, size_t n, struct http_request *r)
{
	size_t i = 0, t;
	enum proto_status st;

	while (i < n && http_is_tchar(l[i]))
		i++;
	if (i == 0 || i == n || l[i] != ' ')
		return PROTO_ERR_MALFORMED;
	r->method = l;
	r->method_len = i;
	t = ++i;
	while (i < n && l[i] > 0x20 && l[i] < 0x7f)
		i++;
	if (i == t || i == n || l[i] != ' ')
		return PROTO_ERR_MALFORMED;
	r->target = l + t;
	r->target_len = i - t;
	i++;
	st = http_parse_version(l + i, n - i, &r->version_minor);
	if (st != PROTO_DONE)
		return st;
	r->is_connect = r->method_len == 7 && memcmp(r->method, "CONNECT", 7) == 0;
	return http_parse_target(r);
}

enum proto_status http_parse_request(const uint8_t *p, size_t len, struct http_request *out)
{
	const uint8_t *line;
	size_t line_len, next;
	struct http_fields f;
	enum proto_status st;

	st = http_next_line(p, len, 0, &line, &line_len, &next);
	if (st != PROTO_DONE)
		return http_method_prefix_ok(p, len) ? st : PROTO_ERR_MALFORMED;
	st = http_parse_request_line(line, line_len, out);
	if (st != PROTO_DONE)
		return st;
	st = http_find_end(p, len, next, &out->head_len);
	if (st != PROTO_DONE)
		return st;
	st = http_parse_fields(p, out->head_len, next, out->headers, &out->nheaders);
	if (st != PROTO_DONE)
		return st;
	st = http_check_fields(out->headers, out->nheaders, out->version_minor, &f);
	if (st != PROTO_DONE)
		return st;

	/* RFC 9112 section 3.2: Host is required in HTTP/1.1, and never twice. */
	if (f.nhost > 1 || (f.nhost == 0 && out->version_minor >= 1))
		return PROTO_ERR_NO_HOST;
	if (f.host && f.host->value_len > 0) {
		struct http_hostport hp;
		if (!http_parse_hostport(f.host->value, f.host->value_len, HTTP_PORT_LENIENT, &hp))
			return PROTO_ERR_NO_HOST;
	}

	out->content_length = 0;
	if (f.chunked) {
		out->body = HTTP_BODY_CHUNKED;
	} else if (f.has_length) {
		out->body = HTTP_BODY_LENGTH;
		out->content_length = f.length;
	} else {
		out->body = HTTP_BODY_NONE;
	}
	out->keep_alive = http_keep_alive(out->version_minor, &f);
	return PROTO_DONE;
}

/* ------------------------------------------------------------ responses */

/* status-line = HTTP-version SP status-code SP [ reason-phrase ] */
static enum proto_status http_parse_status_line(const uint8_t *l, size_t n, struct http_response *r)
{
	enum proto_status st;

	if (n < 8)
		return PROTO_ERR_MALFORMED;
	st = http_parse_version(l, 8, &r->version_minor);
	if (st != PROTO_DONE)
		return st;
	if (n < 12 || l[8] != ' ' || !http_is_digit(l[9]) || !http_is_digit(l[10]) ||
	    !http_is_digit(l[11]) || l[9] == '0')
		return PROTO_ERR_MALFORMED;
	r->status = (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
	r->reason = l + n;
	r->reason_len = 0;
	if (n == 12)
		return PROTO_DONE; /* tolerated: no SP and no reason */
	if (l[12] != ' ')
		return PROTO_ERR_MALFORMED;
	for (size_t i = 13; i < n; i++) {
		if (http_is_bad_ctl(l[i]))
			return PROTO_ERR_MALFORMED;
	}
	r->reason = l + 13;
	r->reason_len = n - 13;
	return PROTO_DONE;
}

enum proto_status http_parse_response(const uint8_t *p, size_t len, bool request_was_head,
                                      struct http_response *out)
{
	const uint8_t *line;
	size_t line_len, next;
	struct http_fields f;
	enum proto_status st;

	st = http_next_line(p, len, 0, &line, &line_len, &next);
	if (st != PROTO_DONE) {
		/* Refuse early what can never start "HTTP/". */
		size_t n = len < 5 ? len : 5;
		return memcmp(p, "HTTP/", n) == 0 ? st : PROTO_ERR_MALFORMED;
	}
	st = http_parse_status_line(line, line_len, out);
	if (st != PROTO_DONE)
		return st;
	st = http_find_end(p, len, next, &out->head_len);
	if (st != PROTO_DONE)
		return st;
	st = http_parse_fields(p, out->head_len, next, out->headers, &out->nheaders);
	if (st != PROTO_DONE)
		return st;
	st = http_check_fields(out->headers, out->nheaders, out->version_minor, &f);
	if (st != PROTO_DONE)
		return st;

	/* RFC 9112 section 6.3, in order. */
	out->content_length = 0;
	if (request_was_head || out->status < 200 || out->status == 204 || out->status == 304) {
		out->body = HTTP_BODY_NONE;
	} else if (f.chunked) {
		out->body = HTTP_BODY_CHUNKED;
	} else if (f.has_length) {
		out->body = HTTP_BODY_LENGTH;
		out->content_length = f.length;
	} else {
		out->body = HTTP_BODY_CLOSE;
	}
	out->keep_alive = out->body != HTTP_BODY_CLOSE && http_keep_alive(out->version_minor, &f);
	return PROTO_DONE;
}

const struct http_header *http_find_header(const struct http_header *h, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++) {
		if (http_ieq(h[i].name, h[i].name_len, name))
			return &h[i];
	}
	return NULL;
}
