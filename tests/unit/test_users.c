/* The users file (src/users.c): what it accepts, what it refuses, and where it says so. */
#include "config.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "users.h"

static struct users *parse(const char *text, size_t len, char *err, size_t errlen)
{
	err[0] = '\0';
	return users_parse(text, len, "f", err, errlen);
}

static uint32_t check(const struct users *u, const char *user, const char *pass)
{
	return users_check(u, (const uint8_t *)user, strlen(user), (const uint8_t *)pass,
	                   strlen(pass));
}

static void test_accepts(void **state)
{
	(void)state;
	static const char text[] = "# users\n"
	                           "\n"
	                           "alice:secret\r\n"
	                           "bob:pa:ss\n"
	                           "  \t#not a comment:x\n"
	                           "carol:last line, no newline";
	char err[256];
	struct users *u = parse(text, sizeof(text) - 1, err, sizeof(err));
	assert_non_null(u);
	assert_string_equal(err, "");
	assert_int_equal(check(u, "alice", "secret"), 1);
	assert_int_equal(check(u, "alice", "secret\r"), 0); /* CR ends the line */
	assert_int_equal(check(u, "bob", "pa:ss"), 2);      /* the first colon splits */
	assert_int_equal(check(u, "  \t#not a comment", "x"), 3);
	assert_int_equal(check(u, "carol", "last line, no newline"), 4);
	assert_int_equal(check(u, "alice", "secre"), 0);
	assert_int_equal(check(u, "alic", "secret"), 0);
	assert_int_equal(check(u, "bob", "secret"), 0);
	users_free(u);
	users_free(NULL);
}

static void test_refuses(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		size_t len; /* 0: strlen */
		const char *err;
	} cases[] = {
	    {"alice\n", 0, "f:1: expected user:password"},
	    {"# ok\n:hunter2\n", 0, "f:2: expected user:password"},
	    {"a:b\nalice:\r\n", 0, "f:2: expected user:password"},
	    {"a:b\nal\0ice:hunter2\n", 18, "f:2: a NUL byte in the line"},
	    /* Before, this one loaded as alice with the password "hu". */
	    {"alice:hu\0nter2\n", 15, "f:1: a NUL byte in the line"},
	    {"# a comment\0\n", 13, "f:1: a NUL byte in the line"},
	    {"", 0, "f: no users defined"},
	    {"# only a comment\n\n\r\n", 0, "f: no users defined"},
	    /* Both passwords would work: a password "changed" by adding a line. */
	    {"a:1\nb:2\na:3\n", 0, "f:3: this user is listed already, at line 1"},
	    {"b:x\na:1\n# c\nc:3\na:1\n", 0, "f:5: this user is listed already, at line 2"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[256];
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].text);
		struct users *u = parse(cases[i].text, len, err, sizeof(err));
		assert_null(u);
		assert_string_equal(err, cases[i].err);
	}
}

static void test_field_lengths(void **state)
{
	(void)state;
	char text[600], err[256], name[300];
	memset(name, 'n', 255);
	name[255] = '\0';
	snprintf(text, sizeof(text), "%s:p\n", name);
	struct users *u = parse(text, strlen(text), err, sizeof(err));
	assert_non_null(u);
	assert_int_equal(check(u, name, "p"), 1);
	users_free(u);

	snprintf(text, sizeof(text), "u:%sX\n", name); /* a 256-byte password */
	assert_null(parse(text, strlen(text), err, sizeof(err)));
	assert_string_equal(err, "f:1: user or password longer than 255 bytes");
	snprintf(text, sizeof(text), "# x\n%sX:p\n", name);
	assert_null(parse(text, strlen(text), err, sizeof(err)));
	assert_string_equal(err, "f:2: user or password longer than 255 bytes");
}

/* A temporary directory for the file tests. */
static int tmpdir_setup(void **state)
{
	char *dir = strdup("/tmp/nacre-test-users.XXXXXX");
	if (!dir || !mkdtemp(dir)) {
		free(dir);
		return -1;
	}
	*state = dir;
	return 0;
}

static int tmpdir_teardown(void **state)
{
	char *dir = *state, path[256];
	static const char *const names[] = {"users", "fifo", "big", "sub"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (unlink(path) != 0)
			rmdir(path);
	}
	rmdir(dir);
	free(dir);
	return 0;
}

static void load_fails(const char *path, const char *what)
{
	char err[512], want[512];
	assert_null(users_load(path, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s: %s", path, what);
	assert_string_equal(err, want);
}

static void test_load(void **state)
{
	const char *dir = *state;
	char path[256], err[512];

	snprintf(path, sizeof(path), "%s/users", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "alice:secret\n", 13), 13);
	close(fd);
	struct users *u = users_load(path, err, sizeof(err));
	assert_non_null(u);
	assert_int_equal(check(u, "alice", "secret"), 1);
	users_free(u);

	/* Each of these used to hang the daemon at start or on SIGHUP. */
	snprintf(path, sizeof(path), "%s/fifo", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	load_fails(path, "not a regular file");
	load_fails("/dev/zero", "not a regular file");
	snprintf(path, sizeof(path), "%s/sub", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	load_fails(path, "not a regular file");

	snprintf(path, sizeof(path), "%s/big", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, USERS_FILE_MAX + 1), 0);
	close(fd);
	load_fails(path, "larger than 1048576 bytes");

	snprintf(path, sizeof(path), "%s/none", dir);
	load_fails(path, "cannot open: No such file or directory");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_accepts),
	    cmocka_unit_test(test_refuses),
	    cmocka_unit_test(test_field_lengths),
	    cmocka_unit_test_setup_teardown(test_load, tmpdir_setup, tmpdir_teardown),
	};
	return cmocka_run_group_tests_name("users file", tests, NULL, NULL);
}
