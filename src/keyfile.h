/*
 * A relay's key file: one line, the standard base64 (padded) of its 32-byte
 * X25519 secret, and a newline. The file must be a regular file that neither
 * group nor others may read or write (mode 0600 or 0400): a secret that others
 * can read is not one, and refusing it at start-up is kinder than finding out
 * later.
 */
#ifndef NACRE_KEYFILE_H
#define NACRE_KEYFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct relay_key;

/*
 * Reads the key file at path into k (sk, pk and mask). false with
 * "PATH: what is wrong" in err; nothing of the secret is left behind either way
 * except in k.
 */
bool keyfile_load(const char *path, struct relay_key *k, char *err, size_t errlen);

/*
 * Creates the key file at path holding sk: mode 0600, never over an existing
 * file or through a symbolic link, written and synced before it returns true.
 * false with "PATH: what is wrong" in err, and no file left behind.
 */
bool keyfile_create(const char *path, const uint8_t sk[32], char *err, size_t errlen);

#endif
