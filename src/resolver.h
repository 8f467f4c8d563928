/*
 * Asynchronous name resolution: c-ares driven by the libev loop (one ev_io per
 * c-ares socket, one ev_timer re-armed from ares_timeout() after every call).
 * Nothing here ever blocks. Results are cached for their TTL in a bounded,
 * direct-mapped table.
 */
#ifndef NACRE_RESOLVER_H
#define NACRE_RESOLVER_H

#include <ev.h>
#include <stddef.h>
#include <sys/socket.h>

#define RESOLVE_MAX_ADDRS 8

enum resolve_status {
	RESOLVE_OK,
	RESOLVE_NOT_FOUND, /* the name (or an address of its kind) does not exist */
	RESOLVE_FAILED,    /* servers failed or timed out */
};

struct resolve_result {
	enum resolve_status status;
	struct sockaddr_storage addrs[RESOLVE_MAX_ADDRS];
	size_t naddrs;
	const char *name; /* reverse lookups: the name found */
};

typedef void (*resolve_cb)(void *arg, const struct resolve_result *res);

struct resolver;
struct resolve_req;

/* servers: "ip:port,..." or NULL for /etc/resolv.conf. NULL on failure (logged). */
struct resolver *resolver_new(struct ev_loop *loop, const char *servers);
/*
 * The owner lets go: no new lookups may start on r. Lookups still in flight
 * are answered by r as usual (a reload must not fail them), and r is freed
 * when the last is delivered or cancelled; at once when none is left.
 */
void resolver_free(struct resolver *r);

/*
 * Looks up name (A and AAAA; /etc/hosts first). "localhost" and the names
 * under it are answered here and never asked of a server (RFC 6761), as are
 * reverse lookups of loopback addresses. The callback always runs later from
 * the loop, never inside this call, and never after resolver_cancel().
 * Returns NULL only when out of memory or for an empty or overlong name.
 */
struct resolve_req *resolver_lookup(struct resolver *r, const char *name, resolve_cb cb, void *arg);
/* Looks up the name of an address (PTR); the answer is in res->name. */
struct resolve_req *resolver_reverse(struct resolver *r, const struct sockaddr *sa, resolve_cb cb,
                                     void *arg);
void resolver_cancel(struct resolve_req *req);

#endif
