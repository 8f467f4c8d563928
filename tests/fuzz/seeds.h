/*
 * For the seed writers that some fuzz targets carry under FUZZ_WRITE_SEEDS
 * (a developer tool, never part of a build): writes one seed file. The
 * target's file includes it with its own path (#include "seeds.h"), so the
 * remake commands in its comment need no extra -I.
 */
#ifndef NACRE_FUZZ_SEEDS_H
#define NACRE_FUZZ_SEEDS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Writes n bytes at p to dir/name; abort()s if it cannot. */
static void seed_write(const char *dir, const char *name, const uint8_t *p, size_t n)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0)
		abort();
}

#endif
