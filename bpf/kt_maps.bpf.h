/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The maps and load-time settings of kvmtrace-bpf, and the helpers of every area: drops, the
 * tracked bitmap, VM and thread entries, a VM's per-CPU figures, the event's time, names.
 */
#ifndef KT_MAPS_BPF_H
#define KT_MAPS_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "kvmtrace.h"

#define KT_E2BIG		7	/* errno of a full map (no errno.h for BPF) */
#define KT_ENOENT		2
#define KT_EEXIST		17
#define KT_TASK_RUNNING		0
#define KT_PF_EXITING		0x00000004	/* task_struct.flags */
#define KT_TASK_DEAD		0x00000080	/* task_struct.__state of a task's final switch */
#define KT_PF_KTHREAD		0x00200000

#define KT_PID_MAX_LIMIT	(4 * 1024 * 1024)	/* the kernel's PID_MAX_LIMIT on 64-bit */
#define KT_BITMAP_WORDS		(KT_PID_MAX_LIMIT / 64)
#define KT_BLOCK_TGIDS		(1U << KT_TRACKED_BLOCK_SHIFT)
#define KT_BLOCK_WORDS		(KT_BITMAP_WORDS / KT_BLOCK_TGIDS)

/* One bit per tgid: is this process a tracked VM? 512 KiB covers every possible PID. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, KT_BITMAP_WORDS);
	__type(key, __u32);
	__type(value, __u64);
} tracked SEC(".maps");

/*
 * One bit per block of KT_BLOCK_TGIDS tgids: does the block hold a tracked VM? Looked at
 * first. 32 KiB is within kmalloc's reach, hence in the kernel's direct map: where the bitmap's
 * vmalloc'd pages cost a bio of no VM a TLB miss (~30 ns here, after the VM exit of its
 * submission), this costs a cache line at most.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, KT_BLOCK_WORDS);
	__type(key, __u32);
	__type(value, __u64);
} tracked_blocks SEC(".maps");

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

/*
 * Disk requests of tracked VMs in flight, in sets by a hash of the bio's address: a completion
 * of any other request of the host is told apart by one cache line, where a hash map's miss
 * costs a hash and a bucket walk. Mmapable for its page-aligned values: a set is one line.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, KT_MAX_BIOS / KT_BIO_WAYS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct kt_bio_set);
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

/* By tgid, for VMs tracked at exec; user space takes each at its VM's last row. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KT_MAX_VMS);
	__type(key, __u32);
	__type(value, struct kt_vmm_args);
} vmm_args SEC(".maps");

/* Never written: the zeroes a new vmm_args entry starts from (too big for the stack). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct kt_vmm_args);
} vmm_args_blank SEC(".maps");

/*
 * Where kt_thread_get builds a new thread entry: on its stack, the entry would add its size to
 * every hook's call chain, whose frames the verifier bounds to 512 bytes together. One slot per
 * context that can interrupt another on a CPU (task, softirq, hardirq, NMI), taken in order:
 * a program that interrupts one building an entry builds its own in the next slot.
 */
#define KT_DRAFT_LEVELS	4

struct kt_thread_drafts {
	__u32 depth;		/* slots in use on this CPU */
	__u32 pad;
	struct kt_thread slot[KT_DRAFT_LEVELS];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct kt_thread_drafts);
} thread_drafts SEC(".maps");

/*
 * The vCPU whose kvm_exit ran last on this CPU, while it keeps the CPU: its exits' state, taken
 * from its thread entry at its first kvm_exit here and given back (kt_vcpu_give_back) at its
 * switch-out, the drain's flush or another thread's kvm_exit here; and what its figures grew by
 * meanwhile, for its entry. So that its kvm hooks look nothing up.
 */
struct kt_vcpu_live {
	__u32 tid;		/* 0: none */
	__u32 tgid;
	__u64 vm_birth_ns;
	struct kt_vcpu_exits kvm;	/* its vcpu_id valid when vcpu_seen */
	__u32 vcpu_seen;
	__u32 pad;
	__u64 guest_ns;
	__u64 exits;
	__u64 exit_handling_ns;
	__u64 exit_handling_cpu_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct kt_vcpu_live);
} vcpu_live SEC(".maps");

/* This CPU's open kvm_entry: see struct kt_guest_entry. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct kt_guest_entry);
} guest_entries SEC(".maps");

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

/*
 * The counters as last read on this CPU, and for which thread (0: none tracked). A full reading
 * (v: with the times the PMU ran them, for multiplexing) ends a slice or a drain; between two,
 * the kvm hooks of the same thread read the counts alone (raw), a helper's work less, and keep
 * what they grew by as its VM's (owner's) guest and host shares, scaled at the next full one.
 */
struct kt_counter_base {
	__u32 tid;
	__u32 owner_tgid;	/* the VM of tid, when a full reading knew it; 0: not known */
	__u64 owner_birth_ns;
	__u64 at_ns;		/* when they were last read, fully or not */
	__u64 quick;		/* counts-only readings since the last full one */
	struct bpf_perf_event_value v[KT_MAX_COUNTERS];	/* the last full reading */
	__u64 raw[KT_MAX_COUNTERS];			/* the last reading's counts */
	__u64 quick_host[KT_MAX_COUNTERS];		/* grown since v, unscaled */
	__u64 quick_guest[KT_MAX_COUNTERS];
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

/* The word of bitmap map that holds bit nr, or NULL. */
static __always_inline __u64 *kt_bit_word(void *map, __u32 nr)
{
	__u32 word = nr / 64;

	return bpf_map_lookup_elem(map, &word);
}

static __always_inline bool kt_bit_test(void *map, __u32 nr)
{
	__u64 *bits = kt_bit_word(map, nr);

	return bits && (*bits & (1ULL << (nr % 64)));
}

static __always_inline bool kt_is_tracked(__u32 tgid)
{
	return kt_bit_test(&tracked_blocks, tgid >> KT_TRACKED_BLOCK_SHIFT) &&
	       kt_bit_test(&tracked, tgid);
}

/* This CPU's slot for a kvm_entry; an array lookup, which the JIT inlines. */
static __always_inline struct kt_guest_entry *kt_guest_slot(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&guest_entries, &zero);
}

/*
 * The entry open on this CPU, where tid is the thread on it (see struct kt_guest_entry): it is
 * in guest mode, or its kvm_exit was missed. NULL if none, or one that names another thread.
 */
static __always_inline struct kt_guest_entry *kt_open_entry(__u32 tid)
{
	struct kt_guest_entry *e = kt_guest_slot();

	return e && e->at && (!e->tid || e->tid == tid) ? e : NULL;
}

/* The bits of tgid's block in its bitmap word. */
static __always_inline __u64 kt_block_mask(__u32 tgid)
{
	return ((1ULL << KT_BLOCK_TGIDS) - 1) << (tgid % 64 & ~(KT_BLOCK_TGIDS - 1));
}

/*
 * Atomic: neighbouring tgids share words and change on other CPUs. The tgid's bit first, its
 * block's after; a block is marked free only once none of its bits is set, checked again after
 * the clearing, so that a VM tracked meanwhile in the same block keeps its mark (missing at
 * most the events of those few nanoseconds).
 */
static __always_inline void kt_set_tracked(__u32 tgid, bool on)
{
	__u32 block = tgid >> KT_TRACKED_BLOCK_SHIFT;
	__u64 *bits = kt_bit_word(&tracked, tgid);
	__u64 *blocks = kt_bit_word(&tracked_blocks, block);
	__u64 block_bit = 1ULL << (block % 64);

	if (!bits || !blocks)
		return;
	if (on) {
		__sync_fetch_and_or(bits, 1ULL << (tgid % 64));
		__sync_fetch_and_or(blocks, block_bit);
		return;
	}
	if (__sync_and_and_fetch(bits, ~(1ULL << (tgid % 64))) & kt_block_mask(tgid))
		return;
	__sync_fetch_and_and(blocks, ~block_bit);
	if (__sync_fetch_and_or(bits, 0) & kt_block_mask(tgid))
		__sync_fetch_and_or(blocks, block_bit);
}

/*
 * Starts tracking tgid (or adds a reason to an existing entry), named comm, or when NULL after
 * the current task's process (a hook's: the exec'ing VMM, the vCPU's VMM). Out of line, as
 * kt_thread_get: the entry it makes on its stack would weigh on every hook's frame.
 */
static __noinline struct kt_vm *kt_track_vm(__u32 tgid, __u64 now, __u32 how, const char *comm)
{
	struct kt_vm *vm = bpf_map_lookup_elem(&vms, &tgid);
	struct task_struct *current;
	struct kt_vm fresh = {};

	if (vm) {
		vm->flags |= how;
		return vm;
	}
	fresh.birth_ns = now;
	fresh.flags = how;
	fresh.tgid = tgid;
	if (comm) {
		__builtin_memcpy(fresh.comm, comm, sizeof(fresh.comm));
	} else {
		current = (struct task_struct *)bpf_get_current_task();
		BPF_CORE_READ_STR_INTO(&fresh.comm, current, group_leader, comm);
	}
	/* NOEXIST: another CPU may have won the race; then we use its entry. */
	if (bpf_map_update_elem(&vms, &tgid, &fresh, BPF_NOEXIST) == -KT_E2BIG) {
		kt_count_drop(KT_DROP_VM_FULL);
		return NULL;
	}
	kt_set_tracked(tgid, true);
	return bpf_map_lookup_elem(&vms, &tgid);
}

/* Makes tid's entry (t: its stale one, if any) from fresh, built by kt_thread_get. */
static __always_inline struct kt_thread *kt_thread_make(__u32 tid, __u32 tgid, struct kt_vm *vm,
							__u64 start_ns, struct kt_thread *t,
							struct kt_thread *fresh)
{
	long err;

	__builtin_memset(fresh, 0, sizeof(*fresh));
	fresh->tgid = tgid;
	fresh->vm_birth_ns = vm->birth_ns;
	fresh->born_ns = bpf_ktime_get_ns();
	/* The kernel's counters start at 0 when a thread is born: from birth, 0 is the baseline. */
	if (!(vm->flags & KT_VM_FROM_BIRTH) && !(start_ns && start_ns >= vm->birth_ns)) {
		fresh->run_delay_seen = KT_NO_RUN_DELAY;
		fresh->exec_seen = KT_NO_COUNTER;
		fresh->io_read_seen = KT_NO_COUNTER;
		fresh->io_write_seen = KT_NO_COUNTER;
		fresh->gtime_seen = KT_NO_COUNTER;
		fresh->utime_seen = KT_NO_COUNTER;
		fresh->stime_seen = KT_NO_COUNTER;
	}
	/*
	 * NOEXIST where there was none: the task iterator and the thread's own exit hook may make
	 * it at once on two CPUs, and the one that loses takes the winner's entry.
	 */
	err = bpf_map_update_elem(&threads, &tid, fresh, t ? BPF_EXIST : BPF_NOEXIST);
	if (err == -KT_ENOENT)	/* the stale entry went meanwhile */
		err = bpf_map_update_elem(&threads, &tid, fresh, BPF_NOEXIST);
	if (err == -KT_EEXIST)
		return bpf_map_lookup_elem(&threads, &tid);
	if (err) {
		kt_count_drop(KT_DROP_THREAD_FULL);
		return NULL;
	}
	__sync_fetch_and_add(&vm->nr_threads, 1);
	return bpf_map_lookup_elem(&threads, &tid);
}

/*
 * The thread's entry, created on first sight; a stale entry of a reused tid is reset. start_ns:
 * when the thread began (0: unknown); one born after its VM was tracked is counted from birth.
 * Out of line, and the new entry built in thread_drafts: it would weigh on every hook's frame.
 */
static __noinline struct kt_thread *kt_thread_get(__u32 tid, __u32 tgid, struct kt_vm *vm,
						       __u64 start_ns)
{
	struct kt_thread *t = bpf_map_lookup_elem(&threads, &tid);
	struct kt_thread_drafts *drafts;
	__u32 zero = 0, depth;

	if (t && t->tgid == tgid && t->vm_birth_ns == vm->birth_ns &&
	    !(t->flags & KT_THREAD_FOLDED))
		return t;
	drafts = bpf_map_lookup_elem(&thread_drafts, &zero);
	/* More levels than contexts cannot nest; the entry is lost like one the map cannot hold. */
	if (!drafts || drafts->depth >= KT_DRAFT_LEVELS) {
		kt_count_drop(KT_DROP_THREAD_FULL);
		return NULL;
	}
	/*
	 * The slot is taken before it is written and given back after, so that a program that
	 * interrupts this one sees it taken: the barriers keep the draft's stores in between.
	 */
	depth = drafts->depth;
	*(volatile __u32 *)&drafts->depth = depth + 1;
	asm volatile("" ::: "memory");
	t = kt_thread_make(tid, tgid, vm, start_ns, t,
			   &drafts->slot[depth & (KT_DRAFT_LEVELS - 1)]);
	asm volatile("" ::: "memory");
	*(volatile __u32 *)&drafts->depth = depth;
	return t;
}

/*
 * A thread's run of exits of one reason moves to exit_stats (a reason taking its place, the
 * thread's end). Out of line: its frame would overflow the thread's end's in a switch hook.
 */
static __noinline void kt_exit_run_done(struct kt_vcpu_exits *k, __u32 i, __u32 tgid,
				       __u64 vm_birth_ns)
{
	struct kt_exit_run *run = &k->runs[i & (KT_EXIT_RUNS - 1)];
	struct kt_exit_key key = {
		.tgid = tgid,
		.isa = run->isa,
		.reason = run->reason,
		.vm_birth_ns = vm_birth_ns,
	};
	struct kt_exit_stat *stat;
	struct kt_exit_stat fresh = { .count = run->exits, .handling_ns = run->handling_ns };

	if (!fresh.count && !fresh.handling_ns)
		return;
	stat = bpf_map_lookup_elem(&exit_stats, &key);
	if (stat) {
		stat->count += fresh.count;
		stat->handling_ns += fresh.handling_ns;
	} else if (bpf_map_update_elem(&exit_stats, &key, &fresh, BPF_NOEXIST) == -KT_E2BIG) {
		kt_count_drop(KT_DROP_EXIT_FULL);
	}
	run->exits = 0;
	run->handling_ns = 0;
}

static __always_inline void kt_exit_runs_done(struct kt_thread *t)
{
	__u32 i;

	for (i = 0; i < KT_EXIT_RUNS; i++)
		kt_exit_run_done(&t->kvm, i, t->tgid, t->vm_birth_ns);
}

/*
 * The entry of a thread of a tracked VM, or NULL when tgid is not tracked. One lookup in the
 * common case: entries are deleted when their thread exits, so an entry of this tid with this
 * tgid belongs to the VM now tracked under it.
 */
static __always_inline struct kt_thread *kt_thread_of(__u32 tid, __u32 tgid, __u64 start_ns)
{
	struct kt_thread *t = bpf_map_lookup_elem(&threads, &tid);
	struct kt_vm *vm;

	if (t && t->tgid == tgid && !(t->flags & KT_THREAD_FOLDED))
		return t;
	vm = bpf_map_lookup_elem(&vms, &tgid);
	return vm ? kt_thread_get(tid, tgid, vm, start_ns) : NULL;
}

static __always_inline struct kt_thread *kt_tracked_thread(__u32 tid, __u32 tgid)
{
	return kt_thread_of(tid, tgid, 0);
}

/* The same, for a task whose counters were read: its birth is known. */
static __always_inline struct kt_thread *kt_sampled_thread(const struct kt_task_sample *s)
{
	return kt_thread_of(s->tid, s->tgid, s->start_ns);
}

/*
 * in_kvm_run (1 + the vCPU the thread runs KVM_RUN for, 0 if none) seen at a reading or a
 * sample says which vCPU a thread runs, also where no kvm hook fires.
 */
static __always_inline void kt_note_kvm_run(struct kt_thread *t, __u32 in_kvm_run)
{
	if (!in_kvm_run)
		return;
	t->kvm.vcpu_id = in_kvm_run - 1;
	/* Atomic: the thread's exit hook may set its own flag at the same time. */
	if (!(t->flags & KT_THREAD_IN_KVM_RUN))
		__sync_fetch_and_or(&t->flags, KT_THREAD_IN_KVM_RUN);
}

/*
 * The event's time: the real hooks pass 0 and the clock is read only once an event concerns a
 * tracked VM (a clock read costs more than the bitmap test); the logic tests pass their own.
 */
static __always_inline __u64 kt_now(__u64 now)
{
	return now ? now : bpf_ktime_get_ns();
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

#endif /* KT_MAPS_BPF_H */
