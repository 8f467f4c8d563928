#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "hop.h"
#include "log.h"
#include "relay.h"
#include "replay.h"

#define GEN_SECONDS (2.0 * RELAY_CLOCK_WINDOW)
#define SLOTS_MIN   1024
#define SLOTS_MAX   (1u << 20) /* 32 MiB per generation, about 2,000 new streams a second */

struct gen {
	uint8_t (*slot)[32]; /* all zero: empty (an all-zero key never passes the handshake) */
	size_t cap, used;
};

static struct {
	struct gen cur, prev;
	double since;
	uint8_t key[16];
	bool ready;
} rs;

static const uint8_t zero[32];

static size_t find(const struct gen *g, const uint8_t e[32], bool *found)
{
	size_t i = (size_t)hop_fingerprint(e, rs.key) & (g->cap - 1);
	for (;;) {
		if (memcmp(g->slot[i], e, 32) == 0) {
			*found = true;
			return i;
		}
		if (memcmp(g->slot[i], zero, 32) == 0) {
			*found = false;
			return i;
		}
		i = (i + 1) & (g->cap - 1);
	}
}

static bool contains(const struct gen *g, const uint8_t e[32])
{
	bool found = false;
	if (g->cap)
		find(g, e, &found);
	return found;
}

static bool grow(struct gen *g)
{
	size_t ncap = g->cap ? g->cap * 2 : SLOTS_MIN;
	if (ncap > SLOTS_MAX)
		return false;
	struct gen n = {calloc(ncap, 32), ncap, 0};
	if (!n.slot)
		return false;
	for (size_t i = 0; i < g->cap; i++) {
		if (memcmp(g->slot[i], zero, 32) == 0)
			continue;
		bool found;
		memcpy(n.slot[find(&n, g->slot[i], &found)], g->slot[i], 32);
		n.used++;
	}
	free(g->slot);
	*g = n;
	return true;
}

static uint64_t born; /* the first whole second after replay_start() */

void replay_start(double now)
{
	born = now > 0 ? (uint64_t)now + 1 : 0;
}

bool replay_fresh(uint64_t timestamp)
{
	return timestamp >= born;
}

bool replay_check_add(const uint8_t e_pk[32], double now)
{
	if (!rs.ready) {
		hop_random(rs.key, sizeof(rs.key));
		rs.since = now;
		rs.ready = true;
	}
	if (now - rs.since >= GEN_SECONDS) {
		free(rs.prev.slot);
		/* Two generations gone by: nothing in either is needed any more. */
		if (now - rs.since >= 2 * GEN_SECONDS) {
			free(rs.cur.slot);
			memset(&rs.cur, 0, sizeof(rs.cur));
		}
		rs.prev = rs.cur;
		memset(&rs.cur, 0, sizeof(rs.cur));
		rs.since = now;
	}
	if (contains(&rs.cur, e_pk) || contains(&rs.prev, e_pk))
		return false;
	if ((rs.cur.used + 1) * 2 > rs.cur.cap && !grow(&rs.cur)) {
		log_warnx("replay set full: refusing new relay streams for now");
		return false;
	}
	bool found;
	memcpy(rs.cur.slot[find(&rs.cur, e_pk, &found)], e_pk, 32);
	rs.cur.used++;
	return true;
}
