#include "config.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "pool.h"
#include "server.h"
#include "util.h"

struct pool_entry {
	struct server *srv;
	struct pool_key key;
	struct pool_way way;
	struct sealed *s;
	ev_tstamp born;
	ev_io io;
	ev_timer timer;
	struct pool_entry *prev, *next;
};

void pool_io_set(ev_io *w, int fd, int events)
{
	ev_io_set(w, fd, events);
	w->events &= ~EV__IOFDSET;
}

void pool_key_init(struct pool_key *k, struct conf *conf, const struct listen_conf *lc,
                   const struct sockaddr_storage *peer, uint64_t user)
{
	memset(k, 0, sizeof(*k));
	k->conf = conf;
	k->lc = lc;
	k->user = user;
	k->peer.ss_family = peer->ss_family;
	if (peer->ss_family == AF_INET)
		((struct sockaddr_in *)&k->peer)->sin_addr =
		    ((const struct sockaddr_in *)peer)->sin_addr;
	else if (peer->ss_family == AF_INET6)
		((struct sockaddr_in6 *)&k->peer)->sin6_addr =
		    ((const struct sockaddr_in6 *)peer)->sin6_addr;
}

static bool same_key(const struct pool_key *a, const struct pool_key *b)
{
	return a->conf == b->conf && a->lc == b->lc && a->user == b->user &&
	       memcmp(&a->peer, &b->peer, sizeof(a->peer)) == 0;
}

/*
 * Ends a circuit politely: END in every layer that has not sent one, so each
 * relay passes a FIN on rather than a reset. On a connection of its own, one
 * non-blocking write (what does not fit is lost with the connection anyway);
 * on a link, the link sends it and the FIN. One the link already let go (a
 * reset, or the link's end) is only freed.
 */
static void close_circuit(struct pool_way way, struct sealed *s)
{
	bool ended = sealed_close(s);
	if (way.lc) {
		if (ended && way.lc->link && !way.lc->reset)
			link_circ_release(way.lc);
		else
			link_circ_free(way.lc);
	} else {
		if (ended)
			buf_write_fd(&s->rout, way.fd);
		close(way.fd);
	}
	sealed_free(s);
}

static void unlink_entry(struct pool_entry *e)
{
	struct server *srv = e->srv;
	ev_io_stop(srv->loop, &e->io);
	ev_timer_stop(srv->loop, &e->timer);
	if (e->prev)
		e->prev->next = e->next;
	else
		srv->pool = e->next;
	if (e->next)
		e->next->prev = e->prev;
	srv->npool--;
}

static void drop(struct pool_entry *e)
{
	unlink_entry(e);
	close_circuit(e->way, e->s);
	conf_unref(e->key.conf);
	free(e);
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	drop(container_of(w, struct pool_entry, timer));
}

/* Between streams a relay says nothing: its EOF, a reset or stray bytes end the circuit. */
static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	log_debug("a kept circuit was closed by its relay");
	drop(container_of(w, struct pool_entry, io));
}

/* The same for a circuit on a link: anything from its link ends it. */
static void on_circuit(struct link_circ *lc)
{
	log_debug("a kept circuit was closed by its relay");
	drop(lc->arg);
}

static void on_circuit_output(struct link_circ *lc)
{
	(void)lc;
}

static const struct link_circ_ops circuit_ops = {.input = on_circuit, .output = on_circuit_output};

void pool_put(struct server *srv, const struct pool_key *key, struct pool_way way, struct sealed *s,
              ev_tstamp born)
{
	ev_tstamp now = ev_now(srv->loop);
	struct pool_entry *e = NULL;
	if (!srv->draining && srv->npool < POOL_MAX && now - born < POOL_DIRTY && sealed_idle(s) &&
	    buf_len(&s->rout) == 0)
		e = calloc(1, sizeof(*e));
	if (!e) {
		close_circuit(way, s);
		return;
	}
	e->srv = srv;
	e->key = *key;
	conf_ref(e->key.conf);
	e->way = way;
	e->s = s;
	e->born = born;
	double left = POOL_DIRTY - (now - born);
	ev_timer_init(&e->timer, on_timer, left < POOL_IDLE ? left : POOL_IDLE, 0.);
	ev_timer_start(srv->loop, &e->timer);
	ev_init(&e->io, on_io);
	if (way.lc) {
		way.lc->ops = &circuit_ops;
		way.lc->arg = e;
	} else {
		pool_io_set(&e->io, way.fd, EV_READ);
		ev_io_start(srv->loop, &e->io);
	}
	/* Most recently used first: it is the least likely to have been closed. */
	e->next = srv->pool;
	if (e->next)
		e->next->prev = e;
	srv->pool = e;
	srv->npool++;
}

bool pool_take(struct server *srv, const struct pool_key *key, struct pool_way *way,
               struct sealed **s, ev_tstamp *born)
{
	for (struct pool_entry *e = srv->pool; e; e = e->next) {
		if (!same_key(&e->key, key))
			continue;
		/*
		 * One its relay closes from now on fails before the exit's status,
		 * and dial.c then builds a new circuit for the stream.
		 */
		unlink_entry(e);
		*way = e->way;
		*s = e->s;
		*born = e->born;
		conf_unref(e->key.conf);
		free(e);
		return true;
	}
	return false;
}

void pool_free_all(struct server *srv)
{
	while (srv->pool)
		drop(srv->pool);
}
