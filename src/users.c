#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "secret.h"
#include "users.h"

#define USERS_FIELD_MAX 255 /* what RFC 1929 can carry */

struct user_entry {
	char *name;
	size_t name_len;
	char *pass;
	size_t pass_len;
};

struct users {
	struct user_entry *v;
	size_t n;
};

static void entry_free(struct user_entry *e)
{
	if (e->pass) {
		secret_wipe(e->pass, e->pass_len);
		free(e->pass);
	}
	free(e->name);
}

void users_free(struct users *u)
{
	if (!u)
		return;
	for (size_t i = 0; i < u->n; i++)
		entry_free(&u->v[i]);
	free(u->v);
	free(u);
}

struct users *users_load(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	struct stat st;
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & S_IROTH))
		log_warnx("%s: readable by other users; chmod o-r it", path);

	struct users *u = calloc(1, sizeof(*u));
	char line[1024];
	unsigned lineno = 0;
	bool ok = u != NULL;

	while (ok && fgets(line, sizeof(line), f)) {
		lineno++;
		size_t len = strlen(line);
		if (len == sizeof(line) - 1 && line[len - 1] != '\n') {
			snprintf(err, errlen, "%s:%u: line too long", path, lineno);
			ok = false;
			break;
		}
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0 || line[0] == '#')
			continue;
		char *colon = strchr(line, ':');
		if (!colon || colon == line || colon[1] == '\0') {
			snprintf(err, errlen, "%s:%u: expected user:password", path, lineno);
			ok = false;
			break;
		}
		size_t nlen = (size_t)(colon - line), plen = len - nlen - 1;
		if (nlen > USERS_FIELD_MAX || plen > USERS_FIELD_MAX) {
			snprintf(err, errlen, "%s:%u: user or password longer than 255 bytes", path,
			         lineno);
			ok = false;
			break;
		}
		struct user_entry *v = realloc(u->v, (u->n + 1) * sizeof(*v));
		if (!v) {
			ok = false;
			snprintf(err, errlen, "%s: out of memory", path);
			break;
		}
		u->v = v;
		struct user_entry *e = &u->v[u->n];
		e->name = strndup(line, nlen);
		e->name_len = nlen;
		e->pass = strndup(colon + 1, plen);
		e->pass_len = plen;
		if (!e->name || !e->pass) {
			entry_free(e);
			ok = false;
			snprintf(err, errlen, "%s: out of memory", path);
			break;
		}
		u->n++;
	}
	secret_wipe(line, sizeof(line));
	fclose(f);
	if (ok && u->n == 0) {
		snprintf(err, errlen, "%s: no users defined", path);
		ok = false;
	}
	if (!ok) {
		users_free(u);
		return NULL;
	}
	return u;
}

uint32_t users_check(const struct users *u, const uint8_t *user, size_t ulen, const uint8_t *pass,
                     size_t plen)
{
	uint32_t which = 0;
	/* Walk every entry, so the time does not tell which user name exists. */
	for (size_t i = 0; i < u->n; i++) {
		const struct user_entry *e = &u->v[i];
		bool name_ok = secret_equal((const uint8_t *)e->name, e->name_len, user, ulen);
		bool pass_ok = secret_equal((const uint8_t *)e->pass, e->pass_len, pass, plen);
		/* The first entry that matches, without a branch on it. */
		uint32_t mask = 0u - (uint32_t)(name_ok & pass_ok & (which == 0));
		which |= mask & (uint32_t)(i + 1);
	}
	return which;
}
