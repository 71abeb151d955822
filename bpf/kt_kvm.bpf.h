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
 * Takes thread tid's open kvm_entry on this CPU into its exits' state k (in its entry or live
 * on this CPU), with the handling's time in handling_ns and handling_cpu_ns: the entry ended
 * its pending exit's handling. Returns when it entered guest mode; 0: no entry open (missed,
 * or attached mid-guest). k NULL (no VM's, untracked): only closes it.
 */
static __always_inline __u64 kt_take_entry(struct kt_vcpu_exits *k, __u64 *handling_ns,
					   __u64 *handling_cpu_ns, __u32 tid)
{
	struct kt_guest_entry *e = kt_open_entry(tid);
	__u64 at, handling;

	if (!e)
		return 0;
	at = e->at;
	e->at = 0;
	if (!k)
		return 0;
	k->vcpu_id = e->vcpu_id;
	if (k->exit_since) {
		handling = at - k->exit_since;
		*handling_ns += handling;
		k->runs[k->exit_run & (KT_EXIT_RUNS - 1)].handling_ns += handling;
		k->exit_since = 0;
	}
	if (k->handling_since)
		*handling_cpu_ns += at - k->handling_since;
	k->handling_since = 0;
	return at;
}

/* The same, for a thread's entry. */
static __always_inline __u64 kt_take_thread_entry(struct kt_thread *t, __u32 tid)
{
	__u64 at = kt_take_entry(&t->kvm, &t->sum.exit_handling_ns, &t->sum.exit_handling_cpu_ns,
				 tid);

	/* Once: a store at every exit could also undo a rename counted meanwhile elsewhere. */
	if (at && !(t->flags & KT_THREAD_VCPU))
		t->flags |= KT_THREAD_VCPU;
	return at;
}

/* This CPU's live vCPU; an array lookup, which the JIT inlines. */
static __always_inline struct kt_vcpu_live *kt_live_slot(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&vcpu_live, &zero);
}

/*
 * The live vCPU's state and figures go back to its thread entry, and the CPU has none live. An
 * entry gone meanwhile (its switch-out unseen, then its end) takes nothing.
 */
static __always_inline void kt_vcpu_give_back(struct kt_vcpu_live *live)
{
	__u32 tid = live->tid;
	struct kt_thread *t;

	if (!tid)
		return;
	live->tid = 0;
	t = bpf_map_lookup_elem(&threads, &tid);
	if (!t || t->tgid != live->tgid || t->vm_birth_ns != live->vm_birth_ns ||
	    (t->flags & KT_THREAD_FOLDED))
		return;
	t->kvm.exit_since = live->kvm.exit_since;
	t->kvm.handling_since = live->kvm.handling_since;
	t->kvm.exit_run = live->kvm.exit_run;
	t->kvm.next_run = live->kvm.next_run;
	__builtin_memcpy(t->kvm.runs, live->kvm.runs, sizeof(t->kvm.runs));
	if (live->vcpu_seen)
		t->kvm.vcpu_id = live->kvm.vcpu_id;
	t->sum.guest_ns += live->guest_ns;
	t->sum.exits += live->exits;
	t->sum.exit_handling_ns += live->exit_handling_ns;
	t->sum.exit_handling_cpu_ns += live->exit_handling_cpu_ns;
}

/* Thread tid leaves this CPU (or its figures are wanted): its live state, if any, goes back. */
static __always_inline void kt_vcpu_leaves(__u32 tid)
{
	struct kt_vcpu_live *live = kt_live_slot();

	if (live && live->tid == tid)
		kt_vcpu_give_back(live);
}

/*
 * Thread tid's live state on this CPU; at its first kvm_exit here taken from its entry (made,
 * and its process made a VM, as needed), after another thread's went back. NULL: no VM's.
 */
static __always_inline struct kt_vcpu_live *kt_vcpu_live_of(__u64 now, __u32 tid, __u32 tgid)
{
	struct kt_vcpu_live *live = kt_live_slot();
	struct kt_thread *t;

	if (!live)
		return NULL;
	if (live->tid == tid && live->tgid == tgid)
		return live;
	kt_vcpu_give_back(live);
	t = kt_vcpu_thread(now, tid, tgid);
	if (!t)
		return NULL;
	t->flags |= KT_THREAD_VCPU;
	__builtin_memset(live, 0, sizeof(*live));
	live->tid = tid;
	live->tgid = tgid;
	live->vm_birth_ns = t->vm_birth_ns;
	live->kvm = t->kvm;
	/*
	 * The runs move, not copy: one the live vCPU moves to exit_stats must not stay in the entry
	 * too for a drain that reads it before the vCPU gives its runs back (missed once by that
	 * drain, never counted twice).
	 */
	__builtin_memset(t->kvm.runs, 0, sizeof(t->kvm.runs));
	return live;
}

/*
 * VMX exit reasons carry flags above the basic reason (bits 27-29: pending MTF, exit from VMX
 * root, enclave mode): one reason is one row. Bit 31, a failed entry, stays: no guest ran.
 */
#define KT_ISA_VMX		1
#define KT_VMX_REASON_KEPT	0x8000ffffu

/*
 * The run of the live vCPU's exits of this reason: one of its latest reasons', else the oldest
 * one's, which moves to exit_stats to make room.
 */
static __always_inline __u32 kt_exit_run_of(struct kt_vcpu_live *live, __u32 isa, __u32 reason)
{
	struct kt_vcpu_exits *k = &live->kvm;
	__u32 i;

	for (i = 0; i < KT_EXIT_RUNS; i++)
		if (k->runs[i].reason == reason && k->runs[i].isa == isa)
			return i;
	i = k->next_run & (KT_EXIT_RUNS - 1);
	kt_exit_run_done(k, i, live->tgid, live->vm_birth_ns);
	k->next_run = i + 1;
	k->runs[i].isa = isa;
	k->runs[i].reason = reason;
	return i;
}

/*
 * kvm_exit: guest mode ends; an exit seen without its entry (attached mid-guest) adds no time.
 * Counted in the vCPU's live state: no lookup while it keeps its CPU.
 */
static __always_inline void kt_on_kvm_exit(__u64 now, __u32 tid, __u32 tgid, __u32 isa,
					   __u32 reason, const struct kt_readings *fake)
{
	struct kt_vcpu_live *live = kt_vcpu_live_of(now, tid, tgid);
	struct kt_vcpu_exits *k;
	struct kt_thread *t;
	__u64 entered;

	if (!live) {
		kt_take_entry(NULL, NULL, NULL, tid);	/* no VM's: closes the entry */
		return;
	}
	k = &live->kvm;
	/* First: the entry ends the handling of the run's latest exit. */
	entered = kt_take_entry(k, &live->exit_handling_ns, &live->exit_handling_cpu_ns, tid);
	if (entered)
		live->vcpu_seen = 1;
	if (isa == KT_ISA_VMX)
		reason &= KT_VMX_REASON_KEPT;
	if (!kt_counters_quick(fake, tid, true, now)) {
		t = kt_tracked_thread(tid, tgid);
		if (t)
			kt_counters_take(fake, t, tid, true, tid, now, 0);
	}
	/* Guest time counts from the VM's tracking on: a first exit made it a VM. */
	if (entered)
		live->guest_ns += now - (entered > live->vm_birth_ns ? entered : live->vm_birth_ns);
	live->exits++;
	k->exit_since = now;
	k->handling_since = now;
	k->exit_run = kt_exit_run_of(live, isa, reason);
	k->runs[k->exit_run & (KT_EXIT_RUNS - 1)].exits++;
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
