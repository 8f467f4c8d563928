/* Small helpers shared by src/: socket addresses and descriptors. */
#ifndef NACRE_UTIL_H
#define NACRE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

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
uint16_t addr_port(const struct sockaddr *sa);
void addr_set_port(struct sockaddr *sa, uint16_t port);

bool fd_set_nonblock(int fd);
/* Makes the next close() of fd send a RST instead of a FIN. */
void fd_set_reset_on_close(int fd);

#endif
