/*
 * A whole chain in memory, for test_relay_chain.c: the client's side from
 * src/sealed.c and src/circuit.c, and every relay simulated exactly as
 * SPEC.md "What a relay does with a flight" says (open the head, parse it,
 * open the blob, reply, pass the blob on with L + skip random bytes, drop
 * the skip that arrives). Links are byte pipes that move a pseudo-random
 * number of bytes at a time, only as far as the receiving buffer has room,
 * so records are re-chunked everywhere and backpressure crosses every hop.
 * A FIN is a flag on a link, sent as SPEC.md "Half-close" says. An
 * application writes in front of the client, a destination reads and
 * writes behind the exit. On a reused circuit (SPEC.md "Reused circuits")
 * the exit lets a stream go once END has crossed both ways, takes the next
 * BEGIN as relay.c does, and closes the circuit (a FIN back, no END) on a
 * FIN between streams or after a failing status; no other link sees a FIN.
 */
#ifndef NACRE_TEST_CHAIN_SIM_H
#define NACRE_TEST_CHAIN_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buffer.h"
#include "hop.h"
#include "relay.h"
#include "sealed.h"

#define L   RELAY_LAYER_LEN
#define NOW 1700000000
#define DST "example.com"
#define GET "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"

/* One relay: its side of the link from the previous node, and its onward side. */
struct node {
	struct relay_key key;
	struct sealed *s;
	bool head_ok, opened, failed;
	uint8_t hdr_raw[RELAY_HDR_LEN]; /* hdr.dst.name points in here */
	struct relay_hdr hdr;
	struct buf up;     /* plaintext for the next relay (or the destination) */
	struct buf down;   /* bytes from the next relay (or the destination) */
	bool fin_in;       /* FIN from the previous node */
	bool fin_up;       /* FIN sent onwards */
	bool fin_down;     /* FIN from the next node */
	bool fin_back;     /* FIN sent back to the previous node */
	bool no_next;      /* cannot reach the next relay: STATUS 8 */
	int exit_status;   /* what the exit reports; -1: it forgets to */
	size_t flight_out; /* bytes of flight sent onwards */
	/* A reused circuit's exit (SPEC.md "Reused circuits"). */
	bool idle;                   /* between streams: let go, waiting for a BEGIN */
	bool closed;                 /* the circuit is over: a FIN back once rout is out */
	bool hold_begin;             /* leaves a BEGIN waiting in s->begin for now */
	unsigned released, begins;   /* streams let go, BEGINs taken */
	struct proto_addr begin_dst; /* the last BEGIN's destination (a view into s->begin) */
};

/* Bytes moved on one direction of one link, and an optional bit to flip. */
struct wire {
	size_t moved;
	size_t flip_at; /* SIZE_MAX: none */
};

struct sim {
	unsigned n;
	size_t early_len;
	struct sealed *c;
	struct node r[RELAY_MAX_HOPS];
	struct wire fwd[RELAY_MAX_HOPS + 1], bwd[RELAY_MAX_HOPS + 1]; /* link k into r[k] */
	uint32_t rng;

	/* The application in front of the client, and the destination behind the exit. */
	const uint8_t *app_data;
	size_t app_len, app_sent;
	struct buf app_out, app_in;
	bool app_close, client_fin, client_fin_in;
	bool app_stalled; /* the application reads nothing for now */
	const uint8_t *dest_data;
	size_t dest_len, dest_sent;
	uint8_t *dest_got;
	size_t dest_got_len, dest_got_cap;
	uint8_t *client_got;
	size_t client_got_len, client_got_cap;
	bool dest_close, dest_fin_in, dest_stalled;
};

/* The destination every flight asks for: DST, port 443. */
extern const struct proto_addr sim_dst;
/* Two more for BEGIN: 198.51.100.7:80 and example.org:8080. */
extern const struct proto_addr sim_dst_v4, sim_dst_name;

/*
 * A chain of n relays (keys, seeds and nonces fixed), the client's flight
 * for DST:443 carrying early already on link 1. Relay k (0-based) listens
 * at 192.0.2.(k+1):(9001+k); the exit reports status 0 unless told.
 */
/*
 * Record suites for the next sim_new(): what the client offers every hop
 * (RELAY_OFFER_* bits, 0 by default), and which relays (bit k: hop k+1)
 * would take AES-256-GCM when it is offered (all by default).
 */
extern uint8_t sim_offer;
extern unsigned sim_relay_aes;

struct sim *sim_new(unsigned n, const uint8_t *early, size_t early_len);
/* The same with REUSE in the exit's header. */
struct sim *sim_new_reused(unsigned n, const uint8_t *early, size_t early_len);
void sim_free(struct sim *m);
/*
 * A new stream in the application and at the destination (nothing sent,
 * nothing closed yet), opened with the client's BEGIN for dst.
 */
bool sim_begin(struct sim *m, const struct proto_addr *dst);
/* The client seals one record in layer k (0-based) and wraps it in the layers before it. */
void sim_inject(struct sim *m, unsigned k, enum record_type type, const uint8_t *p, size_t len);
/* Moves and pumps until nothing moves and nothing changes. */
void run(struct sim *m);
/* Every relay opened its layer, saw its neighbour and (unless told not to) sent F bytes on. */
void assert_flights(struct sim *m);
/* The same destination (a name or an address, and the port). */
void assert_addr(const struct proto_addr *got, const struct proto_addr *want);
/* A reused circuit between streams: nothing broken, no FIN on any link, every middle open. */
void assert_between_streams(struct sim *m);
/* n pseudo-random bytes (malloc'd). */
uint8_t *pattern(size_t n, uint32_t seed);

#endif
