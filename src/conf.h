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
#define CHAIN_MAX_HOPS       8
#define WORKERS_MAX          64

struct relay_key;

/* A relay this node may use, pinned by its public key (the "relays" list). */
struct relay_peer {
	char *name;
	struct sockaddr_storage addr; /* numeric: a relay's address is never looked up */
	socklen_t addrlen;
	uint8_t pk[32];
	bool links; /* it speaks links: circuits to it share one connection */
};

/* A named chain: an ordered list of relays, the last one the exit. */
struct chain_conf {
	char *name;
	unsigned nhops; /* 1..CHAIN_MAX_HOPS */
	const struct relay_peer *hops[CHAIN_MAX_HOPS];
};

/* One exit policy rule: first match wins (see policy.h). */
struct policy_rule {
	struct cidr cidr;
	bool any_addr;             /* "*": every address (does not open private ranges) */
	uint16_t port_lo, port_hi; /* 0-65535 for any port */
	bool accept;
};

struct policy {
	struct policy_rule *v;
	size_t n;
	struct cidr *own; /* the relay's own addresses, refused like private ones */
	size_t nown;
	bool named_only; /* a middle relay: every address is refused unless a rule names it */
};

/* The relay role of a listener ("relay" list). */
struct relay_conf {
	char *key_file;
	struct relay_key *key; /* loaded at config time; wiped when the config goes */
	bool exit;             /* false: middle only, never connects to a destination */
	double silent_close;   /* failed handshakes close at a random time up to this */
	struct policy policy;  /* applies to every connection it makes, next relays too */
};

struct listen_conf {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	unsigned protocols;
	struct cidr *allow;
	size_t nallow;
	struct users *users;            /* NULL: no authentication */
	const struct chain_conf *route; /* NULL: direct */
	struct relay_conf *relay;       /* non-NULL: a relay listener (no SOCKS/HTTP) */
};

struct conf {
	int refs;
	enum log_level log_level;
	bool log_syslog;
	double handshake_timeout;
	double connect_timeout;
	double idle_timeout;
	double drain_timeout;
	unsigned workers;    /* processes sharing the listeners (SO_REUSEPORT) */
	bool record_aes;     /* record_cipher "auto": AES-256-GCM on hops where both ends can */
	bool reuse_circuits; /* streams share circuits within an isolation key (pool.h) */
	bool splice;         /* direct tunnels may move bytes with splice(2) (spipe.h) */
	bool listen_none;    /* the file says listen = (): no default listener */
	unsigned max_connections;
	unsigned max_per_client;
	char *resolvers; /* "ip:port,ip:port" for c-ares, or NULL for the system's */
	struct listen_conf *listeners;
	size_t nlisteners;
	struct ruleset rules;
	struct relay_peer *relays;
	size_t nrelays;
	struct chain_conf *chains;
	size_t nchains;
	const struct chain_conf *route; /* default route of SOCKS/HTTP listeners; NULL: direct */
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
	unsigned workers; /* --workers, 0 if not given */
};

/*
 * Builds a config from the file named in opts (if any) and the command line.
 * On error returns NULL and writes "file:line: what is wrong" to err.
 */
struct conf *conf_load(const struct cli_opts *opts, char *err, size_t errlen);
struct conf *conf_ref(struct conf *c);
void conf_unref(struct conf *c);

#endif
