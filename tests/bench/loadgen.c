/*
 * loadgen: a single-threaded epoll HTTP load generator that can go through a
 * SOCKS5 or HTTP proxy, for nacre's benchmarks (tests/bench/direct.sh).
 *
 * This file holds the command line, the latency statistics, the report and
 * the event loop; loadgen_conn.c drives each client's connection.
 *
 * Built on its own, outside automake, so it has no config.h:
 *   cc -O2 -std=c11 -D_GNU_SOURCE -o loadgen loadgen.c loadgen_conn.c
 *
 * Only loopback targets are accepted: this tool must never load a machine
 * other than the one it runs on.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "loadgen.h"

#define MAX_CONCURRENCY 10000
#define MAX_DURATION_S  120.0
#define LAT_CAP         (50u * 1000 * 1000)
#define MAX_SOURCES     64

static const char *const err_names[E_COUNT] = {"connect", "handshake", "io",     "eof",
                                               "status",  "parse",     "timeout"};

struct loadgen g;

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: loadgen [--proxy HOST:PORT] --mode socks5|http-connect|http-absolute|direct\n"
	    "               --target HOST:PORT [--path /1k] [--concurrency N]\n"
	    "               [--duration SECONDS] [--requests N] [--keepalive]\n"
	    "               [--socks5-pipeline] [--connection-close] [--sources N]\n"
	    "               [--timeout SECONDS] [--json]\n"
	    "HOST must be a loopback address (127.0.0.0/8, ::1) or localhost.\n"
	    "Prints one line of key=value pairs (or a JSON object with --json).\n");
}

void die(const char *msg)
{
	fprintf(stderr, "loadgen: %s\n", msg);
	exit(2);
}

static bool is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
		return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
	}
	if (ss->ss_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
		if (IN6_IS_ADDR_LOOPBACK(a))
			return true;
		return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
	}
	return false;
}

/* HOST:PORT, [V6]:PORT or localhost:PORT; numeric only, so nothing is looked up. */
static bool parse_endpoint(const char *s, struct endpoint *ep)
{
	char host[INET6_ADDRSTRLEN];
	const char *port_s;
	size_t hlen;
	bool v6 = false;

	memset(ep, 0, sizeof(*ep));
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close || close[1] != ':')
			return false;
		hlen = (size_t)(close - s - 1);
		if (hlen >= sizeof(host))
			return false;
		memcpy(host, s + 1, hlen);
		port_s = close + 2;
		v6 = true;
	} else {
		const char *colon = strrchr(s, ':');
		if (!colon)
			return false;
		hlen = (size_t)(colon - s);
		if (hlen >= sizeof(host))
			return false;
		memcpy(host, s, hlen);
		port_s = colon + 1;
	}
	host[hlen] = '\0';
	char *end;
	errno = 0;
	long port = strtol(port_s, &end, 10);
	if (errno || *port_s == '\0' || *end != '\0' || port < 1 || port > 65535)
		return false;
	if (!v6 && strcmp(host, "localhost") == 0)
		strcpy(host, "127.0.0.1");

	struct sockaddr_in *a4 = (struct sockaddr_in *)&ep->ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ep->ss;
	if (!v6 && inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		ep->len = sizeof(*a4);
		snprintf(ep->text, sizeof(ep->text), "%s:%ld", host, port);
	} else if (v6 && inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		ep->len = sizeof(*a6);
		snprintf(ep->text, sizeof(ep->text), "[%s]:%ld", host, port);
	} else {
		return false;
	}
	return true;
}

static double parse_double(const char *s, const char *what, double lo, double hi)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || *s == '\0' || *end != '\0' || !(v >= lo && v <= hi)) {
		fprintf(stderr, "loadgen: %s: expected a number from %g to %g\n", what, lo, hi);
		exit(2);
	}
	return v;
}

static void parse_args(int argc, char **argv)
{
	const char *mode = NULL, *proxy = NULL, *target = NULL;

	g.path = "/";
	g.concurrency = 1;
	g.duration = 5;
	g.timeout = 10;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		bool takes = true;
		if (strcmp(a, "--keepalive") == 0) {
			g.keepalive = true;
			takes = false;
		} else if (strcmp(a, "--socks5-pipeline") == 0) {
			g.pipeline = true;
			takes = false;
		} else if (strcmp(a, "--connection-close") == 0) {
			g.conn_close = true;
			takes = false;
		} else if (strcmp(a, "--json") == 0) {
			g.json = true;
			takes = false;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			exit(0);
		} else if (!v) {
			usage(stderr);
			exit(2);
		} else if (strcmp(a, "--proxy") == 0) {
			proxy = v;
		} else if (strcmp(a, "--mode") == 0) {
			mode = v;
		} else if (strcmp(a, "--target") == 0) {
			target = v;
		} else if (strcmp(a, "--path") == 0) {
			g.path = v;
		} else if (strcmp(a, "--concurrency") == 0) {
			g.concurrency = (int)parse_double(v, a, 1, MAX_CONCURRENCY);
		} else if (strcmp(a, "--duration") == 0) {
			g.duration = parse_double(v, a, 0.01, MAX_DURATION_S);
		} else if (strcmp(a, "--requests") == 0) {
			g.max_requests = (unsigned long long)parse_double(v, a, 1, 1e12);
		} else if (strcmp(a, "--sources") == 0) {
			g.sources = (int)parse_double(v, a, 1, MAX_SOURCES);
		} else if (strcmp(a, "--timeout") == 0) {
			g.timeout = parse_double(v, a, 0.01, MAX_DURATION_S);
		} else {
			usage(stderr);
			exit(2);
		}
		if (takes)
			i++;
	}

	if (!mode || !target) {
		usage(stderr);
		exit(2);
	}
	if (strcmp(mode, "direct") == 0)
		g.mode = MODE_DIRECT;
	else if (strcmp(mode, "socks5") == 0)
		g.mode = MODE_SOCKS5;
	else if (strcmp(mode, "http-connect") == 0)
		g.mode = MODE_HTTP_CONNECT;
	else if (strcmp(mode, "http-absolute") == 0)
		g.mode = MODE_HTTP_ABSOLUTE;
	else
		die("--mode: expected socks5, http-connect, http-absolute or direct");

	if (!parse_endpoint(target, &g.target))
		die("--target: expected a numeric HOST:PORT, [V6]:PORT or localhost:PORT");
	if (!is_loopback(&g.target.ss))
		die("--target: only loopback addresses (127.0.0.0/8, ::1) are allowed");
	if (proxy) {
		if (!parse_endpoint(proxy, &g.proxy))
			die("--proxy: expected a numeric HOST:PORT, [V6]:PORT or localhost:PORT");
		if (!is_loopback(&g.proxy.ss))
			die("--proxy: only loopback addresses (127.0.0.0/8, ::1) are allowed");
		g.have_proxy = true;
	}
	if (g.sources && (g.have_proxy ? &g.proxy : &g.target)->ss.ss_family != AF_INET)
		die("--sources needs an IPv4 destination");
	if (g.keepalive && g.conn_close)
		die("--keepalive and --connection-close contradict each other");
	if (g.mode == MODE_DIRECT && g.have_proxy)
		die("--mode direct takes no --proxy");
	if (g.mode != MODE_DIRECT && !g.have_proxy)
		die("this mode needs --proxy (or use --mode direct)");
	if (g.path[0] != '/' || strpbrk(g.path, " \r\n") || strlen(g.path) > 512)
		die("--path: expected /something without spaces, at most 512 bytes");
}

void record_latency(uint64_t ns)
{
	if (g.lat_n == g.lat_cap) {
		if (g.lat_cap >= LAT_CAP)
			return;
		size_t cap = g.lat_cap ? g.lat_cap * 2 : 65536;
		uint32_t *n = realloc(g.lat, cap * sizeof(*n));
		if (!n)
			return;
		g.lat = n;
		g.lat_cap = cap;
	}
	uint64_t us = ns / 1000;
	g.lat[g.lat_n++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

static unsigned long pct(double p)
{
	if (g.lat_n == 0)
		return 0;
	size_t i = (size_t)(p * (double)(g.lat_n - 1) + 0.5);
	return g.lat[i];
}

static bool emitted;

/* One field of the report: " key=value", or ",\"key\":value" in JSON. */
static void emit(const char *key, bool quote, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void emit(const char *key, bool quote, const char *fmt, ...)
{
	va_list ap;
	if (g.json)
		printf("%s\"%s\":%s", emitted ? "," : "{", key, quote ? "\"" : "");
	else
		printf("%s%s=", emitted ? " " : "", key);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (g.json && quote)
		putchar('"');
	emitted = true;
}

static void report(double elapsed)
{
	static const char *const mode_names[] = {"direct", "socks5", "http-connect",
	                                         "http-absolute"};
	int inflight = 0;
	for (int i = 0; i < g.concurrency; i++)
		inflight += g.slots[i].phase != PH_IDLE;
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	             (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	double n = (double)g.completed;

	qsort(g.lat, g.lat_n, sizeof(*g.lat), cmp_u32);
	emit("mode", true, "%s", mode_names[g.mode]);
	emit("concurrency", false, "%d", g.concurrency);
	emit("keepalive", false, "%d", g.keepalive ? 1 : 0);
	emit("completed", false, "%llu", g.completed);
	emit("errors", false, "%llu", g.errors);
	emit("elapsed_s", false, "%.3f", elapsed);
	emit("rps", false, "%.1f", elapsed > 0 ? n / elapsed : 0.0);
	emit("ttfb_p50_us", false, "%lu", pct(0.50));
	emit("ttfb_p90_us", false, "%lu", pct(0.90));
	emit("ttfb_p99_us", false, "%lu", pct(0.99));
	emit("ttfb_max_us", false, "%lu", g.lat_n ? (unsigned long)g.lat[g.lat_n - 1] : 0ul);
	emit("inflight", false, "%d", inflight);
	emit("connections", false, "%llu", g.connections);
	emit("body_bytes", false, "%llu", g.body_bytes);
	emit("loadgen_cpu_s", false, "%.3f", cpu);
	emit("loadgen_cpu_us_per_req", false, "%.1f", n > 0 ? cpu * 1e6 / n : 0.0);
	for (int k = 0; k < E_COUNT; k++) {
		char key[32];
		snprintf(key, sizeof(key), "err_%s", err_names[k]);
		emit(key, false, "%llu", g.err[k]);
	}
	printf(g.json ? "}\n" : "\n");
	fflush(stdout);
}

int main(int argc, char **argv)
{
	parse_args(argc, argv);
	build_messages();

	/* Each slot holds one descriptor: take all the hard limit allows. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	g.ep = epoll_create1(EPOLL_CLOEXEC);
	if (g.ep < 0)
		die("epoll_create1 failed");
	g.slots = calloc((size_t)g.concurrency, sizeof(*g.slots));
	if (!g.slots)
		die("out of memory");

	uint64_t t0 = now_ns();
	uint64_t t_end = t0 + (uint64_t)(g.duration * 1e9);
	for (int i = 0; i < g.concurrency; i++) {
		g.slots[i].fd = -1;
		if (may_issue())
			start_connection(&g.slots[i]);
	}

	struct epoll_event evs[256];
	uint64_t next_sweep = t0;
	for (;;) {
		int n = epoll_wait(g.ep, evs, 256, 50);
		if (n < 0 && errno != EINTR)
			die("epoll_wait failed");
		for (int i = 0; i < n; i++)
			on_event(evs[i].data.ptr, evs[i].events);

		uint64_t now = now_ns();
		if (now >= t_end || interrupted)
			g.stopping = true;
		if (g.stopping)
			break;
		/* Slots whose request failed wait here to start again, and slow ones time out. */
		bool busy = false;
		for (int i = 0; i < g.concurrency; i++) {
			struct slot *s = &g.slots[i];
			if (s->phase != PH_IDLE && now >= s->deadline)
				slot_fail(s, E_TIMEOUT);
			if (s->phase == PH_IDLE && may_issue() && now >= next_sweep)
				start_connection(s);
			busy |= s->phase != PH_IDLE;
		}
		if (now >= next_sweep)
			next_sweep = now + 1000000; /* retry failed slots at most every 1 ms */
		if (!busy && !may_issue())
			break;
	}
	double elapsed = (double)(now_ns() - t0) / 1e9;
	report(elapsed);
	return 0;
}
