#include "config.h"

#include <ares.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "resolver.h"
#include "util.h"

#define CACHE_SLOTS   1024 /* a power of two */
#define CACHE_TTL_MAX 300  /* seconds: even a long TTL is checked again this often */

/*
 * Every name looked up here comes from a client (an application through a
 * proxy listener, or a remote one through a circuit to an exit) and is looked
 * up as given: never completed with this host's search domains (resolv.conf's
 * search or domain line, LOCALDOMAIN, the host name's domain) nor mapped
 * through a HOSTALIASES file, either of which would let a client probe and
 * reach the operator's own names ("intranet" as intranet.corp.example). Tor's
 * exits do the same (ServerDNSSearchDomains 0).
 *
 * ARES_FLAG_NOSEARCH alone is not enough: c-ares 1.18's ares_getaddrinfo()
 * ignores it and walks the channel's domains all the same, so the channel
 * is also given an empty search list (ARES_OPT_DOMAINS, no domain), which
 * keeps c-ares from filling one in from the system. ARES_FLAG_NOALIASES is
 * what stops HOSTALIASES, which 1.18's ares_getaddrinfo() reads otherwise.
 * Given any flags, c-ares 1.22 and later no longer add EDNS by default: keep
 * it there.
 */
#if ARES_VERSION >= 0x011600
#define RESOLVER_FLAGS (ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES | ARES_FLAG_EDNS)
#else
#define RESOLVER_FLAGS (ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES)
#endif

struct cache_entry {
	char name[256];
	ev_tstamp expires;
	struct sockaddr_storage addrs[RESOLVE_MAX_ADDRS];
	size_t naddrs;
};

struct sock_watch {
	ev_io io;
	struct resolver *r;
	struct sock_watch *next;
};

struct resolver {
	struct ev_loop *loop;
	ares_channel channel;
	ev_timer timer;
	struct sock_watch *watches;
	struct cache_entry *cache;
	unsigned nreqs; /* requests whose caller still waits for the callback */
	bool retired;   /* resolver_free() was called: goes once nreqs is 0 */
};

struct resolve_req {
	struct resolver *r;
	resolve_cb cb;
	void *arg;
	bool cancelled;
	bool in_flight;   /* c-ares still owns a callback for this request */
	ev_timer deliver; /* hands the result to the caller from the loop */
	struct resolve_result res;
	char name[256];
};

static void resolver_rearm(struct resolver *r)
{
	struct timeval tv;
	ev_timer_stop(r->loop, &r->timer);
	if (ares_timeout(r->channel, NULL, &tv)) {
		ev_timer_set(&r->timer, (ev_tstamp)tv.tv_sec + tv.tv_usec / 1e6, 0.);
		ev_timer_start(r->loop, &r->timer);
	}
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct resolver *r = container_of(w, struct resolver, timer);
	ares_process_fd(r->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	resolver_rearm(r);
}

static void on_sock(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	struct sock_watch *sw = container_of(w, struct sock_watch, io);
	struct resolver *r = sw->r;
	ares_process_fd(r->channel, (revents & EV_READ) ? w->fd : ARES_SOCKET_BAD,
	                (revents & EV_WRITE) ? w->fd : ARES_SOCKET_BAD);
	resolver_rearm(r);
}

/* c-ares tells which of its sockets it wants watched, and for what. */
static void on_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct resolver *r = data;
	struct sock_watch **pp = &r->watches, *sw;

	while ((sw = *pp) != NULL && sw->io.fd != fd)
		pp = &sw->next;
	if (!readable && !writable) {
		if (sw) {
			ev_io_stop(r->loop, &sw->io);
			*pp = sw->next;
			free(sw);
		}
		return;
	}
	if (!sw) {
		sw = calloc(1, sizeof(*sw));
		if (!sw) {
			log_warnx("resolver: out of memory");
			return;
		}
		sw->r = r;
		sw->next = r->watches;
		r->watches = sw;
	} else {
		ev_io_stop(r->loop, &sw->io);
	}
	ev_io_init(&sw->io, on_sock, fd, (readable ? EV_READ : 0) | (writable ? EV_WRITE : 0));
	ev_io_start(r->loop, &sw->io);
}

struct resolver *resolver_new(struct ev_loop *loop, const char *servers)
{
	struct resolver *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->loop = loop;
	r->cache = calloc(CACHE_SLOTS, sizeof(*r->cache));
	if (!r->cache) {
		free(r);
		return NULL;
	}
	struct ares_options opts = {
	    .flags = RESOLVER_FLAGS,
	    .domains = NULL,
	    .ndomains = 0, /* no search list: see RESOLVER_FLAGS */
	    .sock_state_cb = on_sock_state,
	    .sock_state_cb_data = r,
	    .lookups = (char *)"fb", /* /etc/hosts, then DNS */
	    /* Give up on a silent server in seconds, well inside the handshake timeout. */
	    .timeout = 2000,
	    .tries = 2,
	};
	int status = ares_init_options(&r->channel, &opts,
	                               ARES_OPT_FLAGS | ARES_OPT_DOMAINS | ARES_OPT_SOCK_STATE_CB |
	                                   ARES_OPT_LOOKUPS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
	if (status != ARES_SUCCESS) {
		log_warnx("resolver: %s", ares_strerror(status));
		free(r->cache);
		free(r);
		return NULL;
	}
	if (servers) {
		status = ares_set_servers_ports_csv(r->channel, servers);
		if (status != ARES_SUCCESS) {
			log_warnx("resolver: servers '%s': %s", servers, ares_strerror(status));
			resolver_free(r);
			return NULL;
		}
	}
	ev_timer_init(&r->timer, on_timer, 0., 0.);
	return r;
}

static void resolver_destroy(struct resolver *r)
{
	/* Every pending query calls back with ARES_EDESTRUCTION here: all were cancelled. */
	ares_destroy(r->channel);
	while (r->watches) {
		struct sock_watch *sw = r->watches;
		r->watches = sw->next;
		ev_io_stop(r->loop, &sw->io);
		free(sw);
	}
	ev_timer_stop(r->loop, &r->timer);
	free(r->cache);
	free(r);
}

void resolver_free(struct resolver *r)
{
	if (!r)
		return;
	r->retired = true;
	if (r->nreqs == 0)
		resolver_destroy(r);
}

/*
 * A request's caller has its answer or gave up on it. Never called from
 * inside c-ares (only from the loop or the caller), so the channel may be
 * destroyed here.
 */
static void resolver_req_done(struct resolver *r)
{
	if (--r->nreqs == 0 && r->retired)
		resolver_destroy(r);
}

static uint32_t name_hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++) {
		char ch = *s;
		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		h = (h ^ (uint8_t)ch) * 16777619u;
	}
	return h;
}

static void on_deliver(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct resolve_req *req = container_of(w, struct resolve_req, deliver);
	struct resolver *r = req->r;
	req->cb(req->arg, &req->res);
	free(req);
	resolver_req_done(r);
}

/* Hands the finished request to the caller on the next loop iteration. */
static void req_finish(struct resolve_req *req)
{
	req->in_flight = false;
	if (req->cancelled) {
		free(req);
		return;
	}
	ev_timer_init(&req->deliver, on_deliver, 0., 0.);
	ev_timer_start(req->r->loop, &req->deliver);
}

static void on_addrinfo(void *arg, int status, int timeouts, struct ares_addrinfo *ai)
{
	(void)timeouts;
	struct resolve_req *req = arg;
	struct resolver *r = req->r;
	int min_ttl = CACHE_TTL_MAX;

	req->res.naddrs = 0;
	if (status == ARES_SUCCESS && ai) {
		for (struct ares_addrinfo_node *n = ai->nodes;
		     n && req->res.naddrs < RESOLVE_MAX_ADDRS; n = n->ai_next) {
			if (n->ai_family != AF_INET && n->ai_family != AF_INET6)
				continue;
			memcpy(&req->res.addrs[req->res.naddrs++], n->ai_addr, n->ai_addrlen);
			if (n->ai_ttl < min_ttl)
				min_ttl = n->ai_ttl;
		}
	}
	if (ai)
		ares_freeaddrinfo(ai);
	if (req->res.naddrs)
		req->res.status = RESOLVE_OK;
	else if (status == ARES_SUCCESS || status == ARES_ENOTFOUND || status == ARES_ENODATA ||
	         status == ARES_ENONAME)
		req->res.status = RESOLVE_NOT_FOUND;
	else
		req->res.status = RESOLVE_FAILED;

	if (status != ARES_EDESTRUCTION && req->res.status == RESOLVE_OK && min_ttl > 0) {
		struct cache_entry *e = &r->cache[name_hash(req->name) & (CACHE_SLOTS - 1)];
		memcpy(e->name, req->name, sizeof(e->name));
		memcpy(e->addrs, req->res.addrs, sizeof(e->addrs));
		e->naddrs = req->res.naddrs;
		e->expires = ev_now(r->loop) + min_ttl;
	}
	req_finish(req);
}

static struct resolve_req *req_new(struct resolver *r, resolve_cb cb, void *arg)
{
	struct resolve_req *req = calloc(1, sizeof(*req));
	if (!req)
		return NULL;
	req->r = r;
	req->cb = cb;
	req->arg = arg;
	r->nreqs++;
	return req;
}

/*
 * RFC 6761 section 6.3: "localhost" and every name under it are the loopback
 * addresses, and are never sent to a DNS server (c-ares 1.18 would, when
 * /etc/hosts lacks them, and that query would leave the machine).
 */
static bool is_localhost(const char *name, size_t len)
{
	static const char tld[] = "localhost";
	const size_t n = sizeof(tld) - 1;

	if (len && name[len - 1] == '.')
		len--;
	if (len < n || strncasecmp(name + len - n, tld, n) != 0)
		return false;
	return len == n || name[len - n - 1] == '.';
}

static void answer_localhost(struct resolve_result *res)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&res->addrs[0];
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&res->addrs[1];

	memset(res->addrs, 0, 2 * sizeof(res->addrs[0]));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin6->sin6_family = AF_INET6;
	sin6->sin6_addr = in6addr_loopback;
	res->naddrs = 2;
	res->status = RESOLVE_OK;
}

static bool is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	return sa->sa_family == AF_INET6 &&
	       IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)sa)->sin6_addr);
}

struct resolve_req *resolver_lookup(struct resolver *r, const char *name, resolve_cb cb, void *arg)
{
	size_t len = strlen(name);
	if (len == 0 || len >= sizeof(((struct resolve_req *)0)->name))
		return NULL;
	struct resolve_req *req = req_new(r, cb, arg);
	if (!req)
		return NULL;
	memcpy(req->name, name, len + 1);

	if (is_localhost(name, len)) {
		answer_localhost(&req->res);
		req_finish(req);
		return req;
	}
	struct cache_entry *e = &r->cache[name_hash(name) & (CACHE_SLOTS - 1)];
	if (e->naddrs && strcasecmp(e->name, name) == 0 && e->expires > ev_now(r->loop)) {
		req->res.status = RESOLVE_OK;
		req->res.naddrs = e->naddrs;
		memcpy(req->res.addrs, e->addrs, sizeof(e->addrs));
		req_finish(req);
		return req;
	}
	struct ares_addrinfo_hints hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	req->in_flight = true;
	ares_getaddrinfo(r->channel, name, NULL, &hints, on_addrinfo, req);
	resolver_rearm(r);
	return req;
}

static void on_hostent(void *arg, int status, int timeouts, struct hostent *h)
{
	(void)timeouts;
	struct resolve_req *req = arg;
	if (status == ARES_SUCCESS && h && h->h_name && strlen(h->h_name) < sizeof(req->name)) {
		strcpy(req->name, h->h_name);
		req->res.name = req->name;
		req->res.status = RESOLVE_OK;
	} else if (status == ARES_ENOTFOUND || status == ARES_ENODATA || status == ARES_SUCCESS) {
		req->res.status = RESOLVE_NOT_FOUND;
	} else {
		req->res.status = RESOLVE_FAILED;
	}
	req_finish(req);
}

struct resolve_req *resolver_reverse(struct resolver *r, const struct sockaddr *sa, resolve_cb cb,
                                     void *arg)
{
	struct resolve_req *req = req_new(r, cb, arg);
	if (!req)
		return NULL;
	if (is_loopback(sa)) {
		/* The loopback addresses are "localhost", asked of no server. */
		strcpy(req->name, "localhost");
		req->res.name = req->name;
		req->res.status = RESOLVE_OK;
		req_finish(req);
		return req;
	}
	req->in_flight = true;
	if (sa->sa_family == AF_INET6)
		ares_gethostbyaddr(r->channel, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16,
		                   AF_INET6, on_hostent, req);
	else
		ares_gethostbyaddr(r->channel, &((const struct sockaddr_in *)sa)->sin_addr, 4,
		                   AF_INET, on_hostent, req);
	resolver_rearm(r);
	return req;
}

void resolver_cancel(struct resolve_req *req)
{
	if (!req)
		return;
	struct resolver *r = req->r;
	if (req->in_flight) {
		req->cancelled = true; /* freed when c-ares calls back */
	} else {
		ev_timer_stop(r->loop, &req->deliver);
		free(req);
	}
	resolver_req_done(r);
}
