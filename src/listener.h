/* Listening sockets: accept, check the client's address and the limits, hand over. */
#ifndef NACRE_LISTENER_H
#define NACRE_LISTENER_H

#include <ev.h>
#include <stdbool.h>
#include <sys/socket.h>

struct server;
struct listen_conf;

struct listener {
	struct server *srv;
	int fd;
	ev_io io;
	ev_timer resume;              /* while paused */
	struct sockaddr_storage addr; /* as configured (port may be 0) */
	socklen_t addrlen;
	const struct listen_conf *lc; /* in srv->conf */
	struct listener *next;
	bool keep;   /* reload bookkeeping */
	bool paused; /* out of descriptors, even the reserve */
};

/* Whether lc's allow list lets a client from sa in. */
bool listener_allows(const struct listen_conf *lc, const struct sockaddr *sa);
/* Binds and listens; NULL on failure (logged). */
struct listener *listener_open(struct server *srv, const struct listen_conf *lc);
void listener_close(struct listener *l);
/* Stops accepting for a moment, until listener_resume() or a short timer. */
void listener_pause(struct listener *l);
/* Accepts again if paused; nothing otherwise. */
void listener_resume(struct listener *l);

#endif
