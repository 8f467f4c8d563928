/*
 * src/buffer.c's reads: a whole number of units when there is room for one
 * (so a sealing side never makes a short last record), everything that fits
 * otherwise, framed reads (data with room around it to seal in place), and
 * the bound of BUF_CAP bytes until a buffer is found full,
 * BUF_BULK_CAP from then on.
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "buffer.h"

#define UNIT 16383 /* a record's worth of data */

static size_t sent; /* bytes written by more(): byte i is (uint8_t)(i % 251) */

/* n more bytes waiting at sv[1]. */
static void more(int sv[2], size_t n)
{
	uint8_t chunk[4096];
	while (n) {
		size_t k = n < sizeof(chunk) ? n : sizeof(chunk);
		for (size_t i = 0; i < k; i++)
			chunk[i] = (uint8_t)((sent + i) % 251);
		assert_int_equal(write(sv[0], chunk, k), (ssize_t)k);
		sent += k;
		n -= k;
	}
}

/* The buffer holds the bytes from offset `from` of what more() wrote. */
static void holds(const struct buf *b, size_t from)
{
	const uint8_t *p = buf_head(b);
	for (size_t i = 0; i < buf_len(b); i++)
		if (p[i] != (uint8_t)((from + i) % 251))
			fail_msg("byte %zu of %zu differs", i, buf_len(b));
}

/* A socket pair whose reading end holds n bytes, the first more() wrote. */
static void filled(int sv[2], size_t n)
{
	int size = 1 << 20;
	sent = 0;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	more(sv, n);
}

static void test_units(void **state)
{
	(void)state;
	int sv[2];
	struct buf b = {0};
	filled(sv, 140000);
	/* An empty buffer takes four records' worth, not all BUF_CAP bytes. */
	assert_int_equal(buf_read_fd_units(&b, sv[1], UNIT), 4 * UNIT);
	assert_true(BUF_CAP >= 4 * (UNIT + 19)); /* and four sealed records fit in one */
	/* That was all it asked for, so more is waiting: a bulk buffer now. */
	assert_true(b.bulk);
	buf_consume(&b, 4 * UNIT - 100);
	/* Less waiting than it asks for: all there is. */
	assert_int_equal(buf_read_fd_units(&b, sv[1], UNIT), 140000 - 4 * UNIT);
	more(sv, 1 << 20);
	while (buf_room(&b) >= UNIT) {
		ssize_t n = buf_read_fd_units(&b, sv[1], UNIT);
		assert_true(n > 0 && n % UNIT == 0);
	}
	/* Less room than a unit: whatever fits. */
	ssize_t room = (ssize_t)buf_room(&b);
	assert_true(room > 0);
	assert_int_equal(buf_read_fd_units(&b, sv[1], UNIT), room);
	assert_int_equal(buf_len(&b), BUF_BULK_CAP);
	holds(&b, 4 * UNIT - 100);
	buf_free(&b);
	/* Unit 1, as buf_read_fd: all that fits. */
	struct buf c = {0};
	assert_int_equal(buf_read_fd(&c, sv[1]), BUF_CAP);
	assert_true(c.bulk);
	buf_free(&c);
	/* buf_read_fd_small takes all that fits too, and stays small. */
	struct buf d = {0};
	assert_int_equal(buf_read_fd_small(&d, sv[1]), BUF_CAP);
	assert_false(d.bulk);
	assert_int_equal(buf_room(&d), 0);
	buf_free(&d);
	close(sv[0]);
	close(sv[1]);
}

/*
 * A read that takes all the room there is makes the buffer a bulk one, at
 * once and keeping its bytes; after that every block is the bulk size.
 */
static void test_grow(void **state)
{
	(void)state;
	int sv[2];
	struct buf b = {0};
	filled(sv, 10);
	/* Fewer bytes than a unit waiting: they are read, not held back. */
	assert_int_equal(buf_read_fd_units(&b, sv[1], UNIT), 10);
	more(sv, 19990);
	assert_int_equal(buf_read_fd_units(&b, sv[1], UNIT), 19990);
	assert_false(b.bulk); /* it did not fill the room */
	assert_int_equal(buf_room(&b), BUF_CAP - 20000);
	buf_consume(&b, 7);
	more(sv, 1 << 20);
	assert_int_equal(buf_read_fd_units(&b, sv[1], 1), BUF_CAP - 20000);
	assert_true(b.bulk);
	assert_int_equal(buf_len(&b), BUF_CAP - 7);
	assert_int_equal(buf_room(&b), BUF_BULK_CAP - BUF_CAP + 7);
	holds(&b, 7);
	/* The bytes after them arrive in order in the larger block. */
	size_t want = buf_room(&b) - buf_room(&b) % UNIT;
	assert_int_equal(buf_read_fd_units(&b, sv[1], UNIT), want);
	holds(&b, 7);
	/* Drained and taken again: thirty-two records' worth at once. */
	size_t at = 7 + buf_len(&b);
	buf_consume(&b, buf_len(&b));
	assert_null(b.data);
	assert_int_equal(buf_read_fd_units(&b, sv[1], UNIT), 32 * UNIT);
	assert_true(BUF_BULK_CAP >= 32 * (UNIT + 19));
	holds(&b, at);
	buf_free(&b);
	close(sv[0]);
	close(sv[1]);
}

/* A framed read's fill(): head bytes of 'H', the data, tail bytes of 'T'. */
static size_t mark_frame(void *arg, uint8_t *frame, size_t len)
{
	const struct buf_frame *f = arg;
	memset(frame, 'H', f->head);
	memset(frame + f->head + len, 'T', f->tail);
	return f->head + len + f->tail;
}

/*
 * Framed reads: the data lands in frames back to back, a short read fills
 * them in order, a read that takes all it could makes the buffer a bulk one,
 * and a buffer without room for one frame says ENOBUFS.
 */
static void test_framed(void **state)
{
	(void)state;
	int sv[2];
	struct buf b = {0};
	struct buf_frame f = {.head = 3, .unit = UNIT, .tail = 16, .fill = mark_frame};
	f.arg = &f;
	size_t size = 3 + UNIT + 16;
	filled(sv, 2 * UNIT + 5);
	assert_int_equal(buf_read_fd_framed(&b, sv[1], &f), 2 * UNIT + 5);
	assert_int_equal(buf_len(&b), 2 * size + 3 + 5 + 16);
	for (size_t i = 0; i < 3; i++) {
		const uint8_t *fr = buf_head(&b) + i * size;
		size_t len = i < 2 ? UNIT : 5;
		assert_memory_equal(fr, "HHH", 3);
		for (size_t j = 0; j < len; j++)
			assert_int_equal(fr[3 + j], (uint8_t)((i * UNIT + j) % 251));
		for (size_t j = 0; j < 16; j++)
			assert_int_equal(fr[3 + len + j], 'T');
	}
	assert_false(b.bulk);
	buf_consume(&b, buf_len(&b));
	assert_null(b.data);

	/* As many whole frames as fit, all taken: bulk from then on. */
	more(sv, 1 << 20);
	assert_int_equal(buf_read_fd_framed(&b, sv[1], &f), BUF_CAP / size * UNIT);
	assert_true(b.bulk);
	buf_consume(&b, buf_len(&b));
	assert_int_equal(buf_read_fd_framed(&b, sv[1], &f), BUF_FRAMES_MAX * UNIT);
	assert_true(BUF_FRAMES_MAX * size <= BUF_BULK_CAP);
	buf_consume(&b, buf_len(&b));

	/* No room for a whole frame, even in a bulk block: nothing is read. */
	static uint8_t big[BUF_BULK_CAP];
	assert_true(buf_append(&b, big, BUF_BULK_CAP - size + 1));
	errno = 0;
	assert_int_equal(buf_read_fd_framed(&b, sv[1], &f), -1);
	assert_int_equal(errno, ENOBUFS);
	assert_int_equal(buf_len(&b), BUF_BULK_CAP - size + 1);
	buf_free(&b);
	close(sv[0]);
	close(sv[1]);
	buf_release_spares();
}

/* Appends and reservations that do not fit grow the buffer, up to its bound. */
static void test_make_room(void **state)
{
	(void)state;
	static uint8_t big[BUF_BULK_CAP];
	struct buf b = {0};
	assert_true(buf_could_take(&b, BUF_BULK_CAP));
	assert_false(buf_could_take(&b, BUF_BULK_CAP + 1));
	assert_true(buf_append(&b, big, BUF_CAP - 10));
	assert_false(b.bulk);
	/* buf_could_take() tells what buf_make_room() will do, and does nothing. */
	assert_true(buf_could_take(&b, 11));
	assert_false(b.bulk);
	assert_true(buf_make_room(&b, 10));
	assert_false(b.bulk); /* it fitted */
	assert_true(buf_append(&b, big, 11));
	assert_true(b.bulk);
	assert_int_equal(buf_len(&b), BUF_CAP + 1);
	assert_false(buf_could_take(&b, BUF_BULK_CAP - BUF_CAP));
	assert_null(buf_reserve(&b, BUF_BULK_CAP - BUF_CAP));
	assert_true(buf_could_take(&b, BUF_BULK_CAP - BUF_CAP - 1));
	assert_non_null(buf_reserve(&b, BUF_BULK_CAP - BUF_CAP - 1));
	assert_false(buf_append(&b, big, BUF_BULK_CAP));
	assert_int_equal(buf_len(&b), BUF_CAP + 1);
	buf_free(&b);
	buf_release_spares();
}

/*
 * At most BUF_BULK_MAX bulk blocks at once: past that a full buffer stays
 * small, and one marked bulk takes a small block when it refills.
 */
static void test_bulk_bound(void **state)
{
	(void)state;
	static uint8_t big[BUF_CAP + 1];
	static struct buf held[BUF_BULK_MAX];
	struct buf early = {0}, late = {0};
	assert_true(buf_append(&early, big, BUF_CAP + 1));
	assert_true(early.bulk);
	buf_free(&early); /* drained: still bulk, holding nothing */
	for (size_t i = 0; i < BUF_BULK_MAX; i++) {
		assert_true(buf_append(&held[i], big, BUF_CAP + 1));
		assert_true(held[i].bulk);
	}
	/* The bound is reached: no more growing. */
	assert_true(buf_append(&late, big, BUF_CAP));
	assert_false(buf_could_take(&late, 1));
	assert_false(buf_append(&late, big, 1));
	assert_false(late.bulk);
	assert_int_equal(buf_len(&late), BUF_CAP);
	/*
	 * Empty and marked bulk, at the bound: it promises only the small block it
	 * will get, and takes no more (this wrote past the block once).
	 */
	assert_int_equal(buf_room(&early), BUF_CAP);
	assert_false(buf_append(&early, big, BUF_CAP + 1));
	assert_true(buf_append(&early, big, 10));
	assert_false(early.bulk);
	assert_int_equal(buf_room(&early), BUF_CAP - 10);
	/* One given back: a full buffer grows again. */
	buf_free(&held[0]);
	assert_true(buf_could_take(&late, 1));
	assert_true(buf_append(&late, big, 1));
	assert_true(late.bulk);
	assert_int_equal(buf_len(&late), BUF_CAP + 1);
	buf_free(&late);
	buf_free(&early);
	for (size_t i = 1; i < BUF_BULK_MAX; i++)
		buf_free(&held[i]);
	buf_release_spares();
}

/*
 * buf_shrink(): a bulk buffer holding at most a small block's worth moves it
 * to a small block, giving the bulk block back, and turns bulk again when it
 * is found full; one holding more, or a small one, is left as it is.
 */
static void test_shrink(void **state)
{
	(void)state;
	static uint8_t big[BUF_CAP + 1];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i % 251);
	struct buf b = {0};
	assert_true(buf_append(&b, big, BUF_CAP + 1));
	assert_true(b.bulk);
	buf_shrink(&b); /* more than a small block holds */
	assert_true(b.bulk);
	assert_int_equal(buf_len(&b), BUF_CAP + 1);

	buf_consume(&b, BUF_CAP - 99); /* 100 bytes left, from offset BUF_CAP - 99 */
	assert_true(b.bulk);
	buf_shrink(&b);
	assert_false(b.bulk);
	assert_int_equal(buf_len(&b), 100);
	assert_int_equal(buf_room(&b), BUF_CAP - 100);
	assert_memory_equal(buf_head(&b), big + BUF_CAP - 99, 100);
	buf_shrink(&b); /* small already: nothing to do */
	assert_false(b.bulk);
	assert_int_equal(buf_len(&b), 100);

	/* Found full again, it takes a bulk block, its bytes with it. */
	assert_true(buf_append(&b, big, BUF_CAP - 100));
	assert_false(b.bulk);
	assert_true(buf_append(&b, big, 1));
	assert_true(b.bulk);
	assert_int_equal(buf_len(&b), BUF_CAP + 1);
	assert_memory_equal(buf_head(&b), big + BUF_CAP - 99, 100);
	buf_free(&b);
	buf_shrink(&b); /* empty: nothing to do */
	assert_null(buf_head(&b));

	/* The bulk block is given back: at the bound, shrinking one frees a place. */
	static struct buf held[BUF_BULK_MAX - 1];
	for (size_t i = 0; i < BUF_BULK_MAX - 1; i++)
		assert_true(buf_append(&held[i], big, BUF_CAP + 1));
	assert_true(buf_append(&b, big, BUF_CAP + 1));
	assert_false(buf_bulk_available());
	buf_consume(&b, BUF_CAP);
	buf_shrink(&b);
	assert_true(buf_bulk_available());
	buf_free(&b);
	for (size_t i = 0; i < BUF_BULK_MAX - 1; i++)
		buf_free(&held[i]);
	buf_release_spares();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_units),      cmocka_unit_test(test_grow),
	    cmocka_unit_test(test_framed),     cmocka_unit_test(test_make_room),
	    cmocka_unit_test(test_bulk_bound), cmocka_unit_test(test_shrink),
	};
	return cmocka_run_group_tests_name("buffer", tests, NULL, NULL);
}
