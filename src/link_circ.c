/*
 * A link's circuits (src/links.h): which are open, by id; the send ring and
 * the lists of circuits with news for their owners; each circuit's window
 * and credit; and the calls an owner makes on its circuit.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "chunkq.h"
#include "links_int.h"

/*
 * Windows. Credit goes back once a quarter of a circuit's window is free
 * again, not per byte. A window starts at LINK_WINDOW and doubles, up to
 * WINDOW_MAX, when the sender says BLOCKED while the circuit's reader keeps
 * up (no more than half the window waits for it once the owner has taken
 * what came before the BLOCKED): credit was on its way but the window ran
 * out first, so a larger one moves more per round trip.
 * A stalled reader does not grow its window, and holds no more than it.
 * What windows have grown by, together, is bounded in a process as bulk
 * buffers are (GROWN_MAX), so that many circuits that grew and then stall
 * cannot hold more than that beyond their first windows; it comes back as
 * they close.
 */
#define WINDOW_MAX (32 * LINK_WINDOW) /* 2 MiB: 200 MB/s over a 10 ms round trip */
#define GROWN_MAX  ((size_t)32 << 20)
static size_t grown; /* what open circuits' windows have grown by */

/* ------------------------------------------------------------ circuits by id */

static size_t circ_pos(const struct link *l, uint32_t id)
{
	size_t lo = 0, hi = l->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (l->circs[mid]->id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct link_circ *link_circ_find(const struct link *l, uint32_t id)
{
	size_t i = circ_pos(l, id);
	return i < l->n && l->circs[i]->id == id ? l->circs[i] : NULL;
}

/* Room in circs for want circuits. */
static bool circ_room(struct link *l, size_t want)
{
	if (want <= l->cap)
		return true;
	size_t cap = l->cap ? 2 * l->cap : 16;
	struct link_circ **p = realloc(l->circs, cap * sizeof(*p));
	if (!p)
		return false;
	l->circs = p;
	l->cap = cap;
	return true;
}

/* Ids only grow, so a new circuit goes at the end. */
bool link_circ_add(struct link *l, struct link_circ *lc)
{
	if (!circ_room(l, l->n + 1))
		return false;
	l->circs[l->n++] = lc;
	return true;
}

static void ring_remove(struct link *l, struct link_circ *lc)
{
	if (!lc->queued)
		return;
	struct link_circ **pp = &l->head, *prev = NULL;
	while (*pp != lc) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	*pp = lc->next;
	if (l->tail == lc)
		l->tail = prev;
	lc->next = NULL;
	lc->queued = false;
}

void link_fresh_remove(struct link *l, struct link_circ *lc)
{
	struct link_circ **pp = &l->fresh;
	while (*pp && *pp != lc)
		pp = &(*pp)->fresh_next;
	if (*pp) {
		*pp = lc->fresh_next;
		l->nfresh--;
	}
	lc->fresh_next = NULL;
}

void link_list_push(struct link *l, int k, struct link_circ *lc)
{
	if (lc->on_list[k])
		return;
	lc->on_list[k] = true;
	lc->list_next[k] = l->lists[k];
	l->lists[k] = lc;
	l->nlist[k]++;
}

struct link_circ *link_list_pop(struct link *l, int k)
{
	struct link_circ *lc = l->lists[k];
	if (lc) {
		l->lists[k] = lc->list_next[k];
		lc->list_next[k] = NULL;
		lc->on_list[k] = false;
		l->nlist[k]--;
	}
	return lc;
}

static void list_remove(struct link *l, int k, struct link_circ *lc)
{
	if (!lc->on_list[k])
		return;
	struct link_circ **pp = &l->lists[k];
	while (*pp != lc)
		pp = &(*pp)->list_next[k];
	*pp = lc->list_next[k];
	lc->list_next[k] = NULL;
	lc->on_list[k] = false;
	l->nlist[k]--;
}

void link_circ_remove(struct link *l, struct link_circ *lc)
{
	if (lc->id == 0)
		link_fresh_remove(l, lc);
	for (int k = 0; k < LINK_CIRC_LISTS; k++)
		list_remove(l, k, lc);
	size_t i = lc->id ? circ_pos(l, lc->id) : l->n;
	if (i < l->n && l->circs[i] == lc) {
		memmove(l->circs + i, l->circs + i + 1, (l->n - i - 1) * sizeof(*l->circs));
		l->n--;
	}
	ring_remove(l, lc);
	lc->link = NULL;
}

/* Whether lc has something the next flush can send. */
static bool circ_sendable(const struct link_circ *lc)
{
	return (buf_len(lc->rout) > 0 && lc->send_allow > 0) ||
	       (lc->want_fin && !lc->fin_sent && buf_len(lc->rout) == 0);
}

void link_ring_push(struct link *l, struct link_circ *lc)
{
	if (lc->queued || !circ_sendable(lc))
		return;
	lc->queued = true;
	lc->next = NULL;
	if (l->tail)
		l->tail->next = lc;
	else
		l->head = lc;
	l->tail = lc;
}

/* ------------------------------------------------------------ windows */

/* What the peer sent that the owner has not taken yet. */
static size_t circ_held(const struct link_circ *lc)
{
	return buf_len(lc->rin) + chunkq_len(&lc->q);
}

/* Credit for what has left rin, once it is a quarter of the window. */
static void circ_grant(struct link *l, struct link_circ *lc)
{
	size_t promised = lc->recv_allow + circ_held(lc);
	if (promised + lc->window / 4 > lc->window)
		return;
	uint32_t more = (uint32_t)(lc->window - promised);
	lc->recv_allow += more;
	link_queue_msg(l, LINK_MSG_CREDIT, lc->id, more);
}

/*
 * The peer said BLOCKED, and the owner has since taken what came before it:
 * a window that held the circuit back grows.
 */
static void circ_grow(struct link *l, struct link_circ *lc)
{
	if (lc->released || lc->in_fin || lc->fin_held || lc->window >= WINDOW_MAX ||
	    circ_held(lc) > lc->window / 2)
		return;
	size_t more = lc->window;
	if (more > WINDOW_MAX - lc->window)
		more = WINDOW_MAX - lc->window;
	if (more > GROWN_MAX - grown)
		return;
	grown += more;
	lc->window += (uint32_t)more;
	circ_grant(l, lc);
}

/* The sender's side: out of credit with bytes to send, said once until a CREDIT. */
void link_circ_blocked(struct link *l, struct link_circ *lc)
{
	if (lc->send_allow > 0 || buf_len(lc->rout) == 0 || lc->id == 0 || lc->blocked_told)
		return;
	lc->blocked_told = true;
	link_queue_msg(l, LINK_MSG_BLOCKED, lc->id, 0);
}

/* lc's queue goes into rin at the next flush, if rin has room for any of it. */
static void drain_push(struct link *l, struct link_circ *lc)
{
	if (chunkq_len(&lc->q) == 0 || !buf_could_take(lc->rin, 1))
		return;
	link_list_push(l, LIST_DUE, lc);
	link_update(l);
}

/*
 * Owners hear of what came for their circuits: bytes that reached rin,
 * queued bytes that now fit there, and a FIN that waited behind them. Each
 * turn either tells an owner of news or moves bytes, so this ends even when
 * owners take more as they are told.
 */
void link_deliver(struct link *l)
{
	struct link_circ *lc;
	while (!l->dead && (lc = link_list_pop(l, LIST_DUE))) {
		bool news = lc->fed;
		lc->fed = false;
		if (chunkq_len(&lc->q) > 0 && chunkq_move(&lc->q, lc->rin) > 0)
			news = true;
		if (lc->fin_held && chunkq_len(&lc->q) == 0) {
			lc->fin_held = false;
			lc->in_fin = news = true;
		}
		if (news)
			lc->ops->input(lc); /* lc may be gone after this */
	}
}

/* ------------------------------------------------------------ circuits */

void link_circ_dispose(struct link_circ *lc)
{
	grown -= lc->window - LINK_WINDOW;
	chunkq_free(&lc->q);
	buf_free(&lc->own_out);
	buf_free(&lc->own_in);
	free(lc);
}

/* A released circuit: late bytes are dropped; a reset or the link's end frees it. */
static void released_input(struct link_circ *lc)
{
	buf_free(&lc->own_in);
	if (!lc->link)
		link_circ_dispose(lc);
}

static void released_output(struct link_circ *lc)
{
	(void)lc;
}

static const struct link_circ_ops released_ops = {.input = released_input,
                                                  .output = released_output};

void link_circ_release(struct link_circ *lc)
{
	if (!lc)
		return;
	if (!lc->link) {
		link_circ_dispose(lc);
		return;
	}
	lc->own_out = *lc->rout;
	memset(lc->rout, 0, sizeof(*lc->rout));
	lc->rout = &lc->own_out;
	lc->rin = &lc->own_in;
	chunkq_free(&lc->q); /* dropped with the rest of what comes */
	lc->fin_held = false;
	lc->ops = &released_ops;
	lc->arg = NULL;
	lc->released = true;
	lc->want_fin = true;
	if (lc->fin_sent) {
		/* Its FIN is out already: nothing is left to send. */
		link_circ_remove(lc->link, lc);
		link_circ_dispose(lc);
		return;
	}
	link_circ_kick(lc);
}

struct link_circ *link_circ_open(struct link *l, struct buf *rin, struct buf *rout,
                                 const struct link_circ_ops *ops, void *arg)
{
	if (!link_takes_circuits(l))
		return NULL;
	/* Every circuit not yet given an id will need room there. */
	if (!circ_room(l, l->n + l->nfresh + 1))
		return NULL;
	struct link_circ *lc = calloc(1, sizeof(*lc));
	if (!lc)
		return NULL;
	lc->link = l;
	lc->rin = rin;
	lc->rout = rout;
	lc->ops = ops;
	lc->arg = arg;
	lc->send_allow = lc->recv_allow = lc->window = LINK_WINDOW;
	lc->fresh_next = l->fresh;
	l->fresh = lc;
	l->nfresh++;
	return lc;
}

void link_circ_kick(struct link_circ *lc)
{
	if (!lc->link)
		return;
	link_ring_push(lc->link, lc);
	link_circ_blocked(lc->link, lc);
	link_update(lc->link);
}

void link_circ_took(struct link_circ *lc)
{
	struct link *l = lc->link;
	if (!l)
		return;
	drain_push(l, lc);
	if (lc->in_fin || lc->fin_held)
		return;
	if (lc->peer_blocked) {
		lc->peer_blocked = false;
		circ_grow(l, lc);
	}
	circ_grant(l, lc);
}

void link_circ_free(struct link_circ *lc)
{
	if (!lc)
		return;
	struct link *l = lc->link;
	if (l) {
		bool quiet = (lc->in_fin && lc->fin_sent) || lc->id == 0;
		uint32_t id = lc->id;
		link_circ_remove(l, lc);
		if (!quiet)
			link_queue_msg(l, LINK_MSG_RESET, id, 0);
	}
	link_circ_dispose(lc);
}
