// SPDX-License-Identifier: GPL-2.0
/*
 * Prometheus endpoint: listen addresses, real HTTP requests on loopback (content negotiation,
 * errors, HEAD), listen failures. What the exposition holds is test_metrics_store.c's.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "metrics.h"
#include "records.h"

static struct metrics_server *open_server(void)
{
	char why[256] = "";
	struct metrics_server *m = metrics_open("127.0.0.1:0", why, sizeof(why));

	if (!m || metrics_start(m, why, sizeof(why)))
		fail_msg("metrics_open: %s", why);
	assert_true(metrics_port(m) > 0);
	return m;
}

/* [ADDR:]PORT: a bare number is the port, 127.0.0.1 when no address; numeric addresses only. */
static void test_parse_listen(void **state)
{
	static const struct {
		const char *in;
		unsigned int min_port;
		int family;
		const char *addr;
		int port;
	} good[] = {
		{ "9477", 1, AF_INET, "127.0.0.1", 9477 },
		{ ":9477", 1, AF_INET, "127.0.0.1", 9477 },
		{ "0.0.0.0:80", 1, AF_INET, "0.0.0.0", 80 },
		{ "192.0.2.7:65535", 1, AF_INET, "192.0.2.7", 65535 },
		{ "255.255.255.255:00080", 1, AF_INET, "255.255.255.255", 80 },
		{ "[::1]:9477", 1, AF_INET6, "::1", 9477 },
		{ "[::]:1", 1, AF_INET6, "::", 1 },
		{ "[::ffff:192.0.2.1]:80", 1, AF_INET6, "::ffff:192.0.2.1", 80 },
		/* Port 0, the kernel's choice, only where the caller takes it. */
		{ "0", 0, AF_INET, "127.0.0.1", 0 },
		{ ":0", 0, AF_INET, "127.0.0.1", 0 },
		{ "[::1]:0", 0, AF_INET6, "::1", 0 },
	};
	static const struct {
		const char *in, *why;
	} bad[] = {
		{ "", "bad listen port '': expected 1 to 65535" },
		{ ":", "bad listen port '': expected 1 to 65535" },
		{ "x", "bad listen port 'x': expected 1 to 65535" },
		{ "0", "bad listen port '0': expected 1 to 65535" },
		{ ":0", "bad listen port '0': expected 1 to 65535" },
		{ "[::1]:0", "bad listen port '0': expected 1 to 65535" },
		{ "65536", "bad listen port '65536'" },
		{ "127.0.0.1:65536", "bad listen port '65536'" },
		{ "123456", "bad listen port '123456'" },
		{ "-1", "bad listen port '-1'" },
		{ "+80", "bad listen port '+80'" },
		{ "94 77", "bad listen port '94 77'" },
		{ "1.2.3.4:", "bad listen port ''" },
		{ "localhost:9477", "bad listen address 'localhost': give a numeric one, e.g. "
				    "0.0.0.0:9477, or an IPv6 one in brackets, [::1]:9477" },
		/* inet_aton's forms and what would not fit an IPv4 address. */
		{ "1.2.3:80", "bad listen address '1.2.3': give a numeric one" },
		{ "0x7f.0.0.1:80", "bad listen address '0x7f.0.0.1'" },
		{ "1234567890.1234567890:80", "bad listen address '1234567890.1234567890'" },
		{ "::1:9477", "bad listen host '::1:9477': an IPv6 address goes in brackets" },
		{ "1.2.3.4:80:90", "bad listen host '1.2.3.4:80:90'" },
		{ "[::1]", "bad listen address '[::1]': it needs a port, e.g. [::1]:9477" },
		{ "[::1]:", "bad listen port ''" },
		{ "[::1]9477", "bad listen port in '[::1]9477': expected [IPV6]:PORT" },
		{ "[::1", "bad listen address '[::1': expected [IPV6] or [IPV6]:PORT" },
		{ "[]:80", "bad listen address '[]:80'" },
		{ "[1.2.3.4]:80", "bad listen address '1.2.3.4': not an IPv6 address" },
		{ "[fe80::1%eth0]:80", "bad listen address 'fe80::1%eth0': not an IPv6 address" },
	};
	struct sockaddr_storage ss;
	char why[128], text[64];
	socklen_t len;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (metrics_parse_listen(good[i].in, good[i].min_port, &ss, &len, why, sizeof(why)))
			fail_msg("'%s' refused: %s", good[i].in, why);
		assert_int_equal(ss.ss_family, good[i].family);
		if (good[i].family == AF_INET) {
			struct sockaddr_in *in = (struct sockaddr_in *)&ss;

			assert_int_equal(len, sizeof(*in));
			inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text));
			assert_int_equal(ntohs(in->sin_port), good[i].port);
		} else {
			struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

			assert_int_equal(len, sizeof(*in6));
			inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof(text));
			assert_int_equal(ntohs(in6->sin6_port), good[i].port);
		}
		assert_string_equal(text, good[i].addr);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		if (!metrics_parse_listen(bad[i].in, 1, &ss, &len, why, sizeof(why)))
			fail_msg("'%s' accepted", bad[i].in);
		if (strncmp(why, bad[i].why, strlen(bad[i].why)))
			fail_msg("'%s': '%s', not '%s'", bad[i].in, why, bad[i].why);
		assert_null(strchr(why, '\n'));
	}
}

/* The exposition without HTTP, whole or cut to the buffer, its length as snprintf gives it. */
static void test_render(void **state)
{
	struct interval_info iv = interval(100);
	struct metrics_server *m = open_server();
	char buf[8192], small[16];
	struct vm_record r;
	size_t n;

	(void)state;
	tcg_record(&r, "web");
	assert_int_equal(first_totals(&r, 1), 0);
	metrics_publish(m, &iv, &r, 1, NULL, NULL);
	n = metrics_render(m, buf, sizeof(buf), false);
	assert_int_equal(n, strlen(buf));
	assert_non_null(strstr(buf, "\nkvmtrace_vm_cpu_seconds_total{vm=\"web\",uuid=\"\"} "
			       "0.250000000\n"));
	assert_int_equal(metrics_render(m, small, sizeof(small), false), n);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	metrics_publish(NULL, &iv, &r, 1, NULL, NULL);
	metrics_close(m);
}

/* ---------------------------------------------------------------- over HTTP */

struct reply {
	int status;
	char content_type[128];
	char *body;
};

/* One HTTP/1.1 request on a fresh connection; the reply is read to EOF. */
static void http(int port, const char *method, const char *path, const char *accept,
		 struct reply *rep)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	char req[512], *raw = NULL, *p, *body;
	size_t len = 0, cap = 0;
	ssize_t n;
	int fd;

	memset(rep, 0, sizeof(*rep));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s%s%sConnection: close"
		 "\r\n\r\n", method, path, accept ? "Accept: " : "", accept ? accept : "",
		 accept ? "\r\n" : "");
	assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	for (;;) {
		if (len + 4096 + 1 > cap) {
			cap = cap ? 2 * cap : 65536;
			raw = realloc(raw, cap);
			assert_non_null(raw);
		}
		n = read(fd, raw + len, cap - len - 1);
		assert_true(n >= 0);
		if (!n)
			break;
		len += n;
	}
	close(fd);
	raw[len] = '\0';
	assert_int_equal(sscanf(raw, "HTTP/1.1 %d", &rep->status), 1);
	body = strstr(raw, "\r\n\r\n");
	assert_non_null(body);
	*body = '\0';
	p = strcasestr(raw, "\r\nContent-Type: ");
	if (p)
		sscanf(p + 16, "%127[^\r]", rep->content_type);
	rep->body = strdup(body + 4);
	free(raw);
}

static void test_http(void **state)
{
	struct interval_info iv = interval(100);
	struct metrics_server *m = open_server();
	int port = metrics_port(m);
	struct reply rep;
	struct vm_record r;

	(void)state;
	tcg_record(&r, "web");
	assert_int_equal(first_totals(&r, 1), 0);
	metrics_publish(m, &iv, &r, 1, NULL, NULL);

	http(port, "GET", "/metrics", NULL, &rep);
	assert_int_equal(rep.status, 200);
	assert_string_equal(rep.content_type, "text/plain; version=0.0.4; charset=utf-8");
	assert_non_null(strstr(rep.body, "\nkvmtrace_vm_cpu_seconds_total{vm=\"web\",uuid=\"\"} "
			       "0.250000000\n"));
	assert_null(strstr(rep.body, "# EOF"));
	free(rep.body);

	/* What Prometheus 2.42 sends. */
	http(port, "GET", "/metrics", "application/openmetrics-text;version=1.0.0,"
	     "application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,"
	     "*/*;q=0.1", &rep);
	assert_int_equal(rep.status, 200);
	assert_string_equal(rep.content_type,
			    "application/openmetrics-text; version=1.0.0; charset=utf-8");
	assert_non_null(strstr(rep.body, "# TYPE kvmtrace_vm_cpu_seconds counter\n"));
	assert_non_null(strstr(rep.body, "# EOF\n"));
	free(rep.body);

	/* Text preferred, or only an OpenMetrics version we do not write: the text format. */
	http(port, "GET", "/metrics", "application/openmetrics-text;q=0.2, text/plain", &rep);
	assert_string_equal(rep.content_type, "text/plain; version=0.0.4; charset=utf-8");
	free(rep.body);
	http(port, "GET", "/metrics", "application/openmetrics-text; version=0.0.1", &rep);
	assert_string_equal(rep.content_type, "text/plain; version=0.0.4; charset=utf-8");
	free(rep.body);

	http(port, "GET", "/", NULL, &rep);
	assert_int_equal(rep.status, 404);
	free(rep.body);
	http(port, "GET", "/metrics/x", NULL, &rep);
	assert_int_equal(rep.status, 404);
	free(rep.body);
	http(port, "POST", "/metrics", NULL, &rep);
	assert_int_equal(rep.status, 405);
	free(rep.body);
	http(port, "HEAD", "/metrics", NULL, &rep);
	assert_int_equal(rep.status, 200);
	assert_string_equal(rep.body, "");
	free(rep.body);
	metrics_close(m);
}

static void test_listen_failures(void **state)
{
	struct metrics_server *m = open_server(), *again;
	char listen[32], why[256], want[128];

	(void)state;
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", metrics_port(m));
	again = metrics_open(listen, why, sizeof(why));
	assert_null(again);
	snprintf(want, sizeof(want), "cannot listen on %s: %s; ", listen, strerror(EADDRINUSE));
	if (strncmp(why, want, strlen(want)))
		fail_msg("unexpected reason: %s", why);
	assert_null(strchr(why, '\n'));
	metrics_close(m);

	/* An address no interface has (TEST-NET-1). */
	assert_null(metrics_open("192.0.2.1:9477", why, sizeof(why)));
	snprintf(want, sizeof(want), "cannot listen on 192.0.2.1:9477: %s; ",
		 strerror(EADDRNOTAVAIL));
	if (strncmp(why, want, strlen(want)))
		fail_msg("unexpected reason: %s", why);

	assert_null(metrics_open("localhost:9477", why, sizeof(why)));
	assert_non_null(strstr(why, "'localhost:9477'"));
}

/* IPv6 loopback, where the host has it. */
static void test_ipv6(void **state)
{
	struct metrics_server *m;
	char why[256];

	(void)state;
	m = metrics_open("[::1]:0", why, sizeof(why));
	if (!m && strstr(why, strerror(EADDRNOTAVAIL)))
		skip();
	if (!m)
		fail_msg("%s", why);
	assert_true(metrics_port(m) > 0);
	assert_true(!strncmp(metrics_address(m), "[::1]:", 6));
	metrics_close(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_listen),
		cmocka_unit_test(test_render),
		cmocka_unit_test(test_http),
		cmocka_unit_test(test_listen_failures),
		cmocka_unit_test(test_ipv6),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
