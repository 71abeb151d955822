// SPDX-License-Identifier: GPL-2.0
/*
 * spin [-k] SECONDS | spin -g SECONDS: the CPU-bound loops of the sampler part of the benchmark
 * (make bench), for SECONDS seconds (0: until SIGINT or SIGTERM).
 *
 * Without -g, rounds of arithmetic that load the CPU, for the sampler's program to sample. With
 * -k, each round also reads from /dev/zero, so that about a third of the time goes to the
 * kernel's generic code (system call entry, the VFS, clearing user memory), in no component
 * of kvmtrace-bpf. Started under a VMM's name, so that kvmtrace-bpf tracks it, its kernel
 * samples then take the sampler's costliest path: the binary search of kernel text and the
 * stack walk.
 *
 * With -g, the loop does nothing but read CLOCK_MONOTONIC, pinned to one CPU by the caller
 * (taskset), and prints three figures: the share (%) of the time it ran lost in gaps between two
 * consecutive reads longer than GAP_MIN_NS and shorter than GAP_MAX_NS in which it was not
 * switched out, those gaps per second it ran, and the share (%) of its wall time it was away:
 * switched out, or in longer gaps. A gap it was not switched out in is an interrupt and what
 * runs in it: the sampler's timer interrupt and program among them, as with
 * user/sources/sampler_cost.c at start-up, but here over whole seconds and for the events
 * kvmtrace-bpf really opened, at the rate it really chose. The time away is other tasks' or the
 * hypervisor's, which says nothing of the sampler and is only shown. The loop's own speed,
 * which the machine's load and the cache change, does not enter.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <unistd.h>

/* Steps of a round: tens of microseconds, so that reading the clock once a round is cheap. */
#define SPIN_STEPS	(1U << 15)
/*
 * Reads from /dev/zero per round with -k, and their size: about as long as the round's
 * arithmetic, mostly in system call entry and exit, some in clearing memory.
 */
#define SPIN_READS	32
#define SPIN_READ	(16U * 1024)
/* Those of user/sources/sampler_cost.c, so that both count the same gaps. */
#define GAP_MIN_NS	300		/* longer than a clock read, shorter than an interrupt */
#define GAP_MAX_NS	200000		/* shorter than the time another task takes the CPU for */

static volatile sig_atomic_t exiting;
/* Where the arithmetic's result goes, so that the compiler keeps it. */
static volatile uint64_t sink;

static void on_signal(int sig)
{
	(void)sig;
	exiting = 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* A round's arithmetic: a linear congruential generator, one dependent step after another. */
static uint64_t round_work(uint64_t x)
{
	unsigned int i;

	for (i = 0; i < SPIN_STEPS; i++)
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
	return x;
}

/* Rounds of arithmetic (and reads of fd, when open) until end or a signal. */
static int load(int fd, uint64_t end)
{
	static char buf[SPIN_READ];
	uint64_t x = 1;
	unsigned int i;

	do {
		x = round_work(x);
		for (i = 0; fd >= 0 && i < SPIN_READS; i++) {
			if (read(fd, buf, sizeof(buf)) < 0 && errno != EINTR) {
				fprintf(stderr, "spin: read /dev/zero: %s\n", strerror(errno));
				return 1;
			}
		}
	} while (now_ns() < end && !exiting);
	sink = x;
	return 0;
}

/* The context switches of this thread so far, voluntary or not; 0 when it cannot tell. */
static long switches(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_THREAD, &ru))
		return 0;
	return ru.ru_nvcsw + ru.ru_nivcsw;
}

/*
 * Reads the clock until end or a signal; prints the figures of -g (see the top of the file).
 * A gap in the window is an interrupt unless the thread was switched out in it: another task's
 * short turn, which a busy machine gives often and unevenly enough to swamp the sampler. Only
 * a gap tells whether to ask, so the system call is rare, and its time is no gap.
 */
static int gaps(uint64_t end)
{
	uint64_t start, prev, now, gap, ran, lost = 0, away = 0, n = 0;
	long nr = switches(), was;

	start = prev = now_ns();
	do {
		now = now_ns();
		gap = now - prev;
		prev = now;
		if (gap <= GAP_MIN_NS)
			continue;
		was = nr;
		nr = switches();
		if (gap < GAP_MAX_NS && nr == was) {
			lost += gap;
			n++;
		} else {
			away += gap;
		}
		prev = now_ns();
	} while (now < end && !exiting);
	/* Interrupts come by wall time, but only those of the time the loop ran are seen. */
	ran = now - start - away;
	if (!ran) {
		fprintf(stderr, "spin: the loop never ran\n");
		return 1;
	}
	printf("%.6f %.3f %.6f\n", 100.0 * (double)lost / (double)ran, (double)n * 1e9 / (double)ran,
	       100.0 * (double)away / (double)(now - start));
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: spin [-k] SECONDS | spin -g SECONDS  (0: until SIGINT or SIGTERM)\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	bool clock_gaps = false;
	uint64_t end;
	int fd = -1, opt;
	double seconds;
	char *endp;

	while ((opt = getopt(argc, argv, "gk")) != -1) {
		if (opt == 'g') {
			clock_gaps = true;
			continue;
		}
		if (opt != 'k')
			return usage();
		if (fd >= 0)
			continue;
		fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			fprintf(stderr, "spin: /dev/zero: %s\n", strerror(errno));
			return 1;
		}
	}
	if (optind != argc - 1 || (clock_gaps && fd >= 0))
		return usage();
	errno = 0;
	seconds = strtod(argv[optind], &endp);
	if (errno || endp == argv[optind] || *endp || seconds < 0 || seconds > 86400)
		return usage();
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	end = seconds > 0 ? now_ns() + (uint64_t)(seconds * 1e9) : UINT64_MAX;
	return clock_gaps ? gaps(end) : load(fd, end);
}
