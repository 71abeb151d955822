// SPDX-License-Identifier: GPL-2.0
/*
 * kvmtrace-bpf: where each virtual machine's CPU goes, per interval, from BPF hooks.
 * Data flows one way: hooks -> maps -> one drain per interval -> one record per VM -> sinks.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "account.h"
#include "attribution.h"
#include "cli.h"
#include "config.h"
#include "csv.h"
#include "domains.h"
#include "interval.h"
#include "lifecycle.h"
#include "live.h"
#include "log.h"
#include "metrics.h"
#include "outdir.h"
#include "power.h"
#include "privs.h"
#include "sampler_budget.h"
#include "tracer.h"
#include "vmsource.h"

#define NS_PER_S 1000000000ull

static volatile sig_atomic_t exiting, reopen_files;

/* The -C file's options and the argv they are part of: the options point into them. */
static int conf_argc;
static char **conf_argv, **all_argv;

static void free_config(void)
{
	free(all_argv);
	config_free(conf_argc, conf_argv);
}

/* argv with the -C file's options before the command line's. NULL (said why) on an error. */
static char **with_config(int *argc, char **argv)
{
	const char *path = cli_config_file(*argc, argv);
	char why[512];

	if (!path)
		return argv;
	if (config_load(path, &conf_argc, &conf_argv, why, sizeof(why))) {
		kt_error("%s", why);
		return NULL;
	}
	atexit(free_config);
	all_argv = config_prepend(conf_argc, conf_argv, *argc, argv, argc);
	if (!all_argv)
		kt_error("out of memory");
	return all_argv;
}

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reopen_files = 1;
	else
		exiting = 1;
}

static void install_signals(void)
{
	/* No SA_RESTART: the interval sleep must end at once to finish the interval. */
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);	/* reopen the files: the interval goes on */
	signal(SIGPIPE, SIG_IGN);
}

static uint64_t mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

/* Sleeps until deadline (CLOCK_MONOTONIC ns) or a signal; the live view reads keys meanwhile. */
static void sleep_until(uint64_t deadline, bool live)
{
	struct timespec ts = { .tv_sec = deadline / NS_PER_S, .tv_nsec = deadline % NS_PER_S };

	switch (live ? live_wait(deadline, &exiting) : LIVE_NONE) {
	case LIVE_QUIT:
		/* q: as SIGINT, the interval so far gets its rows and the tracer ends. */
		exiting = 1;
		return;
	case LIVE_WAITED:
		return;
	case LIVE_NONE:
		break;
	}
	while (!exiting && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

struct run {
	const struct cli_opts *opts;
	struct tracer *tracer;
	struct host host;
	struct account *account;
	struct lifecycle *lifecycle;
	struct interval_core *core;
	struct power_source *power;
	struct csv_sink *csv;
	struct metrics_server *metrics;	/* --listen; NULL: off */
	struct sampler_budget budget;	/* the sampler's rate under --overhead-budget */
	double lag_s;			/* how late the current drain is against its schedule */
	bool write_failing;
	bool clear_screen;
	size_t live_vms;
};

/* The CSV sink: the host row, then each VM's rows; an ended VM's files close after its last. */
static int write_rows(struct run *run, const struct interval_record *rec)
{
	size_t i;
	int err = 0;

	if (csv_sink_write_host(run->csv, &rec->iv, &rec->host))
		err = -errno;
	for (i = 0; i < rec->nr_vms; i++) {
		if (csv_sink_write(run->csv, &rec->iv, &rec->vms[i]))
			err = -errno;
		if (rec->vms[i].final)
			csv_sink_forget(run->csv, rec->vms[i].vm);
	}
	if (csv_sink_flush(run->csv) && !err)
		err = -errno;
	return err;
}

/* One interval: one record, then every sink gets it, then what ended is let go. */
static int do_interval(struct run *run)
{
	struct interval_record rec;
	int err;

	if (interval_next(run->core, run->lag_s, &rec))
		return -1;
	err = write_rows(run, &rec);
	if (err && !run->write_failing)
		kt_warn("cannot write CSV rows in '%s': %s; tracing goes on and writing resumes "
			"when it can", run->opts->outdir, strerror(-err));
	else if (!err && run->write_failing)
		kt_notice("writing CSV rows in '%s' again", run->opts->outdir);
	run->write_failing = err != 0;
	if (run->metrics)
		metrics_publish(run->metrics, &rec.iv, rec.vms, rec.nr_vms, &rec.host, &rec.health);
	if (!run->opts->quiet)
		live_show(&rec, run->clear_screen);
	run->live_vms = interval_done(run->core);
	return 0;
}

static int trace(struct run *run)
{
	const struct cli_opts *o = run->opts;
	uint64_t step = (uint64_t)(o->interval_s * NS_PER_S), start, next, now;
	uint64_t end = o->duration_s > 0 ? (uint64_t)(o->duration_s * NS_PER_S) : 0;
	long rows = 0;

	start = next = mono_now();
	for (;;) {
		next += step;
		if (end && next > start + end)
			next = start + end;
		sleep_until(next, !o->quiet && run->clear_screen);
		if (reopen_files) {
			reopen_files = 0;
			if (csv_sink_reopen(run->csv))
				kt_warn("cannot reopen output folder '%s': %s; writing on in the one "
					"open", o->outdir, strerror(errno));
			else
				kt_notice("reopened the files in '%s' (SIGHUP)", o->outdir);
		}
		now = mono_now();
		run->lag_s = now > next ? (now - next) / 1e9 : 0;
		if (do_interval(run))
			return 1;
		now = mono_now();
		rows++;
		if (exiting || (o->count && rows >= o->count) || (end && now >= start + end))
			return 0;
		/* With -p, stop once every given process has ended. */
		if (o->nr_pids && !run->live_vms)
			return 0;
		/* Behind schedule (a suspended host, a slow disk): skip missed ticks, no burst. */
		while (next + step <= now)
			next += step;
	}
}

static bool pids_exist(const struct cli_opts *o)
{
	int i;

	for (i = 0; i < o->nr_pids; i++) {
		if (kill(o->pids[i], 0) && errno == ESRCH) {
			kt_error("no process with PID %d (-p): give the PID of a running VMM",
				 o->pids[i]);
			return false;
		}
	}
	return true;
}

/* What the accounting needs to know of this run: what the tracer observes, which counters. */
static void account_options(const struct run *run, struct account_opts *a)
{
	int i;

	memset(a, 0, sizeof(*a));
	a->guest_observable = tracer_guest_observable(run->tracer);
	a->disk_observable = tracer_disk_observable(run->tracer);
	a->nr_counters = run->opts->nr_counters;
	for (i = 0; i < run->opts->nr_counters; i++) {
		a->counter_name[i] = run->opts->counters[i].name;
		a->counter_column[i] = run->opts->counters[i].column;
		a->counter_active[i] = tracer_counter_active(run->tracer, i);
	}
	a->sample_period_ns = tracer_sample_period_ns(run->tracer);
}

/*
 * What a sample costs here, measured once, and the rate that keeps the sampler within
 * --overhead-budget. Returns whether the sampler runs (and so has a budget).
 */
static bool start_budget(struct run *run)
{
	unsigned int asked = tracer_sample_hz(run->tracer), hz;
	double cost;
	char why[256];

	if (!asked)
		return false;
	cost = tracer_sample_cost_ns(run->tracer, why, sizeof(why));
	if (cost < 0)
		kt_warn("cannot measure what a sample costs: %s; the sampler keeps %u Hz and "
			"sampler_cost_ns will be empty", why, asked);
	sampler_budget_init(&run->budget, run->opts->overhead_budget / 100, asked,
			    tracer_sampled_cpus(run->tracer), cost);
	hz = sampler_budget_rate(&run->budget);
	if (hz == asked && cost < 0)
		return true;
	if (hz != asked && tracer_set_sample_hz(run->tracer, hz, why, sizeof(why))) {
		kt_warn("cannot lower the sampler's rate to %u Hz: %s; it stays at %u Hz", hz, why,
			asked);
		return true;
	}
	run->budget.hz = hz;
	sampler_budget_explain(&run->budget, hz, why, sizeof(why));
	kt_info("%s", why);
	return true;
}

/*
 * Up to the hard limit (at most 65536): the CSV sink keeps 3 files open per VM, and a host of
 * hundreds of VMs needs more than the usual soft limit of 1024 descriptors.
 */
static void raise_fd_limit(void)
{
	struct rlimit fds;

	if (getrlimit(RLIMIT_NOFILE, &fds) || fds.rlim_cur >= fds.rlim_max ||
	    fds.rlim_cur >= 65536)
		return;
	fds.rlim_cur = fds.rlim_max < 65536 ? fds.rlim_max : 65536;
	setrlimit(RLIMIT_NOFILE, &fds);
}

int main(int argc, char **argv)
{
	struct tracer_opts topts = {};
	struct privs_needs needs = {};
	struct account_opts aopts;
	struct vm_source src;
	struct run run = {};
	struct cli_opts opts;
	bool budgeted;
	char why[512];
	int status = 1;

	/* SIGHUP only reopens files: one sent while starting must not end the tracer. */
	signal(SIGHUP, SIG_IGN);
	argv = with_config(&argc, argv);
	if (!argv)
		return 2;
	switch (cli_parse(argc, argv, &opts, stdout, stderr)) {
	case CLI_DONE:
		return 0;
	case CLI_USAGE:
		return 2;
	case CLI_RUN:
		break;
	}
	kt_log_quiet(opts.quiet);
	if (outdir_check(opts.outdir, true, why, sizeof(why))) {
		kt_error("%s", why);
		return 2;
	}
	if (!pids_exist(&opts))
		return 2;
	raise_fd_limit();
	run.opts = &opts;
	topts.verbose = opts.verbose;
	topts.discover = opts.nr_pids == 0;
	topts.counters = opts.counters;
	topts.nr_counters = opts.nr_counters;
	topts.sample_hz = opts.sample_hz;
	topts.kvm_hooks = opts.kvm_hooks;
	run.tracer = tracer_open(&topts, why, sizeof(why));
	if (!run.tracer) {
		kt_error("%s", why);
		return 1;
	}
	budgeted = start_budget(&run);
	/* Ports below 1024 need a privilege the tracer then drops. */
	if (opts.listen) {
		run.metrics = metrics_open(opts.listen, why, sizeof(why));
		if (!run.metrics) {
			kt_error("%s", why);
			goto out;
		}
	}
	/* Programs attached, perf events open: the rest needs few privileges (privs.h). Before
	 * power_open() and metrics_start(), whose threads would keep them all. */
	needs.outdir = opts.outdir;
	needs.kallsyms = tracer_sample_period_ns(run.tracer) != 0;
	if (privs_drop(&needs, why, sizeof(why))) {
		kt_error("cannot drop privileges: %s", why);
		goto out;
	}
	kt_info("privileges dropped, %s", why);
	/* After the privilege checks: RAPL is root's to read. A wrong source is a usage error. */
	run.power = power_open(opts.power, opts.sysfs_root, opts.interval_s, why, sizeof(why));
	if (!run.power) {
		kt_error("%s", why);
		status = 2;
		goto out;
	}
	run.csv = csv_sink_open(opts.outdir);
	if (!run.csv) {
		kt_error("cannot open output folder '%s': %s", opts.outdir, strerror(errno));
		goto out;
	}
	csv_sink_set_rotation(run.csv, &opts.rotation);
	if (run.metrics && metrics_start(run.metrics, why, sizeof(why))) {
		kt_error("%s", why);
		goto out;
	}
	run.host.domains = domains_open(opts.libvirt_uri, opts.interval_s);
	run.host.tracer = run.tracer;
	src = host_vm_source(&run.host);
	account_options(&run, &aopts);
	run.account = account_new(&src, &aopts);
	run.lifecycle = lifecycle_new(run.tracer, run.account, run.host.domains, opts.pids,
				      opts.nr_pids);
	run.core = interval_core_new(run.tracer, &run.host, run.account, run.lifecycle, run.power,
				     opts.idle_watts);
	if (!run.host.domains || !run.account || !run.lifecycle || !run.core) {
		kt_error("out of memory");
		goto out;
	}
	interval_core_set_budget(run.core, budgeted ? &run.budget : NULL);
	install_signals();
	lifecycle_start(run.lifecycle);
	if (interval_prime(run.core))
		goto out;
	run.clear_screen = isatty(STDOUT_FILENO);
	kt_info("tracing; rows every %g s in %s/<vm>.csv; Ctrl-C to stop", opts.interval_s,
		opts.outdir);
	if (run.metrics)
		kt_info("metrics for Prometheus at http://%s/metrics",
			metrics_address(run.metrics));
	status = trace(&run);
out:
	interval_core_free(run.core);
	lifecycle_free(run.lifecycle);
	account_free(run.account);
	domains_close(run.host.domains);
	host_release(&run.host);
	metrics_close(run.metrics);
	csv_sink_close(run.csv);
	power_close(run.power);
	tracer_close(run.tracer);
	return status;
}
