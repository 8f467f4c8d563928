#include "config.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "circuit.h"
#include "hop.h"
#include "relay.h"
#include "secret.h"

bool circuit_build_with(struct sealed *s, const uint8_t (*pks)[32],
                        const struct proto_addr *next_hops, unsigned n,
                        const struct proto_addr *dst, const uint8_t *early, size_t early_len,
                        uint64_t now, const uint8_t *seeds, const uint8_t *nonces, struct buf *out)
{
	size_t flen = relay_flight_len(early_len);
	uint8_t hdr[RELAY_HDR_LEN];
	bool ok = false;

	if (n == 0 || n > RELAY_MAX_HOPS || n != s->n || early_len > RELAY_EARLY_MAX)
		return false;
	uint8_t *blob = calloc(1, flen), *layer = calloc(1, flen);
	if (!blob || !layer)
		goto out;
	for (unsigned k = 0; k < n; k++) {
		if (!hop_client_init(&s->hops[k], pks[k], seeds + 32 * k))
			goto out;
		s->hops[k].offered = s->offer;
	}

	/* The exit's blob: early data, then zero filler up to its fixed size. */
	size_t blen = relay_blob_len(n, n, early_len);
	if (early_len)
		memcpy(blob, early, early_len);
	for (unsigned k = n; k-- > 0;) {
		struct relay_hdr h = {
		    .cmd = k == n - 1 ? RELAY_CMD_CONNECT : RELAY_CMD_EXTEND,
		    .timestamp = now,
		    .blob_len = (uint32_t)blen,
		    .data_len = (uint32_t)(k == n - 1 ? early_len : blen),
		    .skip = (uint16_t)relay_skip_len(k + 1),
		    .suites = s->offer,
		    .flags = k == n - 1 && s->reuse ? RELAY_FLAG_REUSE : 0,
		    .dst = k == n - 1 ? *dst : next_hops[k],
		};
		if (relay_hdr_encode(hdr, sizeof(hdr), &h) == 0)
			goto out;
		size_t llen = hop_flight_seal(&s->hops[k], nonces + RELAY_NONCE_LEN * k, hdr, blob,
		                              blen, layer, flen);
		if (llen == 0)
			goto out;
		/* This layer is the blob of the hop before it. */
		memcpy(blob, layer, llen);
		blen = llen;
	}
	ok = blen == flen && buf_append(out, blob, blen);
out:
	/* The plaintext layers name the destination and hold early data. */
	if (blob)
		secret_wipe(blob, flen);
	if (layer)
		secret_wipe(layer, flen);
	free(blob);
	free(layer);
	return ok;
}

static void sockaddr_to_proto(const struct sockaddr_storage *ss, struct proto_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
		a->type = PROTO_ADDR_IPV4;
		memcpy(a->ip, &sin->sin_addr, 4);
		a->port = ntohs(sin->sin_port);
	} else {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
		a->type = PROTO_ADDR_IPV6;
		memcpy(a->ip, &sin6->sin6_addr, 16);
		a->port = ntohs(sin6->sin6_port);
	}
}

bool circuit_build(struct sealed *s, const struct chain_conf *chain, const struct proto_addr *dst,
                   const uint8_t *early, size_t early_len, uint64_t now, struct buf *out)
{
	uint8_t pks[RELAY_MAX_HOPS][32];
	uint8_t seeds[RELAY_MAX_HOPS * 32];
	uint8_t nonces[RELAY_MAX_HOPS * RELAY_NONCE_LEN];
	struct proto_addr next[RELAY_MAX_HOPS];
	unsigned n = chain->nhops;

	for (unsigned k = 0; k < n; k++) {
		memcpy(pks[k], chain->hops[k]->pk, 32);
		/* Hop k's header names hop k+1. */
		if (k + 1 < n)
			sockaddr_to_proto(&chain->hops[k + 1]->addr, &next[k]);
	}
	hop_random(seeds, 32 * n);
	hop_random(nonces, RELAY_NONCE_LEN * n);
	bool ok = circuit_build_with(s, (const uint8_t(*)[32])pks, next, n, dst, early, early_len,
	                             now, seeds, nonces, out);
	secret_wipe(seeds, sizeof(seeds));
	return ok;
}
