// SPDX-License-Identifier: GPL-2.0
/*
 * What each way of counting VM exits costs (make bench): kvmtrace-bpf's kvm_exit + kvm_entry
 * handlers per exit (tests/bench/kvm_cost.bpf.c: the hooks' bodies in a bpf_loop, against an
 * empty loop), and, with --kvm-hooks off or on software KVM, the per-interval reading of KVM's
 * own statistics for a VM (the fd scan and one pread per vCPU, as user/sources/vmsource.c does).
 * The handlers' verdict: as bpf_stats would count them on their hooks, an empty program's run on
 * each plus their work, against the two empty runs (issue 14: at most 2x).
 * Writes a markdown section to the file given, and prints it.
 *
 * Usage: kvm_cost OUT.md
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>
#include <bpf/bpf.h>

#include "bench_kvm_cost.skel.h"
#include "kvmstats.h"
#include "kvmtrace.h"
#include "perf_events.h"
#include "perf_names.h"

#define ROUNDS		7
#define LOOPS		200000
#define VCPUS		8
#define READS		2000
#define EXITS_PER_S	10000	/* a busy I/O vCPU on a production host */
#define RESCAN_S	10	/* user/sources/vmsource.c scans a VMM's fds for new vCPUs this often */
#define TARGET_RATIO	2.0	/* the handlers per exit, against two empty programs' runs */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* % of one CPU the hooks take at EXITS_PER_S exits per second on each of VCPUS vCPUs. */
static double hook_share_pct(double exit_ns)
{
	return exit_ns * EXITS_PER_S * VCPUS / 1e9 * 100;
}

/*
 * What is timed: exits of one reason (a run), of as many in turn as a vCPU's entry keeps runs
 * of, of one more (each exit moves a run to exit_stats); and a run with --counters, one clock
 * and as many software events as the default hardware counters (no PMU needed).
 */
static const char *const counter_sets[] = {
	NULL, "task-clock", "task-clock,cpu-clock,page-faults,context-switches",
};
#define NR_SETS		(sizeof(counter_sets) / sizeof(counter_sets[0]))

static const struct variant {
	size_t set;		/* counter_sets[] */
	int reasons;
	const char *what;
} variants[] = {
	{ 0, 1, "a run of exits of one reason" },
	{ 0, KT_EXIT_RUNS, "exits of 4 reasons in turn (as many as a vCPU keeps runs of)" },
	{ 0, KT_EXIT_RUNS + 1, "exits of 5 reasons in turn (each moves a run to the exit table)" },
	{ 1, 1, "a run of one reason, `--counters task-clock`" },
	{ 2, 1, "a run of one reason, 4 counters (software events, read as the 4 default "
		"hardware ones are)" },
};
#define NR_VARIANTS	(sizeof(variants) / sizeof(variants[0]))

/* The benchmark's programs, with counters (a comma-separated perf list) or none. */
static struct bench_kvm_cost *load(const char *counters)
{
	struct counter_spec spec[KT_MAX_COUNTERS];
	struct bench_kvm_cost *skel;
	char why[128];
	int n = 0, i;

	if (counters) {
		n = counters_parse(counters, spec, KT_MAX_COUNTERS, why, sizeof(why));
		if (n < 0) {
			fprintf(stderr, "kvm_cost: %s\n", why);
			return NULL;
		}
	}
	skel = bench_kvm_cost__open();
	if (!skel)
		goto fail;
	skel->rodata->nr_counters = n;
	for (i = 0; i < n; i++)
		if (counter_is_clock(&spec[i]))
			skel->rodata->clock_counters |= 1U << i;
	if (bpf_map__set_max_entries(skel->maps.counters,
				     libbpf_num_possible_cpus() * KT_MAX_COUNTERS) ||
	    bench_kvm_cost__load(skel))
		goto fail;
	if (n && !counters_open(spec, n, bpf_map__fd(skel->maps.counters)))
		goto fail;
	return skel;
fail:
	fprintf(stderr, "kvm_cost: cannot load the BPF program%s%s: %s\n",
		counters ? " with counters " : "", counters ? counters : "", strerror(errno));
	bench_kvm_cost__destroy(skel);
	return NULL;
}

/* ns of one loop run of exits of that many reasons in turn; 0: an empty loop. */
static int run_loop(struct bench_kvm_cost *skel, int reasons, double *ns)
{
	__u64 args[2] = { LOOPS, reasons };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = args, .ctx_size_in = sizeof(args));

	if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.kvm_cost), &opts) || opts.retval)
		return -1;
	*ns = (double)skel->bss->elapsed_ns;
	return 0;
}

/* The handlers' work per exit as bpf_stats would count it on their hooks, vs two empty runs. */
static double vs_empty_runs(double work_ns, double empty_ns)
{
	return (2 * empty_ns + work_ns) / (2 * empty_ns);
}

/* A row of the verdicts' table: the ratio against TARGET_RATIO. */
static void ratio_row(FILE *out, const char *what, double ratio)
{
	fprintf(out, "| %s | %.2f× | ≤ %.0f× | %s |\n", what, ratio, TARGET_RATIO,
		ratio <= TARGET_RATIO ? "yes" : "no");
}

/*
 * ns per run of the empty program on sys_enter_getppid, as bpf_stats counts it (the same count
 * as the other parts' empty programs): LOOPS calls, this process's and any other's.
 */
static int empty_run_ns(struct bench_kvm_cost *skel, double *ns)
{
	int prog = bpf_program__fd(skel->progs.empty_tracepoint), stats, i, err = -1;
	struct bpf_prog_info before = {}, after = {};
	__u32 len = sizeof(before);
	struct bpf_link *link;

	link = bpf_program__attach(skel->progs.empty_tracepoint);
	if (!link)
		return -1;
	stats = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (stats < 0)
		goto out;
	if (bpf_obj_get_info_by_fd(prog, &before, &len))
		goto out;
	for (i = 0; i < LOOPS; i++)
		getppid();
	len = sizeof(after);
	if (bpf_obj_get_info_by_fd(prog, &after, &len) || after.run_cnt <= before.run_cnt)
		goto out;
	*ns = (double)(after.run_time_ns - before.run_time_ns) /
	      (double)(after.run_cnt - before.run_cnt);
	err = 0;
out:
	if (stats >= 0)
		close(stats);
	bpf_link__destroy(link);
	return err;
}

/*
 * µs per reading of a VM's KVM statistics with VCPUS vCPUs: this process holds the VM, as a
 * VMM would. Returns -1 (and says why in why) where there is no KVM.
 */
static int stats_read_us(double *read_us, double *scan_us, char *why, size_t len)
{
	int kvm, vm, vcpu, fd, i, err = -1;
	struct kvm_stats *ks = NULL;
	struct kvm_fds fds;
	double t0, t1;

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		snprintf(why, len, "/dev/kvm: %s", strerror(errno));
		return -1;
	}
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0) {
		snprintf(why, len, "KVM_CREATE_VM: %s", strerror(errno));
		goto out;
	}
	ks = kvm_stats_new();
	for (i = 0; ks && i < VCPUS; i++) {
		vcpu = ioctl(vm, KVM_CREATE_VCPU, i);
		fd = vcpu < 0 ? -1 : ioctl(vcpu, KVM_GET_STATS_FD, NULL);
		if (fd < 0 || kvm_stats_add(ks, i, fd, why, len)) {
			if (fd < 0)
				snprintf(why, len, "vCPU %d stats fd: %s", i, strerror(errno));
			goto out;
		}
	}
	if (!ks)
		goto out;
	t0 = now_ns();
	for (i = 0; i < READS; i++)
		if (kvm_stats_read(ks)) {
			snprintf(why, len, "reading the stats: %s", strerror(errno));
			goto out;
		}
	t1 = now_ns();
	*read_us = (t1 - t0) / READS / 1e3;
	t0 = now_ns();
	for (i = 0; i < READS / 10; i++)
		kvm_fds_scan("/proc", getpid(), &fds);
	*scan_us = (now_ns() - t0) / (READS / 10) / 1e3;
	err = 0;
out:
	kvm_stats_close(ks);
	if (vm >= 0)
		close(vm);
	close(kvm);
	return err;
}

int main(int argc, char **argv)
{
	double work[NR_VARIANTS][ROUNDS], per_exit[NR_VARIANTS], empty_runs[ROUNDS];
	double read_us = 0, scan_us = 0, empty_ns, stats_share, empty, busy;
	struct bench_kvm_cost *skels[NR_SETS] = {};
	char why[512] = "", date[32];
	struct utsname u;
	time_t t = time(NULL);
	int i, have_stats;
	size_t v;
	FILE *out;

	if (argc != 2) {
		fprintf(stderr, "usage: kvm_cost OUT.md\n");
		return 2;
	}
	for (v = 0; v < NR_SETS; v++)
		if (!(skels[v] = load(counter_sets[v])))
			return 1;
	for (i = 0; i < ROUNDS; i++) {
		for (v = 0; v < NR_VARIANTS; v++) {
			if (run_loop(skels[variants[v].set], 0, &empty) ||
			    run_loop(skels[variants[v].set], variants[v].reasons, &busy)) {
				fprintf(stderr, "kvm_cost: BPF_PROG_TEST_RUN failed: %s\n",
					strerror(errno));
				return 1;
			}
			work[v][i] = (busy - empty) / LOOPS;
		}
		if (empty_run_ns(skels[0], &empty_runs[i])) {
			fprintf(stderr, "kvm_cost: cannot time the empty program on "
				"syscalls:sys_enter_getppid (bpf_stats): %s\n", strerror(errno));
			return 1;
		}
	}
	for (v = 0; v < NR_SETS; v++)
		bench_kvm_cost__destroy(skels[v]);
	for (v = 0; v < NR_VARIANTS; v++)
		per_exit[v] = median(work[v], ROUNDS);
	empty_ns = median(empty_runs, ROUNDS);
	have_stats = !stats_read_us(&read_us, &scan_us, why, sizeof(why));

	stats_share = (read_us + scan_us / RESCAN_S) / 1e6 * 100;
	uname(&u);
	strftime(date, sizeof(date), "%Y-%m-%d", gmtime(&t));
	out = fopen(argv[1], "w");
	if (!out) {
		fprintf(stderr, "kvm_cost: cannot write %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	fprintf(out, "## VM exits: the cost of each way of counting them (%s, %s %s, %ld CPUs)\n\n",
		date, u.sysname, u.release, sysconf(_SC_NPROCESSORS_ONLN));
	fprintf(out, "| mode | per VM exit | per interval, one VM of %d vCPUs | at %d exits/s on "
		"each of %d vCPUs, `-i 1` |\n| --- | ---: | ---: | ---: |\n", VCPUS, EXITS_PER_S,
		VCPUS);
	for (v = 0; v < NR_VARIANTS; v++)
		fprintf(out, "| kvm tracepoints (`--kvm-hooks on`, where they fire), %s | %.0f ns | "
			"0 | %.2f%% of one CPU |\n", variants[v].what, per_exit[v],
			hook_share_pct(per_exit[v]));
	if (have_stats)
		fprintf(out, "| KVM's statistics (`--kvm-hooks off`, software KVM) | 0 | %.1f µs, "
			"and a %.1f µs scan of the VMM's fds every %d s | %.4f%% of one CPU |\n",
			read_us, scan_us, RESCAN_S, stats_share);
	else
		fprintf(out, "| KVM's statistics (`--kvm-hooks off`, software KVM) | 0 | not "
			"measured here: %s | |\n", why);
	fprintf(out, "\n| figure | measured | target | met |\n| --- | ---: | ---: | --- |\n");
	fprintf(out, "| empty program on a classic tracepoint (sys_enter_getppid), bpf_stats | "
		"%.1f ns/run | | |\n", empty_ns);
	for (v = 0; v < NR_VARIANTS; v++) {
		snprintf(why, sizeof(why), "kvm_exit + kvm_entry as bpf_stats would count them (two "
			 "empty runs + the handlers' work) vs two empty runs, %s", variants[v].what);
		ratio_row(out, why, vs_empty_runs(per_exit[v], empty_ns));
	}
	fprintf(out, "\nPer exit: the bodies of kvmtrace-bpf's kvm_exit and kvm_entry programs, "
		"their helper calls included (the clock at both, the current thread at kvm_exit), "
		"run by BPF_PROG_TEST_RUN in a bpf_loop of %d exits, minus an empty loop, median "
		"of %d rounds (the tracepoint's own dispatch, paid by any tracer, is not in it). "
		"Per interval: one pread of each vCPU's stats fd, averaged over %d readings; the "
		"scan (kvm_fds_scan) looks for hot-plugged vCPUs. The empty program: %d "
		"getppid() calls per round, its run_time_ns / run_cnt, median of the rounds. The 4 "
		"counters: %s, opened on every CPU as the loader opens `--counters`; each is read at "
		"both hooks.\n", LOOPS, ROUNDS, READS, LOOPS, counter_sets[2]);
	fclose(out);
	out = fopen(argv[1], "r");
	while (out && fgets(why, sizeof(why), out))
		fputs(why, stdout);
	if (out)
		fclose(out);
	return 0;
}
