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

/* What the accounting asks of the host (vmsource.c: /proc and libvirt); unit tests give fakes. */
struct vm_source {
	/* The VM's name and UUID ("" when unknown) for pid; -1 if the process is gone. */
	int (*identify)(void *ctx, int pid, char *name, size_t name_len, char *uuid,
			size_t uuid_len);
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
	void *ctx;
};

struct account;

/* guest_observable: the kvm hooks are attached, so VMs entering guest mode will be seen;
 * disk_observable: the kernel keeps per-task I/O accounting. */
struct account *account_new(const struct vm_source *src, bool guest_observable,
			    bool disk_observable);

/*
 * Builds the interval's records (one per VM in the snapshot, sorted by name) into *out; they
 * stay valid until the next call. Returns how many, or -1 on allocation failure.
 */
long account_update(struct account *a, const struct snapshot *s, struct vm_record **out);

void account_free(struct account *a);

/* Advances a monotone running value to cur; returns by how much it moved (0 if cur is lower). */
uint64_t mono_advance(__u64 *reported, __u64 cur);

/*
 * Splits hyp_ns into user and kernel parts in the ratio user_ticks : kernel_ticks, exactly
 * (user + kernel == hyp_ns). Returns false, leaving both 0, when both tick counts are 0.
 */
bool split_by_ticks(uint64_t hyp_ns, uint64_t user_ticks, uint64_t kernel_ticks,
		    uint64_t *user_ns, uint64_t *kernel_ns);

#endif /* KT_ACCOUNT_H */
