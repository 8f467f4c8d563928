/* Address ranges ("10.0.0.0/8", "::1/128", "127.0.0.1") and matching against them. */
#ifndef NACRE_CIDR_H
#define NACRE_CIDR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

struct cidr {
	int family; /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	unsigned prefix;
};

/*
 * Parses an address with an optional "/prefix"; host bits must be zero
 * ("10.0.0.1/8" is refused, as it most likely hides a typo).
 */
bool cidr_parse(const char *s, struct cidr *out);
/* family is AF_INET (4 bytes at ip) or AF_INET6 (16 bytes); IPv4-mapped IPv6
 * addresses match IPv4 ranges. */
bool cidr_match_ip(const struct cidr *c, int family, const uint8_t *ip);
bool cidr_match(const struct cidr *c, const struct sockaddr *sa);

#endif
