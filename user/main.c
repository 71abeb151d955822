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
#include <time.h>
#include <unistd.h>

#include "account.h"
#include "attribution.h"
#include "cli.h"
#include "config.h"
#include "csv.h"
#include "discovery.h"
#include "domains.h"
#include "log.h"
#include "metrics.h"
#include "outdir.h"
#include "power.h"
#include "privs.h"
#include "table.h"
#include "tracer.h"
#include "vmsource.h"

#define NS_PER_S 1000000000ull
#define DEFAULT_OUTDIR "logs"

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

/* The interval ends at the drain: its wall-clock stamp is the drain's, not the time of writing. */
static void interval_stamp(struct interval_info *iv, const struct timespec *wall, uint64_t ns)
{
	char date[24];
	struct tm tm;

	gmtime_r(&wall->tv_sec, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(iv->timestamp, sizeof(iv->timestamp), "%s.%03dZ", date,
		 (int)(wall->tv_nsec / 1000000));
	iv->epoch_s = wall->tv_sec + wall->tv_nsec / 1e9;
	iv->interval_s = ns / 1e9;
}

/* Sleeps until deadline (CLOCK_MONOTONIC ns) or a signal. */
static void sleep_until(uint64_t deadline)
{
	struct timespec ts = { .tv_sec = deadline / NS_PER_S, .tv_nsec = deadline % NS_PER_S };

	while (!exiting && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static const char *const drop_what[KT_NR_DROPS] = {
	[KT_DROP_VM_FULL] = "VMs not tracked: the VM table is full",
	[KT_DROP_THREAD_FULL] = "thread events not counted: the thread table is full",
	[KT_DROP_EXIT_FULL] = "exits not counted by reason: the exit-reason table is full",
	[KT_DROP_DEAD_FULL] = "ended VMs lost their last row: too many VMs ended in one interval",
	[KT_DROP_OPEN_GUEST] = "guest intervals dropped: their kvm_exit was never seen",
	[KT_DROP_NET_FULL] = "tap frames not counted: the network table is full",
	[KT_DROP_BIO_FULL] = "disk requests without latency: the in-flight table is full",
	[KT_DROP_PERCPU_FULL] = "counter and sampler figures lost: the per-VM table is full",
	[KT_DROP_UNSEEN_SWITCH_IN] = "thread slices whose switch-in the kernel did not report "
		"(sched_switch): their on-CPU time and clock counters are exact, their other "
		"counters uncounted",
};

/* Kernel quirks, not overflows: said once, when first seen, rather than every interval. */
static bool drop_is_quirk(int i)
{
	return i == KT_DROP_UNSEEN_SWITCH_IN;
}

/* Overflow is reported, never silent: one line per counter that grew in this interval. */
static void report_drops(const struct snapshot *s, uint64_t *seen)
{
	int i;

	for (i = 0; i < KT_NR_DROPS; i++) {
		if (s->drops[i] > seen[i] && (!drop_is_quirk(i) || !seen[i]))
			kt_warn("%llu %s%s", (unsigned long long)(s->drops[i] - seen[i]), drop_what[i],
				drop_is_quirk(i) ? " (said once)" : "");
		seen[i] = s->drops[i];
	}
}

struct run {
	const struct cli_opts *opts;
	struct tracer *tracer;
	struct host host;
	struct account *account;
	struct csv_sink *csv;
	struct metrics_server *metrics;	/* --listen; NULL: off */
	double lag_s;			/* how late the current drain is against its schedule */
	uint64_t power_failures;	/* intervals whose power could not be read */
	struct snapshot snap;
	uint64_t drops_seen[KT_NR_DROPS];
	uint64_t last_drain_ns;
	struct power_source *power;
	struct power_model power_model;
	struct host_cpu cpu_last;	/* the host's CPU ticks at the last drain */
	struct host_record host_row;
	int unseen[KT_MAX_VMS];		/* untracked VMMs the last scan found (track_unseen_vmms) */
	size_t nr_unseen;
	bool write_failing;
	bool clear_screen;
	size_t live_vms;
};

/* The host's busy and total CPU time since the last drain, in ns (ticks: /proc/stat). */
static void host_cpu_delta(struct run *run, uint64_t *busy_ns, uint64_t *capacity_ns)
{
	uint64_t tick_ns = NS_PER_S / sysconf(_SC_CLK_TCK);
	struct host_cpu now;

	*busy_ns = *capacity_ns = 0;
	if (read_host_cpu("/proc", &now))
		return;
	*busy_ns = (now.busy - run->cpu_last.busy) * tick_ns;
	*capacity_ns = (now.all - run->cpu_last.all) * tick_ns;
	run->cpu_last = now;
}

/* The host's power over the interval, and each VM's share of it (attribution.h). */
static void attribute_power(struct run *run, double interval_s, struct vm_record *recs, long n)
{
	uint64_t busy_ns, capacity_ns;
	struct power_reading power;

	host_cpu_delta(run, &busy_ns, &capacity_ns);
	power_sample(run->power, interval_s, &power);
	if (!power.valid && strcmp(power_source_name(run->power), "none"))
		run->power_failures++;
	power_attribute(&run->power_model, power_source_name(run->power), power.valid,
			power.watts, power.energy_j, busy_ns, capacity_ns, recs, n, &run->host_row);
}

static int write_rows(struct run *run, const struct interval_info *iv, struct vm_record *recs,
		      long n)
{
	long i;
	int err = 0;

	if (csv_sink_write_host(run->csv, iv, &run->host_row))
		err = -errno;
	for (i = 0; i < n; i++) {
		if (csv_sink_write(run->csv, iv, &recs[i]))
			err = -errno;
		if (recs[i].final)
			csv_sink_forget(run->csv, recs[i].vm);
	}
	if (csv_sink_flush(run->csv) && !err)
		err = -errno;
	return err;
}

/*
 * After their last row, ended VMs leave the maps; counts the VMs still running. A VM whose
 * process is gone but whose exit the hooks never saw (it ended while being added) is retired
 * now and gets its last row at the next drain.
 */
static void forget_ended(struct run *run)
{
	const struct kt_vm *vm;
	size_t i;

	run->live_vms = 0;
	for (i = 0; i < run->snap.nr_vms; i++) {
		vm = &run->snap.vms[i].vm;
		if (run->snap.vms[i].dead)
			tracer_forget(run->tracer, &run->snap, vm);
		else if (!discovery_alive("/proc", vm->tgid))
			tracer_remove_vm(run->tracer, vm->tgid);
		else
			run->live_vms++;
	}
}

static bool is_tracked(const struct run *run, int pid)
{
	size_t i;

	for (i = 0; i < run->snap.nr_vms; i++)
		if (run->snap.vms[i].vm.tgid == (uint32_t)pid)
			return true;
	return false;
}

/* libvirt's domains whose VMM the kernel hooks have not found (an unusual VMM name). libvirt
 * lists a domain until it has reaped its QEMU: a zombie is no VM to add again. */
static void track_domains(struct run *run)
{
	const struct domain_info *doms;
	size_t i, n;

	if (run->opts->nr_pids)
		return;
	n = domains_list(run->host.domains, &doms);
	for (i = 0; i < n; i++)
		if (doms[i].pid > 0 && !is_tracked(run, doms[i].pid) &&
		    discovery_alive("/proc", doms[i].pid) &&
		    !discovery_fork_parent("/proc", doms[i].pid))
			tracer_add_vm(run->tracer, doms[i].pid, false);
}

/*
 * The VM a daemonized VMM continues: the live one of its name, whose process has its command
 * line or is gone already. QEMU -daemonize forks twice, so the VM is its launcher's grandchild,
 * an orphan by the time we see it: no parent links them. 0 when none.
 */
static uint32_t launcher_of(struct run *run, int pid)
{
	char name[KT_NAME_MAX], uuid[KT_UUID_LEN];
	uint32_t launcher;

	if (discovery_identify("/proc", pid, name, sizeof(name), uuid, sizeof(uuid)))
		return 0;
	launcher = account_vm_named(run->account, name);
	if (!launcher || launcher == (uint32_t)pid)
		return 0;
	if (discovery_alive("/proc", launcher) && !discovery_same_cmdline("/proc", launcher, pid))
		return 0;
	return launcher;
}

/*
 * VMM processes the hooks cannot see start: a fork of a VMM that never execs, as QEMU's
 * -daemonize does (Proxmox starts its VMs so). A scan of /proc after each drain finds them. The
 * hooks see every exec, so such a process never exec'd: all its time is the VM's, from its
 * birth, and its first row (at the next drain) holds it. It continues its launcher's VM under
 * the same name; the launcher, which only waits for it, gets no more rows. After the drain, so
 * that a launcher that exec'd during this interval is known by name.
 */
static void track_unseen_vmms(struct run *run)
{
	int pids[KT_MAX_VMS], parent;
	size_t i, j, n, kept = 0;
	uint32_t launcher;

	if (run->opts->nr_pids)
		return;
	n = discovery_scan("/proc", pids, KT_MAX_VMS);
	for (i = 0; i < n; i++) {
		if (is_tracked(run, pids[i]))
			continue;
		for (j = 0; j < run->nr_unseen && run->unseen[j] != pids[i]; j++)
			;
		/* A fork of the launcher itself may be -daemonize's middle fork, which exits at
		 * once: it waits a scan. A fork of that fork is the VM: it does not. */
		parent = discovery_fork_parent("/proc", pids[i]);
		if (j == run->nr_unseen && parent > 0 && !discovery_fork_parent("/proc", parent)) {
			pids[kept++] = pids[i];
			continue;
		}
		if (tracer_add_vm(run->tracer, pids[i], true))
			continue;
		launcher = launcher_of(run, pids[i]);
		if (launcher)
			account_hand_over(run->account, launcher, pids[i]);
	}
	memcpy(run->unseen, pids, kept * sizeof(pids[0]));
	run->nr_unseen = kept;
}

/* Drains the maps into this interval's records. Returns how many, or -1. */
static long drain_and_account(struct run *run, struct vm_record **recs)
{
	long n;
	int err;

	domains_refresh(run->host.domains);
	track_domains(run);
	err = tracer_drain(run->tracer, &run->snap);
	if (err) {
		kt_error("cannot read the BPF maps: %s", strerror(-err));
		return -1;
	}
	/* The taps of the VMs just drained count from now on: a VM's traffic from the drain after
	 * the one that found it (at the start, from the first interval). */
	host_find_taps(&run->host, &run->snap);
	tracer_set_ifaces(run->tracer, run->host.taps, run->host.nr_taps);
	n = account_update(run->account, &run->snap, recs);
	if (n < 0)
		kt_error("out of memory");
	else
		track_unseen_vmms(run);
	return n;
}

/* Baselines at the start, so the first row covers only the first interval. */
static int prime(struct run *run)
{
	struct vm_record *recs;

	if (drain_and_account(run, &recs) < 0)
		return -1;
	run->last_drain_ns = run->snap.mono_ns;
	read_host_cpu("/proc", &run->cpu_last);
	forget_ended(run);
	return 0;
}

/* The Prometheus endpoint gets what the CSV files just got, and the tracer's own health. */
static void publish_metrics(struct run *run, const struct interval_info *iv,
			    const struct vm_record *recs, long n)
{
	struct tracer_health health = {};

	if (!run->metrics)
		return;
	memcpy(health.drops, run->snap.drops, sizeof(health.drops));
	health.interval_lag_s = run->lag_s;
	health.plug_failures = run->power_failures;
	health.nr_progs = tracer_prog_stats(run->tracer, health.prog, METRICS_MAX_PROGS);
	metrics_publish(run->metrics, iv, recs, n, &run->host_row, &health);
}

/* One interval: drain, account, write every sink, free what ended. */
static int do_interval(struct run *run)
{
	struct interval_info iv;
	struct vm_record *recs;
	long n;
	int err;

	n = drain_and_account(run, &recs);
	if (n < 0)
		return -1;
	/* The interval is what separates two drains, as the maps saw it. */
	interval_stamp(&iv, &run->snap.wall, run->snap.mono_ns - run->last_drain_ns);
	run->last_drain_ns = run->snap.mono_ns;
	attribute_power(run, iv.interval_s, recs, n);
	err = write_rows(run, &iv, recs, n);
	if (err && !run->write_failing)
		kt_warn("cannot write CSV rows in '%s': %s; tracing goes on and writing resumes "
			"when it can", run->opts->outdir, strerror(-err));
	else if (!err && run->write_failing)
		kt_notice("writing CSV rows in '%s' again", run->opts->outdir);
	run->write_failing = err != 0;
	publish_metrics(run, &iv, recs, n);
	if (!run->opts->quiet)
		table_print(stdout, &iv, recs, n, run->clear_screen);
	forget_ended(run);
	report_drops(&run->snap, run->drops_seen);
	return 0;
}

static int add_initial_vms(struct run *run)
{
	const struct cli_opts *o = run->opts;
	int pids[KT_MAX_VMS];
	size_t i, n;

	if (o->nr_pids) {
		for (i = 0; i < (size_t)o->nr_pids; i++)
			if (tracer_add_vm(run->tracer, o->pids[i], false))
				kt_warn("cannot track PID %d: the VM table is full", o->pids[i]);
		return 0;
	}
	n = discovery_scan("/proc", pids, KT_MAX_VMS);
	for (i = 0; i < n; i++)
		if (tracer_add_vm(run->tracer, pids[i], false))
			kt_warn("cannot track PID %d: the VM table is full", pids[i]);
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
		sleep_until(next);
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

int main(int argc, char **argv)
{
	struct tracer_opts topts = {};
	struct privs_needs needs = {};
	struct account_opts aopts;
	struct vm_source src;
	struct run run = {};
	struct cli_opts opts;
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
	if (outdir_check(opts.outdir, !strcmp(opts.outdir, DEFAULT_OUTDIR), why, sizeof(why))) {
		kt_error("%s", why);
		return 2;
	}
	if (!pids_exist(&opts))
		return 2;
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
	src = host_vm_source(&run.host);
	account_options(&run, &aopts);
	run.account = account_new(&src, &aopts);
	if (!run.host.domains || !run.account) {
		kt_error("out of memory");
		goto out;
	}
	power_model_init(&run.power_model, opts.idle_watts);
	install_signals();
	add_initial_vms(&run);
	if (prime(&run))
		goto out;
	run.clear_screen = isatty(STDOUT_FILENO);
	kt_info("tracing; rows every %g s in %s/<vm>.csv; Ctrl-C to stop", opts.interval_s,
		opts.outdir);
	if (run.metrics)
		kt_info("metrics for Prometheus at http://%s/metrics",
			metrics_address(run.metrics));
	status = trace(&run);
out:
	snapshot_free(&run.snap);
	account_free(run.account);
	domains_close(run.host.domains);
	host_release(&run.host);
	metrics_close(run.metrics);
	csv_sink_close(run.csv);
	power_close(run.power);
	tracer_close(run.tracer);
	return status;
}
