#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "conf_loader.h"
#include "util.h"

#define DEFAULT_LISTEN "127.0.0.1:1080"

void conf_fail(struct conf_loader *ld, const config_setting_t *s, const char *fmt, ...)
{
	char msg[1024]; /* room for a long path and the reason after it */
	va_list ap;

	if (ld->failed)
		return; /* the first error is the one to fix */
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!s) {
		snprintf(ld->err, ld->errlen, "%s: %s", ld->path, msg);
		ld->failed = true;
		return;
	}
	/* A setting from an @include'd file is reported in that file. */
	const char *file = config_setting_source_file(s);
	snprintf(ld->err, ld->errlen, "%s:%u: %s", file ? file : ld->path,
	         config_setting_source_line(s), msg);
	ld->failed = true;
}

static void set_defaults(struct conf *c)
{
	c->refs = 1;
	c->log_level = LOG_LEVEL_INFO;
	c->handshake_timeout = 10.0;
	c->connect_timeout = 10.0;
	c->idle_timeout = 300.0;
	c->drain_timeout = 10.0;
	c->max_connections = 4096;
	c->max_per_client = 256;
	c->workers = 1;
	c->record_aes = true;
	c->reuse_circuits = true;
}

bool conf_get_number(struct conf_loader *ld, const config_setting_t *s, double *out)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		*out = (double)config_setting_get_int64(s);
		return true;
	case CONFIG_TYPE_FLOAT:
		*out = config_setting_get_float(s);
		return true;
	default:
		conf_fail(ld, s, "%s: expected a number", config_setting_name(s));
		return false;
	}
}

const char *conf_get_string(struct conf_loader *ld, const config_setting_t *s)
{
	const char *v = config_setting_get_string(s);
	if (!v)
		conf_fail(ld, s, "%s: expected a string",
		          config_setting_name(s) ? config_setting_name(s) : "value");
	return v;
}

void conf_get_bool(struct conf_loader *ld, const config_setting_t *s, const char *what, bool *out)
{
	if (config_setting_type(s) == CONFIG_TYPE_BOOL)
		*out = config_setting_get_bool(s);
	else
		conf_fail(ld, s, "%s: expected true or false", what);
}

void conf_check_members(struct conf_loader *ld, const config_setting_t *s, const char *what,
                        const char *const *names)
{
	for (int i = 0; i < config_setting_length(s); i++) {
		const config_setting_t *m = config_setting_get_elem(s, (unsigned)i);
		const char *name = config_setting_name(m);
		bool known = false;
		for (const char *const *n = names; *n; n++)
			known |= strcmp(*n, name) == 0;
		if (!known)
			conf_fail(ld, m, "unknown setting '%s' in %s", name, what);
	}
}

static void load_timeouts(struct conf_loader *ld, const config_setting_t *g, struct conf *c)
{
	static const char *const names[] = {"handshake", "connect", "idle", "drain", NULL};
	struct {
		const char *name;
		double *dst;
	} map[] = {{"handshake", &c->handshake_timeout},
	           {"connect", &c->connect_timeout},
	           {"idle", &c->idle_timeout},
	           {"drain", &c->drain_timeout}};

	if (!config_setting_is_group(g)) {
		conf_fail(ld, g, "timeouts: expected a group { ... }");
		return;
	}
	conf_check_members(ld, g, "timeouts", names);
	for (size_t i = 0; i < ARRAY_LEN(map); i++) {
		const config_setting_t *s = config_setting_get_member(g, map[i].name);
		double v;
		if (!s || !conf_get_number(ld, s, &v))
			continue;
		if (!(v > 0 && v <= 86400 * 7))
			conf_fail(ld, s,
			          "timeouts.%s: must be more than 0 and at most 604800 seconds",
			          map[i].name);
		else
			*map[i].dst = v;
	}
}

static void load_limits(struct conf_loader *ld, const config_setting_t *g, struct conf *c)
{
	static const char *const names[] = {"connections", "per_client", NULL};
	struct {
		const char *name;
		unsigned *dst;
	} map[] = {{"connections", &c->max_connections}, {"per_client", &c->max_per_client}};

	if (!config_setting_is_group(g)) {
		conf_fail(ld, g, "limits: expected a group { ... }");
		return;
	}
	conf_check_members(ld, g, "limits", names);
	for (size_t i = 0; i < ARRAY_LEN(map); i++) {
		const config_setting_t *s = config_setting_get_member(g, map[i].name);
		if (!s)
			continue;
		int t = config_setting_type(s);
		long long v = config_setting_get_int64(s);
		if ((t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64) || v < 1 || v > 1000000)
			conf_fail(ld, s, "limits.%s: expected a whole number from 1 to 1000000",
			          map[i].name);
		else
			*map[i].dst = (unsigned)v;
	}
}

static char *append_csv(char *csv, const char *item)
{
	size_t old = csv ? strlen(csv) : 0, add = strlen(item);
	char *n = realloc(csv, old + add + 2);
	if (!n) {
		free(csv);
		return NULL;
	}
	if (old)
		n[old++] = ',';
	memcpy(n + old, item, add + 1);
	return n;
}

static void add_resolver(struct conf_loader *ld, const config_setting_t *s, struct conf *c,
                         const char *text)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char plain[ADDR_STR_MAX + 8];

	/* Accept a bare address too: port 53 is implied. */
	if (!addr_parse(text, &ss, &len)) {
		int n;
		if (strchr(text, ':') && text[0] != '[')
			n = snprintf(plain, sizeof(plain), "[%s]:53", text);
		else
			n = snprintf(plain, sizeof(plain), "%s:53", text);
		/* Cut short, what is left could parse as an address the text is not. */
		if (n < 0 || (size_t)n >= sizeof(plain) || !addr_parse(plain, &ss, &len)) {
			conf_fail(ld, s, "resolver: '%s' is not an IP address or ADDRESS:PORT",
			          text);
			return;
		}
	}
	if (addr_port((struct sockaddr *)&ss) == 0) {
		conf_fail(ld, s, "resolver: '%s': port 0", text);
		return;
	}
	char buf[ADDR_STR_MAX];
	c->resolvers = append_csv(c->resolvers, addr_format((struct sockaddr *)&ss, buf));
	if (!c->resolvers)
		conf_fail(ld, s, "out of memory");
}

static void load_resolver(struct conf_loader *ld, const config_setting_t *g, struct conf *c)
{
	static const char *const names[] = {"servers", NULL};
	if (!config_setting_is_group(g)) {
		conf_fail(ld, g, "resolver: expected a group { servers = [ ... ]; }");
		return;
	}
	conf_check_members(ld, g, "resolver", names);
	const config_setting_t *servers = config_setting_get_member(g, "servers");
	if (!servers)
		return;
	if (!config_setting_is_array(servers) && !config_setting_is_list(servers)) {
		conf_fail(ld, servers, "resolver.servers: expected a list of addresses");
		return;
	}
	int n = config_setting_length(servers);
	if (n == 0)
		conf_fail(ld, servers,
		          "resolver.servers: empty (leave resolver out to use /etc/resolv.conf)");
	if (n > CONFIG_MAX_RESOLVERS)
		conf_fail(ld, servers, "resolver.servers: at most %d servers",
		          CONFIG_MAX_RESOLVERS);
	for (int i = 0; i < n && !ld->failed; i++) {
		const config_setting_t *e = config_setting_get_elem(servers, (unsigned)i);
		const char *v = conf_get_string(ld, e);
		if (v)
			add_resolver(ld, e, c, v);
	}
}

struct listen_conf *conf_new_listener(struct conf *c)
{
	struct listen_conf *v = realloc(c->listeners, (c->nlisteners + 1) * sizeof(*v));
	if (!v)
		return NULL;
	c->listeners = v;
	memset(&v[c->nlisteners], 0, sizeof(v[0]));
	return &v[c->nlisteners++];
}

static bool addr_unspecified(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_ANY);
	return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

bool conf_needs_port(const struct conf_loader *ld, const struct conf *c)
{
	unsigned workers = ld->cli_workers ? ld->cli_workers : c->workers;
	const struct listen_conf *l = &c->listeners[c->nlisteners - 1];
	return workers > 1 && addr_port((const struct sockaddr *)&l->addr) == 0;
}

const char *conf_unbindable(const struct sockaddr_storage *ss)
{
	if (ss->ss_family != AF_INET6)
		return NULL;
	const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
	if (IN6_IS_ADDR_V4MAPPED(a))
		return "an IPv4-mapped address; listeners are IPv6-only: write it as IPv4";
	if (IN6_IS_ADDR_LINKLOCAL(a))
		return "a link-local address needs an interface, which cannot be given";
	return NULL;
}

bool conf_listen_taken(const struct conf *c)
{
	const struct listen_conf *l = &c->listeners[c->nlisteners - 1];
	uint16_t port = addr_port((const struct sockaddr *)&l->addr);
	if (port == 0)
		return false; /* each gets a port of its own */
	for (size_t i = 0; i + 1 < c->nlisteners; i++) {
		const struct sockaddr_storage *o = &c->listeners[i].addr;
		if (o->ss_family != l->addr.ss_family ||
		    addr_port((const struct sockaddr *)o) != port)
			continue;
		if (addr_equal(o, &l->addr) || addr_unspecified(o) || addr_unspecified(&l->addr))
			return true;
	}
	return false;
}

bool conf_add_allow(struct listen_conf *l, const char *text)
{
	struct cidr cidr;
	if (!cidr_parse(text, &cidr))
		return false;
	struct cidr *v = realloc(l->allow, (l->nallow + 1) * sizeof(*v));
	if (!v)
		return false;
	l->allow = v;
	v[l->nallow++] = cidr;
	return true;
}

void conf_load_allow(struct conf_loader *ld, const config_setting_t *s, const char *what,
                     struct listen_conf *l)
{
	if (!config_setting_is_array(s) && !config_setting_is_list(s))
		conf_fail(ld, s, "%s.allow: expected a list of address ranges", what);
	else if (config_setting_length(s) == 0)
		conf_fail(ld, s, "%s.allow: empty: no client could connect", what);
	for (int i = 0; i < config_setting_length(s); i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		const char *v = conf_get_string(ld, e);
		if (v && !conf_add_allow(l, v))
			conf_fail(ld, e, "%s.allow: '%s' is not an address range like 10.0.0.0/8",
			          what, v);
	}
}

/* Loopback only, unless the file says otherwise: nothing is open to others by surprise. */
static bool default_allow(struct listen_conf *l)
{
	return conf_add_allow(l, "127.0.0.0/8") && conf_add_allow(l, "::1/128");
}

char *conf_path_near(const struct conf_loader *ld, const char *file)
{
	const char *slash = ld->path ? strrchr(ld->path, '/') : NULL;
	if (file[0] == '/' || !slash)
		return strdup(file);
	size_t dlen = (size_t)(slash - ld->path) + 1, flen = strlen(file);
	char *p = malloc(dlen + flen + 1);
	if (p) {
		memcpy(p, ld->path, dlen);
		memcpy(p + dlen, file, flen + 1);
	}
	return p;
}

static void load_users(struct conf_loader *ld, const config_setting_t *s, struct listen_conf *l,
                       const char *path)
{
	char err[512], *file = conf_path_near(ld, path);
	if (!file) {
		conf_fail(ld, s, "out of memory");
		return;
	}
	l->users = users_load(file, err, sizeof(err));
	if (!l->users)
		conf_fail(ld, s, "users: %s", err);
	free(file);
}

static void load_listener(struct conf_loader *ld, const config_setting_t *g, struct conf *c)
{
	static const char *const names[] = {"address", "protocols", "allow",
	                                    "users",   "route",     NULL};
	if (!config_setting_is_group(g)) {
		conf_fail(ld, g, "listen: each entry must be a group { address = \"...\"; }");
		return;
	}
	conf_check_members(ld, g, "listen", names);
	struct listen_conf *l = conf_new_listener(c);
	if (!l) {
		conf_fail(ld, g, "out of memory");
		return;
	}
	const config_setting_t *s = config_setting_get_member(g, "address");
	if (!s) {
		conf_fail(ld, g, "listen: missing address");
		return;
	}
	const char *addr = conf_get_string(ld, s);
	if (addr && !addr_parse(addr, &l->addr, &l->addrlen))
		conf_fail(ld, s, "listen.address: '%s' is not IP:PORT or [IPv6]:PORT", addr);
	else if (addr && conf_unbindable(&l->addr))
		conf_fail(ld, s, "listen.address: '%s': %s", addr, conf_unbindable(&l->addr));
	else if (addr && conf_listen_taken(c))
		conf_fail(ld, s, "listen.address: '%s': %s", addr, CONF_TAKEN);
	else if (addr && conf_needs_port(ld, c))
		conf_fail(ld, s, "listen.address: '%s': %s", addr, CONF_NEED_PORT);

	s = config_setting_get_member(g, "protocols");
	l->protocols = LISTEN_ALL;
	if (s) {
		l->protocols = 0;
		if (!config_setting_is_array(s) && !config_setting_is_list(s))
			conf_fail(ld, s, "listen.protocols: expected a list of names");
		for (int i = 0; i < config_setting_length(s); i++) {
			const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
			const char *v = conf_get_string(ld, e);
			if (!v)
				break;
			if (strcmp(v, "socks5") == 0)
				l->protocols |= LISTEN_SOCKS5;
			else if (strcmp(v, "socks4") == 0)
				l->protocols |= LISTEN_SOCKS4;
			else if (strcmp(v, "http") == 0)
				l->protocols |= LISTEN_HTTP;
			else
				conf_fail(
				    ld, e,
				    "listen.protocols: unknown protocol '%s' (socks5, socks4, "
				    "http)",
				    v);
		}
		if (!l->protocols)
			conf_fail(ld, s, "listen.protocols: empty");
	}

	s = config_setting_get_member(g, "allow");
	if (s)
		conf_load_allow(ld, s, "listen", l);
	else if (!default_allow(l))
		conf_fail(ld, g, "out of memory");

	s = config_setting_get_member(g, "users");
	if (s) {
		const char *path = conf_get_string(ld, s);
		if (path)
			load_users(ld, s, l, path);
	}

	l->route = c->route;
	if ((s = config_setting_get_member(g, "route")) != NULL)
		conf_load_route(ld, s, c, &l->route);
}

static void load_rule(struct conf_loader *ld, const config_setting_t *g, struct conf *c)
{
	static const char *const names[] = {"dest", "port", "action", NULL};
	if (!config_setting_is_group(g)) {
		conf_fail(
		    ld, g,
		    "rules: each entry must be a group { dest = \"...\"; action = \"...\"; }");
		return;
	}
	conf_check_members(ld, g, "rules", names);
	struct rule *v = realloc(c->rules.v, (c->rules.n + 1) * sizeof(*v));
	if (!v) {
		conf_fail(ld, g, "out of memory");
		return;
	}
	c->rules.v = v;
	struct rule *r = &v[c->rules.n++];
	memset(r, 0, sizeof(*r));
	r->kind = RULE_ANY;

	const config_setting_t *dest = config_setting_get_member(g, "dest");
	const config_setting_t *port = config_setting_get_member(g, "port");
	const config_setting_t *action = config_setting_get_member(g, "action");
	if (dest) {
		const char *d = conf_get_string(ld, dest);
		if (d && !rule_parse_dest(d, r))
			conf_fail(ld, dest,
			          "rules.dest: '%s' is not an address range or a domain "
			          "(\".example.com\")",
			          d);
	}
	if (port) {
		int t = config_setting_type(port);
		long long p = config_setting_get_int64(port);
		if ((t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64) || p < 1 || p > 65535)
			conf_fail(ld, port, "rules.port: expected a port from 1 to 65535");
		else
			r->port = (uint16_t)p;
	}
	if (!dest && !port)
		conf_fail(ld, g, "rules: a rule needs dest, port, or both");
	if (!action) {
		conf_fail(ld, g, "rules: missing action (\"direct\" or \"block\")");
	} else {
		const char *a = conf_get_string(ld, action);
		if (a && !rule_parse_action(a, &r->action))
			conf_fail(ld, action, "rules.action: unknown action '%s' (direct, block)",
			          a);
	}
}

void conf_load_list(struct conf_loader *ld, const config_setting_t *s, const char *what,
                    struct conf *c,
                    void (*one)(struct conf_loader *, const config_setting_t *, struct conf *))
{
	if (!config_setting_is_list(s)) {
		conf_fail(ld, s, "%s: expected a list ( { ... }, { ... } )", what);
		return;
	}
	for (int i = 0; i < config_setting_length(s) && !ld->failed; i++)
		one(ld, config_setting_get_elem(s, (unsigned)i), c);
}

static void load_file(struct conf_loader *ld, struct conf *c)
{
	static const char *const names[] = {
	    "log_level",      "log_target", "workers",  "record_cipher",
	    "reuse_circuits", "splice",     "timeouts", "limits",
	    "resolver",       "relays",     "chains",   "route",
	    "listen",         "relay",      "rules",    NULL};
	config_t cf;
	config_init(&cf);
	/*
	 * An @include is read as libconfig reads it: a relative name from the
	 * working directory. (libconfig 1.5 would put an include directory in
	 * front of absolute names too, so none is set; nacre.conf(5) asks for
	 * absolute names.)
	 */
	char *text = conf_read_text(ld->path, ld->err, ld->errlen);
	if (!text) {
		ld->failed = true;
		config_destroy(&cf);
		return;
	}
	errno = 0;
	int ok = config_read_string(&cf, text);
	int saved = errno;
	free(text);
	if (ok != CONFIG_TRUE) {
		if (config_error_type(&cf) == CONFIG_ERR_FILE_IO)
			snprintf(ld->err, ld->errlen, "%s: cannot read an included file%s%s",
			         config_error_file(&cf) ? config_error_file(&cf) : ld->path,
			         saved ? ": " : "", saved ? strerror(saved) : "");
		else
			snprintf(ld->err, ld->errlen, "%s:%d: %s",
			         config_error_file(&cf) ? config_error_file(&cf) : ld->path,
			         config_error_line(&cf), config_error_text(&cf));
		ld->failed = true;
		config_destroy(&cf);
		return;
	}
	const config_setting_t *root = config_root_setting(&cf);
	conf_check_members(ld, root, "the file", names);

	const config_setting_t *s;
	if ((s = config_setting_get_member(root, "log_level")) != NULL) {
		const char *v = conf_get_string(ld, s);
		if (v && !log_level_parse(v, &c->log_level))
			conf_fail(ld, s, "log_level: unknown level '%s' (error, warn, info, debug)",
			          v);
	}
	if ((s = config_setting_get_member(root, "log_target")) != NULL) {
		const char *v = conf_get_string(ld, s);
		if (v && strcmp(v, "syslog") == 0)
			c->log_syslog = true;
		else if (v && strcmp(v, "stderr") != 0)
			conf_fail(ld, s, "log_target: unknown target '%s' (stderr, syslog)", v);
	}
	if ((s = config_setting_get_member(root, "workers")) != NULL) {
		int t = config_setting_type(s);
		long long v = config_setting_get_int64(s);
		if ((t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64) || v < 1 || v > WORKERS_MAX)
			conf_fail(ld, s, "workers: expected a whole number from 1 to %d",
			          WORKERS_MAX);
		else
			c->workers = (unsigned)v;
	}
	if ((s = config_setting_get_member(root, "record_cipher")) != NULL) {
		const char *v = conf_get_string(ld, s);
		if (v && strcmp(v, "chacha20-poly1305") == 0)
			c->record_aes = false;
		else if (v && strcmp(v, "auto") != 0)
			conf_fail(ld, s,
			          "record_cipher: unknown value '%s' (auto, chacha20-poly1305)", v);
	}
	if ((s = config_setting_get_member(root, "reuse_circuits")) != NULL)
		conf_get_bool(ld, s, "reuse_circuits", &c->reuse_circuits);
	if ((s = config_setting_get_member(root, "splice")) != NULL)
		conf_get_bool(ld, s, "splice", &c->splice);
	if ((s = config_setting_get_member(root, "timeouts")) != NULL)
		load_timeouts(ld, s, c);
	if ((s = config_setting_get_member(root, "limits")) != NULL)
		load_limits(ld, s, c);
	if ((s = config_setting_get_member(root, "resolver")) != NULL)
		load_resolver(ld, s, c);
	/* In this order: chains name relays, routes name chains. */
	if ((s = config_setting_get_member(root, "relays")) != NULL)
		conf_load_relays(ld, s, c);
	if ((s = config_setting_get_member(root, "chains")) != NULL)
		conf_load_chains(ld, s, c);
	if ((s = config_setting_get_member(root, "route")) != NULL)
		conf_load_route(ld, s, c, &c->route);
	if ((s = config_setting_get_member(root, "listen")) != NULL) {
		conf_load_list(ld, s, "listen", c, load_listener);
		c->listen_none = config_setting_length(s) == 0;
	}
	if ((s = config_setting_get_member(root, "relay")) != NULL)
		conf_load_list(ld, s, "relay", c, conf_load_relay_listener);
	if ((s = config_setting_get_member(root, "rules")) != NULL)
		conf_load_list(ld, s, "rules", c, load_rule);
	config_destroy(&cf);
}

static void load_cli(struct conf_loader *ld, const struct cli_opts *o, struct conf *c)
{
	struct conf_loader cli = {.path = "command line",
	                          .err = ld->err,
	                          .errlen = ld->errlen,
	                          .cli_workers = o->workers};

	if (o->log_level && !log_level_parse(o->log_level, &c->log_level))
		conf_fail(&cli, NULL, "--log-level: unknown level '%s'", o->log_level);
	if (o->workers)
		c->workers = o->workers;
	if (o->nresolvers) {
		free(c->resolvers);
		c->resolvers = NULL;
	}
	for (size_t i = 0; i < o->nresolvers; i++)
		add_resolver(&cli, NULL, c, o->resolvers[i]);
	size_t n = o->nlisten;
	const char *def[] = {DEFAULT_LISTEN};
	const char *const *listen = o->listen;
	if (n == 0 && c->nlisteners == 0) {
		/* An empty list says "no proxy here", not "the default one". */
		if (c->listen_none)
			conf_fail(ld, NULL,
			          "listen = () and no relay entry: nothing would be served (leave "
			          "listen out for the default, " DEFAULT_LISTEN ")");
		listen = def;
		n = 1;
	}
	/* Never a proxy without the authentication the operator asked for. */
	if (n == 0 && o->users_path)
		conf_fail(&cli, NULL,
		          "--users applies to --listen addresses only; give the file's listen "
		          "entries users = \"%s\"",
		          o->users_path);
	for (size_t i = 0; i < n && !cli.failed; i++) {
		struct listen_conf *l = conf_new_listener(c);
		if (!l || !default_allow(l)) {
			conf_fail(&cli, NULL, "out of memory");
			break;
		}
		l->protocols = LISTEN_ALL;
		l->route = c->route;
		if (!addr_parse(listen[i], &l->addr, &l->addrlen))
			conf_fail(&cli, NULL, "--listen: '%s' is not IP:PORT or [IPv6]:PORT",
			          listen[i]);
		else if (conf_unbindable(&l->addr))
			conf_fail(&cli, NULL, "--listen: '%s': %s", listen[i],
			          conf_unbindable(&l->addr));
		else if (conf_listen_taken(c))
			conf_fail(&cli, NULL, "--listen: '%s': %s", listen[i], CONF_TAKEN);
		else if (conf_needs_port(&cli, c))
			conf_fail(&cli, NULL, "--listen: '%s': %s", listen[i], CONF_NEED_PORT);
		if (o->users_path) {
			char err[512];
			l->users = users_load(o->users_path, err, sizeof(err));
			if (!l->users)
				conf_fail(&cli, NULL, "--users: %s", err);
		}
	}
	ld->failed |= cli.failed;
}

struct conf *conf_load(const struct cli_opts *opts, char *err, size_t errlen)
{
	struct conf *c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	set_defaults(c);
	struct conf_loader ld = {
	    .path = opts->config_path, .err = err, .errlen = errlen, .cli_workers = opts->workers};
	if (opts->config_path)
		load_file(&ld, c);
	if (!ld.failed)
		load_cli(&ld, opts, c);
	if (ld.failed) {
		conf_unref(c);
		return NULL;
	}
	return c;
}

struct conf *conf_ref(struct conf *c)
{
	c->refs++;
	return c;
}

void conf_unref(struct conf *c)
{
	if (!c || --c->refs > 0)
		return;
	for (size_t i = 0; i < c->nlisteners; i++) {
		free(c->listeners[i].allow);
		users_free(c->listeners[i].users);
		conf_free_relay_role(&c->listeners[i]);
	}
	free(c->listeners);
	conf_free_relays(c);
	free(c->resolvers);
	rules_free(&c->rules);
	free(c);
}
