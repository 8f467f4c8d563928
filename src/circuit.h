/*
 * The client side of a chain: draws the ephemeral keys for every hop and
 * builds the one first flight that opens a stream through all of them
 * (protocol/SPEC.md, "First flight" and "Padding").
 */
#ifndef NACRE_CIRCUIT_H
#define NACRE_CIRCUIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buffer.h"
#include "conf.h"
#include "proto.h"
#include "sealed.h"

/*
 * Fills s->hops for chain (offering every hop the suites in s->offer) and appends the flight that
 * asks its exit for dst, carrying early (at most RELAY_EARLY_MAX bytes), to out. now is the
 * timestamp the relays check. false if a key is unusable or out is full.
 */
bool circuit_build(struct sealed *s, const struct chain_conf *chain, const struct proto_addr *dst,
                   const uint8_t *early, size_t early_len, uint64_t now, struct buf *out);

/*
 * The same with every random value given (ephemeral seeds: 32 bytes per hop;
 * nonces: 24 bytes per hop), for the spec's test vectors.
 */
bool circuit_build_with(struct sealed *s, const uint8_t (*pks)[32],
                        const struct proto_addr *next_hops, unsigned n,
                        const struct proto_addr *dst, const uint8_t *early, size_t early_len,
                        uint64_t now, const uint8_t *seeds, const uint8_t *nonces, struct buf *out);

#endif
