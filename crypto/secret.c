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

size_t secret_base64_encode(char *dst, size_t cap, const uint8_t *src, size_t len)
{
	size_t need = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);

	if (cap < need)
		return 0;
	sodium_bin2base64(dst, cap, src, len, sodium_base64_VARIANT_ORIGINAL);
	return need - 1;
}

bool secret_x25519_keypair(uint8_t pk[32], uint8_t sk[32])
{
	randombytes_buf(sk, 32);
	/* A clamped scalar never gives the identity; the API may still report an error. */
	if (crypto_scalarmult_base(pk, sk) != 0) {
		sodium_memzero(sk, 32);
		sodium_memzero(pk, 32);
		return false;
	}
	return true;
}

uint64_t secret_isolation_tag(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	static uint8_t key[crypto_generichash_KEYBYTES];
	static bool keyed;
	crypto_generichash_state st;
	uint8_t out[crypto_generichash_BYTES_MIN], len[2] = {(uint8_t)(alen >> 8), (uint8_t)alen};
	uint64_t tag = 0;

	if (!keyed) {
		randombytes_buf(key, sizeof(key));
		keyed = true;
	}
	/* The length first, so that (ab, c) and (a, bc) differ. */
	crypto_generichash_init(&st, key, sizeof(key), sizeof(out));
	crypto_generichash_update(&st, len, sizeof(len));
	crypto_generichash_update(&st, a, alen);
	crypto_generichash_update(&st, b, blen);
	crypto_generichash_final(&st, out, sizeof(out));
	for (int i = 0; i < 8; i++)
		tag = tag << 8 | out[i];
	sodium_memzero(out, sizeof(out));
	return tag;
}

bool secret_is_zero(const void *p, size_t len)
{
	return sodium_is_zero(p, len) == 1;
}
