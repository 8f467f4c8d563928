/*
 * Zero-copy relaying for direct tunnels, when the config asks for it
 * (`splice = true`): bytes move socket -> pipe -> socket with splice(2) and
 * never enter user space. A direction starts with ordinary buffers and takes
 * a pipe only once it has carried SPIPE_AFTER bytes, so a short request never
 * pays for the pipe's descriptors; pipes are kept in a small pool for reuse.
 *
 * It is off by default because it moves work rather than saving it. The pages
 * go on to the application untouched, so the application's read is the first
 * to touch them. Through nginx on loopback, alternating 1 GiB downloads with
 * curl (11 rounds each) came to 0.74x the speed without a proxy with splice
 * and 0.96x with buffers; nacre itself took 0.38 s of CPU per GiB with splice
 * and 0.63 s with buffers. Uploads were 0.55x and 0.59x.
 */
#ifndef NACRE_SPIPE_H
#define NACRE_SPIPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SPIPE_AFTER (64 * 1024)
/*
 * Pipes are grown to this size (F_SETPIPE_SZ) so a busy tunnel moves more per
 * splice call: nacre's CPU per GiB relayed was 1.2 s with 64 KiB pipes, 0.77 s
 * with 256 KiB and 0.48 s with 1 MiB (4 x 1 GiB through SOCKS5 on loopback).
 * A slow reader can pin this much kernel memory per direction, the same order
 * as what TCP autotuning already lets its socket buffers hold. Where the
 * kernel refuses (an unprivileged user past pipe-user-pages-soft), a pipe
 * keeps Linux's default of 64 KiB.
 */
#define SPIPE_WANT (1024 * 1024)

struct spipe {
	int rd, wr;       /* -1 until the direction turns to splicing */
	size_t len;       /* bytes sitting in the pipe */
	size_t cap;       /* what the pipe holds */
	bool full;        /* the pipe took no more though the socket had data */
	uint64_t carried; /* bytes moved through buffers so far */
};

void spipe_init(struct spipe *p);
static inline bool spipe_active(const struct spipe *p)
{
	return p->rd >= 0;
}
/* Counts bytes moved through buffers; takes a pipe once there were enough. */
void spipe_account(struct spipe *p, size_t n);
/* True when the pipe can take more from the socket. */
static inline bool spipe_room(const struct spipe *p)
{
	return !p->full && p->len < p->cap;
}
/* splice(2) from fd into the pipe: the result of splice, errno set on -1. */
ssize_t spipe_fill(struct spipe *p, int fd);
/* splice(2) from the pipe into fd. */
ssize_t spipe_drain(struct spipe *p, int fd);
/* Gives the pipe back to the pool (or closes it if it still holds bytes). */
void spipe_release(struct spipe *p);

#endif
