/*
 * libFuzzer target for src/users.c: parses the input as a users file and
 * abort()s when the result breaks its contract:
 *  - it fails exactly when it writes an error, and the error is
 *    "p:LINE: what" or "p: what" with one of the parser's own messages, so it
 *    never quotes the file (which holds passwords);
 *  - a file it takes holds exactly the entries a plain reading of the format
 *    finds (one "user:password" per line, split at the first colon, trailing
 *    CRs dropped, blank and '#' lines skipped), no user twice, and
 *    users_check() answers each with its own entry's number.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "users.h"

#define CHECKED_MAX 64 /* entries looked up per input */

static void check(int ok)
{
	if (!ok)
		abort();
}

struct field {
	const uint8_t *p;
	size_t len;
};

struct entry {
	struct field user, pass;
};

static int same(struct field a, struct field b)
{
	return a.len == b.len && memcmp(a.p, b.p, a.len) == 0;
}

/* The error's text after "p:" is "LINE: what" or " what", with a known what. */
static void check_error(const char *err)
{
	static const char *const with_line[] = {
	    "expected user:password",
	    "user or password longer than 255 bytes",
	    "a NUL byte in the line",
	};
	static const char *const without_line[] = {
	    "no users defined",
	    "out of memory",
	};
	check(strncmp(err, "p:", 2) == 0);
	const char *rest = err + 2;
	if (*rest == ' ') {
		for (size_t i = 0; i < sizeof(without_line) / sizeof(without_line[0]); i++)
			if (strcmp(rest + 1, without_line[i]) == 0)
				return;
		abort();
	}
	check(*rest >= '1' && *rest <= '9');
	unsigned long line = strtoul(rest, NULL, 10);
	while (*rest >= '0' && *rest <= '9')
		rest++;
	check(rest[0] == ':' && rest[1] == ' ');
	rest += 2;
	for (size_t i = 0; i < sizeof(with_line) / sizeof(with_line[0]); i++)
		if (strcmp(rest, with_line[i]) == 0)
			return;
	/* A repeated user: refused at the later line, naming the earlier one. */
	static const char again[] = "this user is listed already, at line ";
	check(strncmp(rest, again, sizeof(again) - 1) == 0);
	rest += sizeof(again) - 1;
	check(*rest >= '1' && *rest <= '9');
	char *tail;
	unsigned long first = strtoul(rest, &tail, 10);
	check(*tail == '\0' && first < line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256] = "";
	struct users *u = users_parse((const char *)data, size, "p", err, sizeof(err));
	check((u == NULL) == (err[0] != '\0'));
	check(memchr(err, '\0', sizeof(err)) != NULL);
	if (!u) {
		check_error(err);
		return 0;
	}

	static struct entry e[CHECKED_MAX];
	size_t n = 0;
	const uint8_t *p = data, *end = data + size;
	while (p < end && n < CHECKED_MAX) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		const uint8_t *line = p, *stop = nl ? nl : end;
		p = nl ? nl + 1 : end;
		check(memchr(line, '\0', (size_t)(stop - line)) == NULL);
		while (stop > line && stop[-1] == '\r')
			stop--;
		if (stop == line || line[0] == '#')
			continue;
		const uint8_t *colon = memchr(line, ':', (size_t)(stop - line));
		check(colon != NULL && colon != line && colon + 1 < stop);
		e[n].user = (struct field){line, (size_t)(colon - line)};
		e[n].pass = (struct field){colon + 1, (size_t)(stop - colon - 1)};
		check(e[n].user.len <= 255 && e[n].pass.len <= 255);
		n++;
	}
	check(n > 0);
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < i; j++)
			check(!same(e[j].user, e[i].user));
		check(users_check(u, e[i].user.p, e[i].user.len, e[i].pass.p, e[i].pass.len) ==
		      i + 1);
		/* One byte less of the password matches only an entry that has exactly that. */
		uint32_t shorter =
		    users_check(u, e[i].user.p, e[i].user.len, e[i].pass.p, e[i].pass.len - 1);
		struct field cut = {e[i].pass.p, e[i].pass.len - 1};
		if (shorter > n)
			check(n == CHECKED_MAX); /* an entry past those read here */
		else if (shorter)
			check(same(e[shorter - 1].user, e[i].user) &&
			      same(e[shorter - 1].pass, cut));
	}
	users_free(u);
	return 0;
}
