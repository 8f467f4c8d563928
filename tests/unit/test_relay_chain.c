/*
 * A whole chain in memory (chain_sim.h): flights of the same size on every
 * link, the exit seeing the destination and the early data, data and
 * half-closes both ways through 1, 3 and 8 hops, a failing exit or middle
 * relay, forged bytes on a middle link, 4 MiB each way with bounded
 * buffers, and a FIN read behind records that wait for a slow application.
 * Reused circuits are test_relay_reuse.c's.
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

/* ------------------------------------------------------------ flights */

static void check_flight(unsigned n, size_t early_len)
{
	uint8_t *early = pattern(early_len, (uint32_t)early_len);
	struct sim *m = sim_new(n, early, early_len);
	for (unsigned k = 0; k < n; k++)
		m->r[k].exit_status = RELAY_ST_OK;
	run(m);
	assert_flights(m);
	/* The exit passed exactly the early data to the destination. */
	assert_int_equal(m->dest_got_len, early_len);
	if (early_len)
		assert_memory_equal(m->dest_got, early, early_len);
	assert_int_equal(m->c->status, RELAY_ST_OK);
	assert_int_equal(m->c->status_hop, n);
	assert_true(sealed_ready(m->c));
	assert_false(m->c->broken);
	sim_free(m);
	free(early);
}

static void test_flight_sizes(void **state)
{
	(void)state;
	static const unsigned ns[] = {1, 3, 8};
	static const size_t early[] = {0, sizeof(GET) - 1, RELAY_EARLY_MAX};
	for (size_t i = 0; i < 3; i++)
		for (size_t j = 0; j < 3; j++)
			check_flight(ns[i], early[j]);
	/* And every other length once, with the request. */
	for (unsigned n = 2; n < RELAY_MAX_HOPS; n++)
		if (n != 3)
			check_flight(n, sizeof(GET) - 1);
}

/* circuit_build_with refuses what it cannot build. */
static void test_build_refuses(void **state)
{
	(void)state;
	struct sealed *c = sealed_new_client(3);
	assert_non_null(c);
	uint8_t pks[3][32] = {{9}, {9}, {0}}; /* the last one a low-order point */
	uint8_t seeds[3 * 32] = {1}, nonces[3 * RELAY_NONCE_LEN] = {0};
	struct proto_addr next[3] = {
	    {.type = PROTO_ADDR_IPV4, .port = 1}, {.type = PROTO_ADDR_IPV4, .port = 1}, {0}};
	struct buf out = {0};
	assert_false(circuit_build_with(c, (const uint8_t(*)[32])pks, next, 3, &sim_dst, NULL, 0,
	                                NOW, seeds, nonces, &out));
	pks[2][0] = 9;
	assert_false(circuit_build_with(c, (const uint8_t(*)[32])pks, next, 2, &sim_dst, NULL, 0,
	                                NOW, seeds, nonces, &out)); /* n != s->n */
	uint8_t *big = calloc(1, RELAY_EARLY_MAX + 1);
	assert_non_null(big);
	assert_false(circuit_build_with(c, (const uint8_t(*)[32])pks, next, 3, &sim_dst, big,
	                                RELAY_EARLY_MAX + 1, NOW, seeds, nonces, &out));
	/* A relay named by a name cannot be extended to. */
	next[1] = sim_dst;
	assert_false(circuit_build_with(c, (const uint8_t(*)[32])pks, next, 3, &sim_dst, NULL, 0,
	                                NOW, seeds, nonces, &out));
	assert_int_equal(buf_len(&out), 0);
	next[1] = next[0];
	assert_true(circuit_build_with(c, (const uint8_t(*)[32])pks, next, 3, &sim_dst, NULL, 0,
	                               NOW, seeds, nonces, &out));
	assert_int_equal(buf_len(&out), relay_flight_len(0));
	assert_null(sealed_new_client(0));
	assert_null(sealed_new_client(RELAY_MAX_HOPS + 1));
	buf_free(&out);
	free(big);
	sealed_free(c);
	sealed_free(NULL);
}

/* ------------------------------------------------------------ data */

/*
 * The client sends data and closes; the destination answers and closes;
 * who closes first is set by dest_first.
 */
static void check_exchange(unsigned n, size_t up, size_t down, bool dest_first)
{
	uint8_t *a = pattern(up, 1), *b = pattern(down, 2);
	struct sim *m = sim_new(n, (const uint8_t *)GET, sizeof(GET) - 1);
	m->app_data = a;
	m->app_len = up;
	m->dest_data = b;
	m->dest_len = down;
	if (dest_first) {
		m->dest_close = true;
		run(m);
		/* The client has the whole answer and its END, and can still send. */
		assert_true(sealed_in_ended(m->c));
		assert_int_equal(m->client_got_len, down);
		assert_false(m->dest_fin_in);
		m->app_close = true;
	} else {
		m->app_close = true;
		run(m);
		/* The destination has everything and the FIN, and can still answer. */
		assert_true(m->dest_fin_in);
		assert_int_equal(m->dest_got_len, sizeof(GET) - 1 + up);
		assert_false(sealed_in_ended(m->c));
		m->dest_close = true;
	}
	run(m);
	assert_flights(m);
	assert_false(m->c->broken);
	for (unsigned k = 0; k < n; k++) {
		assert_false(m->r[k].s->broken);
		assert_true(m->r[k].fin_in && m->r[k].fin_up && m->r[k].fin_down &&
		            m->r[k].fin_back);
		assert_true(sealed_in_ended(m->r[k].s));
	}
	assert_int_equal(m->c->status, RELAY_ST_OK);
	assert_int_equal(m->c->status_hop, n);
	/* Every layer ended cleanly with END, and then the FIN came. */
	for (unsigned k = 0; k < n; k++)
		assert_true(m->c->l[k].in_end && m->c->l[k].out_end);
	assert_true(m->client_fin_in && m->dest_fin_in);

	assert_int_equal(m->dest_got_len, sizeof(GET) - 1 + up);
	assert_memory_equal(m->dest_got, GET, sizeof(GET) - 1);
	if (up)
		assert_memory_equal(m->dest_got + sizeof(GET) - 1, a, up);
	assert_int_equal(m->client_got_len, down);
	if (down)
		assert_memory_equal(m->client_got, b, down);
	sim_free(m);
	free(a);
	free(b);
}

static void test_exchange_1(void **state)
{
	(void)state;
	check_exchange(1, 5, 7, false);
	check_exchange(1, 5, 7, true);
	check_exchange(1, 0, 0, false);
	check_exchange(1, 100000, 70000, true);
}

static void test_exchange_3(void **state)
{
	(void)state;
	check_exchange(3, 4, 4, false);
	check_exchange(3, 4, 4, true);
	check_exchange(3, 0, 0, true);
	check_exchange(3, 70000, 100000, false);
}

static void test_exchange_8(void **state)
{
	(void)state;
	check_exchange(8, 4, 4, false);
	check_exchange(8, 4, 4, true);
	check_exchange(8, 50000, 50000, false);
}

/* A chain whose hops agree on different record suites carries data both ways. */
static void test_mixed_suites(void **state)
{
	(void)state;
	if (!record_aes_available())
		skip(); /* libsodium has no AES-256-GCM without AES-NI */
	sim_offer = RELAY_OFFER_AES;
	sim_relay_aes = 0x5; /* hops 1 and 3 take it, hop 2 stays on ChaCha20-Poly1305 */
	struct sim *m = sim_new(3, (const uint8_t *)GET, sizeof(GET) - 1);
	run(m);
	static const uint8_t want[3] = {RECORD_SUITE_AES, RECORD_SUITE_CHACHA, RECORD_SUITE_AES};
	for (unsigned k = 0; k < 3; k++) {
		assert_int_equal(m->c->hops[k].send.suite, want[k]);
		assert_int_equal(m->c->hops[k].recv.suite, want[k]);
		assert_int_equal(m->r[k].s->relay.recv.suite, want[k]);
	}
	sim_free(m);
	check_exchange(3, 70000, 100000, false);
	check_exchange(3, 4, 4, true);
	sim_relay_aes = ~0u; /* every hop on AES-256-GCM */
	check_exchange(8, 50000, 50000, false);
}

/* The other cases keep the defaults even when test_mixed_suites fails midway. */
static int default_suites(void **state)
{
	(void)state;
	sim_offer = 0;
	sim_relay_aes = ~0u;
	return 0;
}

/* The exit cannot connect: STATUS 5 and END, and the client knows which hop said it. */
static void test_exit_status(void **state)
{
	(void)state;
	static const unsigned ns[] = {1, 3};
	for (size_t i = 0; i < 2; i++) {
		unsigned n = ns[i];
		struct sim *m = sim_new(n, (const uint8_t *)GET, sizeof(GET) - 1);
		m->r[n - 1].exit_status = RELAY_ST_REFUSED;
		run(m);
		assert_flights(m);
		assert_false(m->c->broken);
		assert_int_equal(m->c->status, RELAY_ST_REFUSED);
		assert_int_equal(m->c->status_hop, n);
		assert_true(sealed_in_ended(m->c));
		assert_int_equal(m->dest_got_len, 0); /* the early data went nowhere */
		/* Every relay passed the close back as END, then FIN. */
		for (unsigned k = 0; k < n; k++)
			assert_true(m->r[k].fin_back);
		for (unsigned k = 0; k < n; k++)
			assert_true(m->c->l[k].in_end);
		assert_true(m->client_fin_in);
		sim_free(m);
	}
}

/* Relay 2 of 3 cannot reach relay 3: STATUS 8 and END in its own layer. */
static void test_middle_fails(void **state)
{
	(void)state;
	struct sim *m = sim_new(3, (const uint8_t *)GET, sizeof(GET) - 1);
	m->r[1].no_next = true;
	run(m);
	assert_true(m->r[0].opened && m->r[1].opened);
	assert_false(m->r[2].opened);
	assert_int_equal(m->fwd[2].moved, 0); /* relay 3 saw nothing */
	assert_false(m->c->broken);
	assert_int_equal(m->c->status, RELAY_ST_RELAY_FAILED);
	assert_int_equal(m->c->status_hop, 2);
	assert_false(sealed_ready(m->c)); /* hop 3 never replied */
	assert_true(m->c->l[0].in_end && m->c->l[1].in_end);
	assert_false(sealed_in_ended(m->c));
	assert_true(m->client_fin_in);
	sim_free(m);
}

/*
 * A bit flipped on link 2 after the flight: going forward, relay 2 finds the
 * record forged; going back, relay 1 seals it blindly and the client finds
 * it in layer 2.
 */
static void test_tampered_link(void **state)
{
	(void)state;
	size_t F = relay_flight_len(sizeof(GET) - 1);
	uint8_t *a = pattern(50000, 3), *b = pattern(50000, 4);

	struct sim *m = sim_new(3, (const uint8_t *)GET, sizeof(GET) - 1);
	m->app_data = a;
	m->app_len = 50000;
	m->fwd[1].flip_at = F + 3000;
	run(m);
	assert_true(m->r[1].s->broken);
	assert_false(m->r[0].s->broken);
	assert_false(m->r[2].s->broken);
	assert_true(m->dest_got_len < sizeof(GET) - 1 + 50000);
	/* broken is sticky */
	assert_false(sealed_pump_in(m->r[1].s, &m->r[1].up));
	assert_false(sealed_pump_out(m->r[1].s, &m->r[1].down));
	sim_free(m);

	m = sim_new(3, (const uint8_t *)GET, sizeof(GET) - 1);
	m->dest_data = b;
	m->dest_len = 50000;
	m->bwd[1].flip_at = RELAY_REPLY_LEN + 3000;
	run(m);
	assert_true(m->c->broken);
	for (unsigned k = 0; k < 3; k++)
		assert_false(m->r[k].s->broken);
	assert_true(m->client_got_len < 50000);
	sim_free(m);

	/* The flight itself: the relay after the flipped bit stays silent. */
	m = sim_new(3, (const uint8_t *)GET, sizeof(GET) - 1);
	m->fwd[2].flip_at = 100;
	run(m);
	assert_true(m->r[0].opened && m->r[1].opened);
	assert_true(m->r[2].failed);
	assert_int_equal(m->bwd[2].moved, 0);
	assert_true(m->c->status < 0);
	sim_free(m);
	free(a);
	free(b);
}

/*
 * The exit's data before its STATUS, or a second STATUS, breaks the
 * client's stream; a STATUS sent towards a relay breaks the relay's.
 */
static void test_status_rules(void **state)
{
	(void)state;
	static const unsigned ns[] = {1, 3};
	for (size_t i = 0; i < 2; i++) {
		unsigned n = ns[i];
		struct sim *m = sim_new(n, NULL, 0);
		run(m);
		assert_int_equal(m->c->status, RELAY_ST_OK);
		assert_true(sealed_send_status(m->r[n - 1].s, RELAY_ST_OK));
		run(m);
		assert_true(m->c->broken);
		sim_free(m);

		uint8_t *b = pattern(10, 7);
		m = sim_new(n, NULL, 0);
		m->r[n - 1].exit_status = -1;
		m->dest_data = b;
		m->dest_len = 10;
		run(m);
		assert_true(m->c->broken);
		assert_int_equal(m->client_got_len, 0);
		assert_false(m->r[n - 1].s->broken);
		sim_free(m);
		free(b);
	}

	/* A middle relay speaks only to say it failed: STATUS 0 from hop 2 is forged. */
	struct sim *m = sim_new(3, NULL, 0);
	m->r[2].exit_status = -1;
	run(m);
	assert_false(m->c->broken);
	assert_true(sealed_send_status(m->r[1].s, RELAY_ST_OK));
	run(m);
	assert_true(m->c->broken);
	assert_int_equal(m->c->status, -1);
	sim_free(m);

	m = sim_new(1, NULL, 0);
	run(m);
	uint8_t code = RELAY_ST_OK, rec[1 + RECORD_OVERHEAD];
	size_t len = record_seal(&m->c->hops[0].send, RECORD_STATUS, &code, 1, rec, sizeof(rec));
	assert_true(buf_append(&m->c->rout, rec, len));
	run(m);
	assert_true(m->r[0].s->broken);
	assert_int_equal(m->r[0].s->status, -1);
	sim_free(m);
}

/* Nothing may follow an END: a record after it breaks the stream, either way. */
static void test_after_end(void **state)
{
	(void)state;
	static const unsigned ns[] = {1, 3};
	for (size_t i = 0; i < 2; i++) {
		unsigned n = ns[i];
		uint8_t rec[1 + RECORD_OVERHEAD];
		size_t len;

		/* The client ends; then a record in hop 1's layer reaches relay 1. */
		struct sim *m = sim_new(n, NULL, 0);
		m->app_close = true;
		run(m);
		assert_true(sealed_in_ended(m->r[0].s));
		assert_false(m->r[0].s->broken);
		len = record_seal(&m->c->hops[0].send, RECORD_DATA, (const uint8_t *)"x", 1, rec,
		                  sizeof(rec));
		assert_true(buf_append(&m->c->rout, rec, len));
		run(m);
		assert_true(m->r[0].s->broken);
		sim_free(m);

		/* The destination ends; then relay 1 seals one more record for the client. */
		m = sim_new(n, NULL, 0);
		m->dest_close = true;
		run(m);
		assert_true(m->c->l[0].in_end);
		assert_false(m->c->broken);
		len = record_seal(&m->r[0].s->relay.send, RECORD_PAD, (const uint8_t *)"x", 1, rec,
		                  sizeof(rec));
		assert_true(buf_append(&m->r[0].s->rout, rec, len));
		run(m);
		assert_true(m->c->broken);
		sim_free(m);
	}
}

/*
 * 4 MiB each way through 3 hops, both at once, with the destination
 * stalling for a while: nothing is lost, and while it stalls the client can
 * push only as much as the buffers on the way hold.
 */
static void test_bulk(void **state)
{
	(void)state;
	size_t mib = 4 << 20; /* more than every buffer on the way holds */
	uint8_t *a = pattern(mib, 5), *b = pattern(mib, 6);
	struct sim *m = sim_new(3, (const uint8_t *)GET, sizeof(GET) - 1);
	m->app_data = a;
	m->app_len = mib;
	m->dest_data = b;
	m->dest_len = mib;
	m->dest_stalled = true;
	run(m);
	/*
	 * The client's inner layers sealed only as far as the link took: each
	 * holds a record or two, in a small block.
	 */
	for (unsigned k = 1; k < m->n; k++) {
		assert_false(m->c->fwd[k].bulk);
		assert_true(buf_len(&m->c->fwd[k]) < 2 * RECORD_WIRE_MAX);
	}
	/* The forward path: app_out and rout, the inner layers, then rin and up per relay. */
	size_t bound = (1 + 1 + 3 * 2) * (size_t)BUF_BULK_CAP + 2 * 2 * RECORD_WIRE_MAX;
	assert_true(m->app_sent <= bound);
	assert_true(m->app_sent < mib);
	assert_int_equal(m->dest_got_len, 0);
	/* The other direction did not wait for this one. */
	assert_int_equal(m->client_got_len, mib);

	m->dest_stalled = false;
	m->app_close = true;
	m->dest_close = true;
	run(m);
	assert_false(m->c->broken);
	assert_int_equal(m->dest_got_len, sizeof(GET) - 1 + mib);
	assert_memory_equal(m->dest_got + sizeof(GET) - 1, a, mib);
	assert_int_equal(m->client_got_len, mib);
	assert_memory_equal(m->client_got, b, mib);
	assert_true(sealed_in_ended(m->c) && m->dest_fin_in);
	/* Full records on the links: the client's bytes grew by at most 19 per record per layer. */
	size_t records = (mib + RECORD_DATA_MAX - 1) / RECORD_DATA_MAX;
	assert_true(m->fwd[0].moved >= relay_flight_len(sizeof(GET) - 1) + mib + 3 * 19 * records);
	sim_free(m);
	free(a);
	free(b);
}

/*
 * Three hops, b (down bytes) from the destination, which closes or not, to
 * an application that reads nothing; run until stuck, then the link's EOF
 * is read (link_eof, as client_io.c sets it), which by itself is no cut.
 * The client's inner layers open only as far as the application's buffer
 * takes; the rest waits in rin as records. 544 KiB is more than the
 * application's (bulk) buffer holds and less than it and rin (which stays a
 * small buffer here: the simulated link never fills it) hold together.
 */
#define STALLED_DOWN (544 * 1024)

static struct sim *stalled_download(const uint8_t *b, size_t down, bool close)
{
	struct sim *m = sim_new(3, (const uint8_t *)GET, sizeof(GET) - 1);
	m->dest_data = b;
	m->dest_len = down;
	m->dest_close = close;
	m->app_stalled = true;
	run(m);
	/*
	 * The client's inner layers opened only as far as the application's
	 * buffer took: each holds a record or two, in a small block.
	 */
	for (unsigned k = 1; k < m->n; k++) {
		assert_false(m->c->bwd[k].bulk);
		assert_true(buf_len(&m->c->bwd[k]) < 2 * RECORD_WIRE_MAX);
	}
	m->c->link_eof = true;
	assert_true(sealed_pump_in(m->c, &m->app_in));
	return m;
}

/*
 * The application reads nothing while the destination sends and closes: the
 * relay's END and FIN come while the last records still wait for room, and
 * the FIN is read then. Until those records are opened the stream is
 * neither ended nor cut; once the application reads, it ends with its END
 * and every byte.
 */
static void test_fin_behind_records(void **state)
{
	(void)state;
	size_t down = STALLED_DOWN;
	uint8_t *b = pattern(down, 7);
	struct sim *m = stalled_download(b, down, true);
	assert_true(m->client_fin_in);
	assert_false(m->c->broken || sealed_in_ended(m->c));

	m->app_stalled = false;
	run(m);
	assert_false(m->c->broken);
	assert_true(sealed_in_ended(m->c));
	assert_int_equal(m->client_got_len, down);
	assert_memory_equal(m->client_got, b, down);
	sim_free(m);
	free(b);
}

/*
 * A link that ends without END is a cut, but only once the records before
 * its EOF are opened: those still waiting for room are delivered first. A
 * record cut short by the EOF is a cut at once.
 */
static void test_fin_without_end(void **state)
{
	(void)state;
	size_t down = STALLED_DOWN;
	uint8_t *b = pattern(down, 8);
	struct sim *m = stalled_download(b, down, false); /* no close: no END comes */
	assert_false(m->c->broken);
	m->app_stalled = false;
	run(m);
	assert_true(m->c->broken);
	assert_false(sealed_in_ended(m->c));
	assert_int_equal(m->client_got_len, down);
	sim_free(m);

	/* All but the last byte of one more record from relay 1, then EOF. */
	m = sim_new(3, (const uint8_t *)GET, sizeof(GET) - 1);
	m->dest_data = b;
	m->dest_len = 1000;
	run(m);
	assert_int_equal(m->client_got_len, 1000);
	uint8_t rec[1 + RECORD_OVERHEAD];
	size_t len = record_seal(&m->r[0].s->relay.send, RECORD_PAD, (const uint8_t *)"x", 1, rec,
	                         sizeof(rec));
	assert_true(buf_append(&m->c->rin, rec, len - 1));
	assert_true(sealed_pump_in(m->c, &m->app_in)); /* more may come */
	m->c->link_eof = true;
	assert_false(sealed_pump_in(m->c, &m->app_in));
	assert_true(m->c->broken);
	sim_free(m);
	free(b);
}

static int setup(void **state)
{
	(void)state;
	return secret_init() ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_flight_sizes),
	    cmocka_unit_test(test_build_refuses),
	    cmocka_unit_test(test_exchange_1),
	    cmocka_unit_test(test_exchange_3),
	    cmocka_unit_test(test_exchange_8),
	    cmocka_unit_test(test_exit_status),
	    cmocka_unit_test(test_middle_fails),
	    cmocka_unit_test(test_tampered_link),
	    cmocka_unit_test(test_status_rules),
	    cmocka_unit_test(test_after_end),
	    cmocka_unit_test(test_bulk),
	    cmocka_unit_test(test_fin_behind_records),
	    cmocka_unit_test(test_fin_without_end),
	    cmocka_unit_test_teardown(test_mixed_suites, default_suites),
	};
	return cmocka_run_group_tests_name("relay_chain", tests, setup, NULL);
}
