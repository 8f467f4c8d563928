#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "buffer.h"

/*
 * Drained buffers are given back at once (an idle connection holds none), but
 * a busy one drains and refills many times a second: a few blocks of each
 * size are kept for reuse, so that freeing and taking them does not make
 * malloc shrink and grow the heap (each time a system call, a TLB flush and
 * fresh page faults). The daemon is single-threaded; so are these lists.
 */
#define SPARE_MAX 32 /* 2 MiB at most of each size */
struct spares {
	void *block[SPARE_MAX];
	size_t n, keep;
};
static struct spares spare[2] = {{.keep = SPARE_MAX}, {.keep = SPARE_MAX / 4}};

static size_t bulk_held; /* bulk blocks in buffers now (spares not counted) */

static void *block_get(bool bulk)
{
	struct spares *s = &spare[bulk];
	void *p = s->n ? s->block[--s->n] : malloc(bulk ? BUF_BULK_CAP : BUF_CAP);
	if (p && bulk)
		bulk_held++;
	return p;
}

static void block_put(void *p, bool bulk)
{
	struct spares *s = &spare[bulk];
	if (!p)
		return;
	if (bulk)
		bulk_held--;
	if (s->n < s->keep)
		s->block[s->n++] = p;
	else
		free(p);
}

bool buf_bulk_available(void)
{
	return bulk_held < BUF_BULK_MAX;
}

void buf_release_spares(void)
{
	for (size_t i = 0; i < 2; i++)
		while (spare[i].n)
			free(spare[i].block[--spare[i].n]);
}

/* Whether buf_grow() would make b a bulk buffer (memory permitting). */
static bool can_grow(const struct buf *b)
{
	return !b->bulk && bulk_held < BUF_BULK_MAX;
}

/* Moves b's bytes to the front of a new block of the other kind; false without memory. */
static bool move_to_block(struct buf *b, bool bulk)
{
	uint8_t *p = block_get(bulk);
	if (!p)
		return false;
	memcpy(p, b->data + b->start, buf_len(b));
	block_put(b->data, !bulk);
	b->end -= b->start;
	b->start = 0;
	b->data = p;
	return true;
}

/*
 * Found full: from now on the buffer takes bulk blocks, this one included
 * (its bytes move once). Past BUF_BULK_MAX, or without memory for that, it
 * stays as it was.
 */
static void buf_grow(struct buf *b)
{
	if (can_grow(b) && (!b->data || move_to_block(b, true)))
		b->bulk = true;
}

bool buf_make_room(struct buf *b, size_t n)
{
	if (buf_room(b) < n)
		buf_grow(b);
	return buf_room(b) >= n;
}

bool buf_could_take(const struct buf *b, size_t n)
{
	if (buf_room(b) >= n)
		return true;
	return can_grow(b) && BUF_BULK_CAP - buf_len(b) >= n;
}

/* Takes memory on first use and moves the data to the front when the tail is full. */
static bool buf_prepare(struct buf *b, size_t want)
{
	if (!b->data) {
		/* Past the bound a bulk buffer takes a small block, and may grow again later. */
		if (b->bulk && bulk_held >= BUF_BULK_MAX)
			b->bulk = false;
		b->data = block_get(b->bulk);
		if (!b->data)
			return false;
		b->start = b->end = 0;
	}
	if (buf_cap(b) - b->end < want && b->start > 0) {
		memmove(b->data, b->data + b->start, b->end - b->start);
		b->end -= b->start;
		b->start = 0;
	}
	return true;
}

void buf_consume(struct buf *b, size_t n)
{
	b->start += n;
	if (b->start == b->end)
		buf_free(b);
}

bool buf_append(struct buf *b, const void *p, size_t n)
{
	if (n == 0)
		return true;
	if (!buf_make_room(b, n) || !buf_prepare(b, n) || buf_cap(b) - b->end < n)
		return false;
	memcpy(b->data + b->end, p, n);
	b->end += n;
	return true;
}

uint8_t *buf_reserve(struct buf *b, size_t n)
{
	if (!buf_make_room(b, n) || !buf_prepare(b, n) || buf_cap(b) - b->end < n)
		return NULL;
	return b->data + b->end;
}

void buf_commit(struct buf *b, size_t n)
{
	b->end += n;
	if (b->start == b->end)
		buf_free(b);
}

/* Whole units when there is room for one; grow: one that takes all it could turns b bulk. */
static ssize_t read_fd(struct buf *b, int fd, size_t unit, bool grow)
{
	if (!buf_prepare(b, buf_cap(b) / 4)) {
		errno = ENOMEM;
		return -1;
	}
	size_t room = buf_cap(b) - b->end;
	if (room >= unit)
		room -= room % unit;
	ssize_t n = read(fd, b->data + b->end, room);
	if (n > 0)
		b->end += (size_t)n;
	else if (b->start == b->end)
		buf_free(b);
	/* All it could take: there is more, so this direction moves bulk. */
	if (grow && n > 0 && (size_t)n == room)
		buf_grow(b);
	return n;
}

ssize_t buf_read_fd(struct buf *b, int fd)
{
	return read_fd(b, fd, 1, true);
}

ssize_t buf_read_fd_units(struct buf *b, int fd, size_t unit)
{
	return read_fd(b, fd, unit, true);
}

ssize_t buf_read_fd_small(struct buf *b, int fd)
{
	return read_fd(b, fd, 1, false);
}

ssize_t buf_read_fd_framed(struct buf *b, int fd, const struct buf_frame *f)
{
	size_t size = f->head + f->unit + f->tail;
	struct iovec iov[BUF_FRAMES_MAX];
	if (!buf_make_room(b, size) || !buf_prepare(b, size)) {
		errno = ENOBUFS;
		return -1;
	}
	size_t n = (buf_cap(b) - b->end) / size;
	if (n > BUF_FRAMES_MAX)
		n = BUF_FRAMES_MAX;
	for (size_t i = 0; i < n; i++) {
		iov[i].iov_base = b->data + b->end + i * size + f->head;
		iov[i].iov_len = f->unit;
	}
	ssize_t got = readv(fd, iov, (int)n);
	size_t left = got > 0 ? (size_t)got : 0;
	for (size_t i = 0; left > 0; i++) {
		size_t len = left < f->unit ? left : f->unit;
		b->end += f->fill(f->arg, b->data + b->end, len);
		left -= len;
	}
	if (b->start == b->end)
		buf_free(b);
	/* All it could take: there is more, so this direction moves bulk. */
	if (got > 0 && (size_t)got == n * f->unit)
		buf_grow(b);
	return got;
}

ssize_t buf_write_fd(struct buf *b, int fd)
{
	if (buf_len(b) == 0)
		return 0;
	ssize_t n = send(fd, b->data + b->start, buf_len(b), MSG_NOSIGNAL);
	if (n > 0)
		buf_consume(b, (size_t)n);
	return n;
}

void buf_shrink(struct buf *b)
{
	if (b->data && b->bulk && buf_len(b) <= BUF_CAP && move_to_block(b, false))
		b->bulk = false;
}

void buf_free(struct buf *b)
{
	block_put(b->data, b->bulk);
	b->data = NULL;
	b->start = b->end = 0;
}
