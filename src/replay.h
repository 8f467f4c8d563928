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

/*
 * The set is in memory only: a relay that restarts has forgotten every flight
 * it took, and a flight recorded before the restart could be replayed while
 * its timestamp is still in the clock window. So the process calls
 * replay_start() before it listens, and replay_fresh() then refuses every
 * flight stamped before the next whole second (timestamps are whole seconds,
 * and a worker the master restarts may start in the second its predecessor
 * took flights in); the server waits for that second before it listens, so
 * its set knows every flight it accepts. (An honest client whose clock is
 * behind the relay's is refused for that long after a restart; one whose
 * clock was ahead leaves a replay window that long.)
 */
void replay_start(double now);
bool replay_fresh(uint64_t timestamp);

#endif
