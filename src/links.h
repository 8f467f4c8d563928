/*
 * Links (protocol/SPEC.md, "Links"): one TCP connection between two nodes
 * that carries many circuits, each of which is to its owner what a TCP
 * connection of its own would be (bytes each way, a FIN, a reset).
 *
 * A circuit's owner lends it two buffers: rin, where the link appends what
 * arrives for the circuit, and rout, from which the link takes what the
 * circuit sends. What rin has no room for waits in the circuit's own queue
 * and moves into rin as the owner takes bytes out (link_circ_took). The
 * link grants credit as bytes leave rin, so a circuit whose owner stops
 * reading holds no more than its window and stalls no other circuit. The
 * window starts at LINK_WINDOW and grows while the circuit's reader keeps
 * up and its sender still runs out of credit (see link_circ.c). Output is
 * gathered once per turn of the event loop: every circuit with bytes and
 * credit gives a frame in turn, the control messages follow in one frame,
 * and it all leaves in one send().
 *
 * Teardown: a circuit ends with link_circ_free() from its owner (after a
 * FIN each way, or at any time as a reset). A link that fails resets every
 * circuit on it (their input callback sees reset set and link NULL) and
 * tells its own owner through down().
 */
#ifndef NACRE_LINKS_H
#define NACRE_LINKS_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>

#include "buffer.h"
#include "chunkq.h"
#include "hop.h"
#include "link.h"

struct link;
struct link_circ;

#define LINK_CIRC_LISTS 2

struct link_circ_ops {
	/* New bytes in *rin, the peer's FIN (in_fin), or a reset (reset). */
	void (*input)(struct link_circ *lc);
	/* The link took bytes from *rout (room to fill it again), or queued the FIN. */
	void (*output)(struct link_circ *lc);
};

struct link_circ {
	struct link *link;      /* NULL once the link is gone */
	uint32_t id;            /* 0 until its first frame goes (client) */
	struct buf *rin, *rout; /* the owner's */
	const struct link_circ_ops *ops;
	void *arg;           /* the owner's */
	uint32_t send_allow; /* what this end may still send */
	uint32_t recv_allow; /* what the peer may still send */
	uint32_t window;     /* what this end lets the peer have unread: grows */
	bool in_fin;         /* the peer's stream is over (and all of it is in rin) */
	bool want_fin;       /* the owner's stream is over once rout drains */
	bool fin_sent;       /* FIN queued */
	bool reset;          /* over both ways, abruptly */
	bool queued;         /* on the link's send ring */
	bool released;       /* the owner let go: FIN after own_out, then gone */
	bool blocked_told;   /* BLOCKED queued, and no CREDIT has come since */
	bool fin_held;       /* the peer's FIN, behind bytes still in q */
	bool fed;            /* rin got bytes (or in_fin was set) the owner has not been told of */
	bool peer_blocked;   /* a BLOCKED came: the window may grow at the owner's next take */
	/* What came for the circuit while rin had no room: moved as the owner reads. */
	struct chunkq q;
	struct buf own_out;           /* released: what the owner's rout held */
	struct buf own_in;            /* released: where late bytes land, dropped */
	struct link_circ *next;       /* send ring */
	struct link_circ *fresh_next; /* client: circuits that have sent nothing */
	/* The link's lists of circuits with news for their owners (links_int.h). */
	struct link_circ *list_next[LINK_CIRC_LISTS];
	bool on_list[LINK_CIRC_LISTS];
};

struct link_ops {
	/* Client: the relay has replied; circuits move from now on. */
	void (*up)(struct link *l);
	/*
	 * The link failed or closed; every circuit on it was reset before this.
	 * The link is freed once down() returns.
	 */
	void (*down)(struct link *l);
	/*
	 * Relay: the client opened circuit lc. The owner sets rin, rout, ops
	 * and arg, or returns false to refuse it (it is reset).
	 */
	bool (*accept)(struct link *l, struct link_circ *lc);
};

/*
 * Client: opens a link on fd (connected, or connecting: the flight waits)
 * to the relay with public key pk, offering the suites in offer. The
 * flight is sealed now; circuits may be opened at once and move once the
 * reply has come. NULL if out of memory or pk is unusable.
 */
struct link *link_new_client(struct ev_loop *loop, int fd, const uint8_t pk[32], uint8_t offer,
                             uint64_t now, const struct link_ops *ops, void *arg);
/*
 * Relay: takes over fd once a LINK flight has been accepted on it (h holds
 * the keys its reply derived). pre (the reply) is sent first; in (what
 * followed the flight) is read as frames.
 */
struct link *link_new_relay(struct ev_loop *loop, int fd, const struct hop_relay *h,
                            const uint8_t *pre, size_t pre_len, const uint8_t *in, size_t in_len,
                            const struct link_ops *ops, void *arg);
void *link_arg(const struct link *l);
/* Circuits open on it now. */
size_t link_circuits(const struct link *l);
/* Whether the relay has replied (client) and the link has not failed. */
bool link_up(const struct link *l);
/*
 * Client: whether link_circ_open() may open a circuit on l: it has not
 * failed (its circuits may be being reset right now) and is not closing.
 */
bool link_takes_circuits(const struct link *l);
/* Resets the link and every circuit on it; down() follows. */
void link_fail(struct link *l, const char *why);
/* Closes a link with no circuit left: a FIN after its last frame. */
void link_close(struct link *l);

/*
 * Client: a new circuit on l, or NULL (out of ids or memory). Its first
 * bytes open it at the relay; one that ends (want_fin) before sending any
 * is reset.
 */
struct link_circ *link_circ_open(struct link *l, struct buf *rin, struct buf *rout,
                                 const struct link_circ_ops *ops, void *arg);
/* The owner put bytes in rout, or set want_fin: they go out this turn. */
void link_circ_kick(struct link_circ *lc);
/* The owner took bytes from rin: credit goes back as they make room. */
void link_circ_took(struct link_circ *lc);
/*
 * The owner is done with lc: gone quietly if both FINs have crossed,
 * otherwise as a reset. Frees lc.
 */
void link_circ_free(struct link_circ *lc);
/*
 * The owner is done with lc, as close() is with a socket whose stream it
 * has ended: what rout holds goes out (rout is taken, the owner's buffer
 * left empty), then a FIN, and lc is freed. What the peer sends after that
 * is dropped, as SPEC.md allows for a closed circuit. The owner's buffers
 * are not touched again.
 */
void link_circ_release(struct link_circ *lc);

#endif
