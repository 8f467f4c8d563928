/*
 * Running a cmocka case once per record suite: ChaCha20-Poly1305, then
 * AES-256-GCM (a case skips itself where the CPU lacks AES-NI). A test file
 * includes it once, reads `suite` in its cases, and lists each case as
 * BOTH(case); its group setup is suites_setup, where libsodium learns the
 * CPU's features. Header-only, like guard.h.
 */
#ifndef NACRE_TEST_SUITES_H
#define NACRE_TEST_SUITES_H

#include "relay.h"
#include "secret.h"

/* The suite the running case uses; its setup sets it. */
static enum record_suite suite;

static int use_chacha(void **state)
{
	(void)state;
	suite = RECORD_SUITE_CHACHA;
	return 0;
}

static int use_aes(void **state)
{
	(void)state;
	suite = RECORD_SUITE_AES;
	return 0;
}

static int suites_setup(void **state)
{
	(void)state;
	return secret_init() ? 0 : -1;
}

/* clang-format cannot lay out braces in a macro. */
/* clang-format off */
#define SUITE_CASE(f, name, use) {#f " " name, f, use, NULL, NULL}
/* clang-format on */
#define BOTH(f) SUITE_CASE(f, "chacha20poly1305", use_chacha), SUITE_CASE(f, "aes256gcm", use_aes)

#endif
