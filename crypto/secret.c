#include "config.h"

#include <sodium.h>

#include "secret.h"

bool secret_init(void)
{
	return sodium_init() >= 0;
}

bool secret_equal(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	if (alen != blen) {
		/* Spend the same time as a comparison would; only lengths leak. */
		volatile int sink = sodium_memcmp(a, a, alen);
		(void)sink;
		return false;
	}
	return sodium_memcmp(a, b, alen) == 0;
}

void secret_wipe(void *p, size_t len)
{
	sodium_memzero(p, len);
}

long secret_base64_decode(uint8_t *dst, size_t cap, const char *src, size_t srclen)
{
	size_t out = 0;
	const char *end = NULL;

	if (sodium_base642bin(dst, cap, src, srclen, NULL, &out, &end,
	                      sodium_base64_VARIANT_ORIGINAL) != 0)
		return -1;
	if (end != src + srclen)
		return -1;
	return (long)out;
}
