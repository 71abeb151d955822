// SPDX-License-Identifier: GPL-2.0
/* Command-line parsing: defaults, every option, one-line errors for every bad input, and the
 * option table that --help comes from. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cli.h"

#ifndef KT_VERSION
#define KT_VERSION "dev"
#endif

#define MAX_ARGS 200

/* One call of cli_parse() with its outputs; argv stays alive because opts points into it. */
struct run {
	enum cli_status st;
	struct cli_opts o;
	char *argv[MAX_ARGS + 2];
	int argc;
	char *out, *err;
	size_t out_len, err_len;
};

static void run_argv(struct run *r, int n, const char *const *args)
{
	FILE *out, *err;
	int i;

	assert_true(n <= MAX_ARGS);
	memset(r, 0, sizeof(*r));
	r->argv[r->argc++] = strdup("kvmtrace-bpf");
	for (i = 0; i < n; i++)
		r->argv[r->argc++] = strdup(args[i]);
	r->argv[r->argc] = NULL;

	out = open_memstream(&r->out, &r->out_len);
	err = open_memstream(&r->err, &r->err_len);
	assert_non_null(out);
	assert_non_null(err);
	r->st = cli_parse(r->argc, r->argv, &r->o, out, err);
	fclose(out);
	fclose(err);
}

#define RUN(r, ...)                                                                   \
	do {                                                                          \
		const char *const args_[] = { __VA_ARGS__ };                          \
		run_argv(r, (int)(sizeof(args_) / sizeof(args_[0])), args_);          \
	} while (0)

static void run_free(struct run *r)
{
	int i;

	for (i = 0; i < r->argc; i++)
		free(r->argv[i]);
	free(r->out);
	free(r->err);
}

static void assert_defaults_except(const struct cli_opts *o)
{
	assert_true(o->interval_s == 1.0);
	assert_int_equal(o->count, 0);
	assert_true(o->duration_s == 0.0);
	assert_string_equal(o->outdir, "logs");
	assert_int_equal(o->nr_pids, 0);
	assert_false(o->quiet);
	assert_false(o->verbose);
	assert_string_equal(o->libvirt_uri, "qemu:///system");
	assert_null(o->power);
	assert_true(o->idle_watts < 0);
	assert_string_equal(o->sysfs_root, "/sys");
	assert_null(o->listen);
}

/* The sources of names and power, and where sysfs is. */
static void test_source_options(void **state)
{
	struct run r;

	(void)state;
	RUN(&r, "--libvirt-uri", "none", "--power", "edimax:192.0.2.7:10000", "--idle-watts",
	    "42.5", "--sysfs-root", "/tmp/fake-sys");
	assert_int_equal(r.st, CLI_RUN);
	assert_string_equal(r.o.libvirt_uri, "none");
	assert_string_equal(r.o.power, "edimax:192.0.2.7:10000");
	assert_true(r.o.idle_watts == 42.5);
	assert_string_equal(r.o.sysfs_root, "/tmp/fake-sys");
	assert_int_equal(r.err_len, 0);
	run_free(&r);
}

static void test_defaults(void **state)
{
	struct run r;

	(void)state;
	run_argv(&r, 0, NULL);
	assert_int_equal(r.st, CLI_RUN);
	assert_defaults_except(&r.o);
	assert_int_equal(r.out_len, 0);
	assert_int_equal(r.err_len, 0);
	run_free(&r);
}

static void test_all_short_options(void **state)
{
	struct run r;

	(void)state;
	RUN(&r, "-i", "0.25", "-c", "60", "-d", "30.5", "-o", "/var/log/kvmtrace", "-p", "42",
	    "-p", "43", "-q", "-v");
	assert_int_equal(r.st, CLI_RUN);
	assert_true(r.o.interval_s == 0.25);
	assert_int_equal(r.o.count, 60);
	assert_true(r.o.duration_s == 30.5);
	assert_string_equal(r.o.outdir, "/var/log/kvmtrace");
	assert_int_equal(r.o.nr_pids, 2);
	assert_int_equal(r.o.pids[0], 42);
	assert_int_equal(r.o.pids[1], 43);
	assert_true(r.o.quiet);
	assert_true(r.o.verbose);
	assert_int_equal(r.err_len, 0);
	run_free(&r);
}

static void test_long_options(void **state)
{
	struct run r;

	(void)state;
	RUN(&r, "--interval=0.5", "--count", "3", "--duration=2", "--output=out dir",
	    "--pid", "7", "--quiet", "--verbose");
	assert_int_equal(r.st, CLI_RUN);
	assert_true(r.o.interval_s == 0.5);
	assert_int_equal(r.o.count, 3);
	assert_true(r.o.duration_s == 2.0);
	assert_string_equal(r.o.outdir, "out dir");
	assert_int_equal(r.o.nr_pids, 1);
	assert_int_equal(r.o.pids[0], 7);
	assert_true(r.o.quiet);
	assert_true(r.o.verbose);
	run_free(&r);

	/* Clustered short options and attached values. */
	RUN(&r, "-qvi2", "-c5");
	assert_int_equal(r.st, CLI_RUN);
	assert_true(r.o.quiet && r.o.verbose);
	assert_true(r.o.interval_s == 2.0);
	assert_int_equal(r.o.count, 5);
	run_free(&r);
}

static void test_interval_values(void **state)
{
	struct run r;

	(void)state;
	RUN(&r, "-i", "0.25");
	assert_int_equal(r.st, CLI_RUN);
	assert_true(r.o.interval_s == 0.25);
	run_free(&r);

	RUN(&r, "-i", "3600");
	assert_int_equal(r.st, CLI_RUN);
	assert_true(r.o.interval_s == 3600.0);
	run_free(&r);

	RUN(&r, "-i", "1e-3");
	assert_int_equal(r.st, CLI_RUN);
	assert_true(r.o.interval_s == 0.001);
	run_free(&r);
}

static void test_repeated_pids(void **state)
{
	const char *args[2 * (CLI_MAX_PIDS + 1)];
	char vals[CLI_MAX_PIDS + 1][16];
	struct run r;
	int i;

	(void)state;
	RUN(&r, "-p", "100", "--pid", "200", "-p", "100", "-p300");
	assert_int_equal(r.st, CLI_RUN);
	/* A PID given twice is kept once. */
	assert_int_equal(r.o.nr_pids, 3);
	assert_int_equal(r.o.pids[0], 100);
	assert_int_equal(r.o.pids[1], 200);
	assert_int_equal(r.o.pids[2], 300);
	run_free(&r);

	for (i = 0; i <= CLI_MAX_PIDS; i++) {
		snprintf(vals[i], sizeof(vals[i]), "%d", 1000 + i);
		args[2 * i] = "-p";
		args[2 * i + 1] = vals[i];
	}
	run_argv(&r, 2 * CLI_MAX_PIDS, args);
	assert_int_equal(r.st, CLI_RUN);
	assert_int_equal(r.o.nr_pids, CLI_MAX_PIDS);
	assert_int_equal(r.o.pids[CLI_MAX_PIDS - 1], 1000 + CLI_MAX_PIDS - 1);
	run_free(&r);

	run_argv(&r, 2 * (CLI_MAX_PIDS + 1), args);
	assert_int_equal(r.st, CLI_USAGE);
	assert_string_equal(r.err, "kvmtrace-bpf: too many PIDs (-p): give at most 64, or none to "
			    "trace every VM\n");
	run_free(&r);
}

/* A usage error: nothing on out, exactly one line on err, naming the bad input. */
static void assert_one_line_error(const struct run *r, const char *needle)
{
	assert_int_equal(r->st, CLI_USAGE);
	assert_int_equal(r->out_len, 0);
	assert_true(r->err_len > 0);
	assert_true(strncmp(r->err, "kvmtrace-bpf: ", 14) == 0);
	assert_ptr_equal(strchr(r->err, '\n'), r->err + r->err_len - 1);
	if (!strstr(r->err, needle))
		fail_msg("'%s' not in error: %s", needle, r->err);
}

static void test_bad_values(void **state)
{
	static const struct {
		const char *opt, *val;
	} bad[] = {
		{ "-i", "0" }, { "-i", "-1" }, { "-i", "abc" }, { "-i", "1x" }, { "-i", "nan" },
		{ "-i", "inf" }, { "-i", "" }, { "-i", " 1" }, { "-i", "3600.001" },
		{ "-i", "1e999" }, { "-i", "0x" }, { "--interval", "0" },
		{ "-c", "0" }, { "-c", "-5" }, { "-c", "1.5" }, { "-c", "x" }, { "-c", "" },
		{ "-c", "+3" }, { "-c", "99999999999999999999999" }, { "--count", "0" },
		{ "-d", "0" }, { "-d", "abc" }, { "-d", "-2" }, { "-d", "nan" }, { "-d", "1e10" },
		{ "-p", "0" }, { "-p", "x" }, { "-p", "-3" }, { "-p", "4294967296" },
		{ "-p", "12a" }, { "-p", "" }, { "--pid", "0" },
		{ "-o", "" }, { "--libvirt-uri", "" }, { "--power", "" },
		{ "--idle-watts", "-1" }, { "--idle-watts", "x" }, { "--idle-watts", "nan" },
		{ "--sysfs-root", "" },
		{ "--listen", "" }, { "--listen", "0" }, { "--listen", ":0" }, { "--listen", "x" },
		{ "--listen", "65536" }, { "--listen", "localhost:9477" },
		{ "--listen", "::1:9477" }, { "--listen", "[::1]" }, { "--listen", "1.2.3.4:" },
	};
	char needle[64];
	struct run r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		RUN(&r, bad[i].opt, bad[i].val);
		snprintf(needle, sizeof(needle), "'%s'", bad[i].val);
		assert_one_line_error(&r, needle);
		run_free(&r);
	}
}

static void test_exact_messages(void **state)
{
	struct run r;

	(void)state;
	RUN(&r, "-i", "abc");
	assert_string_equal(r.err, "kvmtrace-bpf: invalid interval 'abc' (-i): give seconds > 0 "
			    "and at most 3600, e.g. -i 0.5\n");
	run_free(&r);

	RUN(&r, "-c", "0");
	assert_string_equal(r.err, "kvmtrace-bpf: invalid count '0' (-c): give a whole number of "
			    "intervals > 0, e.g. -c 60\n");
	run_free(&r);

	RUN(&r, "-p", "x");
	assert_string_equal(r.err, "kvmtrace-bpf: invalid PID 'x' (-p): give a process ID > 0, "
			    "e.g. -p 4242\n");
	run_free(&r);

	RUN(&r, "-x");
	assert_string_equal(r.err, "kvmtrace-bpf: unknown option '-x': see kvmtrace-bpf --help\n");
	run_free(&r);

	RUN(&r, "-i");
	assert_string_equal(r.err, "kvmtrace-bpf: option -i/--interval needs a value: give "
			    "seconds, e.g. -i 0.5\n");
	run_free(&r);

	RUN(&r, "stray");
	assert_string_equal(r.err, "kvmtrace-bpf: unexpected argument 'stray': options only, see "
			    "kvmtrace-bpf --help\n");
	run_free(&r);
}

/* --listen: off by default; PORT and :PORT are loopback; IPv4 and bracketed IPv6 addresses. */
static void test_listen(void **state)
{
	static const char *const good[] = { "9477", ":9477", "127.0.0.1:9477", "0.0.0.0:1",
					    "[::1]:65535", "[::]:9477" };
	struct run r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		RUN(&r, "--listen", good[i], "-q");
		assert_int_equal(r.st, CLI_RUN);
		assert_string_equal(r.o.listen, good[i]);
		assert_true(r.o.quiet);
		assert_int_equal(r.err_len, 0);
		run_free(&r);
	}

	RUN(&r, "--listen", "localhost:9477");
	assert_string_equal(r.err, "kvmtrace-bpf: invalid listen address 'localhost:9477' "
			    "(--listen): give [ADDR:]PORT with a numeric address and a port from "
			    "1 to 65535, e.g. --listen 9477, --listen 0.0.0.0:9477 or --listen "
			    "[::1]:9477\n");
	run_free(&r);

	RUN(&r, "--listen");
	assert_string_equal(r.err, "kvmtrace-bpf: option --listen needs a value: give "
			    "[ADDR:]PORT, e.g. --listen 9477 or --listen 0.0.0.0:9477\n");
	run_free(&r);
}

/*
 * --counters, --sample-hz, --overhead-budget and --rotate: defaults, good values, one-line
 * usage errors.
 */
static void test_measurement_options(void **state)
{
	static const struct {
		const char *option, *value, *err;
	} refused[] = {
		{ "--overhead-budget", "0", "kvmtrace-bpf: invalid overhead budget '0' "
		  "(--overhead-budget): give a percentage above 0 and up to 100, e.g. "
		  "--overhead-budget 0.5\n" },
		{ "--overhead-budget", "100.5", "kvmtrace-bpf: invalid overhead budget '100.5' "
		  "(--overhead-budget): give a percentage above 0 and up to 100, e.g. "
		  "--overhead-budget 0.5\n" },
		{ "--counters", "cycles,bogus", "kvmtrace-bpf: invalid counter list 'cycles,bogus' "
		  "(--counters): unknown event \"bogus\"\n" },
		{ "--sample-hz", "10001", "kvmtrace-bpf: invalid sampling rate '10001' (--sample-hz): "
		  "give samples per second from 0 (off) to 10000, e.g. --sample-hz 499\n" },
		{ "--rotate", "1K", "kvmtrace-bpf: invalid rotation '1K' (--rotate): give daily or a "
		  "size of at least 64K, e.g. --rotate 100M\n" },
	};
	struct run r;
	size_t i;

	(void)state;
	RUN(&r, "-q");
	assert_int_equal(r.o.nr_counters, 4);
	assert_string_equal(r.o.counters[0].name, "cycles");
	assert_int_equal(r.o.sample_hz, CLI_DEFAULT_SAMPLE_HZ);
	assert_float_equal(r.o.overhead_budget, 0.5, 0);
	assert_false(r.o.rotation.daily);
	assert_int_equal(r.o.rotation.max_bytes, 0);
	run_free(&r);

	RUN(&r, "--counters", "cpu-clock,page-faults", "--sample-hz", "0", "--rotate", "100M");
	assert_int_equal(r.st, CLI_RUN);
	assert_int_equal(r.o.nr_counters, 2);
	assert_string_equal(r.o.counters[1].column, "page_faults");
	assert_int_equal(r.o.sample_hz, 0);
	assert_int_equal(r.o.rotation.max_bytes, 100 * 1024 * 1024);
	run_free(&r);

	RUN(&r, "--counters", "none", "--rotate", "daily", "--sample-hz", "97",
	    "--overhead-budget", "100");
	assert_int_equal(r.o.nr_counters, 0);
	assert_true(r.o.rotation.daily);
	assert_int_equal(r.o.sample_hz, 97);
	assert_float_equal(r.o.overhead_budget, 100, 0);
	run_free(&r);

	RUN(&r, "--overhead-budget", "0.05");
	assert_float_equal(r.o.overhead_budget, 0.05, 0);
	run_free(&r);

	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		RUN(&r, refused[i].option, refused[i].value);
		assert_int_equal(r.st, CLI_USAGE);
		assert_string_equal(r.err, refused[i].err);
		run_free(&r);
	}
}

/* -C is read before parsing (cli_config_file), and skipped by the parser itself. */
static void test_config_option(void **state)
{
	const char *args[] = { "kvmtrace-bpf", "-o", "-C", "--config", "/etc/a.conf", "-q",
			       "-C", "/etc/b.conf" };
	struct run r;

	(void)state;
	assert_string_equal(cli_config_file(8, (char **)args), "/etc/b.conf");
	assert_null(cli_config_file(3, (char **)args));	/* "-o -C": an output folder */
	RUN(&r, "-C", "/etc/b.conf", "-q");
	assert_int_equal(r.st, CLI_RUN);
	assert_true(r.o.quiet);
	run_free(&r);
}

static void test_bad_options(void **state)
{
	struct run r;

	(void)state;
	RUN(&r, "-q", "-z");
	assert_one_line_error(&r, "'-z'");
	run_free(&r);

	RUN(&r, "-qz");
	assert_one_line_error(&r, "'-z'");
	run_free(&r);

	RUN(&r, "--bogus");
	assert_one_line_error(&r, "unknown option '--bogus'");
	run_free(&r);

	RUN(&r, "--bogus=3");
	assert_one_line_error(&r, "'--bogus=3'");
	run_free(&r);

	/* --ver could be --verbose or --version. */
	RUN(&r, "--ver");
	assert_one_line_error(&r, "ambiguous option '--ver'");
	run_free(&r);

	RUN(&r, "--quiet=1");
	assert_one_line_error(&r, "-q/--quiet takes no value, but got '--quiet=1'");
	run_free(&r);

	/* Abbreviations that are unique are fine, as with any getopt_long program. */
	RUN(&r, "--inter", "2");
	assert_int_equal(r.st, CLI_RUN);
	assert_true(r.o.interval_s == 2.0);
	run_free(&r);
}

static void test_missing_values(void **state)
{
	struct run r;

	(void)state;
	RUN(&r, "-c");
	assert_one_line_error(&r, "-c/--count needs a value");
	run_free(&r);

	RUN(&r, "--pid");
	assert_one_line_error(&r, "-p/--pid needs a value");
	run_free(&r);

	RUN(&r, "-q", "--output");
	assert_one_line_error(&r, "-o/--output needs a value");
	run_free(&r);

	RUN(&r, "-d");
	assert_one_line_error(&r, "-d/--duration needs a value");
	run_free(&r);
}

static void test_positional(void **state)
{
	struct run r;

	(void)state;
	RUN(&r, "-q", "foo");
	assert_one_line_error(&r, "'foo'");
	run_free(&r);

	RUN(&r, "--", "-i");
	assert_one_line_error(&r, "unexpected argument '-i'");
	run_free(&r);
}

/* A value with a newline or escape must not break the one-line promise or reach the tty. */
static void test_control_chars_in_value(void **state)
{
	struct run r;

	(void)state;
	RUN(&r, "-i", "1\nrm -rf\033[2J");
	assert_one_line_error(&r, "'1?rm -rf?[2J'");
	run_free(&r);
}

static void test_help(void **state)
{
	static const char *const want[] = {
		"Usage: kvmtrace-bpf [OPTIONS]",
		"-i, --interval SECONDS", "-c, --count N", "-d, --duration SECONDS",
		"-o, --output DIR", "-p, --pid PID", "-q, --quiet", "-v, --verbose", "-h, --help",
		"--version", "--listen [ADDR:]PORT",
		"DIR/<vm>.csv", "(default 1)", "(default logs)", "Examples:",
		"\n  kvmtrace-bpf -i 1\n", "\n  kvmtrace-bpf -i 0.5 -c 60 -o /var/log/kvmtrace\n",
		"\n  kvmtrace-bpf -p 4242 -q\n",
	};
	struct run r;
	size_t i;

	(void)state;
	RUN(&r, "--help");
	assert_int_equal(r.st, CLI_DONE);
	assert_int_equal(r.err_len, 0);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		if (!strstr(r.out, want[i]))
			fail_msg("help lacks '%s'", want[i]);
	}
	run_free(&r);

	/* -h wins over options after it and gives the same text. */
	RUN(&r, "-h", "-i", "abc");
	assert_int_equal(r.st, CLI_DONE);
	assert_non_null(strstr(r.out, "Usage: kvmtrace-bpf"));
	assert_int_equal(r.err_len, 0);
	run_free(&r);
}

static void test_version(void **state)
{
	struct run r;

	(void)state;
	RUN(&r, "--version");
	assert_int_equal(r.st, CLI_DONE);
	assert_string_equal(r.out, "kvmtrace-bpf " KT_VERSION "\n");
	assert_int_equal(r.err_len, 0);
	run_free(&r);
}

/* getopt keeps state between calls: a second parse must start from scratch. */
static void test_reentrant(void **state)
{
	struct run r;

	(void)state;
	RUN(&r, "-qx", "-i", "5");
	assert_int_equal(r.st, CLI_USAGE);
	run_free(&r);

	RUN(&r, "-v");
	assert_int_equal(r.st, CLI_RUN);
	assert_true(r.o.verbose);
	assert_false(r.o.quiet);
	assert_true(r.o.interval_s == 1.0);
	assert_int_equal(r.err_len, 0);
	run_free(&r);

	RUN(&r, "-p", "9", "-i", "3");
	run_free(&r);
	run_argv(&r, 0, NULL);
	assert_int_equal(r.st, CLI_RUN);
	assert_defaults_except(&r.o);
	run_free(&r);
}

/* ---- the table ---- */

static size_t nr_options(void)
{
	size_t n = 0;

	while (cli_options[n].name)
		n++;
	return n;
}

static void test_table(void **state)
{
	const struct cli_option *a, *b;

	(void)state;
	assert_true(nr_options() <= CLI_MAX_OPTIONS);
	for (a = cli_options; a->name; a++) {
		assert_non_null(a->set);
		/* A setting with a value says what to give; a yes/no one takes none. */
		if (a->key == CLI_KEY_VALUE || a->key == CLI_KEY_REPEAT) {
			assert_non_null(a->arg);
			assert_non_null(a->what);
		}
		if (a->key == CLI_KEY_FLAG)
			assert_null(a->arg);
		if (a->arg)
			assert_non_null(a->example);
		for (b = a + 1; b->name; b++) {
			if (!strcmp(a->name, b->name) || (a->letter && a->letter == b->letter))
				fail_msg("--%s and --%s share a name or letter", a->name, b->name);
		}
	}
}

/* Every option with help text is in --help, with its letter and value. */
static void test_help_from_table(void **state)
{
	const struct cli_option *opt;
	char want[64];
	struct run r;

	(void)state;
	RUN(&r, "--help");
	for (opt = cli_options; opt->name; opt++) {
		if (opt->letter)
			snprintf(want, sizeof(want), "-%c, --%s%s%s", opt->letter, opt->name,
				 opt->arg ? " " : "", opt->arg ? opt->arg : "");
		else
			snprintf(want, sizeof(want), "      --%s%s%s", opt->name,
				 opt->arg ? " " : "", opt->arg ? opt->arg : "");
		if (!strstr(r.out, want) != !opt->help)
			fail_msg("--help and the table disagree on '%s'", want);
	}
	run_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_all_short_options),
		cmocka_unit_test(test_long_options),
		cmocka_unit_test(test_interval_values),
		cmocka_unit_test(test_repeated_pids),
		cmocka_unit_test(test_source_options),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_exact_messages),
		cmocka_unit_test(test_listen),
		cmocka_unit_test(test_measurement_options),
		cmocka_unit_test(test_config_option),
		cmocka_unit_test(test_bad_options),
		cmocka_unit_test(test_missing_values),
		cmocka_unit_test(test_positional),
		cmocka_unit_test(test_control_chars_in_value),
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_reentrant),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_help_from_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
