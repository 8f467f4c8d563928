/*
 * src/chunkq.c: bytes keep their order across chunk boundaries whatever the
 * sizes pushed, a move takes only what the buffer has room for (and lets it
 * turn bulk, as a read would), and an emptied queue holds no memory.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "chunkq.h"

/* Byte i of the stream. */
static uint8_t at(size_t i)
{
	return (uint8_t)((i * 7 + i / 251) % 253);
}

/* Pushes the stream's bytes [from, from + n). */
static void push(struct chunkq *q, size_t from, size_t n)
{
	static uint8_t tmp[3 * CHUNKQ_CHUNK];
	assert_true(n <= sizeof(tmp));
	for (size_t i = 0; i < n; i++)
		tmp[i] = at(from + i);
	size_t before = chunkq_len(q);
	assert_true(chunkq_push(q, tmp, n));
	assert_int_equal(chunkq_len(q), before + n);
}

/* b holds the stream's bytes from `from` on. */
static void holds(const struct buf *b, size_t from)
{
	const uint8_t *p = buf_head(b);
	for (size_t i = 0; i < buf_len(b); i++)
		if (p[i] != at(from + i))
			fail_msg("byte %zu of %zu differs", i, buf_len(b));
}

static void test_order(void **state)
{
	(void)state;
	/* Sizes that end inside a chunk, on its edge, and span several. */
	static const size_t sizes[] = {
	    1, 5, CHUNKQ_CHUNK - 6, CHUNKQ_CHUNK, 16402, 3 * CHUNKQ_CHUNK, 0, 2 * CHUNKQ_CHUNK + 1,
	    7};
	struct chunkq q = {0};
	size_t pushed = 0, taken = 0;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		push(&q, pushed, sizes[i]);
		pushed += sizes[i];
		/* Every other push, move what a fresh buffer takes and check it. */
		if (i % 2) {
			struct buf b = {0};
			size_t moved = chunkq_move(&q, &b);
			assert_int_equal(moved, buf_len(&b));
			assert_true(moved > 0);
			holds(&b, taken);
			taken += moved;
			assert_int_equal(chunkq_len(&q), pushed - taken);
			buf_free(&b);
		}
	}
	while (chunkq_len(&q)) {
		struct buf b = {0};
		size_t moved = chunkq_move(&q, &b);
		assert_true(moved > 0);
		holds(&b, taken);
		taken += moved;
		buf_free(&b);
	}
	assert_int_equal(taken, pushed);
	assert_null(q.head);
	assert_null(q.tail);
}

static void test_room(void **state)
{
	(void)state;
	struct chunkq q = {0};
	push(&q, 0, 3 * CHUNKQ_CHUNK);
	/* A buffer found full turns bulk and takes the rest. */
	struct buf b = {0};
	uint8_t first[100];
	for (size_t i = 0; i < sizeof(first); i++)
		first[i] = at(i);
	struct chunkq head = {0};
	assert_true(chunkq_push(&head, first, sizeof(first)));
	assert_int_equal(chunkq_move(&head, &b), sizeof(first));
	chunkq_free(&head);
	/* The queue's bytes follow the 100 already in b: shift the stream. */
	chunkq_free(&q);
	push(&q, sizeof(first), 3 * CHUNKQ_CHUNK);
	assert_int_equal(chunkq_move(&q, &b), 3 * CHUNKQ_CHUNK);
	assert_true(b.bulk);
	assert_int_equal(buf_len(&b), 3 * CHUNKQ_CHUNK + sizeof(first));
	holds(&b, 0);
	assert_int_equal(chunkq_len(&q), 0);

	/* A full bulk buffer takes nothing more: the bytes stay queued, in order. */
	push(&q, 3 * CHUNKQ_CHUNK + sizeof(first), 3 * CHUNKQ_CHUNK);
	push(&q, 6 * CHUNKQ_CHUNK + sizeof(first), 3 * CHUNKQ_CHUNK);
	size_t moved = chunkq_move(&q, &b);
	assert_int_equal(buf_len(&b), BUF_BULK_CAP);
	assert_int_equal(moved, BUF_BULK_CAP - 3 * CHUNKQ_CHUNK - sizeof(first));
	assert_int_equal(chunkq_move(&q, &b), 0);
	holds(&b, 0);
	size_t from = buf_len(&b);
	buf_free(&b);
	assert_int_equal(chunkq_len(&q), 6 * CHUNKQ_CHUNK - moved);
	struct buf c = {0};
	while (chunkq_len(&q)) {
		size_t k = chunkq_move(&q, &c);
		assert_true(k > 0);
		holds(&c, from);
		from += k;
		buf_free(&c);
	}
	chunkq_free(&q);
	chunkq_free(&q); /* twice is harmless */
	buf_release_spares();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_order),
	    cmocka_unit_test(test_room),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
