/*
 * Links (protocol/SPEC.md, "Links"): many circuits between two nodes in one
 * TCP connection. The plaintext parts live here: frame headers (unmasked
 * with a key stream the caller brings from crypto/link.c), control
 * messages, and the rules on circuit ids and credit that both ends keep.
 * Sans-I/O: no keys, no sockets, no allocation.
 */
#ifndef NACRE_LINK_H
#define NACRE_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"
#include "relay.h"

#define LINK_HDR_LEN  6               /* circuit id (4), length (2), masked */
#define LINK_BODY_MAX RECORD_WIRE_MAX /* one full record */
#define LINK_WIRE_MAX (LINK_HDR_LEN + LINK_BODY_MAX)
#define LINK_MSG_LEN  9 /* kind (1), circuit id (4), value (4) */
/* Messages one control frame holds at most: its body is messages and a tag. */
#define LINK_MSGS_MAX ((LINK_BODY_MAX - RELAY_TAG_LEN) / LINK_MSG_LEN)
/* What a sender may send on a new circuit, each way, before any CREDIT. */
#define LINK_WINDOW 65536u
/* What a sender may ever have left to send on one circuit. */
#define LINK_ALLOW_MAX  (1u << 30)
#define LINK_BLOB_LEN   RELAY_LINK_BLOB_LEN
#define LINK_ID_CONTROL 0u

enum link_msg_kind {
	LINK_MSG_PAD = 0,
	LINK_MSG_CREDIT = 1,  /* value more bytes of the circuit's data are welcome */
	LINK_MSG_FIN = 2,     /* the sender's stream on the circuit is over */
	LINK_MSG_RESET = 3,   /* the circuit is over both ways */
	LINK_MSG_BLOCKED = 4, /* the sender has bytes for the circuit and no credit left */
};

struct link_msg {
	enum link_msg_kind kind;
	uint32_t id;
	uint32_t value;
};

struct link_frame_hdr {
	uint32_t id; /* LINK_ID_CONTROL, or a circuit */
	size_t len;  /* body bytes after the header */
};

/*
 * Unmasks the LINK_HDR_LEN bytes at in with mask (the frame's key stream)
 * and checks them: PROTO_DONE, or PROTO_ERR_MALFORMED for a length of 0 or
 * over LINK_BODY_MAX, or a control frame whose length is not a tag and a
 * whole number (at least one) of messages.
 */
enum proto_status link_hdr_parse(const uint8_t in[LINK_HDR_LEN], const uint8_t mask[LINK_HDR_LEN],
                                 struct link_frame_hdr *out);
/* Writes a masked header: LINK_HDR_LEN, or 0 if h breaks the rules above. */
size_t link_hdr_encode(uint8_t out[LINK_HDR_LEN], const uint8_t mask[LINK_HDR_LEN],
                       const struct link_frame_hdr *h);

/*
 * Parses the message at p (a control frame's plaintext, len bytes left):
 * PROTO_DONE with *used = LINK_MSG_LEN, PROTO_NEED_MORE for a piece of one,
 * PROTO_ERR_MALFORMED for an unknown kind, a non-zero field that must be
 * zero, or id 0 on anything but PAD.
 */
enum proto_status link_msg_parse(const uint8_t *p, size_t len, size_t *used, struct link_msg *out);
/* Writes one message: LINK_MSG_LEN, or 0 if cap is too small or m breaks the rules. */
size_t link_msg_encode(uint8_t *dst, size_t cap, const struct link_msg *m);

/*
 * Circuit ids as one end of a link sees them: the link's client opens them
 * in order, 1, 2, ..., and never uses one twice.
 */
enum link_id_class {
	LINK_ID_OPENED, /* opened before: live, or closed and to be ignored */
	LINK_ID_NEXT,   /* a data frame with it opens a circuit */
	LINK_ID_BAD,    /* never opened and not next: the link fails */
};
/* last: the highest id opened so far (0 before the first). */
enum link_id_class link_id_classify(uint32_t last, uint32_t id);

/*
 * Flow control, one direction of one circuit: *allow is what the sender may
 * still send. link_allow_take() counts n bytes sent (false, nothing
 * counted, if that is more than allowed: a link failure at a receiver);
 * link_allow_credit() adds a CREDIT (false, nothing added, if that would
 * pass LINK_ALLOW_MAX).
 */
bool link_allow_take(uint32_t *allow, size_t n);
bool link_allow_credit(uint32_t *allow, uint32_t n);

/* The LINK flight's header (SPEC.md, "Opening a link"), offering suites. */
struct relay_hdr link_flight_hdr(uint64_t timestamp, uint8_t suites);

#endif
