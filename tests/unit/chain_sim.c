/* The chain simulator behind test_relay_chain.c (see chain_sim.h). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "chain_sim.h"
#include "circuit.h"
#include "record.h"

static uint32_t rnd(struct sim *m)
{
	m->rng ^= m->rng << 13;
	m->rng ^= m->rng >> 17;
	m->rng ^= m->rng << 5;
	return m->rng;
}

/* How many bytes one read moves: often a few, sometimes a lot. */
static size_t chunk(struct sim *m)
{
	uint32_t r = rnd(m);
	switch (r % 4) {
	case 0:
		return 1 + (r >> 8) % 16;
	case 1:
		return 1 + (r >> 8) % 1500;
	case 2:
		return 1 + (r >> 8) % 20000;
	default:
		return BUF_CAP;
	}
}

static size_t min3(size_t a, size_t b, size_t c)
{
	size_t m = a < b ? a : b;
	return m < c ? m : c;
}

/* Moves what fits from one buffer to another, flipping the wire's bit on the way. */
static size_t move(struct sim *m, struct buf *from, struct buf *to, struct wire *w)
{
	static uint8_t tmp[BUF_CAP];
	size_t k = min3(buf_len(from), buf_room(to), chunk(m));
	if (k == 0)
		return 0;
	memcpy(tmp, buf_head(from), k);
	if (w && w->flip_at >= w->moved && w->flip_at < w->moved + k)
		tmp[w->flip_at - w->moved] ^= 0x10;
	assert_true(buf_append(to, tmp, k));
	buf_consume(from, k);
	if (w)
		w->moved += k;
	return k;
}

static void collect(uint8_t **p, size_t *len, size_t *cap, struct buf *from, size_t max)
{
	size_t k = buf_len(from) < max ? buf_len(from) : max;
	if (k == 0)
		return;
	if (*len + k > *cap) {
		*cap = (*len + k) * 2;
		*p = realloc(*p, *cap);
		assert_non_null(*p);
	}
	memcpy(*p + *len, buf_head(from), k);
	*len += k;
	buf_consume(from, k);
}

/* ------------------------------------------------------------ the relay */

uint8_t sim_offer;
unsigned sim_relay_aes = ~0u;

static void seed_of(uint8_t out[32], unsigned k, uint8_t salt)
{
	for (int i = 0; i < 32; i++)
		out[i] = (uint8_t)(salt + 0x20 * k + i);
}

/* SPEC.md "What a relay does with a flight", steps 1 to 5. */
static void relay_flight(struct sim *m, unsigned k)
{
	struct node *r = &m->r[k];
	struct buf *rin = &r->s->rin;

	if (!r->head_ok) {
		if (buf_len(rin) < RELAY_HEAD_LEN)
			return;
		if (!hop_relay_open_head(&r->key, buf_head(rin), &r->s->relay, r->hdr_raw) ||
		    relay_hdr_parse(r->hdr_raw, RELAY_HDR_LEN, &r->hdr) != PROTO_DONE) {
			r->failed = true;
			return;
		}
		assert_true(r->hdr.timestamp == NOW);
		r->head_ok = true;
		r->s->reuse = r->hdr.cmd == RELAY_CMD_CONNECT && (r->hdr.flags & RELAY_FLAG_REUSE);
	}
	size_t blob_len = r->hdr.blob_len;
	if (buf_len(rin) < RELAY_HEAD_LEN + blob_len + RELAY_TAG_LEN)
		return;
	uint8_t *blob = malloc(blob_len + 1);
	assert_non_null(blob);
	if (!hop_relay_open_blob(&r->s->relay, buf_head(rin) + RELAY_HEAD_LEN, blob_len, blob)) {
		r->failed = true;
		free(blob);
		return;
	}
	buf_consume(rin, RELAY_HEAD_LEN + blob_len + RELAY_TAG_LEN);
	r->s->discard = r->hdr.skip; /* the previous relay's padding */

	uint8_t r_seed[32], reply[RELAY_REPLY_LEN];
	seed_of(r_seed, k, 0x07);
	bool aes = sim_relay_aes & (1u << k);
	assert_true(
	    hop_reply_seal(&r->s->relay, r_seed, hop_suite_pick(r->hdr.suites, aes), reply));
	assert_true(buf_append(&r->s->rout, reply, sizeof(reply)));
	r->opened = true;

	if (r->hdr.cmd == RELAY_CMD_EXTEND) {
		if (r->no_next) {
			assert_true(sealed_send_status(r->s, RELAY_ST_RELAY_FAILED));
		} else {
			/* The blob, then L + skip random bytes: F again on the next link. */
			uint8_t pad[L + RELAY_SKIP_MAX];
			size_t npad = L + r->hdr.skip;
			for (size_t i = 0; i < npad; i++)
				pad[i] = (uint8_t)rnd(m);
			assert_true(buf_append(&r->up, blob, blob_len));
			assert_true(buf_append(&r->up, pad, npad));
			r->flight_out = blob_len + npad;
		}
	} else {
		if (r->exit_status >= 0)
			assert_true(sealed_send_status(r->s, r->exit_status));
		if (r->exit_status <= 0)
			assert_true(buf_append(&r->up, blob, r->hdr.data_len));
		r->closed = r->exit_status > 0;
		/* The filler after the early data is zeros. */
		for (size_t i = r->hdr.data_len; i < blob_len; i++)
			assert_int_equal(blob[i], 0);
	}
	free(blob);
}

/*
 * A reused circuit's exit, as relay.c does it: takes a BEGIN (and reports
 * its status), lets a stream go once END has crossed both ways and all
 * before it is out, and closes the circuit on a FIN between streams.
 */
static size_t reused_exit(struct node *r)
{
	struct sealed *s = r->s;
	if (s->begun && !r->hold_begin) {
		s->begun = false;
		assert_int_equal(relay_begin_parse(s->begin, s->begin_len, &r->begin_dst),
		                 PROTO_DONE);
		r->idle = false;
		r->begins++;
		if (r->exit_status >= 0)
			assert_true(sealed_send_status(s, r->exit_status));
		r->closed = r->exit_status > 0;
		return 1;
	}
	if (!r->idle && !r->closed && r->fin_up && s->want_end && sealed_stream_flushed(s)) {
		assert_true(sealed_next_stream(s));
		r->fin_up = r->fin_down = false;
		r->idle = true;
		r->released++;
		return 1;
	}
	if (r->idle && r->fin_in && !r->closed) {
		r->closed = true;
		return 1;
	}
	return 0;
}

/* Moves whatever can move. Returns how many bytes moved, or changed state. */
static size_t step(struct sim *m)
{
	size_t moved = 0;
	unsigned n = m->n;

	/* The application writes and reads. */
	if (m->app_sent < m->app_len) {
		size_t k = min3(m->app_len - m->app_sent, buf_room(&m->app_out), chunk(m));
		assert_true(buf_append(&m->app_out, m->app_data + m->app_sent, k));
		m->app_sent += k;
		moved += k;
	}
	if (m->app_close && m->app_sent == m->app_len && buf_len(&m->app_out) == 0 &&
	    !m->c->want_end) {
		m->c->want_end = true;
		moved++;
	}
	size_t before = buf_len(&m->app_in);
	if (!m->app_stalled)
		collect(&m->client_got, &m->client_got_len, &m->client_got_cap, &m->app_in,
		        chunk(m));
	moved += before - buf_len(&m->app_in);

	/* The client's side. */
	if (!m->c->broken) {
		sealed_pump_out(m->c, &m->app_out);
		sealed_pump_in(m->c, &m->app_in);
	}
	/* A reused circuit outlives its streams: only sealed_close() ends it with a FIN. */
	bool over = sealed_out_flushed(m->c) && (!m->c->reuse || m->c->want_close);
	if (!m->client_fin && over) {
		m->client_fin = true;
		m->r[0].fin_in = true;
		moved++;
	}

	for (unsigned k = 0; k < n; k++) {
		struct node *r = &m->r[k];
		struct buf *from_prev = k == 0 ? &m->c->rout : &m->r[k - 1].up;
		struct buf *to_prev = k == 0 ? &m->c->rin : &m->r[k - 1].down;
		if (r->failed || r->s->broken)
			continue;
		moved += move(m, from_prev, &r->s->rin, &m->fwd[k]);
		if (!r->opened)
			relay_flight(m, k);
		if (!r->opened)
			continue;
		sealed_pump_in(r->s, &r->up);
		sealed_pump_out(r->s, &r->down);
		moved += move(m, &r->s->rout, to_prev, &m->bwd[k]);

		/* An END opened is a FIN onwards; a FIN from onwards is an END back. */
		if (!r->fin_up && sealed_in_ended(r->s) && buf_len(&r->up) == 0) {
			r->fin_up = true;
			if (k + 1 < n)
				m->r[k + 1].fin_in = true;
			else
				m->dest_fin_in = true;
			moved++;
		}
		if (r->fin_down && buf_len(&r->down) == 0 && !r->s->want_end) {
			r->s->want_end = true;
			moved++;
		}
		if (r->s->reuse)
			moved += reused_exit(r);
		bool gone =
		    r->s->reuse ? r->closed && buf_len(&r->s->rout) == 0 : sealed_out_flushed(r->s);
		if (!r->fin_back && gone) {
			r->fin_back = true;
			if (k == 0)
				m->client_fin_in = true;
			else
				m->r[k - 1].fin_down = true;
			moved++;
		}
	}

	/* The destination behind the exit. */
	struct node *exit = &m->r[n - 1];
	if (exit->opened && exit->hdr.cmd == RELAY_CMD_CONNECT && exit->exit_status <= 0 &&
	    !exit->idle) {
		if (!m->dest_stalled)
			collect(&m->dest_got, &m->dest_got_len, &m->dest_got_cap, &exit->up,
			        chunk(m));
		if (m->dest_sent < m->dest_len) {
			size_t k =
			    min3(m->dest_len - m->dest_sent, buf_room(&exit->down), chunk(m));
			assert_true(buf_append(&exit->down, m->dest_data + m->dest_sent, k));
			m->dest_sent += k;
			moved += k;
		}
		if (m->dest_close && m->dest_sent == m->dest_len && !exit->fin_down) {
			exit->fin_down = true;
			moved++;
		}
	}
	return moved;
}

/*
 * Every byte held anywhere in the chain, every buffer no fuller than
 * BUF_BULK_CAP, and no memory held by an empty one.
 */
static size_t held(struct sim *m)
{
	struct sealed *c = m->c;
	const struct buf *bufs[2 * RELAY_MAX_HOPS + 4 + 4 * RELAY_MAX_HOPS];
	size_t nb = 0, sum = 0;
	bufs[nb++] = &m->app_out;
	bufs[nb++] = &m->app_in;
	bufs[nb++] = &c->rin;
	bufs[nb++] = &c->rout;
	for (unsigned k = 0; k < RELAY_MAX_HOPS; k++) {
		bufs[nb++] = &c->fwd[k];
		bufs[nb++] = &c->bwd[k];
	}
	for (unsigned k = 0; k < m->n; k++) {
		bufs[nb++] = &m->r[k].s->rin;
		bufs[nb++] = &m->r[k].s->rout;
		bufs[nb++] = &m->r[k].up;
		bufs[nb++] = &m->r[k].down;
	}
	for (size_t i = 0; i < nb; i++) {
		assert_true(buf_len(bufs[i]) <= BUF_BULK_CAP);
		if (buf_len(bufs[i]) == 0)
			assert_null(bufs[i]->data);
		sum += buf_len(bufs[i]);
	}
	return sum;
}

/* Steps until nothing moves and nothing changes for a few rounds in a row. */
void run(struct sim *m)
{
	int idle = 0;
	size_t last = held(m);
	for (long round = 0; idle < 4; round++) {
		assert_true(round < 10000000);
		size_t moved = step(m), now = held(m);
		if (moved == 0 && now == last)
			idle++;
		else
			idle = 0;
		last = now;
	}
}

/* ------------------------------------------------------------ set-up */

const struct proto_addr sim_dst = {.type = PROTO_ADDR_DOMAIN,
                                   .name = (const uint8_t *)DST,
                                   .name_len = sizeof(DST) - 1,
                                   .port = 443};

static struct sim *build(unsigned n, bool reuse, const uint8_t *early, size_t early_len)
{
	struct sim *m = calloc(1, sizeof(*m));
	assert_non_null(m);
	m->n = n;
	m->early_len = early_len;
	m->rng = 0x9e3779b9u ^ n;
	for (unsigned k = 0; k <= RELAY_MAX_HOPS; k++)
		m->fwd[k].flip_at = m->bwd[k].flip_at = SIZE_MAX;

	uint8_t pks[RELAY_MAX_HOPS][32];
	struct proto_addr next[RELAY_MAX_HOPS];
	uint8_t seeds[RELAY_MAX_HOPS * 32], nonces[RELAY_MAX_HOPS * RELAY_NONCE_LEN];
	for (unsigned k = 0; k < n; k++) {
		uint8_t sk[32];
		seed_of(sk, k, 0x01);
		assert_true(relay_key_from_secret(&m->r[k].key, sk));
		memcpy(pks[k], m->r[k].key.pk, 32);
		m->r[k].s = sealed_new_relay();
		assert_non_null(m->r[k].s);
		/* Hop k's header names hop k+1: 192.0.2.(k+2):(9002+k). */
		next[k] = (struct proto_addr){.type = PROTO_ADDR_IPV4,
		                              .ip = {192, 0, 2, (uint8_t)(k + 2)},
		                              .port = (uint16_t)(9002 + k)};
		seed_of(seeds + 32 * k, k, 0x80);
		for (int i = 0; i < RELAY_NONCE_LEN; i++)
			nonces[RELAY_NONCE_LEN * k + i] = (uint8_t)(k * 24 + i);
	}
	m->c = sealed_new_client(n);
	assert_non_null(m->c);
	m->c->offer = sim_offer;
	m->c->reuse = reuse;
	assert_true(circuit_build_with(m->c, (const uint8_t(*)[32])pks, next, n, &sim_dst, early,
	                               early_len, NOW, seeds, nonces, &m->c->rout));
	/* Link 1 carries F bytes of flight. */
	assert_int_equal(buf_len(&m->c->rout), relay_flight_len(early_len));
	return m;
}

const struct proto_addr sim_dst_v4 = {.type = PROTO_ADDR_IPV4, .ip = {198, 51, 100, 7}, .port = 80};
const struct proto_addr sim_dst_name = {.type = PROTO_ADDR_DOMAIN,
                                        .name = (const uint8_t *)"example.org",
                                        .name_len = sizeof("example.org") - 1,
                                        .port = 8080};

struct sim *sim_new(unsigned n, const uint8_t *early, size_t early_len)
{
	return build(n, false, early, early_len);
}

struct sim *sim_new_reused(unsigned n, const uint8_t *early, size_t early_len)
{
	return build(n, true, early, early_len);
}

void sim_free(struct sim *m)
{
	sealed_free(m->c);
	for (unsigned k = 0; k < m->n; k++) {
		sealed_free(m->r[k].s);
		buf_free(&m->r[k].up);
		buf_free(&m->r[k].down);
		relay_key_wipe(&m->r[k].key);
	}
	buf_free(&m->app_out);
	buf_free(&m->app_in);
	free(m->dest_got);
	free(m->client_got);
	free(m);
}

/* Every relay opened its layer, saw its neighbour and sent F bytes on. */
void assert_flights(struct sim *m)
{
	size_t F = relay_flight_len(m->early_len);
	for (unsigned k = 0; k < m->n; k++) {
		struct node *r = &m->r[k];
		assert_true(r->opened);
		assert_false(r->failed);
		/* What it read on its link: its layer and the skip. */
		assert_int_equal(L + r->hdr.blob_len + r->hdr.skip, F);
		assert_int_equal(r->hdr.skip, k * L);
		if (k + 1 < m->n) {
			assert_int_equal(r->hdr.cmd, RELAY_CMD_EXTEND);
			assert_int_equal(r->hdr.dst.type, PROTO_ADDR_IPV4);
			assert_int_equal(r->hdr.dst.ip[3], k + 2);
			assert_int_equal(r->hdr.dst.port, 9002 + k);
			if (!r->no_next)
				assert_int_equal(r->flight_out, F);
		} else {
			assert_int_equal(r->hdr.cmd, RELAY_CMD_CONNECT);
			assert_int_equal(r->hdr.dst.type, PROTO_ADDR_DOMAIN);
			assert_int_equal(r->hdr.dst.name_len, sizeof(DST) - 1);
			assert_memory_equal(r->hdr.dst.name, DST, sizeof(DST) - 1);
			assert_int_equal(r->hdr.dst.port, 443);
			assert_int_equal(r->hdr.data_len, m->early_len);
		}
	}
}

void assert_addr(const struct proto_addr *got, const struct proto_addr *want)
{
	assert_int_equal(got->type, want->type);
	assert_int_equal(got->port, want->port);
	if (want->type == PROTO_ADDR_DOMAIN) {
		assert_int_equal(got->name_len, want->name_len);
		assert_memory_equal(got->name, want->name, want->name_len);
	} else {
		assert_memory_equal(got->ip, want->ip, want->type == PROTO_ADDR_IPV4 ? 4 : 16);
	}
}

/* Nothing broken, no FIN on any link, no END outside the exit's layer. */
void assert_between_streams(struct sim *m)
{
	assert_false(m->c->broken);
	assert_false(m->client_fin || m->client_fin_in);
	for (unsigned k = 0; k < m->n; k++) {
		struct node *r = &m->r[k];
		assert_false(r->s->broken);
		assert_false(r->fin_in || r->fin_back || r->closed);
		if (k + 1 < m->n) {
			assert_false(r->fin_up || r->fin_down);
			assert_false(r->s->l[0].in_end || r->s->l[0].out_end);
			assert_false(m->c->l[k].in_end || m->c->l[k].out_end);
		}
	}
}

bool sim_begin(struct sim *m, const struct proto_addr *dst)
{
	m->app_sent = m->app_len = m->dest_sent = m->dest_len = 0;
	m->client_got_len = m->dest_got_len = 0;
	m->app_close = m->dest_close = m->dest_fin_in = false;
	return sealed_begin(m->c, dst);
}

void sim_inject(struct sim *m, unsigned k, enum record_type type, const uint8_t *p, size_t len)
{
	struct sealed *c = m->c;
	static uint8_t rec[RECORD_DATA_MAX + RECORD_OVERHEAD];
	size_t n = record_seal(&c->hops[k].send, type, p, len, rec, sizeof(rec));
	assert_true(n > 0);
	assert_true(buf_append(k == 0 ? &c->rout : &c->fwd[k], rec, n));
	assert_true(sealed_pump_out(c, NULL));
}

uint8_t *pattern(size_t n, uint32_t seed)
{
	uint8_t *p = malloc(n ? n : 1);
	assert_non_null(p);
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1664525u + 1013904223u;
		p[i] = (uint8_t)(seed >> 24);
	}
	return p;
}
