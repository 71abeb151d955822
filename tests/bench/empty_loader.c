// SPDX-License-Identifier: GPL-2.0
/*
 * empty_loader [HOOK...] | --sample HZ: the floor of kvmtrace-bpf's programs, for the
 * benchmark (make bench). Attaches the empty programs of tests/bench/empty.bpf.c: those on the
 * hooks, all of them or only those on the given hooks (tracepoint names such as sched_switch or
 * block_bio_queue); or, with --sample, the empty sampler program on a cpu-clock event of every
 * online CPU with a period of 1/HZ s, as kvmtrace-bpf's sampler does. Prints "ready" on stdout
 * once they are attached, and holds them until SIGINT or SIGTERM. Used by scripts/bench/; needs
 * root.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/perf_event.h>

#include <bpf/libbpf.h>

#include "bench_empty.skel.h"

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

/* Whether prog is one of the hooks' programs (tp_btf), not the sampler's. */
static bool on_hook(const struct bpf_program *prog)
{
	return bpf_program__type(prog) == BPF_PROG_TYPE_TRACING;
}

/* The hook of a program: its section name after "tp_btf/". */
static const char *prog_hook(const struct bpf_program *prog)
{
	const char *sec = bpf_program__section_name(prog);
	const char *slash = strchr(sec, '/');

	return slash ? slash + 1 : sec;
}

static void usage(const char *argv0, const struct bpf_object *obj)
{
	struct bpf_program *prog;

	fprintf(stderr, "usage: %s [HOOK...] | --sample HZ\n(attaches empty tp_btf programs to the "
		"given hooks, or to all of them, or an empty program to a cpu-clock event of every "
		"CPU, HZ samples per second (1 to %d); prints \"ready\", waits for SIGINT or "
		"SIGTERM)\nhooks:", argv0, MAX_HZ);
	bpf_object__for_each_program(prog, obj)
		if (on_hook(prog))
			fprintf(stderr, " %s", prog_hook(prog));
	fprintf(stderr, "\n");
}

static bool is_on(const struct bpf_program *prog, const char *hook)
{
	return on_hook(prog) && !strcmp(prog_hook(prog), hook);
}

/* Loads only the programs of the hooks named in argv (all of them when there is none). */
static int select_hooks(struct bench_empty *skel, int argc, char **argv)
{
	struct bpf_program *prog;
	bool found;
	int i;

	for (i = 1; i < argc; i++) {
		found = false;
		bpf_object__for_each_program(prog, skel->obj)
			found |= is_on(prog, argv[i]);
		if (!found) {
			fprintf(stderr, "empty_loader: no program on hook '%s'\n", argv[i]);
			usage(argv[0], skel->obj);
			return -1;
		}
	}
	bpf_object__for_each_program(prog, skel->obj) {
		found = on_hook(prog) && argc < 2;
		for (i = 1; i < argc; i++)
			found |= is_on(prog, argv[i]);
		bpf_program__set_autoload(prog, found);
	}
	return 0;
}

/* The rate of --sample HZ; 0 when it is not one. */
static unsigned long sample_rate(const char *arg)
{
	unsigned long hz;
	char *end;

	errno = 0;
	hz = strtoul(arg, &end, 10);
	return errno || end == arg || *end || hz > MAX_HZ ? 0 : hz;
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

/* The sampler's links, one per possible CPU (NULL where it is offline); each owns its event. */
struct sampler {
	struct bpf_link **links;
	int nr_cpus;
};

static int attach_sampler(struct bench_empty *skel, unsigned long hz, struct sampler *s)
{
	int cpu, fd, attached = 0, err;

	s->nr_cpus = libbpf_num_possible_cpus();
	if (s->nr_cpus <= 0) {
		fprintf(stderr, "empty_loader: cannot count the CPUs: %s\n", strerror(-s->nr_cpus));
		return -1;
	}
	s->links = calloc((size_t)s->nr_cpus, sizeof(*s->links));
	if (!s->links) {
		fprintf(stderr, "empty_loader: out of memory\n");
		return -1;
	}
	for (cpu = 0; cpu < s->nr_cpus; cpu++) {
		fd = open_event(cpu, 1000000000ULL / hz);
		if (fd < 0 && errno == ENODEV)
			continue;	/* offline */
		if (fd < 0) {
			fprintf(stderr, "empty_loader: cannot open cpu-clock on CPU %d: %s\n", cpu,
				strerror(errno));
			return -1;
		}
		/* The link owns the event from here, and enables it. */
		s->links[cpu] = bpf_program__attach_perf_event(skel->progs.empty_sample, fd);
		if (!s->links[cpu]) {
			err = -errno;
			close(fd);
			fprintf(stderr, "empty_loader: cannot attach on CPU %d: %s\n", cpu,
				strerror(-err));
			return -1;
		}
		attached++;
	}
	if (!attached) {
		fprintf(stderr, "empty_loader: no CPU online\n");
		return -1;
	}
	return 0;
}

static void detach_sampler(struct sampler *s)
{
	int cpu;

	for (cpu = 0; s->links && cpu < s->nr_cpus; cpu++)
		bpf_link__destroy(s->links[cpu]);
	free(s->links);
}

int main(int argc, char **argv)
{
	bool sample = argc > 1 && !strcmp(argv[1], "--sample");
	struct sigaction sa = { .sa_handler = on_signal };
	struct bench_empty *skel = NULL;
	struct sampler s = { 0 };
	struct bpf_program *prog;
	sigset_t block, old;
	unsigned long hz = 0;
	int status = 1;
	int err;

	libbpf_set_print(print_libbpf);

	/* Signals stay blocked except inside sigsuspend(), so none is lost before we wait. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &old);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	skel = bench_empty__open();
	if (!skel) {
		fprintf(stderr, "empty_loader: cannot open the BPF object: %s\n", strerror(errno));
		goto out;
	}
	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		usage(argv[0], skel->obj);
		status = 0;
		goto out;
	}
	if (sample) {
		if (argc != 3) {
			usage(argv[0], skel->obj);
			status = 2;
			goto out;
		}
		hz = sample_rate(argv[2]);
		if (!hz) {
			fprintf(stderr, "empty_loader: bad rate '%s' (1 to %d)\n", argv[2], MAX_HZ);
			status = 2;
			goto out;
		}
		bpf_object__for_each_program(prog, skel->obj)
			bpf_program__set_autoload(prog, prog == skel->progs.empty_sample);
	} else if (select_hooks(skel, argc, argv)) {
		status = 2;
		goto out;
	}
	err = bench_empty__load(skel);
	if (err) {
		fprintf(stderr, "empty_loader: cannot load the BPF programs: %s\n", strerror(-err));
		goto out;
	}
	if (sample) {
		if (attach_sampler(skel, hz, &s))
			goto out;
	} else {
		/* Attaches the loaded programs only. */
		err = bench_empty__attach(skel);
		if (err) {
			fprintf(stderr, "empty_loader: cannot attach the BPF programs: %s\n",
				strerror(-err));
			goto out;
		}
	}
	printf("ready\n");
	fflush(stdout);

	while (!exiting)
		sigsuspend(&old);
	status = 0;
out:
	detach_sampler(&s);
	bench_empty__destroy(skel);
	return status;
}
