/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Accounting: turns drained cumulative counters into one vm_record per VM and interval.
 * Counters are cumulative since a VM started being tracked; each figure reported is the
 * advance of a monotone running value, so a torn or early read never makes time vanish or
 * appear twice: what one interval over-reads, the next ones give back.
 */
#ifndef KT_ACCOUNT_H
#define KT_ACCOUNT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "discovery.h"
#include "record.h"
#include "snapshot.h"

#define KT_KVM_EXIT_KINDS	24
#define KT_KVM_MAX_VCPUS	256	/* vCPUs whose own exits are kept; the VM's total has all */

/*
 * A VM's exits as KVM's own per-vCPU statistics count them (KVM_GET_STATS_FD), summed over its
 * vCPUs: the total and each "*_exits"-like category, in an order that stays the same for a VM.
 */
struct kvm_exit_counts {
	bool valid;
	uint64_t exits;
	size_t nr_kinds;
	struct {
		char name[KT_REASON_MAX];
		uint64_t count;
	} kind[KT_KVM_EXIT_KINDS];
	size_t nr_vcpus;
	struct {
		int index;	/* KVM's vCPU id */
		uint64_t exits;
	} vcpu[KT_KVM_MAX_VCPUS];
};

/* What the accounting asks of the host (vmsource.c: /proc and libvirt); unit tests give fakes. */
struct vm_source {
	/* The VM's name and UUID ("" when unknown); -1 if its process is gone, unnamed. */
	int (*identify)(void *ctx, const struct kt_vm *vm, char *name, size_t name_len,
			char *uuid, size_t uuid_len);
	/* The process's user/system/guest ticks; -1 if it is gone. */
	int (*cputime)(void *ctx, int pid, struct proc_cputime *ct);
	/* A thread's name; -1 if it is gone. */
	int (*thread_name)(void *ctx, int pid, int tid, char *out, size_t len);
	/* The VM's current vCPU count as its manager (libvirt) says, or -1 when unknown. */
	int (*vcpus)(void *ctx, int pid, const char *uuid);
	/* How many taps of the VM are counted (0: none known, its net columns stay empty). */
	int (*taps)(void *ctx, int pid);
	/* Resident memory of the VMM and the guest's memory (libvirt); -1 when unknown. */
	void (*memory)(void *ctx, int pid, const char *uuid, int64_t *rss, int64_t *guest);
	/* KVM's exit statistics of the VMM's vCPUs; -1 when it holds none we can read. */
	int (*kvm_exits)(void *ctx, int pid, struct kvm_exit_counts *out);
	void *ctx;
};

struct account;

/* What the tracer can observe on this host, and how the run was configured. */
struct account_opts {
	bool guest_observable;	/* the kvm hooks are attached: VMs entering guest mode are seen */
	bool disk_observable;	/* the kernel keeps per-task I/O accounting */
	size_t nr_counters;	/* perf counters, in the order the BPF side reads them */
	const char *counter_name[KT_MAX_COUNTERS];	/* perf names, kept by the caller */
	const char *counter_column[KT_MAX_COUNTERS];	/* CSV columns of non-default ones */
	bool counter_active[KT_MAX_COUNTERS];		/* opened here */
	uint64_t sample_period_ns;	/* CPU time one sampler hit stands for; 0: no sampler */
};

struct account *account_new(const struct vm_source *src, const struct account_opts *opts);

/*
 * Builds the interval's records (one per VM in the snapshot, sorted by name) into *out; they
 * stay valid until the next call. Returns how many, or -1 on allocation failure.
 */
long account_update(struct account *a, const struct snapshot *s, struct vm_record **out);

/*
 * The VM under tgid handed itself over to successor, a fork of it (QEMU -daemonize): from now
 * on it has no rows, and the successor, when first accounted, takes its name and UUID and so
 * continues in its file. What the launcher does after the fork is a wait and an exit: nothing
 * worth a row.
 */
void account_hand_over(struct account *a, uint32_t tgid, uint32_t successor);

/* The sampler runs at another rate from now on: the next records' hits stand for ns each. */
void account_set_sample_period(struct account *a, uint64_t ns);

/* The process of the live VM that goes by name, 0 when none. */
uint32_t account_vm_named(const struct account *a, const char *name);

void account_free(struct account *a);

/* Advances a monotone running value to cur; returns by how much it moved (0 if cur is lower). */
uint64_t mono_advance(__u64 *reported, __u64 cur);

/*
 * Splits total into n parts in the ratio of weights, exactly: the parts sum to total (what
 * rounding down leaves goes to the part with the largest remainder). Returns false, leaving all
 * parts 0, when the weights sum to 0.
 */
bool split_exact(uint64_t total, const uint64_t *weights, size_t n, uint64_t *parts);

/*
 * Splits hyp_ns into user and kernel parts in the ratio user_ticks : kernel_ticks, exactly
 * (user + kernel == hyp_ns). Returns false, leaving both 0, when both tick counts are 0.
 */
bool split_by_ticks(uint64_t hyp_ns, uint64_t user_ticks, uint64_t kernel_ticks,
		    uint64_t *user_ns, uint64_t *kernel_ns);

#endif /* KT_ACCOUNT_H */
