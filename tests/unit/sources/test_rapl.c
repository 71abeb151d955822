// SPDX-License-Identifier: GPL-2.0
/* RAPL through a fake powercap tree: which zones are summed, wraparound, exact watts, and the
 * absent, unreadable and failing cases. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "power.h"
#include "rapl.h"

static char root[] = "/tmp/kt-rapl-XXXXXX";
static char tree[128];		/* a fresh sysfs root per test */
static int trees;

static int make_root(void **state)
{
	(void)state;
	return mkdtemp(root) ? 0 : -1;
}

static int remove_root(void **state)
{
	char cmd[64];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	return system(cmd);
}

static void put(const char *zone, const char *file, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/class/powercap/%s", tree, zone);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/class/powercap/%s/%s", tree, zone, file);
	/* In place: rapl keeps energy_uj open and must see the new value through the same file. */
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "%s\n", text);
	fclose(f);
}

static void set_energy(const char *zone, uint64_t uj)
{
	char v[32];

	snprintf(v, sizeof(v), "%" PRIu64, uj);
	put(zone, "energy_uj", v);
}

static void zone(const char *dir, const char *name, uint64_t uj, uint64_t max)
{
	char v[32];

	put(dir, "name", name);
	set_energy(dir, uj);
	snprintf(v, sizeof(v), "%" PRIu64, max);
	put(dir, "max_energy_range_uj", v);
}

static void new_tree(void)
{
	char path[256];

	snprintf(tree, sizeof(tree), "%s/t%d", root, trees++);
	mkdir(tree, 0755);
	snprintf(path, sizeof(path), "%s/class", tree);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/class/powercap", tree);
	mkdir(path, 0755);
}

#define MAX_UJ 262143328850ULL

/* A two-socket Intel server: packages, core/uncore inside them, dram beside them, psys over
 * everything, and the MMIO twin of package 0. */
static void server_tree(void)
{
	new_tree();
	put("intel-rapl", "enabled", "1");
	zone("intel-rapl:0", "package-0", 1000000, MAX_UJ);
	zone("intel-rapl:0:0", "core", 500000, MAX_UJ);
	zone("intel-rapl:0:1", "uncore", 100000, MAX_UJ);
	zone("intel-rapl:0:2", "dram", 2000000, MAX_UJ);
	zone("intel-rapl:1", "package-1", 3000000, MAX_UJ);
	zone("intel-rapl:1:0", "core", 600000, MAX_UJ);
	zone("intel-rapl:1:1", "dram", 4000000, MAX_UJ);
	zone("intel-rapl:2", "psys", 9000000, MAX_UJ);
	zone("intel-rapl-mmio:0", "package-0", 1000000, MAX_UJ);
}

static void test_sum_packages_and_dram(void **state)
{
	struct rapl *r;
	char why[256];
	double j = -1, span = -1;

	(void)state;
	server_tree();
	r = rapl_open(tree, why, sizeof(why));
	if (!r)
		fail_msg("rapl_open: %s", why);
	assert_string_equal(rapl_describe(r), "2 packages and 2 dram zones");
	set_energy("intel-rapl:0", 1000000 + 10000000);		/* 10 J */
	set_energy("intel-rapl:0:2", 2000000 + 2000000);	/* 2 J */
	set_energy("intel-rapl:1", 3000000 + 20000000);		/* 20 J */
	set_energy("intel-rapl:1:1", 4000000 + 3000000);	/* 3 J */
	/* Inside the packages or over them: must not count. */
	set_energy("intel-rapl:0:0", 500000 + 7000000);
	set_energy("intel-rapl:0:1", 100000 + 1000000);
	set_energy("intel-rapl:1:0", 600000 + 9000000);
	set_energy("intel-rapl:2", 9000000 + 90000000);
	set_energy("intel-rapl-mmio:0", 1000000 + 10000000);
	assert_true(rapl_sample(r, &j, &span));
	assert_true(j == 35.0);
	assert_true(span > 0 && span < 1);
	/* Nothing happened: zero, not invalid. */
	assert_true(rapl_sample(r, &j, &span));
	assert_true(j == 0.0);
	rapl_close(r);
}

static void test_wraparound(void **state)
{
	struct rapl *r;
	char why[256];
	double j = -1, span;

	(void)state;
	new_tree();
	zone("intel-rapl:0", "package-0", 999000, 1000000);
	zone("intel-rapl:0:0", "dram", 10, 1000000);
	r = rapl_open(tree, why, sizeof(why));
	assert_non_null(r);
	/* 1000 uJ to the wrap, 500 after it; dram does not wrap. */
	set_energy("intel-rapl:0", 500);
	set_energy("intel-rapl:0:0", 1010);
	assert_true(rapl_sample(r, &j, &span));
	assert_true(j == 0.0025);
	rapl_close(r);

	/* Without a known range, a counter that goes back was reset: no energy can be told. */
	new_tree();
	zone("intel-rapl:0", "package-0", 5000, MAX_UJ);
	zone("intel-rapl:1", "package-1", 5000, MAX_UJ);
	put("intel-rapl:1", "max_energy_range_uj", "unknown");
	r = rapl_open(tree, why, sizeof(why));
	assert_non_null(r);
	set_energy("intel-rapl:0", 6000);
	set_energy("intel-rapl:1", 100);
	assert_false(rapl_sample(r, &j, &span));
	/* ...and counting resumes from there. */
	set_energy("intel-rapl:0", 7000);
	set_energy("intel-rapl:1", 1100);
	assert_true(rapl_sample(r, &j, &span));
	assert_true(j == 0.002);
	rapl_close(r);
}

static void usleep_s(double s)
{
	usleep((useconds_t)(s * 1e6));
}

/* Power is the counters' delta over the time between their reads; energy is that power over
 * the interval. */
static void test_watts_through_power(void **state)
{
	struct power_reading pr;
	struct power_source *p;
	char why[256];

	(void)state;
	server_tree();
	p = power_open("rapl", tree, 0.2, why, sizeof(why));
	assert_non_null(p);
	assert_string_equal(power_source_name(p), "rapl");
	/* The baseline taken at open makes the first interval valid, even when that interval
	 * (0.1 s here) began well after the open: 60 J over the 0.3 s since is 200 W. */
	usleep_s(0.3);
	set_energy("intel-rapl:0", 1000000 + 40000000);
	set_energy("intel-rapl:1:1", 4000000 + 20000000);
	power_sample(p, 0.1, &pr);
	assert_true(pr.valid);
	assert_true(pr.watts > 200 * 0.9 && pr.watts <= 200);
	assert_true(pr.energy_j == pr.watts * 0.1);
	/* Steady state: energy is the delta, 40 J over 0.2 s. */
	usleep_s(0.2);
	set_energy("intel-rapl:0", 1000000 + 70000000);
	set_energy("intel-rapl:1:1", 4000000 + 30000000);
	power_sample(p, 0.2, &pr);
	assert_true(pr.valid);
	assert_true(pr.watts > 200 * 0.9 && pr.watts <= 200);
	assert_true(pr.energy_j > 40 * 0.9 && pr.energy_j <= 40);
	power_close(p);
	/* The default picks RAPL too when it is readable. */
	p = power_open(NULL, tree, 1.0, why, sizeof(why));
	assert_non_null(p);
	assert_string_equal(power_source_name(p), "rapl");
	power_sample(p, 1.0, &pr);
	assert_true(pr.valid);
	assert_true(pr.watts == 0);
	power_close(p);
}

/* AMD Zen: the same driver and names, a core sub-zone, no dram; multi-die package names. */
static void test_amd_and_dies(void **state)
{
	struct rapl *r;
	char why[256];
	double j, span;

	(void)state;
	new_tree();
	zone("intel-rapl:0", "package-0", 0, MAX_UJ);
	zone("intel-rapl:0:0", "core", 0, MAX_UJ);
	r = rapl_open(tree, why, sizeof(why));
	assert_non_null(r);
	assert_string_equal(rapl_describe(r), "1 package and 0 dram zones");
	set_energy("intel-rapl:0", 5000000);
	set_energy("intel-rapl:0:0", 4000000);
	assert_true(rapl_sample(r, &j, &span));
	assert_true(j == 5.0);
	rapl_close(r);

	new_tree();
	zone("intel-rapl:0", "package-0-die-0", 0, MAX_UJ);
	zone("intel-rapl:1", "package-0-die-1", 0, MAX_UJ);
	r = rapl_open(tree, why, sizeof(why));
	assert_non_null(r);
	assert_string_equal(rapl_describe(r), "2 packages and 0 dram zones");
	rapl_close(r);
}

static void test_absent(void **state)
{
	struct power_reading pr;
	struct power_source *p;
	char why[256] = "";

	(void)state;
	new_tree();
	assert_null(rapl_open(tree, why, sizeof(why)));
	assert_non_null(strstr(why, "no RAPL package zone"));
	/* psys alone is not the host's power without double counting: no RAPL. */
	zone("intel-rapl:0", "psys", 0, MAX_UJ);
	assert_null(rapl_open(tree, why, sizeof(why)));
	assert_null(rapl_open("/nonexistent", why, sizeof(why)));
	assert_non_null(strstr(why, "/nonexistent/class/powercap"));

	/* The default falls back to none; "rapl" asked for by name gives a RAPL source whose
	 * readings are invalid. */
	p = power_open(NULL, "/nonexistent", 1.0, why, sizeof(why));
	assert_non_null(p);
	assert_string_equal(power_source_name(p), "none");
	power_sample(p, 1.0, &pr);
	assert_false(pr.valid);
	power_close(p);
	p = power_open("rapl", "/nonexistent", 1.0, why, sizeof(why));
	assert_non_null(p);
	assert_string_equal(power_source_name(p), "rapl");
	power_sample(p, 1.0, &pr);
	assert_false(pr.valid);
	power_close(p);
}

static void test_unreadable(void **state)
{
	char path[256], why[256];
	int status;
	pid_t pid;

	(void)state;
	if (geteuid() != 0)
		skip();
	server_tree();
	/* What the kernel does since CVE-2020-8694: energy_uj is root's alone. */
	snprintf(path, sizeof(path), "%s/class/powercap/intel-rapl:1/energy_uj", tree);
	assert_int_equal(chmod(path, 0400), 0);
	assert_int_equal(chmod(root, 0755), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		if (setgid(65534) || setuid(65534))
			_exit(2);
		if (rapl_open(tree, why, sizeof(why)))
			_exit(3);
		_exit(strstr(why, "not readable") && strstr(why, "CVE-2020-8694") ? 0 : 4);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_read_fails(void **state)
{
	struct rapl *r;
	char why[256];
	double j, span;

	(void)state;
	server_tree();
	r = rapl_open(tree, why, sizeof(why));
	assert_non_null(r);
	put("intel-rapl:1:1", "energy_uj", "garbage");
	assert_false(rapl_sample(r, &j, &span));
	assert_false(rapl_sample(r, &j, &span));
	/* Back: the first good read is a new baseline (the failed intervals' energy is
	 * unknown), the next one counts. */
	set_energy("intel-rapl:1:1", 5000000);
	assert_false(rapl_sample(r, &j, &span));
	set_energy("intel-rapl:1:1", 6000000);
	assert_true(rapl_sample(r, &j, &span));
	assert_true(j == 1.0);
	rapl_close(r);
	/* A zone whose counter cannot be opened at all is no RAPL: a partial sum would lie. */
	server_tree();
	put("intel-rapl:0:2", "energy_uj", "1");
	snprintf(why, sizeof(why), "%s/class/powercap/intel-rapl:0:2/energy_uj", tree);
	assert_int_equal(unlink(why), 0);
	assert_null(rapl_open(tree, why, sizeof(why)));
	assert_non_null(strstr(why, "intel-rapl:0:2/energy_uj"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sum_packages_and_dram),
		cmocka_unit_test(test_wraparound),
		cmocka_unit_test(test_watts_through_power),
		cmocka_unit_test(test_amd_and_dies),
		cmocka_unit_test(test_absent),
		cmocka_unit_test(test_unreadable),
		cmocka_unit_test(test_read_fails),
	};

	return cmocka_run_group_tests(tests, make_root, remove_root);
}
