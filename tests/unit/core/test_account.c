// SPDX-License-Identifier: GPL-2.0
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "account.h"

/* A fake host: names, ticks and thread names the tests set. */
struct fake_host {
	struct proc_cputime ct;
	bool gone;
	int vcpus;			/* what libvirt says; 0: unknown */
	int taps;			/* taps counted for the VM */
	const char *thread_names[4];	/* indexed by tid - 101 */
	int name_reads;			/* thread names read */
	int cputime_reads;		/* life ticks read */
	struct kvm_exit_counts kvm;	/* KVM's statistics; invalid: the VMM holds none */
};

static int fake_identify(void *ctx, const struct kt_vm *vm, char *name, size_t name_len,
			 char *uuid, size_t uuid_len)
{
	struct fake_host *h = ctx;
	uint32_t pid = vm->tgid;

	if (h->gone)
		return -1;
	snprintf(name, name_len, "%s", pid == 300 ? "twin" : pid == 400 ? "twin" : "alpha");
	snprintf(uuid, uuid_len, "%s", pid == 100 ? "6f1e2a3b-0000-4000-8000-00000000a1fa" : "");
	return 0;
}

static int fake_vcpus(void *ctx, int pid, const char *uuid)
{
	struct fake_host *h = ctx;

	(void)pid;
	(void)uuid;
	return h->vcpus ? h->vcpus : -1;
}

static int fake_cputime(void *ctx, int pid, struct proc_cputime *ct)
{
	struct fake_host *h = ctx;

	(void)pid;
	h->cputime_reads++;
	if (h->gone)
		return -1;
	*ct = h->ct;
	return 0;
}

static int fake_thread_name(void *ctx, int pid, int tid, char *out, size_t len)
{
	struct fake_host *h = ctx;

	(void)pid;
	h->name_reads++;
	if (tid < 101 || tid > 104 || !h->thread_names[tid - 101])
		return -1;
	snprintf(out, len, "%s", h->thread_names[tid - 101]);
	return 0;
}

static int fake_taps(void *ctx, int pid)
{
	struct fake_host *h = ctx;

	(void)pid;
	return h->taps;
}

static void fake_memory(void *ctx, int pid, const char *uuid, int64_t *rss, int64_t *guest)
{
	struct fake_host *h = ctx;

	(void)uuid;
	*rss = h->gone ? -1 : pid * 4096;
	*guest = h->vcpus ? 256 << 20 : -1;
}

static int fake_kvm_exits(void *ctx, int pid, struct kvm_exit_counts *out)
{
	struct fake_host *h = ctx;

	(void)pid;
	*out = h->kvm;
	return h->kvm.valid ? 0 : -1;
}

static struct vm_source fake_source(struct fake_host *h)
{
	struct vm_source src = {
		.identify = fake_identify,
		.cputime = fake_cputime,
		.thread_name = fake_thread_name,
		.vcpus = fake_vcpus,
		.taps = fake_taps,
		.memory = fake_memory,
		.kvm_exits = fake_kvm_exits,
		.ctx = h,
	};
	return src;
}

static const struct account_opts kvm_host = { .guest_observable = true, .disk_observable = true };
static const struct account_opts tcg_host = { .guest_observable = false, .disk_observable = true };
/* Runs with two counters, one of them absent (no PMU), and the sampler at 1 ms per hit. */
static const struct account_opts sampled_host = {
	.guest_observable = true, .disk_observable = true, .nr_counters = 2,
	.counter_name = { "cycles", "page-faults" }, .counter_column = { "cycles", "page_faults" },
	.counter_active = { false, true }, .sample_period_ns = 1000000,
};

static void test_mono_advance(void **state)
{
	__u64 reported = 0, total = 0;

	(void)state;
	total += mono_advance(&reported, 100);
	assert_int_equal(total, 100);
	/* A torn read over-reads by 50; the next, lower reading gives 0, and the sum is exact
	 * again as soon as the true value passes the over-read. */
	total += mono_advance(&reported, 250);
	assert_int_equal(mono_advance(&reported, 200), 0);
	total += mono_advance(&reported, 400);
	assert_int_equal(total, 400);
}

static void test_split_by_ticks(void **state)
{
	uint64_t user, kernel;

	(void)state;
	assert_true(split_by_ticks(1000, 3, 1, &user, &kernel));
	assert_int_equal(user, 750);
	assert_int_equal(kernel, 250);
	assert_true(split_by_ticks(1001, 1, 2, &user, &kernel));
	assert_int_equal(user + kernel, 1001);
	assert_int_equal(user, 334);	/* 333.67: rounded to the nearest */
	/* Hours of ns times many ticks: no overflow. */
	assert_true(split_by_ticks(36000000000000ull, 5000000, 5000000, &user, &kernel));
	assert_int_equal(user, 18000000000000ull);
	assert_false(split_by_ticks(1000, 0, 0, &user, &kernel));
	assert_int_equal(user + kernel, 0);
}

static void test_split_exact(void **state)
{
	const uint64_t weights[4] = { 1, 0, 1, 1 }, none[2] = { 0, 0 };
	uint64_t parts[4];

	(void)state;
	assert_true(split_exact(1000, weights, 4, parts));
	assert_int_equal(parts[0] + parts[1] + parts[2] + parts[3], 1000);
	assert_int_equal(parts[1], 0);	/* no weight, no share, even of the rounding */
	assert_true(parts[0] >= 333 && parts[2] >= 333 && parts[3] >= 333);
	assert_false(split_exact(1000, none, 2, parts));
	assert_int_equal(parts[0] + parts[1], 0);
}

/*
 * A test's world: the fake host, an account over it and a snapshot builder for up to two VMs,
 * four threads and four exit reasons. The per-CPU sums and the taps' counts, once attached,
 * stay in every snapshot, as a VM's keep coming in each drain.
 */
struct fixture {
	struct fake_host host;
	struct vm_source src;
	struct account *a;
	struct snap_vm vms[2];
	struct snap_thread threads[4];
	struct snap_exit exits[4];
	struct snap_percpu *percpu;
	size_t nr_percpu;
	struct snap_net *nets;
	size_t nr_nets;
	struct snapshot snap;
};

/* Setup: *state holds the host's account_opts, and then the fixture. */
static int fixture_open(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->src = fake_source(&f->host);
	f->a = account_new(&f->src, *state);
	*state = f;
	return f->a ? 0 : -1;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	account_free(f->a);
	free(f);
	return 0;
}

/* A new account over the same host: it knows none of the VMs seen so far. */
static void reopen(struct fixture *f, const struct account_opts *opts)
{
	account_free(f->a);
	f->a = account_new(&f->src, opts);
	assert_non_null(f->a);
}

static void fixture_reset(struct fixture *f, uint64_t mono_ns)
{
	memset(&f->snap, 0, sizeof(f->snap));
	f->snap.mono_ns = mono_ns;
	f->snap.vms = f->vms;
	f->snap.threads = f->threads;
	f->snap.exits = f->exits;
	f->snap.percpu = f->percpu;
	f->snap.nr_percpu = f->nr_percpu;
	f->snap.nets = f->nets;
	f->snap.nr_nets = f->nr_nets;
}

static void attach_percpu(struct fixture *f, struct snap_percpu *pc)
{
	f->percpu = f->snap.percpu = pc;
	f->nr_percpu = f->snap.nr_percpu = 1;
}

static void attach_nets(struct fixture *f, struct snap_net *nets, size_t nr)
{
	f->nets = f->snap.nets = nets;
	f->nr_nets = f->snap.nr_nets = nr;
}

/* Accounts the snapshot built so far; r: its rows. */
static int update(struct fixture *f, struct vm_record **r)
{
	return account_update(f->a, &f->snap, r);
}

static void add_vm(struct fixture *f, uint32_t tgid, uint64_t birth, bool dead,
		   struct kt_totals exited)
{
	struct snap_vm *v = &f->vms[f->snap.nr_vms++];

	memset(v, 0, sizeof(*v));
	v->dead = dead;
	v->vm.tgid = tgid;
	v->vm.birth_ns = birth;
	v->vm.exited = exited;
}

/* A fresh snapshot drained at mono_ns, with one VM in it. */
static void snapshot_of(struct fixture *f, uint64_t mono_ns, uint32_t tgid, uint64_t birth,
			bool dead, struct kt_totals exited)
{
	fixture_reset(f, mono_ns);
	add_vm(f, tgid, birth, dead, exited);
}

static struct kt_thread *add_thread(struct fixture *f, uint32_t tid, uint32_t tgid,
				    uint64_t birth, struct kt_totals sum)
{
	struct snap_thread *t = &f->threads[f->snap.nr_threads++];

	memset(t, 0, sizeof(*t));
	t->tid = tid;
	t->t.tgid = tgid;
	t->t.vm_birth_ns = birth;
	t->t.sum = sum;
	return &t->t;
}

static void add_exit(struct fixture *f, uint32_t tgid, uint64_t birth, uint32_t reason,
		     uint64_t count, uint64_t handling)
{
	struct snap_exit *e = &f->exits[f->snap.nr_exits++];

	memset(e, 0, sizeof(*e));
	e->key.tgid = tgid;
	e->key.vm_birth_ns = birth;
	e->key.isa = 1;
	e->key.reason = reason;
	e->stat.count = count;
	e->stat.handling_ns = handling;
}

static struct kt_totals totals(uint64_t on_cpu, uint64_t guest, uint64_t delay, uint64_t exits,
			       uint64_t handling)
{
	struct kt_totals t = {
		.on_cpu_ns = on_cpu, .guest_ns = guest, .run_delay_ns = delay, .exits = exits,
		.exit_handling_ns = handling,
	};

	return t;
}

/* The kernel's KVM statistics of a VM: the total and two categories, cumulative. */
static void set_kvm_exits(struct fake_host *h, uint64_t exits, uint64_t halt, uint64_t irq)
{
	h->kvm = (struct kvm_exit_counts){ .valid = true, .exits = exits, .nr_kinds = 2 };
	snprintf(h->kvm.kind[0].name, sizeof(h->kvm.kind[0].name), "halt_exits");
	h->kvm.kind[0].count = halt;
	snprintf(h->kvm.kind[1].name, sizeof(h->kvm.kind[1].name), "irq_exits");
	h->kvm.kind[1].count = irq;
	h->kvm.nr_vcpus = 1;
	h->kvm.vcpu[0].index = 0;
	h->kvm.vcpu[0].exits = exits;
}

/*
 * Software KVM: no tracepoint fires, the kernel charges guest time a tick at a time. The row's
 * source is "kernel"; guest time never exceeds on-CPU time in a row, and what a row cannot
 * take is carried to the next; exits come from KVM's statistics, by its categories.
 */
static void test_kernel_guest_source(void **state)
{
	struct fixture *f = *state;
	struct kt_totals sum = totals(0, 0, 0, 0, 0);
	struct vm_record *r;
	struct kt_thread *t;

	set_kvm_exits(&f->host, 1000, 10, 5);
	snapshot_of(f, 1000, 100, 5, false, totals(0, 0, 0, 0, 0));
	add_thread(f, 103, 100, 5, sum);
	assert_int_equal(update(f, &r), 1);
	assert_int_equal(r->guest_source, GUEST_SOURCE_NONE);
	assert_false(r->guest_valid);

	/* A tick of 4 ms charged to a thread that ran 3 ms: 3 ms now, 1 ms carried. */
	set_kvm_exits(&f->host, 1600, 30, 25);
	sum.on_cpu_ns = 3000000;
	sum.kernel_guest_ns = 4000000;
	snapshot_of(f, 2000, 100, 5, false, totals(0, 0, 0, 0, 0));
	t = add_thread(f, 103, 100, 5, sum);
	t->flags = KT_THREAD_GUEST_TIME | KT_THREAD_IN_KVM_RUN;
	t->kvm.vcpu_id = 0;
	add_thread(f, 104, 100, 5, totals(10, 0, 0, 0, 0))->flags = KT_THREAD_GUEST_TIME;
	assert_int_equal(update(f, &r), 1);
	assert_int_equal(r->guest_source, GUEST_SOURCE_KERNEL);
	assert_true(r->guest_valid);
	/* The VM's guest time is capped by the VM's on-CPU time, each vCPU's by its own. */
	assert_int_equal(r->cpu_total_ns, 3000010);
	assert_int_equal(r->cpu_guest_ns, 3000010);
	assert_int_equal(r->cpu_hyp_ns, 0);
	assert_int_equal(r->exits, 600);
	assert_false(r->exits_unmeasured);
	assert_true(r->exit_handling_unmeasured);
	assert_int_equal(r->nr_exits, 2);
	assert_string_equal(r->exit[0].name, "halt_exits");
	assert_int_equal(r->exit[0].count, 20);
	assert_int_equal(r->exit[1].count, 20);
	assert_string_equal(r->top_exit_reason, "halt_exits");
	/* vCPUs by what they do: guest time; the one seen in KVM_RUN has its vCPU's exits. */
	assert_int_equal(r->nr_vcpus, 2);
	assert_int_equal(r->vcpu[0].vcpu, 0);
	assert_int_equal(r->vcpu[0].cpu_guest_ns, 3000000);
	assert_false(r->vcpu[0].exits_unmeasured);
	assert_int_equal(r->vcpu[0].exits, 600);
	assert_int_equal(r->vcpu[1].vcpu, -1);
	assert_true(r->vcpu[1].exits_unmeasured);

	/* The next 2 ms on CPU, no new tick: the carried 1 ms is reported now. */
	sum.on_cpu_ns = 5000000;
	snapshot_of(f, 3000, 100, 5, false, totals(0, 0, 0, 0, 0));
	t = add_thread(f, 103, 100, 5, sum);
	t->flags = KT_THREAD_GUEST_TIME | KT_THREAD_IN_KVM_RUN;
	add_thread(f, 104, 100, 5, totals(10, 0, 0, 0, 0))->flags = KT_THREAD_GUEST_TIME;
	assert_int_equal(update(f, &r), 1);
	assert_int_equal(r->cpu_total_ns, 2000000);
	assert_int_equal(r->cpu_guest_ns, 999990);
	assert_int_equal(r->vcpu[0].cpu_guest_ns, 1000000);
	assert_int_equal(r->exits, 0);
	assert_int_equal(r->nr_exits, 0);

	/* The VMM's stats fds cannot be read: exits empty, guest time still there. */
	f->host.kvm.valid = false;
	reopen(f, &kvm_host);
	snapshot_of(f, 4000, 200, 7, false, totals(0, 0, 0, 0, 0));
	t = add_thread(f, 104, 200, 7, totals(1000, 0, 0, 0, 0));
	t->sum.kernel_guest_ns = 800;
	t->flags = KT_THREAD_GUEST_TIME;
	assert_int_equal(update(f, &r), 1);
	assert_int_equal(r->guest_source, GUEST_SOURCE_KERNEL);
	assert_true(r->exits_unmeasured);
	assert_string_equal(r->top_exit_reason, "");
}

/* A KVM VM over two intervals: deltas, in-progress slice, guest/hyp split, exits, vCPU rows. */
static void test_kvm_vm_intervals(void **state)
{
	struct fixture *f = *state;
	struct vm_record *r;
	struct kt_thread *t;

	f->host = (struct fake_host){ .thread_names = { "qemu-system-x86", "CPU 0/KVM" } };
	/* Priming drain at start. */
	snapshot_of(f, 1000, 100, 5, false, totals(0, 0, 0, 0, 0));
	add_thread(f, 102, 100, 5, totals(0, 0, 0, 0, 0));
	assert_int_equal(update(f, &r), 1);

	/* Interval 1: the vCPU ran 700 ns (400 in guest), the last 100 of them in the slice it
	 * is still running, which the drain's flush took. */
	snapshot_of(f, 2000, 100, 5, false, totals(50, 0, 5, 0, 0));	/* an exited thread's share */
	t = add_thread(f, 102, 100, 5, totals(700, 400, 30, 3, 90));
	t->flags = KT_THREAD_VCPU;
	t->kvm.vcpu_id = 0;
	t->oncpu_since = 1900;
	t->sum.user_ns = 5;
	t->sum.kernel_guest_ns = 4;
	t->sum.system_ns = 1;
	t = add_thread(f, 101, 100, 5, totals(200, 0, 10, 0, 0));
	t->sum.user_ns = 1;
	t->sum.system_ns = 1;
	add_exit(f, 100, 5, 30, 2, 60);
	add_exit(f, 100, 5, 48, 1, 30);
	assert_int_equal(update(f, &r), 1);
	assert_string_equal(r->vm, "alpha");
	assert_string_equal(r->uuid, "6f1e2a3b-0000-4000-8000-00000000a1fa");
	assert_int_equal(r->pid, 100);
	assert_true(r->guest_valid);
	assert_int_equal(r->cpu_total_ns, 50 + 700 + 200);
	assert_int_equal(r->cpu_guest_ns, 400);
	assert_int_equal(r->cpu_hyp_ns, 550);
	/* The threads' ticks: user 6 minus guest 4 = 2, system 2: half and half. */
	assert_true(r->hyp_split_valid);
	assert_int_equal(r->cpu_hyp_user_ns, 275);
	assert_int_equal(r->cpu_hyp_kernel_ns, 275);
	assert_int_equal(r->exits, 3);
	assert_int_equal(r->exit_handling_ns, 90);
	assert_int_equal(r->run_delay_ns, 45);
	assert_string_equal(r->top_exit_reason, "IO_INSTRUCTION");
	assert_int_equal(r->vcpus, 1);
	assert_int_equal(r->nr_vcpus, 1);
	assert_int_equal(r->vcpu[0].tid, 102);
	assert_int_equal(r->vcpu[0].vcpu, 0);
	assert_string_equal(r->vcpu[0].thread, "CPU 0/KVM");
	assert_int_equal(r->vcpu[0].cpu_total_ns, 700);
	assert_int_equal(r->nr_exits, 2);
	assert_false(r->final);

	/* Interval 2: the slice ended at 2100 (600 + 200); one more exit; no hypervisor time. */
	snapshot_of(f, 3000, 100, 5, false, totals(50, 0, 5, 0, 0));
	t = add_thread(f, 102, 100, 5, totals(800, 500, 30, 4, 100));
	t->flags = KT_THREAD_VCPU;
	add_thread(f, 101, 100, 5, totals(200, 0, 10, 0, 0));
	add_exit(f, 100, 5, 30, 2, 60);
	add_exit(f, 100, 5, 48, 2, 40);
	assert_int_equal(update(f, &r), 1);
	assert_int_equal(r->cpu_total_ns, 100);
	assert_int_equal(r->cpu_guest_ns, 100);
	assert_int_equal(r->cpu_hyp_ns, 0);
	assert_int_equal(r->exits, 1);
	assert_int_equal(r->exit_handling_ns, 10);
	assert_string_equal(r->top_exit_reason, "EPT_VIOLATION");
	assert_int_equal(r->nr_exits, 1);
	assert_int_equal(r->vcpu[0].cpu_total_ns, 100);
}

/* One interval of a vCPU thread (tid 102) whose renames so far are renames. */
static void vcpu_interval(struct fixture *f, uint64_t at, __u32 renames, struct vm_record **r)
{
	struct kt_thread *t;

	snapshot_of(f, at, 100, 5, false, totals(0, 0, 0, 0, 0));
	t = add_thread(f, 102, 100, 5, totals(at, 0, 0, 0, 0));
	t->flags = KT_THREAD_VCPU | renames * KT_THREAD_RENAME_ONE;
	assert_int_equal(update(f, r), 1);
}

/*
 * A thread's name is read at its first interval and again only after a rename (counted in its
 * flags by task_rename): one that names itself late has its new name from the next row on.
 */
static void test_thread_name_reread_on_rename(void **state)
{
	struct fixture *f = *state;
	struct vm_record *r;

	f->host = (struct fake_host){ .thread_names = { NULL, "ktvmm" } };
	vcpu_interval(f, 1000, 0, &r);
	vcpu_interval(f, 2000, 0, &r);
	assert_int_equal(f->host.name_reads, 1);
	assert_int_equal(r->nr_vcpus, 1);
	assert_string_equal(r->vcpu[0].thread, "ktvmm");
	for (int i = 0; i < 20; i++)
		vcpu_interval(f, 3000 + 1000 * i, 0, &r);
	assert_int_equal(f->host.name_reads, 1);	/* no periodic rereads */
	f->host.thread_names[1] = "CPU 0/KVM";
	vcpu_interval(f, 30000, 1, &r);
	assert_int_equal(f->host.name_reads, 2);
	assert_string_equal(r->vcpu[0].thread, "CPU 0/KVM");
	vcpu_interval(f, 31000, 1, &r);
	assert_int_equal(f->host.name_reads, 2);
	/* The count wraps at 2^16 renames: any change is a rename. */
	f->host.thread_names[1] = "worker";
	vcpu_interval(f, 32000, 0xffff, &r);
	assert_string_equal(r->vcpu[0].thread, "worker");
	assert_int_equal(f->host.name_reads, 3);
}

/*
 * A VM whose threads no tick has hit while traced splits its hypervisor time by its life's
 * ticks, read at the first interval that needs them and then every tenth: a /proc read per VM
 * and interval otherwise.
 */
static void test_life_ticks_reread(void **state)
{
	struct fixture *f = *state;
	struct vm_record *r;
	int i;

	f->host = (struct fake_host){ .ct = { .utime = 3, .stime = 1 } };
	snapshot_of(f, 1000, 100, 5, false, totals(0, 0, 0, 0, 0));
	assert_int_equal(update(f, &r), 1);
	for (i = 1; i <= 10; i++) {
		snapshot_of(f, 1000 + 1000 * i, 100, 5, false, totals(400 * i, 0, 0, 0, 0));
		assert_int_equal(update(f, &r), 1);
		assert_true(r->hyp_split_valid);
		assert_int_equal(r->cpu_hyp_user_ns, 300);
		assert_int_equal(r->cpu_hyp_kernel_ns, 100);
		f->host.ct = (struct proc_cputime){ .utime = 1, .stime = 1 };
	}
	assert_int_equal(f->host.cputime_reads, 1);
	snapshot_of(f, 12000, 100, 5, false, totals(4400, 0, 0, 0, 0));
	assert_int_equal(update(f, &r), 1);
	assert_int_equal(f->host.cputime_reads, 2);
	assert_int_equal(r->cpu_hyp_user_ns, 200);
	assert_int_equal(r->cpu_hyp_kernel_ns, 200);
}

/* A tid reused by a new thread of the same VM is another thread: its rows start afresh. */
static void test_tid_reuse(void **state)
{
	struct fixture *f = *state;
	struct vm_record *r;

	f->host = (struct fake_host){ .thread_names = { NULL, NULL, "CPU 1/KVM" } };
	snapshot_of(f, 1000, 100, 5, false, totals(0, 0, 0, 0, 0));
	add_thread(f, 103, 100, 5, totals(0, 0, 0, 0, 0))->born_ns = 900;
	assert_int_equal(update(f, &r), 1);
	snapshot_of(f, 2000, 100, 5, false, totals(0, 0, 0, 0, 0));
	add_thread(f, 103, 100, 5, totals(5000, 0, 0, 0, 0))->born_ns = 900;
	assert_int_equal(update(f, &r), 1);
	assert_int_equal(r->vcpu[0].cpu_total_ns, 5000);
	/* The thread exited (its 5000 ns folded into the VM) and a new one got its tid. */
	snapshot_of(f, 3000, 100, 5, false, totals(5000, 0, 0, 0, 0));
	add_thread(f, 103, 100, 5, totals(300, 0, 0, 0, 0))->born_ns = 2500;
	assert_int_equal(update(f, &r), 1);
	assert_int_equal(r->cpu_total_ns, 300);
	assert_int_equal(r->nr_vcpus, 1);
	assert_int_equal(r->vcpu[0].cpu_total_ns, 300);
}

/*
 * The drain walks the VMs, then the threads: a thread folded into its VM between the walks is
 * in the threads, marked, but not yet in the VM's exited sum. Its time is counted once, at the
 * next drain; its vCPU row gets its last interval.
 */
static void test_drain_races_exit(void **state)
{
	struct fixture *f = *state;
	struct vm_record *r;
	struct kt_thread *t;
	uint64_t sum = 0;

	f->host = (struct fake_host){ .thread_names = { NULL, "CPU 0/KVM" } };
	snapshot_of(f, 1000, 100, 5, false, totals(0, 0, 0, 0, 0));
	add_thread(f, 102, 100, 5, totals(0, 0, 0, 0, 0));
	assert_int_equal(update(f, &r), 1);
	snapshot_of(f, 2000, 100, 5, false, totals(0, 0, 0, 0, 0));
	add_thread(f, 102, 100, 5, totals(300, 0, 0, 0, 0));
	assert_int_equal(update(f, &r), 1);
	sum += r->cpu_total_ns;
	/* It exits; the VMs were walked before its fold, the threads after. */
	snapshot_of(f, 3000, 100, 5, false, totals(0, 0, 0, 0, 0));
	t = add_thread(f, 102, 100, 5, totals(500, 0, 0, 0, 0));
	t->flags = KT_THREAD_EXITED | KT_THREAD_FOLDED;
	assert_int_equal(update(f, &r), 1);
	sum += r->cpu_total_ns;
	assert_int_equal(r->nr_vcpus, 1);
	assert_int_equal(r->vcpu[0].cpu_total_ns, 200);	/* its last interval */
	snapshot_of(f, 4000, 100, 5, false, totals(500, 0, 0, 0, 0));
	assert_int_equal(update(f, &r), 1);
	sum += r->cpu_total_ns;
	assert_int_equal(sum, 500);
}

/* Without kvm hooks, or for a TCG guest: guest columns are not valid, hyp is all the time,
 * and vCPUs come from QEMU's thread names. */
static void test_tcg_vm(void **state)
{
	struct fixture *f = *state;
	struct vm_record *r;
	struct kt_thread *t;

	f->host = (struct fake_host){
		.thread_names = { "qemu-system-x86", "CPU 0/TCG", "CPU 1/TCG" },
	};
	snapshot_of(f, 1000, 100, 5, false, totals(0, 0, 0, 0, 0));
	add_thread(f, 101, 100, 5, totals(100, 0, 0, 0, 0));
	add_thread(f, 102, 100, 5, totals(300, 0, 0, 0, 0));
	add_thread(f, 103, 100, 5, totals(500, 0, 0, 0, 0));
	f->host.ct = (struct proc_cputime){ .utime = 3, .stime = 1 };
	assert_int_equal(update(f, &r), 1);
	assert_false(r->guest_valid);
	assert_int_equal(r->cpu_total_ns, 900);
	assert_int_equal(r->cpu_guest_ns, 0);
	assert_int_equal(r->cpu_hyp_ns, 900);
	assert_int_equal(r->cpu_hyp_user_ns, 675);
	assert_int_equal(r->cpu_hyp_kernel_ns, 225);
	assert_int_equal(r->vcpus, 2);
	assert_int_equal(r->vcpu[0].vcpu + r->vcpu[1].vcpu, 1);
	assert_string_equal(r->top_exit_reason, "");
	/* libvirt's count, where it has one, is the VM's vCPU count. */
	f->host.vcpus = 4;
	snapshot_of(f, 2000, 100, 5, false, totals(0, 0, 0, 0, 0));
	assert_int_equal(update(f, &r), 1);
	assert_int_equal(r->vcpus, 4);
	/* Once the threads have ticks, they split (400 ns more each time): this interval's (1 : 3),
	 * then, in one without a tick, those since tracking began (1 : 3), not the life in /proc. */
	snapshot_of(f, 3000, 100, 5, false, totals(0, 0, 0, 0, 0));
	t = add_thread(f, 101, 100, 5, totals(1300, 0, 0, 0, 0));
	t->sum.user_ns = 1;
	t->sum.system_ns = 3;
	assert_int_equal(update(f, &r), 1);
	assert_int_equal(r->cpu_hyp_user_ns, 100);
	assert_int_equal(r->cpu_hyp_kernel_ns, 300);
	snapshot_of(f, 4000, 100, 5, false, totals(0, 0, 0, 0, 0));
	t = add_thread(f, 101, 100, 5, totals(1700, 0, 0, 0, 0));
	t->sum.user_ns = 1;
	t->sum.system_ns = 3;
	assert_int_equal(update(f, &r), 1);
	assert_true(r->hyp_split_valid);
	assert_int_equal(r->cpu_hyp_user_ns, 100);
	assert_int_equal(r->cpu_hyp_kernel_ns, 300);
}

/* A VM ends: its last row is final; a new process with its PID starts from zero. */
static void test_end_and_pid_reuse(void **state)
{
	struct fixture *f = *state;
	struct vm_record *r;

	snapshot_of(f, 1000, 100, 5, false, totals(0, 0, 0, 0, 0));
	add_thread(f, 101, 100, 5, totals(100, 0, 0, 0, 0));
	assert_int_equal(update(f, &r), 1);
	assert_int_equal(r->cpu_total_ns, 100);

	/* The thread exited (its time moved to the VM), then the VM: one final row. */
	f->host.gone = true;
	snapshot_of(f, 2000, 100, 5, true, totals(160, 0, 0, 0, 0));
	assert_int_equal(update(f, &r), 1);
	assert_true(r->final);
	assert_int_equal(r->cpu_total_ns, 60);

	/* Same PID, new incarnation: fresh counters, same name (the old one is gone). */
	f->host.gone = false;
	snapshot_of(f, 3000, 100, 2500, false, totals(0, 0, 0, 0, 0));
	add_thread(f, 101, 100, 2500, totals(40, 0, 0, 0, 0));
	assert_int_equal(update(f, &r), 1);
	assert_false(r->final);
	assert_string_equal(r->vm, "alpha");
	assert_int_equal(r->cpu_total_ns, 40);
}

/* A domain restarted within one interval: the ended process and the new one are in the same
 * snapshot; the new one keeps the name (and so the file). */
static void test_restart_keeps_name(void **state)
{
	struct fixture *f = *state;
	struct vm_record *r;

	snapshot_of(f, 1000, 300, 5, false, totals(0, 0, 0, 0, 0));
	assert_int_equal(update(f, &r), 1);
	snapshot_of(f, 2000, 400, 1500, false, totals(0, 0, 0, 0, 0));	/* listed before the dead one */
	add_vm(f, 300, 5, true, totals(70, 0, 0, 0, 0));
	assert_int_equal(update(f, &r), 2);
	assert_string_equal(r[0].vm, "twin");
	assert_string_equal(r[1].vm, "twin");
	assert_true(r[0].final != r[1].final);
}

/* Disk figures: bytes and ops of live and exited threads, mean latency of completed requests. */
static void test_disk(void **state)
{
	struct fixture *f = *state;
	struct kt_totals io = {};
	struct vm_record *r;

	snapshot_of(f, 1000, 100, 5, false, totals(0, 0, 0, 0, 0));
	assert_int_equal(update(f, &r), 1);
	assert_true(r->disk_valid);
	assert_true(r->disk_lat_avg_us < 0);

	fixture_reset(f, 2000);
	io.disk_write_bytes = 8 << 20;
	io.disk_write_ops = 8;
	add_vm(f, 100, 5, false, io);		/* an exited worker thread's share */
	f->vms[0].vm.disk_lat_ns = 3000000;	/* 8 requests, 3 ms in all */
	f->vms[0].vm.disk_lat_count = 8;
	io = (struct kt_totals){ .disk_read_bytes = 4096, .disk_read_ops = 1 };
	add_thread(f, 101, 100, 5, io);
	assert_int_equal(update(f, &r), 1);
	assert_int_equal(r->disk_write_bytes, 8 << 20);
	assert_int_equal(r->disk_write_ops, 8);
	assert_int_equal(r->disk_read_bytes, 4096);
	assert_int_equal(r->disk_read_ops, 1);
	assert_true(r->disk_lat_avg_us > 374.9 && r->disk_lat_avg_us < 375.1);
}

/* Traffic on the VM's taps: per-interval deltas of all its taps; empty without a tap. */
static void test_network_and_memory(void **state)
{
	struct fixture *f = *state;
	struct snap_net nets[2];
	struct vm_record *r;

	snapshot_of(f, 1000, 100, 5, false, totals(0, 0, 0, 0, 0));
	assert_int_equal(update(f, &r), 1);
	assert_false(r->net_valid);
	assert_int_equal(r->mem_rss_bytes, 100 * 4096);
	assert_int_equal(r->mem_guest_bytes, -1);

	f->host.taps = 2;
	f->host.vcpus = 1;
	memset(nets, 0, sizeof(nets));
	nets[0].key = (struct kt_net_key){ .ifindex = 7, .tgid = 100, .vm_birth_ns = 5 };
	nets[0].stat = (struct kt_net_stat){ .rx_bytes = 1500, .rx_packets = 1, .tx_bytes = 60,
					     .tx_packets = 1 };
	nets[1].key = (struct kt_net_key){ .ifindex = 8, .tgid = 100, .vm_birth_ns = 5 };
	nets[1].stat = (struct kt_net_stat){ .rx_bytes = 100, .rx_packets = 2 };
	snapshot_of(f, 2000, 100, 5, false, totals(0, 0, 0, 0, 0));
	attach_nets(f, nets, 2);
	assert_int_equal(update(f, &r), 1);
	assert_true(r->net_valid);
	assert_int_equal(r->net_rx_bytes, 1600);
	assert_int_equal(r->net_rx_packets, 3);
	assert_int_equal(r->net_tx_bytes, 60);
	assert_int_equal(r->net_tx_packets, 1);
	assert_int_equal(r->mem_guest_bytes, 256 << 20);

	nets[0].stat.tx_bytes = 1060;
	nets[0].stat.tx_packets = 3;
	snapshot_of(f, 3000, 100, 5, false, totals(0, 0, 0, 0, 0));
	assert_int_equal(update(f, &r), 1);
	assert_int_equal(r->net_rx_bytes, 0);
	assert_int_equal(r->net_tx_bytes, 1000);
	assert_int_equal(r->net_tx_packets, 2);
}

/* Two live VMs with one name get distinct names (and so distinct files). */
static void test_name_collision(void **state)
{
	struct fixture *f = *state;
	struct vm_record *r;

	snapshot_of(f, 1000, 300, 5, false, totals(0, 0, 0, 0, 0));
	add_vm(f, 400, 6, false, totals(0, 0, 0, 0, 0));
	assert_int_equal(update(f, &r), 2);
	assert_string_equal(r[0].vm, "twin");
	assert_string_equal(r[1].vm, "twin-400");
}

/* A VM the drain first sees after its end (no /proc entry to identify it) keeps the name its
 * process had when it was tracked, as a live one of that name would get it; pid-N without one. */
static void test_named_after_end(void **state)
{
	struct fixture *f = *state;
	struct vm_record *r;

	f->host.gone = true;
	snapshot_of(f, 1000, 100, 5, true, totals(30, 0, 0, 0, 0));
	snprintf(f->vms[0].vm.comm, sizeof(f->vms[0].vm.comm), "ktvmm");
	add_vm(f, 200, 6, true, totals(20, 0, 0, 0, 0));
	assert_int_equal(update(f, &r), 2);
	assert_string_equal(r[0].vm, "ktvmm-100");
	assert_true(r[0].final);
	assert_int_equal(r[0].cpu_total_ns, 30);
	assert_string_equal(r[1].vm, "pid-200");
}

/* A daemonizing VMM (300) hands over to its fork (500): the fork continues under the name, even
 * when its command line is gone by its first row; the parent gets no more rows, also not when
 * it ends. */
static void test_hand_over(void **state)
{
	struct fixture *f = *state;
	struct vm_record *r;

	snapshot_of(f, 1000, 300, 5, false, totals(40, 0, 0, 0, 0));
	assert_int_equal(update(f, &r), 1);
	assert_int_equal(r[0].pid, 300);
	account_hand_over(f->a, 300, 500);
	f->host.gone = true;	/* it ends before its first row: no command line to name it */
	add_vm(f, 500, 6, false, totals(90, 0, 0, 0, 0));
	f->snap.mono_ns = 2000;
	assert_int_equal(update(f, &r), 1);
	assert_int_equal(r[0].pid, 500);
	assert_string_equal(r[0].vm, "twin");
	assert_int_equal(r[0].cpu_total_ns, 90);	/* its whole life so far */
	snapshot_of(f, 3000, 300, 5, true, totals(41, 0, 0, 0, 0));
	add_vm(f, 500, 6, false, totals(150, 0, 0, 0, 0));
	assert_int_equal(update(f, &r), 1);
	assert_int_equal(r[0].pid, 500);
	assert_int_equal(r[0].cpu_total_ns, 60);
	snapshot_of(f, 4000, 500, 6, false, totals(200, 0, 0, 0, 0));
	assert_int_equal(update(f, &r), 1);
	assert_string_equal(r[0].vm, "twin");
}

static void test_counters_and_components(void **state)
{
	struct account_opts tcg = sampled_host;
	struct fixture *f = *state;
	struct snap_percpu pc = { .key = { .tgid = 100, .birth_ns = 5 } };
	struct vm_record *r;
	uint64_t sum;
	int c;

	/* 10 ms on CPU, 4 ms of it in guest mode; 3 host hits in user space, 1 in kvm. */
	snapshot_of(f, 1000, 100, 5, false, totals(10000000, 4000000, 0, 1, 0));
	pc.sum.counter_guest[1] = 7;
	pc.sum.counter_host[1] = 30;
	pc.sum.samples_own[KT_COMP_QEMU_USER] = 3;
	pc.sum.samples_own[KT_COMP_KVM] = 1;
	pc.sum.samples_ext[KT_COMP_VHOST] = 2;
	attach_percpu(f, &pc);
	assert_int_equal(update(f, &r), 1);
	assert_int_equal(r->nr_counters, 2);
	assert_false(r->counter[0].valid);
	assert_true(r->counter[1].valid);
	assert_string_equal(r->counter[1].name, "page-faults");
	assert_int_equal(r->counter[1].guest, 7);
	assert_int_equal(r->counter[1].host, 30);
	assert_true(r->hyp_components_valid);
	assert_int_equal(r->cpu_hyp_ns, 6000000);
	assert_int_equal(r->hyp_component_ns[KT_COMP_QEMU_USER], 4500000);
	assert_int_equal(r->hyp_component_ns[KT_COMP_KVM], 1500000);
	assert_true(r->ext_components_valid);
	assert_int_equal(r->ext_component_ns[KT_COMP_VHOST], 2000000);

	/* No hit in this interval: the shares of the VM's life still split its time exactly. */
	snapshot_of(f, 2000, 100, 5, false, totals(10000100, 4000000, 0, 1, 0));
	assert_int_equal(update(f, &r), 1);
	assert_int_equal(r->cpu_hyp_ns, 100);
	for (sum = 0, c = 0; c < KT_NR_COMPONENTS; c++)
		sum += r->hyp_component_ns[c];
	assert_int_equal(sum, 100);
	assert_int_equal(r->hyp_component_ns[KT_COMP_QEMU_USER], 75);
	assert_int_equal(r->ext_component_ns[KT_COMP_VHOST], 0);

	/* Without guest mode (TCG) every count is the host's; without a sampler, no split. */
	tcg.guest_observable = false;
	tcg.sample_period_ns = 0;
	reopen(f, &tcg);
	snapshot_of(f, 1000, 100, 5, false, totals(10000000, 0, 0, 0, 0));
	assert_int_equal(update(f, &r), 1);
	assert_int_equal(r->counter[1].host, 37);
	assert_false(r->hyp_components_valid);
	assert_false(r->ext_components_valid);
}

/*
 * Network code run on a VM's threads is its own network work only when it moved packets: in
 * softirq, others' traffic on its time; in its own context, sockets of the VMM's (a monitor).
 */
static void test_softirq_network_work(void **state)
{
	struct fixture *f = *state;
	struct snap_percpu pc = { .key = { .tgid = 100, .birth_ns = 5 } };
	struct snap_net net = { .key = { .ifindex = 7, .tgid = 100, .vm_birth_ns = 5 } };
	struct vm_record *r;

	f->host = (struct fake_host){ .taps = 1 };
	pc.sum.samples_own[KT_COMP_QEMU_USER] = 2;
	pc.sum.samples_softirq[KT_COMP_BRIDGE] = 2;
	snapshot_of(f, 1000, 100, 5, false, totals(4000, 0, 0, 0, 0));
	attach_percpu(f, &pc);
	attach_nets(f, &net, 1);
	assert_int_equal(update(f, &r), 1);
	/* No packet of its own: the bridge work was others', done on its time. */
	assert_int_equal(r->hyp_component_ns[KT_COMP_BRIDGE], 0);
	assert_int_equal(r->hyp_component_ns[KT_COMP_OTHER_KERNEL], 2000);

	/* Socket code in its own context, no packet on its taps: not its network work either. */
	pc.sum.samples_own[KT_COMP_QEMU_USER] = 3;
	pc.sum.samples_own[KT_COMP_NET] = 1;
	snapshot_of(f, 1500, 100, 5, false, totals(4200, 0, 0, 0, 0));
	assert_int_equal(update(f, &r), 1);
	assert_int_equal(r->hyp_component_ns[KT_COMP_NET], 0);
	assert_int_equal(r->hyp_component_ns[KT_COMP_QEMU_USER], 100);
	assert_int_equal(r->hyp_component_ns[KT_COMP_OTHER_KERNEL], 100);

	pc.sum.samples_own[KT_COMP_QEMU_USER] = 5;
	pc.sum.samples_own[KT_COMP_BRIDGE] = 1;
	pc.sum.samples_softirq[KT_COMP_BRIDGE] = 4;
	net.stat.tx_packets = 3;
	net.stat.tx_bytes = 180;
	snapshot_of(f, 2000, 100, 5, false, totals(8200, 0, 0, 0, 0));
	assert_int_equal(update(f, &r), 1);
	assert_int_equal(r->hyp_component_ns[KT_COMP_BRIDGE], 2400);	/* 1 own + 2 softirq */
	assert_int_equal(r->hyp_component_ns[KT_COMP_QEMU_USER], 1600);

	/* No hit and no packet: the lifetime shares lend it no network work. */
	snapshot_of(f, 3000, 100, 5, false, totals(8300, 0, 0, 0, 0));
	assert_int_equal(update(f, &r), 1);
	assert_int_equal(r->hyp_component_ns[KT_COMP_QEMU_USER], 100);
	assert_int_equal(r->hyp_component_ns[KT_COMP_BRIDGE], 0);
}

/* Bridge softirq outside any VM goes to the VMs by the bytes they moved. */
static void test_shared_network_work(void **state)
{
	struct fixture *f = *state;
	struct snap_net nets[2];
	struct vm_record *r;

	f->host = (struct fake_host){ .taps = 1 };
	memset(nets, 0, sizeof(nets));
	nets[0].key = (struct kt_net_key){ .ifindex = 7, .tgid = 300, .vm_birth_ns = 5 };
	nets[1].key = (struct kt_net_key){ .ifindex = 8, .tgid = 400, .vm_birth_ns = 6 };
	snapshot_of(f, 1000, 300, 5, false, totals(0, 0, 0, 0, 0));
	add_vm(f, 400, 6, false, totals(0, 0, 0, 0, 0));
	attach_nets(f, nets, 2);
	nets[0].stat.rx_bytes = 3000;
	nets[1].stat.tx_bytes = 1000;
	f->snap.shared.hits[KT_COMP_BRIDGE] = 8;
	f->snap.shared.hits[KT_COMP_KVM] = 5;	/* never shared */
	assert_int_equal(update(f, &r), 2);
	assert_int_equal(r[0].ext_component_ns[KT_COMP_BRIDGE], 6000000);
	assert_int_equal(r[1].ext_component_ns[KT_COMP_BRIDGE], 2000000);
	assert_int_equal(r[0].ext_component_ns[KT_COMP_KVM] + r[1].ext_component_ns[KT_COMP_KVM],
			 0);

	/* An interval without traffic shares nothing: the host's own. */
	snapshot_of(f, 2000, 300, 5, false, totals(0, 0, 0, 0, 0));
	add_vm(f, 400, 6, false, totals(0, 0, 0, 0, 0));
	f->snap.shared.hits[KT_COMP_BRIDGE] = 12;
	assert_int_equal(update(f, &r), 2);
	assert_int_equal(r[0].ext_component_ns[KT_COMP_BRIDGE], 0);
	assert_int_equal(r[1].ext_component_ns[KT_COMP_BRIDGE], 0);
}

/* A test of an account over the fake host, on a host of opts. */
#define ACCOUNT_TEST(test, opts) \
	cmocka_unit_test_prestate_setup_teardown(test, fixture_open, teardown, (void *)&(opts))

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mono_advance),
		cmocka_unit_test(test_split_by_ticks),
		cmocka_unit_test(test_split_exact),
		ACCOUNT_TEST(test_kvm_vm_intervals, kvm_host),
		ACCOUNT_TEST(test_kernel_guest_source, kvm_host),
		ACCOUNT_TEST(test_thread_name_reread_on_rename, kvm_host),
		ACCOUNT_TEST(test_life_ticks_reread, tcg_host),
		ACCOUNT_TEST(test_tid_reuse, kvm_host),
		ACCOUNT_TEST(test_drain_races_exit, kvm_host),
		ACCOUNT_TEST(test_tcg_vm, kvm_host),
		ACCOUNT_TEST(test_end_and_pid_reuse, tcg_host),
		ACCOUNT_TEST(test_restart_keeps_name, tcg_host),
		ACCOUNT_TEST(test_network_and_memory, tcg_host),
		ACCOUNT_TEST(test_disk, tcg_host),
		ACCOUNT_TEST(test_name_collision, tcg_host),
		ACCOUNT_TEST(test_named_after_end, tcg_host),
		ACCOUNT_TEST(test_hand_over, tcg_host),
		ACCOUNT_TEST(test_counters_and_components, sampled_host),
		ACCOUNT_TEST(test_shared_network_work, sampled_host),
		ACCOUNT_TEST(test_softirq_network_work, sampled_host),
	};

	return cmocka_run_group_tests_name("account", tests, NULL, NULL);
}
