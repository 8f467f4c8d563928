/*
 * The plaintext parts of nacre's relay protocol (protocol/SPEC.md): the
 * fixed-size header each hop finds in its layer of the first flight, the
 * flight's size arithmetic, record types and status codes. Everything here
 * is sans-I/O; sealing and opening live in crypto/.
 */
#ifndef NACRE_RELAY_H
#define NACRE_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

#define RELAY_VERSION  1
#define RELAY_MAX_HOPS 8

/* Sizes on the wire (SPEC.md, "First flight"). */
#define RELAY_NONCE_LEN 24
#define RELAY_KEY_LEN   32
#define RELAY_TAG_LEN   16
#define RELAY_HDR_LEN   288 /* header plaintext */
/* nonce, masked ephemeral key, sealed header: what a relay reads before the blob. */
#define RELAY_HEAD_LEN (RELAY_NONCE_LEN + RELAY_KEY_LEN + RELAY_HDR_LEN + RELAY_TAG_LEN)
/* What one hop peels off a flight: its head and the blob's tag. */
#define RELAY_LAYER_LEN (RELAY_HEAD_LEN + RELAY_TAG_LEN)
#define RELAY_EARLY_MAX 16384 /* client data carried in the first flight */
#define RELAY_BLOB_MAX  (RELAY_MAX_HOPS * RELAY_LAYER_LEN + RELAY_EARLY_MAX)
#define RELAY_SKIP_MAX  ((RELAY_MAX_HOPS - 1) * RELAY_LAYER_LEN)
/* The relay's reply: its ephemeral key and the record suite it picked, sealed. */
#define RELAY_REPLY_LEN (RELAY_KEY_LEN + 1 + RELAY_TAG_LEN)

/* Records (SPEC.md, "Records"): 2 masked length bytes, body, tag. */
#define RECORD_HDR_LEN  2
#define RECORD_BODY_MAX 16384 /* type byte + payload */
#define RECORD_DATA_MAX (RECORD_BODY_MAX - 1)
#define RECORD_OVERHEAD (RECORD_HDR_LEN + 1 + RELAY_TAG_LEN)
#define RECORD_WIRE_MAX (RECORD_HDR_LEN + RECORD_BODY_MAX + RELAY_TAG_LEN)

/* Clock window for first flights, seconds either side of the relay's clock. */
#define RELAY_CLOCK_WINDOW 120

enum relay_cmd {
	RELAY_CMD_EXTEND = 1,  /* connect to the next relay and pass the blob on */
	RELAY_CMD_CONNECT = 2, /* exit: connect to the destination */
	RELAY_CMD_LINK = 3,    /* open a link that carries circuits (SPEC.md, "Links") */
};
/* A LINK flight's blob: zeros, so the flight is as long as any without early data. */
#define RELAY_LINK_BLOB_LEN ((RELAY_MAX_HOPS - 1) * RELAY_LAYER_LEN)

/* A hop's record AEAD (SPEC.md, "Record suites"). */
enum record_suite {
	RECORD_SUITE_CHACHA = 0, /* ChaCha20-Poly1305: every relay has it */
	RECORD_SUITE_AES = 1,    /* AES-256-GCM: both ends need AES instructions */
};
/* The header's suites byte: what a client offers besides ChaCha20-Poly1305. */
#define RELAY_OFFER_AES    0x01
#define RELAY_OFFERS_KNOWN RELAY_OFFER_AES
/*
 * The header's flags byte (CONNECT only): RELAY_FLAG_REUSE asks the exit to
 * keep the circuit after the stream, for further streams opened with BEGIN.
 */
#define RELAY_FLAG_REUSE 0x01

enum record_type {
	RECORD_DATA = 0,
	RECORD_END = 1,    /* this layer's stream is over (a FIN, authenticated) */
	RECORD_STATUS = 2, /* one byte: enum relay_status */
	RECORD_PAD = 3,    /* ignored */
	RECORD_BEGIN = 4,  /* exit's layer, reused circuit: a new stream to an address */
};

/* A BEGIN payload: port, address type, address length, address. */
#define RELAY_BEGIN_MAX (2 + 1 + 1 + PROTO_NAME_MAX)

/* What an exit (or a relay that cannot extend) reports back. */
enum relay_status {
	RELAY_ST_OK = 0,
	RELAY_ST_GENERAL = 1,
	RELAY_ST_NOT_ALLOWED = 2, /* the exit's policy refuses the destination */
	RELAY_ST_NET_UNREACH = 3,
	RELAY_ST_HOST_UNREACH = 4,
	RELAY_ST_REFUSED = 5,
	RELAY_ST_TIMEOUT = 6,
	RELAY_ST_NOT_FOUND = 7,    /* the name does not resolve */
	RELAY_ST_RELAY_FAILED = 8, /* a relay could not reach the next relay */
	RELAY_ST_STATUS_MAX = 8,
};

struct relay_hdr {
	enum relay_cmd cmd;
	uint64_t timestamp;    /* seconds since the epoch */
	uint32_t blob_len;     /* plaintext bytes of the blob that follows */
	uint32_t data_len;     /* CONNECT: early data at the blob's start; EXTEND: blob_len */
	uint16_t skip;         /* random bytes after the blob, to discard */
	uint8_t suites;        /* RELAY_OFFER_* bits: record suites offered */
	uint8_t flags;         /* RELAY_FLAG_* bits, CONNECT only */
	struct proto_addr dst; /* EXTEND: the next relay (an IP); CONNECT: the destination;
	                          LINK: none (all zero) */
};

/*
 * Parses a header plaintext of exactly RELAY_HDR_LEN bytes. Reserved bytes
 * and unknown suite bits must be zero and every length must be in range;
 * LINK's fields have their fixed values. dst.name is a view into p.
 */
enum proto_status relay_hdr_parse(const uint8_t *p, size_t len, struct relay_hdr *out);
/* Writes RELAY_HDR_LEN bytes; 0 if cap is too small or h is out of range. */
size_t relay_hdr_encode(uint8_t *dst, size_t cap, const struct relay_hdr *h);

/*
 * A BEGIN record's payload (SPEC.md, "Reused circuits"): parses exactly len
 * bytes into dst (dst->name is a view into p); the address rules are the
 * header's for CONNECT. encode writes it and returns its length, 0 if dst is
 * out of range or cap too small.
 */
enum proto_status relay_begin_parse(const uint8_t *p, size_t len, struct proto_addr *dst);
size_t relay_begin_encode(uint8_t *dst, size_t cap, const struct proto_addr *a);

/*
 * Flight sizes for a chain of n hops carrying early bytes of data: every link
 * carries the same number of bytes, whatever n is (SPEC.md, "Padding").
 */
size_t relay_flight_len(size_t early);
/* Blob plaintext length for hop k (1-based) of n. */
size_t relay_blob_len(unsigned k, unsigned n, size_t early);
/* Bytes hop k skips after its blob. */
size_t relay_skip_len(unsigned k);

#endif
