// SPDX-License-Identifier: GPL-2.0
/* power_open(): which specs open which source, and a one-line reason for every bad one. */
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

#include "edimax.h"
#include "power.h"

static char root[] = "/tmp/kt-power-XXXXXX";

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(root))
		return -1;
	/* Known credentials: no factory notice, no dependence on this machine's /etc. */
	setenv(EDIMAX_ENV_USER, "admin", 1);
	setenv(EDIMAX_ENV_PASSWORD, "1234", 1);
	unsetenv(EDIMAX_ENV_CONFIG);
	return 0;
}

static int teardown(void **state)
{
	char cmd[64];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	return system(cmd);
}

static void open_ok(const char *spec, const char *name)
{
	struct power_source *p;
	char why[256] = "";

	p = power_open(spec, root, 1.0, why, sizeof(why));
	if (!p)
		fail_msg("'%s' refused: %s", spec, why);
	assert_string_equal(power_source_name(p), name);
	power_close(p);
}

static void open_bad(const char *spec, const char *reason)
{
	char why[256] = "";

	if (power_open(spec, root, 1.0, why, sizeof(why)))
		fail_msg("'%s' accepted", spec);
	if (!strstr(why, reason))
		fail_msg("'%s': '%s' does not say '%s'", spec, why, reason);
	assert_null(strchr(why, '\n'));
}

static void test_edimax_specs(void **state)
{
	(void)state;
	/* Opening only starts the poller; closing at once sends nothing. */
	open_ok("edimax:127.0.0.1", "edimax");
	open_ok("edimax:127.0.0.1:1234", "edimax");
	open_ok("edimax:localhost:65535", "edimax");
	open_ok("edimax:[::1]:10000", "edimax");
	open_ok("edimax:[::1]", "edimax");

	open_bad("edimax", "needs a host");
	open_bad("edimax:", "no plug host");
	open_bad("edimax::80", "bad plug host");
	open_bad("edimax:host:", "bad plug port");
	open_bad("edimax:host:0", "bad plug port '0'");
	open_bad("edimax:host:65536", "bad plug port");
	open_bad("edimax:host:123456789", "bad plug port");
	open_bad("edimax:host:http", "bad plug port");
	open_bad("edimax:host:-1", "bad plug port");
	open_bad("edimax:::1", "in brackets");
	open_bad("edimax:fe80::1:10000", "in brackets");
	open_bad("edimax:[::1", "expected [IPV6]");
	open_bad("edimax:[]", "expected [IPV6]");
	open_bad("edimax:[plug]:1", "not an IPv6 address");
	open_bad("edimax:[fe80::1%eth0]", "not an IPv6 address");
	open_bad("edimax:[::1]x", "bad plug port");
	open_bad("edimax:[::1]:", "bad plug port");
	/* Nothing but a host may reach the URL. */
	open_bad("edimax:user@host", "letters, digits");
	open_bad("edimax:host/x?y", "letters, digits");
	open_bad("edimax:ho st", "letters, digits");
	open_bad("edimax:-host", "bad plug host");
	open_bad("edimax:.host", "bad plug host");
}

static void test_targets(void **state)
{
	char host[256], why[256];
	unsigned int port;

	(void)state;
	assert_int_equal(edimax_parse_target("plug.lab", host, sizeof(host), &port, why,
					     sizeof(why)), 0);
	assert_string_equal(host, "plug.lab");
	assert_int_equal(port, EDIMAX_DEFAULT_PORT);
	assert_int_equal(edimax_parse_target("sp-2101w_1:8080", host, sizeof(host), &port, why,
					     sizeof(why)), 0);
	assert_string_equal(host, "sp-2101w_1");
	assert_int_equal(port, 8080);
	/* Brackets stay: the host goes into the URL as it is. */
	assert_int_equal(edimax_parse_target("[2001:db8::7]:1", host, sizeof(host), &port, why,
					     sizeof(why)), 0);
	assert_string_equal(host, "[2001:db8::7]");
	assert_int_equal(port, 1);
	assert_int_equal(edimax_parse_target("[::ffff:192.0.2.1]", host, sizeof(host), &port, why,
					     sizeof(why)), 0);
	assert_string_equal(host, "[::ffff:192.0.2.1]");
	assert_int_equal(edimax_parse_target("abcdef", host, 4, &port, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "too long"));
}

static void test_other_specs(void **state)
{
	struct power_reading pr = { .valid = true, .watts = 1, .energy_j = 1 };
	struct power_source *p;
	char why[256];

	(void)state;
	open_ok("none", "none");
	/* No powercap in this root: the default is none, "rapl" by name still a rapl source. */
	open_ok(NULL, "none");
	open_ok("rapl", "rapl");
	open_bad("", "unknown power source ''");
	open_bad("RAPL", "unknown power source 'RAPL'");
	open_bad("plug:host", "expected edimax:HOST[:PORT], rapl or none");
	open_bad("none2", "unknown power source");

	p = power_open("none", root, 1.0, why, sizeof(why));
	assert_non_null(p);
	power_sample(p, 1.0, &pr);
	assert_false(pr.valid);
	assert_true(pr.watts == 0 && pr.energy_j == 0);
	power_close(p);
	power_close(NULL);
	assert_string_equal(power_source_name(NULL), "none");

	assert_null(power_open("none", root, 0, why, sizeof(why)));
	assert_non_null(strstr(why, "interval"));
}

static void test_credentials_refused(void **state)
{
	char path[128];
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/plug.conf", root);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("user=admin\npassword=secret\n", f);
	fclose(f);
	chmod(path, 0644);
	setenv(EDIMAX_ENV_CONFIG, path, 1);
	open_bad("edimax:127.0.0.1", "readable or writable by others");
	chmod(path, 0600);
	open_ok("edimax:127.0.0.1", "edimax");
	unsetenv(EDIMAX_ENV_CONFIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_edimax_specs),
		cmocka_unit_test(test_targets),
		cmocka_unit_test(test_other_specs),
		cmocka_unit_test(test_credentials_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
