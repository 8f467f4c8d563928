/*
 * Circuits kept between streams (SPEC.md, "Reused circuits"). A stream that
 * ended cleanly through a chain leaves its circuit here: every link open and
 * every hop's keys in place, so the next stream from the same application
 * costs one BEGIN record instead of a TCP connect and a handshake per hop.
 *
 * As Tor does, a circuit is reused only within one isolation key: the same
 * listener (and so the same chain), the same client IP address and the same
 * user: the authenticated one, or on a listener without users the SOCKS
 * credentials the application sent only to keep its streams apart (Tor's
 * IsolateSOCKSAuth, which Tor Browser and torsocks rely on). A circuit
 * takes no new stream after POOL_DIRTY seconds from its first, and an idle
 * one is closed after POOL_IDLE seconds, well before any relay's idle
 * timeout. A kept circuit is watched: one its relay closes (a restart, an
 * idle timeout) is let go at once, and the next stream builds a new one
 * instead of finding out through a failed BEGIN.
 */
#ifndef NACRE_POOL_H
#define NACRE_POOL_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "conf.h"
#include "links.h"
#include "sealed.h"

#define POOL_DIRTY 600.0 /* Tor's MaxCircuitDirtiness */
#define POOL_IDLE  30.0
#define POOL_MAX   256 /* idle circuits kept per process */

struct server;

/* Who may share a circuit. */
struct pool_key {
	struct conf *conf; /* a kept circuit holds a reference */
	const struct listen_conf *lc;
	struct sockaddr_storage peer; /* the client's address, port zero */
	uint64_t user;                /* client.h's user: who the application says it is */
};

void pool_key_init(struct pool_key *k, struct conf *conf, const struct listen_conf *lc,
                   const struct sockaddr_storage *peer, uint64_t user);

/*
 * A kept circuit's way to its first relay: a connection of its own (fd), or
 * a circuit on a link (lc, fd -1).
 */
struct pool_way {
	int fd;
	struct link_circ *lc;
};

/*
 * Keeps the circuit (its way to the first relay, its sealed state, idle
 * between streams) for key; closes it instead when it is too old or the
 * pool full. Takes both over either way. The caller has stopped its own
 * watcher on fd (costing no syscall if that watcher was active until now);
 * a circuit on a link is the pool's to watch from now on.
 */
void pool_put(struct server *srv, const struct pool_key *key, struct pool_way way, struct sealed *s,
              ev_tstamp born);
/*
 * An idle circuit for key, taken out of the pool; false if there is none.
 * The caller watches its way from now on: pool_io_set() first for an fd,
 * the circuit's ops and arg for a circuit on a link.
 */
bool pool_take(struct server *srv, const struct pool_key *key, struct pool_way *way,
               struct sealed **s, ev_tstamp *born);
/* Closes every kept circuit (shutdown, reload). */
void pool_free_all(struct server *srv);

/*
 * Points w at fd, a kept circuit's socket, as it passes between a stream's
 * watcher and the pool's within one callback. ev_io_set() alone would mark
 * fd as a new descriptor, and libev would add it to epoll again: an
 * EPOLL_CTL_ADD that fails with EEXIST, a syscall a stream for nothing.
 * Clearing that mark (libev's EV__IOFDSET, which ev_io_start() reads) is
 * right only for a descriptor that stayed open and watched, as here: the
 * other watcher was active until now. So a taker points its watcher at fd
 * only once it keeps the circuit: were fd closed after all, a new socket
 * could get its number, and libev would take it for one already in epoll.
 */
void pool_io_set(ev_io *w, int fd, int events);

#endif
