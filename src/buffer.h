/*
 * A byte buffer for one direction of a connection. Its memory is taken only
 * when the first byte arrives and given back as soon as it drains, so an idle
 * connection holds no buffer at all. It knows nothing of the event loop: the
 * caller derives read/write interest from buf_room() and buf_len().
 */
#ifndef NACRE_BUFFER_H
#define NACRE_BUFFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * 64 KiB and a little: four full relay records (4 x 16402 bytes) fit, so a
 * sealed side sends 64 KiB of data in one write (see buf_read_fd_units).
 * A direction that fills its buffer is moving bulk: from then on it takes
 * blocks eight times the size (thirty-two records), so a stream of data
 * costs an eighth of the reads, sends and wake-ups. Only busy directions pay
 * for it, and at most BUF_BULK_MAX bulk blocks (32 MiB) are in use in a
 * process at once: past that, buffers stay at BUF_CAP, as they were.
 */
#define BUF_CAP      (64 * 1024 + 128)
#define BUF_BULK_CAP (8 * BUF_CAP)
#define BUF_BULK_MAX 64

struct buf {
	uint8_t *data; /* NULL while empty */
	size_t start;  /* first unconsumed byte */
	size_t end;    /* one past the last byte */
	bool bulk;     /* has been found full: takes BUF_BULK_CAP blocks */
};

/* Whether a bulk block may be taken now (fewer than BUF_BULK_MAX in use). */
bool buf_bulk_available(void);

/*
 * What the buffer holds or, empty, what it will take: an empty bulk buffer
 * past the bound gets a small block, so it must not promise more (a caller
 * sizes what it appends by buf_room()).
 */
static inline size_t buf_cap(const struct buf *b)
{
	return b->bulk && (b->data || buf_bulk_available()) ? BUF_BULK_CAP : BUF_CAP;
}

static inline size_t buf_len(const struct buf *b)
{
	return b->end - b->start;
}

static inline size_t buf_room(const struct buf *b)
{
	return buf_cap(b) - buf_len(b);
}

/* NULL while the buffer has no storage (NULL + 0 is undefined). */
static inline const uint8_t *buf_head(const struct buf *b)
{
	return b->data ? b->data + b->start : NULL;
}

/* The unconsumed bytes, writable (records are opened in place). */
static inline uint8_t *buf_head_mut(struct buf *b)
{
	return b->data ? b->data + b->start : NULL;
}

/*
 * Room for n bytes at the tail, to be filled and then kept with buf_commit();
 * NULL if they do not fit.
 */
uint8_t *buf_reserve(struct buf *b, size_t n);
void buf_commit(struct buf *b, size_t n);
/*
 * Whether n more bytes fit, after making the buffer a bulk one if they do
 * not fit now (see BUF_BULK_CAP).
 */
bool buf_make_room(struct buf *b, size_t n);
/* Whether buf_make_room(b, n) would succeed now; changes nothing. */
bool buf_could_take(const struct buf *b, size_t n);
/* Drops n bytes from the front; releases the memory when nothing is left. */
void buf_consume(struct buf *b, size_t n);
/* Appends n bytes; false (nothing appended) if they do not fit. */
bool buf_append(struct buf *b, const void *p, size_t n);
/* read(2)s into the free space: the read's result, with errno set on -1. */
ssize_t buf_read_fd(struct buf *b, int fd);
/*
 * As buf_read_fd, but a whole number of units when there is room for one:
 * a buffer whose bytes are sealed into records of unit bytes then gives
 * only full records, never a short one for the last few bytes.
 */
ssize_t buf_read_fd_units(struct buf *b, int fd, size_t unit);
/*
 * As buf_read_fd, but a read that takes all it could does not make the
 * buffer a bulk one: for bytes a handler passes on a small block at a time
 * into a bulk buffer further on.
 */
ssize_t buf_read_fd_small(struct buf *b, int fd);
/*
 * Framed reads, for data that is sealed where it lands: each frame is head
 * bytes left free, up to unit bytes of data, then tail bytes left free (a
 * record's header and tag). fill() completes the frame at frame, holding
 * len bytes of data from frame + head, and returns its whole length: head +
 * unit + tail for a full one, so that frames stay back to back.
 */
struct buf_frame {
	size_t head, unit, tail;
	size_t (*fill)(void *arg, uint8_t *frame, size_t len);
	void *arg;
};
#define BUF_FRAMES_MAX 32 /* frames a read fills at most */
/*
 * readv(2)s into as many whole frames as fit at the tail (a short read fills
 * them in order), has each filled one completed and keeps them: the read's
 * result, with errno set on -1, and ENOBUFS if not even one frame fits.
 * Grows the buffer as buf_read_fd_units does when it takes all it could.
 */
ssize_t buf_read_fd_framed(struct buf *b, int fd, const struct buf_frame *f);
/*
 * A bulk buffer left holding no more than a small block takes (the part of a
 * record that a read ended in, say) moves those bytes to a small block and
 * gives its bulk block back; found full again, it turns bulk again. For a
 * buffer that will not be read for a while.
 */
void buf_shrink(struct buf *b);
/* write(2)s from the front and consumes what was written. */
ssize_t buf_write_fd(struct buf *b, int fd);
void buf_free(struct buf *b);
/* Frees the blocks kept for reuse (when the daemon goes idle). */
void buf_release_spares(void);

#endif
