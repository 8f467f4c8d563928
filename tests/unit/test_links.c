/*
 * Links end to end (src/links.c, SPEC.md "Links"): a client link and a
 * relay link in one event loop, over a real socket pair, each circuit's
 * owner a small echo or a sender that checks what comes back. The relay's
 * side of the LINK handshake is done here with crypto/hop.c, as relay.c
 * will do it. Checks: many circuits at once, a circuit whose owner stops
 * reading holds no more than its window and stalls no other, resets either
 * way, a link broken by garbage or by a peer that ignores credit, a reply
 * that is not genuine, and a circuit let go with bytes still to send.
 * A link kicked from inside another link's flush flushes in the same turn.
 * Windows: a bulk circuit whose reader keeps up grows its window both ways
 * (a stalled one does not), and with no bulk buffer to be had its bytes
 * wait in the link's queue for a reader that pauses, FIN behind them.
 */
#include "config.h"

#include <ev.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "frame.h"
#include "links.h"
#include "relay.h"
#include "secret.h"

#define CIRCS 40

/* One circuit's owner. */
struct end {
	struct link_circ *lc;
	struct buf rin, rout;
	bool relay;        /* the relay's side: echoes */
	bool stalled;      /* takes nothing from rin */
	const uint8_t *tx; /* client: what it sends */
	size_t tx_len, tx_off;
	uint8_t *rx; /* client: what came back */
	size_t rx_len, rx_cap;
	size_t held_max;     /* the most rin ever held */
	size_t taken;        /* bytes taken from rin */
	uint32_t window_max; /* the largest window its circuit had */
	size_t pause_at;     /* relay: stops reading for a while once it took this */
	ev_timer pause;
	bool paused;
	size_t paused_held, paused_queued; /* rin, and the link's queue, at the pause's end */
	uint32_t paused_window;
	bool paused_fin_held; /* the peer's FIN was waiting behind the queue */
	bool hold;            /* client: sends only what the test puts in rout */
	bool got_fin, got_reset, freed;
};

struct rig {
	struct ev_loop *loop;
	int fds[2];
	struct relay_key key;
	struct link *client, *relay;
	ev_io accept_io; /* the relay's side until the flight is in */
	uint8_t flight[8 * RELAY_LAYER_LEN];
	size_t flight_len;
	bool bad_reply; /* the relay answers with a reply that does not open */
	struct end cl[CIRCS], rl[CIRCS];
	size_t nrl;         /* relay circuits accepted */
	bool stall_first;   /* the relay's owner of circuit 1 takes nothing */
	size_t pause_first; /* ... or pauses once it took this */
	bool client_down, relay_down;
	int downs;
	ev_timer guard;
	bool timed_out;
	struct end *cross; /* on a client circuit's output: a byte into this one's rout */
	bool crossed;
};

static struct rig *rig;

static void end_done(struct end *e)
{
	if (rig && e->paused)
		ev_timer_stop(rig->loop, &e->pause);
	if (e->lc) {
		link_circ_free(e->lc);
		e->lc = NULL;
	}
	e->freed = true;
	buf_free(&e->rin);
	buf_free(&e->rout);
}

/* The client's sender: fills rout from tx, then ends its stream. */
static void client_fill(struct end *e)
{
	if (e->hold)
		return;
	while (e->tx_off < e->tx_len) {
		size_t room = buf_room(&e->rout), n = e->tx_len - e->tx_off;
		if (room == 0)
			break;
		if (n > room)
			n = room;
		buf_append(&e->rout, e->tx + e->tx_off, n);
		e->tx_off += n;
	}
	if (e->tx_off == e->tx_len)
		e->lc->want_fin = true;
	link_circ_kick(e->lc);
}

static void on_input(struct link_circ *lc)
{
	struct end *e = lc->arg;
	if (lc->reset) {
		e->got_reset = true;
		e->lc = NULL;
		link_circ_free(lc);
		end_done(e);
		return;
	}
	if (buf_len(&e->rin) > e->held_max)
		e->held_max = buf_len(&e->rin);
	if (lc->window > e->window_max)
		e->window_max = lc->window;
	if (e->pause_at && !e->paused && e->taken >= e->pause_at) {
		e->paused = e->stalled = true;
		ev_timer_start(rig->loop, &e->pause);
	}
	if (!e->stalled && buf_len(&e->rin)) {
		size_t n = buf_len(&e->rin);
		if (e->relay) {
			if (n > buf_room(&e->rout))
				n = buf_room(&e->rout);
			buf_append(&e->rout, buf_head(&e->rin), n);
			link_circ_kick(lc);
		} else {
			assert_true(e->rx_len + n <= e->rx_cap);
			memcpy(e->rx + e->rx_len, buf_head(&e->rin), n);
			e->rx_len += n;
		}
		buf_consume(&e->rin, n);
		e->taken += n;
		link_circ_took(lc);
	}
	if (lc->in_fin && buf_len(&e->rin) == 0) {
		assert_int_equal(chunkq_len(&lc->q), 0); /* a FIN comes after every byte */
		e->got_fin = true;
		if (e->relay) {
			lc->want_fin = true;
			link_circ_kick(lc);
		}
	}
	if (lc->in_fin && lc->fin_sent && buf_len(&e->rin) == 0)
		end_done(e);
}

static void on_output(struct link_circ *lc)
{
	struct end *e = lc->arg;
	if (!e->relay && rig->cross && !rig->crossed) {
		/* As a middle relay's circuit moves what one link took onto another. */
		rig->crossed = true;
		buf_append(&rig->cross->rout, "x", 1);
		link_circ_kick(rig->cross->lc);
	}
	if (!e->relay)
		client_fill(e);
	else if (e->stalled == false && buf_len(&e->rin))
		on_input(lc); /* room again for what waited */
	if (!e->freed && lc->in_fin && lc->fin_sent && buf_len(&e->rin) == 0)
		end_done(e);
}

static const struct link_circ_ops circ_ops = {.input = on_input, .output = on_output};

static void on_up(struct link *l)
{
	(void)l;
}

static void on_down(struct link *l)
{
	*(l == rig->client ? &rig->client_down : &rig->relay_down) = true;
	if (++rig->downs == 2)
		ev_break(rig->loop, EVBREAK_ALL);
}

/* The paused reader reads again, noting what waited for it. */
static void pause_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct end *e = w->data;
	e->paused_held = buf_len(&e->rin);
	e->paused_queued = chunkq_len(&e->lc->q);
	e->paused_window = e->lc->window;
	e->paused_fin_held = e->lc->fin_held;
	e->stalled = false;
	on_input(e->lc);
}

static bool on_accept(struct link *l, struct link_circ *lc)
{
	(void)l;
	if (rig->nrl == CIRCS)
		return false;
	struct end *e = &rig->rl[rig->nrl++];
	memset(e, 0, sizeof(*e));
	e->relay = true;
	e->stalled = lc->id == 1 && rig->stall_first;
	e->pause_at = lc->id == 1 ? rig->pause_first : 0;
	ev_timer_init(&e->pause, pause_cb, 0.2, 0.);
	e->pause.data = e;
	e->lc = lc;
	lc->rin = &e->rin;
	lc->rout = &e->rout;
	lc->ops = &circ_ops;
	lc->arg = e;
	return true;
}

static const struct link_ops link_ops = {.up = on_up, .down = on_down, .accept = on_accept};

/* The relay: takes the LINK flight as relay.c would, replies, and hands the socket over. */
static void accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)revents;
	ssize_t n =
	    read(w->fd, rig->flight + rig->flight_len, sizeof(rig->flight) - rig->flight_len);
	assert_true(n > 0);
	rig->flight_len += (size_t)n;
	if (rig->flight_len < sizeof(rig->flight))
		return;
	ev_io_stop(loop, w);
	struct hop_relay hr;
	struct relay_hdr h;
	uint8_t raw[RELAY_HDR_LEN], blob[LINK_BLOB_LEN], seed[32], reply[RELAY_REPLY_LEN];
	assert_true(hop_relay_open_head(&rig->key, rig->flight, &hr, raw));
	assert_int_equal(relay_hdr_parse(raw, sizeof(raw), &h), PROTO_DONE);
	assert_int_equal(h.cmd, RELAY_CMD_LINK);
	assert_true(hop_relay_open_blob(&hr, rig->flight + RELAY_HEAD_LEN, h.blob_len, blob));
	hop_random(seed, sizeof(seed));
	assert_true(hop_reply_seal(&hr, seed, RECORD_SUITE_CHACHA, reply));
	if (rig->bad_reply)
		reply[5] ^= 1;
	rig->relay =
	    link_new_relay(loop, w->fd, &hr, reply, sizeof(reply), NULL, 0, &link_ops, NULL);
	assert_non_null(rig->relay);
	hop_relay_wipe(&hr);
}

static void guard_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	rig->timed_out = true;
	ev_break(loop, EVBREAK_ALL);
}

static int rig_setup(void **state)
{
	rig = calloc(1, sizeof(*rig));
	assert_non_null(rig);
	rig->loop = ev_loop_new(EVFLAG_AUTO);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, rig->fds), 0);
	uint8_t sk[32];
	hop_random(sk, sizeof(sk));
	assert_true(relay_key_from_secret(&rig->key, sk));
	ev_io_init(&rig->accept_io, accept_cb, rig->fds[1], EV_READ);
	ev_io_start(rig->loop, &rig->accept_io);
	ev_timer_init(&rig->guard, guard_cb, 20., 0.);
	ev_timer_start(rig->loop, &rig->guard);
	*state = rig;
	return 0;
}

static int rig_teardown(void **state)
{
	(void)state;
	for (size_t i = 0; i < CIRCS; i++) {
		if (!rig->cl[i].freed)
			end_done(&rig->cl[i]);
		free(rig->cl[i].rx);
	}
	for (size_t i = 0; i < rig->nrl; i++)
		if (!rig->rl[i].freed)
			end_done(&rig->rl[i]);
	if (rig->client && !rig->client_down)
		link_fail(rig->client, "test over");
	if (rig->relay && !rig->relay_down)
		link_fail(rig->relay, "test over");
	if (!rig->relay)
		close(rig->fds[1]);
	ev_loop_destroy(rig->loop);
	relay_key_wipe(&rig->key);
	free(rig);
	return 0;
}

static void start_client(void)
{
	rig->client = link_new_client(rig->loop, rig->fds[0], rig->key.pk, 0,
	                              (uint64_t)ev_now(rig->loop), &link_ops, NULL);
	assert_non_null(rig->client);
}

static uint8_t *pattern(size_t n, unsigned salt)
{
	uint8_t *p = malloc(n ? n : 1);
	assert_non_null(p);
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 31 + salt + (i >> 11));
	return p;
}

/* Client circuit i sends n bytes of its own pattern and expects them back. */
static void open_circ(size_t i, size_t n)
{
	struct end *e = &rig->cl[i];
	memset(e, 0, sizeof(*e));
	e->tx = pattern(n, (unsigned)i);
	e->tx_len = n;
	e->rx_cap = n;
	e->rx = malloc(n ? n : 1);
	e->lc = link_circ_open(rig->client, &e->rin, &e->rout, &circ_ops, e);
	assert_non_null(e->lc);
	assert_int_equal(e->lc->id, 0); /* its first frame gives it one */
	client_fill(e);
}

static void check_echo(size_t i)
{
	struct end *e = &rig->cl[i];
	assert_false(e->got_reset);
	assert_true(e->got_fin);
	assert_int_equal(e->rx_len, e->tx_len);
	assert_memory_equal(e->rx, e->tx, e->tx_len);
	free((void *)e->tx);
}

static void run_until(bool (*done)(void))
{
	while (!done() && !rig->timed_out && rig->downs < 2)
		ev_run(rig->loop, EVRUN_ONCE);
	assert_false(rig->timed_out);
}

static bool all_freed(void)
{
	for (size_t i = 0; i < CIRCS; i++)
		if (rig->cl[i].lc)
			return false;
	return true;
}

static void test_many(void **state)
{
	(void)state;
	start_client();
	/*
	 * Sizes from one byte to several windows, all at once, opened in one
	 * order and first heard from in another: ids go out in the order the
	 * circuits speak.
	 */
	for (size_t i = 0; i < CIRCS; i++) {
		struct end *e = &rig->cl[i];
		memset(e, 0, sizeof(*e));
		e->lc = link_circ_open(rig->client, &e->rin, &e->rout, &circ_ops, e);
		assert_non_null(e->lc);
	}
	for (size_t k = CIRCS; k-- > 0;) {
		struct end *e = &rig->cl[k];
		size_t n = 1 + (k * k * 257) % 300000;
		e->tx = pattern(n, (unsigned)k);
		e->tx_len = e->rx_cap = n;
		e->rx = malloc(n);
		client_fill(e);
	}
	run_until(all_freed);
	for (size_t i = 0; i < CIRCS; i++)
		check_echo(i);
	assert_int_equal(rig->nrl, CIRCS);
	assert_int_equal(link_circuits(rig->client), 0);
	/* A clean close: FIN, then the relay's end sees it and goes. */
	link_close(rig->client);
	ev_run(rig->loop, 0);
	assert_false(rig->timed_out);
	assert_int_equal(rig->downs, 2);
	for (size_t i = 0; i < CIRCS; i++)
		assert_false(rig->rl[i].got_reset);
}

static bool second_done(void)
{
	return rig->cl[1].lc == NULL;
}

static bool first_full(void)
{
	return rig->cl[0].lc && rig->cl[0].lc->send_allow == 0 && rig->nrl > 0 &&
	       buf_len(&rig->rl[0].rin) == LINK_WINDOW;
}

static void test_stalled(void **state)
{
	(void)state;
	rig->stall_first = true; /* circuit 1's relay owner will not read */
	start_client();
	open_circ(0, 1 << 20);
	open_circ(1, 200000);
	run_until(second_done);
	check_echo(1);
	run_until(first_full);
	/* The stalled circuit holds its window, not a byte more, and it did not grow. */
	assert_int_equal(rig->rl[0].held_max, LINK_WINDOW);
	assert_int_equal(rig->rl[0].lc->window, LINK_WINDOW);
	assert_int_equal(chunkq_len(&rig->rl[0].lc->q), 0);
	assert_false(rig->cl[0].got_fin);
	/* Let it read: it completes. */
	rig->rl[0].stalled = false;
	on_input(rig->rl[0].lc);
	run_until(all_freed);
	check_echo(0);
}

static bool relay_reset_seen(void)
{
	return rig->nrl > 0 && rig->rl[0].got_reset && rig->cl[1].lc == NULL;
}

static void test_reset(void **state)
{
	(void)state;
	rig->stall_first = true;
	start_client();
	open_circ(0, 500000);
	open_circ(1, 100000);
	run_until(first_full);
	/* The client drops circuit 1 mid-stream: the relay's owner sees a reset. */
	end_done(&rig->cl[0]);
	run_until(relay_reset_seen);
	check_echo(1);
	free((void *)rig->cl[0].tx);
	/* And the other way: the relay resets circuit 3, the client sees it. */
	open_circ(2, 100000);
	while (rig->nrl < 3 && !rig->timed_out)
		ev_run(rig->loop, EVRUN_ONCE);
	end_done(&rig->rl[2]);
	while (!rig->cl[2].got_reset && !rig->timed_out)
		ev_run(rig->loop, EVRUN_ONCE);
	assert_true(rig->cl[2].got_reset);
	free((void *)rig->cl[2].tx);
	assert_int_equal(link_circuits(rig->client), 0);
	assert_true(link_up(rig->client));
}

static bool both_down(void)
{
	return rig->downs == 2;
}

static void test_garbage(void **state)
{
	(void)state;
	rig->stall_first = true;
	start_client();
	open_circ(0, 500000);
	run_until(first_full);
	/* Bytes that are no frame, in the middle of the client's stream. */
	static const uint8_t junk[64] = {1, 2, 3};
	assert_int_equal(write(rig->fds[0], junk, sizeof(junk)), (ssize_t)sizeof(junk));
	run_until(both_down);
	assert_true(rig->rl[0].got_reset);
	assert_true(rig->cl[0].got_reset);
	free((void *)rig->cl[0].tx);
}

static void test_past_credit(void **state)
{
	(void)state;
	rig->stall_first = true;
	start_client();
	open_circ(0, 500000);
	/* A client that ignores its window: the relay ends the link. */
	rig->cl[0].lc->send_allow = 4 * LINK_WINDOW;
	run_until(both_down);
	assert_true(rig->cl[0].got_reset);
	assert_true(rig->rl[0].got_reset);
	assert_true(rig->rl[0].held_max <= LINK_WINDOW);
	free((void *)rig->cl[0].tx);
}

static void test_bad_reply(void **state)
{
	(void)state;
	rig->bad_reply = true;
	start_client();
	open_circ(0, 1000);
	while (!rig->client_down && !rig->timed_out)
		ev_run(rig->loop, EVRUN_ONCE);
	/* The client's link never came up: its circuit is reset, nothing was sent on it. */
	assert_true(rig->client_down);
	assert_true(rig->cl[0].got_reset);
	assert_int_equal(rig->nrl, 0);
	free((void *)rig->cl[0].tx);
}

static bool relay_got_all(void)
{
	return rig->nrl == 1 && rig->rl[0].freed;
}

static void test_release(void **state)
{
	(void)state;
	start_client();
	/* Most of a window, all of it handed over before a byte has left. */
	struct end *e = &rig->cl[0];
	memset(e, 0, sizeof(*e));
	uint8_t *p = pattern(60000, 9);
	e->lc = link_circ_open(rig->client, &e->rin, &e->rout, &circ_ops, e);
	assert_non_null(e->lc);
	assert_true(buf_append(&e->rout, p, 60000));
	link_circ_release(e->lc);
	e->lc = NULL;
	assert_int_equal(buf_len(&e->rout), 0); /* taken by the link */
	end_done(e);
	/* The relay gets every byte and the FIN; its echo back is dropped. */
	run_until(relay_got_all);
	assert_int_equal(rig->rl[0].taken, 60000);
	assert_true(rig->rl[0].got_fin);
	assert_false(rig->rl[0].got_reset);
	/* Nothing is left on the client's link: it closes cleanly. */
	assert_int_equal(link_circuits(rig->client), 0);
	link_close(rig->client);
	ev_run(rig->loop, 0);
	assert_int_equal(rig->downs, 2);
	free(p);
}

static void test_grows(void **state)
{
	(void)state;
	start_client();
	open_circ(0, 16 << 20);
	run_until(all_freed);
	check_echo(0);
	/*
	 * The echo keeps up both ways, so each sender runs out of credit first:
	 * both windows grow to their bound (16 x the first).
	 */
	assert_int_equal(rig->rl[0].window_max, 32 * LINK_WINDOW);
	assert_int_equal(rig->cl[0].window_max, 32 * LINK_WINDOW);
	assert_true(rig->rl[0].held_max <= rig->rl[0].window_max);
}

/* Every bulk block of the process in use: rin cannot grow past a small block. */
static struct buf hog[BUF_BULK_MAX];

static void hog_bulk(void)
{
	static uint8_t fill[BUF_CAP + 1];
	for (size_t i = 0; i < BUF_BULK_MAX; i++)
		assert_true(buf_append(&hog[i], fill, sizeof(fill)));
	assert_false(buf_bulk_available());
}

static void test_queue(void **state)
{
	(void)state;
	hog_bulk();
	/*
	 * Circuit 1's relay owner stops for 0.2 s 200000 bytes before the end
	 * of the stream, then reads the rest: its window has grown by then.
	 */
	rig->pause_first = (6 << 20) - 200000;
	start_client();
	open_circ(0, 6 << 20);
	run_until(all_freed);
	for (size_t i = 0; i < BUF_BULK_MAX; i++)
		buf_free(&hog[i]);
	/* Every byte came back, in order, and the FIN after the last. */
	check_echo(0);
	struct end *e = &rig->rl[0];
	assert_true(e->paused);
	/* The window had grown past what rin can hold; the rest waited in the queue. */
	assert_true(e->paused_window > BUF_CAP);
	assert_true(e->paused_held <= BUF_CAP);
	assert_true(e->paused_queued > 0);
	assert_true(e->paused_held + e->paused_queued <= e->paused_window);
	/* The client's FIN came during the pause: it waited behind the queue. */
	assert_true(e->paused_fin_held);
}

static int setup(void **state)
{
	(void)state;
	return secret_init() ? 0 : -1;
}

static bool first_echoed(void)
{
	return rig->cl[0].rx_len == 1;
}

/*
 * Bytes that one link's flush hands to a circuit of another link (a middle
 * relay linked both ways does this all the time) leave in the same turn of
 * the loop. libev calls only the prepare watchers it queued before calling
 * the first, so a flush started from inside another waited for the next
 * poll: here that would leave the byte in rout after one turn.
 */
static void test_flush_in_flush(void **state)
{
	(void)state;
	start_client();
	struct end *a = &rig->cl[0];
	memset(a, 0, sizeof(*a));
	a->tx = pattern(2, 0);
	a->tx_len = a->rx_cap = 2;
	a->rx = malloc(2);
	a->hold = true;
	a->lc = link_circ_open(rig->client, &a->rin, &a->rout, &circ_ops, a);
	assert_non_null(a->lc);
	buf_append(&a->rout, a->tx, 1);
	a->tx_off = 1;
	link_circ_kick(a->lc);
	run_until(first_echoed);
	/* Every credit and echo settled: neither link is due. */
	for (int i = 0; i < 20; i++)
		ev_run(rig->loop, EVRUN_NOWAIT);
	assert_int_equal(rig->nrl, 1);
	struct end *r = &rig->rl[0];
	assert_int_equal(buf_len(&r->rout), 0);

	r->stalled = true; /* no echo of a's next byte: only the test's byte goes in rout */
	rig->cross = r;
	buf_append(&a->rout, a->tx + 1, 1); /* the client's link flushes next turn */
	a->tx_off = 2;
	a->hold = false;
	link_circ_kick(a->lc);
	ev_run(rig->loop, EVRUN_NOWAIT);
	assert_true(rig->crossed);
	assert_int_equal(buf_len(&r->rout), 0);
	free((void *)a->tx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_flush_in_flush, rig_setup, rig_teardown),
	    cmocka_unit_test_setup_teardown(test_many, rig_setup, rig_teardown),
	    cmocka_unit_test_setup_teardown(test_stalled, rig_setup, rig_teardown),
	    cmocka_unit_test_setup_teardown(test_reset, rig_setup, rig_teardown),
	    cmocka_unit_test_setup_teardown(test_garbage, rig_setup, rig_teardown),
	    cmocka_unit_test_setup_teardown(test_past_credit, rig_setup, rig_teardown),
	    cmocka_unit_test_setup_teardown(test_bad_reply, rig_setup, rig_teardown),
	    cmocka_unit_test_setup_teardown(test_release, rig_setup, rig_teardown),
	    cmocka_unit_test_setup_teardown(test_grows, rig_setup, rig_teardown),
	    cmocka_unit_test_setup_teardown(test_queue, rig_setup, rig_teardown),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
