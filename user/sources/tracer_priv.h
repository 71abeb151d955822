/* SPDX-License-Identifier: GPL-2.0 */
/* The tracer's state, shared by its two halves: loading (tracer.c) and draining (tracer_drain.c). */
#ifndef KT_TRACER_PRIV_H
#define KT_TRACER_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kvmtrace.skel.h"
#include "perf_events.h"

struct tracer {
	struct kvmtrace *skel;
	bool guest_observable;
	bool disk_observable;
	bool task_iter;		/* scheduler figures by the task iterator, none at context switches */
	int nr_cpus;
	struct counter_set *counters;
	struct sampler *sampler;
	int bpf_stats_fd;	/* kernel.bpf_stats_enabled, read again at each drain; -1: none */
	uint64_t modules_seen;	/* fingerprint of the modules the kernel text ranges cover */
	void *buf;		/* keys and values of one batch */
	size_t buf_len;
};

/* At a drain: reloads the kernel text ranges when modules came or went since they were read. */
void tracer_follow_modules(struct tracer *tr);

#endif /* KT_TRACER_PRIV_H */
