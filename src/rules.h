/*
 * Destination rules: an ordered list, first match wins, default "direct".
 * A rule matches a domain suffix (".example.com": the name and every name
 * under it), an exact name ("host.test"), or an address range, optionally
 * only on one port, or a port alone.
 *
 * Name rules are checked against the name the client asked for, before any
 * lookup; address rules never cause a lookup: they are checked against IP
 * destinations (a name that is an address literal counts as one), and against
 * each address a name resolved to, so on a direct route a name cannot get
 * around a blocked range. Through a chain the exit resolves names, and its
 * policy judges the addresses.
 */
#ifndef NACRE_RULES_H
#define NACRE_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cidr.h"

enum rule_action {
	RULE_DIRECT,
	RULE_BLOCK,
};

enum rule_kind {
	RULE_ANY, /* port-only rule */
	RULE_CIDR,
	RULE_SUFFIX, /* stored without the leading dot */
	RULE_EXACT,
};

struct rule {
	enum rule_kind kind;
	struct cidr cidr;
	char *name;
	size_t name_len;
	uint16_t port; /* 0: any port */
	enum rule_action action;
};

struct ruleset {
	struct rule *v;
	size_t n;
};

/*
 * Parses the text of a "dest" setting into r (kind, cidr or name). A name is
 * kept without one trailing dot, as a requested name is matched without it.
 */
bool rule_parse_dest(const char *s, struct rule *r);
bool rule_parse_action(const char *s, enum rule_action *out);

/*
 * For a name destination: the first name or port-only rule that matches.
 */
enum rule_action rules_match_name(const struct ruleset *rs, const char *name, size_t len,
                                  uint16_t port);
/* For an address (given or resolved): the first address or port-only rule. */
enum rule_action rules_match_ip(const struct ruleset *rs, int family, const uint8_t *ip,
                                uint16_t port);
void rules_free(struct ruleset *rs);

#endif
