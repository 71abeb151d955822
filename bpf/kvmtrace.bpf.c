// SPDX-License-Identifier: GPL-2.0
/*
 * Hooks of kvmtrace-bpf. Each entry point only extracts the event's time and IDs and calls the
 * accounting helper of kvmtrace.bpf.h. The scheduler hooks come as tp_btf programs with raw_tp
 * twins for kernels without tp_btf; the loader autoloads one set.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "kvmtrace.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* Kernel 5.5 renamed task_struct.real_start_time to start_boottime. */
struct task_struct___pre_5_5 {
	__u64 real_start_time;
} __attribute__((preserve_access_index));

/* Kernel 5.14 renamed task_struct.state to __state. */
struct task_struct___pre_5_14 {
	long state;
} __attribute__((preserve_access_index));

static __always_inline unsigned int kt_task_state_btf(struct task_struct *t)
{
	if (bpf_core_field_exists(t->__state))
		return t->__state;
	return ((struct task_struct___pre_5_14 *)t)->state;
}

static __always_inline unsigned int kt_task_state_core(struct task_struct *t)
{
	if (bpf_core_field_exists(t->__state))
		return BPF_CORE_READ(t, __state);
	return BPF_CORE_READ((struct task_struct___pre_5_14 *)t, state);
}

/*
 * A task still TASK_RUNNING at sched_switch was preempted: it waits for a CPU from now on. One
 * in do_exit is exiting; TASK_DEAD, it leaves its CPU for the last time.
 */
static __always_inline void kt_sample_state(struct kt_task_sample *s, unsigned int state,
					    unsigned int flags)
{
	s->runnable = state == KT_TASK_RUNNING;
	if (flags & KT_PF_EXITING)
		s->exiting = state & KT_TASK_DEAD ? KT_EXIT_DEAD : KT_EXITING;
}

/* sched_info exists with CONFIG_SCHED_INFO (schedstats or delay accounting). */
static __always_inline __u64 kt_run_delay_btf(struct task_struct *t)
{
	if (bpf_core_field_exists(t->sched_info.run_delay))
		return t->sched_info.run_delay;
	return KT_NO_RUN_DELAY;
}

static __always_inline __u64 kt_run_delay_core(struct task_struct *t)
{
	if (bpf_core_field_exists(t->sched_info.run_delay))
		return BPF_CORE_READ(t, sched_info.run_delay);
	return KT_NO_RUN_DELAY;
}

/* ioac exists with CONFIG_TASK_IO_ACCOUNTING. */
static __always_inline void kt_ioac_btf(struct task_struct *t, struct kt_task_sample *s)
{
	s->io_read_bytes = s->io_write_bytes = KT_NO_COUNTER;
	if (!bpf_core_field_exists(t->ioac))
		return;
	s->io_read_bytes = t->ioac.read_bytes;
	s->io_write_bytes = t->ioac.write_bytes;
}

static __always_inline void kt_ioac_core(struct task_struct *t, struct kt_task_sample *s)
{
	s->io_read_bytes = s->io_write_bytes = KT_NO_COUNTER;
	if (!bpf_core_field_exists(t->ioac))
		return;
	s->io_read_bytes = BPF_CORE_READ(t, ioac.read_bytes);
	s->io_write_bytes = BPF_CORE_READ(t, ioac.write_bytes);
}

/*
 * 1 + the vCPU a thread runs KVM_RUN for: for a vCPU ioctl's duration (vcpu_load to vcpu_put)
 * KVM keeps the vCPU's preempt notifier on the thread, and KVM is the kernel's only user of
 * preempt notifiers. Any vCPU ioctl loads it (a VMM's main thread setting the registers), so
 * the vCPU's pid, which only KVM_RUN sets, must be the thread's. 0 outside KVM_RUN, or where
 * the kernel has no KVM or no notifiers.
 */
static __always_inline __u32 kt_in_kvm_run(struct task_struct *t)
{
	struct hlist_node *first;
	struct kvm_vcpu *vcpu;

	if (!bpf_core_field_exists(t->preempt_notifiers) || !bpf_core_type_exists(struct kvm_vcpu))
		return 0;
	first = BPF_CORE_READ(t, preempt_notifiers.first);
	if (!first)
		return 0;
	vcpu = (void *)first - bpf_core_field_offset(struct kvm_vcpu, preempt_notifier) -
	       bpf_core_field_offset(struct preempt_notifier, link);
	if (BPF_CORE_READ(vcpu, pid) != BPF_CORE_READ(t, thread_pid))
		return 0;
	return BPF_CORE_READ(vcpu, vcpu_id) + 1;
}

/*
 * The task's IDs, and its counters only when it is tracked (they are on cold cache lines).
 * Returns whether it is tracked: the one test that sends most switches home at once.
 */
static __always_inline bool kt_sample_btf(struct task_struct *t, struct kt_task_sample *s)
{
	s->tid = t->pid;
	s->tgid = t->tgid;
	if (!kt_is_tracked(s->tgid))
		return false;
	s->exec_ns = t->se.sum_exec_runtime;
	s->run_delay_ns = kt_run_delay_btf(t);
	kt_sample_state(s, kt_task_state_btf(t), t->flags);
	s->guest_ns = t->gtime;
	s->utime_ns = t->utime;
	s->stime_ns = t->stime;
	s->start_ns = t->start_time;
	s->in_kvm_run = kt_in_kvm_run(t);
	kt_ioac_btf(t, s);
	return true;
}

static __always_inline bool kt_sample_core(struct task_struct *t, struct kt_task_sample *s)
{
	s->tid = BPF_CORE_READ(t, pid);
	s->tgid = BPF_CORE_READ(t, tgid);
	if (!kt_is_tracked(s->tgid))
		return false;
	s->exec_ns = BPF_CORE_READ(t, se.sum_exec_runtime);
	s->run_delay_ns = kt_run_delay_core(t);
	kt_sample_state(s, kt_task_state_core(t), BPF_CORE_READ(t, flags));
	s->guest_ns = BPF_CORE_READ(t, gtime);
	s->utime_ns = BPF_CORE_READ(t, utime);
	s->stime_ns = BPF_CORE_READ(t, stime);
	s->start_ns = BPF_CORE_READ(t, start_time);
	s->in_kvm_run = kt_in_kvm_run(t);
	kt_ioac_core(t, s);
	return true;
}

static __always_inline bool kt_group_dead(struct task_struct *t)
{
	return BPF_CORE_READ(t, signal, live.counter) == 0;
}

static __always_inline void kt_exec(const struct kt_task_sample *task)
{
	char comm[TASK_COMM_LEN];

	bpf_get_current_comm(comm, sizeof(comm));
	kt_on_exec(0, task, comm);
}

/* tp_btf: BTF-typed task pointers, read with plain loads. */

/*
 * Out of line, as kt_queue_tracked_bio: two samples make a frame over 64 bytes, a private stack
 * and its zeroing that a switch of no VM's threads does not pay for.
 */
static __noinline void kt_switch_tracked_btf(struct task_struct *prev, struct task_struct *next)
{
	struct kt_task_sample p = {}, n = {};

	kt_sample_btf(prev, &p);
	kt_sample_btf(next, &n);
	kt_on_switch(0, &p, &n, NULL);
}

static __always_inline void kt_switch_task_btf(struct task_struct *t, struct kt_switch_task *s)
{
	s->tid = t->pid;
	s->tgid = t->tgid;
	s->start_ns = t->start_time;
	s->exec_ns = t->se.sum_exec_runtime;
	s->exiting = t->flags & KT_PF_EXITING;
}

/* Out of line too, for the host's other tasks; only tp_btf kernels have the task iterator. */
static __noinline void kt_switch_lean_btf(struct task_struct *prev, struct task_struct *next)
{
	struct kt_switch_task p, n;

	kt_switch_task_btf(prev, &p);
	kt_switch_task_btf(next, &n);
	kt_on_switch_lean(0, &p, &n, NULL);
}

SEC("tp_btf/sched_switch")
int BPF_PROG(kt_sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	if (!kt_is_tracked(prev->tgid) && !kt_is_tracked(next->tgid))
		return 0;
	if (switch_lean)
		kt_switch_lean_btf(prev, next);
	else
		kt_switch_tracked_btf(prev, next);
	return 0;
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(kt_sched_wakeup, struct task_struct *p)
{
	kt_on_wakeup(0, p->pid, p->tgid);
	return 0;
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(kt_sched_wakeup_new, struct task_struct *p)
{
	kt_on_wakeup(0, p->pid, p->tgid);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(kt_sched_process_exit, struct task_struct *p)
{
	struct kt_task_sample task = {};

	kt_sample_btf(p, &task);
	kt_on_exit(0, &task, kt_group_dead(p));
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(kt_sched_process_exec, struct task_struct *p)
{
	struct kt_task_sample task = {};

	kt_sample_btf(p, &task);
	kt_exec(&task);
	return 0;
}

SEC("tp_btf/task_rename")
int BPF_PROG(kt_task_rename, struct task_struct *p, const char *comm)
{
	kt_on_rename(p->pid);
	return 0;
}

/* When a task began, on /proc/PID/stat's clock; where the kernel keeps neither field, ~0: a
 * process of unknown age is listed for the scan, as a young one. */
static __always_inline __u64 kt_start_boottime(struct task_struct *t)
{
	if (bpf_core_field_exists(t->start_boottime))
		return t->start_boottime;
	if (bpf_core_field_exists(((struct task_struct___pre_5_5 *)t)->real_start_time))
		return ((struct task_struct___pre_5_5 *)t)->real_start_time;
	return ~0ULL;
}

/*
 * The scan's processes (kt_scan_offers) are the iterator's output, one __u32 tgid each; p is a
 * process (tid == tgid). Out of line: its name buffer would give every task's run a frame over
 * 64 bytes (a private stack).
 */
static __noinline void kt_list_for_scan(struct seq_file *seq, struct task_struct *p)
{
	char comm[TASK_COMM_LEN];
	__u32 tgid = p->tgid;

	bpf_probe_read_kernel(comm, sizeof(comm), p->comm);
	if (kt_scan_offers(p->pid, tgid, p->flags & KT_PF_KTHREAD, kt_start_boottime(p), comm))
		bpf_seq_write(seq, &tgid, sizeof(tgid));
}

/*
 * A tracked task's reading; out of line, as kt_switch_tracked_btf: the host's other tasks skip
 * its sample's frame. Dead is done only once off its CPU: its final switch-out has counted its
 * last slice.
 */
static __noinline void kt_task_seen_btf(struct task_struct *p)
{
	struct kt_task_sample task = {};

	if (!kt_sample_btf(p, &task))	/* untracked meanwhile */
		return;
	if (task.exiting == KT_EXIT_DEAD && p->on_cpu)
		task.exiting = KT_EXITING;
	kt_on_task_seen(0, &task);
}

/*
 * Where no program runs at context switches (see kt_on_task_seen): run by user space at every
 * drain; it lists the discovery scan's processes too.
 */
SEC("iter/task")
int kt_task_iter(struct bpf_iter__task *ctx)
{
	struct task_struct *p = ctx->task;

	if (!p)
		return 0;
	if (scan_wanted && p->pid == p->tgid)
		kt_list_for_scan(ctx->meta->seq, p);
	if (kt_is_tracked(p->tgid))
		kt_task_seen_btf(p);
	return 0;
}

SEC("tp_btf/sched_process_free")
int BPF_PROG(kt_sched_process_free, struct task_struct *p)
{
	struct kt_task_sample task = {};

	if (!kt_sample_btf(p, &task))
		return 0;
	task.exiting = KT_EXIT_DEAD;
	kt_on_task_seen(0, &task);
	return 0;
}

/* raw_tp twins: untyped pointers, read with CO-RE probe reads. */

static __noinline void kt_switch_tracked_core(struct task_struct *prev, struct task_struct *next)
{
	struct kt_task_sample p = {}, n = {};

	kt_sample_core(prev, &p);
	kt_sample_core(next, &n);
	kt_on_switch(0, &p, &n, NULL);
}

SEC("raw_tp/sched_switch")
int BPF_PROG(kt_sched_switch_raw, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	if (kt_is_tracked(BPF_CORE_READ(prev, tgid)) || kt_is_tracked(BPF_CORE_READ(next, tgid)))
		kt_switch_tracked_core(prev, next);
	return 0;
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(kt_sched_wakeup_raw, struct task_struct *p)
{
	kt_on_wakeup(0, BPF_CORE_READ(p, pid), BPF_CORE_READ(p, tgid));
	return 0;
}

SEC("raw_tp/sched_wakeup_new")
int BPF_PROG(kt_sched_wakeup_new_raw, struct task_struct *p)
{
	kt_on_wakeup(0, BPF_CORE_READ(p, pid), BPF_CORE_READ(p, tgid));
	return 0;
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(kt_sched_process_exit_raw, struct task_struct *p)
{
	struct kt_task_sample task = {};

	kt_sample_core(p, &task);
	kt_on_exit(0, &task, kt_group_dead(p));
	return 0;
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(kt_sched_process_exec_raw, struct task_struct *p)
{
	struct kt_task_sample task = {};

	kt_sample_core(p, &task);
	kt_exec(&task);
	return 0;
}

SEC("raw_tp/task_rename")
int BPF_PROG(kt_task_rename_raw, struct task_struct *p, const char *comm)
{
	kt_on_rename(BPF_CORE_READ(p, pid));
	return 0;
}

/* Block: bios queued by a tracked VM's threads, and the completion of their requests. */
#define KT_REQ_OP_MASK	0xff	/* REQ_OP_BITS = 8 */

/*
 * Out of line: its frame (a thread entry) is over 64 bytes, for which the verifier gives the
 * program a private per-CPU stack, and its first touch, a cache miss, cost every bio of the
 * host ~80 ns in the hook. The hook itself keeps a few bytes on the kernel stack.
 */
static __noinline void kt_queue_tracked_bio(__u64 bio, __u64 id, bool write)
{
	/* A load, not a probe read: the task pointer is trusted (one helper call less). */
	__u64 start_ns = bpf_get_current_task_btf()->start_time;

	kt_on_bio_queue(0, (__u32)id, id >> 32, start_ns, bio, write);
}

static __always_inline void kt_queue_bio(__u64 bio, __u32 opf)
{
	__u32 op = opf & KT_REQ_OP_MASK;
	__u64 id;

	/*
	 * Reads and writes only: flushes, discards and the like move no data. The op first: it is
	 * in the bio at hand, where the submitter costs a helper call.
	 */
	if (op != REQ_OP_READ && op != REQ_OP_WRITE)
		return;
	id = bpf_get_current_pid_tgid();
	if (kt_is_tracked(id >> 32))
		kt_queue_tracked_bio(bio, id, op == REQ_OP_WRITE);
}

SEC("tp_btf/block_bio_queue")
int BPF_PROG(kt_bio_queue, struct bio *bio)
{
	kt_queue_bio((__u64)bio, bio->bi_opf);
	return 0;
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(kt_rq_complete, struct request *rq)
{
	kt_on_rq_complete(0, (__u64)rq->bio);
	return 0;
}

SEC("raw_tp/block_bio_queue")
int BPF_PROG(kt_bio_queue_raw, struct bio *bio)
{
	kt_queue_bio((__u64)bio, BPF_CORE_READ(bio, bi_opf));
	return 0;
}

SEC("raw_tp/block_rq_complete")
int BPF_PROG(kt_rq_complete_raw, struct request *rq)
{
	kt_on_rq_complete(0, (__u64)BPF_CORE_READ(rq, bio));
	return 0;
}

/*
 * Network: frames the host transmits on a tap go to the guest; frames received from a tap come
 * from it. At receive the Ethernet header is already pulled: count it back, as the tap does.
 */
static __always_inline __u64 kt_frame_len_btf(const struct sk_buff *skb)
{
	return skb->len + ((__u64)skb->data - (__u64)skb->head - skb->mac_header);
}

static __always_inline __u64 kt_frame_len_core(const struct sk_buff *skb)
{
	__u64 data = (__u64)BPF_CORE_READ(skb, data), head = (__u64)BPF_CORE_READ(skb, head);

	return BPF_CORE_READ(skb, len) + (data - head - BPF_CORE_READ(skb, mac_header));
}

SEC("tp_btf/net_dev_start_xmit")
int BPF_PROG(kt_net_xmit, const struct sk_buff *skb, const struct net_device *dev)
{
	kt_on_net(dev->ifindex, skb->len, true);
	return 0;
}

SEC("tp_btf/netif_receive_skb")
int BPF_PROG(kt_net_receive, struct sk_buff *skb)
{
	__u32 ifindex = skb->dev->ifindex;

	/* The frame's length only for a tap's frames: its fields are on other cache lines. */
	if (bpf_map_lookup_elem(&ifaces, &ifindex))
		kt_on_net(ifindex, kt_frame_len_btf(skb), false);
	return 0;
}

SEC("raw_tp/net_dev_start_xmit")
int BPF_PROG(kt_net_xmit_raw, const struct sk_buff *skb, const struct net_device *dev)
{
	kt_on_net(BPF_CORE_READ(dev, ifindex), BPF_CORE_READ(skb, len), true);
	return 0;
}

SEC("raw_tp/netif_receive_skb")
int BPF_PROG(kt_net_receive_raw, struct sk_buff *skb)
{
	__u32 ifindex = BPF_CORE_READ(skb, dev, ifindex);

	if (bpf_map_lookup_elem(&ifaces, &ifindex))
		kt_on_net(ifindex, kt_frame_len_core(skb), false);
	return 0;
}

/*
 * KVM: classic tracepoints, because the exit reason is only in the trace record (the tp_btf
 * arguments carry it no longer since Linux 5.7), and the record's layout is the same on kernels
 * whose TP_PROTO changed. The loader disables these when kvm is absent.
 */

SEC("tracepoint/kvm/kvm_entry")
int kt_kvm_entry(struct trace_event_raw_kvm_entry *ctx)
{
	kt_kvm_entry_hook(ctx->vcpu_id);
	return 0;
}

SEC("tracepoint/kvm/kvm_exit")
int kt_kvm_exit(struct trace_event_raw_kvm_exit *ctx)
{
	kt_kvm_exit_hook(ctx->isa, ctx->exit_reason);
	return 0;
}

/*
 * The sampler: a per-CPU cpu-clock event at --sample-hz; see kt_on_sample. Two twins tell
 * softirq apart differently; the loader autoloads one. Where the preempt count is a per-CPU
 * variable the kernel can name (x86 up to 6.1 and since 6.15, with CONFIG_KALLSYMS_ALL), it
 * says at no cost; elsewhere the network softirqs' entry and exit set a per-CPU flag.
 */
extern const int __preempt_count __ksym __weak;

static __always_inline void kt_sample_task(struct bpf_perf_event_data *ctx, bool in_softirq)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 id = bpf_get_current_pid_tgid();
	char comm[TASK_COMM_LEN];

	bpf_get_current_comm(comm, sizeof(comm));
	kt_on_sample((__u32)id, id >> 32, task->start_time, kt_in_kvm_run(task),
		     PT_REGS_IP(&ctx->regs), in_softirq, task->flags & KT_PF_KTHREAD, comm, ctx,
		     NULL, 0);
}

SEC("perf_event")
int kt_sample(struct bpf_perf_event_data *ctx)
{
	kt_sample_task(ctx, *(const int *)bpf_this_cpu_ptr(&__preempt_count) & KT_SOFTIRQ_OFFSET);
	return 0;
}

SEC("perf_event")
int kt_sample_softirq_flag(struct bpf_perf_event_data *ctx)
{
	__u32 zero = 0, *flag = bpf_map_lookup_elem(&in_net_softirq, &zero);

	kt_sample_task(ctx, flag && *flag);
	return 0;
}

SEC("tp_btf/softirq_entry")
int BPF_PROG(kt_softirq_entry, unsigned int vec_nr)
{
	kt_on_softirq(vec_nr, true);
	return 0;
}

SEC("tp_btf/softirq_exit")
int BPF_PROG(kt_softirq_exit, unsigned int vec_nr)
{
	kt_on_softirq(vec_nr, false);
	return 0;
}

SEC("raw_tp/softirq_entry")
int BPF_PROG(kt_softirq_entry_raw, unsigned int vec_nr)
{
	kt_on_softirq(vec_nr, true);
	return 0;
}

SEC("raw_tp/softirq_exit")
int BPF_PROG(kt_softirq_exit_raw, unsigned int vec_nr)
{
	kt_on_softirq(vec_nr, false);
	return 0;
}

/* Run by user space on each CPU (BPF_PROG_TEST_RUN with a CPU): see kt_on_cpu_flush. */
SEC("raw_tp")
int kt_cpu_flush(void *ctx)
{
	struct kt_task_sample cur = {};

	if (kt_sample_btf(bpf_get_current_task_btf(), &cur))
		kt_on_cpu_flush(0, &cur, NULL);
	return 0;
}

/* Run by user space (BPF_PROG_TEST_RUN) to track a process found by its scan or given with -p. */
SEC("syscall")
int kt_add_vm(struct kt_add_vm_args *args)
{
	__u32 how = KT_VM_BY_USER | (args->from_birth ? KT_VM_FROM_BIRTH : 0);
	char comm[KT_COMM_LEN];
	struct kt_vm *vm;

	/* On the stack: the context is read at fixed offsets only. */
	__builtin_memcpy(comm, args->comm, sizeof(comm));
	vm = kt_track_vm(args->tgid, bpf_ktime_get_ns(), how, comm);

	args->birth_ns = vm ? vm->birth_ns : 0;
	return vm ? 0 : 1;
}

/* Run by user space for a tracked process found gone whose exit we never saw (it ended while
 * being added): retires it like an exit would, so it gets its last row. */
SEC("syscall")
int kt_remove_vm(struct kt_add_vm_args *args)
{
	__u32 tgid = args->tgid;	/* map keys must be on the stack, not in the context */
	struct kt_vm *vm = bpf_map_lookup_elem(&vms, &tgid);

	if (vm)
		kt_retire_vm(bpf_ktime_get_ns(), tgid, vm);
	return 0;
}
