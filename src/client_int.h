/*
 * What client.c (the engine: state, buffers, teardown), client_events.c
 * (what each event does), client_io.c (moving a side's bytes) and dial.c
 * (connecting, directly or through a chain) share; nothing else includes it.
 */
#ifndef NACRE_CLIENT_INT_H
#define NACRE_CLIENT_INT_H

#include "client.h"

/* Callbacks bracket their work with these, so a close inside them is safe. */
void client_enter(struct client *c);
void client_leave(struct client *c);
void client_set_timer(struct client *c, double seconds);

/* c->ufd is connected: on to opening (through a chain), or to the handler. */
void client_connected(struct client *c);
/* Tries the next address (or the chain's first relay); fails when none is left. */
void client_dial_next(struct client *c);
/* Reports a destination that cannot be reached to the handler. */
void client_fail(struct client *c, enum client_error e);
/* PHASE_OPENING: acts on the exit's status once it has come back. */
void client_opening_check(struct client *c);

/* client_events.c: the watchers' callbacks. */
void client_on_io(struct ev_loop *loop, ev_io *w, int revents);
void client_on_upstream_io(struct ev_loop *loop, ev_io *w, int revents);
void client_on_timer(struct ev_loop *loop, ev_timer *w, int revents);
/* client_events.c: a side that is a circuit on a link; its link calls these. */
extern const struct link_circ_ops client_circuit_ops;

/* What the client's side writes next: our own replies first, then the tunnel's. */
struct buf *client_out(struct client *c);
/* What the upstream side writes next, likewise. */
struct buf *client_upstream_out(struct client *c);
/*
 * HTTP messages: moves what it can of a response to the client and writes
 * it (client.c); false if the client was closed.
 */
bool client_forward_response(struct client *c);
/* Ends the upstream connection or circuit only (ENDs first, unless aborting). */
void client_close_upstream_fd(struct client *c);

/* client_io.c: EAGAIN and its kin, nothing to do now. */
bool client_io_again(ssize_t n);
/*
 * client_io.c: reads side fd (c->fd or c->ufd) into b, its pipe p, or its
 * records; *eof when the side has ended. false when the client was closed.
 */
bool client_read_side(struct client *c, int fd, struct buf *b, struct spipe *p, bool *eof,
                      const char *side);
/* client_io.c: writes what side fd has pending; false when the client was closed. */
bool client_write_side(struct client *c, int fd, struct buf *b, struct spipe *p, const char *side);
/*
 * client_io.c: a sealed side's new records (read from its socket, or put in
 * rin by its link) opened into b; *eof once it has ended. A broken stream
 * resets the client (or, while opening, leaves the answer to
 * client_opening_check()). false when the client was closed.
 */
bool client_sealed_in(struct client *c, struct sealed *s, struct buf *b, bool *eof,
                      const char *side);

#endif
