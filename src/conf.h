/*
 * The daemon's settings: read from a libconfig file (see nacre.conf(5)) and
 * from the command line, checked as a whole before use. A config is
 * reference-counted: a live connection keeps the config it was accepted under
 * across a reload.
 */
#ifndef NACRE_CONF_H
#define NACRE_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "cidr.h"
#include "log.h"
#include "rules.h"
#include "users.h"

enum {
	LISTEN_SOCKS5 = 1 << 0,
	LISTEN_SOCKS4 = 1 << 1,
	LISTEN_HTTP = 1 << 2,
	LISTEN_ALL = LISTEN_SOCKS5 | LISTEN_SOCKS4 | LISTEN_HTTP,
};

#define CONFIG_MAX_RESOLVERS 8

struct listen_conf {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	unsigned protocols;
	struct cidr *allow;
	size_t nallow;
	struct users *users; /* NULL: no authentication */
};

struct conf {
	int refs;
	enum log_level log_level;
	bool log_syslog;
	double handshake_timeout;
	double connect_timeout;
	double idle_timeout;
	double drain_timeout;
	unsigned max_connections;
	unsigned max_per_client;
	char *resolvers; /* "ip:port,ip:port" for c-ares, or NULL for the system's */
	struct listen_conf *listeners;
	size_t nlisteners;
	struct ruleset rules;
};

/* What the command line says; applied on top of the file at every (re)load. */
struct cli_opts {
	const char *config_path;
	const char *listen[16];
	size_t nlisten;
	const char *users_path;
	const char *resolvers[CONFIG_MAX_RESOLVERS];
	size_t nresolvers;
	const char *log_level;
};

/*
 * Builds a config from the file named in opts (if any) and the command line.
 * On error returns NULL and writes "file:line: what is wrong" to err.
 */
struct conf *conf_load(const struct cli_opts *opts, char *err, size_t errlen);
struct conf *conf_ref(struct conf *c);
void conf_unref(struct conf *c);

#endif
