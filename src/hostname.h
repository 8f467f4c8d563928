/* What nacre accepts as a host name, wherever one comes from. */
#ifndef NACRE_HOSTNAME_H
#define NACRE_HOSTNAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * True when (p, len) is 1 to 255 bytes of letters, digits, '-', '.' and '_'.
 * A name must pass this before it is looked up, logged or matched: SOCKS5 lets
 * a client send any byte, and a NUL or a control byte must never make the
 * lookup (or a log line) differ from what was asked.
 */
static inline bool hostname_ok(const uint8_t *p, size_t len)
{
	if (len == 0 || len > 255)
		return false;
	for (size_t i = 0; i < len; i++) {
		uint8_t ch = p[i];
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		          (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_';
		if (!ok)
			return false;
	}
	return true;
}

#endif
