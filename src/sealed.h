/*
 * One side of a connection that speaks the relay record layer: a client's
 * link to the first relay of a chain (n layers, one per hop, peeled and added
 * here), or a relay's link towards the client (one layer: its own).
 *
 * The engine reads raw bytes into rin and writes rout; the pumps turn rin
 * into plaintext for the engine and the engine's plaintext into rout, each
 * only as far as the next buffer has room, so backpressure crosses every
 * layer. A FIN is an authenticated END record in every layer; a stream that
 * stops without one was cut, and the connection is reset.
 */
#ifndef NACRE_SEALED_H
#define NACRE_SEALED_H

#include <stdbool.h>
#include <stddef.h>

#include "buffer.h"
#include "hop.h"

struct sealed_layer {
	struct record_dir *send, *recv;
	struct hop_client *hc; /* client: its reply is still due while !hc->ready */
	bool in_end, out_end;  /* END opened / sealed */
};

struct sealed {
	unsigned n;
	bool client;
	uint8_t offer; /* client: RELAY_OFFER_* bits its flight offers every hop */
	struct sealed_layer l[RELAY_MAX_HOPS]; /* l[0] faces the wire */
	struct buf rin, rout;
	struct buf fwd[RELAY_MAX_HOPS]; /* client: layer k's records, for layer k-1 (k >= 1) */
	struct buf bwd[RELAY_MAX_HOPS]; /* client: layer k-1's plaintext, for layer k (k >= 1) */
	size_t discard;                 /* relay: padding still to drop from rin */
	bool want_end;                  /* the plaintext going out is over */
	bool reuse;                     /* the exit keeps the circuit after a stream (BEGIN) */
	bool want_close; /* client, reused circuit: END every layer, not just the exit's */
	bool between;    /* relay: between streams, only a BEGIN may come */
	bool begun;      /* relay: a BEGIN waits in begin[] */
	uint8_t begin[RELAY_BEGIN_MAX]; /* relay: its payload */
	size_t begin_len;
	struct proto_addr begin_dst; /* relay: begin[] parsed (a name points into it) */
	int status;                  /* the first STATUS received, or -1 */
	unsigned status_hop;         /* the hop (1-based) that sent it */
	bool broken;                 /* forged, cut or malformed: reset */
	bool link_eof;               /* its socket has said EOF: it is read no more */
	struct hop_client *hops;     /* client: n hops */
	struct hop_relay relay;      /* relay: its one hop */
};

/* A client side for n hops; hops[] is then filled by circuit.c. */
struct sealed *sealed_new_client(unsigned n);
/* A relay side; the caller fills s->relay (hop_relay_open_head, hop_reply_seal). */
struct sealed *sealed_new_relay(void);
void sealed_free(struct sealed *s);

/*
 * Moves what it can from rin into dst; false if the stream is broken. Once
 * link_eof is set, a stream that has not ended when no whole record is left
 * waiting (for room in dst, or for relay.c to take a BEGIN) was cut, and is
 * broken from then on.
 */
bool sealed_pump_in(struct sealed *s, struct buf *dst);
/*
 * The plaintext that fills one outermost record: what a reader of the
 * plaintext side should read at a time (whole units, so no record is short).
 */
size_t sealed_unit(const struct sealed *s);
/*
 * Plaintext can be sealed straight into rout now: every hop has replied, no
 * layer has ended, and no layer holds bytes of its own.
 */
bool sealed_straight(const struct sealed *s);
/*
 * The frame for reading plaintext straight into rout (buf_read_fd_framed):
 * each piece of sealed_unit() bytes lands where a record's (innermost)
 * payload goes and is sealed there, through every layer, with no copy.
 */
struct buf_frame sealed_frame(struct sealed *s);
/* Whether one more frame of sealed_frame() fits in rout now. */
bool sealed_frame_fits(const struct sealed *s);
/* Moves what it can from src into rout; false if the stream is broken. */
bool sealed_pump_out(struct sealed *s, struct buf *src);
/* Relay: queues a STATUS record (and, unless OK, an END). */
bool sealed_send_status(struct sealed *s, int status);
/*
 * Client, reused circuit: opens the next stream to dst with a BEGIN in the
 * exit's layer. Only once both directions of the last stream have ended.
 */
bool sealed_begin(struct sealed *s, const struct proto_addr *dst);
/*
 * The circuit itself is over: END in every layer that has not sent one,
 * sealed into rout now. false if the stream is broken (nothing to send).
 */
bool sealed_close(struct sealed *s);
/*
 * Relay, reused circuit: both directions of the stream have ended and
 * relay.c has let it go; the next record must be a BEGIN. false if the
 * stream is not over.
 */
bool sealed_next_stream(struct sealed *s);
/* The stream's END (the exit's layer) and all before it are on the wire. */
bool sealed_stream_flushed(const struct sealed *s);
/* A reused circuit between streams: both directions of the last one ended. */
bool sealed_idle(const struct sealed *s);

/* Every hop has replied (client), so data can be sealed. */
bool sealed_ready(const struct sealed *s);
/* The innermost stream coming in has ended with END: a clean EOF. */
static inline bool sealed_in_ended(const struct sealed *s)
{
	return s->l[s->n - 1].in_end;
}
/*
 * Nothing more comes in: the stream's END has been opened, or the link ended
 * between streams (a relay's kept circuit, closed by its client).
 */
static inline bool sealed_in_eof(const struct sealed *s)
{
	return sealed_in_ended(s) || (s->link_eof && s->between);
}
/* Every END has been sealed and written: the fd may be shut down. */
static inline bool sealed_out_flushed(const struct sealed *s)
{
	return s->l[0].out_end && buf_len(&s->rout) == 0;
}

#endif
