#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "circuit.h"
#include "client.h"
#include "client_int.h"
#include "hostname.h"
#include "log.h"
#include "policy.h"
#include "pool.h"
#include "rules.h"
#include "server.h"
#include "util.h"

/* How long a closing client may keep sending before we stop listening. */
#define LINGER_SECONDS 2.0

static void client_free(struct client *c)
{
	buf_free(&c->cin);
	buf_free(&c->cout);
	buf_free(&c->uin);
	buf_free(&c->uout);
	sealed_free(c->cs);
	sealed_free(c->us);
	if (c->h == &relay_handler && c->u.relay.blob)
		free(c->u.relay.blob);
	conf_unref(c->conf);
	free(c);
}

/* Callbacks bracket their work with enter/leave so a close inside them is safe. */
void client_enter(struct client *c)
{
	c->busy++;
}

void client_leave(struct client *c)
{
	if (--c->busy == 0 && c->closed)
		client_free(c);
}

void client_set_timer(struct client *c, double seconds)
{
	ev_timer_stop(c->srv->loop, &c->timer);
	ev_timer_set(&c->timer, seconds, 0.);
	ev_timer_start(c->srv->loop, &c->timer);
}

static struct client *client_alloc(struct server *srv, int fd, const struct sockaddr_storage *peer,
                                   struct conf *conf, const struct listen_conf *lc)
{
	struct client *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->srv = srv;
	c->conf = conf_ref(conf);
	c->lc = lc;
	c->fd = fd;
	c->ufd = -1;
	c->peer = *peer;
	c->phase = PHASE_HANDSHAKE;
	spipe_init(&c->c2u);
	spipe_init(&c->u2c);
	c->last_active = ev_now(srv->loop);
	ev_io_init(&c->io, client_on_io, fd, fd >= 0 ? EV_READ : 0);
	ev_io_init(&c->uio, client_on_upstream_io, -1, 0);
	ev_timer_init(&c->timer, client_on_timer, 0., 0.);
	return c;
}

struct client *client_new(struct server *srv, int fd, const struct sockaddr_storage *peer,
                          struct conf *conf, const struct listen_conf *lc)
{
	struct client *c = client_alloc(srv, fd, peer, conf, lc);
	if (!c)
		return NULL;
	server_client_added(srv, c);
	client_set_timer(c, conf->handshake_timeout);
	if (lc->relay)
		relay_accepted(c);
	client_update(c);
	return c;
}

struct client *client_new_circuit(struct server *srv, struct link_circ *lc,
                                  const struct sockaddr_storage *peer, struct conf *conf,
                                  const struct listen_conf *listen)
{
	struct client *c = client_alloc(srv, -1, peer, conf, listen);
	if (!c)
		return NULL;
	c->on_link = true;
	c->clc = lc;
	/* Until its flight is taken (relay.c), the circuit's bytes are cin's. */
	lc->rin = &c->cin;
	lc->rout = &c->cout;
	lc->ops = &client_circuit_ops;
	lc->arg = c;
	server_client_added(srv, c);
	client_set_timer(c, conf->handshake_timeout);
	relay_accepted(c);
	return c;
}

/*
 * A deliberate close still ends a sealed stream with END, so each relay
 * passes on a FIN rather than a reset (an abort skips this on purpose: a
 * stream that stops without END is reset at every hop). Best effort: one
 * non-blocking write; what does not fit is lost with the connection anyway.
 */
static void say_goodbye(struct client *c, int fd, struct sealed *s, bool fin)
{
	if (!s || s->broken || fin || fd < 0 || c->aborting)
		return;
	if (sealed_close(s))
		buf_write_fd(&s->rout, fd);
}

/*
 * A side that is a circuit on a link ends as a socket would: a deliberate
 * close sends END (say_goodbye) and then what is queued and a FIN; an
 * abort, a broken stream or a circuit whose flight never came is reset. A
 * middle relay's circuit to the next relay carries no records of its own:
 * what is queued and a FIN, as close() on its socket would send.
 */
static void close_circuit(struct client *c, struct link_circ **lcp, struct sealed *s, bool fin)
{
	struct link_circ *lc = *lcp;
	if (!lc)
		return;
	*lcp = NULL;
	bool plain_upstream = !s && lcp == &c->ulc;
	if (c->aborting || (!s && !plain_upstream) || (s && s->broken)) {
		link_circ_free(lc);
		return;
	}
	if (s && !fin)
		sealed_close(s);
	link_circ_release(lc);
}

void client_close_upstream_fd(struct client *c)
{
	close_circuit(c, &c->ulc, c->us, c->us_fin);
	if (c->ufd < 0)
		return;
	say_goodbye(c, c->ufd, c->us, c->us_fin);
	ev_io_stop(c->srv->loop, &c->uio);
	/*
	 * The next socket may get the same number: the watcher must not take it
	 * for this one (libev would modify an epoll entry the close removed).
	 */
	ev_io_set(&c->uio, -1, 0);
	close(c->ufd);
	c->ufd = -1;
}

void client_close(struct client *c, const char *reason)
{
	if (c->closed)
		return;
	log_debug("client %d closed: %s", c->fd, reason);
	c->closed = true;
	resolver_cancel(c->rreq);
	c->rreq = NULL;
	ev_timer_stop(c->srv->loop, &c->timer);
	ev_io_stop(c->srv->loop, &c->io);
	say_goodbye(c, c->fd, c->cs, c->cs_fin);
	close_circuit(c, &c->clc, c->cs, c->cs_fin);
	if (c->fd >= 0)
		close(c->fd);
	client_close_upstream_fd(c);
	spipe_release(&c->c2u);
	spipe_release(&c->u2c);
	server_client_gone(c->srv, c);
	if (c->busy == 0)
		client_free(c);
}

void client_abort(struct client *c, const char *reason)
{
	if (c->closed)
		return;
	c->aborting = true;
	if (c->fd >= 0)
		fd_set_reset_on_close(c->fd);
	if (c->ufd >= 0)
		fd_set_reset_on_close(c->ufd);
	client_close(c, reason);
}

void client_upstream_close(struct client *c)
{
	client_close_upstream_fd(c);
	sealed_free(c->us);
	c->us = NULL;
	c->us_fin = c->via_chain = false;
	buf_free(&c->uin);
	buf_free(&c->uout);
	c->u_eof = c->u_shut = false;
}

bool client_reply(struct client *c, const void *p, size_t n)
{
	return buf_append(&c->cout, p, n);
}

const char *client_dest_for_log(const struct client *c, char *buf, size_t len)
{
	if (!log_debug_enabled()) {
		snprintf(buf, len, "(destination hidden)");
	} else if (c->dst_name[0]) {
		snprintf(buf, len, "%s:%u", c->dst_name, c->dst_port);
	} else if (c->naddrs) {
		char a[ADDR_STR_MAX];
		snprintf(buf, len, "%s", addr_format((const struct sockaddr *)&c->addrs[0], a));
	} else {
		snprintf(buf, len, "(none)");
	}
	return buf;
}

void client_discard_input(struct client *c)
{
	uint8_t sink[4096];
	buf_free(&c->cin);
	while (c->fd >= 0 && read(c->fd, sink, sizeof(sink)) > 0)
		;
}

/* ---------------------------------------------------------------- watchers */

static void set_io(struct client *c, ev_io *w, int fd, int events)
{
	if (fd < 0)
		return;
	if (w->fd == fd && (w->events & (EV_READ | EV_WRITE)) == events &&
	    (ev_is_active(w) || !events))
		return;
	ev_io_stop(c->srv->loop, w);
	/*
	 * Same descriptor: ev_io_modify lets libev change the epoll mask in place;
	 * ev_io_set would make it re-add the fd (an EEXIST round trip each time).
	 */
	if (w->fd == fd)
		ev_io_modify(w, events);
	else
		ev_io_set(w, fd, events);
	if (events)
		ev_io_start(c->srv->loop, w);
}

/* What the client's side should write next: our own replies first. */
struct buf *client_out(struct client *c)
{
	if (buf_len(&c->cout) || c->phase != PHASE_TUNNEL)
		return &c->cout;
	return &c->uin;
}

struct buf *client_upstream_out(struct client *c)
{
	if (buf_len(&c->uout) || c->phase != PHASE_TUNNEL)
		return &c->uout;
	return &c->cin;
}

/* Whether a side may be read: into its pipe once splicing, else into its buffer. */
static bool can_take(const struct buf *b, const struct spipe *p)
{
	if (spipe_active(p) && buf_len(b) == 0)
		return spipe_room(p);
	return buf_room(b) > 0;
}

/*
 * Forwarding HTTP messages, a side is read into b (cin or uin) while b is
 * empty or the buffer the handler moves b's bytes into (uout or cout) is:
 * then what b still holds is part of a head or a chunk line, which needs
 * the bytes after it. So behind a reader that stops, b holds what the last
 * read brought, and not a bulk buffer's worth more.
 */
static bool forward_may_read(const struct client *c, const struct buf *b)
{
	const struct buf *to = b == &c->cin ? &c->uout : &c->cout;
	return buf_len(b) == 0 || buf_len(to) == 0;
}

/*
 * A plaintext side that a sealed side carries is read, in a tunnel and while
 * nothing waits in b, straight into the sealed side's records (read_plain()):
 * it is read while those have room for one more, not while b has. Reading
 * into b once they are full would have every later byte sealed out of b, a
 * copy of all the stream, for as long as the reader on the far side stays
 * slow. Bytes already in b (read before the tunnel, or when the records
 * could not grow) go out first: b takes no more, drains into the records
 * as they empty (client_update() pumps before it gets here), and the reads
 * then go straight into the records again.
 */
static bool can_take_plain(const struct client *c, const struct buf *b, const struct spipe *p,
                           const struct sealed *carrier)
{
	if (carrier && c->phase == PHASE_TUNNEL && sealed_straight(carrier))
		return buf_len(b) == 0 && sealed_frame_fits(carrier);
	if (c->phase == PHASE_FORWARD && !forward_may_read(c, b))
		return false;
	return can_take(b, p);
}

/*
 * The other way round: a sealed side whose records are opened into plain, for
 * a plaintext side to write, is read in a tunnel only while plain is empty
 * (forwarding HTTP messages, as forward_may_read() says). Reading on while
 * the plaintext side is slow would fill the records' buffer behind plain for
 * nothing: the link's socket buffer holds those bytes as well, and the
 * sender slows down just the same. So a stalled stream holds one buffer of
 * opened plaintext, and (client_update()) the part of a record its last read
 * ended in. Only plain counts: a client's inner layer may hold part of a
 * record that the next read completes, and with plain empty no layer waits
 * for room.
 */
static bool can_take_sealed(const struct client *c, const struct sealed *s, const struct buf *plain)
{
	if (buf_room(&s->rin) == 0)
		return false;
	if (c->phase == PHASE_FORWARD)
		return forward_may_read(c, plain);
	if (c->phase != PHASE_TUNNEL)
		return true;
	return buf_len(plain) == 0;
}

/*
 * Runs a sealed side's pumps: records in to plaintext, plaintext out to
 * records. false when the side is broken (the caller decides what the client
 * is told): a cut, too, can only be told here once the records before the
 * link's EOF have been opened. An END coming in is the side's EOF.
 */
static bool pump_sealed(struct sealed *s, struct buf *in, struct buf *out, bool *eof)
{
	if (!s)
		return true;
	if (!sealed_pump_in(s, in) || !sealed_pump_out(s, out))
		return false;
	if (sealed_in_eof(s))
		*eof = true;
	return true;
}

/*
 * A FIN towards a side: for a sealed side, END records first, then the FIN.
 * last: the side has sent its FIN and the other side is done, so the close
 * that follows at once sends this FIN (a shutdown() would be a syscall more).
 */
static void shut_side(int fd, struct link_circ *lc, struct sealed *s, bool *shut, bool last)
{
	*shut = true;
	if (s) {
		s->want_end = true;
	} else if (lc) {
		/* A plain side on a link: its FIN follows what it has taken. */
		lc->want_fin = true;
		link_circ_kick(lc);
	} else if (!last) {
		shutdown(fd, SHUT_WR);
	}
}

static void flush_fin(int fd, struct link_circ *lc, struct sealed *s, bool *fin)
{
	/* A reused circuit outlives its streams: their END is enough. */
	if (s && s->reuse && !s->want_close)
		return;
	if (s && !*fin && s->want_end && sealed_out_flushed(s)) {
		if (lc) {
			lc->want_fin = true;
			link_circ_kick(lc);
		} else {
			shutdown(fd, SHUT_WR);
		}
		*fin = true;
	}
}

static bool side_flushed(struct sealed *s, bool fin)
{
	if (s && s->reuse)
		return sealed_stream_flushed(s);
	return !s || fin;
}

/*
 * Both directions of a stream are over. A circuit kept for reuse survives it:
 * an exit waits for the next BEGIN, the user's side keeps the circuit in the
 * pool for the application's next stream.
 */
static void stream_done(struct client *c)
{
	if (c->cs && c->cs->reuse) {
		relay_stream_done(c);
		return;
	}
	if (c->us && c->us->reuse && sealed_idle(c->us)) {
		struct pool_key key;
		pool_key_init(&key, c->conf, c->lc, &c->peer, c->user);
		ev_io_stop(c->srv->loop, &c->uio);
		struct pool_way way = {.fd = c->ufd, .lc = c->ulc};
		pool_put(c->srv, &key, way, c->us, c->circ_born);
		c->ufd = -1;
		c->ulc = NULL;
		c->us = NULL;
	}
	client_close(c, "both sides finished");
}

void client_stream_reset(struct client *c)
{
	client_close_upstream_fd(c);
	buf_free(&c->cin);
	buf_free(&c->uin);
	buf_free(&c->uout);
	spipe_release(&c->c2u);
	spipe_release(&c->u2c);
	c->c_eof = c->u_eof = c->c_shut = c->u_shut = c->cs_fin = c->us_fin = false;
	c->c_behind = c->u_behind = false;
	c->phase = PHASE_HANDSHAKE;
	client_set_timer(c, c->conf->idle_timeout);
}

/* The client's side has bytes to write (what EV_WRITE would be asked for). */
static bool client_pending(struct client *c)
{
	if (c->lingering)
		return false;
	if (c->cs)
		return buf_len(&c->cs->rout) > 0;
	return (buf_len(client_out(c)) > 0 || c->u2c.len > 0) && !c->c_shut;
}

static bool upstream_pending(struct client *c)
{
	if (c->ufd < 0 || c->phase == PHASE_CONNECTING || c->phase == PHASE_CLOSING)
		return false;
	if (c->us)
		return buf_len(&c->us->rout) > 0;
	return (buf_len(client_upstream_out(c)) > 0 || c->c2u.len > 0) && !c->u_shut;
}

static bool awaits_write(const ev_io *w)
{
	return ev_is_active(w) && (w->events & EV_WRITE);
}

/*
 * In a tunnel, what may be written at once: our own replies (cout, uout), and
 * a sealed side's records once no plaintext waits to be sealed (a STATUS, a
 * last record, an END). Draining a buffer that a pump refills (uin, cin, or
 * records with plaintext behind them) is left to the events, which pump
 * again after each write; here nothing would, and the stream would stall.
 */
static bool tunnel_may_write(struct sealed *s, struct buf *plain, struct buf *own)
{
	return s ? buf_len(plain) == 0 : buf_len(own) > 0;
}

/*
 * Writes a side's pending bytes (a proxy reply, a first flight, a relay's
 * reply or status, an END, a last error reply) now instead of first asking
 * epoll whether it may. A socket nearly always has room, and asking costs two
 * epoll_ctl calls and a wakeup for each of them. A side that said EAGAIN waits
 * for its writable event as before. HTTP forwarding writes in
 * client_forward_response(), where its handler moves more of a message after each
 * write that made room. false if the client was closed.
 */
static bool write_now(struct client *c)
{
	bool tunnel = c->phase == PHASE_TUNNEL;
	if (c->phase == PHASE_FORWARD)
		return true;
	if (!awaits_write(&c->io) && client_pending(c) &&
	    (!tunnel || tunnel_may_write(c->cs, client_out(c), &c->cout)) &&
	    !client_write_side(c, c->fd, client_out(c), &c->u2c, "client"))
		return false;
	if (!awaits_write(&c->uio) && upstream_pending(c) &&
	    (!tunnel || tunnel_may_write(c->us, client_upstream_out(c), &c->uout)) &&
	    !client_write_side(c, c->ufd, client_upstream_out(c), &c->c2u, "upstream"))
		return false;
	return !c->closed;
}

/*
 * HTTP messages: the handler moves what it can of a response from uin into
 * cout, and cout is written at once while the socket takes all of it, the
 * handler moving more after each such write (at most what uin holds). So a
 * reader that stops is seen as a short write (c_behind), as in a tunnel.
 * false if the client was closed.
 */
bool client_forward_response(struct client *c)
{
	while (c->phase == PHASE_FORWARD) {
		c->h->upstream_input(c);
		if (c->closed || c->phase != PHASE_FORWARD || buf_len(&c->cout) == 0 ||
		    awaits_write(&c->io))
			break;
		if (!client_write_side(c, c->fd, client_out(c), &c->u2c, "client"))
			return false;
		if (buf_len(&c->cout) > 0)
			break;
	}
	return !c->closed;
}

void client_update(struct client *c)
{
	if (c->closed)
		return;

	if (!pump_sealed(c->cs, &c->cin, client_out(c), &c->c_eof)) {
		client_abort(c, "relay link broken");
		return;
	}
	if (c->cs && (c->cs->begun || c->c_eof) && c->phase == PHASE_HANDSHAKE) {
		c->h->input(c); /* an exit between streams: the next one, or the end */
		if (c->closed)
			return;
	}
	if (c->us && c->phase == PHASE_OPENING) {
		client_opening_check(c);
		if (c->closed || c->phase == PHASE_CLOSING)
			return;
	}
	/*
	 * Forwarding HTTP messages, what the pump opens goes to the handler at
	 * once (no event would take it there), and the room that makes in uin
	 * is pumped again, until neither moves.
	 */
	for (;;) {
		size_t uin_had = buf_len(&c->uin);
		bool u_eof_had = c->u_eof;
		if (c->phase != PHASE_OPENING &&
		    !pump_sealed(c->us, &c->uin, client_upstream_out(c), &c->u_eof)) {
			client_abort(c, "chain broken");
			return;
		}
		if (c->phase != PHASE_FORWARD ||
		    (buf_len(&c->uin) == uin_had && c->u_eof == u_eof_had))
			break;
		if (!client_forward_response(c))
			return;
	}
	/*
	 * A sealed side that feeds a slow reader is not read again until what
	 * it opened has gone on (can_take_sealed()). All its records buffer
	 * holds meanwhile is the part of a record its last read ended in, which
	 * moves to a small block: a stalled stream keeps one bulk buffer, the
	 * plaintext, and not two.
	 */
	if (c->c_behind && c->us)
		buf_shrink(&c->us->rin);
	if (c->u_behind && c->cs)
		buf_shrink(&c->cs->rin);

	if (c->phase == PHASE_TUNNEL) {
		/* Carry each FIN across once everything before it has been written. */
		if (c->c_eof && !c->u_shut && buf_len(&c->cin) == 0 && buf_len(&c->uout) == 0 &&
		    c->c2u.len == 0) {
			shut_side(c->ufd, c->ulc, c->us, &c->u_shut,
			          c->u_eof && c->c_shut && side_flushed(c->cs, c->cs_fin));
			if (c->us)
				sealed_pump_out(c->us, client_upstream_out(c));
		}
		if (c->u_eof && !c->c_shut && buf_len(&c->uin) == 0 && buf_len(&c->cout) == 0 &&
		    c->u2c.len == 0) {
			shut_side(c->fd, c->clc, c->cs, &c->c_shut,
			          c->c_eof && c->u_shut && side_flushed(c->us, c->us_fin));
			if (c->cs)
				sealed_pump_out(c->cs, client_out(c));
		}
	}
	if (!write_now(c))
		return;
	if (c->phase == PHASE_TUNNEL) {
		flush_fin(c->ufd, c->ulc, c->us, &c->us_fin);
		flush_fin(c->fd, c->clc, c->cs, &c->cs_fin);
		if (c->c_shut && c->u_shut && side_flushed(c->us, c->us_fin) &&
		    side_flushed(c->cs, c->cs_fin)) {
			stream_done(c);
			return;
		}
	}
	if (c->phase == PHASE_CLOSING && !c->lingering && buf_len(&c->cout) == 0 &&
	    (!c->cs || buf_len(&c->cs->rout) == 0)) {
		/*
		 * The reply is out. Closing now with unread input would make the
		 * kernel send a reset that can destroy the reply before the client
		 * reads it, so send FIN and discard input until EOF or a deadline.
		 * A circuit on a link has no such kernel: its close sends the FIN.
		 */
		if (c->clc) {
			client_close(c, "reply sent");
			return;
		}
		shutdown(c->fd, SHUT_WR);
		c->lingering = true;
		buf_free(&c->cin);
		if (c->c_eof || (c->cs && c->cs->link_eof)) {
			client_close(c, "reply sent");
			return;
		}
		client_set_timer(c, LINGER_SECONDS);
	}

	int cev = 0, uev = 0;
	bool reading = c->phase != PHASE_CLOSING || c->lingering;
	/*
	 * A kept circuit is read past its stream's END, until the link itself
	 * says EOF: only the next BEGIN may come, and only once this stream is
	 * over (anything else breaks the circuit). Its epoll entry then stays as
	 * it is from one stream to the next, instead of costing a failed
	 * EPOLL_CTL_ADD each time libev takes it up again. A sealed link that
	 * has said EOF is not read again: the records it left in rin are opened
	 * as the other side drains, by the pump above.
	 */
	bool c_open = c->cs ? !c->cs->link_eof && (!c->c_eof || c->cs->reuse) : !c->c_eof;
	if (reading && c_open &&
	    (c->cs ? can_take_sealed(c, c->cs, &c->cin)
	           : can_take_plain(c, &c->cin, &c->c2u, c->us)))
		cev |= EV_READ;
	if (client_pending(c))
		cev |= EV_WRITE;
	if (c->phase == PHASE_CONNECTING) {
		/* A failed connect is readable too: see connect_done(). */
		uev = EV_WRITE | EV_READ;
	} else if (c->ufd >= 0 && c->phase != PHASE_CLOSING) {
		if (c->us ? !c->u_eof && !c->us->link_eof && can_take_sealed(c, c->us, &c->uin)
		          : !c->u_eof && can_take_plain(c, &c->uin, &c->u2c, c->cs))
			uev |= EV_READ;
		if (upstream_pending(c))
			uev |= EV_WRITE;
	}
	set_io(c, &c->io, c->fd, cev);
	set_io(c, &c->uio, c->ufd, uev);
	/* A side on a link: what the pumps sealed goes out, what they opened is credited. */
	if (c->clc) {
		link_circ_kick(c->clc);
		link_circ_took(c->clc);
	}
	if (c->ulc) {
		link_circ_kick(c->ulc);
		link_circ_took(c->ulc);
	}
}

void client_finish(struct client *c)
{
	client_close_upstream_fd(c);
	resolver_cancel(c->rreq);
	c->rreq = NULL;
	c->phase = PHASE_CLOSING;
	/* A client that never reads its last reply is not kept for ever either. */
	client_set_timer(c, c->conf->idle_timeout);
	client_update(c);
}

void client_start_forward(struct client *c)
{
	c->phase = PHASE_FORWARD;
	c->last_active = ev_now(c->srv->loop);
	client_set_timer(c, c->conf->idle_timeout);
}

void client_start_tunnel(struct client *c)
{
	c->phase = PHASE_TUNNEL;
	c->last_active = ev_now(c->srv->loop);
	client_set_timer(c, c->conf->idle_timeout);
	client_update(c);
}
