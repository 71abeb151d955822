/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KVM: guest time from kvm_entry to kvm_exit, and exit handling from kvm_exit to the vCPU's next
 * kvm_entry, charged to the exit's reason.
 */
#ifndef KT_KVM_BPF_H
#define KT_KVM_BPF_H

#include "kt_counters.bpf.h"
#include "kt_maps.bpf.h"

/*
 * A kvm event of a process we do not track yet makes it a VM, whatever its VMM. A tracked one's
 * vCPU has its entry already: one lookup.
 */
static __always_inline struct kt_thread *kt_vcpu_thread(__u64 now, __u32 tid, __u32 tgid)
{
	struct kt_vm *vm;

	if (kt_is_tracked(tgid))
		return kt_tracked_thread(tid, tgid);
	if (!discover)
		return NULL;
	vm = kt_track_vm(tgid, now, KT_VM_BY_KVM, NULL);
	return vm ? kt_thread_get(tid, tgid, vm, 0) : NULL;
}

/*
 * kvm_entry: the vCPU thread enters guest mode. It only notes the time in this CPU's slot, for
 * whatever VM: the kvm_exit that follows on this CPU decides, looks the thread up (and makes a
 * process not tracked yet a VM) and takes the entry. tid and tgid are known only with perf
 * counters, whose host share of a tracked thread ends here (with no lookup of the thread while
 * it keeps its CPU: kt_counters_quick).
 */
static __always_inline void kt_on_kvm_entry(__u64 now, __u32 tid, __u32 tgid, __u32 vcpu_id,
					    const struct kt_readings *fake)
{
	struct kt_guest_entry *e;
	struct kt_thread *t;

	if (!kt_counters_quick(fake, tid, false, now) && kt_is_tracked(tgid)) {
		t = kt_tracked_thread(tid, tgid);
		if (t)
			kt_counters_take(fake, t, tid, false, tid, now, 0);
	}
	e = kt_guest_slot();
	if (!e)
		return;
	e->at = now;
	e->tid = tid;
	e->vcpu_id = vcpu_id;
}

/*
 * Takes thread tid's open kvm_entry on this CPU into its entry t: the entry ended its pending
 * exit's handling. Returns when it entered guest mode; 0: no entry open (missed, or attached
 * mid-guest). t NULL (no VM's, untracked): only closes it.
 */
static __always_inline __u64 kt_take_entry(struct kt_thread *t, __u32 tid)
{
	struct kt_guest_entry *e = kt_open_entry(tid);
	__u64 at, handling;

	if (!e)
		return 0;
	at = e->at;
	e->at = 0;
	if (!t)
		return 0;
	t->flags |= KT_THREAD_VCPU;
	t->vcpu_id = e->vcpu_id;
	if (t->exit_since) {
		handling = at - t->exit_since;
		t->sum.exit_handling_ns += handling;
		t->runs[t->exit_run & (KT_EXIT_RUNS - 1)].handling_ns += handling;
		t->exit_since = 0;
	}
	if (t->handling_since)
		t->sum.exit_handling_cpu_ns += at - t->handling_since;
	t->handling_since = 0;
	return at;
}

/*
 * VMX exit reasons carry flags above the basic reason (bits 27-29: pending MTF, exit from VMX
 * root, enclave mode): one reason is one row. Bit 31, a failed entry, stays: no guest ran.
 */
#define KT_ISA_VMX		1
#define KT_VMX_REASON_KEPT	0x8000ffffu

/*
 * The run of thread t's exits of this reason: one of its latest reasons', else the oldest
 * one's, which moves to exit_stats to make room.
 */
static __always_inline __u32 kt_exit_run_of(struct kt_thread *t, __u32 isa, __u32 reason)
{
	__u32 i;

	for (i = 0; i < KT_EXIT_RUNS; i++)
		if (t->runs[i].reason == reason && t->runs[i].isa == isa)
			return i;
	i = t->next_run & (KT_EXIT_RUNS - 1);
	kt_exit_run_done(t, i);
	t->next_run = i + 1;
	t->runs[i].isa = isa;
	t->runs[i].reason = reason;
	return i;
}

/* kvm_exit: guest mode ends; an exit seen without its entry (attached mid-guest) adds no time. */
static __always_inline void kt_on_kvm_exit(__u64 now, __u32 tid, __u32 tgid, __u32 isa,
					   __u32 reason, const struct kt_readings *fake)
{
	struct kt_thread *t = kt_vcpu_thread(now, tid, tgid);
	/* First: the entry ends the handling of the run's latest exit. */
	__u64 entered = kt_take_entry(t, tid);

	if (!t)
		return;
	if (isa == KT_ISA_VMX)
		reason &= KT_VMX_REASON_KEPT;
	if (!kt_counters_quick(fake, tid, true, now))
		kt_counters_take(fake, t, tid, true, tid, now, 0);
	t->flags |= KT_THREAD_VCPU;
	/* Guest time counts from the VM's tracking on: a first exit made it a VM. */
	if (entered)
		t->sum.guest_ns += now - (entered > t->vm_birth_ns ? entered : t->vm_birth_ns);
	t->sum.exits++;
	t->exit_since = now;
	t->handling_since = now;
	t->exit_run = kt_exit_run_of(t, isa, reason);
	t->runs[t->exit_run & (KT_EXIT_RUNS - 1)].exits++;
}

/* The hooks' bodies: what they ask the kernel, as the benchmark runs them too. */
static __always_inline void kt_kvm_entry_hook(__u32 vcpu_id)
{
	__u64 id = nr_counters ? bpf_get_current_pid_tgid() : 0;

	kt_on_kvm_entry(bpf_ktime_get_ns(), (__u32)id, id >> 32, vcpu_id, NULL);
}

static __always_inline void kt_kvm_exit_hook(__u32 isa, __u32 reason)
{
	__u64 id = bpf_get_current_pid_tgid();

	kt_on_kvm_exit(bpf_ktime_get_ns(), (__u32)id, id >> 32, isa, reason, NULL);
}

#endif /* KT_KVM_BPF_H */
