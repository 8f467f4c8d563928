/*
 * The relay role: a connection on a relay listener. It reads one first
 * flight, checks it, answers with its reply and then either extends the
 * chain to the next relay or, on an exit, connects to the destination
 * (protocol/SPEC.md, "What a relay does with a flight").
 *
 * Until the flight has proved that the peer knows this relay's public key,
 * nothing is ever written: every failure (garbage, a short flight, a replay,
 * a flight made for another key, a stale clock) is handled the same way:
 * keep reading and discarding, and close quietly at a deadline drawn when
 * the connection was accepted.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "listener.h"
#include "linkset.h"
#include "log.h"
#include "relay.h"
#include "replay.h"
#include "sealed.h"
#include "secret.h"
#include "server.h"
#include "util.h"

void relay_accepted(struct client *c)
{
	uint32_t r;
	double max = c->lc->relay->silent_close;

	c->h = &relay_handler;
	/*
	 * Every flight is at least this long on the wire (SPEC.md, "Padding"):
	 * opening it costs a DH, so wait for that much rather than try on every
	 * segment of it.
	 */
	c->u.relay.wait_len = relay_flight_len(0);
	hop_random(&r, sizeof(r));
	/* Uniform in [max/2, max]: the same for every kind of failure. */
	double deadline = max / 2 + (max / 2) * ((double)r / 4294967295.0);
	ev_timer_stop(c->srv->loop, &c->timer);
	ev_timer_set(&c->timer, deadline, 0.);
	ev_timer_start(c->srv->loop, &c->timer);
}

static void doom(struct client *c, const char *why)
{
	log_debug("relay %d: silent failure: %s", c->fd, why);
	c->u.relay.doomed = true;
	buf_free(&c->cin);
}

/*
 * A LINK flight was accepted on c's connection (SPEC.md, "Opening a link"):
 * the connection becomes a link carrying circuits, each of them a client
 * of its own (linkset.c), and c goes. Returns true with c closed.
 */
static bool become_link(struct client *c, struct sealed *s, const uint8_t *reply, size_t need)
{
	struct relay_state *rs = &c->u.relay;
	size_t left = buf_len(&c->cin) - need;
	bool ok = linkset_accept(c->srv, c, &s->relay, reply, buf_head(&c->cin) + need, left);
	free(rs->blob);
	rs->blob = NULL;
	hop_relay_wipe(&s->relay);
	sealed_free(s);
	if (!ok) {
		client_abort(c, "no link: out of memory");
		return true;
	}
	log_debug("relay %d: a link", c->fd);
	ev_io_stop(c->srv->loop, &c->io);
	c->fd = -1; /* the link has it now */
	buf_free(&c->cin);
	client_close(c, "became a link");
	return true;
}

static bool clock_ok(uint64_t ts, double now)
{
	double d = (double)ts - now;
	return d <= RELAY_CLOCK_WINDOW && d >= -RELAY_CLOCK_WINDOW;
}

/*
 * Checks the flight at the front of cin once it is all there. On success
 * c->cs speaks records and the reply is queued; returns false after doom().
 */
static bool take_flight(struct client *c, struct relay_hdr *h, uint8_t hdr[RELAY_HDR_LEN])
{
	struct relay_state *rs = &c->u.relay;
	const struct relay_conf *rc = c->lc->relay;
	struct sealed *s = sealed_new_relay();
	uint8_t reply[RELAY_REPLY_LEN], seed[32];

	if (!s)
		return doom(c, "out of memory"), false;
	log_debug("relay %d: opening a flight (%zu bytes in)", c->fd, buf_len(&c->cin));
	if (!hop_relay_open_head(rc->key, buf_head(&c->cin), &s->relay, hdr))
		goto bad;
	if (relay_hdr_parse(hdr, RELAY_HDR_LEN, h) != PROTO_DONE)
		goto bad;
	/* A link is opened on a connection, not inside another link. */
	if (h->cmd == RELAY_CMD_LINK && c->clc)
		goto bad;
	size_t need = RELAY_HEAD_LEN + h->blob_len + RELAY_TAG_LEN;
	if (buf_len(&c->cin) < need) {
		/*
		 * Early data makes it longer: wait for all of it, and open the head
		 * again then (at most twice per flight).
		 */
		rs->wait_len = need;
		hop_relay_wipe(&s->relay);
		sealed_free(s);
		return true;
	}
	if (!clock_ok(h->timestamp, ev_now(c->srv->loop)) || !replay_fresh(h->timestamp))
		goto bad;
	rs->blob = malloc(h->blob_len ? h->blob_len : 1);
	if (!rs->blob || !hop_relay_open_blob(&s->relay, buf_head(&c->cin) + RELAY_HEAD_LEN,
	                                      h->blob_len, rs->blob))
		goto bad;
	if (h->cmd == RELAY_CMD_LINK && !secret_is_zero(rs->blob, h->blob_len))
		goto bad;
	/* Only a genuine flight enters the set: garbage cannot fill it. */
	if (!replay_check_add(s->relay.e_pk, ev_now(c->srv->loop)))
		goto bad;

	hop_random(seed, sizeof(seed));
	enum record_suite suite = hop_suite_pick(h->suites, c->conf->record_aes);
	bool ok = hop_reply_seal(&s->relay, seed, suite, reply);
	log_debug("relay %d: records under %s", c->fd,
	          suite == RECORD_SUITE_AES ? "AES-256-GCM" : "ChaCha20-Poly1305");
	secret_wipe(seed, sizeof(seed));
	if (!ok)
		goto bad;
	if (h->cmd == RELAY_CMD_LINK)
		return become_link(c, s, reply, need);
	if (!buf_append(&s->rout, reply, sizeof(reply)))
		goto bad;

	/* What follows the flight: the skip padding, then records. */
	buf_consume(&c->cin, need);
	s->discard = h->skip;
	if (buf_len(&c->cin)) {
		buf_append(&s->rin, buf_head(&c->cin), buf_len(&c->cin));
		buf_free(&c->cin);
	}
	c->cs = s;
	if (c->clc) {
		/* On a link: the circuit's bytes are the records' from now on. */
		c->clc->rin = &s->rin;
		c->clc->rout = &s->rout;
	}
	s->reuse = h->cmd == RELAY_CMD_CONNECT && (h->flags & RELAY_FLAG_REUSE);
	rs->cmd = (uint8_t)h->cmd;
	if (h->cmd == RELAY_CMD_EXTEND) {
		rs->blob_len = h->blob_len;
		rs->pad_len = RELAY_LAYER_LEN + h->skip;
	} else {
		rs->blob_len = h->data_len;
	}
	return true;
bad:
	free(rs->blob);
	rs->blob = NULL;
	sealed_free(s);
	return doom(c, "flight refused"), false;
}

static void start_connect(struct client *c, const struct proto_addr *dst)
{
	/* A genuine flight: the lookup, if any, gets the usual handshake time. */
	ev_timer_stop(c->srv->loop, &c->timer);
	ev_timer_set(&c->timer, c->conf->handshake_timeout, 0.);
	ev_timer_start(c->srv->loop, &c->timer);
	client_connect(c, dst);
}

/* A reused circuit's next stream (SPEC.md, "Reused circuits"). */
static void take_begin(struct client *c)
{
	struct sealed *s = c->cs;
	s->begun = false;
	log_debug("relay %d: a new stream on a reused circuit", c->fd);
	c->u.relay.cmd = RELAY_CMD_CONNECT;
	c->u.relay.blob_len = 0;
	start_connect(c, &s->begin_dst); /* a name is copied into c->dst_name */
}

static void relay_input(struct client *c)
{
	struct relay_state *rs = &c->u.relay;
	struct relay_hdr h;
	uint8_t hdr[RELAY_HDR_LEN];

	if (!c->cs && c->c_eof) {
		/* The peer has given up (whatever it sent): nothing is left to read. */
		client_discard_input(c);
		client_close(c, "closed before a complete flight");
		return;
	}
	if (rs->doomed) {
		buf_free(&c->cin);
		return;
	}
	if (c->cs) {
		/* Records: the engine moves them; a BEGIN opens the next stream. */
		if (c->cs->begun && c->phase == PHASE_HANDSHAKE)
			take_begin(c);
		else if (c->c_eof && c->phase == PHASE_HANDSHAKE)
			client_close(c, "circuit closed"); /* between streams: nothing is lost */
		return;
	}
	if (c->phase != PHASE_HANDSHAKE)
		return;
	if (buf_len(&c->cin) < rs->wait_len)
		return;
	if (!take_flight(c, &h, hdr)) {
		if (c->clc) {
			/* Inside a link the client has proved it knows the key: a reset at once. */
			client_abort(c, "flight refused");
			return;
		}
		/*
		 * Stopping: a failed flight would hold the drain until its deadline
		 * for nothing; it goes as the failed ones did at SIGTERM.
		 */
		if (c->srv->draining) {
			client_discard_input(c); /* a quiet FIN, not a reset */
			client_close(c, "stopping");
		}
		return;
	}
	if (!c->cs)
		return;

	if (h.cmd == RELAY_CMD_CONNECT && !c->lc->relay->exit) {
		log_debug("relay %d: not an exit", c->fd);
		sealed_send_status(c->cs, RELAY_ST_NOT_ALLOWED);
		client_finish(c);
		return;
	}
	start_connect(c, &h.dst);
}

void relay_stream_done(struct client *c)
{
	/*
	 * A circuit accepted under a config that a reload has replaced takes no
	 * further stream: its next BEGIN would be judged by the old policy and
	 * rules, and it would keep the old config (and key) alive. The client
	 * builds a new circuit, judged by the running config. Quietly: a FIN
	 * after the stream's END, as between streams, not a reset over a BEGIN
	 * already sent.
	 */
	const char *why = c->srv->draining          ? "stream over, stopping"
	                  : c->conf != c->srv->conf ? "stream over, configuration reloaded"
	                                            : NULL;
	if (why) {
		client_discard_input(c);
		client_close(c, why);
		return;
	}
	log_debug("relay %d: stream over, the circuit stays", c->fd);
	sealed_next_stream(c->cs);
	client_stream_reset(c);
	client_update(c); /* a BEGIN may be waiting already */
}

const struct listen_conf *relay_listener_at(const struct conf *conf,
                                            const struct sockaddr_storage *addr)
{
	for (size_t i = 0; i < conf->nlisteners; i++)
		if (conf->listeners[i].relay && addr_equal(&conf->listeners[i].addr, addr))
			return &conf->listeners[i];
	return NULL;
}

/*
 * A circuit's next stream, and a flight still to come, are judged by the
 * running config, as a first flight accepted after the reload is (SPEC.md,
 * "Reused circuits": an exit answers a BEGIN as a first flight's CONNECT);
 * and a connection must not keep the replaced config, its key among it,
 * alive.
 */
void relay_reloaded(struct client *c, struct conf *conf)
{
	if (c->cs) {
		/*
		 * Between streams a kept circuit carries nothing: it goes now,
		 * quietly as at SIGTERM, and the client builds a new one for its
		 * next stream. One in a stream goes when the stream ends.
		 */
		if (c->cs->between) {
			client_discard_input(c); /* a quiet FIN, not a reset */
			client_close(c, "configuration reloaded");
		} else {
			/* A stream not yet connected meets the new policy. */
			client_dial_reloaded(c);
		}
		return;
	}
	/*
	 * No flight yet, typically a spare connection the previous relay opened
	 * ahead: its flight must meet the new config (policy, exit, key, allow),
	 * on the listener that now has this address. The deadline drawn at
	 * accept stays.
	 */
	const struct listen_conf *lc = relay_listener_at(conf, &c->lc->addr);
	if (!lc || !listener_allows(lc, (const struct sockaddr *)&c->peer)) {
		client_discard_input(c);
		client_close(c, "relay listener gone at reload");
		return;
	}
	conf_unref(c->conf);
	c->conf = conf_ref(conf);
	c->lc = lc;
}

static void relay_connected(struct client *c)
{
	struct relay_state *rs = &c->u.relay;

	if (rs->cmd == RELAY_CMD_EXTEND) {
		uint8_t pad[RELAY_MAX_HOPS * RELAY_LAYER_LEN];
		hop_random(pad, rs->pad_len);
		buf_append(&c->uout, rs->blob, rs->blob_len);
		buf_append(&c->uout, pad, rs->pad_len);
	} else {
		sealed_send_status(c->cs, RELAY_ST_OK);
		if (rs->blob)
			buf_append(&c->uout, rs->blob, rs->blob_len);
	}
	free(rs->blob);
	rs->blob = NULL;
	client_start_tunnel(c);
}

static int cerr_to_status(const struct client *c, enum client_error e)
{
	if (c->u.relay.cmd == RELAY_CMD_EXTEND)
		return RELAY_ST_RELAY_FAILED;
	switch (e) {
	case CERR_NOT_ALLOWED:
		return RELAY_ST_NOT_ALLOWED;
	case CERR_NET_UNREACH:
		return RELAY_ST_NET_UNREACH;
	case CERR_HOST_UNREACH:
		return RELAY_ST_HOST_UNREACH;
	case CERR_NOT_FOUND:
		return RELAY_ST_NOT_FOUND;
	case CERR_REFUSED:
		return RELAY_ST_REFUSED;
	case CERR_TIMEOUT:
		return RELAY_ST_TIMEOUT;
	case CERR_GENERAL:
		break;
	}
	return RELAY_ST_GENERAL;
}

static void relay_failed(struct client *c, enum client_error e)
{
	sealed_send_status(c->cs, cerr_to_status(c, e));
	client_finish(c);
}

static void relay_upstream_input(struct client *c)
{
	(void)c;
}

/* A connection whose flight failed: held only until its deadline. */
static bool relay_idle(const struct client *c)
{
	return c->u.relay.doomed;
}

const struct client_handler relay_handler = {
    .name = "relay",
    .input = relay_input,
    .connected = relay_connected,
    .failed = relay_failed,
    .upstream_input = relay_upstream_input,
    .idle = relay_idle,
};
