/*
 * A link's frames (protocol/SPEC.md, "Frames"): every frame's header is
 * masked with the key stream of its number j, and a control frame's
 * messages are sealed under the link's control key with N(j) as nonce.
 *
 * A link's keys are the record keys its LINK handshake derives (hop.c), and
 * one struct record_dir per direction holds them: key is the control key,
 * mask the header key stream's key, seq the next frame's number j (data and
 * control frames alike) and suite the link's AEAD. Sans-I/O.
 */
#ifndef NACRE_FRAME_H
#define NACRE_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "link.h"
#include "record.h"

/*
 * A data frame's header, for len (1..LINK_BODY_MAX) bytes of circuit id
 * (not 0) that the caller puts after it: LINK_HDR_LEN, or 0 if out of range.
 * Counts the frame.
 */
size_t frame_seal_data(struct record_dir *d, uint32_t id, size_t len, uint8_t out[LINK_HDR_LEN]);

/*
 * A control frame at out carrying n bytes of whole messages (1 to
 * LINK_MSGS_MAX of them) from msgs, which may be out + LINK_HDR_LEN (sealed
 * in place) or must not overlap out: its length, or 0 if n is out of range
 * or cap too small. Counts the frame.
 */
size_t frame_seal_control(struct record_dir *d, const uint8_t *msgs, size_t n, uint8_t *out,
                          size_t cap);

/*
 * The frame at the start of in (len bytes). PROTO_NEED_MORE until it is all
 * there (in untouched; *h is filled once the whole header is in, so that a
 * caller can judge the id before the body comes). PROTO_DONE: *used bytes
 * were the frame, *h its
 * header, and (*body, *body_len) a view into in: a data frame's bytes as
 * they came, or a control frame's messages, opened in place. Counts the
 * frame. PROTO_ERR_MALFORMED: a header out of range or a control frame
 * that fails its tag; the link is dead.
 */
enum proto_status frame_open(struct record_dir *d, uint8_t *in, size_t len, size_t *used,
                             struct link_frame_hdr *h, const uint8_t **body, size_t *body_len);

#endif
