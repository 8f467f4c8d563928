/*
 * Moving a side's bytes (client.c's engine decides when): reads and writes
 * between a socket and its buffer, its splice pipe (direct tunnels with
 * splice = true) or its records (a sealed side, or plaintext a sealed side
 * carries, read straight into its records). A reset or a broken record is
 * passed on as a reset.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "client_int.h"
#include "log.h"
#include "server.h"

bool client_io_again(ssize_t n)
{
	return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
}

/*
 * A sealed side: raw bytes into its rin, opened into b as far as b has room.
 * An END is the side's EOF. The link's own EOF is only noted (the side is not
 * read again): records before it may still wait for room in b, and the pump
 * decides, once they are opened, whether the stream ended or was cut. A cut,
 * a broken record or a read error resets the client (or, while opening,
 * leaves the answer to client_opening_check()). Returns false when the
 * client was closed.
 */
/* Cut without END, forged, or a read error: passed on as a reset. */
static bool sealed_broken(struct client *c, struct sealed *s, const char *side)
{
	s->broken = true;
	if (c->phase == PHASE_OPENING)
		return true; /* opening_check() answers the application */
	log_debug("client %d: %s link ended badly", c->fd, side);
	client_abort(c, "relay link broken");
	return false;
}

bool client_sealed_in(struct client *c, struct sealed *s, struct buf *b, bool *eof,
                      const char *side)
{
	if (!sealed_pump_in(s, b))
		return sealed_broken(c, s, side);
	if (sealed_in_eof(s))
		*eof = true;
	return true;
}

static bool read_sealed(struct client *c, int fd, struct sealed *s, struct buf *b, bool *eof,
                        const char *side)
{
	ssize_t n = buf_read_fd(&s->rin, fd);
	if (n > 0)
		c->last_active = ev_now(c->srv->loop);
	else if (n == 0)
		s->link_eof = true;
	else if (client_io_again(n))
		return true;
	else
		return sealed_broken(c, s, side);
	return client_sealed_in(c, s, b, eof, side);
}

/*
 * Plaintext the sealed side s carries, in a tunnel: while nothing waits in b,
 * straight into s's records (no copy); else whole records' worth into b.
 */
static ssize_t read_plain(struct sealed *s, int fd, struct buf *b)
{
	if (buf_len(b) == 0 && sealed_straight(s)) {
		struct buf_frame f = sealed_frame(s);
		ssize_t n = buf_read_fd_framed(&s->rout, fd, &f);
		if (n >= 0 || errno != ENOBUFS)
			return n;
	}
	return buf_read_fd_units(b, fd, sealed_unit(s));
}

/*
 * A plaintext side is read into b, or in a tunnel into the direction's pipe
 * once it has one and the buffer is empty (bytes keep their order: buffer
 * first), or straight into the records of the sealed side that carries it.
 * Outside a tunnel b stays a small buffer, except for HTTP messages
 * forwarded without a chain: a request and what comes before its answer
 * are small, and through a chain a handler moves b's bytes on a small block
 * at a time into records that are the direction's bulk buffer (so a stalled
 * stream does not hold a bulk buffer in each).
 */
bool client_read_side(struct client *c, int fd, struct buf *b, struct spipe *p, bool *eof,
                      const char *side)
{
	ssize_t n;
	bool up = p == &c->u2c; /* a side is named by its pipe: both may be circuits (fd -1) */
	struct sealed *s = up ? c->us : c->cs;
	if (s)
		return read_sealed(c, fd, s, b, eof, side);
	bool tunnel = c->phase == PHASE_TUNNEL;
	struct sealed *other = up ? c->cs : c->us;
	if (tunnel && spipe_active(p) && buf_len(b) == 0)
		n = spipe_fill(p, fd);
	else if (!tunnel && (other || c->phase != PHASE_FORWARD))
		n = buf_read_fd_small(b, fd);
	else if (other)
		n = read_plain(other, fd, b);
	else if ((n = buf_read_fd(b, fd)) > 0 && tunnel && c->conf->splice)
		spipe_account(p, (size_t)n);
	if (n > 0) {
		c->last_active = ev_now(c->srv->loop);
		return true;
	}
	if (n == 0) {
		*eof = true;
		return true;
	}
	if (client_io_again(n))
		return true;
	if (up && !c->us && c->h->upstream_quiet && c->h->upstream_quiet(c)) {
		log_debug("client %d: %s read: %s; it owed nothing", c->fd, side, strerror(errno));
		*eof = true;
		return true;
	}
	/* A reset (or any hard error) on one side is passed on as a reset. */
	log_debug("client %d: %s read: %s", c->fd, side, strerror(errno));
	client_abort(c, "connection reset");
	return false;
}

bool client_write_side(struct client *c, int fd, struct buf *b, struct spipe *p, const char *side)
{
	ssize_t n;
	bool up = p == &c->c2u;
	struct sealed *s = up ? c->us : c->cs;
	struct link_circ *lc = up ? c->ulc : c->clc;
	if (!s && lc) {
		/* A plain side on a link (a middle relay's next hop): b is what it sends now. */
		lc->rout = b;
		link_circ_kick(lc);
		return true;
	}
	if (s) {
		/* A kept circuit holds the stream's first bytes until the exit's status. */
		if (c->phase == PHASE_OPENING && c->circ_reused)
			b = NULL;
		if (!sealed_pump_out(s, b)) {
			client_abort(c, "relay link broken");
			return false;
		}
		/* A circuit on a link: its link sends the records this turn. */
		if (lc) {
			link_circ_kick(lc);
			return true;
		}
		b = &s->rout;
	}
	if (buf_len(b) > 0)
		n = buf_write_fd(b, fd);
	else if (!s && c->phase == PHASE_TUNNEL && p->len > 0)
		n = spipe_drain(p, fd);
	else
		return true;
	if (n >= 0 || client_io_again(n)) {
		if (n > 0)
			c->last_active = ev_now(c->srv->loop);
		if (!s && (c->phase == PHASE_TUNNEL || c->phase == PHASE_FORWARD))
			*(up ? &c->u_behind : &c->c_behind) = buf_len(b) > 0;
		return true;
	}
	log_debug("client %d: %s write: %s", c->fd, side, strerror(errno));
	if (s && c->phase == PHASE_OPENING) {
		/* No status yet: the application is answered (or the stream retried) there. */
		s->broken = true;
		client_opening_check(c);
		return !c->closed;
	}
	client_abort(c, "write failed");
	return false;
}
