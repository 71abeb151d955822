// SPDX-License-Identifier: GPL-2.0
/*
 * BPF logic tests: synthetic sequences of scheduler and KVM events, fed on chosen CPUs with
 * BPF_PROG_TEST_RUN to the test programs, which call the production helpers. Every expected
 * figure is exact: the helpers take their timestamps from the events.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <signal.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kvmtrace.h"
#include "acct_test.skel.h"
#include "kvmtrace.skel.h"

#define VM	1000	/* tgid of the VM under test */
#define VCPU0	1001
#define VCPU1	1002
#define IOTHR	1003
#define OTHER	2000	/* an untracked process */

static int nr_cpus;

static void run_on(struct bpf_program *prog, int cpu, const __u64 *args, size_t nr)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = args, .ctx_size_in = nr * sizeof(__u64),
		    .flags = BPF_F_TEST_RUN_ON_CPU, .cpu = cpu);

	assert_int_equal(bpf_prog_test_run_opts(bpf_program__fd(prog), &opts), 0);
}

#define EVENT(skel, prog, cpu, ...)                                                 \
	do {                                                                       \
		const __u64 args_[] = { __VA_ARGS__ };                              \
		run_on((skel)->progs.prog, (cpu) % nr_cpus, args_,                 \
		       sizeof(args_) / sizeof(args_[0]));                          \
	} while (0)

/*
 * A sched_switch whose kernel counters follow the event clock (sum_exec_runtime = now) and
 * without the kernel's run_delay, so run delay comes from wakeups and preemptions.
 */
#define SWITCH(skel, cpu, now, prev_tid, prev_tgid, runnable, next_tid, next_tgid)          \
	EVENT(skel, t_switch, cpu, now, prev_tid, prev_tgid, runnable, now, KT_NO_RUN_DELAY,  \
	      next_tid, next_tgid, now, KT_NO_RUN_DELAY)

/* A thread exit, and its final switch-out at once; its kernel on-CPU counter follows the event
 * clock. */
#define EXIT(skel, cpu, now, tid, tgid, group_dead)                                        \
	do {                                                                               \
		EVENT(skel, t_exit, cpu, now, tid, tgid, now, group_dead);                 \
		EVENT(skel, t_switch_out_dead, cpu, now, tid, tgid, now);                  \
	} while (0)

/* The constants a test loads the test programs with. */
struct load_opts {
	bool discover;
	__u32 nr_counters;
	__u32 clock_counters;
	bool lean;	/* the task iterator's sched_switch, with the kvm hooks' exits */
};

static const struct load_opts discovering = { .discover = true };
/* With -p: only the processes given are traced. */
static const struct load_opts given_pids = { .discover = false };
/* Two perf counters, as if user space had opened them: counter 0 counts CPU time, 1 events. */
static const struct load_opts counting = {
	.discover = true, .nr_counters = 2, .clock_counters = 1,
};
/* The same where the task iterator reads the scheduler figures: a lean sched_switch. */
static const struct load_opts discovering_lean = { .discover = true, .lean = true };
static const struct load_opts counting_lean = {
	.discover = true, .nr_counters = 2, .clock_counters = 1, .lean = true,
};

/* Setup: *state holds the test's load_opts, and then the loaded skeleton. */
static int setup(void **state)
{
	const struct load_opts *o = *state;
	struct acct_test *skel = acct_test__open();

	if (!skel)
		return -1;
	skel->rodata->discover = o->discover;
	skel->rodata->nr_counters = o->nr_counters;
	skel->rodata->clock_counters = o->clock_counters;
	if (acct_test__load(skel)) {
		acct_test__destroy(skel);
		return -1;
	}
	skel->bss->switch_lean = skel->bss->switch_exits = o->lean;
	*state = skel;
	return 0;
}

static int teardown(void **state)
{
	acct_test__destroy(*state);
	return 0;
}

/* As the drain sees them: each CPU's live vCPU gives its exits back to its entry first. */
static void give_back(struct acct_test *skel)
{
	int cpu;

	for (cpu = 0; cpu < nr_cpus; cpu++)
		run_on(skel->progs.t_give_back, cpu, NULL, 0);
}

static struct kt_thread thread_of(struct acct_test *skel, __u32 tid)
{
	struct kt_thread t;

	give_back(skel);
	assert_int_equal(bpf_map__lookup_elem(skel->maps.threads, &tid, sizeof(tid), &t,
					      sizeof(t), 0), 0);
	return t;
}

/* A live entry: a folded one only waits for user space to drain its last figures. */
static bool thread_exists(struct acct_test *skel, __u32 tid)
{
	struct kt_thread t;

	return bpf_map__lookup_elem(skel->maps.threads, &tid, sizeof(tid), &t, sizeof(t), 0) == 0 &&
	       !(t.flags & KT_THREAD_FOLDED);
}

static bool vm_of(struct acct_test *skel, __u32 tgid, struct kt_vm *vm)
{
	return bpf_map__lookup_elem(skel->maps.vms, &tgid, sizeof(tgid), vm, sizeof(*vm), 0) == 0;
}

/* The figures of the VM (tgid, birth_ns) retired at its death, from either skeleton's map. */
static struct kt_vm dead_vm_of(const struct bpf_map *dead_vms, __u32 tgid, __u64 birth_ns)
{
	struct kt_vm_key key = { .tgid = tgid, .birth_ns = birth_ns };
	struct kt_vm dead;

	assert_int_equal(bpf_map__lookup_elem(dead_vms, &key, sizeof(key), &dead, sizeof(dead), 0),
			 0);
	return dead;
}

/* A reason's exits in exit_stats alone. */
static struct kt_exit_stat exit_table_of(struct acct_test *skel, __u32 tgid, __u64 birth,
					 __u32 isa, __u32 reason)
{
	struct kt_exit_key key = { .tgid = tgid, .isa = isa, .reason = reason,
				   .vm_birth_ns = birth };
	struct kt_exit_stat per_cpu[nr_cpus], sum = {};
	int i;

	if (bpf_map__lookup_elem(skel->maps.exit_stats, &key, sizeof(key), per_cpu,
				 sizeof(per_cpu), 0))
		return sum;
	for (i = 0; i < nr_cpus; i++) {
		sum.count += per_cpu[i].count;
		sum.handling_ns += per_cpu[i].handling_ns;
	}
	return sum;
}

/* A reason's exits as the drain sees them: exit_stats and the threads' runs not yet in it. */
static struct kt_exit_stat exit_stat_of(struct acct_test *skel, __u32 tgid, __u64 birth,
					__u32 isa, __u32 reason)
{
	struct kt_exit_stat sum;
	__u32 tid, *prev = NULL;
	struct kt_thread t;
	int i;

	give_back(skel);
	sum = exit_table_of(skel, tgid, birth, isa, reason);
	while (!bpf_map__get_next_key(skel->maps.threads, prev, &tid, sizeof(tid))) {
		prev = &tid;
		if (bpf_map__lookup_elem(skel->maps.threads, &tid, sizeof(tid), &t, sizeof(t), 0) ||
		    t.tgid != tgid || t.vm_birth_ns != birth)
			continue;
		for (i = 0; i < KT_EXIT_RUNS; i++) {
			if (t.kvm.runs[i].isa != isa || t.kvm.runs[i].reason != reason)
				continue;
			sum.count += t.kvm.runs[i].exits;
			sum.handling_ns += t.kvm.runs[i].handling_ns;
		}
	}
	return sum;
}

static __u64 drop_count(struct acct_test *skel, enum kt_drop what)
{
	__u32 key = what;
	__u64 per_cpu[nr_cpus], sum = 0;
	int i;

	assert_int_equal(bpf_map__lookup_elem(skel->maps.drops, &key, sizeof(key), per_cpu,
					      sizeof(per_cpu), 0), 0);
	for (i = 0; i < nr_cpus; i++)
		sum += per_cpu[i];
	return sum;
}

/* Whether a slot of the in-flight table holds bio. */
static bool bio_pending(struct acct_test *skel, __u64 bio)
{
	struct kt_bio_set set;
	__u32 i;
	int w;

	for (i = 0; i < KT_MAX_BIOS / KT_BIO_WAYS; i++) {
		assert_int_equal(bpf_map__lookup_elem(skel->maps.bios, &i, sizeof(i), &set,
						      sizeof(set), 0), 0);
		for (w = 0; w < KT_BIO_WAYS; w++)
			if (set.way[w].bio == bio)
				return true;
	}
	return false;
}

static void track(struct acct_test *skel, __u64 now, __u32 tgid)
{
	EVENT(skel, t_add_vm, 0, now, tgid);
}

static int is_tracked(struct acct_test *skel, __u64 tgid)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &tgid, .ctx_size_in = sizeof(tgid));

	assert_int_equal(bpf_prog_test_run_opts(bpf_program__fd(skel->progs.t_is_tracked), &opts),
			 0);
	return opts.retval;
}

static void set_tracked(struct acct_test *skel, __u64 tgid, __u64 on)
{
	__u64 args[2] = { tgid, on };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = args, .ctx_size_in = sizeof(args));

	assert_int_equal(bpf_prog_test_run_opts(bpf_program__fd(skel->progs.t_set_tracked),
						&opts), 0);
}

static bool block_marked(struct acct_test *skel, __u32 tgid)
{
	__u32 block = tgid >> KT_TRACKED_BLOCK_SHIFT, word = block / 64;
	__u64 bits;

	assert_int_equal(bpf_map__lookup_elem(skel->maps.tracked_blocks, &word, sizeof(word), &bits,
					      sizeof(bits), 0), 0);
	return bits & (1ULL << (block % 64));
}

/*
 * The tracked bitmap and its blocks of 16 tgids: a tgid is tracked when both say so; a block
 * stays marked while any of its tgids is tracked, and is freed with its last.
 */
static void test_tracked_blocks(void **state)
{
	struct acct_test *skel = *state;

	set_tracked(skel, 32, 1);
	set_tracked(skel, 33, 1);
	set_tracked(skel, 48, 1);
	set_tracked(skel, 4194303, 1);
	assert_int_equal(is_tracked(skel, 32), 1);
	assert_int_equal(is_tracked(skel, 33), 1);
	assert_int_equal(is_tracked(skel, 34), 0);	/* in a marked block, not tracked */
	assert_int_equal(is_tracked(skel, 16), 0);
	assert_int_equal(is_tracked(skel, 48), 1);
	assert_int_equal(is_tracked(skel, 4194303), 1);
	assert_int_equal(is_tracked(skel, 4194304), 0);	/* beyond any PID */

	set_tracked(skel, 32, 0);
	assert_int_equal(is_tracked(skel, 32), 0);
	assert_int_equal(is_tracked(skel, 33), 1);
	assert_true(block_marked(skel, 33));
	set_tracked(skel, 33, 0);
	assert_int_equal(is_tracked(skel, 33), 0);
	assert_false(block_marked(skel, 33));
	assert_true(block_marked(skel, 48));
	assert_int_equal(is_tracked(skel, 48), 1);
}

/* On-CPU time and run delay of a thread that sleeps, wakes, is preempted and runs again. */
static void test_oncpu_and_run_delay(void **state)
{
	struct acct_test *skel = *state;
	struct kt_thread t;

	track(skel, 10, VM);
	EVENT(skel, t_wakeup, 1, 100, VCPU0, VM);		/* waits from 100 */
	SWITCH(skel, 0, 130, OTHER, OTHER, 0, VCPU0, VM); /* runs: delay 30 */
	SWITCH(skel, 0, 630, VCPU0, VM, 1, OTHER, OTHER); /* preempted: 500 on CPU */
	SWITCH(skel, 0, 700, OTHER, OTHER, 0, VCPU0, VM); /* delay 70 */
	EVENT(skel, t_wakeup, 1, 750, VCPU0, VM);		/* woken while running: no wait */
	SWITCH(skel, 0, 900, VCPU0, VM, 0, OTHER, OTHER); /* sleeps: 200 on CPU */
	EVENT(skel, t_wakeup, 1, 1000, VCPU0, VM);
	SWITCH(skel, 1, 1040, OTHER, OTHER, 0, VCPU0, VM); /* delay 40 */

	t = thread_of(skel, VCPU0);
	assert_int_equal(t.sum.on_cpu_ns, 700);
	assert_int_equal(t.sum.run_delay_ns, 140);
	assert_int_equal(t.oncpu_since, 1040);
	assert_int_equal(t.tgid, VM);
	/* The untracked process got no entry at all. */
	assert_false(thread_exists(skel, OTHER));
}

/* Attached in the middle of everything: no time before the first event we saw is counted. */
static void test_start_mid_slice_and_mid_guest(void **state)
{
	struct acct_test *skel = *state;
	struct kt_thread t;
	struct kt_vm vm;

	track(skel, 10, VM);
	/* VCPU0 was on its CPU and in guest mode before we attached. */
	EVENT(skel, t_kvm_exit, 0, 500, VCPU0, VM, 1, 48);	/* no entry seen: no guest time */
	EVENT(skel, t_kvm_entry, 0, 520, VCPU0, VM, 0);		/* handling 20 */
	EVENT(skel, t_kvm_exit, 0, 820, VCPU0, VM, 1, 30);	/* guest 300 */
	SWITCH(skel, 0, 900, VCPU0, VM, 1, OTHER, OTHER); /* slice start unknown */
	/* A thread that was waiting for a CPU when we attached: its wait is unknown too. */
	SWITCH(skel, 1, 950, OTHER, OTHER, 0, IOTHR, VM);

	t = thread_of(skel, VCPU0);
	assert_int_equal(t.sum.on_cpu_ns, 0);
	assert_int_equal(t.sum.guest_ns, 300);
	assert_int_equal(t.sum.exits, 2);
	assert_int_equal(t.sum.exit_handling_ns, 20);
	assert_int_equal(t.runnable_since, 900);
	assert_true(t.flags & KT_THREAD_VCPU);
	t = thread_of(skel, IOTHR);
	assert_int_equal(t.sum.run_delay_ns, 0);
	assert_int_equal(t.oncpu_since, 950);
	assert_true(vm_of(skel, VM, &vm));
	assert_int_equal(exit_stat_of(skel, VM, vm.birth_ns, 1, 48).count, 1);
	assert_int_equal(exit_stat_of(skel, VM, vm.birth_ns, 1, 48).handling_ns, 20);
	assert_int_equal(exit_stat_of(skel, VM, vm.birth_ns, 1, 30).count, 1);
	assert_int_equal(exit_stat_of(skel, VM, vm.birth_ns, 1, 30).handling_ns, 0);
}

/* A vCPU exits on CPU 0, migrates, and re-enters on CPU 1; its figures follow the thread. */
static void test_vcpu_migrates(void **state)
{
	struct acct_test *skel = *state;
	struct kt_exit_stat io;
	struct kt_thread t;
	struct kt_vm vm;

	/* kvm_exit discovers the VM: no tracking call. Its guest time counts from then. */
	SWITCH(skel, 0, 900, OTHER, OTHER, 0, VCPU1, VM);	/* not tracked yet */
	EVENT(skel, t_kvm_entry, 0, 1000, VCPU1, VM, 1);
	assert_false(vm_of(skel, VM, &vm));
	EVENT(skel, t_kvm_exit, 0, 1600, VCPU1, VM, 1, 30);		/* guest 0 */
	assert_true(vm_of(skel, VM, &vm));
	assert_int_equal(vm.birth_ns, 1600);
	assert_int_equal(vm.flags, KT_VM_BY_KVM);
	EVENT(skel, t_kvm_entry, 0, 1700, VCPU1, VM, 1);		/* handling 100 */
	EVENT(skel, t_kvm_exit, 0, 2000, VCPU1, VM, 1, 30);		/* guest 300 */
	SWITCH(skel, 0, 2100, VCPU1, VM, 1, OTHER, OTHER);	/* slice start unknown */
	SWITCH(skel, 1, 2500, OTHER, OTHER, 0, VCPU1, VM);	/* delay 400 */
	EVENT(skel, t_kvm_entry, 1, 2600, VCPU1, VM, 1);		/* handling 600 */
	EVENT(skel, t_kvm_exit, 1, 3000, VCPU1, VM, 1, 12);		/* guest 400, HLT */
	EVENT(skel, t_kvm_entry, 1, 3050, VCPU1, VM, 1);		/* handling 50 */
	EVENT(skel, t_kvm_exit, 1, 3150, VCPU1, VM, 1, 12);		/* guest 100 */
	SWITCH(skel, 1, 3200, VCPU1, VM, 0, OTHER, OTHER);	/* 700 on CPU */

	t = thread_of(skel, VCPU1);
	assert_int_equal(t.sum.guest_ns, 800);
	assert_int_equal(t.sum.exits, 4);
	assert_int_equal(t.sum.exit_handling_ns, 750);
	assert_int_equal(t.sum.on_cpu_ns, 700);
	assert_int_equal(t.sum.run_delay_ns, 400);
	assert_int_equal(t.kvm.vcpu_id, 1);
	assert_int_equal(t.kvm.exit_since, 3150);
	io = exit_stat_of(skel, VM, 1600, 1, 30);
	assert_int_equal(io.count, 2);
	assert_int_equal(io.handling_ns, 700);	/* 100 on CPU 0, 600 ending on CPU 1 */
	assert_int_equal(exit_stat_of(skel, VM, 1600, 1, 12).count, 2);
	assert_int_equal(exit_stat_of(skel, VM, 1600, 1, 12).handling_ns, 50);
}

/* The run of reason in thread t's entry; NULL: none. */
static const struct kt_exit_run *run_of(const struct kt_thread *t, __u32 reason)
{
	int i;

	for (i = 0; i < KT_EXIT_RUNS; i++)
		if (t->kvm.runs[i].isa == 1 && t->kvm.runs[i].reason == reason)
			return &t->kvm.runs[i];
	return NULL;
}

/*
 * The exits of a vCPU's latest reasons stay in its entry (no exit_stats lookup per exit, even
 * with reasons in turn); the oldest reason's move to exit_stats when one more reason comes, and
 * all when the thread ends.
 */
static void test_exit_runs(void **state)
{
	struct acct_test *skel = *state;
	const struct kt_exit_run *run;
	struct kt_thread t;
	__u64 at = 400;
	__u32 r;

	track(skel, 10, VM);
	SWITCH(skel, 0, 50, OTHER, OTHER, 0, VCPU0, VM);
	EVENT(skel, t_kvm_entry, 0, 100, VCPU0, VM, 0);
	EVENT(skel, t_kvm_exit, 0, 200, VCPU0, VM, 1, 12);
	EVENT(skel, t_kvm_entry, 0, 230, VCPU0, VM, 0);		/* handling 30 */
	EVENT(skel, t_kvm_exit, 0, 300, VCPU0, VM, 1, 12);
	EVENT(skel, t_kvm_entry, 0, 350, VCPU0, VM, 0);		/* 50 */
	/* An entry only notes its time on its CPU; the exit after it takes it into the thread. */
	t = thread_of(skel, VCPU0);
	run = run_of(&t, 12);
	assert_non_null(run);
	assert_int_equal(run->exits, 2);
	assert_int_equal(run->handling_ns, 30);
	assert_int_equal(exit_table_of(skel, VM, 10, 1, 12).count, 0);
	assert_int_equal(exit_stat_of(skel, VM, 10, 1, 12).count, 2);

	/* Reasons in turn, as many as the entry keeps: each its run, none in exit_stats. */
	for (r = 1; r < KT_EXIT_RUNS; r++) {
		EVENT(skel, t_kvm_exit, 0, at, VCPU0, VM, 1, 100 + r);
		EVENT(skel, t_kvm_entry, 0, at + r, VCPU0, VM, 0);	/* handling r */
		at += 100;
	}
	EVENT(skel, t_kvm_exit, 0, at, VCPU0, VM, 1, 12);		/* 12 again */
	EVENT(skel, t_kvm_entry, 0, at + 7, VCPU0, VM, 0);
	at += 100;
	t = thread_of(skel, VCPU0);
	assert_int_equal(run_of(&t, 12)->exits, 3);
	assert_int_equal(run_of(&t, 12)->handling_ns, 80);
	assert_int_equal(run_of(&t, 101)->exits, 1);
	assert_int_equal(run_of(&t, 101)->handling_ns, 1);
	assert_int_equal(exit_table_of(skel, VM, 10, 1, 12).count, 0);
	assert_int_equal(exit_table_of(skel, VM, 10, 1, 101).count, 0);

	/* One reason more: the oldest (12) moves to exit_stats, its handling with it. */
	EVENT(skel, t_kvm_exit, 0, at, VCPU0, VM, 1, 30);
	assert_int_equal(exit_table_of(skel, VM, 10, 1, 12).count, 3);
	assert_int_equal(exit_table_of(skel, VM, 10, 1, 12).handling_ns, 87);
	t = thread_of(skel, VCPU0);
	assert_null(run_of(&t, 12));
	assert_int_equal(run_of(&t, 30)->exits, 1);
	assert_int_equal(exit_stat_of(skel, VM, 10, 1, 12).count, 3);	/* counted once */
	EVENT(skel, t_kvm_entry, 0, at + 20, VCPU0, VM, 0);		/* 20 */
	assert_int_equal(exit_stat_of(skel, VM, 10, 1, 30).handling_ns, 0);

	/* The thread ends with that entry open (no kvm_exit seen): its handling still counts. */
	EXIT(skel, 0, at + 50, VCPU0, VM, 0);
	EVENT(skel, t_switch_out_exiting, 0, at + 60, VCPU0, VM);
	assert_int_equal(exit_table_of(skel, VM, 10, 1, 30).count, 1);
	assert_int_equal(exit_table_of(skel, VM, 10, 1, 30).handling_ns, 20);
	for (r = 1; r < KT_EXIT_RUNS; r++) {
		assert_int_equal(exit_table_of(skel, VM, 10, 1, 100 + r).count, 1);
		assert_int_equal(exit_table_of(skel, VM, 10, 1, 100 + r).handling_ns, r);
	}
	assert_int_equal(exit_table_of(skel, VM, 10, 1, 12).count, 3);
}

/* The entry as it is in the map, without the live vCPUs' giving theirs back first. */
static struct kt_thread stored_thread(struct acct_test *skel, __u32 tid)
{
	struct kt_thread t;

	assert_int_equal(bpf_map__lookup_elem(skel->maps.threads, &tid, sizeof(tid), &t,
					      sizeof(t), 0), 0);
	return t;
}

/*
 * A vCPU's exits stay on its CPU while it keeps it (its hooks look nothing up); they go back
 * to its entry when it leaves, when the drain flushes, or when another thread's kvm_exit comes
 * on that CPU (a switch unseen).
 */
static void test_exits_live_on_cpu(void **state)
{
	struct acct_test *skel = *state;
	struct kt_thread t;

	track(skel, 10, VM);
	SWITCH(skel, 0, 50, OTHER, OTHER, 0, VCPU0, VM);
	EVENT(skel, t_kvm_exit, 0, 100, VCPU0, VM, 1, 12);	/* makes the entry, goes live */
	EVENT(skel, t_kvm_entry, 0, 110, VCPU0, VM, 0);
	EVENT(skel, t_kvm_exit, 0, 200, VCPU0, VM, 1, 12);
	assert_int_equal(stored_thread(skel, VCPU0).sum.exits, 0);
	/* VCPU1 on the same CPU, its switch-in unseen: VCPU0's go back. */
	EVENT(skel, t_kvm_exit, 0, 300, VCPU1, VM, 1, 30);
	t = stored_thread(skel, VCPU0);
	assert_int_equal(t.sum.exits, 2);
	assert_int_equal(t.sum.guest_ns, 90);
	assert_int_equal(t.sum.exit_handling_ns, 10);
	assert_int_equal(t.kvm.exit_since, 200);
	assert_int_equal(stored_thread(skel, VCPU1).sum.exits, 0);
	/* VCPU1's switch-out takes its back. */
	SWITCH(skel, 0, 400, VCPU1, VM, 0, OTHER, OTHER);
	assert_int_equal(stored_thread(skel, VCPU1).sum.exits, 1);
	/* VCPU0 again: its pending exit's handling ends at its next entry, as if it never left. */
	SWITCH(skel, 0, 500, OTHER, OTHER, 0, VCPU0, VM);
	EVENT(skel, t_kvm_entry, 0, 520, VCPU0, VM, 0);
	EVENT(skel, t_kvm_exit, 0, 600, VCPU0, VM, 1, 12);
	/* Its runs are live now, not in the entry as well: a drain never counts them twice. */
	t = stored_thread(skel, VCPU0);
	assert_int_equal(t.kvm.runs[0].exits + t.kvm.runs[1].exits + t.kvm.runs[2].exits +
			 t.kvm.runs[3].exits, 0);
	assert_int_equal(exit_stat_of(skel, VM, 10, 1, 12).count, 3);
	t = thread_of(skel, VCPU0);
	assert_int_equal(t.sum.exits, 3);
	assert_int_equal(t.sum.exit_handling_ns, 10 + 320);
	assert_int_equal(t.sum.guest_ns, 90 + 80);
}

/*
 * A vCPU cannot leave its CPU in guest mode: a switch-out with a guest interval open means a
 * kvm_exit was missed. The interval is dropped (and counted), so guest time never exceeds the
 * thread's time on a CPU; the next entry starts afresh.
 */
static void test_switch_out_in_guest(void **state)
{
	struct acct_test *skel = *state;
	struct kt_thread t;

	track(skel, 10, VM);
	SWITCH(skel, 0, 100, OTHER, OTHER, 0, VCPU0, VM);
	EVENT(skel, t_kvm_entry, 0, 150, VCPU0, VM, 0);
	SWITCH(skel, 0, 400, VCPU0, VM, 1, OTHER, OTHER);		/* no kvm_exit seen */
	t = thread_of(skel, VCPU0);
	assert_int_equal(t.sum.guest_ns, 0);
	assert_true(t.sum.guest_ns <= t.sum.on_cpu_ns);
	assert_int_equal(drop_count(skel, KT_DROP_OPEN_GUEST), 1);
	SWITCH(skel, 1, 500, OTHER, OTHER, 0, VCPU0, VM);
	EVENT(skel, t_kvm_entry, 1, 520, VCPU0, VM, 0);
	EVENT(skel, t_kvm_exit, 1, 600, VCPU0, VM, 1, 12);		/* guest 80 */
	SWITCH(skel, 1, 650, VCPU0, VM, 0, OTHER, OTHER);
	t = thread_of(skel, VCPU0);
	assert_int_equal(t.sum.guest_ns, 80);
	assert_true(t.sum.guest_ns <= t.sum.on_cpu_ns);
}

/* Exit handling splits into time on a CPU (KVM's work) and off it (a halted vCPU asleep). */
static void test_exit_handling_split(void **state)
{
	struct acct_test *skel = *state;
	struct kt_thread t;

	track(skel, 10, VM);
	SWITCH(skel, 0, 100, OTHER, OTHER, 0, VCPU0, VM);
	EVENT(skel, t_kvm_entry, 0, 110, VCPU0, VM, 0);
	EVENT(skel, t_kvm_exit, 0, 200, VCPU0, VM, 1, 12);		/* HLT */
	SWITCH(skel, 0, 250, VCPU0, VM, 0, OTHER, OTHER);		/* 50 handling, sleeps */
	SWITCH(skel, 1, 600, OTHER, OTHER, 0, VCPU0, VM);		/* 350 off its CPU */
	EVENT(skel, t_kvm_entry, 1, 630, VCPU0, VM, 0);		/* 30 more handling */
	EVENT(skel, t_kvm_exit, 1, 680, VCPU0, VM, 1, 12);		/* takes the entry */
	t = thread_of(skel, VCPU0);
	assert_int_equal(t.sum.exit_handling_ns, 430);
	assert_int_equal(t.sum.exit_handling_cpu_ns, 80);
	assert_int_equal(t.sum.exit_wait_ns, 350);
	EVENT(skel, t_kvm_entry, 1, 690, VCPU0, VM, 0);		/* 10 more */
	/* Taken at the switch-out (a missed exit): after it, no exit pending adds to neither. */
	SWITCH(skel, 1, 700, VCPU0, VM, 1, OTHER, OTHER);
	SWITCH(skel, 1, 800, OTHER, OTHER, 0, VCPU0, VM);
	t = thread_of(skel, VCPU0);
	assert_int_equal(t.sum.exit_handling_cpu_ns, 90);
	assert_int_equal(t.sum.exit_wait_ns, 350);
}

/*
 * A lean sched_switch takes none of the task iterator's figures (runtime, run delay), yet still
 * ends a guest interval left open at the switch-out (a missed kvm_exit).
 */
static void test_lean_switch_leaves_readings(void **state)
{
	struct acct_test *skel = *state;
	struct kt_thread t;

	track(skel, 10, VM);
	EVENT(skel, t_switch, 0, 100, OTHER, OTHER, 0, 0, KT_NO_RUN_DELAY, VCPU0, VM, 1000, 50);
	EVENT(skel, t_kvm_entry, 0, 150, VCPU0, VM, 0);
	EVENT(skel, t_switch, 0, 400, VCPU0, VM, 1, 1300, 70, OTHER, OTHER, 0, KT_NO_RUN_DELAY);
	t = thread_of(skel, VCPU0);
	assert_int_equal(t.sum.on_cpu_ns, 0);
	assert_int_equal(t.sum.run_delay_ns, 0);
	assert_int_equal(t.sum.guest_ns, 0);
	assert_int_equal(t.switch_exec_ns, 1300);
	assert_int_equal(drop_count(skel, KT_DROP_OPEN_GUEST), 1);
}

/* VMX reasons with flags above the basic reason (bits 27-29) are one reason; a failed entry
 * (bit 31) stays apart. */
static void test_vmx_reason_flags(void **state)
{
	struct acct_test *skel = *state;

	track(skel, 10, VM);
	EVENT(skel, t_kvm_exit, 0, 100, VCPU0, VM, 1, 48);
	EVENT(skel, t_kvm_exit, 0, 200, VCPU0, VM, 1, 48 | 1u << 27);	/* pending MTF */
	EVENT(skel, t_kvm_exit, 0, 300, VCPU0, VM, 1, 48 | 1u << 28);	/* from VMX root */
	EVENT(skel, t_kvm_exit, 0, 400, VCPU0, VM, 1, 48 | 1u << 29);
	EVENT(skel, t_kvm_exit, 0, 500, VCPU0, VM, 1, 33 | 1u << 31);	/* entry failed */
	EVENT(skel, t_kvm_exit, 0, 600, VCPU0, VM, 2, 48 | 1u << 28);	/* SVM: as it is */
	assert_int_equal(exit_stat_of(skel, VM, 10, 1, 48).count, 4);
	assert_int_equal(exit_stat_of(skel, VM, 10, 1, 33 | 1u << 31).count, 1);
	assert_int_equal(exit_stat_of(skel, VM, 10, 2, 48 | 1u << 28).count, 1);
}

/* A drain's flush finds a thread that has run since before tracking: counted from then on. */
static void test_flush_starts_unknown_slice(void **state)
{
	struct acct_test *skel = *state;

	track(skel, 10, VM);
	EVENT(skel, t_cpu_flush, 0, 600, VCPU0, VM, 0, 0);
	EVENT(skel, t_cpu_flush, 0, 700, VCPU0, VM, 0, 0);	/* already known: unchanged */
	SWITCH(skel, 0, 900, VCPU0, VM, 1, OTHER, OTHER);
	assert_int_equal(thread_of(skel, VCPU0).sum.on_cpu_ns, 300);
}

/* Exit can sleep: a switch-out of an exiting thread before sched_process_exit still closes its
 * slice; after the exit hook freed its entry, its last switch-out does not make a new one. */
static void test_exiting_thread_switches(void **state)
{
	struct acct_test *skel = *state;
	struct kt_vm vm;

	track(skel, 10, VM);
	SWITCH(skel, 0, 100, OTHER, OTHER, 0, IOTHR, VM);
	EVENT(skel, t_switch_out_exiting, 0, 300, IOTHR, VM);		/* 200, sleeps in exit */
	assert_int_equal(thread_of(skel, IOTHR).oncpu_since, 0);
	SWITCH(skel, 1, 5000, OTHER, OTHER, 0, IOTHR, VM);
	EXIT(skel, 1, 5100, IOTHR, VM, 0);				/* 100 */
	EVENT(skel, t_switch_out_exiting, 1, 5120, IOTHR, VM);
	assert_false(thread_exists(skel, IOTHR));
	assert_true(vm_of(skel, VM, &vm));
	assert_int_equal(vm.exited.on_cpu_ns, 300);
}

/*
 * A group exit of 8 threads whose hooks run in any order on any CPU: each thread's exit hook
 * comes before its final switch-out, the last thread's hook says group_dead, and nothing else
 * is ordered. Every time: the VM is retired once, with every thread's time, no entry is left.
 */
static void test_group_exit_any_order(void **state)
{
	struct acct_test *skel = *state;
	enum { THREADS = 8, RUNS = 100 };
	struct kt_vm dead, vm;
	int run, i, j, k, step[2 * THREADS], done[THREADS], hooked[THREADS];
	unsigned int seed = 12345;

	for (run = 0; run < RUNS; run++) {
		__u64 now = 1000000 * (run + 1), tgid = 100000 + 100 * run;	/* not OTHER */
		int last = rand_r(&seed) % THREADS;

		track(skel, now, tgid);
		for (i = 0; i < THREADS; i++)	/* each runs 100 + i ns, then waits */
			SWITCH(skel, i % 2, now + 10 + i, OTHER, OTHER, 0, tgid + 1 + i, tgid);
		for (i = 0; i < THREADS; i++)
			SWITCH(skel, i % 2, now + 110 + 2 * i, tgid + 1 + i, tgid, 0, OTHER, OTHER);
		/* A random order of the 16 events that keeps each thread's exit before its
		 * final switch, and the group_dead exit after every other thread's exit. */
		memset(done, 0, sizeof(done));
		memset(hooked, 0, sizeof(hooked));
		for (k = 0; k < 2 * THREADS; k++) {
			do {
				i = rand_r(&seed) % THREADS;
				j = hooked[i];
				if (j && done[i])
					continue;
				if (!j && i == last) {
					int others = 0, n;

					for (n = 0; n < THREADS; n++)
						others += n != last && hooked[n];
					if (others < THREADS - 1)
						continue;
				}
				break;
			} while (1);
			if (!hooked[i])
				hooked[i] = 1;
			else
				done[i] = 1;
			step[k] = i * 2 + (done[i] ? 1 : 0);
		}
		for (k = 0; k < 2 * THREADS; k++) {
			__u64 tid = tgid + 1 + step[k] / 2, at = now + 500 + k;
			/* Exited threads do not run again: their runtime stays what it was. */
			__u64 exec = now + 110 + 2 * (step[k] / 2);

			if (step[k] % 2)
				EVENT(skel, t_switch_out_dead, k % 2, at, tid, tgid, exec);
			else
				EVENT(skel, t_exit, k % 2, at, tid, tgid, exec,
				      step[k] / 2 == last);
		}
		assert_false(vm_of(skel, tgid, &vm));
		dead = dead_vm_of(skel->maps.dead_vms, tgid, now);
		/* 8 threads of 100 + i ns each, from their switch-in to their switch-out. */
		assert_int_equal(dead.exited.on_cpu_ns, 8 * 100 + (0 + 1 + 2 + 3 + 4 + 5 + 6 + 7));
		assert_int_equal(dead.nr_threads, 0);
		for (i = 0; i < THREADS; i++)
			assert_false(thread_exists(skel, tgid + 1 + i));
	}
}

/* What runs after the exit hook (exit_mm tearing down a large address space) is counted. */
static void test_exit_teardown_counted(void **state)
{
	struct acct_test *skel = *state;
	struct kt_vm dead;

	track(skel, 10, VM);
	SWITCH(skel, 0, 100, OTHER, OTHER, 0, VM, VM);
	EVENT(skel, t_exit, 0, 300, VM, VM, 300, 1);			/* 200 up to the hook */
	EVENT(skel, t_switch_out_dead, 0, 130000300, VM, VM, 130000300);	/* 130 ms after */
	dead = dead_vm_of(skel->maps.dead_vms, VM, 10);
	assert_int_equal(dead.exited.on_cpu_ns, 130000200);
	assert_int_equal(dead.death_ns, 300);
}

/* The task iterator reads tid of the VM, born at start (0: unknown), exiting as enum kt_exiting. */
#define SEEN(skel, now, tid, exec, start, exiting) \
	EVENT(skel, t_task_seen, 0, now, tid, VM, exec, start, exiting)

/*
 * Without a program at context switches: the iterator counts a thread that was there before
 * the VM was tracked from its first reading, one born since from its birth; a reading older
 * than one already taken (the thread's exit hook ran on its CPU meanwhile) adds nothing; an
 * exiting thread gets no new entry; its freeing settles it, once.
 */
static void test_task_iter_readings(void **state)
{
	struct acct_test *skel = *state;
	struct kt_vm vm;

	track(skel, 10, VM);
	SEEN(skel, 100, VCPU0, 1000, 5, KT_RUNNING_ON);		/* baseline */
	SEEN(skel, 200, VCPU0, 1500, 5, KT_RUNNING_ON);		/* +500 */
	SEEN(skel, 200, VCPU1, 300, 20, KT_RUNNING_ON);		/* born at 20: +300 */
	assert_int_equal(thread_of(skel, VCPU0).sum.on_cpu_ns, 500);
	assert_int_equal(thread_of(skel, VCPU1).sum.on_cpu_ns, 300);
	EVENT(skel, t_exit, 1, 300, VCPU1, VM, 400, 0);		/* +100 */
	SEEN(skel, 310, VCPU1, 380, 20, KT_EXITING);		/* older: nothing */
	SEEN(skel, 320, VCPU1, 450, 20, KT_EXITING);		/* +50 */
	assert_int_equal(thread_of(skel, VCPU1).sum.on_cpu_ns, 450);
	assert_true(thread_of(skel, VCPU1).flags & KT_THREAD_EXITED);
	SEEN(skel, 330, IOTHR, 70, 30, KT_EXITING);
	assert_false(thread_exists(skel, IOTHR));
	EVENT(skel, t_task_free, 1, 400, VCPU1, VM, 480);	/* final: +30 */
	assert_false(thread_exists(skel, VCPU1));
	assert_true(vm_of(skel, VM, &vm));
	assert_int_equal(vm.exited.on_cpu_ns, 480);
	EVENT(skel, t_task_free, 1, 410, VCPU1, VM, 500);
	assert_true(vm_of(skel, VM, &vm));
	assert_int_equal(vm.exited.on_cpu_ns, 480);
	assert_int_equal(drop_count(skel, KT_DROP_READING_RACE), 0);
}

/*
 * The end of a VM without switch hooks: a thread born and ended between two iterations is
 * made at its exit and settled at its freeing; the leader, dead and off its CPU (a zombie
 * awaiting its reaping), is settled by the iterator; the last of them retires the VM with every
 * thread's time.
 */
static void test_task_iter_group_end(void **state)
{
	struct acct_test *skel = *state;
	struct kt_vm vm, dead;

	track(skel, 10, VM);
	SEEN(skel, 100, VM, 1000, 5, KT_RUNNING_ON);
	SEEN(skel, 100, VCPU0, 2000, 5, KT_RUNNING_ON);
	EVENT(skel, t_exit_born, 1, 200, IOTHR, VM, 70, 30, 0);	/* born at 30: +70 */
	EVENT(skel, t_exit, 0, 300, VCPU0, VM, 2400, 0);		/* +400 */
	EVENT(skel, t_exit, 1, 310, VM, VM, 1200, 1);			/* +200, the last exit */
	SEEN(skel, 400, VM, 1250, 5, KT_EXIT_DEAD);			/* zombie: +50 */
	assert_true(vm_of(skel, VM, &vm));
	assert_true(vm.flags & KT_VM_GROUP_DEAD);
	EVENT(skel, t_task_free, 1, 450, IOTHR, VM, 90);		/* +20 */
	assert_true(vm_of(skel, VM, &vm));
	EVENT(skel, t_task_free, 0, 460, VCPU0, VM, 2450);		/* +50, retires */
	assert_false(vm_of(skel, VM, &vm));
	dead = dead_vm_of(skel->maps.dead_vms, VM, 10);
	assert_int_equal(dead.exited.on_cpu_ns, 90 + 450 + 250);
	assert_int_equal(dead.death_ns, 310);
}

/* A thread that exits while marked in guest mode: the open interval is dropped and counted. */
static void test_thread_exits_in_guest(void **state)
{
	struct acct_test *skel = *state;
	struct kt_vm vm;

	track(skel, 10, VM);
	SWITCH(skel, 0, 100, OTHER, OTHER, 0, VCPU0, VM);
	EVENT(skel, t_kvm_entry, 0, 200, VCPU0, VM, 0);
	EVENT(skel, t_kvm_exit, 0, 500, VCPU0, VM, 1, 1);		/* guest 300 */
	EVENT(skel, t_kvm_entry, 0, 550, VCPU0, VM, 0);		/* handling 50 */
	EXIT(skel, 0, 900, VCPU0, VM, 0);			/* on CPU 800 */

	assert_false(thread_exists(skel, VCPU0));
	assert_true(vm_of(skel, VM, &vm));
	assert_int_equal(vm.exited.on_cpu_ns, 800);
	assert_int_equal(vm.exited.guest_ns, 300);
	assert_int_equal(vm.exited.exits, 1);
	assert_int_equal(vm.exited.exit_handling_ns, 50);
	assert_int_equal(drop_count(skel, KT_DROP_OPEN_GUEST), 1);
}

/* The VM's process ends and a new process gets its PID: two VMs, never mixed. */
static void test_pid_reuse(void **state)
{
	struct acct_test *skel = *state;
	struct kt_vm dead, vm;

	track(skel, 10, VM);
	SWITCH(skel, 0, 100, OTHER, OTHER, 0, VM, VM);
	SWITCH(skel, 0, 400, VM, VM, 0, OTHER, OTHER);		/* 300 */
	SWITCH(skel, 1, 450, OTHER, OTHER, 0, VCPU0, VM);
	EXIT(skel, 1, 650, VCPU0, VM, 0);				/* 200 */
	SWITCH(skel, 0, 700, OTHER, OTHER, 0, VM, VM);
	EXIT(skel, 0, 750, VM, VM, 1);				/* 50, last */

	assert_false(vm_of(skel, VM, &vm));
	dead = dead_vm_of(skel->maps.dead_vms, VM, 10);
	assert_int_equal(dead.exited.on_cpu_ns, 550);
	assert_int_equal(dead.death_ns, 750);

	/* Events of the old PID are ignored until the new process is a VM in its own right. */
	SWITCH(skel, 0, 800, OTHER, OTHER, 0, VM, VM);
	assert_false(thread_exists(skel, VM));
	EVENT(skel, t_kvm_entry, 0, 1000, VCPU0, VM, 0);
	EVENT(skel, t_kvm_exit, 0, 1100, VCPU0, VM, 2, 0x78);	/* the new VM's first event */
	EVENT(skel, t_kvm_entry, 0, 1150, VCPU0, VM, 0);
	EVENT(skel, t_kvm_exit, 0, 1250, VCPU0, VM, 2, 0x78);
	assert_true(vm_of(skel, VM, &vm));
	assert_int_equal(vm.birth_ns, 1100);
	assert_int_equal(vm.exited.on_cpu_ns, 0);
	assert_int_equal(thread_of(skel, VCPU0).sum.guest_ns, 100);
	assert_int_equal(thread_of(skel, VCPU0).vm_birth_ns, 1100);
	assert_int_equal(exit_stat_of(skel, VM, 1100, 2, 0x78).count, 2);
	/* The dead incarnation is untouched. */
	dead = dead_vm_of(skel->maps.dead_vms, VM, 10);
	assert_int_equal(dead.exited.on_cpu_ns, 550);
}

static void exec_as(struct acct_test *skel, __u64 now, __u32 tgid, const char *name)
{
	__u64 comm[2] = {};

	memcpy(comm, name, strnlen(name, sizeof(comm) - 1));
	EVENT(skel, t_exec, 0, now, tgid, tgid, now, comm[0], comm[1]);
}

/* vmm_args of tgid: this process's arguments (it runs the exec hook), of incarnation birth. */
static void assert_args_kept(struct acct_test *skel, __u32 tgid, __u64 birth)
{
	char own[KT_ARGS_LEN];
	struct kt_vmm_args a;
	ssize_t n;
	int fd = open("/proc/self/cmdline", O_RDONLY);

	assert_true(fd >= 0);
	n = read(fd, own, sizeof(own));
	close(fd);
	assert_true(n > 0);
	assert_int_equal(bpf_map__lookup_elem(skel->maps.vmm_args, &tgid, sizeof(tgid), &a,
					      sizeof(a), 0), 0);
	assert_int_equal(a.birth_ns, birth);
	assert_int_equal(a.len, n);
	assert_memory_equal(a.args, own, n);
}

/* exec of a VMM binary starts tracking; exec of anything else by a VM retires it. */
static void test_exec_discovery(void **state)
{
	struct acct_test *skel = *state;
	cpu_set_t cpu0, all;
	struct kt_vm vm;

	/* On the CPU the hook runs on: in this process, whose arguments it can read. */
	assert_int_equal(sched_getaffinity(0, sizeof(all), &all), 0);
	CPU_ZERO(&cpu0);
	CPU_SET(0, &cpu0);
	assert_int_equal(sched_setaffinity(0, sizeof(cpu0), &cpu0), 0);

	exec_as(skel, 100, 3001, "qemu-system-x86");
	exec_as(skel, 100, 3002, "kvm");
	exec_as(skel, 100, 3003, "kvm-pit/3001");
	exec_as(skel, 100, 3004, "bash");
	exec_as(skel, 100, 3005, "firecracker");
	assert_true(vm_of(skel, 3001, &vm));
	assert_int_equal(vm.flags, KT_VM_BY_NAME);
	/* Its name goes with it: one first drained after its end is still named. */
	assert_string_equal(vm.comm, "qemu-system-x86");
	assert_true(vm_of(skel, 3002, &vm));
	assert_false(vm_of(skel, 3003, &vm));
	assert_false(vm_of(skel, 3004, &vm));
	assert_true(vm_of(skel, 3005, &vm));

	/* Its arguments are kept for its incarnation: here the test runner's own. */
	assert_args_kept(skel, 3001, 100);
	assert_args_kept(skel, 3005, 100);

	exec_as(skel, 200, 3001, "sh");
	assert_false(vm_of(skel, 3001, &vm));
	exec_as(skel, 300, 3002, "qemu-kvm");	/* re-exec of a VMM: a new incarnation */
	assert_true(vm_of(skel, 3002, &vm));
	assert_int_equal(vm.birth_ns, 300);
	assert_args_kept(skel, 3002, 300);
	/* Tracked by user space before its first VMM exec (libvirt's child): the same VM goes on. */
	track(skel, 400, 3006);
	exec_as(skel, 500, 3006, "qemu-system-x86");
	assert_true(vm_of(skel, 3006, &vm));
	assert_int_equal(vm.birth_ns, 400);
	assert_int_equal(vm.flags, KT_VM_BY_USER | KT_VM_BY_NAME);
	assert_args_kept(skel, 3006, 400);
	assert_int_equal(sched_setaffinity(0, sizeof(all), &all), 0);
}

/* With -p, only the given processes are traced: kvm events and execs discover nothing. */
static void test_no_discovery(void **state)
{
	struct acct_test *skel = *state;
	struct kt_vm vm;

	EVENT(skel, t_kvm_entry, 0, 100, VCPU0, VM, 0);
	exec_as(skel, 100, 3001, "qemu-system-x86");
	assert_false(vm_of(skel, VM, &vm));
	assert_false(vm_of(skel, 3001, &vm));
	assert_false(thread_exists(skel, VCPU0));
	track(skel, 150, VM);
	EVENT(skel, t_kvm_entry, 0, 200, VCPU0, VM, 0);
	EVENT(skel, t_kvm_exit, 0, 260, VCPU0, VM, 1, 1);
	assert_int_equal(thread_of(skel, VCPU0).sum.guest_ns, 60);

	/*
	 * Without perf counters the real kvm_entry does not ask who runs (tid 0). An untracked
	 * VM's exit still closes its entry, which a tracked thread's switch-out on that CPU must
	 * not take for a missed exit of its own.
	 */
	EVENT(skel, t_kvm_entry, 1, 300, 0, 0, 0);
	EVENT(skel, t_kvm_exit, 1, 350, OTHER, OTHER, 1, 1);
	SWITCH(skel, 1, 400, OTHER, OTHER, 0, VCPU0, VM);
	SWITCH(skel, 1, 420, VCPU0, VM, 0, OTHER, OTHER);
	assert_int_equal(drop_count(skel, KT_DROP_OPEN_GUEST), 0);
	SWITCH(skel, 1, 430, OTHER, OTHER, 0, VCPU0, VM);
	EVENT(skel, t_kvm_entry, 1, 450, 0, 0, 0);
	EVENT(skel, t_kvm_exit, 1, 500, VCPU0, VM, 1, 1);		/* guest 50 */
	SWITCH(skel, 1, 600, VCPU0, VM, 0, OTHER, OTHER);
	assert_int_equal(thread_of(skel, VCPU0).sum.guest_ns, 110);
	assert_int_equal(drop_count(skel, KT_DROP_OPEN_GUEST), 0);
}

/*
 * Where the kernel keeps them, on-CPU time is the kernel's own sum_exec_runtime over each slice
 * and run delay the kernel's run_delay between readings: the figures schedstat shows.
 */
static void test_kernel_counters(void **state)
{
	struct acct_test *skel = *state;
	struct kt_thread t;
	struct kt_vm vm;

	track(skel, 10, VM);
	/* First sight at switch-in: exec 5000, run_delay 700 (the baseline, not counted). */
	EVENT(skel, t_switch, 0, 100, OTHER, OTHER, 0, 0, 0, VCPU0, VM, 5000, 700);
	/* Preempted: the kernel charged 180 ns to the slice (our clock saw 200). */
	EVENT(skel, t_switch, 0, 300, VCPU0, VM, 1, 5180, 700, OTHER, OTHER, 0, 0);
	/* Back on CPU 1; the kernel adds the wait (45) to run_delay only after this event. */
	EVENT(skel, t_switch, 1, 350, OTHER, OTHER, 0, 0, 0, VCPU0, VM, 5180, 700);
	EVENT(skel, t_switch, 1, 500, VCPU0, VM, 0, 5330, 745, OTHER, OTHER, 0, 0);
	t = thread_of(skel, VCPU0);
	assert_int_equal(t.sum.on_cpu_ns, 180 + 150);
	assert_int_equal(t.sum.run_delay_ns, 45);
	assert_int_equal(t.runnable_since, 0);
	/* A wakeup changes nothing on this path. */
	EVENT(skel, t_wakeup, 0, 600, VCPU0, VM);
	EVENT(skel, t_switch, 0, 640, OTHER, OTHER, 0, 0, 0, VCPU0, VM, 5330, 745);
	EVENT(skel, t_switch, 0, 700, VCPU0, VM, 0, 5390, 780, OTHER, OTHER, 0, 0);
	t = thread_of(skel, VCPU0);
	assert_int_equal(t.sum.on_cpu_ns, 390);
	assert_int_equal(t.sum.run_delay_ns, 80);
	/* It exits on its CPU: the kernel's count up to the exit. */
	EVENT(skel, t_switch, 0, 800, OTHER, OTHER, 0, 0, 0, VCPU0, VM, 5390, 780);
	EVENT(skel, t_exit, 0, 900, VCPU0, VM, 5470, 0);
	assert_true(vm_of(skel, VM, &vm));
	assert_int_equal(vm.exited.on_cpu_ns, 0);	/* folded at its final switch-out */
	EVENT(skel, t_switch_out_dead, 0, 950, VCPU0, VM, 5470);
	assert_true(vm_of(skel, VM, &vm));
	assert_int_equal(vm.exited.on_cpu_ns, 470);
	assert_int_equal(vm.exited.run_delay_ns, 80);
}

/*
 * Disk: bytes from the kernel's per-task I/O counters read at switch-out (the first reading is
 * the baseline); ops from the bios a VM thread queued; latency from queue to completion.
 */
static void test_disk(void **state)
{
	struct acct_test *skel = *state;
	__u64 bio = 0xffff888012345678ull;
	struct kt_thread t;
	struct kt_vm vm;

	track(skel, 10, VM);
	EVENT(skel, t_switch_io, 0, 100, IOTHR, VM, 100, 1000, 5000);
	EVENT(skel, t_switch_io, 0, 200, IOTHR, VM, 150, 1000 + 4096, 5000 + 8192);
	t = thread_of(skel, IOTHR);
	assert_int_equal(t.sum.disk_read_bytes, 4096);
	assert_int_equal(t.sum.disk_write_bytes, 8192);

	EVENT(skel, t_bio_queue, 1, 300, IOTHR, VM, bio, 1);
	EVENT(skel, t_bio_queue, 1, 310, IOTHR, VM, bio + 512, 0);
	EVENT(skel, t_bio_queue, 1, 320, OTHER, OTHER, bio + 1024, 1);	/* not a VM's */
	assert_int_equal(thread_of(skel, IOTHR).sum.disk_write_ops, 1);
	assert_int_equal(thread_of(skel, IOTHR).sum.disk_read_ops, 1);
	assert_false(bio_pending(skel, bio + 1024));
	EVENT(skel, t_rq_complete, 0, 800, bio);
	EVENT(skel, t_rq_complete, 0, 900, bio);		/* a partial completion again */
	EVENT(skel, t_rq_complete, 0, 1310, bio + 512);
	assert_true(vm_of(skel, VM, &vm));
	assert_int_equal(vm.disk_lat_count, 2);
	assert_int_equal(vm.disk_lat_ns, 500 + 1000);
	assert_false(bio_pending(skel, bio));
	assert_int_equal(drop_count(skel, KT_DROP_BIO_FULL), 0);
}

/*
 * The in-flight table's sets: a third bio of a set is counted as a drop; a slot is freed by its
 * bio's completion, or reused once stale (a bio merged behind another never completes as itself),
 * and a completion of a stale bio's address is another bio's. Bios that differ in the high half
 * of their address only share a set.
 */
static void test_disk_bio_sets(void **state)
{
	const __u64 a = 0xffff888012345678ull, b = a + (1ull << 32), c = a + (2ull << 32);
	const __u64 d = a + (3ull << 32), stale = 2000000000ull;
	struct acct_test *skel = *state;
	struct kt_vm vm;

	track(skel, 10, VM);
	EVENT(skel, t_bio_queue, 0, 1000, IOTHR, VM, a, 1);
	EVENT(skel, t_bio_queue, 1, 1010, IOTHR, VM, b, 1);
	EVENT(skel, t_bio_queue, 0, 1020, IOTHR, VM, c, 1);	/* the set is full */
	assert_int_equal(thread_of(skel, IOTHR).sum.disk_write_ops, 3);
	assert_int_equal(drop_count(skel, KT_DROP_BIO_FULL), 1);
	assert_false(bio_pending(skel, c));
	EVENT(skel, t_rq_complete, 1, 1400, c);
	EVENT(skel, t_rq_complete, 1, 1500, a);
	EVENT(skel, t_rq_complete, 0, 1600, 0);		/* a flush: no bio */
	assert_true(vm_of(skel, VM, &vm));
	assert_int_equal(vm.disk_lat_count, 1);
	assert_int_equal(vm.disk_lat_ns, 500);

	EVENT(skel, t_bio_queue, 0, 2000, IOTHR, VM, c, 0);	/* a's slot, freed */
	assert_true(bio_pending(skel, c));
	/* b never completed: its slot is taken once stale, and c's completion comes too late. */
	EVENT(skel, t_bio_queue, 1, 1010 + stale, IOTHR, VM, d, 0);
	assert_false(bio_pending(skel, b));
	EVENT(skel, t_rq_complete, 0, 2000 + stale, c);
	EVENT(skel, t_rq_complete, 1, 1310 + stale, d);
	assert_true(vm_of(skel, VM, &vm));
	assert_int_equal(vm.disk_lat_count, 2);
	assert_int_equal(vm.disk_lat_ns, 500 + 300);
	assert_false(bio_pending(skel, c));
	assert_false(bio_pending(skel, d));
	assert_int_equal(drop_count(skel, KT_DROP_BIO_FULL), 1);
}

/* A full VM table: the VM that does not fit is not tracked, and the drop is counted. */
static void test_vm_table_full(void **state)
{
	struct acct_test *skel = *state;
	struct kt_vm vm;
	__u32 tgid;

	for (tgid = 10000; tgid < 10000 + KT_MAX_VMS; tgid++)
		track(skel, 100, tgid);
	assert_int_equal(drop_count(skel, KT_DROP_VM_FULL), 0);
	track(skel, 100, 20000);
	assert_false(vm_of(skel, 20000, &vm));
	assert_int_equal(drop_count(skel, KT_DROP_VM_FULL), 1);
	/* Its events stay on the fast path: nothing is created for it. */
	SWITCH(skel, 0, 200, OTHER, OTHER, 0, 20000, 20000);
	assert_false(thread_exists(skel, 20000));
}

/* A VM's per-CPU counters and samples, summed over CPUs; zeroes when it has no entry. */
static struct kt_vm_percpu percpu_of(struct acct_test *skel, __u32 tgid, __u64 birth)
{
	struct kt_vm_key key = { .tgid = tgid, .birth_ns = birth };
	struct kt_vm_percpu per_cpu[nr_cpus], sum = {};
	int i, j;

	if (bpf_map__lookup_elem(skel->maps.vm_percpu, &key, sizeof(key), per_cpu,
				 sizeof(per_cpu), 0))
		return sum;
	for (i = 0; i < nr_cpus; i++) {
		for (j = 0; j < KT_MAX_COUNTERS; j++) {
			sum.counter_guest[j] += per_cpu[i].counter_guest[j];
			sum.counter_host[j] += per_cpu[i].counter_host[j];
		}
		for (j = 0; j < KT_NR_COMPONENTS; j++) {
			sum.samples_own[j] += per_cpu[i].samples_own[j];
			sum.samples_softirq[j] += per_cpu[i].samples_softirq[j];
			sum.samples_ext[j] += per_cpu[i].samples_ext[j];
		}
	}
	return sum;
}

/* Counter readings c0, c1 at a switch; both counters ran the whole time (no multiplexing). */
#define CSWITCH(skel, cpu, prev_tid, prev_tgid, next_tid, next_tgid, c0, c1)                \
	EVENT(skel, t_switch_counted, cpu, 1, prev_tid, prev_tgid, 0, next_tid, next_tgid, 0,  \
	      c0, c1, c0, c0)
#define CENTRY(skel, cpu, tid, tgid, c0, c1) \
	EVENT(skel, t_kvm_counted, cpu, tid, tgid, 0, c0, c1, c0, c0)
#define CEXIT(skel, cpu, tid, tgid, c0, c1) \
	EVENT(skel, t_kvm_counted, cpu, tid, tgid, 1, c0, c1, c0, c0)

/* Counts between kvm_entry and kvm_exit are the guest's; the rest of a slice the host's. */
static void test_counters_split_at_entry_exit(void **state)
{
	struct acct_test *skel = *state;
	struct kt_vm_percpu c;

	track(skel, 10, VM);
	CSWITCH(skel, 0, OTHER, OTHER, VCPU0, VM, 100, 10);
	CENTRY(skel, 0, VCPU0, VM, 150, 12);		/* host 50, 2 */
	CEXIT(skel, 0, VCPU0, VM, 400, 40);		/* guest 250, 28 */
	CENTRY(skel, 0, VCPU0, VM, 450, 41);		/* host 50, 1 */
	CEXIT(skel, 0, VCPU0, VM, 1000, 100);		/* guest 550, 59 */
	CSWITCH(skel, 0, VCPU0, VM, OTHER, OTHER, 1100, 110);	/* host 100, 10 */
	/* What OTHER runs on the CPU is nobody's: the next slice starts from its own reading. */
	CSWITCH(skel, 0, OTHER, OTHER, IOTHR, VM, 5000, 500);
	CSWITCH(skel, 0, IOTHR, VM, OTHER, OTHER, 5300, 530);	/* host 300, 30 */

	c = percpu_of(skel, VM, 10);
	assert_int_equal(c.counter_guest[0], 800);
	assert_int_equal(c.counter_host[0], 500);
	assert_int_equal(c.counter_guest[1], 87);
	assert_int_equal(c.counter_host[1], 43);

	/* A drain while a vCPU holds its CPU charges it up to then, and once only. */
	CSWITCH(skel, 1, OTHER, OTHER, VCPU1, VM, 100, 10);
	EVENT(skel, t_cpu_flush, 1, 500, VCPU1, VM, 160, 16);	/* host 60, 6 */
	EVENT(skel, t_cpu_flush, 1, 600, OTHER, OTHER, 170, 17);	/* not tracked */
	CSWITCH(skel, 1, VCPU1, VM, OTHER, OTHER, 200, 20);	/* host 40, 4 */
	c = percpu_of(skel, VM, 10);
	assert_int_equal(c.counter_host[0], 600);
	assert_int_equal(c.counter_host[1], 53);
}

/*
 * Between two tracked threads one reading ends the slice of one and begins the other's, of the
 * same VM or of another: each share is what the counters grew by in its own slice.
 */
static void test_counters_between_vm_threads(void **state)
{
	struct acct_test *skel = *state;
	struct kt_vm_percpu c;
	struct kt_vm other;

	track(skel, 10, VM);
	track(skel, 20, 3000);
	assert_true(vm_of(skel, 3000, &other));
	CSWITCH(skel, 0, OTHER, OTHER, VCPU0, VM, 100, 10);
	CSWITCH(skel, 0, VCPU0, VM, IOTHR, VM, 300, 30);	/* VCPU0: 200, 20 */
	CSWITCH(skel, 0, IOTHR, VM, 3001, 3000, 700, 70);	/* IOTHR: 400, 40 */
	CSWITCH(skel, 0, 3001, 3000, VCPU0, VM, 1000, 100);	/* the other VM's: 300, 30 */
	CSWITCH(skel, 0, VCPU0, VM, OTHER, OTHER, 1100, 110);	/* VCPU0: 100, 10 */
	c = percpu_of(skel, VM, 10);
	assert_int_equal(c.counter_host[0], 700);
	assert_int_equal(c.counter_host[1], 70);
	c = percpu_of(skel, 3000, other.birth_ns);
	assert_int_equal(c.counter_host[0], 300);
	assert_int_equal(c.counter_host[1], 30);
}

/* Readings taken on another CPU or for another thread are never differenced. */
static void test_counters_unknown_base(void **state)
{
	struct acct_test *skel = *state;
	struct kt_vm_percpu c;

	track(skel, 10, VM);
	/* Attached mid-slice: the first switch-out has no reading of its own to start from. */
	CSWITCH(skel, 0, VCPU0, VM, OTHER, OTHER, 1000, 100);
	/* A vCPU whose slice began on CPU 0 cannot be charged from CPU 1's reading. */
	CSWITCH(skel, 1, OTHER, OTHER, VCPU1, VM, 7000, 700);
	CSWITCH(skel, 0, VCPU1, VM, OTHER, OTHER, 1500, 150);
	c = percpu_of(skel, VM, 10);
	assert_int_equal(c.counter_host[0], 0);
	assert_int_equal(c.counter_guest[0], 0);
	/* Then a normal slice on CPU 1 counts. */
	CSWITCH(skel, 1, OTHER, OTHER, VCPU1, VM, 8000, 800);
	CSWITCH(skel, 1, VCPU1, VM, OTHER, OTHER, 8200, 820);
	c = percpu_of(skel, VM, 10);
	assert_int_equal(c.counter_host[0], 200);
	assert_int_equal(c.counter_host[1], 20);
}

/* A switch on CPU 0 with the PMU's enabled and running times of both counters. */
#define MSWITCH(skel, prev_tid, prev_tgid, next_tid, next_tgid, c0, c1, enabled, running)   \
	EVENT(skel, t_switch_counted, 0, 1, prev_tid, prev_tgid, 0, next_tid, next_tgid, 0,    \
	      c0, c1, enabled, running)

/*
 * The kernel did not report a slice's switch-in: its on-CPU time still comes whole from the
 * kernel's runtime, and a clock counter gives it that much of its growth since the CPU's last
 * reading.
 */
static void test_unreported_switch_in(void **state)
{
	struct acct_test *skel = *state;
	struct kt_vm_percpu c;

	track(skel, 10, VM);
	/* now, prev, its runtime, next, its runtime, counter readings (clocks, cycles). */
	EVENT(skel, t_switch_counted, 0, 100, OTHER, OTHER, 0, VCPU0, VM, 5000, 100, 1000, 1, 1);
	EVENT(skel, t_switch_counted, 0, 300, VCPU0, VM, 5200, OTHER, OTHER, 0, 300, 3000, 1, 1);
	/* OTHER runs 100, VCPU0 comes back unreported and runs 300. */
	EVENT(skel, t_switch_counted, 0, 700, VCPU0, VM, 5500, OTHER, OTHER, 0, 700, 5000, 1, 1);
	/* A lean switch leaves the on-CPU time to the task iterator. */
	assert_int_equal(thread_of(skel, VCPU0).sum.on_cpu_ns, skel->bss->switch_lean ? 0 : 500);
	c = percpu_of(skel, VM, 10);
	assert_int_equal(c.counter_host[0], 200 + 300);	/* 300 of the clock's 400 since 300 */
	/* Events of the slice cannot be told from OTHER's: not counted, and said. */
	assert_int_equal(c.counter_host[1], 2000);
	assert_int_equal(drop_count(skel, KT_DROP_UNSEEN_SWITCH_IN), 1);
}

/* A multiplexed counter ran a quarter of the time: its growth is scaled by four, as perf stat
 * scales; one that did not run at all adds nothing, and a counter that went back adds nothing. */
static void test_counters_multiplexed(void **state)
{
	struct acct_test *skel = *state;
	struct kt_vm_percpu c;

	track(skel, 10, VM);
	MSWITCH(skel, OTHER, OTHER, VCPU0, VM, 1000, 50, 10000, 4000);
	/* enabled +4000, running +1000 */
	MSWITCH(skel, VCPU0, VM, OTHER, OTHER, 1300, 80, 14000, 5000);
	c = percpu_of(skel, VM, 10);
	assert_int_equal(c.counter_host[0], 1200);
	assert_int_equal(c.counter_host[1], 120);
	MSWITCH(skel, OTHER, OTHER, VCPU0, VM, 2000, 90, 20000, 6000);
	/* not running in between */
	MSWITCH(skel, VCPU0, VM, OTHER, OTHER, 2000, 90, 21000, 6000);
	MSWITCH(skel, OTHER, OTHER, VCPU0, VM, 3000, 100, 22000, 7000);
	/* reset */
	MSWITCH(skel, VCPU0, VM, OTHER, OTHER, 10, 110, 23000, 8000);
	c = percpu_of(skel, VM, 10);
	assert_int_equal(c.counter_host[0], 1200);
	assert_int_equal(c.counter_host[1], 130);
}

/* A kvm_entry (is_exit 0) or kvm_exit on CPU 0 with the PMU's enabled and running times. */
#define MKVM(skel, tid, tgid, is_exit, c0, c1, enabled, running) \
	EVENT(skel, t_kvm_counted, 0, tid, tgid, is_exit, c0, c1, enabled, running)

/*
 * While a vCPU keeps its CPU, its kvm hooks read the counts alone (no lookup, no times): what
 * they grew by waits in the CPU's reading as its VM's guest and host shares, and the next full
 * reading (its switch-out, a drain) scales them as it scales its own part.
 */
static void test_counters_quick_readings(void **state)
{
	struct acct_test *skel = *state;
	struct kt_vm_percpu c;

	track(skel, 10, VM);
	MSWITCH(skel, OTHER, OTHER, VCPU0, VM, 1000, 50, 10000, 4000);
	/* The first hook reads fully and learns the VM: host 100 and 10, run 100 of 400 ns. */
	MKVM(skel, VCPU0, VM, 0, 1100, 60, 10400, 4100);
	c = percpu_of(skel, VM, 10);
	assert_int_equal(c.counter_host[0], 400);
	assert_int_equal(c.counter_host[1], 40);
	MKVM(skel, VCPU0, VM, 1, 1300, 80, 99999, 99999);	/* guest 200, 20: times unread */
	MKVM(skel, VCPU0, VM, 0, 1350, 85, 99999, 99999);	/* host 50, 5 */
	c = percpu_of(skel, VM, 10);
	assert_int_equal(c.counter_guest[0], 0);		/* pending */
	assert_int_equal(c.counter_host[0], 400);
	/* Then host 50, 5; all scaled by 1000 enabled of 300 running since the full reading. */
	MSWITCH(skel, VCPU0, VM, OTHER, OTHER, 1400, 90, 11400, 4400);
	c = percpu_of(skel, VM, 10);
	assert_int_equal(c.counter_guest[0], 666);
	assert_int_equal(c.counter_guest[1], 66);
	assert_int_equal(c.counter_host[0], 400 + 166 + 166);
	assert_int_equal(c.counter_host[1], 40 + 16 + 16);

	/* A drain while the vCPU holds its CPU takes the pending shares, once. */
	CSWITCH(skel, 0, OTHER, OTHER, VCPU0, VM, 2000, 200);
	CENTRY(skel, 0, VCPU0, VM, 2100, 210);			/* host 100, 10 (full) */
	CEXIT(skel, 0, VCPU0, VM, 2500, 250);			/* guest 400, 40 (quick) */
	EVENT(skel, t_cpu_flush, 0, 2600, VCPU0, VM, 2600, 260);	/* host 100, 10 */
	EVENT(skel, t_cpu_flush, 0, 2700, VCPU0, VM, 2700, 270);	/* host 100, 10 */
	c = percpu_of(skel, VM, 10);
	assert_int_equal(c.counter_guest[0], 666 + 400);
	assert_int_equal(c.counter_guest[1], 66 + 40);
	assert_int_equal(c.counter_host[0], 732 + 300);
	assert_int_equal(c.counter_host[1], 72 + 30);

	/* Another thread's hook on this CPU (its switch-in unseen) is not the quick one's. */
	CENTRY(skel, 0, VCPU1, VM, 2800, 280);
	c = percpu_of(skel, VM, 10);
	assert_int_equal(c.counter_host[0], 1032);
}

/* Kernel text of the sampler tests: [0xffff...1000, 2000) kvm, [2000, 3000) bridge, then
 * other kernel code; the rest of the table holds the unused-slot sentinel. */
#define TEXT(off)	(0xffffffff81000000ULL + (off))

static void load_ranges(struct acct_test *skel)
{
	static const struct kt_ksym_range used[] = {
		{ TEXT(0x1000), KT_COMP_KVM, 0 },
		{ TEXT(0x2000), KT_COMP_BRIDGE, 0 },
		{ TEXT(0x3000), KT_COMP_OTHER_KERNEL, 0 },
	};
	struct kt_ksym_range unused = { .start = ~0ULL };
	__u32 i;

	for (i = 0; i < KT_MAX_KSYM_RANGES; i++)
		assert_int_equal(bpf_map__update_elem(skel->maps.ksym_ranges, &i, sizeof(i),
						      i < 3 ? &used[i] : &unused,
						      sizeof(unused), 0), 0);
}

static __u64 shared_hits(struct acct_test *skel, enum kt_component c)
{
	struct kt_shared_samples per_cpu[nr_cpus];
	__u32 key = 0;
	__u64 sum = 0;
	int i;

	assert_int_equal(bpf_map__lookup_elem(skel->maps.shared_samples, &key, sizeof(key),
					      per_cpu, sizeof(per_cpu), 0), 0);
	for (i = 0; i < nr_cpus; i++)
		sum += per_cpu[i].hits[c];
	return sum;
}

/* A thread name as the two u64 arguments of t_sample. */
static void comm_args(const char *name, __u64 out[2])
{
	char comm[16] = {};

	strncpy(comm, name, sizeof(comm) - 1);
	memcpy(out, comm, sizeof(comm));
}

/* A sampler hit whose callers are in code of no component (the sampled address decides). */
#define SAMPLE(skel, tid, tgid, ip, softirq, kthread, name) \
	SAMPLE_IN(skel, tid, tgid, ip, TEXT(0x900000), TEXT(0x900000), softirq, kthread, name)

#define SAMPLE_IN(skel, tid, tgid, ip, caller, caller2, softirq, kthread, name)              \
	SAMPLE_KVM_RUN(skel, tid, tgid, 0, ip, caller, caller2, softirq, kthread, name)

/* The same, of a thread inside KVM_RUN for vCPU in_kvm_run - 1 (0: outside). */
#define SAMPLE_KVM_RUN(skel, tid, tgid, in_kvm_run, ip, caller, caller2, softirq, kthread, name) \
	do {                                                                                \
		__u64 c_[2];                                                                \
		comm_args(name, c_);                                                        \
		EVENT(skel, t_sample, 0, tid, tgid, in_kvm_run, ip, softirq, kthread, c_[0], \
		      c_[1], caller, caller2);                                              \
	} while (0)

/* Each sampler hit lands in the component its address and context say. */
static void test_sampler_classifies(void **state)
{
	struct acct_test *skel = *state;
	struct kt_vm_percpu c;

	load_ranges(skel);
	track(skel, 10, VM);
	SAMPLE(skel, VCPU0, VM, 0x55d0c0de1234ULL, 0, 0, "CPU 0/TCG");	/* user */
	SAMPLE(skel, VCPU0, VM, TEXT(0x1800), 0, 0, "CPU 0/TCG");	/* kvm */
	SAMPLE(skel, VCPU0, VM, TEXT(0x1000), 0, 0, "CPU 0/TCG");	/* kvm, first byte */
	SAMPLE(skel, VCPU0, VM, TEXT(0x2fff), 1, 0, "CPU 0/TCG");	/* bridge, own softirq */
	SAMPLE(skel, VCPU0, VM, TEXT(0x500), 0, 0, "CPU 0/TCG");	/* below the table */
	SAMPLE(skel, VCPU0, VM, TEXT(0x900000), 0, 0, "CPU 0/TCG");	/* above the last */
	SAMPLE(skel, IOTHR, VM, TEXT(0x900000), 0, 0, "vhost-1000");	/* in-process vhost */
	/* Guest mode is the guest's time, not the hypervisor's. */
	EVENT(skel, t_kvm_entry, 0, 100, VCPU1, VM, 1);
	SAMPLE(skel, VCPU1, VM, TEXT(0x1800), 0, 0, "CPU 1/KVM");
	/* A vhost kernel thread working for the VM (before Linux 6.4). */
	SAMPLE(skel, 3000, 3000, TEXT(0x900000), 0, 1, "vhost-1000");
	SAMPLE(skel, 3000, 3000, TEXT(0x2100), 0, 1, "vhost-1000");
	SAMPLE(skel, 3001, 3001, TEXT(0x2100), 0, 1, "vhost-4242");	/* not a VM */
	/* Bridge softirq in another context is shared; the same code in a syscall is not. */
	SAMPLE(skel, OTHER, OTHER, TEXT(0x2100), 1, 0, "iperf3");
	SAMPLE(skel, 0, 0, TEXT(0x2200), 1, 1, "swapper/1");
	SAMPLE(skel, OTHER, OTHER, TEXT(0x2100), 0, 0, "iperf3");
	SAMPLE(skel, OTHER, OTHER, TEXT(0x1100), 1, 0, "iperf3");	/* kvm code: not shared */

	/* A shared helper (say, where interrupts come back on) counts for its caller's code. */
	SAMPLE_IN(skel, VCPU0, VM, TEXT(0x900000), TEXT(0x900100), TEXT(0x1400), 0, 0,
		  "CPU 0/TCG");
	SAMPLE_IN(skel, OTHER, OTHER, TEXT(0x900000), TEXT(0x2400), TEXT(0x1400), 1, 0,
		  "iperf3");

	c = percpu_of(skel, VM, 10);
	assert_int_equal(c.samples_own[KT_COMP_QEMU_USER], 1);
	assert_int_equal(c.samples_own[KT_COMP_KVM], 3);
	assert_int_equal(c.samples_own[KT_COMP_BRIDGE], 0);
	assert_int_equal(c.samples_softirq[KT_COMP_BRIDGE], 1);	/* its own, or others'? */
	assert_int_equal(c.samples_own[KT_COMP_OTHER_KERNEL], 2);
	assert_int_equal(c.samples_own[KT_COMP_VHOST], 1);
	assert_int_equal(c.samples_ext[KT_COMP_VHOST], 1);
	assert_int_equal(c.samples_ext[KT_COMP_BRIDGE], 1);
	assert_int_equal(shared_hits(skel, KT_COMP_BRIDGE), 3);
	assert_int_equal(shared_hits(skel, KT_COMP_KVM), 0);
}

/*
 * A sample inside KVM_RUN names the thread's vCPU where nothing else does (no kvm hook fires,
 * the iterator found it in user space); one outside KVM_RUN leaves it named.
 */
static void test_sample_names_vcpu(void **state)
{
	struct acct_test *skel = *state;
	struct kt_thread t;

	load_ranges(skel);
	track(skel, 10, VM);
	SAMPLE_KVM_RUN(skel, VCPU1, VM, 0, TEXT(0x1800), TEXT(0x900000), TEXT(0x900000), 0, 0,
		       "vcpu-thread");
	t = thread_of(skel, VCPU1);
	assert_false(t.flags & KT_THREAD_IN_KVM_RUN);
	SAMPLE_KVM_RUN(skel, VCPU1, VM, 2, TEXT(0x1800), TEXT(0x900000), TEXT(0x900000), 0, 0,
		       "vcpu-thread");
	SAMPLE_KVM_RUN(skel, VCPU1, VM, 0, 0x55d0c0de1234ULL, TEXT(0x900000), TEXT(0x900000), 0, 0,
		       "vcpu-thread");
	t = thread_of(skel, VCPU1);
	assert_true(t.flags & KT_THREAD_IN_KVM_RUN);
	assert_int_equal(t.kvm.vcpu_id, 1);
	assert_int_equal(percpu_of(skel, VM, 10).samples_own[KT_COMP_KVM], 2);
}

/* A child that works 1 ms and sleeps 0.1 ms until killed, so it leaves its CPU often even
 * on an idle host (a task alone on its CPU is never switched out); returns its PID. */
static pid_t burner(void)
{
	struct timespec nap = { .tv_nsec = 100 * 1000 }, t0, t1;
	pid_t pid = fork();

	if (pid)
		return pid;
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		do
			clock_gettime(CLOCK_MONOTONIC, &t1);
		while ((t1.tv_sec - t0.tv_sec) * 1000000000L + t1.tv_nsec - t0.tv_nsec < 1000000);
		nanosleep(&nap, NULL);
	}
}

/* The product with its scheduler hooks as raw_tp twins (for kernels without tp_btf), attached:
 * no kvm hooks (no tracefs needed), no sampler. */
static struct kvmtrace *load_raw_twins(void)
{
	struct kvmtrace *skel = kvmtrace__open();
	struct bpf_program *prog;

	assert_non_null(skel);
	bpf_object__for_each_program(prog, skel->obj) {
		const char *name = bpf_program__name(prog);
		size_t len = strlen(name);

		if (!strncmp(name, "kt_kvm_", 7) || !strncmp(name, "kt_sample", 9))
			bpf_program__set_autoload(prog, false);
		else if (!strncmp(name, "kt_sched_", 9))
			bpf_program__set_autoload(prog, len > 4 && !strcmp(name + len - 4, "_raw"));
	}
	assert_int_equal(kvmtrace__load(skel), 0);
	assert_int_equal(kvmtrace__attach(skel), 0);
	return skel;
}

/*
 * The product as it runs where nothing needs a program at context switches: the task iterator,
 * sched_process_exit, _exec and _free, no sched_switch.
 */
static struct kvmtrace *load_task_iter(void)
{
	struct kvmtrace *skel = kvmtrace__open();
	struct bpf_program *prog;

	assert_non_null(skel);
	bpf_object__for_each_program(prog, skel->obj) {
		const char *name = bpf_program__name(prog);

		if (!strncmp(name, "kt_kvm_", 7) || !strncmp(name, "kt_sample", 9) ||
		    !strncmp(name, "kt_sched_switch", 15) || !strncmp(name, "kt_sched_wakeup", 15))
			bpf_program__set_autoload(prog, false);
		else if (!strncmp(name, "kt_sched_", 9) || !strncmp(name, "kt_task_rename", 14))
			bpf_program__set_autoload(prog, !strstr(name, "_raw"));
	}
	assert_int_equal(kvmtrace__load(skel), 0);
	assert_int_equal(kvmtrace__attach(skel), 0);
	return skel;
}

/* One drain's pass of the task iterator over every task. */
static void iterate_tasks(struct kvmtrace *skel)
{
	int fd = bpf_iter_create(bpf_link__fd(skel->links.kt_task_iter));
	char buf[64];

	assert_true(fd >= 0);
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
}

/* Tracks pid through the product's own kt_add_vm syscall program; returns the VM's birth. */
static __u64 add_vm(struct kvmtrace *skel, pid_t pid, bool from_birth)
{
	struct kt_add_vm_args args = { .tgid = pid, .from_birth = from_birth, .comm = "test-vmm" };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &args, .ctx_size_in = sizeof(args));

	assert_int_equal(bpf_prog_test_run_opts(bpf_program__fd(skel->progs.kt_add_vm), &opts), 0);
	assert_int_equal(opts.retval, 0);
	assert_true(args.birth_ns > 0);
	return args.birth_ns;
}

/*
 * Kills pid and returns its VM's figures, retired by its exit: its thread entry is folded (left
 * for user space to drain its last figures), or gone.
 */
static struct kt_vm kill_and_retire(struct kvmtrace *skel, pid_t pid, __u64 birth_ns)
{
	struct kt_thread t;
	__u32 tid = pid;

	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	assert_true(bpf_map__lookup_elem(skel->maps.threads, &tid, sizeof(tid), &t, sizeof(t), 0) ||
		    (t.flags & KT_THREAD_FOLDED));
	return dead_vm_of(skel->maps.dead_vms, pid, birth_ns);
}

/* The raw_tp twins pass the verifier and account a real process: a child burning CPU. */
static void test_raw_tp_twins_account_real_process(void **state)
{
	struct timespec pause = { .tv_nsec = 200 * 1000 * 1000 };
	struct kvmtrace *skel = load_raw_twins();
	pid_t child = burner();
	__u64 birth = add_vm(skel, child, false);
	struct kt_vm dead;

	(void)state;
	nanosleep(&pause, NULL);
	dead = kill_and_retire(skel, child, birth);
	/* Some of the 200 ms on a CPU: the first slice began before it was added. */
	assert_true(dead.exited.on_cpu_ns > 10 * 1000 * 1000);
	assert_true(dead.exited.on_cpu_ns < 400 * 1000 * 1000);
	assert_string_equal(dead.comm, "test-vmm");
	kvmtrace__destroy(skel);
}

/*
 * A process counted from birth (a daemonized VMM's child, found after it began) gets all of its
 * time, also what it ran before it was added: the kernel's own figure when it stops.
 */
static void test_from_birth_counts_whole_life(void **state)
{
	struct timespec pause = { .tv_nsec = 200 * 1000 * 1000 };
	struct kvmtrace *skel = load_raw_twins();
	pid_t child = burner();
	unsigned long long runtime_ns = 0, unwatched_ns = 0;
	struct kt_vm dead;
	char path[64];
	__u64 birth;
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "/proc/%d/schedstat", child);
	nanosleep(&pause, NULL);		/* runs unwatched */
	f = fopen(path, "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%llu", &unwatched_ns), 1);
	fclose(f);
	birth = add_vm(skel, child, true);
	nanosleep(&pause, NULL);
	kill(child, SIGSTOP);
	waitpid(child, NULL, WUNTRACED);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%llu", &runtime_ns), 1);
	fclose(f);
	dead = kill_and_retire(skel, child, birth);
	/* Its whole burn, what it ran unwatched too (however loaded the machine), to within what
	 * a stopped process's exit adds. */
	assert_true(unwatched_ns > 0 && runtime_ns > unwatched_ns);
	assert_true(dead.exited.on_cpu_ns >= runtime_ns);
	assert_true(dead.exited.on_cpu_ns < runtime_ns + 2 * 1000 * 1000);
	kvmtrace__destroy(skel);
}

/* A burning thread of the child of test_real_group_exit. */
static void *burn_thread(void *arg)
{
	(void)arg;
	for (;;)
		;
	return NULL;
}

/*
 * A real process of 8 threads that touched 1 GiB, killed with SIGKILL while its threads run:
 * its VM is retired with every thread's time, the address space's teardown included, within 1%
 * (or 2 ms) of the rusage wait4 gives; no thread entry is left. Several times, as the exit
 * hooks' order changes from run to run.
 */
static void real_group_exits(struct kvmtrace *skel, bool task_iter)
{
	struct timespec pause = { .tv_nsec = 50 * 1000 * 1000 };
	int run, fds[2], i;

	for (run = 0; run < 5; run++) {
		struct kt_vm_key key;
		struct rusage ru;
		struct kt_vm dead;
		__u64 rusage_ns;
		__u32 tid, next;
		pid_t child;
		char c;

		assert_int_equal(pipe(fds), 0);
		child = fork();
		if (!child) {
			size_t len = run ? 64ul << 20 : 1ul << 30;	/* the first: 1 GiB */
			char *mem = mmap(NULL, len, PROT_READ | PROT_WRITE,
					 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			pthread_t t;
			int i;

			if (mem == MAP_FAILED)
				_exit(1);
			memset(mem, 1, len);
			for (i = 0; i < 7; i++)
				pthread_create(&t, NULL, burn_thread, NULL);
			if (write(fds[1], "r", 1) != 1)
				_exit(1);
			burn_thread(NULL);
		}
		close(fds[1]);
		assert_int_equal(read(fds[0], &c, 1), 1);
		close(fds[0]);
		key = (struct kt_vm_key){ .tgid = child, .birth_ns = add_vm(skel, child, true) };
		for (i = 0; i < 3; i++) {
			nanosleep(&pause, NULL);
			if (task_iter)
				iterate_tasks(skel);
		}
		kill(child, SIGKILL);
		assert_int_equal(wait4(child, NULL, 0, &ru), child);
		rusage_ns = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000ull +
			    (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ull;
		/* Without sched_switch, the last figures come at the threads' freeing, an RCU
		 * grace period after their release. */
		for (i = 0; task_iter && i < 200 && !bpf_map__lookup_elem(skel->maps.vms,
				&key.tgid, sizeof(key.tgid), &dead, sizeof(dead), 0); i++)
			nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
		dead = dead_vm_of(skel->maps.dead_vms, key.tgid, key.birth_ns);
		print_message("run %d: traced %llu ns, rusage %llu ns\n", run,
			      (unsigned long long)dead.exited.on_cpu_ns,
			      (unsigned long long)rusage_ns);
		assert_true(dead.exited.on_cpu_ns + 2000000 >= rusage_ns &&
			    dead.exited.on_cpu_ns <= rusage_ns + 2000000 + rusage_ns / 100);
		assert_true(dead.exited.on_cpu_ns + rusage_ns / 100 + 2000000 >= rusage_ns);
		for (tid = 0; !bpf_map__get_next_key(skel->maps.threads, tid ? &tid : NULL, &next,
						     sizeof(next)); tid = next) {
			struct kt_thread t;

			assert_int_equal(bpf_map__lookup_elem(skel->maps.threads, &next,
							      sizeof(next), &t, sizeof(t), 0), 0);
			assert_true(t.tgid != (__u32)child || (t.flags & KT_THREAD_FOLDED));
		}
		bpf_map__delete_elem(skel->maps.dead_vms, &key, sizeof(key), 0);
	}
	kvmtrace__destroy(skel);
}

static void test_real_group_exit(void **state)
{
	(void)state;
	real_group_exits(load_raw_twins(), false);
}

/* The same where no program runs at context switches: the task iterator reads the threads. */
static void test_real_group_exit_task_iter(void **state)
{
	(void)state;
	real_group_exits(load_task_iter(), true);
}

/* A child that names itself name (NULL: keeps its name) and sleeps until killed. */
static pid_t sleeper(const char *name)
{
	int fds[2];
	pid_t pid;
	char c;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	if (!pid) {
		if (name)
			prctl(PR_SET_NAME, name);
		if (write(fds[1], "r", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], &c, 1), 1);
	close(fds[0]);
	return pid;
}

static __u32 thread_renames(struct kvmtrace *skel, __u32 tid)
{
	struct kt_thread t;

	assert_int_equal(bpf_map__lookup_elem(skel->maps.threads, &tid, sizeof(tid), &t,
					      sizeof(t), 0), 0);
	return t.flags & KT_THREAD_RENAMES;
}

/*
 * task_rename counts a tracked thread's renames in its flags, so user space reads a name
 * again only when it changed: this process, tracked, names itself as a QEMU thread does. A
 * task that is no VM's (a child naming itself) gets no entry for it.
 */
static void test_task_rename_counted(void **state)
{
	struct kvmtrace *skel = load_task_iter();
	__u32 before, after, again, self = getpid(), tid;
	char name[KT_COMM_LEN] = "";
	struct kt_thread t;
	pid_t plain;
	int plain_entry;

	(void)state;
	add_vm(skel, self, false);
	iterate_tasks(skel);
	prctl(PR_GET_NAME, name);
	before = thread_renames(skel, self);
	prctl(PR_SET_NAME, "CPU 0/KVM");
	after = thread_renames(skel, self);
	prctl(PR_SET_NAME, name);
	again = thread_renames(skel, self);
	plain = sleeper("not-a-vm");
	tid = plain;
	plain_entry = bpf_map__lookup_elem(skel->maps.threads, &tid, sizeof(tid), &t, sizeof(t), 0);
	kill(plain, SIGKILL);
	waitpid(plain, NULL, 0);
	kvmtrace__destroy(skel);
	assert_int_equal(after, before + KT_THREAD_RENAME_ONE);
	assert_int_equal(again, after + KT_THREAD_RENAME_ONE);
	assert_int_not_equal(plain_entry, 0);
}

/* Whether a task iteration lists id for the discovery scan. */
static bool iteration_lists(struct kvmtrace *skel, __u32 id)
{
	int fd = bpf_iter_create(bpf_link__fd(skel->links.kt_task_iter));
	__u32 buf[256];
	bool found = false;
	ssize_t got, i;

	assert_true(fd >= 0);
	while ((got = read(fd, buf, sizeof(buf))) > 0) {
		assert_int_equal(got % sizeof(buf[0]), 0);
		for (i = 0; i < got / (ssize_t)sizeof(buf[0]); i++)
			found |= buf[i] == id;
	}
	close(fd);
	return found;
}

static void *sleep_thread(void *tid)
{
	*(pid_t *)tid = gettid();
	for (;;)
		pause();
	return NULL;
}

/*
 * The task iterator lists for the discovery scan, when asked, the processes begun after
 * scan_after_ns (CLOCK_BOOTTIME) and those named as VMMs: never a thread, nor a kernel thread
 * by its age.
 */
static void test_task_iter_lists_for_scan(void **state)
{
	struct kvmtrace *skel = load_task_iter();
	pid_t vmm = sleeper("qemu-system-x86"), plain, tid = 0;
	struct timespec boot;
	pthread_t thread;

	(void)state;
	clock_gettime(CLOCK_BOOTTIME, &boot);
	plain = sleeper(NULL);
	assert_int_equal(pthread_create(&thread, NULL, sleep_thread, &tid), 0);
	while (!__atomic_load_n(&tid, __ATOMIC_SEQ_CST))
		sched_yield();
	assert_false(iteration_lists(skel, plain));	/* not asked */
	skel->bss->scan_wanted = true;
	skel->bss->scan_after_ns = (__u64)boot.tv_sec * 1000000000ull + boot.tv_nsec;
	assert_true(iteration_lists(skel, plain));
	assert_true(iteration_lists(skel, vmm));	/* older, but a VMM's name */
	assert_false(iteration_lists(skel, tid));	/* a thread */
	skel->bss->scan_after_ns = 0;
	assert_true(iteration_lists(skel, getpid()));
	assert_false(iteration_lists(skel, 2));	/* kthreadd */
	skel->bss->scan_after_ns = ~0ull;
	assert_false(iteration_lists(skel, plain));
	assert_true(iteration_lists(skel, vmm));
	kill(vmm, SIGKILL);
	kill(plain, SIGKILL);
	waitpid(vmm, NULL, 0);
	waitpid(plain, NULL, 0);
	pthread_cancel(thread);
	pthread_join(thread, NULL);
	kvmtrace__destroy(skel);
}

/*
 * The real kvm_entry and kvm_exit programs, which the tracer leaves unloaded where those
 * tracepoints do not fire (software KVM, as here), pass the verifier, with perf counters and
 * without: the hosts that run them are not the ones the tests run on.
 */
static void test_kvm_programs_load(void **state)
{
	struct bpf_program *prog;
	struct kvmtrace *skel;
	__u32 counters;

	(void)state;
	if (access("/sys/kernel/tracing/events/kvm/kvm_exit", F_OK))
		skip();
	for (counters = 0; counters <= 2; counters += 2) {
		skel = kvmtrace__open();
		assert_non_null(skel);
		bpf_object__for_each_program(prog, skel->obj)
			bpf_program__set_autoload(prog, prog == skel->progs.kt_kvm_entry ||
							prog == skel->progs.kt_kvm_exit);
		skel->rodata->nr_counters = counters;
		assert_int_equal(kvmtrace__load(skel), 0);
		kvmtrace__destroy(skel);
	}
}

/* A test of the test programs, loaded afresh with opts. */
#define LOADED(test, opts) \
	cmocka_unit_test_prestate_setup_teardown(test, setup, teardown, (void *)&(opts))

int main(void)
{
	const struct CMUnitTest tests[] = {
		LOADED(test_tracked_blocks, discovering),
		LOADED(test_oncpu_and_run_delay, discovering),
		LOADED(test_start_mid_slice_and_mid_guest, discovering),
		LOADED(test_vcpu_migrates, discovering),
		LOADED(test_exit_runs, discovering),
		LOADED(test_exits_live_on_cpu, discovering),
		LOADED(test_flush_starts_unknown_slice, discovering),
		LOADED(test_exiting_thread_switches, discovering),
		LOADED(test_thread_exits_in_guest, discovering),
		LOADED(test_pid_reuse, discovering),
		LOADED(test_exec_discovery, discovering),
		LOADED(test_no_discovery, given_pids),
		LOADED(test_kernel_counters, discovering),
		LOADED(test_disk, discovering),
		LOADED(test_disk_bio_sets, discovering),
		LOADED(test_vm_table_full, discovering),
		LOADED(test_counters_split_at_entry_exit, counting),
		LOADED(test_counters_between_vm_threads, counting),
		LOADED(test_counters_unknown_base, counting),
		LOADED(test_counters_multiplexed, counting),
		LOADED(test_counters_quick_readings, counting),
		LOADED(test_unreported_switch_in, counting),
		LOADED(test_counters_split_at_entry_exit, counting_lean),
		LOADED(test_counters_between_vm_threads, counting_lean),
		LOADED(test_counters_unknown_base, counting_lean),
		LOADED(test_counters_multiplexed, counting_lean),
		LOADED(test_counters_quick_readings, counting_lean),
		LOADED(test_unreported_switch_in, counting_lean),
		LOADED(test_sampler_classifies, discovering),
		LOADED(test_sample_names_vcpu, discovering),
		cmocka_unit_test(test_raw_tp_twins_account_real_process),
		cmocka_unit_test(test_from_birth_counts_whole_life),
		cmocka_unit_test(test_real_group_exit),
		cmocka_unit_test(test_real_group_exit_task_iter),
		cmocka_unit_test(test_task_iter_lists_for_scan),
		cmocka_unit_test(test_task_rename_counted),
		cmocka_unit_test(test_kvm_programs_load),
		LOADED(test_vmx_reason_flags, discovering),
		LOADED(test_exit_handling_split, discovering),
		LOADED(test_exit_handling_split, discovering_lean),
		LOADED(test_lean_switch_leaves_readings, discovering_lean),
		LOADED(test_switch_out_in_guest, discovering),
		LOADED(test_group_exit_any_order, discovering),
		LOADED(test_exit_teardown_counted, discovering),
		LOADED(test_task_iter_readings, discovering),
		LOADED(test_task_iter_group_end, discovering),
	};

	nr_cpus = libbpf_num_possible_cpus();
	if (nr_cpus <= 0)
		return 1;
	return cmocka_run_group_tests_name("bpf_acct", tests, NULL, NULL);
}
