/* SPDX-License-Identifier: GPL-2.0 */
/* The BPF side from user space: load and attach the hooks, add VMs, drain the maps. */
#ifndef KT_TRACER_H
#define KT_TRACER_H

#include <stdbool.h>
#include <stddef.h>

#include "snapshot.h"

struct counter_spec;

struct tracer_opts {
	bool verbose;		/* libbpf debug output and verifier logs */
	bool discover;		/* track VMs found in the kernel (kvm_exit, exec); false with -p */
	const struct counter_spec *counters;	/* perf counters to split at VM entry/exit */
	size_t nr_counters;
	unsigned int sample_hz;	/* sampler rate per CPU; 0: no component split */
	bool kvm_hooks;		/* attach kvm_entry/kvm_exit (else the kernel's counters only) */
};

struct tracer;

/*
 * Checks BTF and privileges, loads and attaches the hooks. A missing kvm tracepoint is a
 * warning (guest columns stay empty), anything else fails: NULL, with a one-line reason in why.
 */
struct tracer *tracer_open(const struct tracer_opts *opts, char *why, size_t len);

/* Whether guest mode can be observed here (kvm tracepoints attached and /dev/kvm present). */
bool tracer_guest_observable(const struct tracer *tr);

/* Whether the kernel keeps per-task I/O accounting (CONFIG_TASK_IO_ACCOUNTING): disk bytes. */
bool tracer_disk_observable(const struct tracer *tr);

/* Whether counter i of the options is counted here (a hardware one needs a PMU). */
bool tracer_counter_active(const struct tracer *tr, size_t i);

/* CPU time one sampler hit stands for, ns; 0 when the sampler does not run. */
__u64 tracer_sample_period_ns(const struct tracer *tr);
/* The sampler's rate per CPU and how many CPUs it samples; 0 when it does not run. */
unsigned int tracer_sample_hz(const struct tracer *tr);
unsigned int tracer_sampled_cpus(const struct tracer *tr);
/* Changes the sampler's rate from the next sample on: 0, or -1 with a reason in why. */
int tracer_set_sample_hz(struct tracer *tr, unsigned int hz, char *why, size_t len);
/* What one sample costs the CPU it interrupts (sampler_cost.h): ns, or -1 with why. */
double tracer_sample_cost_ns(const struct tracer *tr, char *why, size_t len);

/* One BPF program's cost as the kernel counts it while kernel.bpf_stats_enabled is on. */
struct prog_stat {
	char name[32];		/* the full name: the kernel keeps only 15 characters */
	__u64 run_cnt, run_time_ns;
};

/* The loaded programs' costs, at most max; 0 while kernel.bpf_stats_enabled is off, since the
 * kernel then counts nothing. */
size_t tracer_prog_stats(const struct tracer *tr, struct prog_stat *out, size_t max);

/* Starts tracking a process named comm (its /proc/PID/comm; "" if unknown), counting its
 * threads' whole lives when from_birth (a VMM forked it and it never exec'd: all its time is the
 * VM's). Returns 0, or -1 if the VM table is full. */
int tracer_add_vm(struct tracer *tr, int pid, const char *comm, bool from_birth);

/*
 * From the next drain on, the task iterator lists in the snapshot (listed) the processes the
 * discovery scan would look at with after_ticks as its filter's started_after: a superset, with
 * no /proc read. Nothing where the iterator does not run (the scan reads /proc then).
 */
void tracer_list_processes(struct tracer *tr, uint64_t after_ticks);

/* Retires a tracked process found gone without its exit seen: it gets its last row. */
void tracer_remove_vm(struct tracer *tr, int pid);

/* A VM's tap: which VM incarnation its traffic belongs to. */
struct iface_binding {
	__u32 ifindex;
	__u32 tgid;
	__u64 vm_birth_ns;
};

/* Makes the kernel count exactly these taps (others are dropped). Returns 0 or -errno. */
int tracer_set_ifaces(struct tracer *tr, const struct iface_binding *b, size_t n);

/* Copies every map into s (reusing its arrays). Returns 0 or -errno. */
int tracer_drain(struct tracer *tr, struct snapshot *s);

/* After a dead VM's last row: frees its entries in every map. */
void tracer_forget(struct tracer *tr, const struct snapshot *s, const struct kt_vm *vm);

/*
 * The arguments vm's VMM exec'd with, as the exec hook kept them (whole ones, into buf of len
 * bytes): how many bytes, 0 when none were kept (a VM not found at exec).
 */
size_t tracer_exec_args(struct tracer *tr, const struct kt_vm *vm, char *buf, size_t len);

void tracer_close(struct tracer *tr);

void snapshot_free(struct snapshot *s);

#endif /* KT_TRACER_H */
