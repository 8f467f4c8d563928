#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buffer.h"

/*
 * Drained buffers are given back at once (an idle connection holds none), but
 * a busy one drains and refills many times a second: a few blocks are kept
 * for reuse, so that freeing and taking 64 KiB does not make malloc shrink and
 * grow the heap (each time a system call, a TLB flush and fresh page faults).
 * The daemon is single-threaded; so is this list.
 */
#define SPARE_MAX 32 /* 2 MiB at most */
static void *spare[SPARE_MAX];
static size_t nspare;

static void *block_get(void)
{
	return nspare ? spare[--nspare] : malloc(BUF_CAP);
}

static void block_put(void *p)
{
	if (!p)
		return;
	if (nspare < SPARE_MAX)
		spare[nspare++] = p;
	else
		free(p);
}

void buf_release_spares(void)
{
	while (nspare)
		free(spare[--nspare]);
}

/* Takes memory on first use and moves the data to the front when the tail is full. */
static bool buf_prepare(struct buf *b, size_t want)
{
	if (!b->data) {
		b->data = block_get();
		if (!b->data)
			return false;
		b->start = b->end = 0;
	}
	if (BUF_CAP - b->end < want && b->start > 0) {
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
	if (n > buf_room(b) || !buf_prepare(b, n))
		return false;
	memcpy(b->data + b->end, p, n);
	b->end += n;
	return true;
}

uint8_t *buf_reserve(struct buf *b, size_t n)
{
	if (n > buf_room(b) || !buf_prepare(b, n))
		return NULL;
	return b->data + b->end;
}

void buf_commit(struct buf *b, size_t n)
{
	b->end += n;
	if (b->start == b->end)
		buf_free(b);
}

ssize_t buf_read_fd(struct buf *b, int fd)
{
	return buf_read_fd_units(b, fd, 1);
}

ssize_t buf_read_fd_units(struct buf *b, int fd, size_t unit)
{
	if (!buf_prepare(b, BUF_CAP / 4)) {
		errno = ENOMEM;
		return -1;
	}
	size_t room = BUF_CAP - b->end;
	if (room >= unit)
		room -= room % unit;
	ssize_t n = read(fd, b->data + b->end, room);
	if (n > 0)
		b->end += (size_t)n;
	else if (b->start == b->end)
		buf_free(b);
	return n;
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

void buf_free(struct buf *b)
{
	block_put(b->data);
	b->data = NULL;
	b->start = b->end = 0;
}
