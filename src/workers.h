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

/* Runs n workers until SIGTERM/SIGINT; returns the exit status. */
int workers_run(const struct cli_opts *opts, unsigned n);

#endif
