/*
 * src/buffer.c's reads: a whole number of units when there is room for one
 * (so a sealing side never makes a short last record), everything that fits
 * otherwise, and the bound of BUF_CAP bytes either way.
 */
#include "config.h"

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

/* n more bytes waiting at sv[1]. */
static void more(int sv[2], size_t n)
{
	static uint8_t chunk[4096];
	while (n) {
		size_t k = n < sizeof(chunk) ? n : sizeof(chunk);
		assert_int_equal(write(sv[0], chunk, k), (ssize_t)k);
		n -= k;
	}
}

/* A socket pair whose reading end holds n bytes. */
static void filled(int sv[2], size_t n)
{
	int size = 1 << 20;
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
	/* Less room than a unit: whatever fits. */
	buf_consume(&b, 4 * UNIT - 100);
	assert_int_equal(buf_len(&b), 100);
	assert_int_equal(buf_read_fd_units(&b, sv[1], UNIT), 4 * UNIT);
	assert_int_equal(buf_len(&b), 100 + 4 * UNIT);
	assert_int_equal(buf_read_fd_units(&b, sv[1], UNIT), BUF_CAP - 100 - 4 * UNIT);
	assert_int_equal(buf_room(&b), 0);
	buf_free(&b);
	/* Unit 1, as buf_read_fd: all that fits. */
	more(sv, BUF_CAP);
	assert_int_equal(buf_read_fd(&b, sv[1]), BUF_CAP);
	buf_free(&b);
	close(sv[0]);
	close(sv[1]);
}

/* Fewer bytes than a unit waiting: they are read, not held back. */
static void test_short(void **state)
{
	(void)state;
	int sv[2];
	struct buf b = {0};
	filled(sv, 10);
	assert_int_equal(buf_read_fd_units(&b, sv[1], UNIT), 10);
	buf_free(&b);
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_units),
	    cmocka_unit_test(test_short),
	};
	return cmocka_run_group_tests_name("buffer", tests, NULL, NULL);
}
