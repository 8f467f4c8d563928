/*
 * workers > 1: this process becomes a small master that forks the workers,
 * passes SIGHUP and SIGTERM on to them, and starts a worker again if one
 * dies. Each worker is an ordinary nacre serving loop; they share the
 * listening addresses through SO_REUSEPORT, so the kernel spreads new
 * connections over them, one core each.
 */
#ifndef NACRE_WORKERS_H
#define NACRE_WORKERS_H

#include "conf.h"

/*
 * Runs conf->workers workers serving conf (taken over) until SIGTERM/SIGINT;
 * returns the exit status: 1 if one could not start.
 */
int workers_run(const struct cli_opts *opts, struct conf *conf);
/* A worker listens: tells a master waiting for its start (no-op otherwise). */
void workers_ready(void);

#endif
