/*
 * One client connection, from accept to close, and the upstream connection it
 * opens. The engine (client.c) owns the descriptors, buffers, watchers and the
 * timer; a protocol handler (socks.c, httpproxy.c) reads and writes the
 * buffers and asks the engine to connect, tunnel or close.
 *
 * Read/write interest is never set by hand: client_update() derives it from
 * the buffers after every event (room in a buffer: read into it; bytes in it:
 * write them out), so a side that stops reading stops the other side too and
 * no direction ever holds more than BUF_BULK_CAP bytes.
 *
 * There is one teardown path, client_close(). Handlers may call it from any
 * callback; the struct stays valid until the callback returns (c->closed is
 * then true and the handler must return at once).
 */
#ifndef NACRE_CLIENT_H
#define NACRE_CLIENT_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "buffer.h"
#include "conf.h"
#include "http.h"
#include "links.h"
#include "proto.h"
#include "resolver.h"
#include "sealed.h"
#include "spipe.h"

struct server;

enum client_phase {
	PHASE_HANDSHAKE,  /* a handler parses what the client sends */
	PHASE_RESOLVING,  /* looking up the destination's name */
	PHASE_CONNECTING, /* connecting to one of its addresses */
	PHASE_OPENING,    /* through a chain: the flight is out, the exit's status is due */
	PHASE_TUNNEL,     /* bytes relayed both ways as they are */
	PHASE_FORWARD,    /* HTTP messages relayed one by one (absolute-form) */
	PHASE_CLOSING,    /* a last reply is being flushed, then the client is let go */
};

/* Why a destination could not be reached; each handler maps it to its own code. */
enum client_error {
	CERR_GENERAL,
	CERR_NOT_ALLOWED, /* the rules block it */
	CERR_NET_UNREACH,
	CERR_HOST_UNREACH,
	CERR_NOT_FOUND, /* its name does not resolve */
	CERR_REFUSED,
	CERR_TIMEOUT,
};

struct client;

struct client_handler {
	const char *name;
	/* New bytes in c->cin, or room again in an output buffer. */
	void (*input)(struct client *c);
	/* The upstream connection is up (c->ufd). */
	void (*connected)(struct client *c);
	/* The destination could not be reached. */
	void (*failed)(struct client *c, enum client_error err);
	/* PHASE_FORWARD: new bytes in c->uin, or the upstream closed (c->u_eof). */
	void (*upstream_input)(struct client *c);
	/*
	 * Whether c carries nothing a close would cut (an HTTP client between
	 * requests, say): a stopping server closes such clients at once rather
	 * than wait out its drain time for them. NULL: never.
	 */
	bool (*idle)(const struct client *c);
	/*
	 * Whether the upstream connection owes c nothing now (an HTTP client
	 * between responses): a reset there then ends that connection only, as
	 * its EOF would, and the next request opens another. NULL: never.
	 */
	bool (*upstream_quiet)(const struct client *c);
};

struct relay_state {
	bool doomed;     /* the flight failed: read, discard, close at the deadline */
	uint8_t cmd;     /* enum relay_cmd */
	uint8_t *blob;   /* EXTEND: the next hop's layer; CONNECT: early data first */
	size_t blob_len; /* bytes of it to send on */
	size_t pad_len;  /* EXTEND: random bytes to send after it */
	size_t wait_len; /* bytes cin must hold before the flight is opened */
};

struct socks_state {
	int version; /* 4 or 5 */
	int step;    /* socks.c's own */
	uint8_t cmd;
};

struct http_state {
	int req_step; /* httpproxy.c's own */
	int resp_step;
	struct http_body req_body;
	struct http_body resp_body;
	bool req_was_head;
	bool client_keep_alive;
	bool client_http10; /* the request is HTTP/1.0: no 1xx goes back (RFC 9110 15.2) */
	bool close_after;
	bool upstream_used;            /* a response has come back on this upstream connection */
	uint64_t upstream_user;        /* the user whose request opened it (c->user then) */
	char host[PROTO_NAME_MAX + 1]; /* the upstream connection's destination */
	uint16_t port;
};

struct client {
	struct server *srv;
	struct conf *conf; /* the config this client was accepted under */
	const struct listen_conf *lc;
	struct client *prev, *next; /* the server's list of live clients */

	int fd;
	ev_io io;
	struct sockaddr_storage peer;
	int ufd;
	ev_io uio;
	ev_timer timer;
	ev_tstamp last_active;

	enum client_phase phase;
	const struct client_handler *h;
	bool closed;
	int busy; /* callbacks on the stack; free only at 0 */

	struct buf cin;              /* read from the client */
	struct buf cout;             /* to write to the client (replies, HTTP responses) */
	struct buf uin;              /* read from upstream */
	struct buf uout;             /* to write upstream (HTTP request heads and bodies) */
	struct spipe c2u, u2c;       /* tunnels, splice = true: the splice path once busy */
	bool c_eof, u_eof;           /* a side sent FIN */
	bool c_behind, u_behind;     /* our last write to a side left bytes over: it reads slowly */
	bool c_shut, u_shut;         /* we sent FIN to a side */
	bool lingering;              /* CLOSING: the reply is out; discarding until EOF */
	struct sealed *cs;           /* relay role: the client side speaks records */
	struct sealed *us;           /* through a chain: the upstream side speaks records */
	struct link_circ *clc;       /* relay role, on a link: the client side (fd is -1) */
	struct link_circ *ulc;       /* through a chain, on a link: the upstream (ufd is -1) */
	bool on_link;                /* accepted as a circuit on a link, not a connection */
	bool cs_fin, us_fin;         /* FIN sent on a sealed side (after its END records) */
	bool via_chain;              /* the upstream connection is to a chain's first relay */
	bool aborting;               /* client_abort: no END, so every hop resets too */
	uint64_t user;               /* users.c's number, or socks.c's 64-bit tag; 0 if none */
	bool circ_reused;            /* through a chain: the stream went on a kept circuit */
	ev_tstamp circ_born;         /* when that circuit carried its first stream */
	struct proto_addr chain_dst; /* through a chain: the destination, to retry it */

	/* The destination being connected to. */
	char dst_name[PROTO_NAME_MAX + 1]; /* empty for an IP destination */
	uint16_t dst_port;
	struct sockaddr_storage addrs[RESOLVE_MAX_ADDRS];
	size_t naddrs, next_addr;
	int last_errno;
	bool any_blocked;
	struct resolve_req *rreq;

	union {
		struct socks_state socks;
		struct http_state http;
		struct relay_state relay;
	} u;
};

/* Takes over an accepted descriptor. */
struct client *client_new(struct server *srv, int fd, const struct sockaddr_storage *peer,
                          struct conf *conf, const struct listen_conf *lc);
/*
 * Relay: a circuit a client opened on a link (linkset.c), served as a
 * connection of its own; peer is the link's. NULL if out of memory.
 */
struct client *client_new_circuit(struct server *srv, struct link_circ *lc,
                                  const struct sockaddr_storage *peer, struct conf *conf,
                                  const struct listen_conf *listen);
/* The one teardown. reason is logged at debug level; it must not name a destination. */
void client_close(struct client *c, const char *reason);
/* As client_close, but both sides see a reset rather than a FIN. */
void client_abort(struct client *c, const char *reason);

/*
 * Starts connecting to dst (an IP, or a name looked up with c-ares), applying
 * the rules; the handler's connected() or failed() is called later.
 */
void client_connect(struct client *c, const struct proto_addr *dst);
/* Closes the upstream connection only (HTTP, before reconnecting elsewhere). */
void client_upstream_close(struct client *c);
/* From now on bytes flow both ways unchanged (whatever is in cin goes first). */
void client_start_tunnel(struct client *c);
/* From now on HTTP messages are relayed one by one; the idle timeout applies. */
void client_start_forward(struct client *c);
/* Sends what is in cout, then closes (discarding further input for a while). */
void client_finish(struct client *c);
/* Queues bytes for the client; false if they do not fit. */
bool client_reply(struct client *c, const void *p, size_t n);
/* Re-derives watcher interest and half-close from the buffers. */
void client_update(struct client *c);
/* For logs: "dest" if debug logging is on, else "(destination hidden)". */
const char *client_dest_for_log(const struct client *c, char *buf, size_t len);

extern const struct client_handler socks5_handler;
extern const struct client_handler socks4_handler;
extern const struct client_handler http_handler;
extern const struct client_handler relay_handler;

/* Relay role (relay.c): a new relay connection; the deadline is drawn here. */
void relay_accepted(struct client *c);
/* Closes the upstream side and forgets the stream's state: back to PHASE_HANDSHAKE. */
void client_stream_reset(struct client *c);
/* Relay role, reused circuit: a stream is over; wait for the next BEGIN. */
void relay_stream_done(struct client *c);
/*
 * Relay role: a reload has installed conf. A circuit between streams is
 * closed (one in a stream closes when it ends); a connection still waiting
 * for its flight takes conf and the listener that now has its address, or is
 * closed if there is none. c may be closed on return.
 */
void relay_reloaded(struct client *c, struct conf *conf);
/* The relay listener at addr in conf, or NULL. */
const struct listen_conf *relay_listener_at(const struct conf *conf,
                                            const struct sockaddr_storage *addr);
/*
 * Relay role, after a reload: a stream still being connected tries its
 * addresses under the running config's policy, and a connect under way to
 * one that policy refuses is dropped for the next address. c may be closed
 * on return.
 */
void client_dial_reloaded(struct client *c);
/* Reads and drops whatever the client side has sent (before a quiet close). */
void client_discard_input(struct client *c);

#endif
