#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "sealed.h"

struct sealed *sealed_new_client(unsigned n)
{
	if (n == 0 || n > RELAY_MAX_HOPS)
		return NULL;
	struct sealed *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->hops = calloc(n, sizeof(*s->hops));
	if (!s->hops) {
		free(s);
		return NULL;
	}
	s->n = n;
	s->client = true;
	s->status = -1;
	for (unsigned k = 0; k < n; k++) {
		s->l[k].hc = &s->hops[k];
		s->l[k].send = &s->hops[k].send;
		s->l[k].recv = &s->hops[k].recv;
	}
	return s;
}

struct sealed *sealed_new_relay(void)
{
	struct sealed *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->n = 1;
	s->status = -1;
	s->l[0].send = &s->relay.send;
	s->l[0].recv = &s->relay.recv;
	return s;
}

void sealed_free(struct sealed *s)
{
	if (!s)
		return;
	buf_free(&s->rin);
	buf_free(&s->rout);
	for (unsigned k = 0; k < RELAY_MAX_HOPS; k++) {
		buf_free(&s->fwd[k]);
		buf_free(&s->bwd[k]);
	}
	if (s->hops) {
		for (unsigned k = 0; k < s->n; k++)
			hop_client_wipe(&s->hops[k]);
		free(s->hops);
	}
	hop_relay_wipe(&s->relay);
	free(s);
}

bool sealed_ready(const struct sealed *s)
{
	if (!s->client)
		return true;
	for (unsigned k = 0; k < s->n; k++)
		if (!s->hops[k].ready)
			return false;
	return true;
}

static bool broken(struct sealed *s)
{
	s->broken = true;
	return false;
}

/* ---------------------------------------------------------------- in */

static bool take_status(struct sealed *s, unsigned k, const uint8_t *p, size_t n)
{
	if (n != 1 || p[0] > RELAY_ST_STATUS_MAX)
		return false;
	/* The exit speaks first with its status; a middle only to say it failed. */
	bool innermost = k == s->n - 1;
	if (!s->client || s->status >= 0 || (!innermost && p[0] == RELAY_ST_OK))
		return false;
	s->status = p[0];
	s->status_hop = k + 1;
	return true;
}

/* A relay's next stream: kept for relay.c, which connects. */
static bool take_begin(struct sealed *s, const uint8_t *p, size_t n)
{
	/* A record may hold up to RECORD_DATA_MAX bytes; a BEGIN never more than this. */
	if (n > sizeof(s->begin))
		return false;
	memcpy(s->begin, p, n);
	s->begin_len = n;
	if (relay_begin_parse(s->begin, n, &s->begin_dst) != PROTO_DONE)
		return false;
	s->begun = true;
	s->between = false;
	return true;
}

/* What one step of a layer came to. */
enum step {
	STEP_BROKEN, /* forged, malformed or out of place: the stream is dead */
	STEP_BYTES,  /* stuck until more bytes come in: none, or part of a record */
	STEP_WAIT,   /* a whole record is in, and waits: for room, or for relay.c */
	STEP_TAKEN,  /* a reply or a record was taken */
};

static enum step step_broken(struct sealed *s)
{
	broken(s);
	return STEP_BROKEN;
}

/* One step of layer k: a reply or one record. */
static enum step step_in(struct sealed *s, unsigned k, struct buf *in, struct buf *out)
{
	struct sealed_layer *l = &s->l[k];

	if (l->hc && !l->hc->ready) {
		if (buf_len(in) < RELAY_REPLY_LEN)
			return STEP_BYTES;
		if (!hop_reply_open(l->hc, buf_head(in)))
			return step_broken(s);
		buf_consume(in, RELAY_REPLY_LEN);
		return STEP_TAKEN;
	}
	if (buf_len(in) == 0)
		return STEP_BYTES;
	/*
	 * Nothing may follow END, except on a reused circuit once the exit has
	 * ended its side too: there a BEGIN opens the next stream, as soon as
	 * relay.c has let the last one go (sealed_next_stream()). Until relay.c
	 * has taken the BEGIN, what follows it waits.
	 */
	if (l->in_end)
		return s->client || !s->reuse || !l->out_end ? step_broken(s) : STEP_WAIT;
	if (s->begun)
		return STEP_WAIT;
	bool between = s->between;
	size_t used, plen;
	if (!buf_make_room(out, RECORD_DATA_MAX)) {
		/*
		 * No room for a full record: the next one may still fit (an END,
		 * with no payload, always does), so a stream ends as soon as the
		 * records before its END are opened. A whole record that does not
		 * fit waits; telling it from one not yet whole is what lets
		 * sealed_pump_in() judge the link's EOF.
		 */
		enum proto_status st = record_peek(l->recv, buf_head(in), buf_len(in), &plen);
		if (st == PROTO_NEED_MORE)
			return STEP_BYTES;
		if (st != PROTO_DONE)
			return step_broken(s);
		if (buf_room(out) < plen)
			return STEP_WAIT;
	}

	uint8_t type;
	const uint8_t *payload;
	enum proto_status st =
	    record_open(l->recv, buf_head_mut(in), buf_len(in), &used, &type, &payload, &plen);
	if (st == PROTO_NEED_MORE)
		return STEP_BYTES;
	if (st != PROTO_DONE)
		return step_broken(s);

	bool innermost = k == s->n - 1;
	bool ok = between == (type == RECORD_BEGIN);
	switch (ok ? type : RECORD_PAD) {
	case RECORD_DATA:
		/* Through a chain, the exit's status comes before any data. */
		if (s->client && innermost && s->status != RELAY_ST_OK)
			ok = false;
		else
			ok = buf_append(out, payload, plen);
		break;
	case RECORD_END:
		ok = plen == 0;
		l->in_end = true;
		break;
	case RECORD_STATUS:
		ok = take_status(s, k, payload, plen);
		break;
	case RECORD_BEGIN:
		ok = take_begin(s, payload, plen);
		break;
	case RECORD_PAD:
		break;
	default:
		ok = false;
	}
	buf_consume(in, used);
	if (!ok)
		return step_broken(s);
	return STEP_TAKEN;
}

bool sealed_pump_in(struct sealed *s, struct buf *dst)
{
	if (s->broken)
		return false;
	if (s->discard && buf_len(&s->rin)) {
		size_t d = buf_len(&s->rin) < s->discard ? buf_len(&s->rin) : s->discard;
		buf_consume(&s->rin, d);
		s->discard -= d;
	}
	if (s->discard)
		return s->link_eof ? broken(s) : true; /* cut inside the flight's padding */
	/*
	 * Each round the layers inside open all they can (into dst, or the next
	 * layer's buffer), and then the outermost layer opens more: through a
	 * chain one record, and only while no layer inside waits for room. So a
	 * layer's buffer holds a record or two, never a read's worth of them
	 * (which would take a bulk block at every layer behind a slow reader).
	 */
	bool progress, waiting;
	do {
		progress = waiting = false;
		for (unsigned i = 1; i <= s->n; i++) {
			unsigned k = i % s->n; /* 1 .. n-1, then 0 */
			if (k == 0 && waiting)
				break;
			struct buf *in = k == 0 ? &s->rin : &s->bwd[k];
			struct buf *out = k == s->n - 1 ? dst : &s->bwd[k + 1];
			enum step r;
			while ((r = step_in(s, k, in, out)) == STEP_TAKEN) {
				progress = true;
				if (k == 0 && s->n > 1)
					break;
			}
			if (r == STEP_BROKEN)
				return false;
			waiting |= r == STEP_WAIT;
		}
	} while (progress);
	/*
	 * After the link's EOF, how the stream ended is known only once every
	 * whole record that came before it has been opened: a slow reader on the
	 * other side can hold them, END included, well after the FIN was read.
	 * With none left waiting, a stream that has not ended was cut.
	 */
	if (s->link_eof && !waiting && !sealed_in_ended(s) && !s->between)
		return broken(s);
	return true;
}

/* ---------------------------------------------------------------- out */

static bool seal_into(struct sealed_layer *l, struct buf *out, enum record_type t, const uint8_t *p,
                      size_t n)
{
	uint8_t *dst = buf_reserve(out, n + RECORD_OVERHEAD);
	if (!dst)
		return false;
	buf_commit(out, record_seal(l->send, t, p, n, dst, n + RECORD_OVERHEAD));
	return true;
}

size_t sealed_unit(const struct sealed *s)
{
	return RECORD_DATA_MAX - (s->n - 1) * RECORD_OVERHEAD;
}

bool sealed_straight(const struct sealed *s)
{
	if (s->broken || !sealed_ready(s))
		return false;
	for (unsigned k = 0; k < s->n; k++)
		if (s->l[k].out_end || (k > 0 && buf_len(&s->fwd[k])))
			return false;
	return true;
}

/*
 * A piece of plaintext, already where the innermost payload goes (n layers'
 * headers into dst), becomes one record per layer, each sealed in place
 * around the one inside it. Returns the outermost record's length.
 */
static size_t seal_piece(void *arg, uint8_t *dst, size_t piece)
{
	struct sealed *s = arg;
	size_t at = s->n * (RECORD_HDR_LEN + 1), len = piece;
	size_t total = piece + s->n * RECORD_OVERHEAD;
	for (unsigned k = s->n; k-- > 0;) {
		at -= RECORD_HDR_LEN + 1;
		len = record_seal(s->l[k].send, RECORD_DATA, dst + at + RECORD_HDR_LEN + 1, len,
		                  dst + at, total - at);
	}
	return total;
}

struct buf_frame sealed_frame(struct sealed *s)
{
	return (struct buf_frame){.head = s->n * (RECORD_HDR_LEN + 1),
	                          .unit = sealed_unit(s),
	                          .tail = s->n * RELAY_TAG_LEN,
	                          .fill = seal_piece,
	                          .arg = s};
}

bool sealed_frame_fits(const struct sealed *s)
{
	/* A full frame: what seal_piece() makes of a full piece. */
	return buf_could_take(&s->rout, sealed_unit(s) + s->n * RECORD_OVERHEAD);
}

/*
 * Client through several hops: each piece of src is copied once, to where
 * the innermost payload goes in rout, and sealed there through every layer;
 * the general path below would copy it again for each layer.
 */
static void seal_nested(struct sealed *s, struct buf *src)
{
	if (!sealed_straight(s))
		return;
	while (buf_len(src) > 0) {
		size_t piece = buf_len(src) < sealed_unit(s) ? buf_len(src) : sealed_unit(s);
		uint8_t *dst = buf_reserve(&s->rout, piece + s->n * RECORD_OVERHEAD);
		if (!dst)
			return;
		memcpy(dst + s->n * (RECORD_HDR_LEN + 1), buf_head(src), piece);
		buf_commit(&s->rout, seal_piece(s, dst, piece));
		buf_consume(src, piece);
	}
}

bool sealed_pump_out(struct sealed *s, struct buf *src)
{
	if (s->broken)
		return false;
	if (!sealed_ready(s))
		return true;
	if (s->client && s->n > 1 && src)
		seal_nested(s, src);
	/*
	 * Innermost first, so each layer finds the records of the one inside
	 * it; round after round while any layer moves. A layer inside seals
	 * into its buffer only while that holds less than a full record, so
	 * behind a link that takes nothing the layers in between hold a record
	 * or two each, not a bulk block each.
	 */
	bool progress;
	do {
		progress = false;
		for (unsigned k = s->n; k-- > 0;) {
			struct sealed_layer *l = &s->l[k];
			struct buf *in = k == s->n - 1 ? src : &s->fwd[k + 1];
			struct buf *out = k == 0 ? &s->rout : &s->fwd[k];
			if (l->out_end)
				continue;
			while (in && buf_len(in) > 0 && (k == 0 || buf_len(out) < RECORD_WIRE_MAX)) {
				size_t n = buf_len(in) < RECORD_DATA_MAX ? buf_len(in) : RECORD_DATA_MAX;
				if (!seal_into(l, out, RECORD_DATA, buf_head(in), n))
					break;
				buf_consume(in, n);
				progress = true;
			}
			/* On a reused circuit a stream's END is the exit's alone. */
			bool inner_done = k == s->n - 1
			                      ? s->want_end
			                      : s->l[k + 1].out_end && (!s->reuse || s->want_close);
			if (inner_done && (!in || buf_len(in) == 0) &&
			    seal_into(l, out, RECORD_END, NULL, 0)) {
				l->out_end = true;
				progress = true;
			}
		}
	} while (progress && s->n > 1);
	return true;
}

bool sealed_send_status(struct sealed *s, int status)
{
	uint8_t code = (uint8_t)status;
	struct sealed_layer *l = &s->l[0];
	if (!seal_into(l, &s->rout, RECORD_STATUS, &code, 1))
		return false;
	if (status != RELAY_ST_OK) {
		if (!seal_into(l, &s->rout, RECORD_END, NULL, 0))
			return false;
		l->out_end = true;
	}
	return true;
}

bool sealed_idle(const struct sealed *s)
{
	const struct sealed_layer *l = &s->l[s->n - 1];
	if (!s->reuse || s->broken || s->want_close || !l->in_end || !l->out_end)
		return false;
	/* A relay before the exit that has ended its layer has closed the circuit. */
	for (unsigned k = 0; k + 1 < s->n; k++)
		if (s->l[k].in_end || s->l[k].out_end)
			return false;
	return true;
}

bool sealed_next_stream(struct sealed *s)
{
	struct sealed_layer *l = &s->l[0];
	if (s->client || !s->reuse || !l->in_end || !l->out_end)
		return false;
	l->in_end = l->out_end = false;
	s->want_end = false;
	s->between = true;
	return true;
}

bool sealed_stream_flushed(const struct sealed *s)
{
	if (!s->l[s->n - 1].out_end || buf_len(&s->rout))
		return false;
	for (unsigned k = 1; k < s->n; k++)
		if (buf_len(&s->fwd[k]))
			return false;
	return true;
}

bool sealed_begin(struct sealed *s, const struct proto_addr *dst)
{
	uint8_t p[RELAY_BEGIN_MAX];
	unsigned k = s->n - 1;
	struct sealed_layer *l = &s->l[k];
	size_t n = relay_begin_encode(p, sizeof(p), dst);
	if (!s->client || !sealed_idle(s) || n == 0 ||
	    !seal_into(l, k == 0 ? &s->rout : &s->fwd[k], RECORD_BEGIN, p, n))
		return false;
	l->in_end = l->out_end = false;
	s->want_end = false;
	s->status = -1;
	s->status_hop = 0;
	/* Sealed for the exit; now wrapped in every layer before it. */
	return sealed_pump_out(s, NULL);
}

bool sealed_close(struct sealed *s)
{
	/* An exit between streams has ended its side already: its FIN says the rest. */
	if (s->between)
		s->l[0].out_end = true;
	s->want_end = true;
	s->want_close = true;
	return sealed_pump_out(s, NULL);
}
