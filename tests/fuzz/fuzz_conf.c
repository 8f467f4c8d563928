/*
 * libFuzzer target for the config loader (src/conf.c, src/conf_relay.c and
 * the parsers they call: addresses, ranges, rules, exit policies, relay
 * keys, chains, routes): loads the input as a config file and abort()s when
 * the result breaks conf_load()'s contract:
 *  - it fails exactly when it writes an error, and every error starts with
 *    the file's name ("file:line: what is wrong", or "file: what" for what
 *    has no line);
 *  - loading the same bytes again gives the same answer;
 *  - a config it returns is freed whole (LeakSanitizer checks).
 *
 * Inputs with an @include directive are skipped: it would have libconfig
 * read other files of this machine. Key and users files that a config names
 * are opened as the daemon would (regular files only, bounded reads); next
 * to the config are a good key file, r.key, and a good users file, users,
 * so that relay and listener entries naming them can load.
 */
#include "config.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"

static void check(int ok)
{
	if (!ok)
		abort();
}

static char dir[] = "/tmp/nacre-fuzz-conf.XXXXXX";
static char path[sizeof(dir) + 16], key[sizeof(dir) + 16], users[sizeof(dir) + 16];

static void remove_dir(void)
{
	unlink(path);
	unlink(key);
	unlink(users);
	rmdir(dir);
}

static void put(const char *name, const void *p, size_t len)
{
	int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	check(fd >= 0);
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, (const char *)p + off, len - off);
		check(n > 0);
		off += (size_t)n;
	}
	close(fd);
}

static void write_input(const uint8_t *data, size_t size)
{
	if (!path[0]) {
		static const char key_text[] = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=\n";
		static const char users_text[] = "alice:wonderland\n";
		check(mkdtemp(dir) != NULL);
		snprintf(path, sizeof(path), "%s/nacre.conf", dir);
		snprintf(key, sizeof(key), "%s/r.key", dir);
		snprintf(users, sizeof(users), "%s/users", dir);
		atexit(remove_dir);
		put(key, key_text, sizeof(key_text) - 1);
		put(users, users_text, sizeof(users_text) - 1);
	}
	put(path, data, size);
}

/* Loads the file; returns whether it was taken, with the error in err. */
static int load(char *err, size_t errlen)
{
	struct cli_opts opts;
	memset(&opts, 0, sizeof(opts));
	opts.config_path = path;
	err[0] = '\0';
	struct conf *c = conf_load(&opts, err, errlen);
	check(memchr(err, '\0', errlen) != NULL);
	check((c == NULL) == (err[0] != '\0'));
	if (!c) {
		size_t n = strlen(path);
		check(strncmp(err, path, n) == 0 && err[n] == ':');
		return 0;
	}
	conf_unref(c);
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char include[] = "@include";
	if (size >= sizeof(include) - 1 && memmem(data, size, include, sizeof(include) - 1))
		return 0;
	write_input(data, size);

	char err[1024], again[1024];
	int ok = load(err, sizeof(err));
	check(load(again, sizeof(again)) == ok);
	check(strcmp(err, again) == 0);
	return 0;
}
