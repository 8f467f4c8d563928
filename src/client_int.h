/*
 * What client.c (the engine: watchers, buffers, teardown) and dial.c
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

#endif
