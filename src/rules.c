#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hostname.h"
#include "rules.h"

bool rule_parse_dest(const char *s, struct rule *r)
{
	size_t len = strlen(s);

	if (len == 0 || len > 255)
		return false;
	if (cidr_parse(s, &r->cidr)) {
		r->kind = RULE_CIDR;
		return true;
	}
	const char *name = s;
	r->kind = RULE_EXACT;
	if (s[0] == '.') {
		r->kind = RULE_SUFFIX;
		name++;
		len--;
	}
	/*
	 * "example.com." is "example.com": rules_match_name drops one trailing dot
	 * from the requested name, so the rule's goes too, or it never matches.
	 */
	if (len && name[len - 1] == '.')
		len--;
	/* "example.com.." would still end in a dot, and never match: refused. */
	if (len && name[len - 1] == '.')
		return false;
	if (!hostname_ok((const uint8_t *)name, len))
		return false;
	r->name = strndup(name, len);
	r->name_len = len;
	return r->name != NULL;
}

bool rule_parse_action(const char *s, enum rule_action *out)
{
	if (strcmp(s, "direct") == 0)
		*out = RULE_DIRECT;
	else if (strcmp(s, "block") == 0)
		*out = RULE_BLOCK;
	else
		return false;
	return true;
}

static bool name_matches(const struct rule *r, const char *name, size_t len)
{
	if (len == r->name_len)
		return strncasecmp(name, r->name, len) == 0;
	if (r->kind != RULE_SUFFIX || len < r->name_len + 1)
		return false;
	const char *tail = name + (len - r->name_len);
	return tail[-1] == '.' && strncasecmp(tail, r->name, r->name_len) == 0;
}

enum rule_action rules_match_name(const struct ruleset *rs, const char *name, size_t len,
                                  uint16_t port)
{
	if (len && name[len - 1] == '.')
		len--; /* "example.com." is "example.com" */
	for (size_t i = 0; i < rs->n; i++) {
		const struct rule *r = &rs->v[i];
		if (r->port && r->port != port)
			continue;
		if (r->kind == RULE_ANY || ((r->kind == RULE_SUFFIX || r->kind == RULE_EXACT) &&
		                            name_matches(r, name, len)))
			return r->action;
	}
	return RULE_DIRECT;
}

enum rule_action rules_match_ip(const struct ruleset *rs, int family, const uint8_t *ip,
                                uint16_t port)
{
	for (size_t i = 0; i < rs->n; i++) {
		const struct rule *r = &rs->v[i];
		if (r->port && r->port != port)
			continue;
		if (r->kind == RULE_ANY ||
		    (r->kind == RULE_CIDR && cidr_match_ip(&r->cidr, family, ip)))
			return r->action;
	}
	return RULE_DIRECT;
}

void rules_free(struct ruleset *rs)
{
	for (size_t i = 0; i < rs->n; i++)
		free(rs->v[i].name);
	free(rs->v);
	rs->v = NULL;
	rs->n = 0;
}
