/*
 * Places test input flush against an unmapped page, so a parser that reads
 * even one byte past the length it was given faults at once (the
 * picohttpparser technique). Header-only: each unit test includes it once.
 */
#ifndef NACRE_TEST_GUARD_H
#define NACRE_TEST_GUARD_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct guard {
	uint8_t *map;
	size_t map_len;
};

/* Returns a pointer to a copy of (p, len) whose last byte is followed by a
 * PROT_NONE page. len may be 0: the pointer then points at the guard page. */
static inline const uint8_t *guard_copy(struct guard *g, const void *p, size_t len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t data_pages = (len + page - 1) / page;

	g->map_len = (data_pages + 1) * page;
	g->map = mmap(NULL, g->map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g->map == MAP_FAILED)
		abort();
	if (mprotect(g->map + data_pages * page, page, PROT_NONE) != 0)
		abort();
	uint8_t *dst = g->map + data_pages * page - len;
	if (len)
		memcpy(dst, p, len);
	return dst;
}

static inline void guard_free(struct guard *g)
{
	munmap(g->map, g->map_len);
	g->map = NULL;
}

#endif
