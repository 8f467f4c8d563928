#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "secret.h"
#include "users.h"
#include "util.h"

#define USERS_FIELD_MAX 255 /* what RFC 1929 can carry */

struct user_entry {
	char *name;
	size_t name_len;
	char *pass;
	size_t pass_len;
	unsigned line; /* in the file, for errors */
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

/* Appends one entry (copies of the two fields); false if out of memory. */
static bool add_entry(struct users *u, size_t *cap, const char *name, size_t nlen, const char *pass,
                      size_t plen, unsigned line)
{
	if (u->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 8;
		struct user_entry *v = realloc(u->v, ncap * sizeof(*v));
		if (!v)
			return false;
		u->v = v;
		*cap = ncap;
	}
	/* No NUL inside either field (users_parse refuses it), so strndup copies all. */
	struct user_entry *e = &u->v[u->n];
	e->name = strndup(name, nlen);
	e->name_len = nlen;
	e->pass = strndup(pass, plen);
	e->pass_len = plen;
	e->line = line;
	if (!e->name || !e->pass) {
		entry_free(e);
		return false;
	}
	u->n++;
	return true;
}

static int by_name(const void *a, const void *b)
{
	const struct user_entry *x = *(const struct user_entry *const *)a;
	const struct user_entry *y = *(const struct user_entry *const *)b;
	if (x->name_len != y->name_len)
		return x->name_len < y->name_len ? -1 : 1;
	int d = memcmp(x->name, y->name, x->name_len);
	return d ? d : (x->line < y->line ? -1 : 1);
}

/*
 * A name listed twice would keep both passwords valid (an operator who
 * "changes" one by adding a line): refused, at the later line. Sorted, so
 * that a large file costs n log n, not n squared.
 */
static bool no_repeats(const struct users *u, const char *path, char *err, size_t errlen)
{
	const struct user_entry **by = malloc(u->n * sizeof(*by));
	if (!by) {
		snprintf(err, errlen, "%s: out of memory", path);
		return false;
	}
	for (size_t i = 0; i < u->n; i++)
		by[i] = &u->v[i];
	qsort(by, u->n, sizeof(*by), by_name);
	bool ok = true;
	for (size_t i = 1; i < u->n && ok; i++) {
		if (by[i]->name_len == by[i - 1]->name_len &&
		    memcmp(by[i]->name, by[i - 1]->name, by[i]->name_len) == 0) {
			snprintf(err, errlen, "%s:%u: this user is listed already, at line %u",
			         path, by[i]->line, by[i - 1]->line);
			ok = false;
		}
	}
	free(by);
	return ok;
}

struct users *users_parse(const char *text, size_t len, const char *path, char *err, size_t errlen)
{
	struct users *u = calloc(1, sizeof(*u));
	size_t cap = 0;
	unsigned lineno = 0;
	const char *p = text, *end = text + len;
	bool ok = u != NULL;

	if (!u)
		snprintf(err, errlen, "%s: out of memory", path);
	while (ok && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *line = p, *stop = nl ? nl : end;
		p = nl ? nl + 1 : end;
		lineno++;
		/* A NUL would cut a name or password short where C strings are used. */
		if (memchr(line, '\0', (size_t)(stop - line))) {
			snprintf(err, errlen, "%s:%u: a NUL byte in the line", path, lineno);
			ok = false;
			break;
		}
		while (stop > line && stop[-1] == '\r')
			stop--;
		if (stop == line || line[0] == '#')
			continue;
		const char *colon = memchr(line, ':', (size_t)(stop - line));
		if (!colon || colon == line || colon + 1 == stop) {
			snprintf(err, errlen, "%s:%u: expected user:password", path, lineno);
			ok = false;
			break;
		}
		size_t nlen = (size_t)(colon - line), plen = (size_t)(stop - colon - 1);
		if (nlen > USERS_FIELD_MAX || plen > USERS_FIELD_MAX) {
			snprintf(err, errlen, "%s:%u: user or password longer than 255 bytes", path,
			         lineno);
			ok = false;
			break;
		}
		if (!add_entry(u, &cap, line, nlen, colon + 1, plen, lineno)) {
			snprintf(err, errlen, "%s: out of memory", path);
			ok = false;
		}
	}
	if (ok && u->n == 0) {
		snprintf(err, errlen, "%s: no users defined", path);
		ok = false;
	}
	if (ok)
		ok = no_repeats(u, path, err, errlen);
	if (!ok) {
		users_free(u);
		return NULL;
	}
	return u;
}

struct users *users_load(const char *path, char *err, size_t errlen)
{
	struct stat st;
	size_t len, size;
	int fd = file_open_regular(path, &st, err, errlen);
	if (fd < 0)
		return NULL;
	if (st.st_mode & S_IROTH)
		log_warnx("%s: readable by other users; chmod o-r it", path);
	char *text = file_read_all(fd, &st, path, USERS_FILE_MAX, &len, &size, err, errlen);
	close(fd);
	if (!text)
		return NULL;
	struct users *u = users_parse(text, len, path, err, errlen);
	secret_wipe(text, size);
	free(text);
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
