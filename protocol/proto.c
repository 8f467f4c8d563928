#include "config.h"

#include <string.h>

#include "proto.h"

struct proto_addr proto_addr_detach(const struct proto_addr *a, uint8_t name[PROTO_NAME_MAX])
{
	struct proto_addr d = *a;
	if (d.type == PROTO_ADDR_DOMAIN && d.name_len <= PROTO_NAME_MAX) {
		memcpy(name, d.name, d.name_len);
		d.name = name;
	}
	return d;
}

const char *proto_strerror(enum proto_status s)
{
	switch (s) {
	case PROTO_DONE:
		return "done";
	case PROTO_NEED_MORE:
		return "incomplete message";
	case PROTO_ERR_VERSION:
		return "unsupported protocol version";
	case PROTO_ERR_MALFORMED:
		return "malformed message";
	case PROTO_ERR_TOO_LONG:
		return "message too long";
	case PROTO_ERR_ADDRTYPE:
		return "unsupported address type";
	case PROTO_ERR_NO_HOST:
		return "missing or invalid host";
	case PROTO_ERR_LENGTH:
		return "invalid or conflicting Content-Length";
	case PROTO_ERR_FRAMING:
		return "invalid message framing";
	case PROTO_ERR_HEADER:
		return "invalid header line";
	}
	return "unknown status";
}
