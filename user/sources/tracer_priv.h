/* SPDX-License-Identifier: GPL-2.0 */
/* The tracer's state, shared by its two halves: loading (tracer.c) and draining (tracer_drain.c). */
#ifndef KT_TRACER_PRIV_H
#define KT_TRACER_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kvmtrace.skel.h"
#include "perf_events.h"

/* A VM's tap, counted from the device's own counters since it was bound. */
struct tap_reading {
	struct kt_net_key key;
	bool bound;			/* still the VM's: read at each drain */
	bool read;			/* last holds a reading */
	struct kt_net_stat last;	/* the device's counters at the last reading, guest's view */
	struct kt_net_stat now;		/* their growth since the tap was bound */
};

struct tracer {
	struct kvmtrace *skel;
	bool guest_observable;
	bool disk_observable;
	bool task_iter;		/* scheduler figures by the task iterator */
	bool switch_hooked;	/* sched_switch too, for the kvm hooks or the counters */
	bool cpu_flush;		/* the drain flushes the running threads (kt_cpu_flush) */
	int netdev_fd;		/* taps' traffic from their own counters (rtnetlink); -1: hooks */
	struct tap_reading *taps;	/* with netdev_fd: each VM tap's, until its VM is forgotten */
	size_t nr_taps;
	unsigned long netdev_failures;	/* dumps that failed (the first is said) */
	int nr_cpus;
	struct counter_set *counters;
	struct sampler *sampler;
	int bpf_stats_fd;	/* kernel.bpf_stats_enabled, read again at each drain; -1: none */
	uint64_t modules_seen;	/* fingerprint of the modules the kernel text ranges cover */
	void *buf;		/* keys and values of one batch */
	size_t buf_len;
	uint64_t list_after;	/* tracer_list_processes()'s ticks, if the iterator lists */
};

struct netdev_counts;

/* The guest's view of a tap's counters: the host sends what the guest receives. */
struct kt_net_stat tap_guest_view(const struct netdev_counts *c);

/* At a drain: reloads the kernel text ranges when modules came or went since they were read. */
void tracer_follow_modules(struct tracer *tr);

#endif /* KT_TRACER_PRIV_H */
