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
 * kvm_entry: the vCPU thread enters guest mode. It only notes the time in this CPU's slot: the
 * thread's entry is looked up at the kvm_exit that follows on this CPU, which takes this one.
 * A process not tracked yet is made a VM here; perf counters, if any, end their host share.
 */
static __always_inline void kt_on_kvm_entry(__u64 now, __u32 tid, __u32 tgid, __u32 vcpu_id,
					    const struct kt_readings *fake)
{
	struct kt_guest_entry *e;
	struct kt_thread *t;

	if (!kt_is_tracked(tgid) || nr_counters) {
		t = kt_vcpu_thread(now, tid, tgid);
		if (!t)
			return;
		kt_counters_take(fake, t, tid, false, tid, now, 0);
	}
	e = kt_guest_slot();
	if (!e)
		return;
	e->tid = tid;
	e->vcpu_id = vcpu_id;
	e->at = now;
}

/*
 * Takes thread tid's open kvm_entry on this CPU into its entry t: the entry ended its pending
 * exit's handling. Returns when it entered guest mode; 0: no entry open (missed, or attached
 * mid-guest).
 */
static __always_inline __u64 kt_take_entry(struct kt_thread *t, __u32 tid)
{
	struct kt_guest_entry *e = kt_open_entry(tid);
	__u64 at, handling;

	if (!e)
		return 0;
	at = e->at;
	e->tid = 0;
	t->flags |= KT_THREAD_VCPU;
	t->vcpu_id = e->vcpu_id;
	if (t->exit_since) {
		handling = at - t->exit_since;
		t->sum.exit_handling_ns += handling;
		t->run_handling_ns += handling;
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

/* kvm_exit: guest mode ends; an exit seen without its entry (attached mid-guest) adds no time. */
static __always_inline void kt_on_kvm_exit(__u64 now, __u32 tid, __u32 tgid, __u32 isa,
					   __u32 reason, const struct kt_readings *fake)
{
	struct kt_thread *t = kt_vcpu_thread(now, tid, tgid);
	__u64 entered;

	if (!t)
		return;
	if (isa == KT_ISA_VMX)
		reason &= KT_VMX_REASON_KEPT;
	/* First: the entry ends the handling of the run's latest exit. */
	entered = kt_take_entry(t, tid);
	kt_counters_take(fake, t, tid, true, tid, now, 0);
	t->flags |= KT_THREAD_VCPU;
	if (entered)
		t->sum.guest_ns += now - entered;
	t->sum.exits++;
	t->exit_since = now;
	t->handling_since = now;
	if (t->isa != isa || t->exit_reason != reason)
		kt_exit_run_done(t);
	t->isa = isa;
	t->exit_reason = reason;
	t->run_exits++;
}

#endif /* KT_KVM_BPF_H */
