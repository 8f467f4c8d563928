#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "linkset.h"
#include "log.h"
#include "server.h"
#include "util.h"

struct linkset_entry {
	struct server *srv;
	struct link *l;
	bool client;                  /* we opened it (user's side) */
	bool retired;                 /* opened under a replaced config: no new circuit */
	bool was_idle;                /* had no circuit at the last check */
	struct sockaddr_storage addr; /* client: the relay; relay: the peer */
	uint8_t pk[32];               /* client: the relay's key */
	struct conf *conf;            /* relay: the config the link was accepted under */
	const struct listen_conf *lc; /* relay: its listener */
	ev_timer timer;
	struct linkset_entry *prev, *next;
};

static void entry_free(struct linkset_entry *e)
{
	struct server *srv = e->srv;
	ev_timer_stop(srv->loop, &e->timer);
	if (e->prev)
		e->prev->next = e->next;
	else
		srv->links = e->next;
	if (e->next)
		e->next->prev = e->prev;
	if (e->conf)
		conf_unref(e->conf);
	free(e);
}

static void on_up(struct link *l)
{
	struct linkset_entry *e = link_arg(l);
	log_debug("link %p: up", (void *)e);
	/* From now on the timer only looks for idleness. */
	ev_tstamp every = e->retired ? LINKSET_RETIRED_CHECK : LINKSET_IDLE;
	ev_timer_stop(e->srv->loop, &e->timer);
	ev_timer_set(&e->timer, every, every);
	ev_timer_start(e->srv->loop, &e->timer);
}

static void on_down(struct link *l)
{
	struct linkset_entry *e = link_arg(l);
	log_debug("link %p: down", (void *)e);
	entry_free(e);
}

/*
 * Relay: a new circuit is judged by the running config, as a new connection
 * would be (SPEC.md, "Reused circuits": an exit judges every stream by the
 * configuration it runs), on the listener that now has the link's address;
 * none there, or a relay that is stopping, and it is reset.
 */
static bool on_accept(struct link *l, struct link_circ *lc)
{
	struct linkset_entry *e = link_arg(l);
	struct server *srv = e->srv;
	const struct listen_conf *listen = relay_listener_at(srv->conf, &e->lc->addr);
	if (!listen || srv->draining)
		return false;
	return client_new_circuit(srv, lc, &e->addr, srv->conf, listen) != NULL;
}

static const struct link_ops link_ops = {.up = on_up, .down = on_down, .accept = on_accept};

/*
 * Connect timeout (the user's links until they are up), then idleness: a
 * link without a circuit at two checks in a row goes, the user's with a
 * FIN, a relay's with a reset. A retired link takes no new circuit, so it
 * goes at the first check that finds it carrying none.
 */
static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct linkset_entry *e = container_of(w, struct linkset_entry, timer);
	if (!link_up(e->l)) {
		link_fail(e->l, "not up in time");
		return;
	}
	bool idle = link_circuits(e->l) == 0;
	if (!idle || (!e->was_idle && !e->retired)) {
		e->was_idle = idle;
		return;
	}
	if (e->client) {
		e->retired = true; /* closing: a new circuit goes on a new link */
		link_close(e->l);
	} else
		link_fail(e->l, "idle");
}

static struct linkset_entry *entry_new(struct server *srv, bool client)
{
	struct linkset_entry *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->srv = srv;
	e->client = client;
	ev_timer_init(&e->timer, on_timer, 0., 0.);
	e->next = srv->links;
	if (e->next)
		e->next->prev = e;
	srv->links = e;
	return e;
}

struct link *linkset_to(struct server *srv, const struct relay_peer *p)
{
	for (struct linkset_entry *e = srv->links; e; e = e->next)
		if (e->client && !e->retired && link_takes_circuits(e->l) &&
		    addr_equal(&e->addr, &p->addr) && memcmp(e->pk, p->pk, sizeof(e->pk)) == 0)
			return e->l;

	int fd = socket(p->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_warn("socket");
		return NULL;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)&p->addr, p->addrlen) != 0 &&
	    errno != EINPROGRESS) {
		log_debug("link to relay %s: %s", p->name, strerror(errno));
		close(fd);
		return NULL;
	}
	struct linkset_entry *e = entry_new(srv, true);
	if (!e) {
		close(fd);
		return NULL;
	}
	e->addr = p->addr;
	memcpy(e->pk, p->pk, sizeof(e->pk));
	e->l = link_new_client(srv->loop, fd, p->pk, hop_suites_offer(srv->conf->record_aes),
	                       (uint64_t)ev_now(srv->loop), &link_ops, e);
	if (!e->l) {
		close(fd);
		entry_free(e);
		return NULL;
	}
	log_debug("link %p: opening to relay %s", (void *)e, p->name);
	ev_timer_set(&e->timer, srv->conf->connect_timeout, 0.);
	ev_timer_start(srv->loop, &e->timer);
	return e->l;
}

bool linkset_accept(struct server *srv, struct client *c, const struct hop_relay *h,
                    const uint8_t reply[RELAY_REPLY_LEN], const uint8_t *in, size_t in_len)
{
	struct linkset_entry *e = entry_new(srv, false);
	if (!e)
		return false;
	/* Frames of many circuits share it: none may wait for Nagle's ACK. */
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	e->addr = c->peer;
	e->conf = conf_ref(c->conf);
	e->lc = c->lc;
	e->l =
	    link_new_relay(srv->loop, c->fd, h, reply, RELAY_REPLY_LEN, in, in_len, &link_ops, e);
	if (!e->l) {
		entry_free(e);
		return false;
	}
	ev_timer_set(&e->timer, LINKSET_RELAY_IDLE / 2, LINKSET_RELAY_IDLE / 2);
	ev_timer_start(srv->loop, &e->timer);
	return true;
}

void linkset_open_ahead(struct server *srv)
{
	const struct conf *conf = srv->conf;
	/*
	 * A LINK flight is stamped with the loop's time, which at start is from
	 * before the wait for a relay's first whole second (server.c): a relay in
	 * this same process would take the stamp for one from before it began.
	 */
	ev_now_update(srv->loop);
	/* One that cannot be opened now is left to the first stream that needs it. */
	for (size_t i = 0; i < conf->nchains; i++) {
		const struct relay_peer *p = conf->chains[i].hops[0];
		if (p->links)
			(void)linkset_to(srv, p);
	}
}

void linkset_reloaded(struct server *srv)
{
	for (struct linkset_entry *e = srv->links; e; e = e->next) {
		if (!e->client)
			continue;
		e->retired = true;
		/* Up: checked now, and every second until its circuits are gone. */
		if (link_up(e->l)) {
			ev_timer_stop(srv->loop, &e->timer);
			ev_timer_set(&e->timer, 0., LINKSET_RETIRED_CHECK);
			ev_timer_start(srv->loop, &e->timer);
		}
	}
}

void linkset_free_all(struct server *srv)
{
	while (srv->links)
		link_fail(srv->links->l, "stopping"); /* down() frees the entry */
}
