// SPDX-License-Identifier: GPL-2.0
/* Edimax plug credentials: their file's permissions and lines, the environment over the file,
 * and the factory default. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "edimax_conf.h"
#include "edimax_fixture.h"

static const char *write_conf(const char *name, const char *text, mode_t mode)
{
	static char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmp, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
	setenv(EDIMAX_ENV_CONFIG, path, 1);
	return path;
}

static void test_creds_file(void **state)
{
	struct edimax_creds c;
	char why[256];

	(void)state;
	write_conf("good.conf", "# plug in the rack\n\n  user = rackadmin  \npassword=s3cret #x\n",
		   0600);
	assert_int_equal(edimax_load_creds(&c, why, sizeof(why)), 0);
	assert_string_equal(c.user, "rackadmin");
	/* Comments are whole lines: a password may contain '#'. */
	assert_string_equal(c.password, "s3cret #x");
	assert_false(c.factory);
	assert_non_null(strstr(c.source, "good.conf"));
	/* Only the password: the factory user. */
	write_conf("pw.conf", "password=abc\n", 0400);
	assert_int_equal(edimax_load_creds(&c, why, sizeof(why)), 0);
	assert_string_equal(c.user, "admin");
	assert_string_equal(c.password, "abc");
	assert_false(c.factory);
}

static void test_creds_permissions(void **state)
{
	static const mode_t bad[] = { 0640, 0604, 0620, 0602, 0666, 0644 };
	struct edimax_creds c;
	const char *path;
	char why[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_conf("open.conf", "user=a\npassword=b\n", bad[i]);
		why[0] = '\0';
		assert_int_equal(edimax_load_creds(&c, why, sizeof(why)), -1);
		assert_non_null(strstr(why, "readable or writable by others"));
		assert_non_null(strstr(why, "chmod 600"));
		assert_null(strchr(why, '\n'));
	}
	/* Executable bits do not expose anything. */
	write_conf("x.conf", "user=a\npassword=b\n", 0711);
	assert_int_equal(edimax_load_creds(&c, why, sizeof(why)), 0);
	/* Someone else's file. */
	path = write_conf("other.conf", "user=a\npassword=b\n", 0600);
	if (geteuid() == 0) {
		assert_int_equal(chown(path, 12345, 12345), 0);
		assert_int_equal(edimax_load_creds(&c, why, sizeof(why)), -1);
		assert_non_null(strstr(why, "uid 12345"));
	}
	/* Named and missing, a folder, bad lines. */
	setenv(EDIMAX_ENV_CONFIG, "/nonexistent/plug.conf", 1);
	assert_int_equal(edimax_load_creds(&c, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "No such file"));
	setenv(EDIMAX_ENV_CONFIG, tmp, 1);
	chmod(tmp, 0700);
	assert_int_equal(edimax_load_creds(&c, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "not a regular file"));
	write_conf("bad1.conf", "user admin\n", 0600);
	assert_int_equal(edimax_load_creds(&c, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "bad1.conf:1: expected"));
	write_conf("bad2.conf", "#\nuser=a\nhost=b\n", 0600);
	assert_int_equal(edimax_load_creds(&c, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "bad2.conf:3: unknown key 'host'"));
	write_conf("bad3.conf", "user=\n", 0600);
	assert_int_equal(edimax_load_creds(&c, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "empty user"));
}

static void test_creds_env_precedence(void **state)
{
	struct edimax_creds c;
	char why[256], longpw[300];

	(void)state;
	write_conf("base.conf", "user=fileuser\npassword=filepw\n", 0600);
	setenv(EDIMAX_ENV_PASSWORD, "envpw", 1);
	assert_int_equal(edimax_load_creds(&c, why, sizeof(why)), 0);
	assert_string_equal(c.user, "fileuser");
	assert_string_equal(c.password, "envpw");
	assert_non_null(strstr(c.source, "environment"));
	setenv(EDIMAX_ENV_USER, "envuser", 1);
	assert_int_equal(edimax_load_creds(&c, why, sizeof(why)), 0);
	assert_string_equal(c.user, "envuser");
	assert_string_equal(c.password, "envpw");
	/* Empty variables are unset ones. */
	setenv(EDIMAX_ENV_USER, "", 1);
	setenv(EDIMAX_ENV_PASSWORD, "", 1);
	assert_int_equal(edimax_load_creds(&c, why, sizeof(why)), 0);
	assert_string_equal(c.user, "fileuser");
	assert_string_equal(c.password, "filepw");
	/* The environment does not excuse a file open to others: it is refused all the same. */
	write_conf("open.conf", "password=x\n", 0644);
	setenv(EDIMAX_ENV_USER, "u", 1);
	setenv(EDIMAX_ENV_PASSWORD, "p", 1);
	assert_int_equal(edimax_load_creds(&c, why, sizeof(why)), -1);
	/* Environment only, and too long. */
	unsetenv(EDIMAX_ENV_CONFIG);
	if (access(EDIMAX_CONFIG_DEFAULT, F_OK) == 0)
		return;
	assert_int_equal(edimax_load_creds(&c, why, sizeof(why)), 0);
	assert_string_equal(c.user, "u");
	assert_string_equal(c.source, "the environment");
	memset(longpw, 'p', sizeof(longpw) - 1);
	longpw[sizeof(longpw) - 1] = '\0';
	setenv(EDIMAX_ENV_PASSWORD, longpw, 1);
	assert_int_equal(edimax_load_creds(&c, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "longer than"));
}

static void test_creds_factory(void **state)
{
	struct edimax_creds c;
	char why[256];

	(void)state;
	if (access(EDIMAX_CONFIG_DEFAULT, F_OK) == 0)
		skip();
	assert_int_equal(edimax_load_creds(&c, why, sizeof(why)), 0);
	assert_true(c.factory);
	assert_string_equal(c.user, "admin");
	assert_string_equal(c.password, "1234");
}
/* A FIFO named as the file is refused at once, not waited on for a writer. */
static void test_creds_fifo(void **state)
{
	struct edimax_creds c;
	char path[128], why[256];

	(void)state;
	snprintf(path, sizeof(path), "%s/fifo", tmp);
	assert_int_equal(mkfifo(path, 0600), 0);
	setenv(EDIMAX_ENV_CONFIG, path, 1);
	alarm(5);
	assert_int_equal(edimax_load_creds(&c, why, sizeof(why)), -1);
	alarm(0);
	assert_non_null(strstr(why, "not a regular file"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_creds_file, clear_env),
		cmocka_unit_test_setup(test_creds_permissions, clear_env),
		cmocka_unit_test_setup(test_creds_env_precedence, clear_env),
		cmocka_unit_test_setup(test_creds_factory, clear_env),
		cmocka_unit_test_setup(test_creds_fifo, clear_env),
	};

	return cmocka_run_group_tests(tests, make_tmp, remove_tmp);
}
