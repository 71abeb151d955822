// SPDX-License-Identifier: GPL-2.0
/*
 * spin [-k] SECONDS: a CPU-bound loop for the sampler part of the benchmark (make bench). Does
 * rounds of a fixed amount of arithmetic for SECONDS seconds (0: until SIGINT or SIGTERM), then
 * prints three figures: the rounds done per second while it ran, the rounds done per second of
 * its whole run, and the share of the run (%) it did not run. The first, compared with and
 * without the sampler, tells what the sampler takes from the CPU it runs on.
 *
 * "While it ran" leaves out the rounds that took more than SPIN_CUT times the median round:
 * those in which the loop lost its CPU to another task or its virtual CPU to the hypervisor for
 * a while (a scheduler time slice is milliseconds), which on a shared machine change the rate of
 * a whole run by far more than the sampler does. A round that an interrupt and the program it
 * runs delayed, by microseconds or even a few rounds' time on a virtual machine, is kept.
 *
 * With -k, each round also reads from /dev/zero, so that about a third of the time goes to the
 * kernel's generic code (system call entry, the VFS, clearing user memory), in no component
 * of kvmtrace-bpf. Started under a VMM's name, so that kvmtrace-bpf tracks it, its kernel
 * samples then take the sampler's costliest path: the binary search of kernel text and the
 * stack walk.
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
#include <unistd.h>

/* Steps of a round: tens of microseconds, so that reading the clock once a round is cheap. */
#define SPIN_STEPS	(1U << 15)
/*
 * Reads from /dev/zero per round with -k, and their size: about as long as the round's
 * arithmetic, mostly in system call entry and exit, some in clearing memory.
 */
#define SPIN_READS	32
#define SPIN_READ	(16U * 1024)
/* Rounds longer than this many times the median one are those the loop did not run through. */
#define SPIN_CUT	8

/* The durations of the rounds of a timed run, in nanoseconds. */
struct rounds {
	uint32_t *ns;
	size_t nr;
	size_t cap;
};

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

/* Keeps a round's duration; false when out of memory. */
static bool rounds_add(struct rounds *r, uint64_t ns)
{
	uint32_t *grown;

	if (r->nr == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 65536;
		grown = realloc(r->ns, r->cap * sizeof(*r->ns));
		if (!grown)
			return false;
		r->ns = grown;
	}
	r->ns[r->nr++] = ns > UINT32_MAX ? UINT32_MAX : (uint32_t)ns;
	return true;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* Prints the figures of a run of total_ns: see the top of the file. */
static int report(struct rounds *r, uint64_t total_ns)
{
	uint64_t kept_ns = 0, kept = 0, cut;
	uint32_t *sorted;
	size_t i;

	if (!r->nr || !total_ns) {
		fprintf(stderr, "spin: no round done\n");
		return 1;
	}
	sorted = malloc(r->nr * sizeof(*sorted));
	if (!sorted) {
		fprintf(stderr, "spin: out of memory\n");
		return 1;
	}
	memcpy(sorted, r->ns, r->nr * sizeof(*sorted));
	qsort(sorted, r->nr, sizeof(*sorted), cmp_u32);
	cut = (uint64_t)sorted[r->nr / 2] * SPIN_CUT;
	free(sorted);
	for (i = 0; i < r->nr; i++) {
		if (r->ns[i] <= cut) {
			kept_ns += r->ns[i];
			kept++;
		}
	}
	printf("%.3f %.3f %.3f\n", (double)kept * 1e9 / (double)kept_ns,
	       (double)r->nr * 1e9 / (double)total_ns,
	       100.0 * (double)(total_ns - kept_ns) / (double)total_ns);
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: spin [-k] SECONDS  (0: until SIGINT or SIGTERM)\n");
	return 2;
}

int main(int argc, char **argv)
{
	uint64_t x = 1, start, end, prev, now;
	struct rounds r = {};
	unsigned int i;
	struct sigaction sa = { .sa_handler = on_signal };
	static char buf[SPIN_READ];
	int fd = -1, opt;
	double seconds;
	char *endp;

	while ((opt = getopt(argc, argv, "k")) != -1) {
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
	if (optind != argc - 1)
		return usage();
	errno = 0;
	seconds = strtod(argv[optind], &endp);
	if (errno || endp == argv[optind] || *endp || seconds < 0 || seconds > 86400)
		return usage();
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	start = now_ns();
	end = seconds > 0 ? start + (uint64_t)(seconds * 1e9) : UINT64_MAX;
	prev = start;
	do {
		x = round_work(x);
		for (i = 0; fd >= 0 && i < SPIN_READS; i++) {
			if (read(fd, buf, sizeof(buf)) < 0 && errno != EINTR) {
				fprintf(stderr, "spin: read /dev/zero: %s\n", strerror(errno));
				return 1;
			}
		}
		now = now_ns();
		/* A run until a signal keeps nothing: it only loads the CPU. */
		if (seconds > 0 && !rounds_add(&r, now - prev)) {
			fprintf(stderr, "spin: out of memory\n");
			return 1;
		}
		prev = now;
	} while (now < end && !exiting);
	sink = x;
	if (seconds == 0)
		return 0;
	return report(&r, now - start);
}
