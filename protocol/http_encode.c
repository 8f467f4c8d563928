/*
 * HTTP heads written by the proxy: requests rewritten to origin-form,
 * responses without hop-by-hop headers, and the proxy's own short answers.
 * Nothing is ever added that identifies the client. See http.h.
 */
#include "config.h"

#include <string.h>

#include "http.h"
#include "http_chars.h"

struct http_out {
	uint8_t *dst;
	size_t cap;
	size_t len;
	bool full;
};

static void http_put(struct http_out *o, const void *p, size_t n)
{
	if (o->full || n > o->cap - o->len) {
		o->full = true;
		return;
	}
	if (n)
		memcpy(o->dst + o->len, p, n);
	o->len += n;
}

static void http_puts(struct http_out *o, const char *s)
{
	http_put(o, s, strlen(s));
}

static void http_put_uint(struct http_out *o, unsigned v)
{
	char buf[12];
	size_t i = sizeof(buf);

	do {
		buf[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	http_put(o, buf + i, sizeof(buf) - i);
}

static size_t http_out_done(const struct http_out *o)
{
	return o->full ? 0 : o->len;
}

/*
 * The header lines a proxy forwards: all but the hop-by-hop ones (and Host).
 * Content-Length goes once, with one value: the parser has made sure that
 * every value given (several lines, or a list "3, 3") is the same, and RFC
 * 9110 section 8.6 asks a proxy to pass on that one value, not the list, so
 * that no next hop reads it differently.
 */
static void http_put_fields(struct http_out *o, const struct http_header *h, size_t n,
                            bool skip_host)
{
	bool length_done = false;
	for (size_t i = 0; i < n; i++) {
		if (h[i].hop_by_hop || (skip_host && http_ieq(h[i].name, h[i].name_len, "host")))
			continue;
		if (http_ieq(h[i].name, h[i].name_len, "content-length")) {
			if (length_done)
				continue;
			length_done = true;
			const uint8_t *comma = memchr(h[i].value, ',', h[i].value_len);
			size_t len = comma ? (size_t)(comma - h[i].value) : h[i].value_len;
			while (len && (h[i].value[len - 1] == ' ' || h[i].value[len - 1] == '\t'))
				len--;
			http_puts(o, "Content-Length: ");
			http_put(o, h[i].value, len);
			http_put(o, "\r\n", 2);
			continue;
		}
		http_put(o, h[i].name, h[i].name_len);
		http_put(o, ":", 1);
		if (h[i].value_len) {
			http_put(o, " ", 1);
			http_put(o, h[i].value, h[i].value_len);
		}
		http_put(o, "\r\n", 2);
	}
}

size_t http_encode_request_head(uint8_t *dst, size_t cap, const struct http_request *req)
{
	struct http_out o = {dst, cap, 0, false};

	if (req->form != HTTP_FORM_ABSOLUTE)
		return 0;
	http_put(&o, req->method, req->method_len);
	http_put(&o, " ", 1);
	http_put(&o, req->path, req->path_len);
	http_puts(&o, req->version_minor ? " HTTP/1.1\r\nHost: " : " HTTP/1.0\r\nHost: ");
	if (req->host_is_ipv6)
		http_put(&o, "[", 1);
	http_put(&o, req->host, req->host_len);
	if (req->host_is_ipv6)
		http_put(&o, "]", 1);
	if (req->port != 80) {
		http_put(&o, ":", 1);
		http_put_uint(&o, req->port);
	}
	http_put(&o, "\r\n", 2);
	http_put_fields(&o, req->headers, req->nheaders, true);
	if (!req->keep_alive)
		http_puts(&o, "Connection: close\r\n");
	http_put(&o, "\r\n", 2);
	return http_out_done(&o);
}

size_t http_encode_response_head(uint8_t *dst, size_t cap, const struct http_response *resp,
                                 bool close)
{
	struct http_out o = {dst, cap, 0, false};

	if (resp->status < 100 || resp->status > 999)
		return 0;
	http_puts(&o, resp->version_minor ? "HTTP/1.1 " : "HTTP/1.0 ");
	http_put_uint(&o, (unsigned)resp->status);
	http_put(&o, " ", 1);
	http_put(&o, resp->reason, resp->reason_len);
	http_put(&o, "\r\n", 2);
	http_put_fields(&o, resp->headers, resp->nheaders, false);
	if (close)
		http_puts(&o, "Connection: close\r\n");
	http_put(&o, "\r\n", 2);
	return http_out_done(&o);
}

static const char *http_reason(int status)
{
	switch (status) {
	case 200:
		return "Connection established";
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 405:
		return "Method Not Allowed";
	case 407:
		return "Proxy Authentication Required";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	case 505:
		return "HTTP Version Not Supported";
	}
	return "Error";
}

size_t http_encode_status(uint8_t *dst, size_t cap, int status, bool close, const char *extra)
{
	struct http_out o = {dst, cap, 0, false};
	const char *reason = http_reason(status);

	if (status < 100 || status > 999)
		return 0;
	http_puts(&o, "HTTP/1.1 ");
	http_put_uint(&o, (unsigned)status);
	http_put(&o, " ", 1);
	http_puts(&o, reason);
	http_put(&o, "\r\n", 2);
	if (status == 200) {
		/* The answer to CONNECT: the tunnel starts right after the head. */
		if (extra)
			http_puts(&o, extra);
		http_put(&o, "\r\n", 2);
		return http_out_done(&o);
	}
	/* Body: "<status> <reason>\n" */
	http_puts(&o, "Content-Type: text/plain\r\nContent-Length: ");
	http_put_uint(&o, (unsigned)(3 + 1 + strlen(reason) + 1));
	http_put(&o, "\r\n", 2);
	if (close)
		http_puts(&o, "Connection: close\r\n");
	if (extra)
		http_puts(&o, extra);
	http_put(&o, "\r\n", 2);
	http_put_uint(&o, (unsigned)status);
	http_put(&o, " ", 1);
	http_puts(&o, reason);
	http_put(&o, "\n", 1);
	return http_out_done(&o);
}
