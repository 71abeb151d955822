// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <linux/perf_event.h>

#include "log.h"
#include "perf_events.h"
#include "sampler_cost.h"

/* High enough that a few us per sample show above the loop's noise, and well below
 * kernel.perf_event_max_sample_rate's default (the probe keeps under a lower one). */
#define PROBE_HZ	10000u
#define WINDOW_NS	4000000ull	/* one measuring window */
#define PAIRS		25		/* pairs of windows, sampled and not, order alternated */
#define GAP_MIN_NS	300		/* longer than a clock read, shorter than an interrupt */
#define GAP_MAX_NS	200000		/* shorter than the time another task takes the CPU for */

static uint64_t mono_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000ull + t.tv_nsec;
}

/*
 * The share of a window's wall time this thread did not run while spinning, sampled by fd or
 * not: the gaps between two clock reads longer than any read takes (interrupts), shorter than
 * another task's turn on the CPU, which says nothing of samples (short preemptions fall in both
 * kinds of window alike). The loop's own speed, which varies with the machine's load, does
 * not enter.
 */
static double lost_share(int fd, bool sampled)
{
	uint64_t start, prev, now, gap, lost = 0;

	if (sampled && ioctl(fd, PERF_EVENT_IOC_ENABLE, 0))
		return -1;
	start = prev = mono_ns();
	do {
		now = mono_ns();
		gap = now - prev;
		if (gap > GAP_MIN_NS && gap < GAP_MAX_NS)
			lost += gap;
		prev = now;
	} while (now - start < WINDOW_NS);
	if (sampled)
		ioctl(fd, PERF_EVENT_IOC_DISABLE, 0);
	return (double)lost / (now - start);
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double sampler_cost_measure(const struct sampler *s, char *why, size_t len)
{
	unsigned int hz = PROBE_HZ < sampler_max_hz() ? PROBE_HZ : sampler_max_hz();
	double lost[PAIRS], plain, sampled, cost;
	int cpu = sched_getcpu(), fd, i, n = 0;
	cpu_set_t was, here;

	if (cpu < 0 || sched_getaffinity(0, sizeof(was), &was)) {
		kt_why(why, len, "cannot tell this thread's CPU: %s", strerror(errno));
		return -1;
	}
	CPU_ZERO(&here);
	CPU_SET(cpu, &here);
	if (sched_setaffinity(0, sizeof(here), &here)) {
		kt_why(why, len, "cannot keep this thread on CPU %d: %s", cpu, strerror(errno));
		return -1;
	}
	fd = sampler_probe_open(s, cpu, hz, why, len);
	for (i = 0; fd >= 0 && i < PAIRS; i++) {
		/* Alternated, so that a drift of the machine's load weighs on both alike. */
		if (i % 2) {
			sampled = lost_share(fd, true);
			plain = lost_share(fd, false);
		} else {
			plain = lost_share(fd, false);
			sampled = lost_share(fd, true);
		}
		if (plain >= 0 && sampled >= 0)
			lost[n++] = sampled - plain;
	}
	if (fd >= 0)
		close(fd);
	sched_setaffinity(0, sizeof(was), &was);
	if (fd < 0)
		return -1;
	if (!n) {
		kt_why(why, len, "cannot enable the probe event: %s", strerror(errno));
		return -1;
	}
	/* The median share of time the samples took, times the time between two of them. */
	qsort(lost, n, sizeof(lost[0]), by_value);
	cost = lost[n / 2] * (1e9 / hz);
	return cost > 0 ? cost : 0;
}
