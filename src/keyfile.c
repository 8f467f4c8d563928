#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hop.h"
#include "keyfile.h"
#include "secret.h"
#include "util.h"

#define KEYFILE_B64_LEN 44 /* base64 of 32 bytes: 43 characters and one '=' */

bool keyfile_load(const char *path, struct relay_key *k, char *err, size_t errlen)
{
	/* One byte more than a valid file holds, to tell a longer file apart. */
	char text[KEYFILE_B64_LEN + 2];
	uint8_t sk[32];
	size_t len = 0;
	struct stat st;
	bool ok = false;

	int fd = file_open_regular(path, &st, err, errlen);
	if (fd < 0)
		return false;
	if (st.st_mode & 077) {
		snprintf(err, errlen, "%s: readable by group or others; chmod 600 it", path);
		goto out;
	}
	ssize_t n = file_read_upto(fd, path, text, sizeof(text), err, errlen);
	if (n < 0)
		goto out;
	len = (size_t)n;
	if (len > 0 && text[len - 1] == '\n')
		len--;
	if (len != KEYFILE_B64_LEN || secret_base64_decode(sk, sizeof(sk), text, len) != 32) {
		snprintf(err, errlen,
		         "%s: not a key file: expected one line, the base64 of a 32-byte secret "
		         "(nacre keygen makes one)",
		         path);
		goto out;
	}
	if (!relay_key_from_secret(k, sk)) {
		snprintf(err, errlen, "%s: not a usable X25519 secret", path);
		goto out;
	}
	ok = true;
out:
	secret_wipe(text, sizeof(text));
	secret_wipe(sk, sizeof(sk));
	close(fd);
	return ok;
}

static bool write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

bool keyfile_create(const char *path, const uint8_t sk[32], char *err, size_t errlen)
{
	char text[KEYFILE_B64_LEN + 2];

	/*
	 * O_EXCL: never replace a key (a relay's identity) by mistake; O_NOFOLLOW:
	 * never write a secret where a planted link points.
	 */
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		if (errno == EEXIST)
			snprintf(err, errlen, "%s: exists already; a key is never overwritten",
			         path);
		else
			snprintf(err, errlen, "%s: cannot create: %s", path, strerror(errno));
		return false;
	}
	size_t len = secret_base64_encode(text, sizeof(text), sk, 32);
	text[len++] = '\n';
	bool ok = len == KEYFILE_B64_LEN + 1 && write_all(fd, text, len) && fsync(fd) == 0;
	if (!ok)
		snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
	secret_wipe(text, sizeof(text));
	if (close(fd) != 0 && ok) {
		snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
		ok = false;
	}
	if (!ok)
		unlink(path);
	return ok;
}
