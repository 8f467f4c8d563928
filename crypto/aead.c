#include "config.h"

#include <sodium.h>

#include "aead.h"

void aead_nonce(uint8_t nonce[12], uint64_t i)
{
	for (int k = 0; k < 8; k++)
		nonce[k] = (uint8_t)(i >> (8 * k));
	nonce[8] = nonce[9] = nonce[10] = nonce[11] = 0;
}

void aead_seal(enum record_suite suite, const uint8_t key[32], uint8_t *c, uint8_t *tag,
               const uint8_t *m, size_t n, const uint8_t *ad, size_t ad_len,
               const uint8_t nonce[12])
{
	if (suite == RECORD_SUITE_AES)
		crypto_aead_aes256gcm_encrypt_detached(c, tag, NULL, m, n, ad, ad_len, NULL, nonce,
		                                       key);
	else
		crypto_aead_chacha20poly1305_ietf_encrypt_detached(c, tag, NULL, m, n, ad, ad_len,
		                                                   NULL, nonce, key);
}

bool aead_open(enum record_suite suite, const uint8_t key[32], uint8_t *m, const uint8_t *c,
               size_t n, const uint8_t *tag, const uint8_t *ad, size_t ad_len,
               const uint8_t nonce[12])
{
	if (suite == RECORD_SUITE_AES)
		return crypto_aead_aes256gcm_decrypt_detached(m, NULL, c, n, tag, ad, ad_len, nonce,
		                                              key) == 0;
	return crypto_aead_chacha20poly1305_ietf_decrypt_detached(m, NULL, c, n, tag, ad, ad_len,
	                                                          nonce, key) == 0;
}

void aead_mask(const uint8_t key[32], const uint8_t nonce[12], uint8_t *out, size_t n)
{
	crypto_stream_chacha20_ietf(out, n, nonce, key);
}
