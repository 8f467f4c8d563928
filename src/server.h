/*
 * The daemon's global state: the loop, the live config, the listeners, the
 * list of clients, per-address counts, and the signals that reload or stop it.
 */
#ifndef NACRE_SERVER_H
#define NACRE_SERVER_H

#include <ev.h>
#include <stdbool.h>

#include "conf.h"

struct client;
struct listener;
struct peer_count;
struct spare;
struct pool_entry;
struct linkset_entry;

#define PEER_BUCKETS 1024

struct server {
	struct ev_loop *loop;
	const struct cli_opts *opts;
	struct conf *conf;
	struct resolver *resolver;
	char *resolver_servers; /* what the resolver was made with */
	struct listener *listeners;
	struct client *clients;
	unsigned nclients;
	unsigned peak; /* most clients at once since memory was last trimmed */
	struct peer_count *peers[PEER_BUCKETS];
	int reserve_fd;    /* given up to accept-and-close when out of descriptors */
	bool fd_exhausted; /* logged once until a client closes */
	bool draining;
	unsigned worker, nworkers; /* this process's index among the workers */
	ev_timer drain_timer;
	struct spare *spares;    /* connections to relays opened ahead (spare.c) */
	struct pool_entry *pool; /* circuits kept between streams (pool.c) */
	unsigned npool;
	struct linkset_entry *links; /* links to and from relays (linkset.c) */
	ev_timer idle_timer;         /* gives memory back once load falls to a quarter of peak */
	ev_signal sighup, sigterm, sigint;
};

/*
 * Runs the daemon until it is stopped; returns the exit status. With
 * workers > 1 this process becomes the master of that many workers.
 */
int server_run(const struct cli_opts *opts);
/* One serving process (worker of nworkers) on a loaded config it takes over. */
int server_serve(const struct cli_opts *opts, struct conf *conf, unsigned worker,
                 unsigned nworkers);

/*
 * Counts a new client from peer; false (nothing counted) when a limit says no.
 * server_client_gone() undoes it. per_client is false for relay listeners:
 * a middle relay takes every stream of the relay before it from one address.
 */
bool server_admit(struct server *srv, const struct sockaddr *peer, bool per_client);
/* Undoes server_admit() for a peer that did not become a client after all. */
void server_unadmit(struct server *srv, const struct sockaddr *peer);
void server_client_added(struct server *srv, struct client *c);
void server_client_gone(struct server *srv, struct client *c);

#endif
