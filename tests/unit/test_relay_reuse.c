/*
 * Reused circuits (SPEC.md, "Reused circuits") through the in-memory chain of
 * chain_sim.c: several streams in turn on one circuit, BEGIN where it may
 * and may not come, a failing status on a later stream, and closing from
 * either end.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buffer.h"
#include "chain_sim.h"
#include "circuit.h"
#include "hop.h"
#include "record.h"
#include "relay.h"
#include "sealed.h"
#include "secret.h"

/* ------------------------------------------------------------ reused circuits */

/*
 * Stream i of a reused circuit: data both ways, END both ways (the
 * destination first if dest_first), and the exit lets it go. Stream 0 is
 * the flight's, with its early data.
 */
static void reuse_stream(struct sim *m, unsigned i, size_t up, size_t down, bool dest_first)
{
	struct node *exit = &m->r[m->n - 1];
	size_t pre = i == 0 ? sizeof(GET) - 1 : 0;
	uint8_t *a = pattern(up, 10 + i), *b = pattern(down, 20 + i);
	m->app_data = a;
	m->app_len = up;
	m->dest_data = b;
	m->dest_len = down;
	*(dest_first ? &m->dest_close : &m->app_close) = true;
	run(m);
	/* Half-closed: the other way is still open, and the exit keeps the stream. */
	assert_true(dest_first ? sealed_in_ended(m->c) : m->dest_fin_in);
	assert_false(dest_first ? m->dest_fin_in : sealed_in_ended(m->c));
	assert_false(sealed_idle(m->c));
	assert_int_equal(exit->released, i);
	*(dest_first ? &m->app_close : &m->dest_close) = true;
	run(m);

	assert_int_equal(m->c->status, RELAY_ST_OK);
	assert_int_equal(m->c->status_hop, m->n);
	assert_true(m->dest_fin_in);
	assert_int_equal(m->dest_got_len, pre + up);
	if (pre)
		assert_memory_equal(m->dest_got, GET, pre);
	if (up)
		assert_memory_equal(m->dest_got + pre, a, up);
	assert_int_equal(m->client_got_len, down);
	if (down)
		assert_memory_equal(m->client_got, b, down);
	/* The exit let it go, and the client may begin the next one. */
	assert_true(sealed_idle(m->c) && exit->idle);
	assert_int_equal(exit->released, i + 1);
	assert_int_equal(exit->begins, i);
	assert_between_streams(m);
	free(a);
	free(b);
}

/* A reused circuit through n hops: three streams in turn, each to its own destination. */
static void check_reuse(unsigned n)
{
	static const struct {
		const struct proto_addr *dst;
		size_t up, down;
		bool dest_first;
	} streams[] = {
	    {&sim_dst, 5, 7, false},
	    {&sim_dst_v4, 100000, 70000, true},
	    {&sim_dst_name, 0, 0, false},
	};
	struct sim *m = sim_new_reused(n, (const uint8_t *)GET, sizeof(GET) - 1);
	struct node *exit = &m->r[n - 1];
	run(m);
	assert_flights(m);
	assert_int_equal(exit->hdr.flags, RELAY_FLAG_REUSE);
	/* Only the exit's header asks for it. */
	for (unsigned k = 0; k < n; k++)
		assert_int_equal(m->r[k].s->reuse, k == n - 1);
	for (unsigned i = 0; i < 3; i++) {
		if (i > 0) {
			assert_true(sim_begin(m, streams[i].dst));
			assert_true(m->c->status == -1 && !sealed_idle(m->c));
		}
		reuse_stream(m, i, streams[i].up, streams[i].down, streams[i].dest_first);
		if (i > 0)
			assert_addr(&exit->begin_dst, streams[i].dst);
	}
	sim_free(m);
}

static void test_reuse_streams(void **state)
{
	(void)state;
	check_reuse(1);
	check_reuse(3);
	check_reuse(8);
}

/*
 * A client that ends its side and begins at once: its END, BEGIN and data
 * reach the exit together; the BEGIN waits until the exit has let the
 * stream go, the data until the exit has taken the BEGIN.
 */
static void test_reuse_eager(void **state)
{
	(void)state;
	static const unsigned ns[] = {1, 3};
	for (size_t i = 0; i < 2; i++) {
		unsigned n = ns[i];
		struct sim *m = sim_new_reused(n, (const uint8_t *)GET, sizeof(GET) - 1);
		struct node *exit = &m->r[n - 1];
		m->dest_close = true;
		run(m);
		assert_true(sealed_in_ended(m->c));
		m->c->want_end = true;
		assert_true(sealed_pump_out(m->c, &m->app_out));
		assert_true(sim_begin(m, &sim_dst_v4) && exit->released == 0);
		/* The same bytes reuse_stream() sends as stream 1. */
		uint8_t *a = pattern(3000, 11);
		m->app_data = a;
		m->app_len = 3000;
		exit->hold_begin = true;
		run(m);
		assert_true(exit->s->begun && buf_len(&exit->s->rin) > 0);
		assert_true(buf_len(&exit->up) == 0 && m->dest_got_len == 0);
		exit->hold_begin = false;
		reuse_stream(m, 1, 3000, 3000, false);
		assert_addr(&exit->begin_dst, &sim_dst_v4);
		sim_free(m);
		free(a);
	}
}

/*
 * The exit refuses a BEGIN on a circuit without REUSE, or while the stream
 * is open (nothing ended, or only the client's side); the client will not
 * seal one then.
 */
static void check_begin_early(unsigned n, bool reuse, bool app_close)
{
	uint8_t p[RELAY_BEGIN_MAX];
	size_t len = relay_begin_encode(p, sizeof(p), &sim_dst_v4);
	struct sim *m = reuse ? sim_new_reused(n, NULL, 0) : sim_new(n, NULL, 0);
	m->app_close = app_close;
	run(m);
	assert_int_equal(m->c->status, RELAY_ST_OK);
	assert_int_equal(sealed_in_ended(m->r[n - 1].s), app_close);
	assert_false(sealed_begin(m->c, &sim_dst_v4));
	sim_inject(m, n - 1, RECORD_BEGIN, p, len);
	run(m);
	assert_true(m->r[n - 1].s->broken && m->r[n - 1].begins == 0);
	for (unsigned k = 0; k + 1 < n; k++)
		assert_false(m->r[k].s->broken);
	sim_free(m);
}

/* sealed_begin only once both ways have ended, on a client's reused circuit. */
static void check_begin_api(unsigned n)
{
	struct sim *m = sim_new(n, NULL, 0);
	m->app_close = m->dest_close = true;
	run(m);
	assert_true(m->c->l[n - 1].in_end && m->c->l[n - 1].out_end);
	assert_false(sealed_idle(m->c));
	assert_false(sealed_begin(m->c, &sim_dst_v4)); /* no REUSE */
	assert_false(sealed_next_stream(m->r[n - 1].s));
	sim_free(m);

	m = sim_new_reused(n, NULL, 0);
	m->dest_close = true;
	run(m);
	assert_true(sealed_in_ended(m->c));
	assert_false(sealed_begin(m->c, &sim_dst_v4)); /* the client has not ended */
	assert_false(sealed_next_stream(m->r[n - 1].s));
	assert_false(sealed_begin(m->r[n - 1].s, &sim_dst_v4)); /* a relay's side */
	m->app_close = true;
	run(m);
	assert_false(sealed_next_stream(m->c)); /* a client's side */
	sealed_close(m->c);                     /* the circuit is closing */
	assert_false(sealed_idle(m->c) || sealed_begin(m->c, &sim_dst_v4));
	sim_free(m);
}

/*
 * Between streams only a well-formed BEGIN may come: anything else (here a
 * BEGIN to port 0 if begin) breaks the exit.
 */
/* One stream ends both ways, then the client sends this record: the exit breaks. */
static void breaks_between(unsigned n, enum record_type type, const uint8_t *p, size_t len)
{
	struct sim *m = sim_new_reused(n, NULL, 0);
	m->app_close = m->dest_close = true;
	run(m);
	assert_true(m->r[n - 1].idle);
	sim_inject(m, n - 1, type, p, len);
	run(m);
	assert_true(m->r[n - 1].s->broken && m->r[n - 1].begins == 0);
	sim_free(m);
}

static void check_between(unsigned n, enum record_type type)
{
	uint8_t p[RELAY_BEGIN_MAX] = {'x'};
	size_t len = type == RECORD_END ? 0 : 1;
	if (type == RECORD_BEGIN) {
		len = relay_begin_encode(p, sizeof(p), &sim_dst_v4);
		p[0] = p[1] = 0;
	}
	breaks_between(n, type, p, len);
}

/*
 * A BEGIN longer than any destination: a well-formed one with the rest of a
 * full record after it. The exit breaks, and never copies more than a BEGIN
 * can hold (this overran its buffer once; the sanitizer build catches that).
 */
static void check_between_long(unsigned n)
{
	uint8_t *p = pattern(RECORD_DATA_MAX, 7);
	size_t len = relay_begin_encode(p, RELAY_BEGIN_MAX, &sim_dst_v4);
	assert_true(len > 0);
	breaks_between(n, RECORD_BEGIN, p, RECORD_DATA_MAX);
	free(p);
}

static void test_reuse_refusals(void **state)
{
	(void)state;
	static const unsigned ns[] = {1, 3};
	for (size_t i = 0; i < 2; i++) {
		unsigned n = ns[i];
		check_begin_early(n, false, false);
		check_begin_early(n, true, false);
		check_begin_early(n, true, true);
		check_begin_api(n);
		check_between(n, RECORD_DATA);
		check_between(n, RECORD_PAD);
		check_between(n, RECORD_END);
		check_between(n, RECORD_BEGIN);
		check_between_long(n);
	}
}

/*
 * BEGIN anywhere but the exit's layer from the client: a middle relay (no
 * REUSE in its header) breaks, during a stream or between streams; so does
 * the client on a BEGIN from the exit.
 */
static void check_begin_elsewhere(unsigned n, unsigned k, bool between)
{
	uint8_t p[RELAY_BEGIN_MAX], rec[RELAY_BEGIN_MAX + RECORD_OVERHEAD];
	size_t len = relay_begin_encode(p, sizeof(p), &sim_dst_v4);
	struct sim *m = sim_new_reused(n, NULL, 0);
	m->app_close = m->dest_close = between;
	run(m);
	assert_int_equal(m->r[n - 1].idle, between);
	if (k < n) {
		sim_inject(m, k, RECORD_BEGIN, p, len);
		run(m);
		assert_true(m->r[k].s->broken);
		assert_false(m->c->broken);
	} else {
		struct sealed *s = m->r[n - 1].s;
		size_t rlen = record_seal(&s->relay.send, RECORD_BEGIN, p, len, rec, sizeof(rec));
		assert_true(buf_append(&s->rout, rec, rlen));
		run(m);
		assert_true(m->c->broken);
	}
	for (unsigned j = 0; j < n; j++)
		assert_int_equal(m->r[j].s->broken, j == k);
	sim_free(m);
}

static void test_reuse_begin_elsewhere(void **state)
{
	(void)state;
	for (unsigned b = 0; b < 2; b++) {
		check_begin_elsewhere(3, 0, b);
		check_begin_elsewhere(3, 1, b);
		check_begin_elsewhere(1, 1, b); /* k == n: the exit sends it */
		check_begin_elsewhere(3, 3, b);
	}
}

/* A reused circuit through n hops whose first stream (GET early, 5/7 bytes) is over. */
static struct sim *after_one_stream(unsigned n)
{
	struct sim *m = sim_new_reused(n, (const uint8_t *)GET, sizeof(GET) - 1);
	run(m);
	reuse_stream(m, 0, 5, 7, false);
	return m;
}

/*
 * The exit cannot connect for the second stream: STATUS 5 and END, from hop
 * n, and it closes the circuit, each relay passing the FIN back as END.
 */
static void test_reuse_status(void **state)
{
	(void)state;
	static const unsigned ns[] = {1, 3};
	for (size_t i = 0; i < 2; i++) {
		unsigned n = ns[i];
		struct sim *m = after_one_stream(n);
		struct node *exit = &m->r[n - 1];
		exit->exit_status = RELAY_ST_REFUSED;
		assert_true(sim_begin(m, &sim_dst_name));
		m->app_data = (const uint8_t *)"hello";
		m->app_len = 5;
		run(m);
		assert_false(m->c->broken);
		assert_int_equal(m->c->status, RELAY_ST_REFUSED);
		assert_int_equal(m->c->status_hop, n);
		assert_int_equal(exit->begins, 1);
		assert_addr(&exit->begin_dst, &sim_dst_name);
		assert_true(sealed_in_ended(m->c) && !sealed_idle(m->c));
		assert_int_equal(m->dest_got_len, 0); /* the data went nowhere */
		assert_true(exit->closed);
		for (unsigned k = 0; k < n; k++)
			assert_true(!m->r[k].s->broken && m->r[k].fin_back && m->c->l[k].in_end);
		assert_true(m->client_fin_in);
		sim_free(m);
	}
}

/*
 * After its last stream the client closes the circuit: END in every layer
 * but the exit's (whose END went with the stream), so every relay before
 * the exit passes a FIN on; the exit, between streams, takes the FIN as the
 * close, and the FIN comes back as END in every layer.
 */
static void check_close(unsigned n)
{
	struct sim *m = after_one_stream(n);
	assert_true(sim_begin(m, &sim_dst_v4));
	reuse_stream(m, 1, 7, 5, true);
	sealed_close(m->c);
	run(m);
	assert_false(m->c->broken);
	assert_true(m->client_fin);
	for (unsigned k = 0; k < n; k++) {
		struct node *r = &m->r[k];
		assert_false(r->s->broken);
		assert_true(r->fin_in && r->fin_back);
		if (k + 1 < n)
			assert_true(sealed_in_ended(r->s) && r->fin_up);
		assert_true(m->c->l[k].in_end && m->c->l[k].out_end);
	}
	assert_true(m->r[n - 1].closed);
	assert_int_equal(m->r[n - 1].released, 2);
	assert_true(m->client_fin_in);
	sim_free(m);
}

/* An exit closing a circuit between streams sends a FIN and no END (SPEC.md). */
static void check_exit_close(unsigned n)
{
	struct sim *m = after_one_stream(n);
	struct sealed *x = m->r[n - 1].s;
	assert_true(x->between);
	sealed_close(x);
	assert_true(sealed_pump_out(x, NULL));
	assert_int_equal(buf_len(&x->rout), 0);
	sim_free(m);
}

static void test_reuse_close(void **state)
{
	(void)state;
	check_close(1);
	check_close(3);
	check_close(8);
	check_exit_close(1);
	check_exit_close(3);
}

static int setup(void **state)
{
	(void)state;
	return secret_init() ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reuse_streams),  cmocka_unit_test(test_reuse_eager),
	    cmocka_unit_test(test_reuse_refusals), cmocka_unit_test(test_reuse_begin_elsewhere),
	    cmocka_unit_test(test_reuse_status),   cmocka_unit_test(test_reuse_close),
	};
	return cmocka_run_group_tests_name("relay_reuse", tests, setup, NULL);
}
