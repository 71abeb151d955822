// SPDX-License-Identifier: GPL-2.0
/* Configuration file: every key into long options, one-line errors with file and line, the
 * command line overriding the file through cli_parse(), and the shipped file parsing. */
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

#include "cli.h"
#include "config.h"

/* The shipped file, found from this source's path (the tests build from the top folder). */
#define SHIPPED_CONF "dist/kvmtrace-bpf.conf"

struct loaded {
	char path[64];
	int argc;
	char **argv;
	char why[512];
	int ret;
};

/* Writes text (len bytes) to a new 0600 file and loads it. */
static void load_bytes(struct loaded *l, const char *text, size_t len)
{
	int fd;

	memset(l, 0, sizeof(*l));
	strcpy(l->path, "/tmp/kt-config-XXXXXX");
	fd = mkstemp(l->path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	l->ret = config_load(l->path, &l->argc, &l->argv, l->why, sizeof(l->why));
}

static void load(struct loaded *l, const char *text)
{
	load_bytes(l, text, strlen(text));
}

static void unload(struct loaded *l)
{
	config_free(l->argc, l->argv);
	unlink(l->path);
}

static void assert_args(const struct loaded *l, int n, const char *const *want)
{
	int i;

	assert_int_equal(l->ret, 0);
	assert_int_equal(l->argc, n);
	for (i = 0; i < n; i++)
		assert_string_equal(l->argv[i], want[i]);
	assert_null(l->argv[n]);
}

#define ASSERT_ARGS(l, ...)                                                          \
	do {                                                                         \
		const char *const want_[] = { __VA_ARGS__ };                         \
		assert_args(l, (int)(sizeof(want_) / sizeof(want_[0])), want_);      \
	} while (0)

/* The load failed and why is "FILE:LINE: <what>...". */
static void assert_error(const struct loaded *l, int line, const char *what)
{
	char prefix[128];

	assert_int_equal(l->ret, -1);
	assert_int_equal(l->argc, 0);
	assert_null(l->argv);
	snprintf(prefix, sizeof(prefix), "%s:%d: %s", l->path, line, what);
	if (strncmp(l->why, prefix, strlen(prefix)))
		fail_msg("why '%s' does not start with '%s'", l->why, prefix);
	assert_null(strchr(l->why, '\n'));
}

static void test_every_key(void **state)
{
	struct loaded l;

	(void)state;
	load(&l, "# kvmtrace-bpf settings\n"
		 "\n"
		 "interval = 0.5\n"
		 "count=10\n"
		 "  duration   =   30  \n"
		 "output = /var/log/kvmtrace-bpf\n"
		 "pid = 4242\n"
		 "libvirt-uri = qemu:///system\n"
		 "power = edimax:192.0.2.7:10000\n"
		 "idle-watts = 45\n"
		 "counters = cycles,instructions\n"
		 "sample-hz = 99\n"
		 "sysfs-root = /sys\n"
		 "listen = 127.0.0.1:9477\n"
		 "quiet = yes\n"
		 "verbose = no\n");
	ASSERT_ARGS(&l, "--interval", "0.5", "--count", "10", "--duration", "30", "--output",
		    "/var/log/kvmtrace-bpf", "--pid", "4242", "--libvirt-uri", "qemu:///system",
		    "--power", "edimax:192.0.2.7:10000", "--idle-watts", "45", "--counters",
		    "cycles,instructions", "--sample-hz", "99", "--sysfs-root", "/sys",
		    "--listen", "127.0.0.1:9477", "--quiet");
	unload(&l);
}

/* Every option of the table is a key as its kind says, or refused as no setting. */
static void test_table_keys(void **state)
{
	const struct cli_option *opt;
	char text[96], want[40];
	struct loaded l;

	(void)state;
	for (opt = cli_options; opt->name; opt++) {
		snprintf(text, sizeof(text), "%s = %s\n", opt->name,
			 opt->key == CLI_KEY_FLAG ? "yes" : "x");
		load(&l, text);
		snprintf(want, sizeof(want), "--%s", opt->name);
		switch (opt->key) {
		case CLI_KEY_NONE:
			assert_error(&l, 1, "key '");
			assert_non_null(strstr(l.why, "is not allowed"));
			break;
		case CLI_KEY_FLAG:
			ASSERT_ARGS(&l, want);
			break;
		case CLI_KEY_VALUE:
		case CLI_KEY_REPEAT:
			ASSERT_ARGS(&l, want, "x");
			break;
		}
		unload(&l);
	}
}

static void test_comments_quotes_and_crlf(void **state)
{
	struct loaded l;

	(void)state;
	load(&l, "\t# indented comment\n"
		 "interval = 2   # seconds\n"
		 "libvirt-uri = qemu+ssh://host/system#frag\n"
		 "output = \"/srv/kvm logs # not a comment\"   # but this is\n"
		 "power = 'rapl'\n"
		 "count = 3\r\n");
	ASSERT_ARGS(&l, "--interval", "2", "--libvirt-uri", "qemu+ssh://host/system#frag",
		    "--output", "/srv/kvm logs # not a comment", "--power", "rapl", "--count",
		    "3");
	unload(&l);
}

static void test_booleans(void **state)
{
	static const char *const yes[] = { "yes", "YES", "true", "On", "1" };
	static const char *const no[] = { "no", "False", "off", "0" };
	struct loaded l;
	char text[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		snprintf(text, sizeof(text), "quiet = %s\n", yes[i]);
		load(&l, text);
		ASSERT_ARGS(&l, "--quiet");
		unload(&l);
	}
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		snprintf(text, sizeof(text), "verbose = %s\n", no[i]);
		load(&l, text);
		assert_int_equal(l.ret, 0);
		assert_int_equal(l.argc, 0);
		assert_non_null(l.argv);
		assert_null(l.argv[0]);
		unload(&l);
	}
	load(&l, "quiet = maybe\n");
	assert_error(&l, 1, "key 'quiet' takes yes or no, not 'maybe'");
	unload(&l);
}

static void test_pid_repeats_others_do_not(void **state)
{
	struct loaded l;

	(void)state;
	load(&l, "pid = 10\npid = 20\npid = 30\n");
	ASSERT_ARGS(&l, "--pid", "10", "--pid", "20", "--pid", "30");
	unload(&l);
	load(&l, "interval = 1\n# again\ninterval = 2\n");
	assert_error(&l, 3, "key 'interval' is already set on line 1");
	unload(&l);
}

static void test_empty_file(void **state)
{
	struct loaded l;

	(void)state;
	load(&l, "");
	assert_int_equal(l.ret, 0);
	assert_int_equal(l.argc, 0);
	assert_non_null(l.argv);
	assert_null(l.argv[0]);
	unload(&l);
	load(&l, "# nothing set\n\n   \n");
	assert_int_equal(l.ret, 0);
	assert_int_equal(l.argc, 0);
	unload(&l);
}

static void test_line_errors(void **state)
{
	struct loaded l;

	(void)state;
	/* The example: a misspelt key on line 7. */
	load(&l, "# 1\n# 2\n# 3\n# 4\n# 5\ninterval = 1\nintervall = 1\n");
	assert_error(&l, 7, "unknown key 'intervall'");
	unload(&l);
	load(&l, "--interval = 1\n");
	assert_error(&l, 1, "unknown key '--interval': keys are the long options without");
	unload(&l);
	load(&l, "interval 1\n");
	assert_error(&l, 1, "expected key = value, got 'interval 1'");
	unload(&l);
	load(&l, " = 1\n");
	assert_error(&l, 1, "no key before '='");
	unload(&l);
	load(&l, "output =   # nothing\n");
	assert_error(&l, 1, "key 'output' has no value");
	unload(&l);
	load(&l, "output = \"/var/log\n");
	assert_error(&l, 1, "key 'output': the quote is not closed");
	unload(&l);
	load(&l, "output = \"/var/log\" x\n");
	assert_error(&l, 1, "key 'output': text after the closing quote");
	unload(&l);
	load(&l, "config = /etc/other.conf\n");
	assert_error(&l, 1, "key 'config' is not allowed: a config file cannot name another");
	unload(&l);
	load(&l, "help = yes\n");
	assert_error(&l, 1, "key 'help' is not allowed");
	unload(&l);
	/* Control characters never reach the message. */
	load(&l, "bad\x1b[2Jkey = 1\n");
	assert_error(&l, 1, "unknown key 'bad?[2Jkey'");
	unload(&l);
}

/* The plug's password stays in its own 0600 file (edimax.h), never in this one. */
static void test_plug_credentials_refused(void **state)
{
	static const char *const lines[] = {
		"plug-user = admin\n", "plug-password = secret\n", "password = secret\n",
		"user = admin\n",
	};
	struct loaded l;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		load(&l, lines[i]);
		assert_int_equal(l.ret, -1);
		assert_non_null(strstr(l.why, "plug credentials do not belong here"));
		assert_non_null(strstr(l.why, "/etc/kvmtrace-bpf/plug.conf"));
		assert_null(strstr(l.why, "secret"));
		unload(&l);
	}
	load(&l, "power = edimax:192.0.2.7\n");
	ASSERT_ARGS(&l, "--power", "edimax:192.0.2.7");
	unload(&l);
}

static void test_not_text(void **state)
{
	static const char nul[] = "interval = 1\ncount = 2\0junk\n";
	struct loaded l;
	char *big;

	(void)state;
	load_bytes(&l, nul, sizeof(nul) - 1);
	assert_error(&l, 2, "NUL byte");
	unload(&l);
	big = malloc(10000);
	assert_non_null(big);
	memset(big, 'x', 9998);
	memcpy(big, "output = ", 9);
	big[9998] = '\n';
	big[9999] = '\0';
	load(&l, big);
	assert_error(&l, 1, "line longer than");
	unload(&l);
	free(big);
}

static void test_file_refused(void **state)
{
	char why[512], dir[] = "/tmp/kt-config-dir-XXXXXX";
	struct loaded l;
	char **argv;
	int argc;

	(void)state;
	assert_int_equal(config_load("/nonexistent/kvmtrace-bpf.conf", &argc, &argv, why,
				     sizeof(why)), -1);
	assert_string_equal(why, "cannot read config file '/nonexistent/kvmtrace-bpf.conf': "
			    "No such file or directory");
	assert_null(argv);
	assert_non_null(mkdtemp(dir));
	assert_int_equal(config_load(dir, &argc, &argv, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "is not a regular file"));
	rmdir(dir);
	/* Writable by others: whoever can edit it steers a root daemon. */
	load(&l, "interval = 1\n");
	config_free(l.argc, l.argv);
	assert_int_equal(chmod(l.path, 0666), 0);
	assert_int_equal(config_load(l.path, &argc, &argv, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "writable by group or others (mode 0666): chmod go-w it"));
	assert_int_equal(chmod(l.path, 0644), 0);
	assert_int_equal(config_load(l.path, &argc, &argv, why, sizeof(why)), 0);
	config_free(argc, argv);
	unlink(l.path);
}

/* cli_parse() of config_prepend()'s argv, as main does: the command line wins. */
static enum cli_status parse_with(const struct loaded *l, int argc, char **argv,
				  struct cli_opts *o, char **merged_out, size_t merged_cap)
{
	FILE *null = fopen("/dev/null", "w");
	enum cli_status st;
	char **merged;
	int n, i;

	assert_non_null(null);
	merged = config_prepend(l->argc, l->argv, argc, argv, &n);
	assert_non_null(merged);
	assert_int_equal(n, l->argc + argc);
	assert_null(merged[n]);
	assert_true((size_t)n <= merged_cap);
	for (i = 0; i < n; i++)
		merged_out[i] = merged[i];
	st = cli_parse(n, merged, o, null, null);
	free(merged);
	fclose(null);
	return st;
}

static void test_command_line_overrides(void **state)
{
	char *argv[] = { "kvmtrace-bpf", "-i", "2", "-o", "/tmp/elsewhere", NULL };
	char *only[] = { "kvmtrace-bpf", NULL };
	char *merged[64];
	struct cli_opts o;
	struct loaded l;

	(void)state;
	load(&l, "interval = 5\noutput = /var/log/kvmtrace-bpf\ncount = 7\nquiet = yes\n"
		 "power = none\n");
	assert_int_equal(parse_with(&l, 5, argv, &o, merged, 64), CLI_RUN);
	assert_true(o.interval_s == 2.0);
	assert_string_equal(o.outdir, "/tmp/elsewhere");
	assert_int_equal(o.count, 7);
	assert_true(o.quiet);
	assert_string_equal(o.power, "none");
	/* The program name stays first, the file's options next. */
	assert_string_equal(merged[0], "kvmtrace-bpf");
	assert_int_equal(parse_with(&l, 1, only, &o, merged, 64), CLI_RUN);
	assert_true(o.interval_s == 5.0);
	assert_string_equal(o.outdir, "/var/log/kvmtrace-bpf");
	unload(&l);
}

/* Values are the option parser's to check, as they would be on the command line. */
static void test_values_checked_by_cli(void **state)
{
	char *argv[] = { "kvmtrace-bpf", NULL };
	char *merged[64];
	struct cli_opts o;
	struct loaded l;

	(void)state;
	load(&l, "interval = soon\n");
	assert_int_equal(l.ret, 0);
	assert_int_equal(parse_with(&l, 1, argv, &o, merged, 64), CLI_USAGE);
	unload(&l);
	load(&l, "output = -q\n");
	assert_int_equal(parse_with(&l, 1, argv, &o, merged, 64), CLI_RUN);
	assert_string_equal(o.outdir, "-q");
	assert_false(o.quiet);
	unload(&l);
}

static void test_shipped_file(void **state)
{
	char *argv[] = { "kvmtrace-bpf", NULL };
	char path[512], why[512], *merged[64];
	struct loaded l = {};
	struct cli_opts o;
	const char *slash;

	(void)state;
	/* __FILE__ is tests/unit/test_config.c, relative to the top folder or absolute. */
	slash = strstr(__FILE__, "tests/unit/");
	snprintf(path, sizeof(path), "%.*s" SHIPPED_CONF, slash ? (int)(slash - __FILE__) : 0,
		 __FILE__);
	l.ret = config_load(path, &l.argc, &l.argv, why, sizeof(why));
	if (l.ret)
		fail_msg("%s", why);
	assert_int_equal(parse_with(&l, 1, argv, &o, merged, 64), CLI_RUN);
	/* What the service needs set; the rest stays at the defaults. */
	assert_string_equal(o.outdir, "/var/log/kvmtrace-bpf");
	assert_true(o.interval_s == 1.0);
	assert_int_equal(o.count, 0);
	assert_string_equal(o.libvirt_uri, "qemu:///system");
	assert_int_equal(o.sample_hz, CLI_DEFAULT_SAMPLE_HZ);
	config_free(l.argc, l.argv);
}

static void test_prepend_edges(void **state)
{
	char *argv[] = { "prog", "-q", NULL };
	char **merged;
	int n = -1;

	(void)state;
	merged = config_prepend(0, NULL, 2, argv, &n);
	assert_non_null(merged);
	assert_int_equal(n, 2);
	assert_string_equal(merged[0], "prog");
	assert_string_equal(merged[1], "-q");
	assert_null(merged[2]);
	free(merged);
	assert_null(config_prepend(0, NULL, 0, argv, &n));
	config_free(0, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_table_keys),
		cmocka_unit_test(test_comments_quotes_and_crlf),
		cmocka_unit_test(test_booleans),
		cmocka_unit_test(test_pid_repeats_others_do_not),
		cmocka_unit_test(test_empty_file),
		cmocka_unit_test(test_line_errors),
		cmocka_unit_test(test_plug_credentials_refused),
		cmocka_unit_test(test_not_text),
		cmocka_unit_test(test_file_refused),
		cmocka_unit_test(test_command_line_overrides),
		cmocka_unit_test(test_values_checked_by_cli),
		cmocka_unit_test(test_shipped_file),
		cmocka_unit_test(test_prepend_edges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
