// SPDX-License-Identifier: GPL-2.0
/* Settings and secrets files: what each kind lets group and others do, files of other users,
 * what is not a regular file (a FIFO without waiting for a writer), and the messages. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdbool.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "secfile.h"

static char dir[] = "/tmp/kt-secfile-XXXXXX";

static int make_dir(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
	char cmd[64];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

/* A file of dir holding "text\n", with mode. */
static const char *file(const char *name, mode_t mode)
{
	static char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("text\n", f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
	return path;
}

/* errno after the last refusal. */
static int refused_errno;

/* Opens path as kind: true when it opened (and reads "text"), else why is the message. */
static bool opens(const char *path, enum secfile_kind kind, char *why, size_t len)
{
	char line[16];
	FILE *f;

	why[0] = '\0';
	f = secfile_open(path, kind, "test file", why, len);
	if (!f) {
		refused_errno = errno;
		assert_true(why[0] && !strchr(why, '\n'));
		return false;
	}
	assert_non_null(fgets(line, sizeof(line), f));
	assert_string_equal(line, "text\n");
	fclose(f);
	return true;
}

static void test_modes(void **state)
{
	static const struct {
		mode_t mode;
		bool settings, secret;
	} cases[] = {
		{ 0600, true, true }, { 0400, true, true }, { 0700, true, true },
		{ 0711, true, true }, { 0644, true, false }, { 0640, true, false },
		{ 0604, true, false }, { 0755, true, false }, { 0620, false, false },
		{ 0602, false, false }, { 0666, false, false }, { 0660, false, false },
	};
	char why[256], name[16];
	const char *path;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(name, sizeof(name), "m%04o", (unsigned int)cases[i].mode);
		path = file(name, cases[i].mode);
		if (opens(path, SECFILE_SETTINGS, why, sizeof(why)) != cases[i].settings)
			fail_msg("mode %04o as settings: %s", (unsigned int)cases[i].mode, why);
		if (!cases[i].settings)
			assert_non_null(strstr(why, "is writable by group or others"));
		if (opens(path, SECFILE_SECRET, why, sizeof(why)) != cases[i].secret)
			fail_msg("mode %04o as a secret: %s", (unsigned int)cases[i].mode, why);
		if (!cases[i].secret)
			assert_non_null(strstr(why, "readable or writable by others"));
	}
	path = file("open", 0666);
	assert_false(opens(path, SECFILE_SETTINGS, why, sizeof(why)));
	assert_int_equal(refused_errno, EACCES);
	assert_true(strncmp(why, "test file '", 11) == 0);
	assert_non_null(strstr(why, "' is writable by group or others (mode 0666): chmod go-w it"));
	assert_false(opens(path, SECFILE_SECRET, why, sizeof(why)));
	assert_non_null(strstr(why, "(mode 0666): chmod 600 it"));
}

static void test_owner(void **state)
{
	const char *path = file("theirs", 0600);
	char why[256];

	(void)state;
	if (geteuid() != 0)
		skip();
	assert_int_equal(chown(path, 12345, 12345), 0);
	assert_false(opens(path, SECFILE_SETTINGS, why, sizeof(why)));
	assert_int_equal(refused_errno, EACCES);
	assert_non_null(strstr(why, "belongs to uid 12345, not to root or this user"));
	assert_false(opens(path, SECFILE_SECRET, why, sizeof(why)));
	/* Root's own. */
	assert_int_equal(chown(path, 0, 0), 0);
	assert_true(opens(path, SECFILE_SECRET, why, sizeof(why)));
}

static void test_not_regular(void **state)
{
	char why[256], fifo[128], missing[128], want[256];

	(void)state;
	assert_false(opens(dir, SECFILE_SETTINGS, why, sizeof(why)));
	assert_non_null(strstr(why, "is not a regular file"));
	/* Refused at once: a FIFO nobody writes to would block a plain open. */
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	alarm(5);
	assert_false(opens(fifo, SECFILE_SECRET, why, sizeof(why)));
	alarm(0);
	assert_non_null(strstr(why, "is not a regular file"));
	snprintf(missing, sizeof(missing), "%s/missing", dir);
	assert_false(opens(missing, SECFILE_SETTINGS, why, sizeof(why)));
	assert_int_equal(refused_errno, ENOENT);
	snprintf(want, sizeof(want), "cannot read test file '%s': No such file or directory",
		 missing);
	assert_string_equal(why, want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_modes),
		cmocka_unit_test(test_owner),
		cmocka_unit_test(test_not_regular),
	};

	return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
