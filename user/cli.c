// SPDX-License-Identifier: GPL-2.0
/* Command-line parsing. Every usage error is one line: what was wrong and what to give. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "metrics.h"

#ifndef KT_VERSION
#define KT_VERSION "dev"
#endif

#define PROG			"kvmtrace-bpf"
#define MAX_INTERVAL_S		3600.0
/* About 31 years: far beyond any run, and small enough to turn into ns without overflow. */
#define MAX_DURATION_S		1e9

enum {
	OPT_VERSION = 1000, OPT_LIBVIRT_URI, OPT_POWER, OPT_IDLE_WATTS, OPT_SYSFS_ROOT,
	OPT_COUNTERS, OPT_SAMPLE_HZ, OPT_LISTEN, OPT_ROTATE, OPT_KVM_HOOKS,
};

static const struct option long_opts[] = {
	{ "interval", required_argument, NULL, 'i' },
	{ "count", required_argument, NULL, 'c' },
	{ "duration", required_argument, NULL, 'd' },
	{ "output", required_argument, NULL, 'o' },
	{ "pid", required_argument, NULL, 'p' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "libvirt-uri", required_argument, NULL, OPT_LIBVIRT_URI },
	{ "power", required_argument, NULL, OPT_POWER },
	{ "idle-watts", required_argument, NULL, OPT_IDLE_WATTS },
	{ "sysfs-root", required_argument, NULL, OPT_SYSFS_ROOT },
	{ "counters", required_argument, NULL, OPT_COUNTERS },
	{ "sample-hz", required_argument, NULL, OPT_SAMPLE_HZ },
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "rotate", required_argument, NULL, OPT_ROTATE },
	{ "kvm-hooks", required_argument, NULL, OPT_KVM_HOOKS },
	{ "config", required_argument, NULL, 'C' },
	{ NULL, 0, NULL, 0 },
};

/* Leading ':': a missing value is reported as ':' rather than '?'. */
static const char short_opts[] = ":i:c:d:o:p:qvhC:";

static void usage(FILE *out)
{
	/* Kept within 79 columns for an 80-column terminal. */
	fprintf(out,
		"Usage: " PROG " [OPTIONS]\n"
		"\n"
		"Traces the KVM virtual machines of this host with eBPF. For each VM and\n"
		"interval it reports CPU time split into guest and hypervisor time, VM exits\n"
		"by reason, and how long its threads waited for a CPU. Needs root (or\n"
		"CAP_BPF and CAP_PERFMON).\n"
		"\n"
		"Options:\n"
		"  -C, --config FILE       read options from FILE first (key = value lines,\n"
		"                          see kvmtrace-bpf(8)); options given here win\n"
		"  -i, --interval SECONDS  time between rows, > 0 and at most 3600,\n"
		"                          fractions allowed (default 1)\n"
		"  -c, --count N           stop after N intervals (default: until Ctrl-C)\n"
		"  -d, --duration SECONDS  stop after this many seconds (default: until Ctrl-C)\n"
		"  -o, --output DIR        folder for the CSV files (default logs); each VM\n"
		"                          gets DIR/<vm>.csv (a row per interval),\n"
		"                          DIR/<vm>.vcpu.csv (per vCPU thread) and\n"
		"                          DIR/<vm>.exits.csv (per exit reason)\n"
		"  -p, --pid PID           trace only this process; repeat for more (up to %d)\n"
		"      --libvirt-uri URI   libvirt connection for VM names, UUIDs and devices\n"
		"                          (default qemu:///system; none: do without)\n"
		"      --power SOURCE      host power: edimax:HOST[:PORT] (smart plug), rapl,\n"
		"                          or none (default: rapl where readable, else none)\n"
		"      --idle-watts W      the host's idle power, for the VMs' shares (default:\n"
		"                          the lowest power seen so far)\n"
		"      --counters LIST     perf events counted per VM, split at VM entry and\n"
		"                          exit, as perf stat -e names them, comma-separated\n"
		"                          (default " COUNTERS_DEFAULT ";\n"
		"                          none: no counters); up to %d\n"
		"      --sample-hz N       samples per second and CPU that split each VM's\n"
		"                          hypervisor time by component (default %d;\n"
		"                          0: no split)\n"
		"      --kvm-hooks on|off  off: leave kvm_entry/kvm_exit unhooked, for hosts\n"
		"                          with many exits: guest time from the kernel's\n"
		"                          accounting, exits from KVM's statistics (default on)\n"
		"      --listen [ADDR:]PORT\n"
		"                          serve Prometheus metrics at http://ADDR:PORT/metrics\n"
		"                          (default: off; ADDR 127.0.0.1 unless given, an\n"
		"                          IPv6 one in brackets: [::1]:9477)\n"
		"      --rotate WHEN       start new files daily (at 00:00 UTC) or at a size\n"
		"                          (e.g. 100M; K, M, G), compressing the old ones\n"
		"                          to <file>.<UTC time>.gz (default: never; SIGHUP\n"
		"                          reopens the files, for logrotate)\n"
		"  -q, --quiet             no live table, only the CSV files\n"
		"  -v, --verbose           print libbpf debug messages\n"
		"  -h, --help              print this help and exit\n"
		"      --version           print the version and exit\n"
		"\n"
		"<vm> is the VM's name (libvirt name, QEMU -name, or command-PID) with\n"
		"characters other than A-Z a-z 0-9 _ . + - replaced by '_' and, if any were,\n"
		"a hash of the name appended. Files are appended to across runs; a file with\n"
		"other columns is first renamed to <file>.<unix time>.\n"
		"\n"
		"Examples:\n"
		"  " PROG " -i 1\n"
		"      live table every second, CSV files in ./logs\n"
		"  " PROG " -i 0.5 -c 60 -o /var/log/kvmtrace\n"
		"      60 rows per VM, half a second apart, in /var/log/kvmtrace\n"
		"  " PROG " -p 4242 -q\n"
		"      only the VM of process 4242, CSV files only\n"
		"  " PROG " -q --listen 9477\n"
		"      CSV files, and metrics for Prometheus at http://127.0.0.1:9477/metrics\n",
		CLI_MAX_PIDS, KT_MAX_COUNTERS, CLI_DEFAULT_SAMPLE_HZ);
}

/* Prints a user-given value on our one error line: control characters would break it. */
static void put_value(FILE *err, const char *s)
{
	for (; *s; s++)
		fputc(iscntrl((unsigned char)*s) ? '?' : *s, err);
}

static void bad_value(FILE *err, const char *what, const char *val, const char *opt,
		      const char *hint)
{
	fprintf(err, PROG ": invalid %s '", what);
	put_value(err, val);
	fprintf(err, "' (%s): %s\n", opt, hint);
}

/* A plain decimal number (no spaces, no "inf" or "nan") within [min, max]. */
static int parse_decimal(const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	if (!*s || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* Seconds: > 0 and <= max. */
static int parse_seconds(const char *s, double max, double *out)
{
	double v;

	if (parse_decimal(s, 0, max, &v) || v == 0)
		return -1;
	*out = v;
	return 0;
}

/* A positive decimal integer up to max, digits only. */
static int parse_positive(const char *s, long max, long *out)
{
	long v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (max - (*s - '0')) / 10)
			return -1;
		v = v * 10 + (*s - '0');
	}
	if (v <= 0)
		return -1;
	*out = v;
	return 0;
}

/* "daily", or a size with an optional K, M or G suffix (powers of 1024), at least 64 KiB. */
static int parse_rotation(const char *s, struct csv_rotation *r)
{
	static const char units[] = "KMG";
	const char *unit;
	long n;
	char *end;
	int i;

	memset(r, 0, sizeof(*r));
	if (!strcmp(s, "daily")) {
		r->daily = true;
		return 0;
	}
	errno = 0;
	if (!isdigit((unsigned char)*s))
		return -1;
	n = strtol(s, &end, 10);
	if (errno || n <= 0)
		return -1;
	r->max_bytes = n;
	if (*end) {
		unit = strchr(units, toupper((unsigned char)*end));
		if (!unit || end[1])
			return -1;
		for (i = 0; i <= unit - units; i++) {
			if (r->max_bytes > LONG_MAX / 1024)
				return -1;
			r->max_bytes *= 1024;
		}
	}
	return r->max_bytes < 64 * 1024 ? -1 : 0;
}

/* The option as the user may have typed it, for messages: "-i/--interval". */
static const char *opt_name(int c)
{
	switch (c) {
	case 'i':
		return "-i/--interval";
	case 'c':
		return "-c/--count";
	case 'd':
		return "-d/--duration";
	case 'o':
		return "-o/--output";
	case 'p':
		return "-p/--pid";
	case 'q':
		return "-q/--quiet";
	case 'v':
		return "-v/--verbose";
	case 'h':
		return "-h/--help";
	case 'C':
		return "-C/--config";
	case OPT_VERSION:
		return "--version";
	case OPT_LIBVIRT_URI:
		return "--libvirt-uri";
	case OPT_POWER:
		return "--power";
	case OPT_IDLE_WATTS:
		return "--idle-watts";
	case OPT_SYSFS_ROOT:
		return "--sysfs-root";
	case OPT_COUNTERS:
		return "--counters";
	case OPT_SAMPLE_HZ:
		return "--sample-hz";
	case OPT_LISTEN:
		return "--listen";
	case OPT_ROTATE:
		return "--rotate";
	case OPT_KVM_HOOKS:
		return "--kvm-hooks";
	}
	return NULL;
}

static const char *opt_example(int c)
{
	switch (c) {
	case 'i':
		return "seconds, e.g. -i 0.5";
	case 'c':
		return "a number of intervals, e.g. -c 60";
	case 'd':
		return "seconds, e.g. -d 30";
	case 'o':
		return "a folder, e.g. -o /var/log/kvmtrace";
	case 'p':
		return "a process ID, e.g. -p 4242";
	case 'C':
		return "a file, e.g. -C /etc/kvmtrace-bpf.conf";
	case OPT_LIBVIRT_URI:
		return "a URI, e.g. --libvirt-uri qemu:///system, or none";
	case OPT_POWER:
		return "a source, e.g. --power edimax:192.0.2.7 or --power rapl";
	case OPT_IDLE_WATTS:
		return "watts, e.g. --idle-watts 45";
	case OPT_SYSFS_ROOT:
		return "a folder, e.g. --sysfs-root /sys";
	case OPT_COUNTERS:
		return "perf event names, e.g. --counters cycles,instructions";
	case OPT_SAMPLE_HZ:
		return "samples per second, e.g. --sample-hz 499";
	case OPT_LISTEN:
		return "[ADDR:]PORT, e.g. --listen 9477 or --listen 0.0.0.0:9477";
	case OPT_ROTATE:
		return "daily or a size, e.g. --rotate 100M";
	case OPT_KVM_HOOKS:
		return "on or off, e.g. --kvm-hooks off";
	}
	return "a value";
}

/* getopt said '?': an unknown or ambiguous option, or a value given to a flag (--quiet=1). */
static void bad_option(FILE *err, int opt, const char *arg)
{
	const char *eq;
	size_t len, matches = 0;
	int i;

	if (opt && opt_name(opt)) {
		fprintf(err, PROG ": option %s takes no value, but got '", opt_name(opt));
		put_value(err, arg);
		fputs("': see " PROG " --help\n", err);
		return;
	}
	if (opt) {
		fprintf(err, PROG ": unknown option '-%c': see " PROG " --help\n",
			isprint(opt) ? opt : '?');
		return;
	}
	/* A long option: count the options it abbreviates to tell "ambiguous" from "unknown". */
	if (!strncmp(arg, "--", 2)) {
		eq = strchr(arg, '=');
		len = (eq ? (size_t)(eq - arg) : strlen(arg)) - 2;
		for (i = 0; long_opts[i].name; i++)
			matches += !strncmp(long_opts[i].name, arg + 2, len);
	}
	fprintf(err, PROG ": %s option '", matches > 1 ? "ambiguous" : "unknown");
	put_value(err, arg);
	fprintf(err, "': %s, see " PROG " --help\n",
		matches > 1 ? "write more of its name" : "check the spelling");
}

/* --listen: "[ADDR:]PORT" with a numeric address and a real port (0 would be a random one). */
static int parse_listen(const char *s)
{
	struct sockaddr_storage addr;
	socklen_t len;
	char why[128];

	if (metrics_parse_listen(s, &addr, &len, why, sizeof(why)))
		return -1;
	if (addr.ss_family == AF_INET6)
		return ((const struct sockaddr_in6 *)&addr)->sin6_port ? 0 : -1;
	return ((const struct sockaddr_in *)&addr)->sin_port ? 0 : -1;
}

/* Options whose value is text that only has to be there: what it is and where it goes. */
static const struct {
	int opt;
	const char *what;
	size_t offset;
} text_opts[] = {
	{ 'o', "output folder", offsetof(struct cli_opts, outdir) },
	{ OPT_LIBVIRT_URI, "libvirt URI", offsetof(struct cli_opts, libvirt_uri) },
	{ OPT_POWER, "power source", offsetof(struct cli_opts, power) },
	{ OPT_SYSFS_ROOT, "sysfs root", offsetof(struct cli_opts, sysfs_root) },
};

/* Takes optarg for a text option: 0 taken, -1 empty (message printed), 1 not a text option. */
static int text_option(struct cli_opts *o, int opt, FILE *err)
{
	char hint[96];
	size_t i;

	for (i = 0; i < sizeof(text_opts) / sizeof(text_opts[0]); i++) {
		if (text_opts[i].opt != opt)
			continue;
		if (!*optarg) {
			snprintf(hint, sizeof(hint), "give %s", opt_example(opt));
			bad_value(err, text_opts[i].what, optarg, opt_name(opt), hint);
			return -1;
		}
		*(const char **)((char *)o + text_opts[i].offset) = optarg;
		return 0;
	}
	return 1;
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
	o->kvm_hooks = true;
}

enum cli_status cli_parse(int argc, char **argv, struct cli_opts *opts, FILE *out, FILE *err)
{
	char why[128];
	int c, i, text;
	long v;

	defaults(opts);
	/* 0, not 1: makes glibc reset its internal state, so cli_parse() can run again. */
	optind = 0;
	opterr = 0;

	while ((c = getopt_long(argc, argv, short_opts, long_opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			if (parse_seconds(optarg, MAX_INTERVAL_S, &opts->interval_s)) {
				bad_value(err, "interval", optarg, "-i",
					  "give seconds > 0 and at most 3600, e.g. -i 0.5");
				return CLI_USAGE;
			}
			break;
		case 'c':
			if (parse_positive(optarg, LONG_MAX, &opts->count)) {
				bad_value(err, "count", optarg, "-c",
					  "give a whole number of intervals > 0, e.g. -c 60");
				return CLI_USAGE;
			}
			break;
		case 'd':
			if (parse_seconds(optarg, MAX_DURATION_S, &opts->duration_s)) {
				bad_value(err, "duration", optarg, "-d",
					  "give seconds > 0, e.g. -d 30 or -d 0.5");
				return CLI_USAGE;
			}
			break;
		case 'p':
			if (parse_positive(optarg, INT_MAX, &v)) {
				bad_value(err, "PID", optarg, "-p",
					  "give a process ID > 0, e.g. -p 4242");
				return CLI_USAGE;
			}
			for (i = 0; i < opts->nr_pids && opts->pids[i] != v; i++)
				;
			if (i < opts->nr_pids)
				break;	/* given twice: once is enough */
			if (opts->nr_pids == CLI_MAX_PIDS) {
				fprintf(err, PROG ": too many PIDs (-p): give at most %d, "
					"or none to trace every VM\n", CLI_MAX_PIDS);
				return CLI_USAGE;
			}
			opts->pids[opts->nr_pids++] = (int)v;
			break;
		case OPT_IDLE_WATTS:
			if (parse_decimal(optarg, 0, HUGE_VAL, &opts->idle_watts)) {
				bad_value(err, "idle power", optarg, "--idle-watts",
					  "give watts >= 0, e.g. --idle-watts 45");
				return CLI_USAGE;
			}
			break;
		case OPT_COUNTERS:
			opts->nr_counters = counters_parse(optarg, opts->counters, KT_MAX_COUNTERS,
							   why, sizeof(why));
			if (opts->nr_counters < 0) {
				bad_value(err, "counter list", optarg, "--counters", why);
				return CLI_USAGE;
			}
			break;
		case OPT_SAMPLE_HZ:
			if (strcmp(optarg, "0") &&
			    parse_positive(optarg, CLI_MAX_SAMPLE_HZ, &v)) {
				bad_value(err, "sampling rate", optarg, "--sample-hz",
					  "give samples per second from 0 (off) to 10000, e.g. "
					  "--sample-hz 499");
				return CLI_USAGE;
			}
			opts->sample_hz = strcmp(optarg, "0") ? (unsigned int)v : 0;
			break;
		case OPT_KVM_HOOKS:
			if (strcmp(optarg, "on") && strcmp(optarg, "off")) {
				bad_value(err, "kvm hooks setting", optarg, "--kvm-hooks",
					  "give on or off, e.g. --kvm-hooks off");
				return CLI_USAGE;
			}
			opts->kvm_hooks = !strcmp(optarg, "on");
			break;
		case OPT_ROTATE:
			if (parse_rotation(optarg, &opts->rotation)) {
				bad_value(err, "rotation", optarg, "--rotate",
					  "give daily or a size of at least 64K, e.g. --rotate "
					  "100M");
				return CLI_USAGE;
			}
			break;
		case OPT_LISTEN:
			if (parse_listen(optarg)) {
				bad_value(err, "listen address", optarg, "--listen",
					  "give [ADDR:]PORT with a numeric address and a port "
					  "from 1 to 65535, e.g. --listen 9477, --listen "
					  "0.0.0.0:9477 or --listen [::1]:9477");
				return CLI_USAGE;
			}
			opts->listen = optarg;
			break;
		case 'q':
			opts->quiet = true;
			break;
		case 'v':
			opts->verbose = true;
			break;
		case 'C':
			break;	/* read before parsing: cli_config_file() */
		case 'h':
			usage(out);
			return CLI_DONE;
		case OPT_VERSION:
			fprintf(out, PROG " %s\n", KT_VERSION);
			return CLI_DONE;
		case ':':
			fprintf(err, PROG ": option %s needs a value: give %s\n",
				opt_name(optopt) ? opt_name(optopt) : argv[optind - 1],
				opt_example(optopt));
			return CLI_USAGE;
		default:
			text = text_option(opts, c, err);
			if (text == 0)
				break;
			if (text < 0)
				return CLI_USAGE;
			bad_option(err, optopt, argv[optind - 1]);
			return CLI_USAGE;
		}
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
	const char *path = NULL;
	int c;

	/* The same tables as cli_parse(), so "-o -C" is an output folder, not a config file. */
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, short_opts, long_opts, NULL)) != -1)
		if (c == 'C')
			path = optarg;
	return path;
}
