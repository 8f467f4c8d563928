/*
 * What loadgen's two halves share:
 *   loadgen.c       the command line, latency statistics, the report and main
 *   loadgen_conn.c  each client's connection: the protocol state machine and its I/O
 * Both read and write the one global state, g.
 */
#ifndef LOADGEN_H
#define LOADGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#define HEAD_MAX 16384 /* response (and CONNECT reply) heads larger than this are errors */
#define MSG_MAX  1024  /* handshake and request bytes */

enum mode { MODE_DIRECT, MODE_SOCKS5, MODE_HTTP_CONNECT, MODE_HTTP_ABSOLUTE };

enum phase { PH_IDLE, PH_CONNECTING, PH_HS_WRITE, PH_HS_READ, PH_REQ_WRITE, PH_RESP_READ };

/* The report names these in this order (err_names in loadgen.c). */
enum err_kind { E_CONNECT, E_HANDSHAKE, E_IO, E_EOF, E_STATUS, E_PARSE, E_TIMEOUT, E_COUNT };

struct endpoint {
	struct sockaddr_storage ss;
	socklen_t len;
	char text[64]; /* as it goes in a Host header: "127.0.0.1:80" or "[::1]:80" */
};

struct slot {
	int fd;
	enum phase phase;
	uint64_t t_start; /* ns */
	uint64_t deadline;
	bool got_first_byte;
	uint64_t ttfb;          /* ns, recorded when the response completes */
	bool socks_method_done; /* the 05 00 method reply has been read */
	const uint8_t *out;
	size_t out_len, out_off;
	uint8_t in[HEAD_MAX];
	size_t in_len;
	bool head_done;
	bool until_close;   /* no Content-Length: the body ends at EOF */
	bool server_closes; /* "Connection: close" in the response */
	unsigned long long body_left;
};

struct loadgen {
	enum mode mode;
	bool have_proxy;
	struct endpoint proxy, target;
	const char *path;
	int concurrency;
	double duration;
	unsigned long long max_requests; /* 0: no cap */
	bool keepalive;
	bool pipeline;
	bool conn_close; /* send "Connection: close": the origin closes first */
	int sources;     /* 0: let the kernel choose the source address */
	int next_source;
	bool json;
	double timeout;

	uint8_t hs[MSG_MAX]; /* first handshake write */
	size_t hs_len;
	uint8_t hs2[MSG_MAX]; /* SOCKS5 CONNECT, when not pipelined behind the greeting */
	size_t hs2_len;
	uint8_t req[MSG_MAX];
	size_t req_len;

	int ep;
	struct slot *slots;
	unsigned long long issued, completed, errors, err[E_COUNT], body_bytes, connections;
	uint32_t *lat; /* TTFB in us, one per completed request up to LAT_CAP */
	size_t lat_n, lat_cap;
	bool stopping;
};

extern struct loadgen g;

static inline uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline bool may_issue(void)
{
	return !g.stopping && (g.max_requests == 0 || g.issued < g.max_requests);
}

/* loadgen.c */
void die(const char *msg);
void record_latency(uint64_t ns);

/* loadgen_conn.c */
void build_messages(void);
void start_connection(struct slot *s);
void slot_fail(struct slot *s, enum err_kind k);
void on_event(struct slot *s, uint32_t events);

#endif
