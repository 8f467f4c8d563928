/*
 * Reading the config file's text, and vetting every file it @includes,
 * before libconfig sees any of them.
 *
 * libconfig 1.5 opens an @include with a plain fopen() and reads it with a
 * flex scanner: a FIFO there blocks the process (the whole daemon, at a
 * SIGHUP) until something writes to it, and a directory makes the scanner
 * call exit(2) from inside the library. So each @include the config names,
 * at any depth, is checked first as the key and users files are: a regular
 * file, opened without waiting. libconfig then opens them again by name;
 * one swapped for a FIFO in between is the operator's own doing.
 *
 * The config itself may also be a pipe (`nacre -c <(make-config)`, or a
 * FIFO a script writes): it is read to its end, waited for as the operator
 * asked, and never through the scanner's own fopen().
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf_loader.h"
#include "util.h"

#define CONF_TEXT_MAX (1024 * 1024) /* a config, or one file it includes */
#define INCLUDE_DEPTH 10            /* libconfig 1.5's own limit */

/* An @included file: regular, opened without waiting. NULL with err set. */
static char *read_regular(const char *path, char *err, size_t errlen)
{
	struct stat st;
	int fd = file_open_regular(path, &st, err, errlen);
	if (fd < 0)
		return NULL;
	size_t len, size;
	char *text = file_read_all(fd, &st, path, CONF_TEXT_MAX, &len, &size, err, errlen);
	close(fd);
	return text;
}

/* The config itself: a regular file, or a pipe waited for. NULL with err set. */
static char *read_config(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	struct stat st;
	size_t len, size;
	char *text = NULL;
	if (fstat(fd, &st) != 0)
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	else if (S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode))
		text = file_read_all(fd, &st, path, CONF_TEXT_MAX, &len, &size, err, errlen);
	else
		snprintf(err, errlen, "%s: not a regular file or a pipe", path);
	close(fd);
	return text;
}

/*
 * The path of an @include line, as libconfig 1.5's scanner takes it: at the
 * start of a line (after blanks), "@include", blanks, then a string in
 * double quotes. Escapes are refused rather than read differently from
 * libconfig. p points at the line; false if it is no @include; *bad if it
 * is one that cannot be read.
 */
static bool include_path(const char *p, char *out, size_t cap, bool *bad)
{
	*bad = false;
	p += strspn(p, " \t");
	if (strncmp(p, "@include", 8) != 0)
		return false;
	p += 8;
	size_t blanks = strspn(p, " \t");
	if (blanks == 0 || p[blanks] != '"') {
		*bad = true;
		return true;
	}
	p += blanks + 1;
	size_t len = strcspn(p, "\"\\\n");
	if (p[len] != '"' || len == 0 || len >= cap) {
		*bad = true;
		return true;
	}
	memcpy(out, p, len);
	out[len] = '\0';
	return true;
}

/*
 * Checks every @include in text (the contents of path), depth levels down.
 * A line inside a block comment is checked too: that errs towards refusing
 * a commented-out @include of a missing file, never towards letting an
 * unchecked one through.
 */
static bool check_includes(const char *path, const char *text, int depth, char *err, size_t errlen)
{
	int line = 1;
	for (const char *p = text; *p; line++) {
		const char *eol = strchr(p, '\n');
		size_t n = eol ? (size_t)(eol - p) : strlen(p);
		char name[4096];
		bool bad;
		if (include_path(p, name, sizeof(name), &bad)) {
			if (bad) {
				snprintf(
				    err, errlen,
				    "%s:%d: @include: expected a quoted path, without escapes, "
				    "under 4096 bytes",
				    path, line);
				return false;
			}
			if (depth >= INCLUDE_DEPTH) {
				snprintf(err, errlen, "%s:%d: @include nested more than %d deep",
				         path, line, INCLUDE_DEPTH);
				return false;
			}
			char sub[512];
			char *inner = read_regular(name, sub, sizeof(sub));
			if (!inner) {
				snprintf(err, errlen, "%s:%d: @include: %s", path, line, sub);
				return false;
			}
			bool ok = check_includes(name, inner, depth + 1, err, errlen);
			free(inner);
			if (!ok)
				return false;
		}
		p += n + (eol != NULL);
	}
	return true;
}

char *conf_read_text(const char *path, char *err, size_t errlen)
{
	char *text = read_config(path, err, errlen);
	if (text && !check_includes(path, text, 0, err, errlen)) {
		free(text);
		text = NULL;
	}
	return text;
}
