/*
 * What the engine does on each event of a client: its sockets readable or
 * writable, a connect finished, its timer, and its sides that are circuits
 * on a link (their link calls in where a socket's events would). client.c
 * keeps the state and derives from it what to wait for next.
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client_int.h"
#include "log.h"
#include "resolver.h"
#include "server.h"
#include "util.h"

static void dispatch_input(struct client *c)
{
	if (c->phase == PHASE_HANDSHAKE || c->phase == PHASE_FORWARD ||
	    c->phase == PHASE_RESOLVING || c->phase == PHASE_CONNECTING ||
	    c->phase == PHASE_OPENING)
		c->h->input(c);
}

/* The first byte tells the protocol: 5 SOCKS5, 4 SOCKS4, a letter HTTP. */
static bool detect(struct client *c)
{
	uint8_t b = buf_head(&c->cin)[0];
	unsigned p = c->lc->protocols;

	if (b == 0x05 && (p & LISTEN_SOCKS5))
		c->h = &socks5_handler;
	else if (b == 0x04 && (p & LISTEN_SOCKS4))
		c->h = &socks4_handler;
	else if (b >= 'A' && b <= 'Z' && (p & LISTEN_HTTP))
		c->h = &http_handler;
	else
		return false;
	return true;
}

/*
 * What follows a read of a side, from its socket or from its link, and a
 * write that made room in it. false when the client was closed.
 */
static bool client_side_read(struct client *c)
{
	/* Most of the time the other side can take the bytes at once. */
	if (c->phase == PHASE_TUNNEL &&
	    !client_write_side(c, c->ufd, client_upstream_out(c), &c->c2u, "upstream"))
		return false;
	if (!c->h && buf_len(&c->cin) > 0 && !detect(c)) {
		client_close(c, "unknown protocol");
		return false;
	}
	if (c->h && c->phase != PHASE_TUNNEL && c->phase != PHASE_CLOSING)
		dispatch_input(c);
	else if (!c->h && c->c_eof)
		client_close(c, "closed before speaking");
	return !c->closed;
}

static bool upstream_side_read(struct client *c)
{
	if (c->phase == PHASE_TUNNEL &&
	    !client_write_side(c, c->fd, client_out(c), &c->u2c, "client"))
		return false;
	if (c->phase == PHASE_FORWARD && !client_forward_response(c))
		return false;
	return !c->closed;
}

/* Room again in cout: the HTTP relay moves more of a response. */
static void client_side_written(struct client *c)
{
	if (c->phase == PHASE_FORWARD)
		client_forward_response(c);
}

/* Room again in uout: the handler moves more of a request body. */
static void upstream_side_written(struct client *c)
{
	if (c->phase == PHASE_FORWARD)
		c->h->input(c);
}

void client_on_io(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	struct client *c = container_of(w, struct client, io);

	client_enter(c);
	if (revents & EV_READ) {
		if (c->lingering) {
			uint8_t sink[4096];
			ssize_t n = read(c->fd, sink, sizeof(sink));
			if (n == 0 || (n < 0 && !client_io_again(n)))
				client_close(c, "reply sent");
			goto out;
		}
		if (!client_read_side(c, c->fd, &c->cin, &c->c2u, &c->c_eof, "client") ||
		    !client_side_read(c))
			goto out;
	}
	if (revents & EV_WRITE) {
		if (!client_write_side(c, c->fd, client_out(c), &c->u2c, "client"))
			goto out;
		client_side_written(c);
	}
out:
	client_update(c);
	client_leave(c);
}

/*
 * A connect() has finished: did it work? Watched for both, a socket that is
 * writable only is connected; one that is readable too has failed (epoll
 * reports an error as both) or already has bytes from its peer, and only
 * then is SO_ERROR worth a syscall.
 */
static void connect_done(struct client *c, int revents)
{
	int err = 0;
	socklen_t len = sizeof(err);
	if ((revents & EV_READ) && getsockopt(c->ufd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		err = errno;
	if (err) {
		c->last_errno = err;
		client_close_upstream_fd(c);
		client_dial_next(c);
		return;
	}
	client_connected(c);
}

void client_connected(struct client *c)
{
	int one = 1;
	if (c->ufd >= 0)
		setsockopt(c->ufd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (log_debug_enabled()) {
		char d[300];
		log_debug("client %d: connected to %s%s", c->fd,
		          c->via_chain ? "the first relay for " : "",
		          client_dest_for_log(c, d, sizeof(d)));
	}
	if (c->via_chain) {
		/* The flight is in us->rout; the exit's status decides. */
		c->phase = PHASE_OPENING;
		client_set_timer(c, c->conf->connect_timeout);
		return;
	}
	c->phase = PHASE_HANDSHAKE; /* the handler decides: tunnel, forward or close */
	ev_timer_stop(c->srv->loop, &c->timer);
	c->h->connected(c);
}

void client_on_upstream_io(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	struct client *c = container_of(w, struct client, uio);

	client_enter(c);
	if (c->phase == PHASE_CONNECTING) {
		connect_done(c, revents);
		goto out;
	}
	if (revents & EV_READ) {
		if (!client_read_side(c, c->ufd, &c->uin, &c->u2c, &c->u_eof, "upstream") ||
		    !upstream_side_read(c))
			goto out;
	}
	if (revents & EV_WRITE) {
		if (!client_write_side(c, c->ufd, client_upstream_out(c), &c->c2u, "upstream"))
			goto out;
		upstream_side_written(c);
	}
out:
	client_update(c);
	client_leave(c);
}

void client_on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)revents;
	struct client *c = container_of(w, struct client, timer);

	client_enter(c);
	switch (c->phase) {
	case PHASE_HANDSHAKE:
		if (c->lc->relay)
			client_discard_input(c); /* a quiet FIN, not a reset */
		/* An exit's kept circuit between streams times out as idle. */
		client_close(c, c->cs ? "idle between streams" : "handshake timeout");
		break;
	case PHASE_RESOLVING:
		/* The lookup outlived the handshake's time: answer, do not just close. */
		resolver_cancel(c->rreq);
		c->rreq = NULL;
		client_fail(c, CERR_HOST_UNREACH);
		break;
	case PHASE_CONNECTING:
		c->last_errno = ETIMEDOUT;
		client_close_upstream_fd(c);
		client_dial_next(c);
		break;
	case PHASE_OPENING:
		client_upstream_close(c);
		client_fail(c, CERR_TIMEOUT);
		break;
	case PHASE_TUNNEL:
	case PHASE_FORWARD: {
		ev_tstamp idle_until = c->last_active + c->conf->idle_timeout;
		if (idle_until <= ev_now(loop))
			client_close(c, "idle timeout");
		else
			client_set_timer(c, idle_until - ev_now(loop));
		break;
	}
	case PHASE_CLOSING:
		client_close(c, "linger timeout");
		break;
	}
	if (!c->closed)
		client_update(c);
	client_leave(c);
}

/* ---------------------------------------------------------------- circuits on links */

/*
 * A side that is a circuit on a link: its link has put bytes in the side's
 * buffer (or its FIN, or a reset) where a read would have. What follows is
 * what the socket's callbacks do after a read.
 */
static void on_circuit_input(struct link_circ *lc)
{
	struct client *c = lc->arg;
	bool up = lc == c->ulc;
	struct sealed *s = up ? c->us : c->cs;

	client_enter(c);
	if (lc->reset) {
		*(up ? &c->ulc : &c->clc) = NULL;
		link_circ_free(lc);
		if (s)
			s->broken = true;
		if (up && c->phase == PHASE_OPENING)
			client_opening_check(c);
		else if (!s && !up)
			client_close(c, "circuit reset before its flight");
		else
			client_abort(c, up && !s ? "next relay reset the circuit"
			                         : "relay link broken");
		goto out;
	}
	c->last_active = ev_now(c->srv->loop);
	if (!s && up) {
		/* A middle relay's circuit to the next relay: its bytes in uin, as read. */
		if (lc->in_fin)
			c->u_eof = true;
		upstream_side_read(c);
		goto out;
	}
	if (!s) {
		/* A relay's circuit before its flight: bytes in cin, as read. */
		if (lc->in_fin)
			c->c_eof = true;
		client_side_read(c);
		goto out;
	}
	if (lc->in_fin)
		s->link_eof = true;
	if (up) {
		if (client_sealed_in(c, s, &c->uin, &c->u_eof, "upstream"))
			upstream_side_read(c);
	} else if (client_sealed_in(c, s, &c->cin, &c->c_eof, "client")) {
		client_side_read(c);
	}
out:
	client_update(c);
	client_leave(c);
}

/*
 * The link took the side's records: room to seal more, and what follows a
 * write that made room.
 */
static void on_circuit_output(struct link_circ *lc)
{
	struct client *c = lc->arg;
	client_enter(c);
	c->last_active = ev_now(c->srv->loop);
	if (lc == c->ulc) {
		/*
		 * A middle relay's circuit: what it sends next, as after a socket's
		 * write (its layer and padding, then what follows them).
		 */
		if (!c->us)
			client_write_side(c, c->ufd, client_upstream_out(c), &c->c2u, "upstream");
		upstream_side_written(c);
	} else {
		client_side_written(c);
	}
	client_update(c);
	client_leave(c);
}

const struct link_circ_ops client_circuit_ops = {.input = on_circuit_input,
                                                 .output = on_circuit_output};
