/* SPDX-License-Identifier: GPL-2.0 */
/* The BPF maps as drained at one instant: the tracer fills it, the accounting reads it. */
#ifndef KT_SNAPSHOT_H
#define KT_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "kvmtrace.h"

struct snap_vm {
	bool dead;		/* from dead_vms: this is the VM's last snapshot */
	struct kt_vm vm;
};

struct snap_thread {
	uint32_t tid;
	struct kt_thread t;
};

struct snap_exit {
	struct kt_exit_key key;
	struct kt_exit_stat stat;	/* summed over CPUs */
};

struct snap_net {
	struct kt_net_key key;
	struct kt_net_stat stat;	/* summed over CPUs */
};

/* A VM incarnation's counters and samples. */
struct snap_percpu {
	struct kt_vm_key key;
	struct kt_vm_percpu sum;	/* summed over CPUs */
};

struct snapshot {
	uint64_t mono_ns;	/* CLOCK_MONOTONIC (the BPF clock) when the drain began */
	struct timespec wall;	/* CLOCK_REALTIME at the same instant, for the row's timestamp */
	struct snap_vm *vms;
	size_t nr_vms, cap_vms;
	struct snap_thread *threads;
	size_t nr_threads, cap_threads;
	struct snap_exit *exits;
	size_t nr_exits, cap_exits;
	struct snap_net *nets;
	size_t nr_nets, cap_nets;
	struct snap_percpu *percpu;
	size_t nr_percpu, cap_percpu;
	struct kt_shared_samples shared;	/* summed over CPUs */
	uint64_t drops[KT_NR_DROPS];
	/*
	 * The processes the task iterator listed for the discovery scan, when it did (listed):
	 * every one begun after listed_after (clock ticks since boot) or named as a VMM.
	 */
	bool listed;
	uint64_t listed_after;
	uint32_t *procs;
	size_t nr_procs, cap_procs;
};

/*
 * A vCPU's exits of its latest reasons are in its thread entry until another reason takes
 * their place or the thread ends (kt_exit_run_done): adds the threads' runs to their reasons'
 * exits, one entry per VM and reason, ordered by VM, then reason. exit_stats is to be read before the
 * threads, so that a run moving in between is missed once (the next drain has it), never
 * counted twice. 0, or -ENOMEM.
 */
int snapshot_add_exit_runs(struct snapshot *s);

/*
 * A VM retired between the walks of vms and dead_vms is in both: drops its live copy, of the
 * first nr_live VMs (the dead one has its final figures), so that it has one row.
 */
void snapshot_drop_retired_twins(struct snapshot *s, size_t nr_live);

#endif /* KT_SNAPSHOT_H */
