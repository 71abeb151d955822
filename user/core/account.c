// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "account_priv.h"

uint64_t mono_advance(__u64 *reported, __u64 cur)
{
	uint64_t delta;

	if (cur <= *reported)
		return 0;
	delta = cur - *reported;
	*reported = cur;
	return delta;
}

const char *guest_source_name(enum guest_source source)
{
	switch (source) {
	case GUEST_SOURCE_TRACEPOINT:
		return "tracepoint";
	case GUEST_SOURCE_KERNEL:
		return "kernel";
	default:
		return "";
	}
}

/*
 * Guest time is part of on-CPU time, but the two are not read from one clock: the kernel
 * charges guest time a whole tick at a time, and kvm_entry/kvm_exit use CLOCK_MONOTONIC where
 * runtime uses the scheduler's clock. So guest time advances at most as far as the row's
 * on-CPU time; what a row cannot take stays due and goes to the next rows, never lost.
 */
static uint64_t guest_advance(__u64 *reported, __u64 cur, uint64_t on_cpu_ns)
{
	uint64_t due = cur > *reported ? cur - *reported : 0;

	if (due > on_cpu_ns)
		due = on_cpu_ns;
	*reported += due;
	return due;
}

struct kt_totals totals_advance(struct kt_totals *reported, const struct kt_totals *cur)
{
	uint64_t on_cpu_ns = mono_advance(&reported->on_cpu_ns, cur->on_cpu_ns);
	struct kt_totals d = {
		.on_cpu_ns = on_cpu_ns,
		.guest_ns = guest_advance(&reported->guest_ns, cur->guest_ns, on_cpu_ns),
		.kernel_guest_ns = guest_advance(&reported->kernel_guest_ns, cur->kernel_guest_ns,
						 on_cpu_ns),
		.run_delay_ns = mono_advance(&reported->run_delay_ns, cur->run_delay_ns),
		.exits = mono_advance(&reported->exits, cur->exits),
		.exit_handling_ns = mono_advance(&reported->exit_handling_ns, cur->exit_handling_ns),
		.exit_handling_cpu_ns = mono_advance(&reported->exit_handling_cpu_ns,
						     cur->exit_handling_cpu_ns),
		.exit_wait_ns = mono_advance(&reported->exit_wait_ns, cur->exit_wait_ns),
		.disk_read_bytes = mono_advance(&reported->disk_read_bytes, cur->disk_read_bytes),
		.disk_write_bytes = mono_advance(&reported->disk_write_bytes, cur->disk_write_bytes),
		.disk_read_ops = mono_advance(&reported->disk_read_ops, cur->disk_read_ops),
		.disk_write_ops = mono_advance(&reported->disk_write_ops, cur->disk_write_ops),
	};

	return d;
}

static void totals_add(struct kt_totals *into, const struct kt_totals *from)
{
	into->on_cpu_ns += from->on_cpu_ns;
	into->guest_ns += from->guest_ns;
	into->kernel_guest_ns += from->kernel_guest_ns;
	into->run_delay_ns += from->run_delay_ns;
	into->exits += from->exits;
	into->exit_handling_ns += from->exit_handling_ns;
	into->exit_handling_cpu_ns += from->exit_handling_cpu_ns;
	into->exit_wait_ns += from->exit_wait_ns;
	into->disk_read_bytes += from->disk_read_bytes;
	into->disk_write_bytes += from->disk_write_bytes;
	into->disk_read_ops += from->disk_read_ops;
	into->disk_write_ops += from->disk_write_ops;
	into->user_ns += from->user_ns;
	into->system_ns += from->system_ns;
}

bool split_exact(uint64_t total, const uint64_t *weights, size_t n, uint64_t *parts)
{
	unsigned __int128 sum = 0, rem, best_rem = 0;
	uint64_t given = 0;
	size_t i, best = 0;

	for (i = 0; i < n; i++) {
		sum += weights[i];
		parts[i] = 0;
	}
	if (!sum)
		return false;
	/* 128-bit products: ns totals times sample or tick counts overflow 64 bits. */
	for (i = 0; i < n; i++) {
		parts[i] = (uint64_t)((unsigned __int128)total * weights[i] / sum);
		rem = (unsigned __int128)total * weights[i] % sum;
		given += parts[i];
		if (weights[i] && (rem > best_rem || !weights[best]))
			best = i, best_rem = rem;
	}
	/* Rounding down loses less than one unit per part: it goes to one part with weight. */
	parts[best] += total - given;
	return true;
}

bool split_by_ticks(uint64_t hyp_ns, uint64_t user_ticks, uint64_t kernel_ticks,
		    uint64_t *user_ns, uint64_t *kernel_ns)
{
	const uint64_t ticks[2] = { user_ticks, kernel_ticks };
	uint64_t parts[2];
	bool ok = split_exact(hyp_ns, ticks, 2, parts);

	*user_ns = parts[0];
	*kernel_ns = parts[1];
	return ok;
}

struct account *account_new(const struct vm_source *src, const struct account_opts *opts)
{
	struct account *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->src = *src;
	a->opts = *opts;
	if (a->opts.nr_counters > KT_MAX_COUNTERS)
		a->opts.nr_counters = KT_MAX_COUNTERS;
	return a;
}

static void vm_state_free(struct vm_state *vs)
{
	free(vs->threads);
	free(vs->exits);
}

static void free_output(struct account *a)
{
	free(a->records);
	free(a->vcpu_pool);
	free(a->exit_pool);
	free(a->thread_order);
	a->records = NULL;
	a->vcpu_pool = NULL;
	a->exit_pool = NULL;
	a->thread_order = NULL;
}

void account_set_sample_period(struct account *a, uint64_t ns)
{
	a->opts.sample_period_ns = ns;
}

void account_free(struct account *a)
{
	size_t i;

	if (!a)
		return;
	for (i = 0; i < a->nr_vms; i++)
		vm_state_free(&a->vms[i]);
	free(a->vms);
	free_output(a);
	free(a);
}

/* A VM that ended no longer holds its name: a restarted domain keeps its file. */
static bool name_taken(const struct account *a, const char *name)
{
	size_t i;

	for (i = 0; i < a->nr_vms; i++)
		if (!a->vms[i].ended && !strcmp(a->vms[i].name, name))
			return true;
	return false;
}

static struct vm_state *vm_state_find(struct account *a, const struct kt_vm *vm)
{
	size_t i;

	for (i = 0; i < a->nr_vms; i++)
		if (a->vms[i].tgid == vm->tgid && a->vms[i].birth_ns == vm->birth_ns)
			return &a->vms[i];
	return NULL;
}

/* The VM handed over to tgid, if any: its successor takes its name as it is. */
static const struct vm_state *predecessor(const struct account *a, uint32_t tgid)
{
	size_t i;

	for (i = 0; i < a->nr_vms; i++)
		if (a->vms[i].handed_over && a->vms[i].successor == tgid)
			return &a->vms[i];
	return NULL;
}

static struct vm_state *vm_state_get(struct account *a, const struct kt_vm *vm)
{
	struct vm_state *vs = vm_state_find(a, vm);
	const struct vm_state *pred;
	char name[KT_NAME_MAX - 16];

	if (vs)
		return vs;
	vs = realloc(a->vms, (a->nr_vms + 1) * sizeof(*vs));
	if (!vs)
		return NULL;
	a->vms = vs;
	vs = &a->vms[a->nr_vms];
	memset(vs, 0, sizeof(*vs));
	vs->tgid = vm->tgid;
	vs->birth_ns = vm->birth_ns;
	/* Even when it is gone already and its command line with it. */
	pred = predecessor(a, vm->tgid);
	if (pred) {
		snprintf(vs->name, sizeof(vs->name), "%s", pred->name);
		snprintf(vs->uuid, sizeof(vs->uuid), "%s", pred->uuid);
		a->nr_vms++;
		return vs;
	}
	/* Gone already: named as identify() names a process by its comm, from the name it had. */
	if (a->src.identify(a->src.ctx, vm, name, sizeof(name), vs->uuid, sizeof(vs->uuid)))
		snprintf(name, sizeof(name), "%.*s-%u", (int)sizeof(vm->comm),
			 vm->comm[0] ? vm->comm : "pid", vm->tgid);
	/* Two live VMs with one name would share a file: the later one gets its PID appended. */
	if (name_taken(a, name))
		snprintf(vs->name, sizeof(vs->name), "%s-%u", name, vm->tgid);
	else
		snprintf(vs->name, sizeof(vs->name), "%s", name);
	a->nr_vms++;
	return vs;
}

static void thread_state_init(struct thread_state *ts, uint32_t tid, const struct kt_thread *t)
{
	memset(ts, 0, sizeof(*ts));
	ts->tid = tid;
	ts->born_ns = t->born_ns;
	ts->kvm_index = -1;
	ts->seen = true;
}

struct thread_state *thread_state_get(struct vm_state *vs, uint32_t tid, const struct kt_thread *t)
{
	struct thread_state *ts;
	size_t i;

	for (i = 0; i < vs->nr_threads; i++) {
		ts = &vs->threads[i];
		if (ts->tid != tid)
			continue;
		if (ts->born_ns != t->born_ns)
			thread_state_init(ts, tid, t);
		ts->seen = true;
		return ts;
	}
	ts = realloc(vs->threads, (vs->nr_threads + 1) * sizeof(*ts));
	if (!ts)
		return NULL;
	vs->threads = ts;
	ts = &vs->threads[vs->nr_threads++];
	thread_state_init(ts, tid, t);
	return ts;
}

void thread_states_sweep(struct vm_state *vs)
{
	size_t i, kept = 0;

	for (i = 0; i < vs->nr_threads; i++) {
		if (vs->threads[i].seen) {
			vs->threads[i].seen = false;
			vs->threads[kept++] = vs->threads[i];
		}
	}
	vs->nr_threads = kept;
}

struct exit_state *exit_state_get(struct vm_state *vs, uint32_t isa, uint32_t reason)
{
	struct exit_state *es;
	size_t i;

	for (i = 0; i < vs->nr_exits; i++)
		if (vs->exits[i].isa == isa && vs->exits[i].reason == reason)
			return &vs->exits[i];
	es = realloc(vs->exits, (vs->nr_exits + 1) * sizeof(*es));
	if (!es)
		return NULL;
	vs->exits = es;
	es = &vs->exits[vs->nr_exits++];
	memset(es, 0, sizeof(*es));
	es->isa = isa;
	es->reason = reason;
	return es;
}

/* A thread's VM incarnation against (tgid, birth_ns). */
static int vm_cmp(const struct kt_thread *t, uint32_t tgid, uint64_t birth_ns)
{
	if (t->tgid != tgid)
		return t->tgid < tgid ? -1 : 1;
	if (t->vm_birth_ns != birth_ns)
		return t->vm_birth_ns < birth_ns ? -1 : 1;
	return 0;
}

/* By VM incarnation, then as the snapshot has them. */
static int by_vm(const void *x, const void *y, void *snapshot)
{
	const struct snap_thread *th = ((const struct snapshot *)snapshot)->threads;
	size_t i = *(const size_t *)x, j = *(const size_t *)y;
	int c = vm_cmp(&th[i].t, th[j].t.tgid, th[j].t.vm_birth_ns);

	return c ? c : (i > j) - (i < j);
}

/*
 * Sorts the snapshot's threads by VM once, so that each VM's record finds its own by a binary
 * search: a pass over every thread for each VM cost as many VMs as threads, twice.
 */
static int order_threads(struct account *a, const struct snapshot *s)
{
	size_t i;

	a->thread_order = malloc((s->nr_threads ? s->nr_threads : 1) * sizeof(size_t));
	if (!a->thread_order)
		return -1;
	for (i = 0; i < s->nr_threads; i++)
		a->thread_order[i] = i;
	qsort_r(a->thread_order, s->nr_threads, sizeof(size_t), by_vm, (void *)s);
	return 0;
}

/* The VM incarnation's threads: their run in the order, found by a binary search. */
static struct thread_span vm_threads(const struct account *a, const struct snapshot *s,
				     const struct kt_vm *vm)
{
	size_t lo = 0, hi = s->nr_threads, mid, end;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (vm_cmp(&s->threads[a->thread_order[mid]].t, vm->tgid, vm->birth_ns) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (end = lo; end < s->nr_threads &&
	     !vm_cmp(&s->threads[a->thread_order[end]].t, vm->tgid, vm->birth_ns); end++)
		;
	return (struct thread_span){ .idx = a->thread_order + lo, .n = end - lo };
}

/*
 * The VM's guest source, chosen at its first evidence of guest mode and kept, so that no row
 * mixes two: the kvm tracepoints where they saw it (exact), else the kernel's guest time.
 */
static void choose_guest_source(struct account *a, struct vm_state *vs, bool tracepoint,
				bool kernel)
{
	if (vs->guest_source != GUEST_SOURCE_NONE)
		return;
	if (tracepoint && a->opts.guest_observable)
		vs->guest_source = GUEST_SOURCE_TRACEPOINT;
	else if (kernel)
		vs->guest_source = GUEST_SOURCE_KERNEL;
}

static void build_record(struct account *a, struct vm_state *vs, const struct snap_vm *sv,
			 const struct snapshot *s, struct vm_record *r)
{
	static const struct kt_vm_percpu no_percpu;
	struct kt_totals cur = sv->vm.exited, d;
	const struct kt_vm_percpu *percpu;
	const struct exit_record *top = NULL;
	uint64_t lat_ns, lat_count;
	bool tracepoint = false, kernel = false;
	struct kvm_exit_counts kvm_now = { 0 };
	struct thread_span threads = vm_threads(a, s, &sv->vm);
	size_t i;

	for (i = 0; i < threads.n; i++) {
		const struct kt_thread *th = &s->threads[threads.idx[i]].t;
		struct kt_totals t = th->sum;

		/* A folded thread's figures are in the VM's exited sum already. */
		if (!(th->flags & KT_THREAD_FOLDED))
			totals_add(&cur, &t);
		tracepoint |= (th->flags & KT_THREAD_VCPU) != 0;
		kernel |= (th->flags & KT_THREAD_GUEST_TIME) != 0;
	}
	choose_guest_source(a, vs, tracepoint || cur.exits, kernel || cur.kernel_guest_ns);
	d = totals_advance(&vs->reported, &cur);
	snprintf(r->vm, sizeof(r->vm), "%s", vs->name);
	snprintf(r->uuid, sizeof(r->uuid), "%s", vs->uuid);
	r->pid = vs->tgid;
	r->final = sv->dead;
	if (vs->guest_source != GUEST_SOURCE_TRACEPOINT)
		read_kvm_exits(a, vs, &kvm_now);
	r->nr_vcpus = vcpu_rows(a, vs, s, threads, &kvm_now, r->vcpu);
	/* The manager's count where there is one; else the vCPU threads we have seen. */
	r->vcpus = a->src.vcpus(a->src.ctx, vs->tgid, vs->uuid);
	if (r->vcpus < 0)
		r->vcpus = r->nr_vcpus ? (int)r->nr_vcpus : -1;
	r->guest_source = vs->guest_source;
	r->guest_valid = vs->guest_source != GUEST_SOURCE_NONE;

	r->cpu_total_ns = d.on_cpu_ns;
	r->run_delay_ns = d.run_delay_ns;
	if (vs->guest_source == GUEST_SOURCE_TRACEPOINT) {
		r->nr_exits = exit_rows(vs, s, r->exit);
		r->cpu_guest_ns = d.guest_ns;
		r->exits = d.exits;
		r->exit_handling_ns = d.exit_handling_ns;
		r->exit_handling_cpu_ns = d.exit_handling_cpu_ns;
		r->exit_wait_ns = d.exit_wait_ns;
	} else {
		kvm_exit_figures(vs, &kvm_now, r);
		vs->kvm_last = kvm_now;
		if (vs->guest_source == GUEST_SOURCE_KERNEL)
			r->cpu_guest_ns = d.kernel_guest_ns;
		else
			r->exits = 0;
	}
	r->cpu_hyp_ns = r->cpu_total_ns > r->cpu_guest_ns ? r->cpu_total_ns - r->cpu_guest_ns : 0;
	split_hyp(a, vs, &cur, sv->dead, r);
	net_figures(a, vs, s, r);
	percpu = percpu_of(s, vs);
	counter_figures(a, vs, percpu ? percpu : &no_percpu, r);
	component_figures(a, vs, percpu ? percpu : &no_percpu, r);
	r->disk_valid = a->opts.disk_observable;
	r->disk_read_bytes = d.disk_read_bytes;
	r->disk_write_bytes = d.disk_write_bytes;
	r->disk_read_ops = d.disk_read_ops;
	r->disk_write_ops = d.disk_write_ops;
	lat_ns = mono_advance(&vs->lat_ns_reported, sv->vm.disk_lat_ns);
	lat_count = mono_advance(&vs->lat_count_reported, sv->vm.disk_lat_count);
	r->disk_lat_avg_us = lat_count ? lat_ns / 1e3 / lat_count : -1;
	r->mem_rss_bytes = r->mem_guest_bytes = -1;
	if (!sv->dead)
		a->src.memory(a->src.ctx, vs->tgid, vs->uuid, &r->mem_rss_bytes,
			      &r->mem_guest_bytes);
	for (i = 0; i < r->nr_exits; i++)
		if (!top || r->exit[i].count > top->count)
			top = &r->exit[i];
	if (top && r->guest_valid && !r->exits_unmeasured)
		snprintf(r->top_exit_reason, sizeof(r->top_exit_reason), "%s", top->name);
}

static int by_name(const void *x, const void *y)
{
	const struct vm_record *a = x, *b = y;

	return strcmp(a->vm, b->vm);
}

/* Forgets VMs that ended (their last row is out) or vanished from the maps. */
static void sweep(struct account *a)
{
	size_t i, kept = 0;

	for (i = 0; i < a->nr_vms; i++) {
		if (a->vms[i].seen) {
			a->vms[kept++] = a->vms[i];
			continue;
		}
		vm_state_free(&a->vms[i]);
	}
	a->nr_vms = kept;
}

void account_hand_over(struct account *a, uint32_t tgid, uint32_t successor)
{
	size_t i;

	for (i = 0; i < a->nr_vms; i++)
		if (a->vms[i].tgid == tgid && !a->vms[i].ended) {
			a->vms[i].ended = a->vms[i].handed_over = true;
			a->vms[i].successor = successor;
		}
}

uint32_t account_vm_named(const struct account *a, const char *name)
{
	size_t i;

	for (i = 0; i < a->nr_vms; i++)
		if (!a->vms[i].ended && !strcmp(a->vms[i].name, name))
			return a->vms[i].tgid;
	return 0;
}

long account_update(struct account *a, const struct snapshot *s, struct vm_record **out)
{
	size_t i, n = 0, vcpu_used = 0, exit_used = 0;
	struct vm_state *vs;

	free_output(a);
	a->records = calloc(s->nr_vms ? s->nr_vms : 1, sizeof(*a->records));
	a->vcpu_pool = calloc(s->nr_threads ? s->nr_threads : 1, sizeof(*a->vcpu_pool));
	/* Exits by reason from the tracepoints, or by KVM's categories from its statistics. */
	a->exit_pool = calloc(s->nr_exits + s->nr_vms * KT_KVM_EXIT_KINDS + 1,
			      sizeof(*a->exit_pool));
	if (!a->records || !a->vcpu_pool || !a->exit_pool || order_threads(a, s))
		return -1;
	for (i = 0; i < a->nr_vms; i++)
		a->vms[i].seen = false;
	/* Ended VMs first, so that they give up their names before new ones take names. */
	for (i = 0; i < s->nr_vms; i++) {
		vs = s->vms[i].dead ? vm_state_find(a, &s->vms[i].vm) : NULL;
		if (vs)
			vs->ended = true;
	}
	for (i = 0; i < s->nr_vms; i++) {
		vs = vm_state_get(a, &s->vms[i].vm);
		if (!vs)
			return -1;
		vs->seen = !s->vms[i].dead;
		if (vs->handed_over)
			continue;
		vs->ended = s->vms[i].dead;
		a->records[n].vcpu = a->vcpu_pool + vcpu_used;
		a->records[n].exit = a->exit_pool + exit_used;
		build_record(a, vs, &s->vms[i], s, &a->records[n]);
		vcpu_used += a->records[n].nr_vcpus;
		exit_used += a->records[n].nr_exits;
		/* A dead VM's state goes with this, its last row. */
		n++;
	}
	sweep(a);
	share_network_work(a, s, a->records, n);
	qsort(a->records, n, sizeof(*a->records), by_name);
	*out = a->records;
	return n;
}
