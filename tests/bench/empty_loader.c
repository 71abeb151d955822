// SPDX-License-Identifier: GPL-2.0
/*
 * empty_loader: attaches the empty baseline programs of tests/bench/empty.bpf.c, prints
 * "ready" on stdout once they are attached, and holds them until SIGINT or SIGTERM.
 * Used by scripts/bench.sh; needs root.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
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

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct bench_empty *skel = NULL;
	sigset_t block, old;
	int status = 1;
	int err;

	if (argc > 1) {
		fprintf(stderr, "usage: %s\n(attaches empty tp_btf programs to sched_switch and "
			"sched_wakeup, prints \"ready\", waits for SIGINT or SIGTERM)\n", argv[0]);
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

	skel = bench_empty__open_and_load();
	if (!skel) {
		fprintf(stderr, "empty_loader: cannot load the BPF programs: %s\n", strerror(errno));
		goto out;
	}
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
