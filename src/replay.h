/*
 * The relay's memory of first flights (protocol/SPEC.md, "What a relay does
 * with a flight"): every ephemeral key accepted is kept for at least two
 * clock windows, so a flight replayed while its timestamp is still accepted
 * is always caught. Two generations of a hash set, swapped every 240 s.
 */
#ifndef NACRE_REPLAY_H
#define NACRE_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

/*
 * true if e_pk was not seen before (it is remembered from now on); false
 * for a replay, or when the set is full (refusing is the safe answer).
 */
bool replay_check_add(const uint8_t e_pk[32], double now);

#endif
