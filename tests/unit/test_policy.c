/*
 * The exit policy (src/policy.c): one table of (policy, address, port,
 * verdict), each row its own test so a failure names the case.
 */
#include "config.h"

#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy.h"

#define NRULES_MAX 4

/* A policy written as text: rules "accept|reject DEST [LO-HI]", own addresses. */
struct policy_text {
	const char *rules[NRULES_MAX];
	const char *own[2];
	bool middle; /* named_only */
};

enum {
	P_NONE,        /* no rules: the built-in refusals only */
	P_ACCEPT_ANY,  /* accept * */
	P_ACCEPT_ZERO, /* accept 0.0.0.0/0, accept ::/0 */
	P_LOOPBACK,    /* the nacre.conf(5) example: accept 127.0.0.0/8, reject * */
	P_PORTS,       /* port ranges on one network */
	P_OWN_OPEN,    /* only the address itself opens the relay's own address */
	P_PRIVATE_443, /* an explicit private range, one port */
	P_NO_V6,       /* reject ::/0 */
	P_ULA,         /* accept fc00::/7 */
	P_MIDDLE,      /* a middle relay without rules */
	P_MIDDLE_NEXT, /* a middle relay naming its next relay */
	P_COVERING,    /* ranges that cover refused ones without lying inside them */
	P_COUNT
};

static const struct policy_text texts[P_COUNT] = {
    [P_NONE] = {{NULL}, {"203.0.113.5", "2001:db8::5"}},
    [P_ACCEPT_ANY] = {{"accept *"}, {"203.0.113.5", "2001:db8::5"}},
    [P_ACCEPT_ZERO] = {{"accept 0.0.0.0/0", "accept ::/0"}, {NULL}},
    [P_LOOPBACK] = {{"accept 127.0.0.0/8 1-65535", "reject *"}, {"127.0.0.1"}},
    [P_PORTS] = {{"reject 198.51.100.0/24 25-25", "accept 198.51.100.0/24 1-1024", "reject *"},
                 {NULL}},
    [P_OWN_OPEN] = {{"accept 203.0.113.0/24", "accept 2001:db8::5/128", "accept *"},
                    {"203.0.113.5", "2001:db8::5"}},
    [P_PRIVATE_443] = {{"accept 10.0.0.0/8 443-443", "accept *"}, {NULL}},
    [P_NO_V6] = {{"reject ::/0"}, {NULL}},
    [P_ULA] = {{"accept fc00::/7"}, {NULL}},
    [P_MIDDLE] = {{NULL}, {NULL}, true},
    [P_MIDDLE_NEXT] = {{"accept 198.51.100.7/32 9001-9001", "accept *"}, {NULL}, true},
    [P_COVERING] = {{"accept 0.0.0.0/1", "accept 172.0.0.0/8", "accept 2000::/3", "accept ::/8"},
                    {NULL}},
};

static struct policy policies[P_COUNT];

struct policy_case {
	const char *what;
	int policy;
	const char *addr;
	uint16_t port;
	bool allowed;
};

static const struct policy_case cases[] = {
    {"no rules: a public IPv4 address", P_NONE, "8.8.8.8", 443, true},
    {"no rules: loopback", P_NONE, "127.0.0.1", 80, false},
    {"no rules: loopback, not .1", P_NONE, "127.255.0.9", 80, false},
    {"no rules: 10/8", P_NONE, "10.1.2.3", 80, false},
    {"no rules: 172.16/12", P_NONE, "172.31.255.255", 80, false},
    {"no rules: just past 172.16/12", P_NONE, "172.32.0.1", 80, true},
    {"no rules: 192.168/16", P_NONE, "192.168.1.1", 80, false},
    {"no rules: link-local (cloud metadata)", P_NONE, "169.254.169.254", 80, false},
    {"no rules: CGNAT 100.64/10", P_NONE, "100.127.0.1", 80, false},
    {"no rules: just past 100.64/10", P_NONE, "100.128.0.1", 80, true},
    {"no rules: multicast", P_NONE, "239.255.255.250", 1900, false},
    {"no rules: 0.0.0.0 (the local host)", P_NONE, "0.0.0.0", 80, false},
    {"no rules: 0/8", P_NONE, "0.1.2.3", 80, false},
    {"no rules: broadcast", P_NONE, "255.255.255.255", 80, false},
    {"no rules: ::1", P_NONE, "::1", 80, false},
    {"no rules: ::", P_NONE, "::", 80, false},
    {"no rules: fe80::/10", P_NONE, "fe80::1", 80, false},
    {"no rules: ULA fd00::/8", P_NONE, "fd00::1", 80, false},
    {"no rules: ULA fc00::/8", P_NONE, "fc00::1", 80, false},
    {"no rules: IPv6 multicast", P_NONE, "ff02::1", 80, false},
    {"no rules: a public IPv6 address", P_NONE, "2001:4860:4860::8888", 443, true},
    {"no rules: mapped loopback", P_NONE, "::ffff:127.0.0.1", 80, false},
    {"no rules: mapped 10/8", P_NONE, "::ffff:10.0.0.1", 80, false},
    {"no rules: mapped public address", P_NONE, "::ffff:8.8.8.8", 80, true},
    {"no rules: NAT64 of 10/8 refused", P_NONE, "64:ff9b::10.0.0.1", 80, false},
    {"no rules: 6to4 refused", P_NONE, "2002:7f00:1::1", 80, false},
    {"no rules: IPv4-compatible loopback refused", P_NONE, "::127.0.0.1", 80, false},
    {"accept *: NAT64 stays refused", P_ACCEPT_ANY, "64:ff9b::8.8.8.8", 80, false},
    {"no rules: own IPv4 address", P_NONE, "203.0.113.5", 80, false},
    {"no rules: own IPv4 address, mapped", P_NONE, "::ffff:203.0.113.5", 80, false},
    {"no rules: own IPv6 address", P_NONE, "2001:db8::5", 80, false},
    {"no rules: next to the own address", P_NONE, "203.0.113.6", 80, true},
    {"accept *: public", P_ACCEPT_ANY, "8.8.8.8", 80, true},
    {"accept *: loopback stays refused", P_ACCEPT_ANY, "127.0.0.1", 80, false},
    {"accept *: 10/8 stays refused", P_ACCEPT_ANY, "10.0.0.1", 80, false},
    {"accept *: mapped 192.168/16 stays refused", P_ACCEPT_ANY, "::ffff:192.168.0.1", 80, false},
    {"accept *: link-local v6 stays refused", P_ACCEPT_ANY, "fe80::1", 80, false},
    {"accept *: own address stays refused", P_ACCEPT_ANY, "203.0.113.5", 80, false},
    {"accept *: own IPv6 address stays refused", P_ACCEPT_ANY, "2001:db8::5", 80, false},
    {"accept 0.0.0.0/0: loopback stays refused", P_ACCEPT_ZERO, "127.0.0.1", 80, false},
    {"accept ::/0: ::1 stays refused", P_ACCEPT_ZERO, "::1", 80, false},
    {"accept ::/0: ULA stays refused", P_ACCEPT_ZERO, "fd00::1", 80, false},
    {"accept 0.0.0.0/0: public", P_ACCEPT_ZERO, "1.1.1.1", 80, true},
    {"accept 127/8: 127.0.0.1 opened, an own address (lo's) too", P_LOOPBACK, "127.0.0.1", 22,
     true},
    {"accept 127/8: mapped loopback opened", P_LOOPBACK, "::ffff:127.0.0.1", 22, true},
    {"accept 127/8: ::1 is not in 127/8", P_LOOPBACK, "::1", 22, false},
    {"accept 127/8, reject *: public refused", P_LOOPBACK, "8.8.8.8", 80, false},
    {"accept 127/8, reject *: 10/8 refused", P_LOOPBACK, "10.0.0.1", 80, false},
    {"ports: reject :25 before accept 1-1024", P_PORTS, "198.51.100.7", 25, false},
    {"ports: 80 in 1-1024", P_PORTS, "198.51.100.7", 80, true},
    {"ports: 1 in 1-1024 (low end)", P_PORTS, "198.51.100.7", 1, true},
    {"ports: 1024 in 1-1024 (high end)", P_PORTS, "198.51.100.7", 1024, true},
    {"ports: 1025 past 1-1024", P_PORTS, "198.51.100.7", 1025, false},
    {"ports: 24 just below the rejected 25", P_PORTS, "198.51.100.7", 24, true},
    {"ports: another network hits reject *", P_PORTS, "198.51.101.1", 80, false},
    {"the own address's /24 does not open it", P_OWN_OPEN, "203.0.113.5", 80, false},
    {"... but opens its neighbours", P_OWN_OPEN, "203.0.113.6", 80, true},
    {"the own IPv6 address named as a /128: opened", P_OWN_OPEN, "2001:db8::5", 80, true},
    {"explicit range: other private ranges stay refused", P_OWN_OPEN, "192.168.1.1", 80, false},
    {"0.0.0.0/1 covers 127/8 but does not open it", P_COVERING, "127.0.0.1", 80, false},
    {"0.0.0.0/1 covers 10/8 but does not open it", P_COVERING, "10.0.0.1", 80, false},
    {"0.0.0.0/1: a public address in it is opened", P_COVERING, "8.8.8.8", 80, true},
    {"172.0.0.0/8 does not open 172.16/12", P_COVERING, "172.16.0.1", 80, false},
    {"172.0.0.0/8: a public address in it is opened", P_COVERING, "172.15.0.1", 80, true},
    {"2000::/3 does not open 6to4 (2002::/16)", P_COVERING, "2002:7f00:1::1", 80, false},
    {"2000::/3: a public IPv6 address is opened", P_COVERING, "2001:4860:4860::8888", 80, true},
    {"::/8 covers ::/96 and ::1, opens neither", P_COVERING, "::1", 80, false},
    {"accept 127/8 opens loopback, not ::1", P_LOOPBACK, "127.255.255.254", 80, true},
    {"explicit 10/8 on 443: opened", P_PRIVATE_443, "10.9.8.7", 443, true},
    {"explicit 10/8 on 443: port 80 falls to accept *", P_PRIVATE_443, "10.9.8.7", 80, false},
    {"reject ::/0: IPv6 refused", P_NO_V6, "2001:4860:4860::8888", 443, false},
    {"reject ::/0: mapped IPv4 is judged as IPv4", P_NO_V6, "::ffff:8.8.8.8", 443, true},
    {"reject ::/0: plain IPv4 unaffected", P_NO_V6, "8.8.8.8", 443, true},
    {"accept fc00::/7: ULA opened", P_ULA, "fd12:3456::1", 80, true},
    {"accept fc00::/7: ::1 stays refused", P_ULA, "::1", 80, false},
    {"middle, no rules: a public address refused", P_MIDDLE, "8.8.8.8", 443, false},
    {"middle, no rules: a public IPv6 address refused", P_MIDDLE, "2001:4860:4860::8888", 443,
     false},
    {"middle: the named next relay opened", P_MIDDLE_NEXT, "198.51.100.7", 9001, true},
    {"middle: the next relay's other ports fall to accept *", P_MIDDLE_NEXT, "198.51.100.7", 80,
     false},
    {"middle: accept * opens nothing", P_MIDDLE_NEXT, "8.8.8.8", 443, false},
};

static void parse_rule(const char *text, struct policy_rule *r)
{
	char verb[8], dest[64];
	unsigned lo = 0, hi = 65535;
	int n = sscanf(text, "%7s %63s %u-%u", verb, dest, &lo, &hi);

	assert_true(n == 2 || n == 4);
	memset(r, 0, sizeof(*r));
	r->accept = strcmp(verb, "accept") == 0;
	r->any_addr = strcmp(dest, "*") == 0;
	if (!r->any_addr)
		assert_true(cidr_parse(dest, &r->cidr));
	r->port_lo = (uint16_t)lo;
	r->port_hi = (uint16_t)hi;
}

static int setup_policies(void **state)
{
	(void)state;
	for (int i = 0; i < P_COUNT; i++) {
		struct policy *p = &policies[i];
		p->v = calloc(NRULES_MAX, sizeof(*p->v));
		p->own = calloc(2, sizeof(*p->own));
		assert_non_null(p->v);
		assert_non_null(p->own);
		for (; p->n < NRULES_MAX && texts[i].rules[p->n]; p->n++)
			parse_rule(texts[i].rules[p->n], &p->v[p->n]);
		for (; p->nown < 2 && texts[i].own[p->nown]; p->nown++)
			assert_true(cidr_parse(texts[i].own[p->nown], &p->own[p->nown]));
		p->named_only = texts[i].middle;
	}
	return 0;
}

static int teardown_policies(void **state)
{
	(void)state;
	for (int i = 0; i < P_COUNT; i++)
		policy_free(&policies[i]);
	return 0;
}

static void test_case(void **state)
{
	const struct policy_case *c = *state;
	uint8_t ip[16];
	int family = strchr(c->addr, ':') ? AF_INET6 : AF_INET;

	assert_int_equal(inet_pton(family, c->addr, ip), 1);
	if (policy_allows(&policies[c->policy], family, ip, c->port) != c->allowed)
		fail_msg("%s: %s port %u should be %s", c->what, c->addr, c->port,
		         c->allowed ? "allowed" : "refused");
}

static void test_other_family(void **state)
{
	(void)state;
	uint8_t ip[16] = {0};
	assert_false(policy_allows(&policies[P_ACCEPT_ANY], AF_UNIX, ip, 80));
}

int main(void)
{
	static struct CMUnitTest tests[sizeof(cases) / sizeof(cases[0]) + 1];
	size_t n = 0;

	for (; n < sizeof(cases) / sizeof(cases[0]); n++)
		tests[n] =
		    (struct CMUnitTest){cases[n].what, test_case, NULL, NULL, (void *)&cases[n]};
	tests[n] = (struct CMUnitTest)cmocka_unit_test(test_other_family);
	return cmocka_run_group_tests_name("exit policy", tests, setup_policies, teardown_policies);
}
