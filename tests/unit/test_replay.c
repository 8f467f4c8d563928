/*
 * src/replay.c: the relay's memory of first flights. A key is refused the
 * second time while it may still be in the clock window, and after a
 * restart every flight stamped before the first whole second of the new
 * process is refused (its set never saw those).
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "relay.h"
#include "replay.h"

static void key(uint8_t e[32], unsigned n)
{
	memset(e, 0, 32);
	e[0] = 1;
	e[1] = (uint8_t)n;
	e[2] = (uint8_t)(n >> 8);
}

/* A restart inside a second: flights of that second may be the old process's. */
static void test_fresh(void **state)
{
	(void)state;
	replay_start(1000.7);
	assert_false(replay_fresh(999));
	assert_false(replay_fresh(1000)); /* the second the process started in */
	assert_true(replay_fresh(1001));
	assert_true(replay_fresh(5000));
	replay_start(2000.0);
	assert_false(replay_fresh(2000));
	assert_true(replay_fresh(2001));
}

/* A key is taken once; it is still refused two clock windows later. */
static void test_seen(void **state)
{
	(void)state;
	uint8_t e[32], f[32];
	double t = 10000.0;
	key(e, 1);
	key(f, 2);
	assert_true(replay_check_add(e, t));
	assert_false(replay_check_add(e, t + 1));
	assert_true(replay_check_add(f, t + 1));
	/* Kept for at least 2 x RELAY_CLOCK_WINDOW, across a generation swap. */
	assert_false(replay_check_add(e, t + 2 * RELAY_CLOCK_WINDOW + 1));
	assert_false(replay_check_add(f, t + 3 * RELAY_CLOCK_WINDOW));
	/* Many keys: the set grows and still finds each one. */
	for (unsigned i = 3; i < 3000; i++) {
		uint8_t k[32];
		key(k, i);
		assert_true(replay_check_add(k, t + 3 * RELAY_CLOCK_WINDOW));
	}
	for (unsigned i = 3; i < 3000; i++) {
		uint8_t k[32];
		key(k, i);
		assert_false(replay_check_add(k, t + 3 * RELAY_CLOCK_WINDOW));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fresh),
	    cmocka_unit_test(test_seen),
	};
	return cmocka_run_group_tests_name("replay set", tests, NULL, NULL);
}
