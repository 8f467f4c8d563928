/*
 * Internal to the config loader (conf.c and conf_relay.c): the parsing
 * context and the helpers both halves use. Nothing outside conf*.c includes
 * this; everyone else sees conf.h.
 */
#ifndef NACRE_CONF_LOADER_H
#define NACRE_CONF_LOADER_H

#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>

#include "conf.h"

/* Parsing context: where errors are reported. */
struct conf_loader {
	const char *path;
	char *err;
	size_t errlen;
	bool failed;
	unsigned cli_workers; /* --workers, 0 if not given: it overrides the file's */
};

/* Records "path:line: message" for setting s (or "path: message" if s is NULL). */
__attribute__((format(printf, 3, 4))) void
conf_fail(struct conf_loader *ld, const config_setting_t *s, const char *fmt, ...);
bool conf_get_number(struct conf_loader *ld, const config_setting_t *s, double *out);
const char *conf_get_string(struct conf_loader *ld, const config_setting_t *s);
/* A true/false setting into *out; otherwise "what: expected true or false". */
void conf_get_bool(struct conf_loader *ld, const config_setting_t *s, const char *what, bool *out);
/* Every member of group s must be one of names (NULL-terminated). */
void conf_check_members(struct conf_loader *ld, const config_setting_t *s, const char *what,
                        const char *const *names);
/* Calls one for each element of list s, stopping at the first error. */
void conf_load_list(struct conf_loader *ld, const config_setting_t *s, const char *what,
                    struct conf *c,
                    void (*one)(struct conf_loader *, const config_setting_t *, struct conf *));
/*
 * A file the config names (key_file, users): a relative name is relative to
 * the config file's directory, not to the cwd. Allocated; NULL if out of memory.
 */
char *conf_path_near(const struct conf_loader *ld, const char *file);
/* A zeroed listener at the end of c->listeners; NULL if out of memory. */
struct listen_conf *conf_new_listener(struct conf *c);
/*
 * Why a listener cannot bind this address though it parses, or NULL: an
 * IPv4-mapped one (listeners are IPv6-only, so it must be written as IPv4),
 * or a link-local one (it needs an interface, which nacre is not given).
 */
const char *conf_unbindable(const struct sockaddr_storage *ss);
/*
 * The config file's text, NUL-terminated and allocated (conf_text.c): a
 * regular file, as is every file it @includes at any depth, each checked
 * before libconfig opens it. NULL, with "path[:line]: what" in err, if not.
 */
char *conf_read_text(const char *path, char *err, size_t errlen);
/*
 * Whether the last listener's port is already taken by an earlier one: the
 * same address, or the unspecified address of its family (0.0.0.0, ::) with
 * any address of that family. With workers > 1 every listener is bound with
 * SO_REUSEPORT, so two such entries would both bind and the kernel would
 * split the port's clients between them (one with users, one without); with
 * one worker the second bind would fail only at start. IPv6 listeners are
 * V6ONLY, so the two families never overlap. Port 0 never conflicts.
 */
bool conf_listen_taken(const struct conf *c);
#define CONF_TAKEN "the same port is already taken by an earlier listen or relay entry"
/*
 * Whether the last listener lacks the port that workers > 1 need: each
 * worker binds the same addresses, and ports the kernel picks would differ.
 */
bool conf_needs_port(const struct conf_loader *ld, const struct conf *c);
#define CONF_NEED_PORT "workers > 1: every listen and relay address needs a port (not 0)"
bool conf_add_allow(struct listen_conf *l, const char *text);
/* The "allow" array s of a listen or relay entry ("what") into l. */
void conf_load_allow(struct conf_loader *ld, const config_setting_t *s, const char *what,
                     struct listen_conf *l);

/* conf_relay.c: the "relays" and "chains" lists (relays first: chains name them). */
void conf_load_relays(struct conf_loader *ld, const config_setting_t *s, struct conf *c);
void conf_load_chains(struct conf_loader *ld, const config_setting_t *s, struct conf *c);
/* A route setting: "direct" (NULL) or the name of a chain. */
void conf_load_route(struct conf_loader *ld, const config_setting_t *s, const struct conf *c,
                     const struct chain_conf **out);
/* One entry of the "relay" list: a listener with a relay role. */
void conf_load_relay_listener(struct conf_loader *ld, const config_setting_t *g, struct conf *c);
/* Frees what the functions above allocated: the relay role of l; c's relays and chains. */
void conf_free_relay_role(struct listen_conf *l);
void conf_free_relays(struct conf *c);

#endif
