/*
 * What src/links.c (a link's I/O: frames in and out, control messages,
 * setup and teardown) and src/link_circ.c (its circuits: bookkeeping,
 * windows and credit, and the circuit calls of links.h) share. Not for
 * anything else: the rest of the daemon uses links.h.
 */
#ifndef NACRE_LINKS_INT_H
#define NACRE_LINKS_INT_H

#include "buffer.h"
#include "links.h"

struct link {
	struct ev_loop *loop;
	int fd;
	ev_io io;
	ev_prepare flush; /* output is gathered once per loop turn */
	bool client;
	bool up;               /* keys in place: frames move */
	bool dead;             /* failed or closed: down() is due or done */
	bool closing;          /* client: FIN once lout drains */
	bool fin_out;          /* our FIN is sent */
	int busy;              /* callbacks on the stack: free only at 0 */
	struct hop_client *hc; /* client: until the reply */
	struct record_dir send, recv;
	struct buf lin, lout;
	struct buf ctl; /* control messages waiting for the next control frame */
	uint32_t last_id;
	struct link_circ **circs; /* open circuits, by id */
	size_t n, cap;
	/*
	 * Client: circuits opened that have sent nothing yet. A circuit takes its
	 * id with its first frame, so ids reach the relay in order whichever
	 * circuit speaks first.
	 */
	struct link_circ *fresh;
	size_t nfresh;
	struct link_circ *head, *tail; /* circuits with something to send */
	/*
	 * Owners are told of news once per read and once per flush, not per
	 * frame: then a side on a link reads and writes its socket, and changes
	 * what it watches, as often as one on a socket of its own would.
	 */
	struct link_circ *lists[LINK_CIRC_LISTS];
	size_t nlist[LINK_CIRC_LISTS];
	const struct link_ops *ops;
	void *arg;
};

/*
 * The link's lists of circuits with news for their owners. DUE: the owner
 * is to hear of new bytes in rin (fed), or rin has room for some of the
 * circuit's queue. WRITTEN: the link took the circuit's bytes this flush.
 * Each circuit is on a list at most once; the order is of no matter.
 */
enum { LIST_DUE, LIST_WRITTEN };
void link_list_push(struct link *l, int k, struct link_circ *lc);
struct link_circ *link_list_pop(struct link *l, int k);

/* links.c: interest and the flush from the link's state; a control message queued. */
void link_update(struct link *l);
void link_queue_msg(struct link *l, enum link_msg_kind kind, uint32_t id, uint32_t value);

/* link_circ.c: the open circuits, by id (a new one goes at the end). */
struct link_circ *link_circ_find(const struct link *l, uint32_t id);
bool link_circ_add(struct link *l, struct link_circ *lc);
/* Off every list of l, and lc->link NULL. */
void link_circ_remove(struct link *l, struct link_circ *lc);
/* Frees lc and what it holds; its window's growth goes back. */
void link_circ_dispose(struct link_circ *lc);
/* A client's circuit that takes its id now leaves the list of fresh ones. */
void link_fresh_remove(struct link *l, struct link_circ *lc);
/* Onto the send ring, if it has something the next flush can send. */
void link_ring_push(struct link *l, struct link_circ *lc);
/* The sender's side: BLOCKED, once until a CREDIT, if lc is out of credit with bytes. */
void link_circ_blocked(struct link *l, struct link_circ *lc);
/* Owners hear of what came for their circuits (the DUE list). */
void link_deliver(struct link *l);

#endif
