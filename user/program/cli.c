// SPDX-License-Identifier: GPL-2.0
/*
 * Command-line parsing from one table of options (cli_options[]), which also gives the config
 * file its keys and --help its text. Every usage error is one line: what was wrong and what
 * to give.
 */
#include <ctype.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <string.h>

#include "cli.h"
#include "cli_values.h"
#include "metrics.h"

#ifndef KT_VERSION
#define KT_VERSION "dev"
#endif

#define PROG			"kvmtrace-bpf"
#define MAX_INTERVAL_S		3600.0
/* About 31 years: far beyond any run, and small enough to turn into ns without overflow. */
#define MAX_DURATION_S		1e9
/* getopt's value for a long-only option: this plus its index in cli_options[]. */
#define LONG_ONLY		1000
/* --help: the column where an option's text starts. */
#define HELP_INDENT		26

#define STR_(x)			#x
#define STR(x)			STR_(x)

struct cli_ctx {
	struct cli_opts *o;
	FILE *out, *err;
};

/* Prints a user-given value on our one error line: control characters would break it. */
static void put_value(FILE *err, const char *s)
{
	for (; *s; s++)
		fputc(iscntrl((unsigned char)*s) ? '?' : *s, err);
}

/* The option as the user may have typed it, for messages: "-i/--interval" or "--power". */
static const char *full_name(const struct cli_option *opt, char *buf, size_t len)
{
	if (opt->letter)
		snprintf(buf, len, "-%c/--%s", opt->letter, opt->name);
	else
		snprintf(buf, len, "--%s", opt->name);
	return buf;
}

/* "invalid interval 'abc' (-i): give ...": hint, or the option's own when NULL. */
static enum cli_status invalid(const struct cli_option *opt, const char *val, const char *hint,
			       FILE *err)
{
	fprintf(err, PROG ": invalid %s '", opt->what);
	put_value(err, val);
	if (opt->letter)
		fprintf(err, "' (-%c): ", opt->letter);
	else
		fprintf(err, "' (--%s): ", opt->name);
	fprintf(err, "%s\n", hint ? hint : opt->hint);
	return CLI_USAGE;
}

/* --listen: "[ADDR:]PORT" with a real port (0 would be a random one). */
static int parse_listen(const char *s)
{
	struct sockaddr_storage addr;
	socklen_t len;
	char why[128];

	return metrics_parse_listen(s, 1, &addr, &len, why, sizeof(why));
}

/* ---- what each option does with its value ---- */

static enum cli_status set_interval(const struct cli_option *opt, const char *val,
				    struct cli_ctx *c)
{
	if (cli_seconds(val, MAX_INTERVAL_S, &c->o->interval_s))
		return invalid(opt, val, NULL, c->err);
	return CLI_RUN;
}

static enum cli_status set_count(const struct cli_option *opt, const char *val, struct cli_ctx *c)
{
	if (cli_positive(val, LONG_MAX, &c->o->count))
		return invalid(opt, val, NULL, c->err);
	return CLI_RUN;
}

static enum cli_status set_duration(const struct cli_option *opt, const char *val,
				    struct cli_ctx *c)
{
	if (cli_seconds(val, MAX_DURATION_S, &c->o->duration_s))
		return invalid(opt, val, NULL, c->err);
	return CLI_RUN;
}

static enum cli_status set_pid(const struct cli_option *opt, const char *val, struct cli_ctx *c)
{
	struct cli_opts *o = c->o;
	long v;
	int i;

	if (cli_positive(val, INT_MAX, &v))
		return invalid(opt, val, NULL, c->err);
	for (i = 0; i < o->nr_pids; i++)
		if (o->pids[i] == v)
			return CLI_RUN;	/* given twice: once is enough */
	if (o->nr_pids == CLI_MAX_PIDS) {
		fprintf(c->err, PROG ": too many PIDs (-p): give at most %d, or none to trace "
			"every VM\n", CLI_MAX_PIDS);
		return CLI_USAGE;
	}
	o->pids[o->nr_pids++] = (int)v;
	return CLI_RUN;
}

static enum cli_status set_idle_watts(const struct cli_option *opt, const char *val,
				      struct cli_ctx *c)
{
	if (cli_decimal(val, 0, HUGE_VAL, &c->o->idle_watts))
		return invalid(opt, val, NULL, c->err);
	return CLI_RUN;
}

static enum cli_status set_counters(const struct cli_option *opt, const char *val,
				    struct cli_ctx *c)
{
	char why[128];
	int n;

	n = counters_parse(val, c->o->counters, KT_MAX_COUNTERS, why, sizeof(why));
	if (n < 0)
		return invalid(opt, val, why, c->err);
	c->o->nr_counters = n;
	return CLI_RUN;
}

static enum cli_status set_sample_hz(const struct cli_option *opt, const char *val,
				     struct cli_ctx *c)
{
	long v = 0;

	if (strcmp(val, "0") && cli_positive(val, CLI_MAX_SAMPLE_HZ, &v))
		return invalid(opt, val, NULL, c->err);
	c->o->sample_hz = (unsigned int)v;
	return CLI_RUN;
}

static enum cli_status set_overhead_budget(const struct cli_option *opt, const char *val,
					   struct cli_ctx *c)
{
	if (cli_decimal(val, 0, 100, &c->o->overhead_budget) || c->o->overhead_budget == 0)
		return invalid(opt, val, NULL, c->err);
	return CLI_RUN;
}

static enum cli_status set_kvm_hooks(const struct cli_option *opt, const char *val,
				     struct cli_ctx *c)
{
	if (strcmp(val, "on") && strcmp(val, "off"))
		return invalid(opt, val, NULL, c->err);
	c->o->kvm_hooks = !strcmp(val, "on");
	return CLI_RUN;
}

static enum cli_status set_listen(const struct cli_option *opt, const char *val,
				  struct cli_ctx *c)
{
	if (parse_listen(val))
		return invalid(opt, val, NULL, c->err);
	c->o->listen = val;
	return CLI_RUN;
}

static enum cli_status set_rotate(const struct cli_option *opt, const char *val,
				  struct cli_ctx *c)
{
	if (cli_rotation(val, &c->o->rotation))
		return invalid(opt, val, NULL, c->err);
	return CLI_RUN;
}

/* Text that only has to be there, into the const char * at opt->field. */
static enum cli_status set_text(const struct cli_option *opt, const char *val, struct cli_ctx *c)
{
	char name[48];

	if (!*val) {
		fprintf(c->err, PROG ": invalid %s '' (%s): give %s\n", opt->what,
			full_name(opt, name, sizeof(name)), opt->example);
		return CLI_USAGE;
	}
	*(const char **)((char *)c->o + opt->field) = val;
	return CLI_RUN;
}

/* A flag: the bool at opt->field becomes true. */
static enum cli_status set_flag(const struct cli_option *opt, const char *val, struct cli_ctx *c)
{
	(void)val;
	*(bool *)((char *)c->o + opt->field) = true;
	return CLI_RUN;
}

/* -C was read before parsing: cli_config_file(). */
static enum cli_status set_nothing(const struct cli_option *opt, const char *val,
				   struct cli_ctx *c)
{
	(void)opt;
	(void)val;
	(void)c;
	return CLI_RUN;
}

static enum cli_status print_version(const struct cli_option *opt, const char *val,
				     struct cli_ctx *c)
{
	(void)opt;
	(void)val;
	fprintf(c->out, PROG " %s\n", KT_VERSION);
	return CLI_DONE;
}

/* ---- --help ---- */

static void usage(FILE *out)
{
	const struct cli_option *opt;
	const char *line, *nl;
	int n;

	fputs("Usage: " PROG " [OPTIONS]\n"
	      "\n"
	      "Traces the KVM virtual machines of this host with eBPF. For each VM and\n"
	      "interval it reports CPU time split into guest and hypervisor time, VM exits\n"
	      "by reason, and how long its threads waited for a CPU. Needs root (or\n"
	      "CAP_BPF and CAP_PERFMON).\n"
	      "\n"
	      "Options:\n", out);
	for (opt = cli_options; opt->name; opt++) {
		if (!opt->help)
			continue;
		if (opt->letter)
			n = fprintf(out, "  -%c, --%s", opt->letter, opt->name);
		else
			n = fprintf(out, "      --%s", opt->name);
		if (opt->arg)
			n += fprintf(out, " %s", opt->arg);
		/* Two blanks at least between an option and its text, else a line of its own. */
		if (n > HELP_INDENT - 2)
			fprintf(out, "\n%*s", HELP_INDENT, "");
		else
			fprintf(out, "%*s", HELP_INDENT - n, "");
		for (line = opt->help; (nl = strchr(line, '\n')); line = nl + 1)
			fprintf(out, "%.*s\n%*s", (int)(nl - line), line, HELP_INDENT, "");
		fprintf(out, "%s\n", line);
	}
	fputs("\n"
	      "<vm> is the VM's name (libvirt name, QEMU -name, or command-PID) with\n"
	      "characters other than A-Z a-z 0-9 _ . + - replaced by '_' and, if any were,\n"
	      "a hash of the name appended. Files are appended to across runs; a file with\n"
	      "other columns is first renamed to <file>.<unix time>.\n"
	      "\n"
	      "Examples:\n"
	      "  " PROG " -i 1\n"
	      "      live view every second, CSV files in ./logs\n"
	      "  " PROG " -i 0.5 -c 60 -o /var/log/kvmtrace\n"
	      "      60 rows per VM, half a second apart, in /var/log/kvmtrace\n"
	      "  " PROG " -p 4242 -q\n"
	      "      only the VM of process 4242, CSV files only\n"
	      "  " PROG " -q --listen 9477\n"
	      "      CSV files, and metrics for Prometheus at http://127.0.0.1:9477/metrics\n",
	      out);
}

static enum cli_status print_help(const struct cli_option *opt, const char *val,
				  struct cli_ctx *c)
{
	(void)opt;
	(void)val;
	usage(c->out);
	return CLI_DONE;
}

/* ---- the table ---- */

const struct cli_option cli_options[] = {
	{ .name = "config", .letter = 'C', .arg = "FILE", .set = set_nothing,
	  .help = "read options from FILE first (key = value lines,\n"
		  "see kvmtrace-bpf(8)); options given here win",
	  .example = "a file, e.g. -C /etc/kvmtrace-bpf.conf" },
	{ .name = "interval", .letter = 'i', .arg = "SECONDS", .key = CLI_KEY_VALUE,
	  .set = set_interval,
	  .help = "time between rows, > 0 and at most 3600,\nfractions allowed (default 1)",
	  .example = "seconds, e.g. -i 0.5", .what = "interval",
	  .hint = "give seconds > 0 and at most 3600, e.g. -i 0.5" },
	{ .name = "count", .letter = 'c', .arg = "N", .key = CLI_KEY_VALUE, .set = set_count,
	  .help = "stop after N intervals (default: until Ctrl-C)",
	  .example = "a number of intervals, e.g. -c 60", .what = "count",
	  .hint = "give a whole number of intervals > 0, e.g. -c 60" },
	{ .name = "duration", .letter = 'd', .arg = "SECONDS", .key = CLI_KEY_VALUE,
	  .set = set_duration,
	  .help = "stop after this many seconds (default: until Ctrl-C)",
	  .example = "seconds, e.g. -d 30", .what = "duration",
	  .hint = "give seconds > 0, e.g. -d 30 or -d 0.5" },
	{ .name = "output", .letter = 'o', .arg = "DIR", .key = CLI_KEY_VALUE, .set = set_text,
	  .field = offsetof(struct cli_opts, outdir),
	  .help = "folder for the CSV files (default logs); each VM\n"
		  "gets DIR/<vm>.csv (a row per interval),\n"
		  "DIR/<vm>.vcpu.csv (per vCPU thread) and\n"
		  "DIR/<vm>.exits.csv (per exit reason)",
	  .example = "a folder, e.g. -o /var/log/kvmtrace", .what = "output folder" },
	{ .name = "pid", .letter = 'p', .arg = "PID", .key = CLI_KEY_REPEAT, .set = set_pid,
	  .help = "trace only this process; repeat for more (up to " STR(CLI_MAX_PIDS) ")",
	  .example = "a process ID, e.g. -p 4242", .what = "PID",
	  .hint = "give a process ID > 0, e.g. -p 4242" },
	{ .name = "libvirt-uri", .arg = "URI", .key = CLI_KEY_VALUE, .set = set_text,
	  .field = offsetof(struct cli_opts, libvirt_uri),
	  .help = "libvirt connection for VM names, UUIDs and devices\n"
		  "(default qemu:///system; none: do without)",
	  .example = "a URI, e.g. --libvirt-uri qemu:///system, or none",
	  .what = "libvirt URI" },
	{ .name = "power", .arg = "SOURCE", .key = CLI_KEY_VALUE, .set = set_text,
	  .field = offsetof(struct cli_opts, power),
	  .help = "host power: edimax:HOST[:PORT] (smart plug), rapl,\n"
		  "or none (default: rapl where readable, else none)",
	  .example = "a source, e.g. --power edimax:192.0.2.7 or --power rapl",
	  .what = "power source" },
	{ .name = "idle-watts", .arg = "W", .key = CLI_KEY_VALUE, .set = set_idle_watts,
	  .help = "the host's idle power, for the VMs' shares (default:\n"
		  "the lowest power seen so far)",
	  .example = "watts, e.g. --idle-watts 45", .what = "idle power",
	  .hint = "give watts >= 0, e.g. --idle-watts 45" },
	{ .name = "counters", .arg = "LIST", .key = CLI_KEY_VALUE, .set = set_counters,
	  .help = "perf events counted per VM, split at VM entry and\n"
		  "exit, as perf stat -e names them, comma-separated\n"
		  "(default " COUNTERS_DEFAULT ";\n"
		  "none: no counters); up to " STR(KT_MAX_COUNTERS),
	  .example = "perf event names, e.g. --counters cycles,instructions",
	  .what = "counter list" },
	{ .name = "sample-hz", .arg = "N", .key = CLI_KEY_VALUE, .set = set_sample_hz,
	  .help = "samples per second and CPU that split each VM's\n"
		  "hypervisor time by component (default " STR(CLI_DEFAULT_SAMPLE_HZ) ";\n"
		  "0: no split)",
	  .example = "samples per second, e.g. --sample-hz 499", .what = "sampling rate",
	  .hint = "give samples per second from 0 (off) to 10000, e.g. --sample-hz 499" },
	{ .name = "overhead-budget", .arg = "PCT", .key = CLI_KEY_VALUE,
	  .set = set_overhead_budget,
	  .help = "% of one CPU the sampler may take, its timer\n"
		  "interrupts included: it samples less often rather\n"
		  "than more (default " STR(CLI_DEFAULT_OVERHEAD_BUDGET) ")",
	  .example = "a percentage of one CPU, e.g. --overhead-budget 0.5",
	  .what = "overhead budget",
	  .hint = "give a percentage above 0 and up to 100, e.g. --overhead-budget 0.5" },
	{ .name = "kvm-hooks", .arg = "on|off", .key = CLI_KEY_VALUE, .set = set_kvm_hooks,
	  .help = "off: leave kvm_entry/kvm_exit unhooked, for hosts\n"
		  "with many exits: guest time from the kernel's\n"
		  "accounting, exits from KVM's statistics (default on)",
	  .example = "on or off, e.g. --kvm-hooks off", .what = "kvm hooks setting",
	  .hint = "give on or off, e.g. --kvm-hooks off" },
	{ .name = "listen", .arg = "[ADDR:]PORT", .key = CLI_KEY_VALUE, .set = set_listen,
	  .help = "serve Prometheus metrics at http://ADDR:PORT/metrics\n"
		  "(default: off; ADDR 127.0.0.1 unless given, an\n"
		  "IPv6 one in brackets: [::1]:9477)",
	  .example = "[ADDR:]PORT, e.g. --listen 9477 or --listen 0.0.0.0:9477",
	  .what = "listen address",
	  .hint = "give [ADDR:]PORT with a numeric address and a port from 1 to 65535, e.g. "
		  "--listen 9477, --listen 0.0.0.0:9477 or --listen [::1]:9477" },
	{ .name = "rotate", .arg = "WHEN", .key = CLI_KEY_VALUE, .set = set_rotate,
	  .help = "start new files daily (at 00:00 UTC) or at a size\n"
		  "(e.g. 100M; K, M, G), compressing the old ones\n"
		  "to <file>.<UTC time>.gz (default: never; SIGHUP\n"
		  "reopens the files, for logrotate)",
	  .example = "daily or a size, e.g. --rotate 100M", .what = "rotation",
	  .hint = "give daily or a size of at least 64K, e.g. --rotate 100M" },
	/* For tests (a fake powercap tree): in the man page, not in --help. */
	{ .name = "sysfs-root", .arg = "DIR", .key = CLI_KEY_VALUE, .set = set_text,
	  .field = offsetof(struct cli_opts, sysfs_root),
	  .example = "a folder, e.g. --sysfs-root /sys", .what = "sysfs root" },
	{ .name = "quiet", .letter = 'q', .key = CLI_KEY_FLAG, .set = set_flag,
	  .field = offsetof(struct cli_opts, quiet),
	  .help = "no live view, only the CSV files" },
	{ .name = "verbose", .letter = 'v', .key = CLI_KEY_FLAG, .set = set_flag,
	  .field = offsetof(struct cli_opts, verbose),
	  .help = "print libbpf debug messages" },
	{ .name = "help", .letter = 'h', .set = print_help,
	  .help = "print this help and exit" },
	{ .name = "version", .set = print_version,
	  .help = "print the version and exit" },
	{ .name = NULL },
};

_Static_assert(sizeof(cli_options) / sizeof(cli_options[0]) <= CLI_MAX_OPTIONS + 1,
	       "cli_options[] outgrew CLI_MAX_OPTIONS");

/* ---- getopt ---- */

struct getopt_tables {
	struct option longs[CLI_MAX_OPTIONS + 1];
	char shorts[2 * CLI_MAX_OPTIONS + 2];
};

static int getopt_val(const struct cli_option *opt)
{
	return opt->letter ? opt->letter : LONG_ONLY + (int)(opt - cli_options);
}

static void build_tables(struct getopt_tables *t)
{
	const struct cli_option *opt;
	char *s = t->shorts;
	int i = 0;

	/* Leading ':': a missing value is reported as ':' rather than '?'. */
	*s++ = ':';
	for (opt = cli_options; opt->name; opt++, i++) {
		t->longs[i] = (struct option){
			.name = opt->name,
			.has_arg = opt->arg ? required_argument : no_argument,
			.val = getopt_val(opt),
		};
		if (opt->letter) {
			*s++ = opt->letter;
			if (opt->arg)
				*s++ = ':';
		}
	}
	t->longs[i] = (struct option){ .name = NULL };
	*s = '\0';
}

/* The option getopt returned, or said ':' or '?' about; NULL for one it does not know. */
static const struct cli_option *option_of(int val)
{
	const struct cli_option *opt;

	for (opt = cli_options; opt->name; opt++)
		if (getopt_val(opt) == val)
			return opt;
	return NULL;
}

/* getopt said '?': an unknown or ambiguous option, or a value given to a flag (--quiet=1). */
static void bad_option(FILE *err, int val, const char *arg)
{
	const struct cli_option *opt = val ? option_of(val) : NULL;
	size_t len, matches = 0;
	const char *eq;
	char name[48];

	if (opt) {
		fprintf(err, PROG ": option %s takes no value, but got '",
			full_name(opt, name, sizeof(name)));
		put_value(err, arg);
		fputs("': see " PROG " --help\n", err);
		return;
	}
	if (val) {
		fprintf(err, PROG ": unknown option '-%c': see " PROG " --help\n",
			isprint(val) ? val : '?');
		return;
	}
	/* A long option: count the options it abbreviates to tell "ambiguous" from "unknown". */
	if (!strncmp(arg, "--", 2)) {
		eq = strchr(arg, '=');
		len = (eq ? (size_t)(eq - arg) : strlen(arg)) - 2;
		for (opt = cli_options; opt->name; opt++)
			matches += !strncmp(opt->name, arg + 2, len);
	}
	fprintf(err, PROG ": %s option '", matches > 1 ? "ambiguous" : "unknown");
	put_value(err, arg);
	fprintf(err, "': %s, see " PROG " --help\n",
		matches > 1 ? "write more of its name" : "check the spelling");
}

static void defaults(struct cli_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->interval_s = 1.0;
	o->outdir = "logs";
	o->libvirt_uri = "qemu:///system";
	o->idle_watts = -1;
	o->sysfs_root = "/sys";
	o->nr_counters = counters_parse(COUNTERS_DEFAULT, o->counters, KT_MAX_COUNTERS, NULL, 0);
	o->sample_hz = CLI_DEFAULT_SAMPLE_HZ;
	o->overhead_budget = CLI_DEFAULT_OVERHEAD_BUDGET;
	o->kvm_hooks = true;
}

enum cli_status cli_parse(int argc, char **argv, struct cli_opts *opts, FILE *out, FILE *err)
{
	struct cli_ctx ctx = { .o = opts, .out = out, .err = err };
	const struct cli_option *opt;
	struct getopt_tables t;
	enum cli_status st;
	char name[48];
	int c;

	defaults(opts);
	build_tables(&t);
	/* 0, not 1: makes glibc reset its internal state, so cli_parse() can run again. */
	optind = 0;
	opterr = 0;

	while ((c = getopt_long(argc, argv, t.shorts, t.longs, NULL)) != -1) {
		if (c == ':') {
			/* Only options that take a value are missing one: opt is never NULL. */
			opt = option_of(optopt);
			fprintf(err, PROG ": option %s needs a value: give %s\n",
				full_name(opt, name, sizeof(name)), opt->example);
			return CLI_USAGE;
		}
		opt = option_of(c);
		if (!opt) {
			bad_option(err, optopt, argv[optind - 1]);
			return CLI_USAGE;
		}
		st = opt->set(opt, optarg, &ctx);
		if (st != CLI_RUN)
			return st;
	}
	if (optind < argc) {
		fprintf(err, PROG ": unexpected argument '");
		put_value(err, argv[optind]);
		fputs("': options only, see " PROG " --help\n", err);
		return CLI_USAGE;
	}
	return CLI_RUN;
}

const char *cli_config_file(int argc, char **argv)
{
	struct getopt_tables t;
	const char *path = NULL;
	int c;

	/* The same tables as cli_parse(), so "-o -C" is an output folder, not a config file. */
	build_tables(&t);
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, t.shorts, t.longs, NULL)) != -1)
		if (c == 'C')
			path = optarg;
	return path;
}
