// SPDX-License-Identifier: GPL-2.0
/*
 * empty_loader [HOOK...]: attaches the empty baseline programs of tests/bench/empty.bpf.c, all
 * of them or only those on the given hooks (tracepoint names such as sched_switch or
 * block_bio_queue), prints "ready" on stdout once they are attached, and holds them until
 * SIGINT or SIGTERM. Used by scripts/bench/bench.py; needs root.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "bench_empty.skel.h"

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

	fprintf(stderr, "usage: %s [HOOK...]\n(attaches empty tp_btf programs to the given hooks, "
		"or to all of them, prints \"ready\", waits for SIGINT or SIGTERM)\nhooks:", argv0);
	bpf_object__for_each_program(prog, obj)
		fprintf(stderr, " %s", prog_hook(prog));
	fprintf(stderr, "\n");
}

/* Loads only the programs of the hooks named in argv (all when there is none). */
static int select_programs(struct bench_empty *skel, int argc, char **argv)
{
	struct bpf_program *prog;
	bool found;
	int i;

	for (i = 1; i < argc; i++) {
		found = false;
		bpf_object__for_each_program(prog, skel->obj)
			found |= !strcmp(prog_hook(prog), argv[i]);
		if (!found) {
			fprintf(stderr, "empty_loader: no program on hook '%s'\n", argv[i]);
			usage(argv[0], skel->obj);
			return -1;
		}
	}
	bpf_object__for_each_program(prog, skel->obj) {
		found = argc < 2;
		for (i = 1; i < argc; i++)
			found |= !strcmp(prog_hook(prog), argv[i]);
		bpf_program__set_autoload(prog, found);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct bench_empty *skel = NULL;
	sigset_t block, old;
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
	if (select_programs(skel, argc, argv)) {
		status = 2;
		goto out;
	}
	err = bench_empty__load(skel);
	if (err) {
		fprintf(stderr, "empty_loader: cannot load the BPF programs: %s\n", strerror(-err));
		goto out;
	}
	/* Attaches the loaded programs only. */
	err = bench_empty__attach(skel);
	if (err) {
		fprintf(stderr, "empty_loader: cannot attach the BPF programs: %s\n", strerror(-err));
		goto out;
	}
	printf("ready\n");
	fflush(stdout);

	while (!exiting)
		sigsuspend(&old);
	status = 0;
out:
	bench_empty__destroy(skel);
	return status;
}
