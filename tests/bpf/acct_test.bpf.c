// SPDX-License-Identifier: GPL-2.0
/*
 * Test entry points for BPF_PROG_TEST_RUN: each takes an event's time and IDs as raw_tp
 * arguments and calls the same accounting helper as the real hook in bpf/kvmtrace.bpf.c.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "kvmtrace.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* A thread as a hook reads it where the kernel keeps no run delay and no I/O counters. */
static __always_inline struct kt_task_sample kt_task(__u64 tid, __u64 tgid, __u64 exec)
{
	struct kt_task_sample task = {
		.tid = tid, .tgid = tgid, .exec_ns = exec, .run_delay_ns = KT_NO_RUN_DELAY,
		.io_read_bytes = KT_NO_COUNTER, .io_write_bytes = KT_NO_COUNTER,
	};

	return task;
}

/* prev leaves its CPU to the idle task. */
static __always_inline void kt_switch_to_idle(__u64 now, struct kt_task_sample *prev)
{
	struct kt_task_sample idle = { .tid = 0, .tgid = 0 };

	kt_on_switch(now, prev, &idle, NULL);
}

/* A switch as the real hook takes it: lean (switch_lean) or with every figure. */
static __always_inline void kt_switch_as_hooked(__u64 now, const struct kt_task_sample *p,
						const struct kt_task_sample *n,
						const struct kt_readings *r)
{
	struct kt_switch_task lp = {
		.tid = p->tid, .tgid = p->tgid, .exec_ns = p->exec_ns, .exiting = p->exiting,
	};
	struct kt_switch_task ln = { .tid = n->tid, .tgid = n->tgid, .exec_ns = n->exec_ns };

	if (switch_lean)
		kt_on_switch_lean(now, &lp, &ln, r);
	else
		kt_on_switch(now, p, n, r);
}

SEC("raw_tp")
int BPF_PROG(t_switch, __u64 now, __u64 prev_tid, __u64 prev_tgid, __u64 prev_runnable,
	     __u64 prev_exec, __u64 prev_delay, __u64 next_tid, __u64 next_tgid, __u64 next_exec,
	     __u64 next_delay)
{
	struct kt_task_sample p = kt_task(prev_tid, prev_tgid, prev_exec);
	struct kt_task_sample n = kt_task(next_tid, next_tgid, next_exec);

	p.runnable = prev_runnable;
	p.run_delay_ns = prev_delay;
	n.run_delay_ns = next_delay;
	kt_switch_as_hooked(now, &p, &n, NULL);
	return 0;
}

SEC("raw_tp")
int BPF_PROG(t_wakeup, __u64 now, __u64 tid, __u64 tgid)
{
	kt_on_wakeup(now, tid, tgid);
	return 0;
}

/* What the drain's flush does first: the CPU's live vCPU gives its exits back to its entry. */
SEC("raw_tp")
int BPF_PROG(t_give_back)
{
	struct kt_vcpu_live *live = kt_live_slot();

	if (live)
		kt_vcpu_give_back(live);
	return 0;
}

SEC("raw_tp")
int BPF_PROG(t_kvm_entry, __u64 now, __u64 tid, __u64 tgid, __u64 vcpu_id)
{
	kt_on_kvm_entry(now, tid, tgid, vcpu_id, NULL);
	return 0;
}

SEC("raw_tp")
int BPF_PROG(t_kvm_exit, __u64 now, __u64 tid, __u64 tgid, __u64 isa, __u64 reason)
{
	kt_on_kvm_exit(now, tid, tgid, isa, reason, NULL);
	return 0;
}

SEC("raw_tp")
int BPF_PROG(t_exit, __u64 now, __u64 tid, __u64 tgid, __u64 exec, __u64 group_dead)
{
	struct kt_task_sample task = kt_task(tid, tgid, exec);

	kt_on_exit(now, &task, group_dead);
	return 0;
}

/* The exit of a thread born at start, which no hook has seen before. */
SEC("raw_tp")
int BPF_PROG(t_exit_born, __u64 now, __u64 tid, __u64 tgid, __u64 exec, __u64 start,
	     __u64 group_dead)
{
	struct kt_task_sample task = kt_task(tid, tgid, exec);

	task.start_ns = start;
	kt_on_exit(now, &task, group_dead);
	return 0;
}

/* The new comm arrives as two u64 arguments (16 bytes). */
SEC("raw_tp")
int BPF_PROG(t_exec, __u64 now, __u64 tid, __u64 tgid, __u64 exec, __u64 comm_lo,
	     __u64 comm_hi)
{
	struct kt_task_sample task = kt_task(tid, tgid, exec);
	__u64 comm[2] = { comm_lo, comm_hi };

	kt_on_exec(now, &task, (const char *)comm);
	return 0;
}

/* An exiting thread (PF_EXITING) leaves its CPU; its kernel on-CPU counter follows the clock. */
SEC("raw_tp")
int BPF_PROG(t_switch_out_exiting, __u64 now, __u64 tid, __u64 tgid)
{
	struct kt_task_sample p = kt_task(tid, tgid, now);

	p.exiting = KT_EXITING;
	kt_switch_to_idle(now, &p);
	return 0;
}

/* An exited thread (TASK_DEAD) leaves its CPU for the last time. */
SEC("raw_tp")
int BPF_PROG(t_switch_out_dead, __u64 now, __u64 tid, __u64 tgid, __u64 exec)
{
	struct kt_task_sample p = kt_task(tid, tgid, exec);

	p.exiting = KT_EXIT_DEAD;
	kt_switch_to_idle(now, &p);
	return 0;
}

/* A sched_switch-out that reads the kernel's I/O counters of the thread. */
SEC("raw_tp")
int BPF_PROG(t_switch_io, __u64 now, __u64 tid, __u64 tgid, __u64 exec, __u64 read_bytes,
	     __u64 write_bytes)
{
	struct kt_task_sample p = kt_task(tid, tgid, exec);

	p.io_read_bytes = read_bytes;
	p.io_write_bytes = write_bytes;
	kt_switch_to_idle(now, &p);
	return 0;
}

/* The task iterator reads a thread born at start (0: unknown), exiting as enum kt_exiting says. */
SEC("raw_tp")
int BPF_PROG(t_task_seen, __u64 now, __u64 tid, __u64 tgid, __u64 exec, __u64 start,
	     __u64 exiting)
{
	struct kt_task_sample task = kt_task(tid, tgid, exec);

	task.start_ns = start;
	task.exiting = exiting;
	kt_on_task_seen(now, &task);
	return 0;
}

/* sched_process_free: the thread's final figures. */
SEC("raw_tp")
int BPF_PROG(t_task_free, __u64 now, __u64 tid, __u64 tgid, __u64 exec)
{
	struct kt_task_sample task = kt_task(tid, tgid, exec);

	task.exiting = KT_EXIT_DEAD;
	kt_on_task_seen(now, &task);
	return 0;
}

SEC("raw_tp")
int BPF_PROG(t_bio_queue, __u64 now, __u64 tid, __u64 tgid, __u64 bio, __u64 write)
{
	kt_on_bio_queue(now, tid, tgid, 0, bio, write);
	return 0;
}

SEC("raw_tp")
int BPF_PROG(t_rq_complete, __u64 now, __u64 bio)
{
	kt_on_rq_complete(now, bio);
	return 0;
}

SEC("raw_tp")
int BPF_PROG(t_set_tracked, __u64 tgid, __u64 on)
{
	kt_set_tracked(tgid, on);
	return 0;
}

SEC("raw_tp")
int BPF_PROG(t_is_tracked, __u64 tgid)
{
	return kt_is_tracked(tgid);
}

SEC("raw_tp")
int BPF_PROG(t_add_vm, __u64 now, __u64 tgid)
{
	return kt_track_vm(tgid, now, KT_VM_BY_USER, NULL) ? 0 : 1;
}

/* Room for synthetic readings (too big for the stack beside a switch's state). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct kt_readings);
} fake_readings SEC(".maps");

/* Synthetic readings of two counters that were enabled and running for the given times. */
static __always_inline struct kt_readings *kt_fake_readings(__u64 c0, __u64 c1, __u64 enabled,
							    __u64 running)
{
	__u32 zero = 0;
	struct kt_readings *r = bpf_map_lookup_elem(&fake_readings, &zero);

	if (!r)
		return NULL;
	r->v[0].counter = c0;
	r->v[1].counter = c1;
	r->v[0].enabled = r->v[1].enabled = enabled;
	r->v[0].running = r->v[1].running = running;
	return r;
}

/* A sched_switch with counter readings and the threads' kernel runtimes. */
SEC("raw_tp")
int BPF_PROG(t_switch_counted, __u64 now, __u64 prev_tid, __u64 prev_tgid, __u64 prev_exec,
	     __u64 next_tid, __u64 next_tgid, __u64 next_exec, __u64 c0, __u64 c1, __u64 enabled,
	     __u64 running)
{
	struct kt_task_sample p = kt_task(prev_tid, prev_tgid, prev_exec);
	struct kt_task_sample n = kt_task(next_tid, next_tgid, next_exec);
	struct kt_readings *r = kt_fake_readings(c0, c1, enabled, running);

	if (r)
		kt_switch_as_hooked(now, &p, &n, r);
	return 0;
}

/* A kvm_entry (is_exit 0) or a kvm_exit (1: an external interrupt, VMX) with counter readings. */
SEC("raw_tp")
int BPF_PROG(t_kvm_counted, __u64 tid, __u64 tgid, __u64 is_exit, __u64 c0, __u64 c1,
	     __u64 enabled, __u64 running)
{
	struct kt_readings *r = kt_fake_readings(c0, c1, enabled, running);

	if (!r)
		return 0;
	if (is_exit)
		kt_on_kvm_exit(1, tid, tgid, 1, 1, r);
	else
		kt_on_kvm_entry(1, tid, tgid, 0, r);
	return 0;
}

/* A drain's flush on a CPU where tid runs; its kernel on-CPU counter follows the clock. */
SEC("raw_tp")
int BPF_PROG(t_cpu_flush, __u64 now, __u64 tid, __u64 tgid, __u64 c0, __u64 c1)
{
	struct kt_task_sample cur = kt_task(tid, tgid, now);
	struct kt_readings *r = kt_fake_readings(c0, c1, c0, c0);

	if (r)
		kt_on_cpu_flush(now, &cur, r);
	return 0;
}

/* A sampler hit with its two callers; the thread's name arrives as two u64 arguments. */
SEC("raw_tp")
int BPF_PROG(t_sample, __u64 tid, __u64 tgid, __u64 in_kvm_run, __u64 ip, __u64 in_softirq,
	     __u64 kthread, __u64 comm_lo, __u64 comm_hi, __u64 caller, __u64 caller2)
{
	__u64 comm[2] = { comm_lo, comm_hi };
	__u64 stack[3] = { ip, caller, caller2 };

	kt_on_sample(tid, tgid, 0, in_kvm_run, ip, in_softirq, kthread, (const char *)comm, ctx,
		     stack, 3);
	return 0;
}
