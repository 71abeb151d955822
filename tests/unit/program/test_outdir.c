// SPDX-License-Identifier: GPL-2.0
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "outdir.h"

static char base[] = "/tmp/kt-outdir-XXXXXX";

static int make_base(void **state)
{
	(void)state;
	return mkdtemp(base) ? 0 : -1;
}

static int remove_base(void **state)
{
	char cmd[64];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", base);
	return system(cmd);
}

static void test_system_folders(void **state)
{
	(void)state;
	assert_true(outdir_is_system("/"));
	assert_true(outdir_is_system("/etc"));
	assert_true(outdir_is_system("/etc/cron.d"));
	assert_true(outdir_is_system("/usr/lib"));
	assert_true(outdir_is_system("/proc/self"));
	assert_false(outdir_is_system("/etcetera"));
	assert_false(outdir_is_system("/var/log/kvmtrace"));
	assert_false(outdir_is_system("/tmp"));
	assert_false(outdir_is_system("/srv/usr"));
}

static void test_good_and_created(void **state)
{
	char why[512], path[256];

	(void)state;
	assert_int_equal(outdir_check(base, false, why, sizeof(why)), 0);
	snprintf(path, sizeof(path), "%s/new", base);
	assert_int_equal(outdir_check(path, false, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "No such file or directory"));
	assert_non_null(strstr(why, "-o"));
	assert_int_equal(outdir_check(path, true, why, sizeof(why)), 0);
	assert_int_equal(access(path, F_OK), 0);
}

/* A missing folder is made with its parents, mode 0750, following no symbolic link. */
static void test_created_with_parents(void **state)
{
	char why[512], path[256], link[256];
	struct stat st;

	(void)state;
	snprintf(path, sizeof(path), "%s/a/b/c", base);
	assert_int_equal(outdir_check(path, true, why, sizeof(why)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0750);
	snprintf(path, sizeof(path), "%s/a", base);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0750);
	/* A link in the path of a folder to make is not written through. */
	snprintf(link, sizeof(link), "%s/link", base);
	assert_int_equal(symlink(base, link), 0);
	snprintf(path, sizeof(path), "%s/link/made", base);
	assert_int_equal(outdir_check(path, true, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "symbolic link"));
	snprintf(path, sizeof(path), "%s/made", base);
	assert_int_equal(access(path, F_OK), -1);
	/* Nor is one into a system folder, and nothing is made there. */
	assert_int_equal(outdir_check("/etc/kvmtrace-bpf-outdir-test/x", true, why, sizeof(why)),
			 -1);
	assert_non_null(strstr(why, "system folder"));
	assert_int_equal(access("/etc/kvmtrace-bpf-outdir-test", F_OK), -1);
	/* A file on the way. */
	snprintf(path, sizeof(path), "%s/plain", base);
	assert_int_equal(close(creat(path, 0600)), 0);
	snprintf(path, sizeof(path), "%s/plain/x", base);
	assert_int_equal(outdir_check(path, true, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "Not a directory"));
}

static void test_symlink_into_system(void **state)
{
	char why[512], path[256];

	(void)state;
	snprintf(path, sizeof(path), "%s/to-etc", base);
	assert_int_equal(symlink("/etc", path), 0);
	assert_int_equal(outdir_check(path, false, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "-> /etc is a system folder"));
	/* A symlink to a folder of one's own is fine. */
	snprintf(path, sizeof(path), "%s/to-base", base);
	assert_int_equal(symlink(base, path), 0);
	assert_int_equal(outdir_check(path, false, why, sizeof(why)), 0);
}

static void test_not_a_folder(void **state)
{
	char why[512], path[256];
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/file", base);
	f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(outdir_check(path, false, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "is not a folder"));
}

/* Root may write anywhere but on a read-only mount: that is the unwritable case. */
static void test_read_only(void **state)
{
	char why[512], path[256];

	(void)state;
	snprintf(path, sizeof(path), "%s/ro", base);
	assert_int_equal(mkdir(path, 0755), 0);
	if (mount("kt-ro", path, "tmpfs", MS_RDONLY, "size=64k")) {
		skip();
		return;
	}
	assert_int_equal(outdir_check(path, false, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "cannot write"));
	assert_non_null(strstr(why, "Read-only file system"));
	umount(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_system_folders),
		cmocka_unit_test(test_good_and_created),
		cmocka_unit_test(test_created_with_parents),
		cmocka_unit_test(test_symlink_into_system),
		cmocka_unit_test(test_not_a_folder),
		cmocka_unit_test(test_read_only),
	};

	return cmocka_run_group_tests_name("outdir", tests, make_base, remove_base);
}
