/*
 * Spare connections to relays. Opening a stream through a chain costs a TCP
 * handshake on every link before the first flight can cross it; a relay
 * address that was just used is likely to be used again soon (a page opens
 * many connections), so a connection to it is opened ahead and kept for a
 * moment. It carries no byte until it is taken, and is closed unused after
 * SPARE_LIFETIME seconds, well before a relay's silent deadline for a peer
 * that says nothing; an address not dialled for SPARE_KEEP seconds is
 * forgotten. Only relay addresses (the user's first relay, the next relays a
 * middle relay's policy names) are ever pre-connected, never a destination:
 * not even an exit's next hop, which only its client says is a relay.
 */
#ifndef NACRE_SPARE_H
#define NACRE_SPARE_H

#include <sys/socket.h>

struct server;

/* A connected descriptor to addr if a spare is ready, else -1. */
int spare_take(struct server *srv, const struct sockaddr_storage *addr);
/*
 * addr was just dialled: open a spare to it (after the caller's own
 * connection, so the relay sees the real one first) and keep doing so while
 * it is in use.
 */
void spare_refill(struct server *srv, const struct sockaddr_storage *addr);
void spare_free_all(struct server *srv);

#endif
