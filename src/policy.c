#include "config.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

/*
 * Addresses that reach the relay's own host or network, or nothing sensible:
 * a relay that connected to them would hand its network to every client.
 */
static const struct cidr builtin_refused[] = {
    {AF_INET, {127}, 8},                 /* loopback */
    {AF_INET, {10}, 8},                  /* private */
    {AF_INET, {172, 16}, 12},            /* private */
    {AF_INET, {192, 168}, 16},           /* private */
    {AF_INET, {169, 254}, 16},           /* link-local */
    {AF_INET, {100, 64}, 10},            /* shared address space (CGNAT) */
    {AF_INET, {224}, 4},                 /* multicast */
    {AF_INET, {0}, 8},                   /* "this network": 0.0.0.0 is the local host */
    {AF_INET, {255, 255, 255, 255}, 32}, /* broadcast */
    {AF_INET6, {0}, 128},                /* unspecified: the local host */
    {AF_INET6, {[15] = 1}, 128},         /* loopback */
    {AF_INET6, {0xfe, 0x80}, 10},        /* link-local */
    {AF_INET6, {0xfc}, 7},               /* unique local */
    {AF_INET6, {0xff}, 8},               /* multicast */
    /* Prefixes that carry an IPv4 address inside (NAT64, 6to4, IPv4-compatible):
     * through a translator they could reach any of the ranges above. */
    {AF_INET6, {0, 0x64, 0xff, 0x9b}, 96},       /* NAT64 well-known prefix */
    {AF_INET6, {0, 0x64, 0xff, 0x9b, 0, 1}, 48}, /* NAT64 local use */
    {AF_INET6, {0x20, 0x02}, 16},                /* 6to4 */
    {AF_INET6, {0}, 96},                         /* IPv4-compatible (deprecated) */
};

static bool rule_matches(const struct policy_rule *r, int family, const uint8_t *ip, uint16_t port)
{
	if (port < r->port_lo || port > r->port_hi)
		return false;
	return r->any_addr || cidr_match_ip(&r->cidr, family, ip);
}

/* "*", 0.0.0.0/0 and ::/0 say "the Internet", not "this network too". */
static bool rule_is_broad(const struct policy_rule *r)
{
	return r->any_addr || r->cidr.prefix == 0;
}

/* The prefix of the narrowest range in v that holds ip; 0 if none does. */
static unsigned narrowest(const struct cidr *v, size_t n, int family, const uint8_t *ip)
{
	unsigned prefix = 0;
	for (size_t i = 0; i < n; i++)
		if (v[i].prefix > prefix && cidr_match_ip(&v[i], family, ip))
			prefix = v[i].prefix;
	return prefix;
}

/*
 * The least prefix an "accept" that matches ip needs to open it: 0 for an
 * ordinary address; for one in a refused range, the narrowest such range,
 * so that the rule lies inside it (names it) rather than covering it along
 * with the rest of the Internet; for an own address outside those ranges,
 * the address alone (a relay's public address reaches what trusts the host
 * itself); at least 1 on a middle relay, where only named ranges open
 * anything. An own address inside a refused range (127.0.0.1, a LAN
 * address) goes with that range: "accept 127.0.0.0/8" means loopback, all
 * of it.
 */
static unsigned prefix_needed(const struct policy *p, int family, const uint8_t *ip)
{
	unsigned need = narrowest(builtin_refused,
	                          sizeof(builtin_refused) / sizeof(builtin_refused[0]), family, ip);
	if (need == 0)
		need = narrowest(p->own, p->nown, family, ip);
	if (p->named_only && need == 0)
		need = 1;
	return need;
}

bool policy_allows(const struct policy *p, int family, const uint8_t *ip, uint16_t port)
{
	static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	if (family == AF_INET6 && memcmp(ip, v4mapped, sizeof(v4mapped)) == 0) {
		family = AF_INET;
		ip += 12;
	}
	if (family != AF_INET && family != AF_INET6)
		return false;
	unsigned need = prefix_needed(p, family, ip);
	for (size_t i = 0; i < p->n; i++) {
		const struct policy_rule *r = &p->v[i];
		if (!rule_matches(r, family, ip, port))
			continue;
		if (!r->accept)
			return false;
		return (rule_is_broad(r) ? 0 : r->cidr.prefix) >= need;
	}
	return need == 0;
}

bool policy_names_any(const struct policy *p)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->v[i].accept && !rule_is_broad(&p->v[i]))
			return true;
	return false;
}

void policy_free(struct policy *p)
{
	if (!p)
		return;
	free(p->v);
	free(p->own);
	p->v = NULL;
	p->own = NULL;
	p->n = p->nown = 0;
}
