/* Small helpers shared by src/: socket addresses, descriptors and files the config names. */
#ifndef NACRE_UTIL_H
#define NACRE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))
#define ARRAY_LEN(a)                    (sizeof(a) / sizeof((a)[0]))

/* "ADDR:PORT" text: long enough for "[v6 address]:65535". */
#define ADDR_STR_MAX 64

/*
 * Parses a numeric "1.2.3.4:80" or "[::1]:80" into ss; false if it is not one.
 * No name is ever looked up here.
 */
bool addr_parse(const char *s, struct sockaddr_storage *ss, socklen_t *len);
/* Formats ss as "1.2.3.4:80" or "[::1]:80". */
const char *addr_format(const struct sockaddr *sa, char buf[ADDR_STR_MAX]);
socklen_t addr_len(const struct sockaddr *sa);
/* The same family, address and port (both parsed or zeroed, as every one here is). */
bool addr_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b);
uint16_t addr_port(const struct sockaddr *sa);
void addr_set_port(struct sockaddr *sa, uint16_t port);

bool fd_set_nonblock(int fd);
/* Makes the next close() of fd send a RST instead of a FIN. */
void fd_set_reset_on_close(int fd);

/*
 * Opens a file the config names (a key file, a users file) for reading and
 * fills *st: never waits for a FIFO's writer, and refuses anything but a
 * regular file, which a device or a pipe could keep feeding for ever. -1,
 * with "path: what" in err, if it cannot.
 */
int file_open_regular(const char *path, struct stat *st, char *err, size_t errlen);
/* Reads from fd until EOF or cap bytes: the count, or -1 with "path: what" in err. */
ssize_t file_read_upto(int fd, const char *path, void *buf, size_t cap, char *err, size_t errlen);
/*
 * All of fd, opened on path with *st its fstat: a regular file of at most
 * max bytes, refused if it grew while being read, or a pipe read to its
 * end, at most max bytes. Allocated and NUL-terminated, *len its length and
 * *size the allocation (for a caller that wipes it); NULL with "path: what"
 * in err, what was read wiped.
 */
char *file_read_all(int fd, const struct stat *st, const char *path, size_t max, size_t *len,
                    size_t *size, char *err, size_t errlen);

#endif
