/* SPDX-License-Identifier: GPL-2.0 */
/* Command-line parsing: turns argv into options, or a one-line usage error. */
#ifndef KT_CLI_H
#define KT_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "csv.h"
#include "perf_events.h"

#define CLI_MAX_PIDS 64
/* Sampler rate: about 1 000 hits a second per busy VM on two CPUs, at well under 0.5% of a
 * CPU (make bench); odd, so it does not beat against the scheduler tick. */
#define CLI_DEFAULT_SAMPLE_HZ	499
#define CLI_DEFAULT_OVERHEAD_BUDGET	0.5	/* % of one CPU */
#define CLI_MAX_SAMPLE_HZ	10000

struct cli_opts {
	double interval_s;	/* -i: seconds between rows, > 0 (default 1) */
	long count;		/* -c: number of intervals, 0 = unlimited */
	double duration_s;	/* -d: seconds to run, 0 = unlimited */
	const char *outdir;	/* -o: output folder (default "logs") */
	int pids[CLI_MAX_PIDS];	/* -p: trace only these processes */
	int nr_pids;
	const char *libvirt_uri; /* --libvirt-uri: "none" for no libvirt (default qemu:///system) */
	const char *power;	/* --power: edimax:HOST[:PORT], rapl, none; NULL: the default */
	double idle_watts;	/* --idle-watts: the host's idle power; < 0: learned */
	const char *sysfs_root;	/* --sysfs-root: where sysfs is (a fake tree in tests) */
	struct counter_spec counters[KT_MAX_COUNTERS];	/* --counters (default COUNTERS_DEFAULT) */
	int nr_counters;
	unsigned int sample_hz;	/* --sample-hz: sampler rate per CPU; 0: no sampler */
	double overhead_budget;	/* --overhead-budget: % of one CPU the sampler may take, > 0 */
	bool kvm_hooks;		/* --kvm-hooks: attach kvm_entry/kvm_exit where they exist */
	struct csv_rotation rotation;	/* --rotate daily|SIZE; none by default */
	const char *listen;	/* --listen: [ADDR:]PORT of the Prometheus endpoint; NULL: off */
	bool quiet;		/* -q: no live table */
	bool verbose;		/* -v: libbpf debug output */
};

enum cli_status {
	CLI_RUN,	/* options parsed: run the tracer */
	CLI_DONE,	/* -h or --version printed: exit 0 */
	CLI_USAGE,	/* bad usage, message printed: exit 2 */
};

/* How an option is written in the config file (config.h). */
enum cli_key {
	CLI_KEY_NONE,		/* not a setting: the command line only */
	CLI_KEY_VALUE,		/* "key = value", once */
	CLI_KEY_REPEAT,		/* "key = value", on as many lines as wanted */
	CLI_KEY_FLAG,		/* "key = yes" gives the option, "key = no" nothing */
};

struct cli_ctx;

/*
 * One option as the command line, the config file, --help and the messages know it. The man
 * page and the shipped config file are written by hand: test_cli checks them against this.
 */
struct cli_option {
	const char *name;	/* --name, and the config file's key */
	char letter;		/* -letter, or 0 */
	const char *arg;	/* the value's name in --help ("SECONDS"); NULL: takes none */
	enum cli_key key;
	const char *help;	/* --help text, lines split by '\n'; NULL: not listed (for tests) */
	const char *example;	/* what to give for a missing value: "seconds, e.g. -i 0.5" */
	const char *what;	/* the value, in "invalid <what> 'VALUE'" */
	const char *hint;	/* what to give instead of an invalid value */
	size_t field;		/* where a text or flag option goes in struct cli_opts */
	/* Takes the value (NULL for a flag): CLI_RUN, or CLI_DONE/CLI_USAGE once it printed why. */
	enum cli_status (*set)(const struct cli_option *opt, const char *val, struct cli_ctx *c);
};

/* getopt's tables are built from cli_options[] in arrays of this size. */
#define CLI_MAX_OPTIONS	32

/* Every option, in --help's order, up to an entry whose name is NULL. */
extern const struct cli_option cli_options[];

/* Parses argv into *opts (which it first fills with defaults). Help and version go to out,
 * errors (one line, starting "kvmtrace-bpf: ") to err. */
enum cli_status cli_parse(int argc, char **argv, struct cli_opts *opts, FILE *out, FILE *err);

/* The file of -C/--config FILE (the last one given), or NULL: read before cli_parse(), whose
 * argv then has the file's options first (config.h), so that the command line overrides them. */
const char *cli_config_file(int argc, char **argv);

#endif /* KT_CLI_H */
