// SPDX-License-Identifier: GPL-2.0
/* A stand-in VMM for the power tests: busy PERCENT of every 10 ms, asleep the rest. */
#include <stdlib.h>
#include <time.h>

static long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	long busy = (argc > 1 ? atol(argv[1]) : 50) * 100000L, start;
	struct timespec rest = { .tv_nsec = 10000000L - busy };

	for (;;) {
		start = now_ns();
		while (now_ns() - start < busy)
			;
		if (rest.tv_nsec > 0)
			nanosleep(&rest, NULL);
	}
}
