/*
 * A relay's exit policy: may it open a connection to this address and port?
 * It applies to every connection a relay makes, to the next relay of a
 * circuit as much as to a final destination.
 *
 * The answer for (address, port):
 *   1. An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is judged as a.b.c.d.
 *   2. The rules are tried in order; the first whose address range and port
 *      range both match decides. A rule without a port matches every port.
 *   3. Some addresses are refused unless a rule names them: loopback
 *      (127.0.0.0/8, ::1), private (10/8, 172.16/12, 192.168/16), link-local
 *      (169.254/16, fe80::/10), shared (100.64/10), multicast (224/4,
 *      ff00::/8), unspecified (0.0.0.0/8, ::), unique local (fc00::/7),
 *      prefixes embedding IPv4 (64:ff9b::/96, 64:ff9b:1::/48, 2002::/16, ::/96), the
 *      broadcast address, and the relay's own addresses (own). For those an
 *      "accept" opens them only if its range lies inside the refused one:
 *      "127.0.0.0/8" or "127.0.0.1/32" opens 127.0.0.1, but "*", 0.0.0.0/0
 *      and a range that merely covers it (0.0.0.0/1) do not, so a broad
 *      "accept" cannot open the relay's own network to the world by
 *      accident. Where refused ranges nest, the narrowest counts (::1/128
 *      inside ::/96), and an own address outside them opens only to a rule
 *      that names it alone (a /32 or /128).
 *   4. A matching "reject" refuses.
 *   5. If no rule matches, the built-in refusals of 3 apply and everything
 *      else is accepted.
 * A middle relay (named_only) treats every address as in 3: it extends only
 * to the relays its rules name. Otherwise anyone holding its public key could
 * use it as an exit to any public address: the blob it writes to the next
 * hop is the client's to choose.
 */
#ifndef NACRE_POLICY_H
#define NACRE_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "conf.h"

/* family is AF_INET (4 bytes at ip) or AF_INET6 (16 bytes); port in host order. */
bool policy_allows(const struct policy *p, int family, const uint8_t *ip, uint16_t port);

/* Whether an "accept" names a range: one that opens what a middle relay may reach. */
bool policy_names_any(const struct policy *p);

/* Frees the rules and the own addresses; p may be NULL. */
void policy_free(struct policy *p);

#endif
