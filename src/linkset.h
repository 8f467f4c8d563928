/*
 * The links a node keeps (protocol/SPEC.md, "Links"; src/links.c).
 *
 * User's side: one link to each first relay that the configuration marks
 * `links = true` (the default), carrying every circuit to that relay. It is
 * opened ahead, when the process starts and after a reload, so that the
 * first stream finds it up, as Tor builds its first circuits before an
 * application asks; one that has gone is opened again when a circuit needs
 * it. One that carries nothing for LINKSET_IDLE seconds is closed; one that
 * is not up within the connect timeout fails, and its circuits with it.
 * After a reload a link is kept for the circuits it carries but takes no
 * new one (those go on a link opened under the new configuration), and
 * closes once it carries none, so a relay the new configuration no longer
 * names is left at once.
 *
 * A relay extends circuits the same way, over one link to each next relay
 * its configuration's relays list names with its key (dial.c).
 *
 * Relay: a LINK flight turns its connection into a link, and each circuit
 * the client opens on it becomes a client of the engine (client.c), as a
 * connection of its own would. A link left with no circuit for
 * LINKSET_RELAY_IDLE seconds is reset (SPEC.md: a relay resets, the client
 * closes with a FIN).
 */
#ifndef NACRE_LINKSET_H
#define NACRE_LINKSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "hop.h"
#include "links.h"

#define LINKSET_IDLE       30.0
#define LINKSET_RELAY_IDLE 120.0
/* After a reload: how often a retired link looks whether it carries a circuit. */
#define LINKSET_RETIRED_CHECK 1.0

struct server;
struct client;

/* User's side: the link to relay p, opened now if there is none; NULL if it cannot be. */
struct link *linkset_to(struct server *srv, const struct relay_peer *p);
/*
 * Relay: c's connection, on which a LINK flight was just accepted (h holds
 * the keys its reply derived), becomes a link: reply goes out first, in (what
 * followed the flight) is read as frames. false if it could not be made. On
 * success the link owns the descriptor: the caller sets c->fd to -1 and
 * closes c.
 */
bool linkset_accept(struct server *srv, struct client *c, const struct hop_relay *h,
                    const uint8_t reply[RELAY_REPLY_LEN], const uint8_t *in, size_t in_len);
/*
 * User's side: opens the link to the first relay of each chain that has
 * none, ahead of any circuit (at start, and after a reload).
 */
void linkset_open_ahead(struct server *srv);
/* After a reload: the user's links take no new circuit. */
void linkset_reloaded(struct server *srv);
/* Resets every link (stopping). */
void linkset_free_all(struct server *srv);

#endif
