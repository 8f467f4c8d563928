/* Address ranges and destination rules (src/cidr.c, src/rules.c). */
#include "config.h"

#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cidr.h"
#include "rules.h"

static bool match4(const char *range, const char *ip)
{
	struct cidr c;
	uint8_t a[4];
	assert_true(cidr_parse(range, &c));
	assert_int_equal(inet_pton(AF_INET, ip, a), 1);
	return cidr_match_ip(&c, AF_INET, a);
}

static bool match6(const char *range, const char *ip)
{
	struct cidr c;
	uint8_t a[16];
	assert_true(cidr_parse(range, &c));
	assert_int_equal(inet_pton(AF_INET6, ip, a), 1);
	return cidr_match_ip(&c, AF_INET6, a);
}

static void test_cidr_parse(void **state)
{
	(void)state;
	struct cidr c;
	static const char *const good[] = {"10.0.0.0/8",     "127.0.0.1",    "0.0.0.0/0",
	                                   "::1/128",        "fe80::/10",    "::/0",
	                                   "192.168.1.0/24", "100.64.0.0/10"};
	static const char *const bad[] = {
	    "10.0.0.1/8",  "10.0.0.0/33",   "::1/129",      "10.0.0.0/",
	    "/8",          "10.0.0.0/-1",   "host.example", "",
	    "10.0.0.0/8x", "10.0.0.0/0008", "1.2.3.4.5"};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(cidr_parse(good[i], &c));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(cidr_parse(bad[i], &c));
}

static void test_cidr_match(void **state)
{
	(void)state;
	assert_true(match4("10.0.0.0/8", "10.255.1.2"));
	assert_false(match4("10.0.0.0/8", "11.0.0.1"));
	assert_true(match4("100.64.0.0/10", "100.127.255.255"));
	assert_false(match4("100.64.0.0/10", "100.128.0.0"));
	assert_true(match4("0.0.0.0/0", "203.0.113.9"));
	assert_true(match4("127.0.0.1", "127.0.0.1"));
	assert_false(match4("127.0.0.1", "127.0.0.2"));
	assert_true(match6("fe80::/10", "febf::1"));
	assert_false(match6("fe80::/10", "fec0::1"));
	assert_true(match6("::1/128", "::1"));
	/* An IPv4-mapped IPv6 address is its IPv4 address. */
	assert_true(match6("127.0.0.0/8", "::ffff:127.0.0.5"));
	assert_false(match6("10.0.0.0/8", "::ffff:127.0.0.5"));
	/* Families never match each other otherwise. */
	assert_false(match6("0.0.0.0/0", "2001:db8::1"));
}

static struct ruleset make_rules(void)
{
	static struct rule v[4];
	struct ruleset rs = {.v = v, .n = 4};
	memset(v, 0, sizeof(v));
	assert_true(rule_parse_dest(".blocked.test", &v[0]));
	v[0].action = RULE_BLOCK;
	assert_true(rule_parse_dest("exact.test", &v[1]));
	v[1].action = RULE_BLOCK;
	v[2].kind = RULE_ANY;
	v[2].port = 25;
	v[2].action = RULE_BLOCK;
	assert_true(rule_parse_dest("10.0.0.0/8", &v[3]));
	v[3].action = RULE_BLOCK;
	return rs;
}

static void test_rules_names(void **state)
{
	(void)state;
	struct ruleset rs = make_rules();
	assert_int_equal(rules_match_name(&rs, "blocked.test", 12, 80), RULE_BLOCK);
	assert_int_equal(rules_match_name(&rs, "a.b.BLOCKED.test", 16, 80), RULE_BLOCK);
	assert_int_equal(rules_match_name(&rs, "blocked.test.", 13, 80), RULE_BLOCK);
	assert_int_equal(rules_match_name(&rs, "notblocked.test", 15, 80), RULE_DIRECT);
	assert_int_equal(rules_match_name(&rs, "exact.test", 10, 80), RULE_BLOCK);
	assert_int_equal(rules_match_name(&rs, "sub.exact.test", 14, 80), RULE_DIRECT);
	assert_int_equal(rules_match_name(&rs, "mail.example", 12, 25), RULE_BLOCK);
	/* Address rules are never applied to a name (that would need a lookup). */
	assert_int_equal(rules_match_name(&rs, "10.in.name", 10, 80), RULE_DIRECT);
	for (size_t i = 0; i < rs.n; i++)
		free(rs.v[i].name);
}

static void test_rules_addresses(void **state)
{
	(void)state;
	struct ruleset rs = make_rules();
	uint8_t a[4] = {10, 1, 2, 3}, b[4] = {192, 0, 2, 1};
	assert_int_equal(rules_match_ip(&rs, AF_INET, a, 80), RULE_BLOCK);
	assert_int_equal(rules_match_ip(&rs, AF_INET, b, 80), RULE_DIRECT);
	assert_int_equal(rules_match_ip(&rs, AF_INET, b, 25), RULE_BLOCK);
	for (size_t i = 0; i < rs.n; i++)
		free(rs.v[i].name);
}

/*
 * "example.com." and "example.com" are the same name: a rule's name loses one
 * trailing dot at load, as a requested name does before it is matched.
 */
static void test_rules_trailing_dot(void **state)
{
	(void)state;
	struct rule v[2], r;
	struct ruleset rs = {.v = v, .n = 2};
	memset(v, 0, sizeof(v));
	memset(&r, 0, sizeof(r));
	assert_true(rule_parse_dest("exact.test.", &v[0]));
	v[0].action = RULE_BLOCK;
	assert_true(rule_parse_dest(".suffix.test.", &v[1]));
	v[1].action = RULE_BLOCK;
	assert_int_equal(rules_match_name(&rs, "exact.test", 10, 80), RULE_BLOCK);
	assert_int_equal(rules_match_name(&rs, "EXACT.test.", 11, 80), RULE_BLOCK);
	assert_int_equal(rules_match_name(&rs, "sub.exact.test", 14, 80), RULE_DIRECT);
	assert_int_equal(rules_match_name(&rs, "suffix.test", 11, 80), RULE_BLOCK);
	assert_int_equal(rules_match_name(&rs, "www.suffix.test.", 16, 80), RULE_BLOCK);
	assert_int_equal(rules_match_name(&rs, "notsuffix.test", 14, 80), RULE_DIRECT);
	assert_int_equal(v[0].kind, RULE_EXACT);
	assert_string_equal(v[0].name, "exact.test");
	assert_int_equal(v[0].name_len, 10);
	assert_int_equal(v[1].kind, RULE_SUFFIX);
	assert_string_equal(v[1].name, "suffix.test");
	assert_int_equal(v[1].name_len, 11);
	for (size_t i = 0; i < rs.n; i++)
		free(rs.v[i].name);
	/* Only one dot goes: what is left must still be a name. */
	assert_false(rule_parse_dest("..", &r));
	/* Two trailing dots would leave one, and a rule that never matches. */
	assert_false(rule_parse_dest("example.com..", &r));
	assert_false(rule_parse_dest(".example.com..", &r));
}

static void test_rules_parse(void **state)
{
	(void)state;
	struct rule r;
	enum rule_action a;
	memset(&r, 0, sizeof(r));
	assert_false(rule_parse_dest(".", &r));
	assert_false(rule_parse_dest("bad name", &r));
	assert_false(rule_parse_dest("", &r));
	assert_false(rule_parse_dest("evil\r\nname", &r));
	assert_true(rule_parse_action("block", &a));
	assert_int_equal(a, RULE_BLOCK);
	assert_true(rule_parse_action("direct", &a));
	assert_int_equal(a, RULE_DIRECT);
	assert_false(rule_parse_action("Block", &a));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cidr_parse),         cmocka_unit_test(test_cidr_match),
	    cmocka_unit_test(test_rules_names),        cmocka_unit_test(test_rules_addresses),
	    cmocka_unit_test(test_rules_trailing_dot), cmocka_unit_test(test_rules_parse),
	};
	return cmocka_run_group_tests_name("cidr and rules", tests, NULL, NULL);
}
