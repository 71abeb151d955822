// SPDX-License-Identifier: GPL-2.0
/*
 * empty_sampler HZ: the floor of kvmtrace-bpf's sampler, for the benchmark (make bench). Opens a
 * cpu-clock event on every online CPU with a period of 1/HZ s, as kvmtrace-bpf's sampler does,
 * runs the empty program of tests/bench/empty_sample.bpf.c on each of its samples, prints
 * "ready" on stdout once every CPU's event is on, and holds them until SIGINT or SIGTERM.
 * Used by scripts/bench/bench.py; needs root.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/perf_event.h>

#include <bpf/libbpf.h>

#include "bench_empty_sample.skel.h"

#define MAX_HZ	10000

static volatile sig_atomic_t exiting;

static void on_signal(int sig)
{
	(void)sig;
	exiting = 1;
}

/* Warnings and errors only: the debug chatter of libbpf is of no use here. */
static int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* The cpu-clock event of one CPU, off until its program is attached; -1 with errno. */
static int open_event(int cpu, unsigned long long period_ns)
{
	struct perf_event_attr attr = {
		.size = sizeof(attr),
		.type = PERF_TYPE_SOFTWARE,
		.config = PERF_COUNT_SW_CPU_CLOCK,
		.sample_period = period_ns,
		.disabled = 1,
	};

	return (int)syscall(SYS_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct bench_empty_sample *skel = NULL;
	struct bpf_link **links = NULL;
	int nr_cpus = 0, cpu, fd, attached = 0, status = 1, err;
	sigset_t block, old;
	unsigned long hz;
	char *end;

	if (argc != 2) {
		fprintf(stderr, "usage: %s HZ  (samples per second and CPU, 1 to %d)\n", argv[0],
			MAX_HZ);
		return 2;
	}
	errno = 0;
	hz = strtoul(argv[1], &end, 10);
	if (errno || end == argv[1] || *end || !hz || hz > MAX_HZ) {
		fprintf(stderr, "empty_sampler: bad rate '%s' (1 to %d)\n", argv[1], MAX_HZ);
		return 2;
	}
	libbpf_set_print(print_libbpf);

	/* Signals stay blocked except inside sigsuspend(), so none is lost before we wait. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &old);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	skel = bench_empty_sample__open_and_load();
	if (!skel) {
		fprintf(stderr, "empty_sampler: cannot load the BPF program: %s\n", strerror(errno));
		goto out;
	}
	nr_cpus = libbpf_num_possible_cpus();
	if (nr_cpus <= 0) {
		fprintf(stderr, "empty_sampler: cannot count the CPUs: %s\n", strerror(-nr_cpus));
		goto out;
	}
	links = calloc((size_t)nr_cpus, sizeof(*links));
	if (!links) {
		fprintf(stderr, "empty_sampler: out of memory\n");
		goto out;
	}
	for (cpu = 0; cpu < nr_cpus; cpu++) {
		fd = open_event(cpu, 1000000000ULL / hz);
		if (fd < 0 && errno == ENODEV)
			continue;	/* offline */
		if (fd < 0) {
			fprintf(stderr, "empty_sampler: cannot open cpu-clock on CPU %d: %s\n", cpu,
				strerror(errno));
			goto out;
		}
		/* The link owns the event from here, and enables it. */
		links[cpu] = bpf_program__attach_perf_event(skel->progs.empty_sample, fd);
		if (!links[cpu]) {
			err = -errno;
			close(fd);
			fprintf(stderr, "empty_sampler: cannot attach on CPU %d: %s\n", cpu,
				strerror(-err));
			goto out;
		}
		attached++;
	}
	if (!attached) {
		fprintf(stderr, "empty_sampler: no CPU online\n");
		goto out;
	}
	printf("ready\n");
	fflush(stdout);

	while (!exiting)
		sigsuspend(&old);
	status = 0;
out:
	for (cpu = 0; links && cpu < nr_cpus; cpu++)
		bpf_link__destroy(links[cpu]);
	free(links);
	bench_empty_sample__destroy(skel);
	return status;
}
