/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Maps and accounting logic of kvmtrace-bpf. The real hooks (kvmtrace.bpf.c) and the BPF logic
 * tests (tests/bpf/) call these same __always_inline helpers with the event's time and IDs, so
 * the tests drive exactly the code that runs in production.
 *
 * Hot path: every handler first tests the tgid in the "tracked" bitmap (an array lookup the
 * verifier inlines); only events of tracked VMs touch the hash maps.
 */
#ifndef KVMTRACE_BPF_H
#define KVMTRACE_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "kvmtrace.h"

#define KT_E2BIG		7	/* errno of a full map (no errno.h for BPF) */
#define KT_TASK_RUNNING		0
#define KT_PF_EXITING		0x00000004	/* task_struct.flags */
#define KT_PF_KTHREAD		0x00200000
#define KT_SOFTIRQ_OFFSET	0x100		/* preempt count: serving a softirq */
#define KT_STACK_DEPTH		8		/* kernel frames a sample is classified by */

#define KT_PID_MAX_LIMIT	(4 * 1024 * 1024)	/* the kernel's PID_MAX_LIMIT on 64-bit */
#define KT_BITMAP_WORDS		(KT_PID_MAX_LIMIT / 64)

/* One bit per tgid: is this process a tracked VM? 512 KiB covers every possible PID. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, KT_BITMAP_WORDS);
	__type(key, __u32);
	__type(value, __u64);
} tracked SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KT_MAX_VMS);
	__type(key, __u32);
	__type(value, struct kt_vm);
} vms SEC(".maps");

/* VMs whose process ended, kept until user space has written their last row. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KT_MAX_DEAD_VMS);
	__type(key, struct kt_vm_key);
	__type(value, struct kt_vm);
} dead_vms SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KT_MAX_THREADS);
	__type(key, __u32);
	__type(value, struct kt_thread);
} threads SEC(".maps");

/* Per-CPU: vCPUs of one VM exit on many CPUs at once; no atomics, user space sums. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, KT_MAX_EXIT_KEYS);
	__type(key, struct kt_exit_key);
	__type(value, struct kt_exit_stat);
} exit_stats SEC(".maps");

/* Disk requests of tracked VMs in flight: bio -> who submitted it and when. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KT_MAX_BIOS);
	__type(key, __u64);
	__type(value, struct kt_bio);
} bios SEC(".maps");

/* ifindex -> the VM whose tap it is; filled by user space. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KT_MAX_IFACES);
	__type(key, __u32);
	__type(value, struct kt_iface);
} ifaces SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, KT_MAX_NET_KEYS);
	__type(key, struct kt_net_key);
	__type(value, struct kt_net_stat);
} net_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, KT_NR_DROPS);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

/*
 * Per-CPU perf counters opened by user space, counter i of CPU c in slot
 * c * KT_MAX_COUNTERS + i; the loader sizes the map to the machine.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
	__uint(max_entries, KT_MAX_COUNTERS);
} counters SEC(".maps");

/* The counters as last read on this CPU, and for which thread (0: none tracked). */
struct kt_counter_base {
	__u32 tid;
	__u32 pad;
	__u64 at_ns;		/* when they were read */
	struct bpf_perf_event_value v[KT_MAX_COUNTERS];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct kt_counter_base);
} counter_base SEC(".maps");

/* Counters and samples per VM incarnation, live and dead ones awaiting their last row. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, KT_MAX_VMS + KT_MAX_DEAD_VMS);
	__type(key, struct kt_vm_key);
	__type(value, struct kt_vm_percpu);
} vm_percpu SEC(".maps");

/* Never written: the zeroes a new vm_percpu entry starts from (too big for the stack). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct kt_vm_percpu);
} vm_percpu_zero SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct kt_shared_samples);
} shared_samples SEC(".maps");

/* Kernel text by component, sorted by start; user space fills unused slots with start ~0. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, KT_MAX_KSYM_RANGES);
	__type(key, __u32);
	__type(value, struct kt_ksym_range);
} ksym_ranges SEC(".maps");

/*
 * Where the preempt count cannot be read, a per-CPU flag set between softirq_entry and
 * softirq_exit of the network softirqs tells the sampler it interrupted network softirq.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} in_net_softirq SEC(".maps");

/* Track any process that enters guest mode or execs a VMM binary; false with -p. */
const volatile bool discover = true;
/* How many counters user space opened (slots 0..nr_counters-1 of each CPU). */
const volatile __u32 nr_counters;
/* Bit i: counter i counts ns of CPU time (cpu-clock, task-clock). */
const volatile __u32 clock_counters;

static __always_inline void kt_count_drop(enum kt_drop what)
{
	__u32 key = what;
	__u64 *slot = bpf_map_lookup_elem(&drops, &key);

	if (slot)
		(*slot)++;
}

static __always_inline bool kt_is_tracked(__u32 tgid)
{
	__u32 word = tgid / 64;
	__u64 *bits = bpf_map_lookup_elem(&tracked, &word);

	return bits && (*bits & (1ULL << (tgid % 64)));
}

static __always_inline void kt_set_tracked(__u32 tgid, bool on)
{
	__u32 word = tgid / 64;
	__u64 *bits = bpf_map_lookup_elem(&tracked, &word);
	__u64 bit = 1ULL << (tgid % 64);

	if (!bits)
		return;
	/* Atomic: neighbouring tgids share a word and change on other CPUs. */
	if (on)
		__sync_fetch_and_or(bits, bit);
	else
		__sync_fetch_and_and(bits, ~bit);
}

/* Starts tracking tgid (or adds a reason to an existing entry). */
static __always_inline struct kt_vm *kt_track_vm(__u32 tgid, __u64 now, __u32 how)
{
	struct kt_vm *vm = bpf_map_lookup_elem(&vms, &tgid);
	struct kt_vm fresh = {};

	if (vm) {
		vm->flags |= how;
		return vm;
	}
	fresh.birth_ns = now;
	fresh.flags = how;
	fresh.tgid = tgid;
	/* NOEXIST: another CPU may have won the race; then we use its entry. */
	if (bpf_map_update_elem(&vms, &tgid, &fresh, BPF_NOEXIST) == -KT_E2BIG) {
		kt_count_drop(KT_DROP_VM_FULL);
		return NULL;
	}
	kt_set_tracked(tgid, true);
	return bpf_map_lookup_elem(&vms, &tgid);
}

/* The thread's entry, created on first sight; a stale entry of a reused tid is reset. */
static __always_inline struct kt_thread *kt_thread_get(__u32 tid, __u32 tgid, struct kt_vm *vm)
{
	struct kt_thread *t = bpf_map_lookup_elem(&threads, &tid);
	struct kt_thread fresh = {};

	if (t && t->tgid == tgid && t->vm_birth_ns == vm->birth_ns)
		return t;
	fresh.tgid = tgid;
	fresh.vm_birth_ns = vm->birth_ns;
	/* The kernel's counters start at 0 when a thread is born: from birth, 0 is the baseline. */
	if (!(vm->flags & KT_VM_FROM_BIRTH)) {
		fresh.run_delay_seen = KT_NO_RUN_DELAY;
		fresh.exec_seen = KT_NO_COUNTER;
		fresh.io_read_seen = KT_NO_COUNTER;
		fresh.io_write_seen = KT_NO_COUNTER;
		fresh.gtime_seen = KT_NO_COUNTER;
	}
	if (bpf_map_update_elem(&threads, &tid, &fresh, BPF_ANY)) {
		kt_count_drop(KT_DROP_THREAD_FULL);
		return NULL;
	}
	return bpf_map_lookup_elem(&threads, &tid);
}

/*
 * The entry of a thread of a tracked VM, or NULL when tgid is not tracked. One lookup in the
 * common case: entries are deleted when their thread exits, so an entry of this tid with this
 * tgid belongs to the VM now tracked under it.
 */
static __always_inline struct kt_thread *kt_tracked_thread(__u32 tid, __u32 tgid)
{
	struct kt_thread *t = bpf_map_lookup_elem(&threads, &tid);
	struct kt_vm *vm;

	if (t && t->tgid == tgid)
		return t;
	vm = bpf_map_lookup_elem(&vms, &tgid);
	return vm ? kt_thread_get(tid, tgid, vm) : NULL;
}

/*
 * The event's time: the real hooks pass 0 and the clock is read only once an event concerns a
 * tracked VM (a clock read costs more than the bitmap test); the logic tests pass their own.
 */
static __always_inline __u64 kt_now(__u64 now)
{
	return now ? now : bpf_ktime_get_ns();
}

/*
 * Run delay from the kernel's own counter where it keeps one: the wait before a slice is added
 * to it when the slice starts, just after sched_switch, so each reading adds the waits since the
 * last one. The first reading only sets the baseline.
 */
static __always_inline void kt_take_run_delay(struct kt_thread *t, __u64 run_delay_ns)
{
	if (t->run_delay_seen != KT_NO_RUN_DELAY && run_delay_ns > t->run_delay_seen)
		t->sum.run_delay_ns += run_delay_ns - t->run_delay_seen;
	t->run_delay_seen = run_delay_ns;
}

/* Advances a cumulative kernel counter: adds its growth since the last reading to *sum. */
static __always_inline void kt_take_counter(__u64 *seen, __u64 cur, __u64 *sum)
{
	if (cur == KT_NO_COUNTER)
		return;
	if (*seen != KT_NO_COUNTER && cur > *seen)
		*sum += cur - *seen;
	*seen = cur;
}

/* Disk bytes as the kernel's per-task I/O accounting charges them: reads when submitted,
 * writes when the pages are dirtied (or submitted, for direct I/O), by whichever thread. */
static __always_inline void kt_take_io(struct kt_thread *t, const struct kt_task_sample *s)
{
	kt_take_counter(&t->io_read_seen, s->io_read_bytes, &t->sum.disk_read_bytes);
	kt_take_counter(&t->io_write_seen, s->io_write_bytes, &t->sum.disk_write_bytes);
}

/*
 * Guest time as the kernel charges it; a thread it charges any is a vCPU by what it does, and
 * one seen inside KVM_RUN says which vCPU it runs.
 */
static __always_inline void kt_take_gtime(struct kt_thread *t, const struct kt_task_sample *s)
{
	__u64 before = t->sum.kernel_guest_ns;

	kt_take_counter(&t->gtime_seen, s->guest_ns, &t->sum.kernel_guest_ns);
	if (t->sum.kernel_guest_ns > before)
		t->flags |= KT_THREAD_GUEST_TIME;
	if (s->in_kvm_run) {
		t->vcpu_id = s->in_kvm_run - 1;
		t->flags |= KT_THREAD_IN_KVM_RUN;
	}
}


static __always_inline struct kt_vm_percpu *kt_vm_percpu_get(__u32 tgid, __u64 birth_ns)
{
	struct kt_vm_key key = { .tgid = tgid, .birth_ns = birth_ns };
	struct kt_vm_percpu *st = bpf_map_lookup_elem(&vm_percpu, &key);
	__u32 zero = 0;
	void *zeroes;

	if (st)
		return st;
	zeroes = bpf_map_lookup_elem(&vm_percpu_zero, &zero);
	if (!zeroes)
		return NULL;
	if (bpf_map_update_elem(&vm_percpu, &key, zeroes, BPF_NOEXIST) == -KT_E2BIG)
		kt_count_drop(KT_DROP_PERCPU_FULL);
	return bpf_map_lookup_elem(&vm_percpu, &key);
}

/* Counter readings of one event: the hooks pass NULL and the real counters are read; the
 * logic tests pass synthetic ones. */
struct kt_readings {
	struct bpf_perf_event_value v[KT_MAX_COUNTERS];
};

static __always_inline bool kt_counter_read(const struct kt_readings *fake, __u32 i,
					    struct bpf_perf_event_value *v)
{
	__u64 slot = bpf_get_smp_processor_id() * KT_MAX_COUNTERS + i;

	if (fake) {
		*v = fake->v[i];
		return true;
	}
	/* Fails for a counter user space could not open here (no PMU): it stays uncounted. */
	return !bpf_perf_event_read_value(&counters, slot, v, sizeof(*v));
}

/*
 * How much a counter grew between two readings. A PMU with more events than registers
 * multiplexes them: the count covers only the time the event was running, so it is scaled up
 * to the time it was enabled, as perf stat does.
 */
static __always_inline __u64 kt_counter_growth(const struct bpf_perf_event_value *from,
					       const struct bpf_perf_event_value *to)
{
	__u64 grew, enabled, running;

	if (to->counter < from->counter)
		return 0;
	grew = to->counter - from->counter;
	enabled = to->enabled - from->enabled;
	running = to->running - from->running;
	if (running >= enabled)
		return grew;
	if (!running)
		return 0;	/* never on the PMU in between: nothing known */
	/* Split so that the product does not overflow. */
	return grew / running * enabled + grew % running * enabled / running;
}

/*
 * A slice's share of what the counters grew by over span_ns, when the slice lies inside the
 * span (fixed point: slice_ns < 2^44, about 5 hours).
 */
static __always_inline __u64 kt_share_of(__u64 grew, __u64 slice_ns, __u64 span_ns)
{
	__u64 ratio;

	if (slice_ns >= span_ns)
		return grew;
	ratio = (slice_ns << 20) / span_ns;
	return (grew >> 20) * ratio + (((grew & ((1ULL << 20) - 1)) * ratio) >> 20);
}

/*
 * At an accounting point of a tracked thread (switch, kvm_entry, kvm_exit, the drain's flush):
 * what the counters grew by since the last reading on this CPU is charged to the VM of
 * charge_to, to its guest or host share, when that reading was taken for the same thread;
 * then this reading becomes the base for base_tid (0: the CPU leaves tracked threads).
 *
 * The kernel does not always report a switch-in (seen on a nested PVM guest, with ftrace's own
 * sched_switch events missing too). At the switch-out of such a slice the last reading here is
 * older than the slice: clock counters grow by the slice's on-CPU time (slice_ns, from the
 * kernel's runtime) out of the span's growth, exactly; what other counters counted in the
 * slice cannot be told from what other tasks did in the span, so it is not counted, and the
 * drop says so.
 */
static __always_inline void kt_counters_take(const struct kt_readings *fake,
					     const struct kt_thread *charge_to, __u32 tid,
					     bool guest, __u32 base_tid, __u64 now, __u64 slice_ns)
{
	struct kt_vm_percpu *st = NULL;
	struct bpf_perf_event_value v;
	struct kt_counter_base *base;
	__u64 *bucket = NULL, grew, span = 0;
	__u32 zero = 0, i;
	bool lost = false;

	if (!nr_counters)
		return;
	base = bpf_map_lookup_elem(&counter_base, &zero);
	if (!base)
		return;
	if (charge_to && tid && base->tid != tid && slice_ns && base->at_ns && now > base->at_ns)
		span = now - base->at_ns;
	if (charge_to && tid && (base->tid == tid || span))
		st = kt_vm_percpu_get(charge_to->tgid, charge_to->vm_birth_ns);
	if (st) {
		/* Keeps the compiler from offsetting st before the verifier has seen it checked. */
		asm volatile("" : "+r"(st));
		bucket = guest ? st->counter_guest : st->counter_host;
	}
	for (i = 0; i < KT_MAX_COUNTERS && i < nr_counters; i++) {
		if (!kt_counter_read(fake, i, &v))
			continue;
		if (bucket) {
			grew = kt_counter_growth(&base->v[i], &v);
			if (!span)
				bucket[i] += grew;
			else if (clock_counters & (1U << i))
				bucket[i] += kt_share_of(grew, slice_ns, span);
			else
				lost = true;
		}
		base->v[i] = v;
	}
	if (lost)
		kt_count_drop(KT_DROP_UNSEEN_SWITCH_IN);
	base->tid = base_tid;
	base->at_ns = now;
}

/*
 * Run by user space on each CPU at every drain (BPF_PROG_TEST_RUN interrupts the CPU), for the
 * tracked thread running there: its runtime, guest time and counters are taken up to now, so a
 * vCPU that holds its CPU for a whole interval is not charged all at once when it leaves, and a
 * slice that began before tracking is counted from now on. The kernel's runtime of a running
 * thread lags by less than a tick; the next reading gives that back. A clock since the slice
 * began would not do: it also counts time the thread was off CPU when a switch went unseen.
 */
static __always_inline void kt_on_cpu_flush(__u64 now, const struct kt_task_sample *cur,
					    const struct kt_readings *fake)
{
	struct kt_thread *t;

	if (!kt_is_tracked(cur->tgid) || cur->exiting)
		return;
	t = kt_tracked_thread(cur->tid, cur->tgid);
	if (!t)
		return;
	now = kt_now(now);
	if (t->exec_seen != KT_NO_COUNTER && cur->exec_ns > t->exec_seen)
		t->sum.on_cpu_ns += cur->exec_ns - t->exec_seen;
	t->exec_seen = cur->exec_ns;
	if (!t->oncpu_since)
		t->oncpu_since = now;
	kt_take_gtime(t, cur);
	kt_counters_take(fake, t, cur->tid, t->guest_since != 0, cur->tid, now, 0);
}

static __always_inline void kt_switch_out(__u64 now, const struct kt_task_sample *prev,
					  const struct kt_readings *fake)
{
	struct kt_thread *t;
	__u64 slice = 0;

	/*
	 * After sched_process_exit has settled and freed its entry, an exiting thread's last
	 * switch must not create a new one; before it (exit can sleep), it is a switch like any.
	 */
	if (prev->exiting) {
		t = bpf_map_lookup_elem(&threads, &prev->tid);
		if (!t || t->tgid != prev->tgid)
			return;
	} else {
		t = kt_tracked_thread(prev->tid, prev->tgid);
		if (!t)
			return;
	}
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
	kt_counters_take(fake, t, prev->tid, false, 0, now, slice);
	/* A vCPU cannot leave the CPU in guest mode: an open interval means a missed kvm_exit. */
	if (t->guest_since) {
		t->guest_since = 0;
		kt_count_drop(KT_DROP_OPEN_GUEST);
	}
	kt_take_io(t, prev);
	kt_take_gtime(t, prev);
	if (prev->run_delay_ns != KT_NO_RUN_DELAY)
		kt_take_run_delay(t, prev->run_delay_ns);
	else	/* Preempted threads wait for a CPU from now on; sleeping ones wait for a wakeup. */
		t->runnable_since = prev->runnable ? now : 0;
}

static __always_inline void kt_switch_in(__u64 now, const struct kt_task_sample *next,
					 const struct kt_readings *fake)
{
	struct kt_thread *t = kt_tracked_thread(next->tid, next->tgid);

	if (!t)
		return;
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
	/* Counted from its birth and not read yet: what it ran before is the VM's too. */
	if (!t->exec_seen)
		t->sum.on_cpu_ns += next->exec_ns;
	t->exec_seen = next->exec_ns;	/* what it was at the last switch-out, if we saw one */
}

/* sched_switch: prev leaves the CPU, next gets it. fake: synthetic counter readings (tests). */
static __always_inline void kt_on_switch(__u64 now, const struct kt_task_sample *prev,
					 const struct kt_task_sample *next,
					 const struct kt_readings *fake)
{
	if (kt_is_tracked(prev->tgid)) {
		now = kt_now(now);
		kt_switch_out(now, prev, fake);
	}
	if (kt_is_tracked(next->tgid))
		kt_switch_in(kt_now(now), next, fake);
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

/* A kvm event of a process we do not track yet makes it a VM, whatever its VMM. */
static __always_inline struct kt_thread *kt_vcpu_thread(__u64 now, __u32 tid, __u32 tgid)
{
	struct kt_vm *vm;

	if (kt_is_tracked(tgid))
		vm = bpf_map_lookup_elem(&vms, &tgid);
	else if (discover)
		vm = kt_track_vm(tgid, now, KT_VM_BY_KVM);
	else
		return NULL;
	return vm ? kt_thread_get(tid, tgid, vm) : NULL;
}

static __always_inline void kt_charge_exit(struct kt_thread *t, __u64 count, __u64 handling_ns)
{
	struct kt_exit_key key = {
		.tgid = t->tgid,
		.isa = t->isa,
		.reason = t->exit_reason,
		.vm_birth_ns = t->vm_birth_ns,
	};
	struct kt_exit_stat *stat = bpf_map_lookup_elem(&exit_stats, &key);
	struct kt_exit_stat fresh = { .count = count, .handling_ns = handling_ns };

	if (stat) {
		stat->count += count;
		stat->handling_ns += handling_ns;
	} else if (bpf_map_update_elem(&exit_stats, &key, &fresh, BPF_NOEXIST) == -KT_E2BIG) {
		kt_count_drop(KT_DROP_EXIT_FULL);
	}
}

/* kvm_entry: the vCPU thread enters guest mode; the pending exit's handling ends here. */
static __always_inline void kt_on_kvm_entry(__u64 now, __u32 tid, __u32 tgid, __u32 vcpu_id,
					    const struct kt_readings *fake)
{
	struct kt_thread *t = kt_vcpu_thread(now, tid, tgid);
	__u64 handling;

	if (!t)
		return;
	kt_counters_take(fake, t, tid, false, tid, now, 0);
	t->flags |= KT_THREAD_VCPU;
	t->vcpu_id = vcpu_id;
	if (t->exit_since) {
		handling = now - t->exit_since;
		t->sum.exit_handling_ns += handling;
		kt_charge_exit(t, 0, handling);
		t->exit_since = 0;
	}
	t->guest_since = now;
}

/* kvm_exit: guest mode ends; an exit seen without its entry (we attached mid-guest) adds no time. */
static __always_inline void kt_on_kvm_exit(__u64 now, __u32 tid, __u32 tgid, __u32 isa,
					   __u32 reason, const struct kt_readings *fake)
{
	struct kt_thread *t = kt_vcpu_thread(now, tid, tgid);

	if (!t)
		return;
	kt_counters_take(fake, t, tid, true, tid, now, 0);
	t->flags |= KT_THREAD_VCPU;
	if (t->guest_since)
		t->sum.guest_ns += now - t->guest_since;
	t->guest_since = 0;
	t->sum.exits++;
	t->exit_since = now;
	t->isa = isa;
	t->exit_reason = reason;
	kt_charge_exit(t, 1, 0);
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
	__sync_fetch_and_add(&into->disk_read_bytes, from->disk_read_bytes);
	__sync_fetch_and_add(&into->disk_write_bytes, from->disk_write_bytes);
	__sync_fetch_and_add(&into->disk_read_ops, from->disk_read_ops);
	__sync_fetch_and_add(&into->disk_write_ops, from->disk_write_ops);
}

/* The VM's process is gone: park its record for its last row and free its tgid. */
static __always_inline void kt_retire_vm(__u64 now, __u32 tgid, struct kt_vm *vm)
{
	struct kt_vm_key key = { .tgid = tgid, .birth_ns = vm->birth_ns };

	vm->death_ns = now;
	if (bpf_map_update_elem(&dead_vms, &key, vm, BPF_ANY))
		kt_count_drop(KT_DROP_DEAD_FULL);
	bpf_map_delete_elem(&vms, &tgid);
	kt_set_tracked(tgid, false);
}

/*
 * sched_process_exit: the thread's totals move to its VM's "exited" sum; when it was the last
 * thread (group_dead), the VM is retired so a process that reuses the PID starts afresh.
 */
static __always_inline void kt_on_exit(__u64 now, const struct kt_task_sample *task,
				       bool group_dead)
{
	__u32 tid = task->tid, tgid = task->tgid;
	struct kt_thread *t;
	struct kt_vm *vm;

	if (!kt_is_tracked(tgid))
		return;
	vm = bpf_map_lookup_elem(&vms, &tgid);
	if (!vm)
		return;
	now = kt_now(now);
	t = bpf_map_lookup_elem(&threads, &tid);
	if (t && t->tgid == tgid && t->vm_birth_ns == vm->birth_ns) {
		/* It is on its CPU now; what runs after this point is too short to matter. */
		if (t->exec_seen != KT_NO_COUNTER && task->exec_ns > t->exec_seen)
			t->sum.on_cpu_ns += task->exec_ns - t->exec_seen;
		if (task->run_delay_ns != KT_NO_RUN_DELAY)
			kt_take_run_delay(t, task->run_delay_ns);
		kt_take_io(t, task);
		kt_take_gtime(t, task);
		if (t->guest_since)
			kt_count_drop(KT_DROP_OPEN_GUEST);
		kt_fold_totals(&vm->exited, &t->sum);
		bpf_map_delete_elem(&threads, &tid);
	}
	if (group_dead)
		kt_retire_vm(now, tgid, vm);
}

static __always_inline bool kt_comm_has_prefix(const char *comm, const char *prefix, bool exact)
{
	int i;

	for (i = 0; i < TASK_COMM_LEN; i++) {
		if (!prefix[i])
			return !exact || !comm[i];
		if (comm[i] != prefix[i])
			return false;
	}
	return true;
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
 * sched_process_exec: a tracked process that execs another program is no longer that VM
 * (de_thread has already ended its other threads); a process that execs a VMM binary becomes
 * one, tracked from its first instruction.
 */
static __always_inline void kt_on_exec(__u64 now, const struct kt_task_sample *task,
				       const char *comm)
{
	now = kt_now(now);
	if (kt_is_tracked(task->tgid)) {
		/* Retires the VM, as if its last thread had exited. */
		kt_on_exit(now, task, true);
	}
	if (discover && kt_comm_is_vmm(comm))
		kt_track_vm(task->tgid, now, KT_VM_BY_NAME);
}

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
 */
static __always_inline void kt_on_sample(__u32 tid, __u32 tgid, __u64 ip, bool in_softirq,
					 bool kthread, const char *comm, void *ctx,
					 const __u64 *fake_stack, __u32 nr_fake)
{
	struct kt_shared_samples *shared;
	struct kt_vm_percpu *st;
	struct kt_thread *t;
	struct kt_vm *vm;
	__u32 comp, owner, zero = 0;

	if (kt_is_tracked(tgid)) {
		t = kt_tracked_thread(tid, tgid);
		/* In guest mode the time is the guest's own. */
		if (!t || t->guest_since)
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

/*
 * block_bio_queue, in the submitter's context: a bio of a tracked VM is an operation, and is
 * remembered until its request completes, for the latency.
 */
static __always_inline void kt_on_bio_queue(__u64 now, __u32 tid, __u32 tgid, __u64 bio,
					    bool write)
{
	struct kt_bio pending = {};
	struct kt_thread *t;

	if (!kt_is_tracked(tgid))
		return;
	t = kt_tracked_thread(tid, tgid);
	if (!t)
		return;
	if (write)
		t->sum.disk_write_ops++;
	else
		t->sum.disk_read_ops++;
	pending.tgid = tgid;
	pending.vm_birth_ns = t->vm_birth_ns;
	pending.start_ns = kt_now(now);
	if (bpf_map_update_elem(&bios, &bio, &pending, BPF_ANY))
		kt_count_drop(KT_DROP_BIO_FULL);
}

/* block_rq_complete: the request's first bio says whether a tracked VM waited for it. */
static __always_inline void kt_on_rq_complete(__u64 now, __u64 bio)
{
	struct kt_bio *pending = bpf_map_lookup_elem(&bios, &bio);
	struct kt_vm *vm;
	__u64 latency;

	if (!pending)
		return;
	vm = bpf_map_lookup_elem(&vms, &pending->tgid);
	if (vm && vm->birth_ns == pending->vm_birth_ns) {
		now = kt_now(now);
		latency = now > pending->start_ns ? now - pending->start_ns : 0;
		__sync_fetch_and_add(&vm->disk_lat_ns, latency);
		__sync_fetch_and_add(&vm->disk_lat_count, 1);
	}
	bpf_map_delete_elem(&bios, &bio);
}

/*
 * A frame on a network device: counted when the device is a tracked VM's tap (one lookup decides
 * for every other packet of the host). to_guest: the host transmits it on the tap.
 */
static __always_inline void kt_on_net(__u32 ifindex, __u64 bytes, bool to_guest)
{
	struct kt_iface *ifc = bpf_map_lookup_elem(&ifaces, &ifindex);
	struct kt_net_stat *stat, fresh = {};
	struct kt_net_key key = {};

	if (!ifc)
		return;
	key.ifindex = ifindex;
	key.tgid = ifc->tgid;
	key.vm_birth_ns = ifc->vm_birth_ns;
	stat = bpf_map_lookup_elem(&net_stats, &key);
	if (!stat) {
		if (bpf_map_update_elem(&net_stats, &key, &fresh, BPF_NOEXIST) == -KT_E2BIG)
			kt_count_drop(KT_DROP_NET_FULL);
		stat = bpf_map_lookup_elem(&net_stats, &key);
		if (!stat)
			return;
	}
	if (to_guest) {
		stat->rx_bytes += bytes;
		stat->rx_packets++;
	} else {
		stat->tx_bytes += bytes;
		stat->tx_packets++;
	}
}

#endif /* KVMTRACE_BPF_H */
