/*
 * Connecting a client to its destination: directly (c-ares lookup, rules or
 * the relay's policy on every address, each address tried in turn) or
 * through a chain (one first flight to the first relay, then the exit's
 * status decides).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "circuit.h"
#include "client.h"
#include "client_int.h"
#include "hostname.h"
#include "linkset.h"
#include "log.h"
#include "policy.h"
#include "pool.h"
#include "rules.h"
#include "server.h"
#include "spare.h"
#include "util.h"

/* ---------------------------------------------------------------- connecting */

static enum client_error errno_to_cerr(int err)
{
	switch (err) {
	case ECONNREFUSED:
		return CERR_REFUSED;
	case ENETUNREACH:
		return CERR_NET_UNREACH;
	case EHOSTUNREACH:
	case EHOSTDOWN:
		return CERR_HOST_UNREACH;
	case ETIMEDOUT:
		return CERR_TIMEOUT;
	default:
		return CERR_GENERAL;
	}
}

void client_fail(struct client *c, enum client_error e)
{
	char d[300];
	log_debug("client %d: cannot reach %s: error %d", c->fd,
	          client_dest_for_log(c, d, sizeof(d)), (int)e);
	c->phase = PHASE_HANDSHAKE;
	ev_timer_stop(c->srv->loop, &c->timer);
	c->h->failed(c, e);
}

/*
 * Where a connect() to an unspecified address goes: Linux takes 0.0.0.0 and
 * :: (and ::ffff:0.0.0.0) as this host, as 127.0.0.1 or ::1. NULL for any
 * other address. *family is set to the equivalent's family.
 */
static const uint8_t *local_equivalent(int *family, const uint8_t *ip)
{
	static const uint8_t any4[4], loopback4[4] = {127, 0, 0, 1};
	static const struct in6_addr loopback6 = IN6ADDR_LOOPBACK_INIT;
	if (*family == AF_INET6) {
		const struct in6_addr *a = (const struct in6_addr *)ip;
		if (IN6_IS_ADDR_UNSPECIFIED(a))
			return loopback6.s6_addr;
		if (!IN6_IS_ADDR_V4MAPPED(a))
			return NULL;
		*family = AF_INET;
		ip += 12;
	}
	return memcmp(ip, any4, 4) == 0 ? loopback4 : NULL;
}

static bool addr_allowed(struct client *c, const struct sockaddr_storage *ss)
{
	if (c->via_chain)
		return true; /* the user's own choice of first relay */
	const uint8_t *ip;
	int family = ss->ss_family;
	if (family == AF_INET)
		ip = (const uint8_t *)&((const struct sockaddr_in *)ss)->sin_addr;
	else
		ip = (const uint8_t *)&((const struct sockaddr_in6 *)ss)->sin6_addr;
	if (c->lc->relay) {
		/*
		 * By the config the relay runs (SPEC.md, "Reused circuits"): after
		 * a reload, a stream still being connected tries its addresses
		 * under the new policy, on the listener that now has this address.
		 */
		const struct listen_conf *lc =
		    c->conf == c->srv->conf ? c->lc : relay_listener_at(c->srv->conf, &c->lc->addr);
		if (!lc || (c->u.relay.cmd == RELAY_CMD_CONNECT && !lc->relay->exit))
			return false;
		return policy_allows(&lc->relay->policy, family, ip, c->dst_port);
	}
	if (rules_match_ip(&c->conf->rules, family, ip, c->dst_port) == RULE_BLOCK)
		return false;
	/* A rule that keeps clients off this host's loopback holds for 0.0.0.0 too. */
	const uint8_t *local = local_equivalent(&family, ip);
	return !local || rules_match_ip(&c->conf->rules, family, local, c->dst_port) != RULE_BLOCK;
}

void client_dial_reloaded(struct client *c)
{
	/* Resolving: the addresses meet the new policy when they come. */
	if (c->phase != PHASE_CONNECTING || c->next_addr == 0 ||
	    addr_allowed(c, &c->addrs[c->next_addr - 1]))
		return;
	client_enter(c);
	log_debug("client %d: the address being connected to is refused since the reload", c->fd);
	c->any_blocked = true;
	client_upstream_close(c);
	client_dial_next(c);
	client_update(c);
	client_leave(c);
}

/*
 * To a relay that speaks links: the stream's circuit goes on the link to it
 * (opened now if there is none). No connect to wait for. Through a chain
 * the flight is in us->rout already, and the exit's status decides; a
 * middle relay's circuit carries the next hop's bytes as they are, its
 * layer and padding first (relay.c), from uout and then cin.
 */
static void dial_link(struct client *c, const struct relay_peer *p)
{
	struct link *l = linkset_to(c->srv, p);
	struct buf *rin = c->us ? &c->us->rin : &c->uin;
	struct buf *rout = c->us ? &c->us->rout : &c->uout;
	c->ulc = l ? link_circ_open(l, rin, rout, &client_circuit_ops, c) : NULL;
	c->next_addr = c->naddrs;
	if (!c->ulc) {
		client_upstream_close(c);
		client_fail(c, CERR_GENERAL);
		return;
	}
	client_connected(c);
	client_update(c);
}

/*
 * A middle relay extends over a link to a next relay that its running
 * configuration names with its key and `links` (SPEC.md, "Extending over a
 * link"); NULL: over a TCP connection of its own.
 */
static const struct relay_peer *linked_next_relay(const struct client *c,
                                                  const struct sockaddr_storage *ss)
{
	if (!c->lc->relay || c->u.relay.cmd != RELAY_CMD_EXTEND)
		return NULL;
	const struct conf *conf = c->srv->conf;
	for (size_t i = 0; i < conf->nrelays; i++)
		if (conf->relays[i].links && addr_equal(&conf->relays[i].addr, ss))
			return &conf->relays[i];
	return NULL;
}

/* Tries the next address; every address is tried before giving up. */
void client_dial_next(struct client *c)
{
	if (c->via_chain && c->next_addr == 0 && c->lc->route->hops[0]->links) {
		dial_link(c, c->lc->route->hops[0]);
		return;
	}
	while (c->next_addr < c->naddrs) {
		struct sockaddr_storage *ss = &c->addrs[c->next_addr++];
		if (!c->via_chain)
			addr_set_port((struct sockaddr *)ss, c->dst_port);
		if (!addr_allowed(c, ss)) {
			c->any_blocked = true;
			continue;
		}
		const struct relay_peer *next = linked_next_relay(c, ss);
		if (next) {
			dial_link(c, next);
			return;
		}
		/*
		 * To a relay, a connection opened ahead saves a round trip. A
		 * middle relay's policy names the relays it extends to; an
		 * exit's names destinations, and an EXTEND it takes may name
		 * anything that allows: that is no relay to pre-connect to.
		 */
		bool to_relay =
		    c->via_chain || (c->lc->relay && c->u.relay.cmd == RELAY_CMD_EXTEND &&
		                     c->lc->relay->policy.named_only);
		int fd = to_relay ? spare_take(c->srv, ss) : -1;
		if (fd >= 0) {
			/* Connected already (spare.c saw to it): no writable event to wait for. */
			c->ufd = fd;
			client_connected(c);
			client_update(c);
			spare_refill(c->srv, ss);
			return;
		}
		fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			c->last_errno = errno;
			log_warn("socket");
			continue;
		}
		if (connect(fd, (struct sockaddr *)ss, addr_len((struct sockaddr *)ss)) != 0 &&
		    errno != EINPROGRESS) {
			c->last_errno = errno;
			close(fd);
			continue;
		}
		c->ufd = fd;
		c->phase = PHASE_CONNECTING;
		client_set_timer(c, c->conf->connect_timeout);
		client_update(c);
		if (to_relay)
			spare_refill(c->srv, ss);
		return;
	}
	if (c->via_chain) {
		/* The first relay is down: the destination was never asked. */
		client_upstream_close(c);
		client_fail(c, CERR_GENERAL);
	} else if (c->last_errno == 0 && c->any_blocked)
		client_fail(c, CERR_NOT_ALLOWED);
	else
		client_fail(c, errno_to_cerr(c->last_errno));
}

static void on_resolved(void *arg, const struct resolve_result *res)
{
	struct client *c = arg;

	client_enter(c);
	c->rreq = NULL;
	if (res->status != RESOLVE_OK) {
		client_fail(c,
		            res->status == RESOLVE_NOT_FOUND ? CERR_NOT_FOUND : CERR_HOST_UNREACH);
	} else {
		memcpy(c->addrs, res->addrs, res->naddrs * sizeof(res->addrs[0]));
		c->naddrs = res->naddrs;
		client_dial_next(c);
	}
	client_update(c);
	client_leave(c);
}

/* ---------------------------------------------------------------- chains */

static enum client_error status_to_cerr(int status)
{
	switch (status) {
	case RELAY_ST_NOT_ALLOWED:
		return CERR_NOT_ALLOWED;
	case RELAY_ST_NET_UNREACH:
		return CERR_NET_UNREACH;
	case RELAY_ST_HOST_UNREACH:
		return CERR_HOST_UNREACH;
	case RELAY_ST_REFUSED:
		return CERR_REFUSED;
	case RELAY_ST_TIMEOUT:
		return CERR_TIMEOUT;
	case RELAY_ST_NOT_FOUND:
		return CERR_NOT_FOUND;
	default:
		return CERR_GENERAL;
	}
}

static void chain_build(struct client *c);

/* PHASE_OPENING: waits for the exit's status; anything else ends the attempt. */
void client_opening_check(struct client *c)
{
	struct sealed *s = c->us;
	if (!s->broken)
		sealed_pump_in(s, &c->uin);
	if (s->status == RELAY_ST_OK && !s->broken) {
		log_debug("client %d: chain open", c->fd);
		c->phase = PHASE_HANDSHAKE;
		ev_timer_stop(c->srv->loop, &c->timer);
		c->h->connected(c);
		/*
		 * The answer may have come in the same read as the status: no
		 * read event will announce it again.
		 */
		if (!c->closed && c->phase == PHASE_FORWARD && buf_len(&c->uin))
			c->h->upstream_input(c);
		return;
	}
	/* Still waiting, unless some hop's stream has already ended without a status. */
	bool ended = false;
	for (unsigned k = 0; k < s->n; k++)
		ended |= s->l[k].in_end;
	if (s->status < 0 && !s->broken && !ended)
		return;
	log_debug("client %d: chain failed at hop %u: status %d", c->fd, s->status_hop, s->status);
	enum client_error e = status_to_cerr(s->status);
	if (c->circ_reused && s->status < 0) {
		/*
		 * A kept circuit that died meanwhile: no status, so the exit sent
		 * nothing on and the stream's first bytes are still in uout (held
		 * back until the status). They go in the new circuit's flight.
		 */
		log_debug("client %d: kept circuit gone, building a new one", c->fd);
		struct buf early = c->uout;
		memset(&c->uout, 0, sizeof(c->uout));
		client_upstream_close(c);
		c->uout = early;
		chain_build(c);
		return;
	}
	client_upstream_close(c);
	client_fail(c, e);
}

/* A kept circuit for this client's isolation key: the stream is one BEGIN away. */
static bool chain_reuse(struct client *c)
{
	struct pool_key key;
	struct pool_way way;
	struct sealed *s;
	ev_tstamp born;

	pool_key_init(&key, c->conf, c->lc, &c->peer, c->user);
	if (!pool_take(c->srv, &key, &way, &s, &born))
		return false;
	if (!sealed_begin(s, &c->chain_dst)) {
		pool_put(c->srv, &key, way, s, 0.); /* closes it */
		return false;
	}
	log_debug("client %d: on a kept circuit", c->fd);
	c->us = s;
	c->ufd = way.fd;
	c->ulc = way.lc;
	if (way.lc) {
		way.lc->ops = &client_circuit_ops;
		way.lc->arg = c;
	} else {
		pool_io_set(&c->uio, way.fd, 0);
	}
	c->circ_reused = true;
	c->circ_born = born;
	c->via_chain = true;
	c->addrs[0] = c->lc->route->hops[0]->addr;
	c->naddrs = c->next_addr = 1;
	/* Connected long ago: the BEGIN is in us->rout, the exit's status decides. */
	c->phase = PHASE_OPENING;
	client_set_timer(c, c->conf->connect_timeout);
	client_update(c);
	return true;
}

/* A new circuit: one first flight through every hop. */
static void chain_build(struct client *c)
{
	const struct chain_conf *ch = c->lc->route;
	size_t early = buf_len(&c->uout);
	if (early > RELAY_EARLY_MAX)
		early = RELAY_EARLY_MAX;

	c->circ_reused = false;
	c->circ_born = ev_now(c->srv->loop);
	c->us = sealed_new_client(ch->nhops);
	if (c->us) {
		c->us->offer = hop_suites_offer(c->conf->record_aes);
		c->us->reuse = c->conf->reuse_circuits;
	}
	if (!c->us || !circuit_build(c->us, ch, &c->chain_dst, early ? buf_head(&c->uout) : NULL,
	                             early, (uint64_t)ev_now(c->srv->loop), &c->us->rout)) {
		client_upstream_close(c);
		client_fail(c, CERR_GENERAL);
		return;
	}
	buf_consume(&c->uout, early);
	c->via_chain = true;
	c->addrs[0] = ch->hops[0]->addr;
	c->naddrs = 1;
	c->next_addr = 0;
	client_dial_next(c);
}

/* Sends the stream through the listener's chain: the exit resolves and connects. */
static void chain_connect(struct client *c, const struct proto_addr *dst)
{
	/* Kept for a retry; a name points at dst_name, which lives as long as c. */
	c->chain_dst = *dst;
	if (dst->type == PROTO_ADDR_DOMAIN)
		c->chain_dst.name = (const uint8_t *)c->dst_name;
	if (c->conf->reuse_circuits && chain_reuse(c))
		return;
	chain_build(c);
}

/*
 * Sets *out to the address a name such as "10.0.0.1" or "::1" spells, if it
 * spells one. Such a name is that address to any resolver; taken as one, it
 * meets the address rules (or the relay's policy) as an address sent as one
 * does, which matters most on a chain, where a name is never resolved here.
 */
static bool addr_literal(const struct proto_addr *dst, struct proto_addr *out)
{
	char s[INET6_ADDRSTRLEN];

	/* A NUL would end the text early: "10.0.0.1\0x" must stay a (refused) name. */
	if (dst->name_len >= sizeof(s) || memchr(dst->name, '\0', dst->name_len))
		return false;
	memcpy(s, dst->name, dst->name_len);
	s[dst->name_len] = '\0';
	memset(out, 0, sizeof(*out));
	out->port = dst->port;
	if (inet_pton(AF_INET, s, out->ip) == 1)
		out->type = PROTO_ADDR_IPV4;
	else if (inet_pton(AF_INET6, s, out->ip) == 1)
		out->type = PROTO_ADDR_IPV6;
	else
		return false;
	return true;
}

void client_connect(struct client *c, const struct proto_addr *dst)
{
	bool chain = c->lc->route && !c->lc->relay;
	struct proto_addr lit;

	if (dst->type == PROTO_ADDR_DOMAIN && addr_literal(dst, &lit))
		dst = &lit; /* before any rule: see addr_literal */
	c->dst_port = dst->port;
	c->naddrs = c->next_addr = 0;
	c->last_errno = 0;
	c->any_blocked = false;
	c->dst_name[0] = '\0';

	if (dst->type == PROTO_ADDR_DOMAIN) {
		if (!hostname_ok(dst->name, dst->name_len)) {
			client_fail(c, CERR_NOT_FOUND);
			return;
		}
		memcpy(c->dst_name, dst->name, dst->name_len);
		c->dst_name[dst->name_len] = '\0';
		if (rules_match_name(&c->conf->rules, c->dst_name, dst->name_len, dst->port) ==
		    RULE_BLOCK) {
			client_fail(c, CERR_NOT_ALLOWED);
			return;
		}
		if (chain) {
			chain_connect(c, dst); /* the name is resolved by the exit, never here */
			return;
		}
		/*
		 * A fresh client's lookup runs on its handshake timer. A kept-alive
		 * HTTP client's next request comes from PHASE_FORWARD, whose timer
		 * is the idle one and may be due at any moment (it is re-armed only
		 * when it fires): that would end the lookup with a 502, so the
		 * lookup gets a fresh request's handshake time instead.
		 */
		if (c->phase == PHASE_FORWARD)
			client_set_timer(c, c->conf->handshake_timeout);
		c->phase = PHASE_RESOLVING;
		c->rreq = resolver_lookup(c->srv->resolver, c->dst_name, on_resolved, c);
		if (!c->rreq)
			client_fail(c, CERR_GENERAL);
		return;
	}
	struct sockaddr_storage *ss = &c->addrs[0];
	memset(ss, 0, sizeof(*ss));
	if (dst->type == PROTO_ADDR_IPV4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, dst->ip, 4);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, dst->ip, 16);
	}
	c->naddrs = 1;
	if (chain) {
		if (!addr_allowed(c, ss)) {
			client_fail(c, CERR_NOT_ALLOWED);
			return;
		}
		/* addrs[] is about to hold the first relay: keep the destination for logs. */
		inet_ntop(dst->type == PROTO_ADDR_IPV4 ? AF_INET : AF_INET6, dst->ip, c->dst_name,
		          sizeof(c->dst_name));
		chain_connect(c, dst);
		return;
	}
	client_dial_next(c);
}
