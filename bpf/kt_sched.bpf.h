/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Scheduler accounting: the kernel's own per-task counters (runtime, run delay, I/O bytes, guest
 * time) taken at sched_switch, sched_wakeup, sched_process_exit and _exec and at the drain's
 * flush, or, where nothing needs a program at context switches, by a task iterator at the drain
 * and at sched_process_exit, _exec and _free; a VM found by exec, retired with its last thread.
 */
#ifndef KT_SCHED_BPF_H
#define KT_SCHED_BPF_H

#include "kt_counters.bpf.h"
#include "kt_kvm.bpf.h"
#include "kt_maps.bpf.h"

/*
 * Advances a cumulative kernel counter: adds its growth since the last reading to *sum. The
 * task iterator reads a thread from another CPU while the thread's own exit hook may read it
 * too: *seen only moves forward, by compare-and-swap, and each step of it is added once.
 */
static __always_inline void kt_take_counter(__u64 *seen, __u64 cur, __u64 *sum)
{
	__u64 old = *seen, was;
	int i;

	if (cur == KT_NO_COUNTER)
		return;
	for (i = 0; i < 4; i++) {
		if (old != KT_NO_COUNTER && cur <= old)
			return;
		was = __sync_val_compare_and_swap(seen, old, cur);
		if (was == old) {
			if (old != KT_NO_COUNTER)
				__sync_fetch_and_add(sum, cur - old);
			return;
		}
		old = was;
	}
	/* Not lost: the next reading takes the growth from where *seen is. */
	kt_count_drop(KT_DROP_READING_RACE);
}

/*
 * Run delay from the kernel's own counter where it keeps one: the wait before a slice is added
 * to it when the slice starts, just after sched_switch, so each reading adds the waits since the
 * last one. The first reading only sets the baseline.
 */
static __always_inline void kt_take_run_delay(struct kt_thread *t, __u64 run_delay_ns)
{
	kt_take_counter(&t->run_delay_seen, run_delay_ns, &t->sum.run_delay_ns);
}

/* Disk bytes as the kernel's per-task I/O accounting charges them: reads when submitted,
 * writes when the pages are dirtied (or submitted, for direct I/O), by whichever thread. */
static __always_inline void kt_take_io(struct kt_thread *t, const struct kt_task_sample *s)
{
	kt_take_counter(&t->io_read_seen, s->io_read_bytes, &t->sum.disk_read_bytes);
	kt_take_counter(&t->io_write_seen, s->io_write_bytes, &t->sum.disk_write_bytes);
}

/*
 * Guest, user and system time as the kernel charges them; a thread it charges guest time is a
 * vCPU by what it does, and one seen inside KVM_RUN says which vCPU it runs.
 */
static __always_inline void kt_take_gtime(struct kt_thread *t, const struct kt_task_sample *s)
{
	__u64 before = t->sum.kernel_guest_ns;

	kt_take_counter(&t->gtime_seen, s->guest_ns, &t->sum.kernel_guest_ns);
	kt_take_counter(&t->utime_seen, s->utime_ns, &t->sum.user_ns);
	kt_take_counter(&t->stime_seen, s->stime_ns, &t->sum.system_ns);
	/* Atomic: the thread's exit hook may set its own flag at the same time. */
	if (t->sum.kernel_guest_ns > before && !(t->flags & KT_THREAD_GUEST_TIME))
		__sync_fetch_and_or(&t->flags, KT_THREAD_GUEST_TIME);
	kt_note_kvm_run(t, s->in_kvm_run);
}

/*
 * Set by user space where the task iterator reads the scheduler figures and sched_switch is
 * hooked all the same (kvm hooks, perf counters): the switch then keeps only what no kernel
 * counter gives (kt_on_switch_lean); switch_exits, with the kvm hooks: exits' handling too.
 */
bool switch_lean;
bool switch_exits;

/*
 * Run by user space on each CPU at every drain (BPF_PROG_TEST_RUN interrupts the CPU), for the
 * tracked thread running there: its runtime, guest time and counters are taken up to now, so a
 * vCPU that holds its CPU for a whole interval is not charged all at once when it leaves, and a
 * slice that began before tracking is counted from now on. The kernel's runtime of a running
 * thread lags by less than a tick; the next reading gives that back. A clock since the slice
 * began would not do: it also counts time the thread was off CPU when a switch went unseen.
 * With switch_lean only its counters (and the live vCPU's exits): the task iterator reads the
 * rest.
 */
static __always_inline void kt_on_cpu_flush(__u64 now, const struct kt_task_sample *cur,
					    const struct kt_readings *fake)
{
	struct kt_vcpu_live *live = kt_live_slot();
	struct kt_thread *t;

	if (live)	/* the vCPU's figures into its entry, for the drain to read */
		kt_vcpu_give_back(live);
	if (!kt_is_tracked(cur->tgid) || cur->exiting)
		return;
	t = kt_sampled_thread(cur);
	if (!t)
		return;
	now = kt_now(now);
	if (!switch_lean) {
		if (t->exec_seen != KT_NO_COUNTER && cur->exec_ns > t->exec_seen)
			t->sum.on_cpu_ns += cur->exec_ns - t->exec_seen;
		t->exec_seen = cur->exec_ns;
		if (!t->oncpu_since)
			t->oncpu_since = now;
		kt_take_gtime(t, cur);
	}
	kt_counters_take(fake, t, cur->tid, kt_open_entry(cur->tid) != NULL, cur->tid, now, 0);
}

static __always_inline void kt_fold_totals(struct kt_totals *into, const struct kt_totals *from)
{
	/* Threads of one VM exit on several CPUs at once. */
	__sync_fetch_and_add(&into->on_cpu_ns, from->on_cpu_ns);
	__sync_fetch_and_add(&into->guest_ns, from->guest_ns);
	__sync_fetch_and_add(&into->kernel_guest_ns, from->kernel_guest_ns);
	__sync_fetch_and_add(&into->run_delay_ns, from->run_delay_ns);
	__sync_fetch_and_add(&into->exits, from->exits);
	__sync_fetch_and_add(&into->exit_handling_ns, from->exit_handling_ns);
	__sync_fetch_and_add(&into->exit_handling_cpu_ns, from->exit_handling_cpu_ns);
	__sync_fetch_and_add(&into->exit_wait_ns, from->exit_wait_ns);
	__sync_fetch_and_add(&into->disk_read_bytes, from->disk_read_bytes);
	__sync_fetch_and_add(&into->disk_write_bytes, from->disk_write_bytes);
	__sync_fetch_and_add(&into->disk_read_ops, from->disk_read_ops);
	__sync_fetch_and_add(&into->disk_write_ops, from->disk_write_ops);
	__sync_fetch_and_add(&into->user_ns, from->user_ns);
	__sync_fetch_and_add(&into->system_ns, from->system_ns);
}

/* The VM's process is gone: park its record for its last row and free its tgid. */
static __always_inline void kt_retire_vm(__u64 now, __u32 tgid, struct kt_vm *vm)
{
	struct kt_vm_key key = { .tgid = tgid, .birth_ns = vm->birth_ns };

	if (!vm->death_ns)
		vm->death_ns = now;
	if (bpf_map_update_elem(&dead_vms, &key, vm, BPF_ANY))
		kt_count_drop(KT_DROP_DEAD_FULL);
	bpf_map_delete_elem(&vms, &tgid);
	kt_set_tracked(tgid, false);
}

/*
 * A thread's figures are final: they move to its VM's exited sum, and its entry stays, marked,
 * for its vCPU row's last interval (user space deletes it once drained). The last entry of a VM
 * whose process has ended retires it, whichever CPU gets there last.
 */
static __always_inline void kt_thread_done(__u64 now, __u32 tid, struct kt_thread *t)
{
	__u32 tgid = t->tgid;
	struct kt_vm *vm = bpf_map_lookup_elem(&vms, &tgid);

	if (!vm || vm->birth_ns != t->vm_birth_ns) {
		bpf_map_delete_elem(&threads, &tid);
		return;
	}
	kt_exit_runs_done(t);
	kt_fold_totals(&vm->exited, &t->sum);
	__sync_fetch_and_or(&t->flags, KT_THREAD_FOLDED);
	if (__sync_fetch_and_add(&vm->nr_threads, -1) == 1 && (vm->flags & KT_VM_GROUP_DEAD))
		kt_retire_vm(now, tgid, vm);
}

/*
 * The entry of a thread a hook has read. An exiting thread's readings (exit can sleep) never
 * make one: one it has is settled as any, and folded at its final switch-out or freeing.
 */
static __always_inline struct kt_thread *kt_reading_thread_of(__u32 tid, __u32 tgid,
							    __u64 start_ns, bool exiting)
{
	struct kt_thread *t;

	if (!exiting)
		return kt_thread_of(tid, tgid, start_ns);
	t = bpf_map_lookup_elem(&threads, &tid);
	if (!t || t->tgid != tgid || (t->flags & KT_THREAD_FOLDED))
		return NULL;
	return t;
}

static __always_inline struct kt_thread *kt_reading_thread(const struct kt_task_sample *s)
{
	return kt_reading_thread_of(s->tid, s->tgid, s->start_ns, s->exiting);
}

/*
 * A tracked thread leaves its CPU. A vCPU cannot leave it in guest mode: an entry still open
 * means a missed kvm_exit; its guest interval is dropped, and the entry still ended the handling
 * before it. A pending exit's handling leaves the CPU, and waits until the thread is back.
 */
static __always_inline void kt_exit_leaves_cpu(__u64 now, struct kt_thread *t, __u32 tid)
{
	kt_vcpu_leaves(tid);
	if (kt_take_thread_entry(t, tid))
		kt_count_drop(KT_DROP_OPEN_GUEST);
	if (t->kvm.exit_since) {
		if (t->kvm.handling_since)
			t->sum.exit_handling_cpu_ns += now - t->kvm.handling_since;
		t->kvm.handling_since = 0;
		t->waiting_since = now;
	}
}

/* ... and is back: the pending exit's wait ends and its handling goes on. */
static __always_inline void kt_exit_regains_cpu(__u64 now, struct kt_thread *t)
{
	if (t->waiting_since && t->kvm.exit_since)
		t->sum.exit_wait_ns += now - t->waiting_since;
	t->waiting_since = 0;
	if (t->kvm.exit_since)
		t->kvm.handling_since = now;
}

/*
 * Returns whether it took the counters' reading, the base for next_tid from here (0: none, or
 * the next thread takes its own).
 */
static __always_inline bool kt_switch_out(__u64 now, const struct kt_task_sample *prev,
					  __u32 next_tid, const struct kt_readings *fake)
{
	struct kt_thread *t;
	__u64 slice = 0;

	t = kt_reading_thread(prev);
	if (!t)
		return false;
	/*
	 * The kernel's own account of the slice, so figures match schedstat, cgroups and libvirt
	 * to the ns: its runtime grows only while the thread runs, so its growth since the last
	 * reading is this slice even when its switch-in went unreported. Unknown before the first
	 * reading (a slice that began before we attached): nothing is counted.
	 */
	if (t->exec_seen != KT_NO_COUNTER && prev->exec_ns > t->exec_seen)
		slice = prev->exec_ns - t->exec_seen;
	t->sum.on_cpu_ns += slice;
	t->exec_seen = prev->exec_ns;
	t->oncpu_since = 0;
	kt_exit_leaves_cpu(now, t, prev->tid);
	kt_counters_take(fake, t, prev->tid, false, next_tid, now, slice);
	kt_take_io(t, prev);
	kt_take_gtime(t, prev);
	if (prev->run_delay_ns != KT_NO_RUN_DELAY)
		kt_take_run_delay(t, prev->run_delay_ns);
	else	/* Preempted threads wait for a CPU from now on; sleeping ones wait for a wakeup. */
		t->runnable_since = prev->runnable ? now : 0;
	if (prev->exiting == KT_EXIT_DEAD)
		kt_thread_done(now, prev->tid, t);
	return true;
}

/* counted: the switch-out took the counters' reading for this thread already. */
static __always_inline void kt_switch_in(__u64 now, const struct kt_task_sample *next,
					 bool counted, const struct kt_readings *fake)
{
	struct kt_thread *t = kt_sampled_thread(next);

	if (!t)
		return;
	if (!counted)
		kt_counters_take(fake, NULL, 0, false, next->tid, now, 0);
	if (next->run_delay_ns != KT_NO_RUN_DELAY) {
		kt_take_run_delay(t, next->run_delay_ns);
	} else if (t->runnable_since) {
		t->sum.run_delay_ns += now - t->runnable_since;
		t->runnable_since = 0;
	}
	kt_take_io(t, next);
	kt_take_gtime(t, next);
	t->oncpu_since = now;
	kt_exit_regains_cpu(now, t);
	/* Counted from its birth and not read yet: what it ran before is the VM's too. */
	if (!t->exec_seen)
		t->sum.on_cpu_ns += next->exec_ns;
	t->exec_seen = next->exec_ns;	/* what it was at the last switch-out, if we saw one */
}

/*
 * sched_switch: prev leaves the CPU, next gets it. fake: synthetic counter readings (tests).
 * Between two tracked threads one reading of the counters ends prev's share and begins next's.
 */
static __always_inline void kt_on_switch(__u64 now, const struct kt_task_sample *prev,
					 const struct kt_task_sample *next,
					 const struct kt_readings *fake)
{
	bool next_tracked = kt_is_tracked(next->tgid), counted = false;

	if (kt_is_tracked(prev->tgid)) {
		now = kt_now(now);
		counted = kt_switch_out(now, prev, next_tracked ? next->tid : 0, fake);
	}
	if (next_tracked)
		kt_switch_in(kt_now(now), next, counted, fake);
}

/* What the lean sched_switch reads of a task. */
struct kt_switch_task {
	__u32 tid;
	__u32 tgid;
	__u64 start_ns;
	__u64 exec_ns;		/* the kernel's runtime */
	bool exiting;
};

/*
 * sched_switch with switch_lean: the perf counters' share of each slice of a tracked thread
 * and, with switch_exits, where a pending exit's handling leaves and regains the CPU. The
 * slice, the kernel's runtime since the thread's last switch-out (it grows only on the CPU), is
 * what clock counters charge when its switch-in went unseen (kt_counters_take).
 */
static __always_inline void kt_on_switch_lean(__u64 now, const struct kt_switch_task *prev,
					      const struct kt_switch_task *next,
					      const struct kt_readings *fake)
{
	bool next_tracked = kt_is_tracked(next->tgid), counted = false;
	struct kt_thread *t;
	__u64 slice = 0;

	now = kt_now(now);
	if (kt_is_tracked(prev->tgid)) {
		t = kt_reading_thread_of(prev->tid, prev->tgid, prev->start_ns, prev->exiting);
		if (t) {
			if (t->switch_exec_ns && prev->exec_ns > t->switch_exec_ns)
				slice = prev->exec_ns - t->switch_exec_ns;
			t->switch_exec_ns = prev->exec_ns;
			if (switch_exits)
				kt_exit_leaves_cpu(now, t, prev->tid);
			kt_counters_take(fake, t, prev->tid, false, next_tracked ? next->tid : 0,
					 now, slice);
			counted = true;
		}
	}
	if (!next_tracked)
		return;
	if (!counted)
		kt_counters_take(fake, NULL, 0, false, next->tid, now, 0);
	if (!switch_exits)
		return;
	t = kt_thread_of(next->tid, next->tgid, next->start_ns);
	if (t)
		kt_exit_regains_cpu(now, t);
}

/* sched_wakeup / sched_wakeup_new: the thread starts waiting for a CPU (attached only when the
 * kernel keeps no run_delay of its own). */
static __always_inline void kt_on_wakeup(__u64 now, __u32 tid, __u32 tgid)
{
	struct kt_thread *t;

	if (!kt_is_tracked(tgid))
		return;
	t = kt_tracked_thread(tid, tgid);
	/* A thread woken while still on its CPU is not waiting; switch-out settles its state. */
	if (t && !t->runnable_since && !t->oncpu_since)
		t->runnable_since = kt_now(now);
}

/* A thread's counters up to the reading: at its exit or exec, at its freeing, by the iterator. */
static __always_inline void kt_take_readings(struct kt_thread *t,
					     const struct kt_task_sample *task)
{
	kt_take_counter(&t->exec_seen, task->exec_ns, &t->sum.on_cpu_ns);
	kt_take_run_delay(t, task->run_delay_ns);
	kt_take_io(t, task);
	kt_take_gtime(t, task);
}

/*
 * sched_process_exit: the thread's figures are taken up to now and it is marked; its final
 * switch-out, after the rest of do_exit (the address space torn down among it), settles and
 * folds it. The last thread (group_dead) marks the VM, which its last entry's fold retires, so
 * that a process reusing the PID starts afresh, whatever order the threads' hooks run in.
 */
static __always_inline void kt_on_exit(__u64 now, const struct kt_task_sample *task,
				       bool group_dead)
{
	__u32 tgid = task->tgid;
	struct kt_thread *t;
	struct kt_vm *vm;

	if (!kt_is_tracked(tgid))
		return;
	vm = bpf_map_lookup_elem(&vms, &tgid);
	if (!vm)
		return;
	now = kt_now(now);
	/* Made here for a thread that began and ends between two task iterations. */
	t = kt_sampled_thread(task);
	if (t && t->vm_birth_ns == vm->birth_ns) {
		kt_take_readings(t, task);
		__sync_fetch_and_or(&t->flags, KT_THREAD_EXITED);
	}
	if (!group_dead)
		return;
	vm->death_ns = now;
	__sync_fetch_and_or(&vm->flags, KT_VM_GROUP_DEAD);
	/* No entry left to fold (its threads never ran while tracked): none would retire it. */
	if (!vm->nr_threads)
		kt_retire_vm(now, tgid, vm);
}

/* A tracked process that execs another program is no longer that VM: retired now. */
static __always_inline void kt_exec_retires(__u64 now, const struct kt_task_sample *task)
{
	__u32 tid = task->tid, tgid = task->tgid;
	struct kt_vm *vm = bpf_map_lookup_elem(&vms, &tgid);
	struct kt_thread *t = bpf_map_lookup_elem(&threads, &tid);

	if (!vm)
		return;
	vm->death_ns = now;
	__sync_fetch_and_or(&vm->flags, KT_VM_GROUP_DEAD);
	if (t && t->tgid == tgid && t->vm_birth_ns == vm->birth_ns &&
	    !(t->flags & KT_THREAD_FOLDED)) {
		kt_take_readings(t, task);
		kt_thread_done(now, tid, t);
	}
	/* de_thread has ended its other threads; any entry of theirs left goes with the VM. */
	vm = bpf_map_lookup_elem(&vms, &tgid);
	if (vm)
		kt_retire_vm(now, tgid, vm);
}

/*
 * Without a program at context switches, the task iterator run by user space at every drain
 * reads each tracked thread's counters (the kernel's runtime of a running thread lags by less
 * than a tick, as at the flush; the next reading gives it back). Its exit hook has marked an
 * exiting thread, which gets no new entry; one dead and off its CPU for good is settled and
 * folded: a group leader awaiting its reaping seen by the iterator, any thread at its freeing
 * (sched_process_free, an RCU grace period after its final switch-out and its release).
 */
static __always_inline void kt_on_task_seen(__u64 now, const struct kt_task_sample *task)
{
	struct kt_thread *t;

	if (!kt_is_tracked(task->tgid))
		return;
	t = kt_reading_thread(task);
	if (!t)
		return;
	kt_take_readings(t, task);
	if (task->exiting == KT_EXIT_DEAD)
		kt_thread_done(kt_now(now), task->tid, t);
}

/* A tracked thread renamed (prctl, a write to its comm file, exec): counted for user space. */
static __always_inline void kt_on_rename(__u32 tid)
{
	struct kt_thread *t = bpf_map_lookup_elem(&threads, &tid);

	if (t)
		__sync_fetch_and_add(&t->flags, KT_THREAD_RENAME_ONE);
}

static __always_inline bool kt_comm_is_vmm(const char *comm)
{
	const char prefixes[][TASK_COMM_LEN] = KT_VMM_COMM_PREFIXES;
	const char exact[][TASK_COMM_LEN] = KT_VMM_COMM_EXACT;
	unsigned int i;

	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (kt_comm_has_prefix(comm, prefixes[i], false))
			return true;
	for (i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
		if (kt_comm_has_prefix(comm, exact[i], true))
			return true;
	return false;
}

/*
 * Set by user space for the task iterations that list processes for its discovery scan
 * (scan_wanted): every process named as a VMM, and those begun after scan_after_ns
 * (CLOCK_BOOTTIME, the clock of /proc/PID/stat's start) but kernel threads, which hold no
 * descriptors. A superset of what the scan would look at in /proc: user space checks each
 * one as the scan does, without reading every process's stat at every interval.
 */
bool scan_wanted;
__u64 scan_after_ns;

/* Does the iterator list this task (a process when tid == tgid) for the scan? */
static __always_inline bool kt_scan_offers(__u32 tid, __u32 tgid, bool kthread, __u64 start_ns,
					   const char *comm)
{
	if (!scan_wanted || tid != tgid)
		return false;
	return (!kthread && start_ns > scan_after_ns) || kt_comm_is_vmm(comm);
}

/*
 * Keeps the arguments of the VMM the current task has just exec'd, VM incarnation birth_ns's:
 * exec has copied them onto its new stack, present in memory.
 */
static __always_inline void kt_keep_args(__u32 tgid, __u64 birth_ns)
{
	struct task_struct *current = (struct task_struct *)bpf_get_current_task();
	__u64 start = BPF_CORE_READ(current, mm, arg_start);
	__u64 len = BPF_CORE_READ(current, mm, arg_end) - start;
	const struct kt_vmm_args *blank;
	struct kt_vmm_args *a;
	__u32 zero = 0;

	blank = bpf_map_lookup_elem(&vmm_args_blank, &zero);
	if (!blank || bpf_map_update_elem(&vmm_args, &tgid, blank, BPF_ANY))
		return;
	a = bpf_map_lookup_elem(&vmm_args, &tgid);
	if (!a)
		return;
	if (len > sizeof(a->args))
		len = sizeof(a->args);
	if (bpf_probe_read_user(a->args, len, (const void *)start))
		return;
	a->len = len;
	a->birth_ns = birth_ns;
}

/*
 * sched_process_exec: a tracked process that execs another program is no longer that VM
 * (de_thread has already ended its other threads); a process that execs a VMM binary becomes
 * one, tracked from its first instruction. One user space tracked before it exec'd its first
 * VMM binary goes on as that VM: libvirt reports the child it forked for QEMU as the domain's
 * before the child execs QEMU.
 */
static __always_inline void kt_on_exec(__u64 now, const struct kt_task_sample *task,
				       const char *comm)
{
	bool vmm = discover && kt_comm_is_vmm(comm);
	__u32 tgid = task->tgid;
	struct kt_vm *vm;

	now = kt_now(now);
	if (kt_is_tracked(tgid)) {
		vm = bpf_map_lookup_elem(&vms, &tgid);
		if (vm && vmm && !(vm->flags & KT_VM_BY_NAME)) {
			__sync_fetch_and_or(&vm->flags, KT_VM_BY_NAME);
			kt_keep_args(tgid, vm->birth_ns);
			return;
		}
		kt_exec_retires(now, task);
	}
	if (!vmm)
		return;
	vm = kt_track_vm(tgid, now, KT_VM_BY_NAME, comm);
	if (vm && vm->birth_ns == now)
		kt_keep_args(tgid, now);
}

#endif /* KT_SCHED_BPF_H */
