/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The sampler: which component a sampled CPU runs and for which VM (its own threads, its vhost
 * workers, or network softirq that user space shares out), and the network softirq flag of
 * kernels whose preempt count BPF cannot read.
 */
#ifndef KT_SAMPLER_BPF_H
#define KT_SAMPLER_BPF_H

#include "kt_maps.bpf.h"

#define KT_SOFTIRQ_OFFSET	0x100		/* preempt count: serving a softirq */
#define KT_STACK_DEPTH		8		/* kernel frames a sample is classified by */

/*
 * Kernel addresses have the top bit set on the 64-bit architectures KVM hosts run (x86-64,
 * arm64, riscv64, ppc64): a sampled address below is user-space code.
 */
static __always_inline bool kt_is_kernel_text(__u64 ip)
{
	return (__s64)ip < 0;
}

/*
 * The component of a kernel address: the last range starting at or below it. A global function,
 * so the verifier checks it once rather than at every call site.
 */
__noinline __u32 kt_classify(__u64 ip)
{
	struct kt_ksym_range *r;
	__u32 lo = 0, step, i;

	for (i = 0, step = KT_MAX_KSYM_RANGES / 2; i < KT_KSYM_SEARCH_STEPS; i++, step /= 2) {
		__u32 probe = lo + step;

		r = bpf_map_lookup_elem(&ksym_ranges, &probe);
		if (r && r->start <= ip)
			lo = probe;
	}
	r = bpf_map_lookup_elem(&ksym_ranges, &lo);
	if (!r || r->start > ip || r->component >= KT_NR_COMPONENTS)
		return KT_COMP_OTHER_KERNEL;
	return r->component;
}

/* kt_classify's answer, bounded where the verifier can see it (it checks kt_classify apart). */
static __always_inline __u32 kt_component_of(__u64 ip)
{
	__u32 comp = kt_classify(ip);

	/* The compiler knows the range; the barrier keeps the check for the verifier. */
	asm volatile("" : "+r"(comp));
	return comp < KT_NR_COMPONENTS ? comp : KT_COMP_OTHER_KERNEL;
}

/*
 * The component of a kernel sample: of the innermost frame that has one, so that time in shared
 * helpers (locking, copying, memory allocation; and the point where interrupts come back on,
 * where a timer-driven sample lands after a section that had them off) goes to the code that
 * called them. The stack is walked only when the sampled address itself says nothing; the
 * tests pass theirs (fake), the hook lets the kernel unwind it from the sample's registers.
 */
static __always_inline __u32 kt_classify_sample(__u64 ip, void *ctx, const __u64 *fake,
						__u32 nr_fake)
{
	__u64 frames[KT_STACK_DEPTH];
	const __u64 *stack = fake;
	__u32 comp = kt_component_of(ip), inner, i, n = nr_fake;
	long got;

	if (comp != KT_COMP_OTHER_KERNEL)
		return comp;
	if (!fake) {
		got = bpf_get_stack(ctx, frames, sizeof(frames), 0);
		if (got <= 0)
			return comp;
		stack = frames;
		n = got / sizeof(__u64);
	}
	/* Frame 0 is the sampled address itself. */
	for (i = 1; i < KT_STACK_DEPTH && i < n; i++) {
		inner = kt_component_of(stack[i]);
		if (inner != KT_COMP_OTHER_KERNEL)
			return inner;
	}
	return comp;
}

static __always_inline bool kt_is_network(__u32 component)
{
	return component == KT_COMP_TAP || component == KT_COMP_BRIDGE || component == KT_COMP_NET;
}

/* The VMM's PID in a vhost kernel thread's name ("vhost-1234"), 0 if none. */
static __always_inline __u32 kt_vhost_owner(const char *comm)
{
	__u32 pid = 0, i;

	if (!kt_comm_has_prefix(comm, "vhost-", false))
		return 0;
	for (i = 6; i < TASK_COMM_LEN && comm[i]; i++) {
		if (comm[i] < '0' || comm[i] > '9')
			return 0;
		pid = pid * 10 + comm[i] - '0';
	}
	return pid;
}

/*
 * One sampler hit: what the CPU was running, for the VM it worked for. A tracked VM's thread in
 * host mode counts for its own component (its user-space code, or the kernel code it ran);
 * before Linux 6.4 vhost workers are kernel threads "vhost-<VMM PID>" outside the VM's process;
 * network code run in softirq for nobody in particular is pooled and shared by user space.
 * start_ns: when the thread began (0: unknown), for an entry made here; in_kvm_run as in
 * struct kt_task_sample.
 */
static __always_inline void kt_on_sample(__u32 tid, __u32 tgid, __u64 start_ns, __u32 in_kvm_run,
					 __u64 ip, bool in_softirq, bool kthread, const char *comm,
					 void *ctx, const __u64 *fake_stack, __u32 nr_fake)
{
	struct kt_shared_samples *shared;
	struct kt_vm_percpu *st;
	struct kt_thread *t;
	struct kt_vm *vm;
	__u32 comp, owner, zero = 0;

	if (kt_is_tracked(tgid)) {
		t = kt_thread_of(tid, tgid, start_ns);
		if (!t)
			return;
		/* Where only the iterator reads threads, it may find a vCPU outside KVM_RUN. */
		if (!(t->flags & KT_THREAD_IN_KVM_RUN))
			kt_note_kvm_run(t, in_kvm_run);
		/* In guest mode the time is the guest's own. */
		if (kt_open_entry(tid))
			return;
		comp = kt_is_kernel_text(ip) ? kt_classify_sample(ip, ctx, fake_stack, nr_fake) :
					       KT_COMP_QEMU_USER;
		/* A vhost worker (a thread of the VMM since Linux 6.4) outside known code. */
		if (comp == KT_COMP_OTHER_KERNEL && kt_comm_has_prefix(comm, "vhost-", false))
			comp = KT_COMP_VHOST;
		st = kt_vm_percpu_get(tgid, t->vm_birth_ns);
		if (st && in_softirq && kt_is_network(comp))
			st->samples_softirq[comp]++;
		else if (st)
			st->samples_own[comp]++;
		return;
	}
	if (!kt_is_kernel_text(ip))
		return;
	owner = kthread ? kt_vhost_owner(comm) : 0;
	if (owner) {
		vm = kt_is_tracked(owner) ? bpf_map_lookup_elem(&vms, &owner) : NULL;
		if (!vm)
			return;
		comp = kt_classify_sample(ip, ctx, fake_stack, nr_fake);
		st = kt_vm_percpu_get(owner, vm->birth_ns);
		/* Its network work shows as such; everything else is the vhost worker's. */
		if (st)
			st->samples_ext[kt_is_network(comp) ? comp : KT_COMP_VHOST]++;
		return;
	}
	if (!in_softirq)
		return;
	comp = kt_classify_sample(ip, ctx, fake_stack, nr_fake);
	shared = kt_is_network(comp) ? bpf_map_lookup_elem(&shared_samples, &zero) : NULL;
	if (shared)
		shared->hits[comp]++;
}

#define KT_NET_TX_SOFTIRQ	2
#define KT_NET_RX_SOFTIRQ	3

/* softirq_entry / softirq_exit (attached only as the sampler's fallback, see in_net_softirq). */
static __always_inline void kt_on_softirq(__u32 vec, bool entry)
{
	__u32 zero = 0, *flag;

	if (vec != KT_NET_TX_SOFTIRQ && vec != KT_NET_RX_SOFTIRQ)
		return;
	flag = bpf_map_lookup_elem(&in_net_softirq, &zero);
	if (flag)
		*flag = entry;
}

#endif /* KT_SAMPLER_BPF_H */
