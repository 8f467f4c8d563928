#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "chunkq.h"

struct chunk {
	struct chunk *next;
	size_t start, end; /* the bytes held: data[start..end) */
	unsigned char data[CHUNKQ_CHUNK];
};

static void chunks_free(struct chunk *c)
{
	while (c) {
		struct chunk *next = c->next;
		free(c);
		c = next;
	}
}

bool chunkq_push(struct chunkq *q, const void *p, size_t n)
{
	const unsigned char *src = p;
	size_t room = q->tail ? CHUNKQ_CHUNK - q->tail->end : 0;
	size_t k = n < room ? n : room;
	/* The chunks for what the tail cannot take first, so that a failure appends nothing. */
	struct chunk *first = NULL, *last = NULL;
	for (size_t left = n - k; left > 0;) {
		struct chunk *c = malloc(sizeof(*c));
		if (!c) {
			chunks_free(first);
			return false;
		}
		c->next = NULL;
		c->start = 0;
		c->end = left < CHUNKQ_CHUNK ? left : CHUNKQ_CHUNK;
		left -= c->end;
		if (last)
			last->next = c;
		else
			first = c;
		last = c;
	}
	if (k) {
		memcpy(q->tail->data + q->tail->end, src, k);
		q->tail->end += k;
		src += k;
	}
	for (struct chunk *c = first; c; c = c->next) {
		memcpy(c->data, src, c->end);
		src += c->end;
	}
	if (first) {
		if (q->tail)
			q->tail->next = first;
		else
			q->head = first;
		q->tail = last;
	}
	q->len += n;
	return true;
}

size_t chunkq_move(struct chunkq *q, struct buf *b)
{
	size_t moved = 0;
	while (q->head) {
		struct chunk *c = q->head;
		size_t k = c->end - c->start;
		if (!buf_make_room(b, k))
			k = buf_room(b);
		if (k == 0 || !buf_append(b, c->data + c->start, k))
			break;
		c->start += k;
		q->len -= k;
		moved += k;
		if (c->start == c->end) {
			q->head = c->next;
			if (!q->head)
				q->tail = NULL;
			free(c);
		}
	}
	return moved;
}

void chunkq_free(struct chunkq *q)
{
	chunks_free(q->head);
	q->head = q->tail = NULL;
	q->len = 0;
}
