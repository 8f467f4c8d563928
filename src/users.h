/*
 * The credentials file: one "user:password" per line, '#' comments and blank
 * lines allowed. Passwords are compared in constant time and wiped on free.
 */
#ifndef NACRE_USERS_H
#define NACRE_USERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct users;

/* The largest users file read: 1 MiB, tens of thousands of entries. */
#define USERS_FILE_MAX (1 << 20)

/*
 * Loads path, which must be a regular file of at most USERS_FILE_MAX bytes;
 * on failure returns NULL and writes "path:line: what" to err. The file's
 * bytes are wiped once parsed.
 */
struct users *users_load(const char *path, char *err, size_t errlen);
/*
 * Parses len bytes of a users file (no NUL byte allowed), naming path in
 * errors, which never quote the file. NULL on failure, as users_load.
 */
struct users *users_parse(const char *text, size_t len, const char *path, char *err, size_t errlen);
void users_free(struct users *u);
/*
 * The matching entry's number (1-based, in file order), 0 if none matches.
 * Reused circuits are kept apart by it (pool.h).
 */
uint32_t users_check(const struct users *u, const uint8_t *user, size_t ulen, const uint8_t *pass,
                     size_t plen);

#endif
