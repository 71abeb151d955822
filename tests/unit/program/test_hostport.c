// SPDX-License-Identifier: GPL-2.0
/* HOST[:PORT] and [IPV6][:PORT]: the host and port split off, brackets for IPv6 only, ports
 * checked against the caller's lowest, and one-line reasons naming the part that is wrong. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "hostport.h"

static void test_good(void **state)
{
	static const struct {
		const char *in, *host;
		bool ipv6, has_port;
		unsigned int port;
	} good[] = {
		{ "plug.lab", "plug.lab", false, false, 0 },
		{ "192.0.2.7:10000", "192.0.2.7", false, true, 10000 },
		{ ":9477", "", false, true, 9477 },
		{ "h:0", "h", false, true, 0 },
		{ "h:00080", "h", false, true, 80 },
		{ "[::1]", "::1", true, false, 0 },
		{ "[2001:db8::7]:65535", "2001:db8::7", true, true, 65535 },
		{ "[::ffff:192.0.2.1]:1", "::ffff:192.0.2.1", true, true, 1 },
		/* What a host may be beyond its ':' is the caller's to say. */
		{ "user@host", "user@host", false, false, 0 },
		{ "", "", false, false, 0 },
	};
	static const char six[] = "[::1]:80";
	struct in6_addr want;
	struct hostport hp;
	char why[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (hostport_parse(good[i].in, "test", 0, &hp, why, sizeof(why)))
			fail_msg("'%s' refused: %s", good[i].in, why);
		assert_int_equal(hp.host_len, strlen(good[i].host));
		assert_memory_equal(hp.host, good[i].host, hp.host_len);
		assert_int_equal(hp.ipv6, good[i].ipv6);
		assert_int_equal(hp.has_port, good[i].has_port);
		assert_int_equal(hp.port, good[i].port);
	}
	/* The host points into the string, without its brackets; the address comes parsed. */
	assert_int_equal(hostport_parse(six, "test", 1, &hp, why, sizeof(why)), 0);
	assert_ptr_equal(hp.host, six + 1);
	assert_int_equal(inet_pton(AF_INET6, "::1", &want), 1);
	assert_memory_equal(&hp.addr6, &want, sizeof(want));
}

/* A port alone: the rules and reasons of the one after a ':'. */
static void test_port(void **state)
{
	static const char *const bad[] = { "", "0", "65536", "000080", "-1", "x", "8 0", ":80" };
	unsigned int port;
	char why[128];
	size_t i;

	(void)state;
	assert_int_equal(hostport_port("9477", "test", 1, &port, why, sizeof(why)), 0);
	assert_int_equal(port, 9477);
	assert_int_equal(hostport_port("0", "test", 0, &port, why, sizeof(why)), 0);
	assert_int_equal(port, 0);
	assert_int_equal(hostport_port("65535", "test", 1, &port, why, sizeof(why)), 0);
	assert_int_equal(port, 65535);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		port = 7;
		if (!hostport_port(bad[i], "test", 1, &port, why, sizeof(why)))
			fail_msg("'%s' accepted", bad[i]);
		assert_int_equal(port, 7);
	}
	assert_string_equal(why, "bad test port ':80': expected 1 to 65535");
}

static void test_bad(void **state)
{
	static const struct {
		const char *in, *why;
	} bad[] = {
		{ "::1", "bad test host '::1': an IPv6 address goes in brackets, [ADDR]:PORT" },
		{ "a:b:c", "bad test host 'a:b:c': an IPv6 address goes in brackets" },
		{ "h:", "bad test port '': expected 1 to 65535" },
		{ "h:0", "bad test port '0': expected 1 to 65535" },
		{ "h:65536", "bad test port '65536'" },
		{ "h:000080", "bad test port '000080'" },
		{ "h:123456789", "bad test port" },
		{ "h:-1", "bad test port '-1'" },
		{ "h:+80", "bad test port '+80'" },
		{ "h:http", "bad test port 'http'" },
		{ "h:8 0", "bad test port '8 0'" },
		{ "[::1", "bad test address '[::1': expected [IPV6] or [IPV6]:PORT" },
		{ "[]", "bad test address '[]'" },
		{ "[]:80", "bad test address '[]:80'" },
		/* Longer than any IPv6 address can be written. */
		{ "[0000:0000:0000:0000:0000:0000:0000:0000:0000:1]",
		  "bad test address '[0000:0000:0000:0000:0000:0000:0000:0000:0000:1]': expected" },
		{ "[plug]:1", "bad test address 'plug': not an IPv6 address" },
		{ "[1.2.3.4]:80", "bad test address '1.2.3.4': not an IPv6 address" },
		/* A zone id would need escaping in a URL. */
		{ "[fe80::1%eth0]", "bad test address 'fe80::1%eth0': not an IPv6 address" },
		{ "[::1]x", "bad test port in '[::1]x': expected [IPV6]:PORT" },
		{ "[::1]:", "bad test port ''" },
		{ "[::1]:80:90", "bad test port '80:90'" },
	};
	struct hostport hp;
	char why[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		if (!hostport_parse(bad[i].in, "test", 1, &hp, why, sizeof(why)))
			fail_msg("'%s' accepted", bad[i].in);
		if (strncmp(why, bad[i].why, strlen(bad[i].why)))
			fail_msg("'%s': '%s', not '%s'", bad[i].in, why, bad[i].why);
		assert_null(strchr(why, '\n'));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_port),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
