/*
 * The relay half of the config: the relays this node may use ("relays"),
 * the chains made of them ("chains"), routes naming a chain, and listeners
 * that serve as a relay ("relay"), with their key files and exit policies.
 */
#include "config.h"

#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_loader.h"
#include "hop.h"
#include "keyfile.h"
#include "policy.h"
#include "secret.h"
#include "util.h"

#define NAME_MAX_LEN         32
#define PUBKEY_B64_LEN       44 /* base64 of 32 bytes */
#define SILENT_CLOSE_DEFAULT 30.0
#define SILENT_CLOSE_MAX     600.0

/* Names end up in log lines: keep them short and plain. */
static bool name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > NAME_MAX_LEN)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.'))
			return false;
	}
	return true;
}

/* The "name" member of group g, checked; NULL after reporting what is wrong. */
static const char *get_name(struct conf_loader *ld, const config_setting_t *g, const char *what)
{
	const config_setting_t *s = config_setting_get_member(g, "name");
	if (!s) {
		conf_fail(ld, g, "%s: missing name", what);
		return NULL;
	}
	const char *v = conf_get_string(ld, s);
	if (v && !name_ok(v)) {
		conf_fail(ld, s, "%s.name: '%s': use 1 to %d letters, digits, '-', '_' or '.'",
		          what, v, NAME_MAX_LEN);
		return NULL;
	}
	return v;
}

/* A relay's address: never a name, which would leak a lookup on every circuit. */
static bool get_relay_addr(struct conf_loader *ld, const config_setting_t *s, const char *what,
                           struct sockaddr_storage *ss, socklen_t *len)
{
	const char *v = conf_get_string(ld, s);
	if (!v)
		return false;
	if (!addr_parse(v, ss, len)) {
		conf_fail(
		    ld, s,
		    "%s.address: '%s': relay address must be numeric (IP:PORT or [IPv6]:PORT)",
		    what, v);
		return false;
	}
	return true;
}

static const struct relay_peer *find_relay(const struct conf *c, const char *name)
{
	for (size_t i = 0; i < c->nrelays; i++)
		if (c->relays[i].name && strcmp(c->relays[i].name, name) == 0)
			return &c->relays[i];
	return NULL;
}

static const struct chain_conf *find_chain(const struct conf *c, const char *name)
{
	for (size_t i = 0; i < c->nchains; i++)
		if (c->chains[i].name && strcmp(c->chains[i].name, name) == 0)
			return &c->chains[i];
	return NULL;
}

static void load_peer(struct conf_loader *ld, const config_setting_t *g, struct conf *c,
                      struct relay_peer *p)
{
	static const char *const names[] = {"name", "address", "key", "links", NULL};
	if (!config_setting_is_group(g)) {
		conf_fail(ld, g, "relays: each entry must be a group { name = \"...\"; ... }");
		return;
	}
	conf_check_members(ld, g, "relays", names);
	const char *name = get_name(ld, g, "relays");
	if (!name)
		return;
	if (find_relay(c, name)) {
		conf_fail(ld, config_setting_get_member(g, "name"), "relays: '%s' named twice",
		          name);
		return;
	}
	if (!(p->name = strdup(name))) {
		conf_fail(ld, g, "out of memory");
		return;
	}

	const config_setting_t *s = config_setting_get_member(g, "address");
	if (!s)
		conf_fail(ld, g, "relays: '%s' has no address", name);
	else if (get_relay_addr(ld, s, "relays", &p->addr, &p->addrlen) &&
	         addr_port((struct sockaddr *)&p->addr) == 0)
		conf_fail(ld, s, "relays.address: port 0");

	/* Links are the default (protocol/proposals/shared-links.md, "The default"). */
	p->links = true;
	s = config_setting_get_member(g, "links");
	if (s)
		conf_get_bool(ld, s, "relays.links", &p->links);

	s = config_setting_get_member(g, "key");
	if (!s) {
		conf_fail(ld, g, "relays: '%s' has no key (its `nacre pubkey` output)", name);
		return;
	}
	const char *key = conf_get_string(ld, s);
	if (!key)
		return;
	size_t len = strlen(key);
	if (len != PUBKEY_B64_LEN ||
	    secret_base64_decode(p->pk, sizeof(p->pk), key, len) != (long)sizeof(p->pk))
		conf_fail(ld, s,
		          "relays.key: must be the base64 of a 32-byte public key (%d characters, "
		          "as `nacre pubkey` prints it); this is %s",
		          PUBKEY_B64_LEN,
		          len != PUBKEY_B64_LEN ? "the wrong length" : "not valid base64");
}

void conf_load_relays(struct conf_loader *ld, const config_setting_t *s, struct conf *c)
{
	if (!config_setting_is_list(s)) {
		conf_fail(ld, s, "relays: expected a list ( { ... }, { ... } )");
		return;
	}
	/* Allocated once: chains keep pointers into this array. */
	size_t n = (size_t)config_setting_length(s);
	c->relays = calloc(n ? n : 1, sizeof(*c->relays));
	if (!c->relays) {
		conf_fail(ld, s, "out of memory");
		return;
	}
	for (size_t i = 0; i < n && !ld->failed; i++)
		load_peer(ld, config_setting_get_elem(s, (unsigned)i), c, &c->relays[c->nrelays++]);
}

static void load_chain(struct conf_loader *ld, const config_setting_t *g, struct conf *c,
                       struct chain_conf *ch)
{
	static const char *const names[] = {"name", "hops", NULL};
	if (!config_setting_is_group(g)) {
		conf_fail(ld, g,
		          "chains: each entry must be a group { name = \"...\"; hops = [ ... ]; }");
		return;
	}
	conf_check_members(ld, g, "chains", names);
	const char *name = get_name(ld, g, "chains");
	if (!name)
		return;
	const config_setting_t *s = config_setting_get_member(g, "name");
	if (strcmp(name, "direct") == 0) {
		conf_fail(ld, s, "chains: 'direct' is reserved: it is the route without a chain");
		return;
	}
	if (find_chain(c, name)) {
		conf_fail(ld, s, "chains: '%s' named twice", name);
		return;
	}
	if (!(ch->name = strdup(name))) {
		conf_fail(ld, g, "out of memory");
		return;
	}

	s = config_setting_get_member(g, "hops");
	if (!s) {
		conf_fail(ld, g, "chains: '%s' has no hops", name);
		return;
	}
	if (!config_setting_is_array(s) && !config_setting_is_list(s)) {
		conf_fail(ld, s, "chains.hops: expected an array of relay names");
		return;
	}
	int n = config_setting_length(s);
	if (n < 1 || n > CHAIN_MAX_HOPS) {
		conf_fail(ld, s, "chains.hops: a chain has 1 to %d relays; '%s' has %d",
		          CHAIN_MAX_HOPS, name, n);
		return;
	}
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		const char *hop = conf_get_string(ld, e);
		if (!hop)
			return;
		const struct relay_peer *p = find_relay(c, hop);
		if (!p) {
			conf_fail(ld, e, "chains.hops: unknown relay '%s' (not in relays)", hop);
			return;
		}
		ch->hops[ch->nhops++] = p;
	}
}

void conf_load_chains(struct conf_loader *ld, const config_setting_t *s, struct conf *c)
{
	if (!config_setting_is_list(s)) {
		conf_fail(ld, s, "chains: expected a list ( { ... }, { ... } )");
		return;
	}
	/* Allocated once: listeners keep pointers into this array. */
	size_t n = (size_t)config_setting_length(s);
	c->chains = calloc(n ? n : 1, sizeof(*c->chains));
	if (!c->chains) {
		conf_fail(ld, s, "out of memory");
		return;
	}
	for (size_t i = 0; i < n && !ld->failed; i++)
		load_chain(ld, config_setting_get_elem(s, (unsigned)i), c,
		           &c->chains[c->nchains++]);
}

void conf_load_route(struct conf_loader *ld, const config_setting_t *s, const struct conf *c,
                     const struct chain_conf **out)
{
	const char *v = conf_get_string(ld, s);
	if (!v)
		return;
	if (strcmp(v, "direct") == 0) {
		*out = NULL;
		return;
	}
	if (!(*out = find_chain(c, v)))
		conf_fail(ld, s, "route: unknown chain '%s' (\"direct\" or a name from chains)", v);
}

/* "80", "1024-65535": a port or an inclusive range, each from 1 to 65535. */
static bool parse_ports(const char *s, uint16_t *lo, uint16_t *hi)
{
	unsigned long v[2];
	int n = 0;

	for (;;) {
		char *end;
		if (*s < '0' || *s > '9' || strlen(s) > 11)
			return false;
		errno = 0;
		v[n] = strtoul(s, &end, 10);
		if (errno || v[n] < 1 || v[n] > 65535)
			return false;
		n++;
		if (*end == '\0')
			break;
		if (*end != '-' || n == 2)
			return false;
		s = end + 1;
	}
	if (n == 1)
		v[1] = v[0];
	if (v[0] > v[1])
		return false;
	*lo = (uint16_t)v[0];
	*hi = (uint16_t)v[1];
	return true;
}

static void load_policy_rule(struct conf_loader *ld, const config_setting_t *g, struct policy *p)
{
	static const char *const names[] = {"dest", "port", "action", NULL};
	if (!config_setting_is_group(g)) {
		conf_fail(ld, g,
		          "relay.policy: each entry must be a group { dest = \"...\"; action = "
		          "\"...\"; }");
		return;
	}
	conf_check_members(ld, g, "relay.policy", names);
	struct policy_rule *v = realloc(p->v, (p->n + 1) * sizeof(*v));
	if (!v) {
		conf_fail(ld, g, "out of memory");
		return;
	}
	p->v = v;
	struct policy_rule *r = &v[p->n++];
	memset(r, 0, sizeof(*r));
	r->any_addr = true;
	r->port_hi = 65535;

	const config_setting_t *dest = config_setting_get_member(g, "dest");
	const config_setting_t *port = config_setting_get_member(g, "port");
	const config_setting_t *action = config_setting_get_member(g, "action");
	if (dest) {
		const char *d = conf_get_string(ld, dest);
		r->any_addr = d && strcmp(d, "*") == 0;
		if (d && !r->any_addr && !cidr_parse(d, &r->cidr))
			conf_fail(ld, dest,
			          "relay.policy.dest: '%s' is not an address range like 10.0.0.0/8 "
			          "or \"*\"",
			          d);
	}
	if (port) {
		int t = config_setting_type(port);
		long long n = config_setting_get_int64(port);
		const char *text = config_setting_get_string(port);
		if (t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64) {
			if (n < 1 || n > 65535)
				conf_fail(ld, port,
				          "relay.policy.port: expected a port from 1 to 65535");
			else
				r->port_lo = r->port_hi = (uint16_t)n;
		} else if (!text || !parse_ports(text, &r->port_lo, &r->port_hi)) {
			conf_fail(
			    ld, port,
			    "relay.policy.port: expected a port (80) or a range (\"1024-65535\") "
			    "within 1-65535");
		}
	}
	if (!dest && !port)
		conf_fail(ld, g, "relay.policy: a rule needs dest, port, or both");
	if (!action) {
		conf_fail(ld, g, "relay.policy: missing action (\"accept\" or \"reject\")");
		return;
	}
	const char *a = conf_get_string(ld, action);
	if (a && strcmp(a, "accept") == 0)
		r->accept = true;
	else if (a && strcmp(a, "reject") != 0)
		conf_fail(ld, action, "relay.policy.action: unknown action '%s' (accept, reject)",
		          a);
}

static bool add_own(struct policy *p, int family, const uint8_t *ip)
{
	struct cidr *v = realloc(p->own, (p->nown + 1) * sizeof(*v));
	if (!v)
		return false;
	p->own = v;
	struct cidr *o = &v[p->nown++];
	memset(o, 0, sizeof(*o));
	o->family = family;
	o->prefix = family == AF_INET ? 32 : 128;
	memcpy(o->addr, ip, family == AF_INET ? 4 : 16);
	return true;
}

/*
 * The host's own addresses, which the relay must not connect back to: the one
 * it binds and every address the host's interfaces have now, in both
 * families, whatever it binds. A connection from the host to itself passes no
 * outside firewall, so services on any of them (an admin port on [::] beside
 * a relay on 0.0.0.0, say) must stay out of its clients' reach.
 */
static void load_own(struct conf_loader *ld, const config_setting_t *g, struct listen_conf *l)
{
	static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	static const uint8_t zero[16];
	struct policy *p = &l->relay->policy;
	int family = l->addr.ss_family;
	const uint8_t *ip;

	if (family == AF_INET)
		ip = (const uint8_t *)&((struct sockaddr_in *)&l->addr)->sin_addr;
	else
		ip = (const uint8_t *)&((struct sockaddr_in6 *)&l->addr)->sin6_addr;
	if (family == AF_INET6 && memcmp(ip, v4mapped, sizeof(v4mapped)) == 0) {
		family = AF_INET;
		ip += 12;
	}
	if (memcmp(ip, zero, family == AF_INET ? 4 : 16) != 0 && !add_own(p, family, ip)) {
		conf_fail(ld, g, "out of memory");
		return;
	}
	struct ifaddrs *ifs;
	if (getifaddrs(&ifs) != 0) {
		conf_fail(ld, g, "relay: cannot list this host's addresses: %s", strerror(errno));
		return;
	}
	for (const struct ifaddrs *i = ifs; i; i = i->ifa_next) {
		const struct sockaddr *sa = i->ifa_addr;
		bool ok = true;
		if (sa && sa->sa_family == AF_INET)
			ok = add_own(p, AF_INET,
			             (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr);
		else if (sa && sa->sa_family == AF_INET6)
			ok =
			    add_own(p, AF_INET6,
			            (const uint8_t *)&((const struct sockaddr_in6 *)sa)->sin6_addr);
		if (!ok) {
			conf_fail(ld, g, "out of memory");
			break;
		}
	}
	freeifaddrs(ifs);
}

static void load_key(struct conf_loader *ld, const config_setting_t *s, struct relay_conf *r)
{
	char err[512];
	const char *file = conf_get_string(ld, s);
	if (!file)
		return;
	r->key_file = conf_path_near(ld, file);
	r->key = calloc(1, sizeof(*r->key));
	if (!r->key_file || !r->key) {
		conf_fail(ld, s, "out of memory");
		return;
	}
	if (!keyfile_load(r->key_file, r->key, err, sizeof(err)))
		conf_fail(ld, s, "%s", err);
}

void conf_load_relay_listener(struct conf_loader *ld, const config_setting_t *g, struct conf *c)
{
	static const char *const names[] = {"address", "key_file", "exit", "silent_close",
	                                    "allow",   "policy",   NULL};
	if (!config_setting_is_group(g)) {
		conf_fail(ld, g, "relay: each entry must be a group { address = \"...\"; ... }");
		return;
	}
	conf_check_members(ld, g, "relay", names);
	struct listen_conf *l = conf_new_listener(c);
	if (!l || !(l->relay = calloc(1, sizeof(*l->relay)))) {
		conf_fail(ld, g, "out of memory");
		return;
	}
	struct relay_conf *r = l->relay;
	r->silent_close = SILENT_CLOSE_DEFAULT;

	const config_setting_t *s = config_setting_get_member(g, "address");
	bool have_addr = false;
	if (!s)
		conf_fail(ld, g, "relay: missing address");
	else
		have_addr = get_relay_addr(ld, s, "relay", &l->addr, &l->addrlen);
	if (have_addr && conf_unbindable(&l->addr))
		conf_fail(ld, s, "relay.address: %s", conf_unbindable(&l->addr));
	else if (have_addr && conf_listen_taken(c))
		conf_fail(ld, s, "relay.address: %s", CONF_TAKEN);
	else if (have_addr && conf_needs_port(ld, c))
		conf_fail(ld, s, "relay.address: %s", CONF_NEED_PORT);

	/* A relay serves the world: clients of any address, unless allow says less. */
	if ((s = config_setting_get_member(g, "allow")) != NULL)
		conf_load_allow(ld, s, "relay", l);
	else if (!conf_add_allow(l, "0.0.0.0/0") || !conf_add_allow(l, "::/0"))
		conf_fail(ld, g, "out of memory");

	if ((s = config_setting_get_member(g, "key_file")) != NULL)
		load_key(ld, s, r);
	else
		conf_fail(ld, g, "relay: missing key_file (make one with `nacre keygen FILE`)");

	if ((s = config_setting_get_member(g, "exit")) != NULL)
		conf_get_bool(ld, s, "relay.exit", &r->exit);
	r->policy.named_only = !r->exit;

	double v;
	if ((s = config_setting_get_member(g, "silent_close")) != NULL &&
	    conf_get_number(ld, s, &v)) {
		if (!(v > 0 && v <= SILENT_CLOSE_MAX))
			conf_fail(ld, s,
			          "relay.silent_close: must be more than 0 and at most %g seconds",
			          SILENT_CLOSE_MAX);
		else
			r->silent_close = v;
	}

	if ((s = config_setting_get_member(g, "policy")) != NULL) {
		if (!config_setting_is_list(s))
			conf_fail(ld, s, "relay.policy: expected a list ( { ... }, { ... } )");
		for (int i = 0; i < config_setting_length(s) && !ld->failed; i++)
			load_policy_rule(ld, config_setting_get_elem(s, (unsigned)i), &r->policy);
	}
	if (!ld->failed && !r->exit && !policy_names_any(&r->policy))
		conf_fail(ld, s ? s : g,
		          "relay: a middle relay (exit = false) extends only to the relays its "
		          "policy names, and this one names none: add { dest = \"ADDRESS/32\"; "
		          "port = PORT; action = \"accept\"; } for each next relay");
	if (have_addr)
		load_own(ld, g, l);
}

void conf_free_relay_role(struct listen_conf *l)
{
	struct relay_conf *r = l->relay;
	if (!r)
		return;
	if (r->key) {
		relay_key_wipe(r->key);
		free(r->key);
	}
	free(r->key_file);
	policy_free(&r->policy);
	free(r);
	l->relay = NULL;
}

void conf_free_relays(struct conf *c)
{
	for (size_t i = 0; i < c->nrelays; i++)
		free(c->relays[i].name);
	free(c->relays);
	for (size_t i = 0; i < c->nchains; i++)
		free(c->chains[i].name);
	free(c->chains);
}
