/*
 * A queue of bytes in fixed-size chunks, for bytes that must be kept but
 * have nowhere else to go yet: a link's circuit whose owner's buffer is full
 * (src/link_circ.c). It takes memory only while it holds bytes, a chunk at a
 * time, and grows as far as its user lets it: the user bounds it (a link by
 * the credit it granted).
 */
#ifndef NACRE_CHUNKQ_H
#define NACRE_CHUNKQ_H

#include <stdbool.h>
#include <stddef.h>

#include "buffer.h"

#define CHUNKQ_CHUNK (64 * 1024) /* bytes a chunk holds */

struct chunk;

struct chunkq {
	struct chunk *head, *tail;
	size_t len; /* bytes held */
};

static inline size_t chunkq_len(const struct chunkq *q)
{
	return q->len;
}

/* Appends n bytes; false (nothing appended) without memory. */
bool chunkq_push(struct chunkq *q, const void *p, size_t n);
/*
 * Moves bytes from the front of q to the tail of b, as many as b takes
 * (letting it turn bulk as a read would): the number moved.
 */
size_t chunkq_move(struct chunkq *q, struct buf *b);
/* Drops every byte and frees the chunks. */
void chunkq_free(struct chunkq *q);

#endif
