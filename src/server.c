#include "config.h"

#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "buffer.h"
#include "client.h"
#include "linkset.h"
#include "listener.h"
#include "log.h"
#include "resolver.h"
#include "server.h"
#include "pool.h"
#include "replay.h"
#include "spare.h"
#include "util.h"
#include "workers.h"

#define IDLE_TRIM_SECONDS 1.0

struct peer_count {
	int family;
	uint8_t ip[16];
	unsigned count;
	struct peer_count *next;
};

static size_t peer_key(const struct sockaddr *sa, uint8_t ip[16])
{
	memset(ip, 0, 16);
	if (sa->sa_family == AF_INET6) {
		memcpy(ip, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		return 16;
	}
	memcpy(ip, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	return 4;
}

static struct peer_count **peer_slot(struct server *srv, const struct sockaddr *sa, uint8_t ip[16])
{
	size_t n = peer_key(sa, ip);
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ ip[i]) * 16777619u;
	struct peer_count **pp = &srv->peers[h % PEER_BUCKETS];
	while (*pp && ((*pp)->family != sa->sa_family || memcmp((*pp)->ip, ip, 16) != 0))
		pp = &(*pp)->next;
	return pp;
}

bool server_admit(struct server *srv, const struct sockaddr *peer, bool per_client)
{
	if (srv->draining)
		return false;
	if (srv->nclients >= srv->conf->max_connections) {
		log_debug("connection limit reached: refusing a client");
		return false;
	}
	uint8_t ip[16];
	struct peer_count **pp = peer_slot(srv, peer, ip);
	if (per_client && *pp && (*pp)->count >= srv->conf->max_per_client) {
		log_debug("per-client limit reached: refusing a client");
		return false;
	}
	if (!*pp) {
		struct peer_count *pc = calloc(1, sizeof(*pc));
		if (!pc)
			return false;
		pc->family = peer->sa_family;
		memcpy(pc->ip, ip, 16);
		*pp = pc;
	}
	(*pp)->count++;
	return true;
}

void server_unadmit(struct server *srv, const struct sockaddr *peer)
{
	uint8_t ip[16];
	struct peer_count **pp = peer_slot(srv, peer, ip);
	if (*pp && --(*pp)->count == 0) {
		struct peer_count *pc = *pp;
		*pp = pc->next;
		free(pc);
	}
}

void server_client_added(struct server *srv, struct client *c)
{
	c->next = srv->clients;
	if (srv->clients)
		srv->clients->prev = c;
	srv->clients = c;
	if (++srv->nclients > srv->peak)
		srv->peak = srv->nclients;
}

void server_client_gone(struct server *srv, struct client *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		srv->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	srv->nclients--;
	if (!c->on_link) /* a circuit on a link: the link's connection was admitted */
		server_unadmit(srv, (struct sockaddr *)&c->peer);
	/* A descriptor came free: listeners that ran out may accept again. */
	srv->fd_exhausted = false;
	for (struct listener *l = srv->listeners; l && !srv->draining; l = l->next)
		listener_resume(l);
	if (srv->draining && srv->nclients == 0)
		ev_break(srv->loop, EVBREAK_ALL);
	/*
	 * Most of the busy spell's clients are gone (all of them, or all but a
	 * few spare links to relays): trim a moment after the last one leaves.
	 */
	if (srv->nclients <= srv->peak / 4) {
		ev_timer_stop(srv->loop, &srv->idle_timer);
		ev_timer_set(&srv->idle_timer, IDLE_TRIM_SECONDS, 0.);
		ev_timer_start(srv->loop, &srv->idle_timer);
	}
}

/*
 * A moment after the load has dropped to a quarter of its peak or less: hand
 * the spare buffers and the heap's free memory back to the system, so RSS
 * returns near its baseline after a busy spell (glibc keeps freed memory
 * otherwise). A relay is rarely left with no client at all: the relay before
 * it keeps a spare connection open while it is in use.
 */
static void on_idle(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct server *srv = container_of(w, struct server, idle_timer);
	if (srv->nclients > srv->peak / 4)
		return;
	buf_release_spares();
	malloc_trim(0);
	srv->peak = srv->nclients;
}

/*
 * Makes the listeners match conf: keeps those whose address is unchanged (so
 * a reload never closes a socket clients are connecting to), opens the new
 * ones, closes the rest. False if a new one could not be opened.
 */
static bool apply_listeners(struct server *srv, struct conf *conf)
{
	struct listener *fresh = NULL;
	bool ok = true;

	for (struct listener *l = srv->listeners; l; l = l->next)
		l->keep = false;
	for (size_t i = 0; i < conf->nlisteners; i++) {
		const struct listen_conf *lc = &conf->listeners[i];
		struct listener *l;
		/* One process serves relays, so one replay set sees every first flight. */
		if (lc->relay && srv->worker != 0)
			continue;
		for (l = srv->listeners; l; l = l->next)
			if (!l->keep && addr_equal(&l->addr, &lc->addr))
				break;
		if (l) {
			l->keep = true;
			l->lc = lc;
			continue;
		}
		l = listener_open(srv, lc);
		if (!l) {
			ok = false;
			continue;
		}
		l->keep = true;
		l->next = fresh;
		fresh = l;
	}
	if (!ok) {
		/* Leave everything as it was. */
		while (fresh) {
			struct listener *next = fresh->next;
			listener_close(fresh);
			fresh = next;
		}
		return false;
	}
	struct listener **pp = &srv->listeners;
	while (*pp) {
		struct listener *l = *pp;
		if (l->keep) {
			pp = &l->next;
			continue;
		}
		*pp = l->next;
		char text[ADDR_STR_MAX];
		log_info("no longer listening on %s",
		         addr_format((struct sockaddr *)&l->addr, text));
		listener_close(l);
	}
	*pp = fresh;
	return true;
}

static bool same_string(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/*
 * A new resolver when conf names other servers than the running one (*r is
 * left NULL when it names the same). It is only made here: server_apply
 * installs it once nothing else can fail, so a failed reload keeps the
 * running resolver.
 */
static bool make_resolver(struct server *srv, struct conf *conf, struct resolver **r,
                          char **servers)
{
	*r = NULL;
	*servers = NULL;
	if (srv->resolver && same_string(srv->resolver_servers, conf->resolvers))
		return true;
	if (conf->resolvers && !(*servers = strdup(conf->resolvers)))
		return false;
	if (!(*r = resolver_new(srv->loop, conf->resolvers))) {
		free(*servers);
		return false;
	}
	return true;
}

static bool server_apply(struct server *srv, struct conf *conf)
{
	struct resolver *r;
	char *servers;

	if (!make_resolver(srv, conf, &r, &servers))
		return false;
	if (!apply_listeners(srv, conf)) {
		resolver_free(r);
		free(servers);
		return false;
	}
	if (r) {
		/* Lookups in flight finish on the old one, which goes after the last. */
		resolver_free(srv->resolver);
		srv->resolver = r;
		free(srv->resolver_servers);
		srv->resolver_servers = servers;
	}
	log_init(conf->log_level, conf->log_syslog);
	conf_unref(srv->conf);
	srv->conf = conf;
	return true;
}

/* Relay connections must not go on under the config a reload replaced. */
static void relays_reloaded(struct server *srv)
{
	for (struct client *c = srv->clients, *next; c; c = next) {
		next = c->next;
		if (c->lc->relay && c->conf != srv->conf)
			relay_reloaded(c, srv->conf);
	}
}

static void on_sighup(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)loop;
	(void)revents;
	struct server *srv = container_of(w, struct server, sighup);
	char err[600];

	if (srv->draining)
		return;
	struct conf *conf = conf_load(srv->opts, err, sizeof(err));
	if (!conf) {
		log_warnx("reload failed, keeping the running config: %s", err);
		return;
	}
	/* Until server_apply succeeds the listeners point into the old config. */
	struct conf *old = conf_ref(srv->conf);
	if (!server_apply(srv, conf)) {
		log_warnx("reload failed, keeping the running config");
		apply_listeners(srv, old);
		conf_unref(conf);
		conf_unref(old);
		return;
	}
	conf_unref(old);
	/* New streams take new circuits, built under the new config. */
	pool_free_all(srv);
	/*
	 * Spares are to the relays the old config dialled; the new one may not
	 * name them, and a relay taken out of it must not be dialled again.
	 */
	spare_free_all(srv);
	linkset_reloaded(srv);
	linkset_open_ahead(srv);
	relays_reloaded(srv);
	log_info("configuration reloaded (%u live connections kept)", srv->nclients);
}

static void on_drain_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)revents;
	struct server *srv = container_of(w, struct server, drain_timer);
	log_info("drain time is up: closing %u connections", srv->nclients);
	while (srv->clients)
		client_close(srv->clients, "shutting down");
	ev_break(loop, EVBREAK_ALL);
}

static void on_sigterm(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)revents;
	struct server *srv = w->data; /* SIGTERM and SIGINT share this callback */
	if (srv->draining)
		return;
	srv->draining = true;
	pool_free_all(srv);
	while (srv->listeners) {
		struct listener *l = srv->listeners;
		srv->listeners = l->next;
		listener_close(l);
	}
	/*
	 * What carries nothing goes now: an exit's kept circuits between streams,
	 * HTTP clients between requests, and connections a relay only holds open
	 * until their silent-failure deadline.
	 */
	for (struct client *c = srv->clients, *next; c; c = next) {
		next = c->next;
		if ((c->cs && c->cs->between) || (c->h && c->h->idle && c->h->idle(c))) {
			if (c->lc->relay)
				client_discard_input(c); /* a quiet FIN, not a reset */
			client_close(c, "stopping");
		}
	}
	if (srv->nclients == 0) {
		ev_break(loop, EVBREAK_ALL);
		return;
	}
	log_info("stopping: waiting up to %.0f s for %u connections", srv->conf->drain_timeout,
	         srv->nclients);
	ev_timer_init(&srv->drain_timer, on_drain_timeout, srv->conf->drain_timeout, 0.);
	ev_timer_start(loop, &srv->drain_timer);
}

/* As many descriptors as the hard limit allows: every tunnel needs two. */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max > 1048576 ? 1048576 : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* SIGHUP, SIGTERM and SIGINT: the signals an operator controls nacre with. */
static void control_signals(int how)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(how, &set, NULL);
}

int server_run(const struct cli_opts *opts)
{
	char err[600];

	/*
	 * Until the signal watchers exist, a SIGHUP (a reload sent right after a
	 * start) or a SIGTERM waits instead of killing the daemon: server_serve()
	 * lets them in once it can handle them, and the workers' master waits
	 * for them with sigwaitinfo().
	 */
	control_signals(SIG_BLOCK);

	struct conf *conf = conf_load(opts, err, sizeof(err));
	if (!conf)
		fatalx("%s", err);
	log_init(conf->log_level, conf->log_syslog);
	if (conf->workers > 1)
		return workers_run(opts, conf);
	return server_serve(opts, conf, 0, 1);
}

int server_serve(const struct cli_opts *opts, struct conf *conf, unsigned worker, unsigned nworkers)
{
	struct server srv;

	memset(&srv, 0, sizeof(srv));
	srv.opts = opts;
	srv.worker = worker;
	srv.nworkers = nworkers;
	srv.loop = ev_default_loop(EVFLAG_AUTO);
	if (!srv.loop)
		fatalx("cannot start the event loop");
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit();
	/*
	 * A relay takes no flight stamped before its first whole second: one
	 * from then on cannot have been taken by a process before it (replay.h).
	 * It listens only once that second has begun.
	 */
	double t = ev_time();
	replay_start(t);
	for (size_t i = 0; i < conf->nlisteners; i++)
		if (conf->listeners[i].relay) {
			ev_sleep((double)(uint64_t)t + 1.0 - t);
			break;
		}
	if (!server_apply(&srv, conf))
		fatalx("cannot start: see the errors above");
	linkset_open_ahead(&srv);
	srv.reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	ev_timer_init(&srv.idle_timer, on_idle, IDLE_TRIM_SECONDS, 0.);
	ev_signal_init(&srv.sighup, on_sighup, SIGHUP);
	ev_signal_init(&srv.sigterm, on_sigterm, SIGTERM);
	ev_signal_init(&srv.sigint, on_sigterm, SIGINT);
	srv.sigterm.data = srv.sigint.data = &srv;
	ev_signal_start(srv.loop, &srv.sighup);
	ev_signal_start(srv.loop, &srv.sigterm);
	ev_signal_start(srv.loop, &srv.sigint);
	/*
	 * A worker starts with these three blocked (workers.c), so that one sent
	 * before the watchers existed waits for them instead of killing it; libev
	 * leaves the mask alone, so let them in now.
	 */
	control_signals(SIG_UNBLOCK);

	workers_ready();
	if (nworkers > 1)
		log_info("nacre %s worker %u of %u started", PACKAGE_VERSION, worker + 1, nworkers);
	else
		log_info("nacre %s started", PACKAGE_VERSION);
	ev_run(srv.loop, 0);

	while (srv.clients)
		client_close(srv.clients, "shutting down");
	while (srv.listeners) {
		struct listener *l = srv.listeners;
		srv.listeners = l->next;
		listener_close(l);
	}
	spare_free_all(&srv);
	pool_free_all(&srv);
	linkset_free_all(&srv);
	resolver_free(srv.resolver);
	free(srv.resolver_servers);
	conf_unref(srv.conf);
	if (srv.reserve_fd >= 0)
		close(srv.reserve_fd);
	ev_loop_destroy(srv.loop);
	log_info("stopped");
	return 0;
}
