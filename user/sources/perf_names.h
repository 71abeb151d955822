/* SPDX-License-Identifier: GPL-2.0 */
/* perf's event names, as `perf stat -e` spells them, and the counter specs they stand for. */
#ifndef KT_PERF_NAMES_H
#define KT_PERF_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/perf_event.h>

#include "kvmtrace.h"

#define COUNTERS_DEFAULT "cycles,instructions,cache-misses,branch-misses"

struct counter_spec {
	char name[32];		/* canonical perf spelling: "cycles", "cpu-clock", "r01c2" */
	char column[40];	/* CSV column: the name in lower case, '_' for '-', "_ns" after
				 * the clocks: "cycles", "cache_misses", "cpu_clock_ns", "r01c2" */
	__u32 type;		/* PERF_TYPE_* */
	__u64 config;
	bool needs_pmu;		/* hardware, cache or raw event: absent where there is no PMU */
};

/*
 * Parses a comma-separated list of perf event names, as `perf stat -e` spells them: the generic
 * hardware events and their aliases, the software events, the generic cache events
 * ({L1-dcache,L1-icache,LLC,dTLB,iTLB,branch,node}-{loads,load-misses,stores,store-misses,
 * prefetches,prefetch-misses}) and raw events rNNNN (hex). Names match regardless of case;
 * aliases become the canonical name (cpu-cycles -> cycles). Spaces around names are ignored.
 * "none" (alone) means no counters: returns 0.
 * Returns how many specs were written, or -1 with a one-line reason in why (unknown event,
 * duplicate, more than max, empty name).
 */
int counters_parse(const char *list, struct counter_spec *out, size_t max, char *why, size_t len);

/* Whether the counter counts ns of CPU time (cpu-clock, task-clock). */
bool counter_is_clock(const struct counter_spec *spec);

#endif /* KT_PERF_NAMES_H */
