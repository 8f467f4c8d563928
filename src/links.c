#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "frame.h"
#include "links_int.h"
#include "log.h"
#include "secret.h"

/* Circuits whose owners wait to hear of bytes in rin, at most (see on_data). */
#define DUE_MAX 8

/* ------------------------------------------------------------ control messages */

void link_queue_msg(struct link *l, enum link_msg_kind kind, uint32_t id, uint32_t value)
{
	struct link_msg m = {.kind = kind, .id = id, .value = value};
	uint8_t *p = buf_reserve(&l->ctl, LINK_MSG_LEN);
	if (!p) {
		/* Thousands of messages the peer does not read: it is not keeping up. */
		link_fail(l, "control backlog");
		return;
	}
	buf_commit(&l->ctl, link_msg_encode(p, LINK_MSG_LEN, &m));
	link_update(l);
}

/* ------------------------------------------------------------ teardown */

static void link_free(struct link *l)
{
	buf_free(&l->lin);
	buf_free(&l->lout);
	buf_free(&l->ctl);
	free(l->circs);
	if (l->hc) {
		hop_client_wipe(l->hc);
		free(l->hc);
	}
	record_dir_wipe(&l->send);
	record_dir_wipe(&l->recv);
	free(l);
}

static void link_enter(struct link *l)
{
	l->busy++;
}

static void link_leave(struct link *l)
{
	if (--l->busy == 0 && l->dead)
		link_free(l);
}

/* The one way out: every circuit is reset, the owner told, the socket closed. */
static void link_end(struct link *l, bool reset, const char *why)
{
	if (l->dead)
		return;
	l->dead = true;
	link_enter(l);
	log_debug("link %d: %s", l->fd, why);
	ev_io_stop(l->loop, &l->io);
	ev_prepare_stop(l->loop, &l->flush);
	if (reset) {
		struct linger lg = {.l_onoff = 1, .l_linger = 0};
		setsockopt(l->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	close(l->fd);
	while (l->n || l->fresh) {
		struct link_circ *lc = l->fresh ? l->fresh : l->circs[l->n - 1];
		link_circ_remove(l, lc);
		lc->reset = true;
		lc->ops->input(lc);
	}
	if (l->ops->down)
		l->ops->down(l);
	link_leave(l);
}

void link_fail(struct link *l, const char *why)
{
	link_end(l, true, why);
}

/* ------------------------------------------------------------ output */

/*
 * One data frame of lc's bytes into lout: false when lout has no room. A
 * fresh circuit takes the next id here (room in circs was kept for it).
 */
static bool put_data(struct link *l, struct link_circ *lc, bool *took)
{
	size_t n = buf_len(lc->rout);
	if (n > lc->send_allow)
		n = lc->send_allow;
	if (n > LINK_BODY_MAX)
		n = LINK_BODY_MAX;
	if (n == 0)
		return true;
	uint8_t *p = buf_reserve(&l->lout, LINK_HDR_LEN + n);
	if (!p)
		return false;
	if (lc->id == 0) {
		link_fresh_remove(l, lc);
		lc->id = ++l->last_id;
		l->circs[l->n++] = lc;
	}
	frame_seal_data(&l->send, lc->id, n, p);
	memcpy(p + LINK_HDR_LEN, buf_head(lc->rout), n);
	buf_commit(&l->lout, LINK_HDR_LEN + n);
	buf_consume(lc->rout, n);
	link_allow_take(&lc->send_allow, n);
	link_circ_blocked(l, lc);
	*took = true;
	return true;
}

/* Pending control messages into as many control frames as lout takes. */
static void put_control(struct link *l)
{
	while (buf_len(&l->ctl) > 0) {
		size_t n = buf_len(&l->ctl);
		if (n > LINK_MSGS_MAX * LINK_MSG_LEN)
			n = LINK_MSGS_MAX * LINK_MSG_LEN;
		size_t want = LINK_HDR_LEN + n + RELAY_TAG_LEN;
		uint8_t *p = buf_reserve(&l->lout, want);
		if (!p)
			return;
		buf_commit(&l->lout, frame_seal_control(&l->send, buf_head(&l->ctl), n, p, want));
		buf_consume(&l->ctl, n);
	}
}

/*
 * The link whose flush is running, if any. libev queues the prepare
 * watchers it will call before it calls them, so one started from inside a
 * flush (a middle relay's circuit moved bytes from one link to another)
 * would wait for the next poll, which may be long in coming: link_update()
 * feeds it instead, to be called in this same turn.
 */
static struct link *flushing;

/*
 * Gathers a frame from each circuit in turn, then the control messages, and
 * sends the lot in one send(). Owners whose bytes left are told once, after
 * the round; those that put more in then are gathered again while lout has
 * room.
 */
static void link_flush(struct link *l)
{
	if (l->dead)
		return;
	struct link *outer = flushing;
	flushing = l;
	link_enter(l);
	for (;;) {
		bool full = false;
		link_deliver(l);
		while (l->up && !l->dead && l->head) {
			struct link_circ *lc = l->head;
			bool took = false, fin = false;
			if (!put_data(l, lc, &took)) {
				full = true;
				break;
			}
			l->head = lc->next;
			if (!l->head)
				l->tail = NULL;
			lc->queued = false;
			lc->next = NULL;
			if (lc->want_fin && !lc->fin_sent && buf_len(lc->rout) == 0) {
				if (lc->released) {
					if (lc->id)
						link_queue_msg(l, LINK_MSG_FIN, lc->id, 0);
					link_circ_remove(l, lc);
					link_circ_dispose(lc);
					continue;
				}
				if (lc->id == 0) {
					/* Over before its first byte: the relay never knew it. */
					link_circ_remove(l, lc);
					lc->reset = true;
					lc->ops->input(lc);
					continue;
				}
				lc->fin_sent = fin = true;
				link_queue_msg(l, LINK_MSG_FIN, lc->id, 0);
			}
			link_ring_push(l, lc);
			if (took || fin)
				link_list_push(l, LIST_WRITTEN, lc);
		}
		struct link_circ *lc;
		while (!l->dead && (lc = link_list_pop(l, LIST_WRITTEN)))
			lc->ops->output(lc); /* lc may be gone after this */
		if (l->dead || full || !(l->lists[LIST_DUE] || (l->up && l->head)))
			break;
	}
	if (l->up && !l->dead)
		put_control(l);
	if (!l->dead && buf_len(&l->lout) > 0) {
		ssize_t w = buf_write_fd(&l->lout, l->fd);
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			link_fail(l, "write failed");
	}
	if (!l->dead && l->closing && buf_len(&l->lout) == 0 && !l->fin_out) {
		shutdown(l->fd, SHUT_WR);
		l->fin_out = true;
	}
	flushing = outer;
	link_update(l);
	link_leave(l);
}

static void flush_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	(void)loop;
	(void)revents;
	link_flush(w->data);
}

/* Interest from state: read while there is room, write while lout holds bytes. */
void link_update(struct link *l)
{
	if (l->dead)
		return;
	int ev = 0;
	if (buf_room(&l->lin) > 0)
		ev |= EV_READ;
	if (buf_len(&l->lout) > 0)
		ev |= EV_WRITE;
	if (ev != (l->io.events & (EV_READ | EV_WRITE))) {
		ev_io_stop(l->loop, &l->io);
		ev_io_set(&l->io, l->fd, ev);
		if (ev)
			ev_io_start(l->loop, &l->io);
	}
	bool due = (l->up && (l->head || buf_len(&l->ctl) > 0)) || l->lists[LIST_DUE] ||
	           (l->closing && !l->fin_out && buf_len(&l->lout) == 0);
	if (due) {
		ev_prepare_start(l->loop, &l->flush);
		if (flushing && flushing != l && !ev_is_pending(&l->flush))
			ev_feed_event(l->loop, &l->flush, EV_PREPARE);
	} else {
		ev_prepare_stop(l->loop, &l->flush);
	}
}

/* ------------------------------------------------------------ input */

static void on_message(struct link *l, const struct link_msg *m)
{
	if (m->kind == LINK_MSG_PAD)
		return;
	if (link_id_classify(l->last_id, m->id) != LINK_ID_OPENED) {
		link_fail(l, "a message for a circuit never opened");
		return;
	}
	struct link_circ *lc = link_circ_find(l, m->id);
	if (!lc)
		return; /* closed here: the peer sent it before it knew */
	switch (m->kind) {
	case LINK_MSG_CREDIT:
		if (!link_allow_credit(&lc->send_allow, m->value)) {
			link_fail(l, "credit past the bound");
			return;
		}
		lc->blocked_told = false;
		link_ring_push(l, lc);
		link_update(l);
		return;
	case LINK_MSG_FIN:
		if (lc->in_fin || lc->fin_held) {
			link_fail(l, "a second FIN");
			return;
		}
		if (chunkq_len(&lc->q) > 0) {
			lc->fin_held = true; /* the owner sees it after the bytes ahead of it */
			return;
		}
		lc->in_fin = lc->fed = true;
		link_list_push(l, LIST_DUE, lc);
		return;
	case LINK_MSG_BLOCKED:
		/* Judged once the owner has taken what came before it. */
		lc->peer_blocked = true;
		return;
	case LINK_MSG_RESET:
		link_circ_remove(l, lc);
		lc->reset = true;
		lc->ops->input(lc);
		return;
	default:
		return;
	}
}

static void on_control(struct link *l, const uint8_t *p, size_t n)
{
	for (size_t off = 0; off < n && !l->dead; off += LINK_MSG_LEN) {
		struct link_msg m;
		size_t used;
		if (link_msg_parse(p + off, n - off, &used, &m) != PROTO_DONE) {
			link_fail(l, "a malformed control message");
			return;
		}
		on_message(l, &m);
	}
}

/* Relay: the client opens circuit id with this frame. */
static struct link_circ *accept_circ(struct link *l, uint32_t id)
{
	l->last_id = id;
	struct link_circ *lc = calloc(1, sizeof(*lc));
	if (!lc || !link_circ_add(l, lc)) {
		free(lc);
		link_queue_msg(l, LINK_MSG_RESET, id, 0);
		return NULL;
	}
	lc->link = l;
	lc->id = id;
	lc->send_allow = lc->recv_allow = lc->window = LINK_WINDOW;
	if (!l->ops->accept(l, lc)) {
		link_circ_remove(l, lc);
		free(lc);
		link_queue_msg(l, LINK_MSG_RESET, id, 0);
		return NULL;
	}
	return lc;
}

static void on_data(struct link *l, uint32_t id, const uint8_t *p, size_t n)
{
	struct link_circ *lc = NULL;
	switch (link_id_classify(l->last_id, id)) {
	case LINK_ID_OPENED:
		lc = link_circ_find(l, id);
		if (!lc)
			return; /* closed here: late bytes are dropped */
		break;
	case LINK_ID_NEXT:
		if (l->client) {
			link_fail(l, "the relay opened a circuit");
			return;
		}
		lc = accept_circ(l, id);
		if (!lc)
			return;
		break;
	case LINK_ID_BAD:
		link_fail(l, "a frame for a circuit out of order");
		return;
	}
	if (lc->in_fin || lc->fin_held) {
		link_fail(l, "data after FIN");
		return;
	}
	if (!link_allow_take(&lc->recv_allow, n)) {
		link_fail(l, "data past the credit");
		return;
	}
	/*
	 * Into rin while it has room and nothing waits ahead, else behind what
	 * waits; the owner hears of it once this read's frames are in.
	 */
	if (chunkq_len(&lc->q) == 0 && buf_make_room(lc->rin, n)) {
		if (!buf_append(lc->rin, p, n)) {
			link_fail(l, "out of memory");
			return;
		}
		lc->fed = true;
		link_list_push(l, LIST_DUE, lc);
		/*
		 * Each circuit told later holds its bytes, a block of rin, until then:
		 * a read of many circuits' small frames must not hold a block for each.
		 */
		if (l->nlist[LIST_DUE] >= DUE_MAX)
			link_deliver(l);
	} else if (!chunkq_push(&lc->q, p, n)) {
		link_fail(l, "out of memory");
	}
}

/* Client: the relay's reply gives the link its keys. */
static bool take_reply(struct link *l)
{
	if (buf_len(&l->lin) < RELAY_REPLY_LEN)
		return true;
	if (!hop_reply_open(l->hc, buf_head(&l->lin))) {
		link_fail(l, "a reply that does not open");
		return false;
	}
	l->send = l->hc->send;
	l->recv = l->hc->recv;
	hop_client_wipe(l->hc);
	free(l->hc);
	l->hc = NULL;
	buf_consume(&l->lin, RELAY_REPLY_LEN);
	l->up = true;
	if (l->ops->up)
		l->ops->up(l);
	return !l->dead;
}

static void link_read(struct link *l)
{
	ssize_t n = buf_read_fd(&l->lin, l->fd);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		link_fail(l, "read failed");
		return;
	}
	if (n == 0) {
		if (l->n || !l->up)
			link_fail(l, "closed with circuits open");
		else
			link_end(l, false, "closed");
		return;
	}
	if (!l->up && (!l->client || !take_reply(l) || !l->up))
		return;
	while (!l->dead) {
		struct link_frame_hdr h = {0};
		const uint8_t *body;
		size_t used, blen;
		enum proto_status st = frame_open(&l->recv, buf_head_mut(&l->lin), buf_len(&l->lin),
		                                  &used, &h, &body, &blen);
		if (st == PROTO_NEED_MORE) {
			/* A header naming a circuit never opened fails now, not once its body is
			 * in. */
			if (buf_len(&l->lin) >= LINK_HDR_LEN && h.id != LINK_ID_CONTROL &&
			    link_id_classify(l->last_id, h.id) == LINK_ID_BAD)
				link_fail(l, "a frame for a circuit out of order");
			break;
		}
		if (st != PROTO_DONE) {
			link_fail(l, "a frame that does not open");
			return;
		}
		if (h.id == LINK_ID_CONTROL)
			on_control(l, body, blen);
		else
			on_data(l, h.id, body, blen);
		if (!l->dead)
			buf_consume(&l->lin, used);
	}
	link_deliver(l);
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	struct link *l = w->data;
	link_enter(l);
	if (revents & EV_READ)
		link_read(l);
	if ((revents & EV_WRITE) && !l->dead)
		link_flush(l);
	link_update(l);
	link_leave(l);
}

/* ------------------------------------------------------------ setup */

static struct link *link_alloc(struct ev_loop *loop, int fd, bool client,
                               const struct link_ops *ops, void *arg)
{
	struct link *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->loop = loop;
	l->fd = fd;
	l->client = client;
	l->ops = ops;
	l->arg = arg;
	ev_io_init(&l->io, io_cb, fd, 0);
	l->io.data = l;
	ev_prepare_init(&l->flush, flush_cb);
	l->flush.data = l;
	return l;
}

struct link *link_new_client(struct ev_loop *loop, int fd, const uint8_t pk[32], uint8_t offer,
                             uint64_t now, const struct link_ops *ops, void *arg)
{
	struct link *l = link_alloc(loop, fd, true, ops, arg);
	if (!l)
		return NULL;
	uint8_t seed[32], nonce[RELAY_NONCE_LEN], hdr[RELAY_HDR_LEN];
	static const uint8_t zeros[LINK_BLOB_LEN];
	struct relay_hdr h = link_flight_hdr(now, offer);
	hop_random(seed, sizeof(seed));
	hop_random(nonce, sizeof(nonce));
	l->hc = calloc(1, sizeof(*l->hc));
	bool ok = l->hc && hop_client_init(l->hc, pk, seed) &&
	          relay_hdr_encode(hdr, sizeof(hdr), &h) == RELAY_HDR_LEN;
	secret_wipe(seed, sizeof(seed));
	size_t len = RELAY_LAYER_LEN + LINK_BLOB_LEN;
	uint8_t *p = ok ? buf_reserve(&l->lout, len) : NULL;
	if (!p) {
		link_free(l);
		return NULL;
	}
	l->hc->offered = offer;
	buf_commit(&l->lout, hop_flight_seal(l->hc, nonce, hdr, zeros, sizeof(zeros), p, len));
	/* The flight leaves when the socket is writable (it may be connecting). */
	link_update(l);
	return l;
}

struct link *link_new_relay(struct ev_loop *loop, int fd, const struct hop_relay *h,
                            const uint8_t *pre, size_t pre_len, const uint8_t *in, size_t in_len,
                            const struct link_ops *ops, void *arg)
{
	struct link *l = link_alloc(loop, fd, false, ops, arg);
	if (!l)
		return NULL;
	l->send = h->send;
	l->recv = h->recv;
	l->up = true;
	if (!buf_append(&l->lout, pre, pre_len) || (in_len && !buf_append(&l->lin, in, in_len))) {
		link_free(l);
		return NULL;
	}
	link_update(l);
	/* Frames that came with the flight are read at the first turn. */
	if (in_len)
		ev_feed_event(loop, &l->io, EV_READ);
	return l;
}

void *link_arg(const struct link *l)
{
	return l->arg;
}

size_t link_circuits(const struct link *l)
{
	return l->n + l->nfresh;
}

bool link_up(const struct link *l)
{
	return l->up && !l->dead;
}

bool link_takes_circuits(const struct link *l)
{
	return l->client && !l->dead && !l->closing && l->nfresh < UINT32_MAX - l->last_id;
}

void link_close(struct link *l)
{
	if (l->dead || l->n || l->nfresh)
		return;
	l->closing = true;
	link_update(l);
}
