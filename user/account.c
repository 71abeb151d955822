// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "exit_reasons.h"

struct thread_state {
	uint32_t tid;
	struct kt_totals reported;
	int kvm_index;			/* vCPU whose KVM exits it reports; -1: none yet */
	__u64 kvm_exits_reported;
	char name[KT_THREAD_NAME];
};

struct exit_state {
	uint32_t isa, reason;
	struct kt_exit_stat reported;
};

struct vm_state {
	uint32_t tgid;
	uint64_t birth_ns;
	char name[KT_NAME_MAX];
	char uuid[KT_UUID_LEN];
	struct kt_totals reported;
	struct kt_net_stat net_reported;
	__u64 lat_ns_reported, lat_count_reported;
	struct proc_cputime cpu_last;	/* ticks at the last drain (0 before the first) */
	struct kt_vm_percpu percpu_reported;
	struct kvm_exit_counts kvm_last;	/* KVM's statistics at the last drain */
	struct kt_exit_stat kvm_reported;
	enum guest_source guest_source;	/* chosen at the first guest evidence, then kept */
	bool seen;		/* present in the current snapshot */
	bool ended;		/* its process ended: this snapshot has its last figures */
	bool handed_over;	/* account_hand_over(): no rows, no name */
	uint32_t successor;	/* the process it was handed over to */
	struct thread_state *threads;
	size_t nr_threads;
	struct exit_state *exits;
	size_t nr_exits;
};

struct account {
	struct vm_source src;
	struct account_opts opts;
	struct kt_shared_samples shared_reported;
	struct vm_state *vms;
	size_t nr_vms;
	/* This interval's output, rebuilt by every update. */
	struct vm_record *records;
	struct vcpu_record *vcpu_pool;
	struct exit_record *exit_pool;
};

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

static struct kt_totals totals_advance(struct kt_totals *reported, const struct kt_totals *cur)
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
	into->disk_read_bytes += from->disk_read_bytes;
	into->disk_write_bytes += from->disk_write_bytes;
	into->disk_read_ops += from->disk_read_ops;
	into->disk_write_ops += from->disk_write_ops;
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
	a->records = NULL;
	a->vcpu_pool = NULL;
	a->exit_pool = NULL;
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
	if (a->src.identify(a->src.ctx, vm->tgid, name, sizeof(name), vs->uuid, sizeof(vs->uuid)))
		snprintf(name, sizeof(name), "pid-%u", vm->tgid);
	/* Two live VMs with one name would share a file: the later one gets its PID appended. */
	if (name_taken(a, name))
		snprintf(vs->name, sizeof(vs->name), "%s-%u", name, vm->tgid);
	else
		snprintf(vs->name, sizeof(vs->name), "%s", name);
	/* cpu_last stays 0: the first split uses the process's whole life, the best we know. */
	a->nr_vms++;
	return vs;
}

static struct thread_state *thread_state_get(struct vm_state *vs, uint32_t tid)
{
	struct thread_state *ts;
	size_t i;

	for (i = 0; i < vs->nr_threads; i++)
		if (vs->threads[i].tid == tid)
			return &vs->threads[i];
	ts = realloc(vs->threads, (vs->nr_threads + 1) * sizeof(*ts));
	if (!ts)
		return NULL;
	vs->threads = ts;
	ts = &vs->threads[vs->nr_threads++];
	memset(ts, 0, sizeof(*ts));
	ts->tid = tid;
	ts->kvm_index = -1;
	return ts;
}

static struct exit_state *exit_state_get(struct vm_state *vs, uint32_t isa, uint32_t reason)
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


static bool belongs(const struct kt_vm *vm, uint32_t tgid, uint64_t birth_ns)
{
	return vm->tgid == tgid && vm->birth_ns == birth_ns;
}

/* vCPU index's "exits" in a reading of KVM's statistics; false when it has none. */
static bool kvm_vcpu_exits(const struct kvm_exit_counts *k, int index, uint64_t *exits)
{
	size_t i;

	for (i = 0; k->valid && i < k->nr_vcpus; i++)
		if (k->vcpu[i].index == index) {
			*exits = k->vcpu[i].exits;
			return true;
		}
	return false;
}

/*
 * A vCPU thread's exits from KVM's statistics of its vCPU, from the VM's previous reading on
 * (the one its last row ended with), so that the vCPU rows add up to the VM's.
 */
static bool thread_kvm_exits(const struct vm_state *vs, struct thread_state *ts, int index,
			     const struct kvm_exit_counts *now, uint64_t *exits)
{
	uint64_t cur;

	if (index < 0 || !kvm_vcpu_exits(now, index, &cur))
		return false;
	if (ts->kvm_index != index) {
		uint64_t before = 0;

		ts->kvm_index = index;
		kvm_vcpu_exits(&vs->kvm_last, index, &before);
		ts->kvm_exits_reported = before;
	}
	*exits = mono_advance(&ts->kvm_exits_reported, cur);
	return true;
}

/* The VM's vCPU threads' rows, guest time from the VM's source; returns how many. */
static size_t vcpu_rows(struct account *a, struct vm_state *vs, const struct snapshot *s,
			const struct kvm_exit_counts *kvm_now, struct vcpu_record *out)
{
	bool kernel = vs->guest_source == GUEST_SOURCE_KERNEL;
	const struct kt_thread *t;
	struct thread_state *ts;
	struct kt_totals cur, d;
	size_t i, n = 0;
	int index;

	for (i = 0; i < s->nr_threads; i++) {
		t = &s->threads[i].t;
		if (t->tgid != vs->tgid || t->vm_birth_ns != vs->birth_ns)
			continue;
		ts = thread_state_get(vs, s->threads[i].tid);
		if (!ts)
			continue;
		cur = t->sum;
		d = totals_advance(&ts->reported, &cur);
		/* Threads name themselves after they start: read the name until it is set. */
		if (!ts->name[0] || vcpu_index_from_thread_name(ts->name) < 0)
			a->src.thread_name(a->src.ctx, vs->tgid, ts->tid, ts->name, sizeof(ts->name));
		index = (t->flags & (KT_THREAD_VCPU | KT_THREAD_IN_KVM_RUN)) ? (int)t->vcpu_id :
			vcpu_index_from_thread_name(ts->name);
		if (!(t->flags & (KT_THREAD_VCPU | KT_THREAD_GUEST_TIME)) && index < 0)
			continue;
		out[n] = (struct vcpu_record){
			.tid = ts->tid,
			.vcpu = index,
			.cpu_total_ns = d.on_cpu_ns,
			.cpu_guest_ns = kernel ? d.kernel_guest_ns : d.guest_ns,
			.exits = d.exits,
			.exit_handling_ns = kernel ? 0 : d.exit_handling_ns,
			.run_delay_ns = d.run_delay_ns,
		};
		if (kernel)
			out[n].exits_unmeasured = !thread_kvm_exits(vs, ts, index, kvm_now,
								    &out[n].exits);
		snprintf(out[n].thread, sizeof(out[n].thread), "%s", ts->name);
		n++;
	}
	return n;
}

static size_t exit_rows(struct vm_state *vs, const struct snapshot *s, struct exit_record *out)
{
	const struct snap_exit *e;
	struct exit_state *es;
	uint64_t count, handling;
	size_t i, n = 0;

	for (i = 0; i < s->nr_exits; i++) {
		e = &s->exits[i];
		if (e->key.tgid != vs->tgid || e->key.vm_birth_ns != vs->birth_ns)
			continue;
		es = exit_state_get(vs, e->key.isa, e->key.reason);
		if (!es)
			continue;
		count = mono_advance(&es->reported.count, e->stat.count);
		handling = mono_advance(&es->reported.handling_ns, e->stat.handling_ns);
		if (!count && !handling)
			continue;
		out[n] = (struct exit_record){
			.isa = e->key.isa,
			.reason = e->key.reason,
			.count = count,
			.handling_ns = handling,
		};
		exit_reason_name(e->key.isa, e->key.reason, out[n].name, sizeof(out[n].name));
		n++;
	}
	return n;
}

/* Splits the hypervisor time by the kernel's user/system ticks of this interval (or, when
 * no tick fell in it, of the process's whole life). */
static void split_hyp(struct account *a, struct vm_state *vs, bool dead, struct vm_record *r)
{
	struct proc_cputime now = vs->cpu_last;
	uint64_t du, ds, dg;

	/* A dead VM's ticks are gone with it: its last row uses the ratio of its life. */
	if (!dead)
		a->src.cputime(a->src.ctx, vs->tgid, &now);
	du = now.utime - vs->cpu_last.utime;
	ds = now.stime - vs->cpu_last.stime;
	dg = now.guest - vs->cpu_last.guest;
	vs->cpu_last = now;
	/* utime includes guest time; the hypervisor's user time is the rest. */
	r->hyp_split_valid = split_by_ticks(r->cpu_hyp_ns, du > dg ? du - dg : 0, ds,
					    &r->cpu_hyp_user_ns, &r->cpu_hyp_kernel_ns);
	if (r->hyp_split_valid)
		return;
	r->hyp_split_valid = split_by_ticks(r->cpu_hyp_ns,
					    now.utime > now.guest ? now.utime - now.guest : 0,
					    now.stime, &r->cpu_hyp_user_ns, &r->cpu_hyp_kernel_ns);
}

/* Traffic on the VM's taps; the record's net columns are valid when it has taps we count. */
static void net_figures(struct account *a, struct vm_state *vs, const struct snapshot *s,
			struct vm_record *r)
{
	struct kt_net_stat cur = {};
	bool counted = false;
	size_t i;

	for (i = 0; i < s->nr_nets; i++) {
		const struct snap_net *n = &s->nets[i];

		if (n->key.tgid != vs->tgid || n->key.vm_birth_ns != vs->birth_ns)
			continue;
		cur.rx_bytes += n->stat.rx_bytes;
		cur.rx_packets += n->stat.rx_packets;
		cur.tx_bytes += n->stat.tx_bytes;
		cur.tx_packets += n->stat.tx_packets;
		counted = true;
	}
	r->net_rx_bytes = mono_advance(&vs->net_reported.rx_bytes, cur.rx_bytes);
	r->net_rx_packets = mono_advance(&vs->net_reported.rx_packets, cur.rx_packets);
	r->net_tx_bytes = mono_advance(&vs->net_reported.tx_bytes, cur.tx_bytes);
	r->net_tx_packets = mono_advance(&vs->net_reported.tx_packets, cur.tx_packets);
	r->net_valid = counted || a->src.taps(a->src.ctx, vs->tgid) > 0;
}

static const struct kt_vm_percpu *percpu_of(const struct snapshot *s, const struct vm_state *vs)
{
	size_t i;

	for (i = 0; i < s->nr_percpu; i++)
		if (s->percpu[i].key.tgid == vs->tgid && s->percpu[i].key.birth_ns == vs->birth_ns)
			return &s->percpu[i].sum;
	return NULL;
}

/* The perf counters' growth, split guest/host where guest mode is observed. */
static void counter_figures(struct account *a, struct vm_state *vs,
			    const struct kt_vm_percpu *cur, struct vm_record *r)
{
	struct kt_vm_percpu *rep = &vs->percpu_reported;
	size_t i;

	r->nr_counters = a->opts.nr_counters;
	for (i = 0; i < r->nr_counters; i++) {
		struct counter_record *c = &r->counter[i];

		c->name = a->opts.counter_name[i];
		c->column = a->opts.counter_column[i];
		c->valid = a->opts.counter_active[i];
		c->guest = mono_advance(&rep->counter_guest[i], cur->counter_guest[i]);
		c->host = mono_advance(&rep->counter_host[i], cur->counter_host[i]);
		/* Only the tracepoints mark where guest mode begins and ends. */
		if (r->guest_source != GUEST_SOURCE_TRACEPOINT) {
			c->host += c->guest;
			c->guest = 0;
		}
	}
}

/*
 * cpu_hyp_ns by component: the interval's sampler hits give the shares; an interval without a
 * hit (a VM that barely ran) takes the shares of its whole life, so the parts still sum to the
 * exact figure. Network code the VM's threads ran in softirq is the VM's own network work when
 * it moved packets in the interval; otherwise it was other traffic's, processed on the VM's
 * time because softirq interrupted its thread, and counts as other kernel work. Work outside
 * the VM's threads is counted in samples times the period.
 */
static void component_figures(struct account *a, struct vm_state *vs,
			      const struct kt_vm_percpu *cur, struct vm_record *r)
{
	struct kt_vm_percpu *rep = &vs->percpu_reported;
	bool moved = r->net_valid && r->net_rx_packets + r->net_tx_packets > 0;
	uint64_t hits[KT_NR_COMPONENTS], in_softirq;
	bool any = false;
	size_t c;

	if (!a->opts.sample_period_ns)
		return;
	for (c = 0; c < KT_NR_COMPONENTS; c++)
		hits[c] = mono_advance(&rep->samples_own[c], cur->samples_own[c]);
	for (c = 0; c < KT_NR_COMPONENTS; c++) {
		in_softirq = mono_advance(&rep->samples_softirq[c], cur->samples_softirq[c]);
		hits[moved ? c : KT_COMP_OTHER_KERNEL] += in_softirq;
	}
	for (c = 0; c < KT_NR_COMPONENTS; c++) {
		any |= hits[c] != 0;
		r->ext_component_ns[c] = mono_advance(&rep->samples_ext[c], cur->samples_ext[c]) *
					 a->opts.sample_period_ns;
	}
	r->ext_components_valid = true;
	/* Lifetime shares, but no network work in an interval that moved no packet. */
	if (!any)
		for (c = 0; c < KT_NR_COMPONENTS; c++)
			hits[c] = moved || (c != KT_COMP_TAP && c != KT_COMP_BRIDGE &&
					    c != KT_COMP_NET) ? rep->samples_own[c] : 0;
	r->hyp_components_valid = split_exact(r->cpu_hyp_ns, hits, KT_NR_COMPONENTS,
					      r->hyp_component_ns);
	/* No hit yet and nothing to split: every component is truly 0. */
	if (!r->hyp_components_valid && !r->cpu_hyp_ns)
		r->hyp_components_valid = true;
}

/*
 * Network softirq that ran in no VM's context (the bridge and drivers forwarding for all
 * VMs) is shared among the VMs by the bytes each moved on its taps in the interval, as the
 * paper did.
 */
static void share_network_work(struct account *a, const struct snapshot *s,
			       struct vm_record *records, size_t n)
{
	static const enum kt_component shared[] = { KT_COMP_TAP, KT_COMP_BRIDGE, KT_COMP_NET };
	uint64_t bytes[n ? n : 1], parts[n ? n : 1], ns;
	size_t i, k;

	if (!a->opts.sample_period_ns)
		return;
	for (i = 0; i < n; i++)
		bytes[i] = records[i].net_valid ? records[i].net_rx_bytes +
						  records[i].net_tx_bytes : 0;
	for (k = 0; k < sizeof(shared) / sizeof(shared[0]); k++) {
		ns = mono_advance(&a->shared_reported.hits[shared[k]], s->shared.hits[shared[k]]) *
		     a->opts.sample_period_ns;
		if (!split_exact(ns, bytes, n, parts))
			continue;	/* no VM moved a byte: the host's own traffic */
		for (i = 0; i < n; i++)
			records[i].ext_component_ns[shared[k]] += parts[i];
	}
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

/*
 * This drain's reading of KVM's statistics for the VM, or the last one when none can be made.
 * Read for a dead VM too: the duplicated stats fds keep its counters to the end.
 */
static void kvm_stats_read(struct account *a, const struct vm_state *vs,
			   struct kvm_exit_counts *now)
{
	if (a->src.kvm_exits(a->src.ctx, vs->tgid, now))
		*now = vs->kvm_last;
}

/*
 * Exits as KVM's per-vCPU statistics count them, for a VM on the kernel source. Taken while the
 * VM has no source yet too, so that its first row starts from the reading before it.
 */
static void kvm_stats_figures(struct vm_state *vs, const struct kvm_exit_counts *now,
			      struct vm_record *r)
{
	bool report = vs->guest_source == GUEST_SOURCE_KERNEL;
	size_t i;

	r->exit_handling_unmeasured = true;
	if (!now->valid) {
		r->exits_unmeasured = true;
		return;
	}
	r->exits = mono_advance(&vs->kvm_reported.count, now->exits);
	for (i = 0; i < now->nr_kinds; i++) {
		struct exit_state *es = exit_state_get(vs, KT_ISA_KVM_STATS, (uint32_t)i);
		uint64_t count;

		if (!es)
			continue;
		count = mono_advance(&es->reported.count, now->kind[i].count);
		if (!count || !report)
			continue;
		r->exit[r->nr_exits] = (struct exit_record){
			.isa = KT_ISA_KVM_STATS,
			.reason = (uint32_t)i,
			.count = count,
		};
		snprintf(r->exit[r->nr_exits].name, sizeof(r->exit[r->nr_exits].name), "%s",
			 now->kind[i].name);
		r->nr_exits++;
	}
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
	size_t i;

	for (i = 0; i < s->nr_threads; i++) {
		const struct kt_thread *th = &s->threads[i].t;

		if (belongs(&sv->vm, th->tgid, th->vm_birth_ns)) {
			struct kt_totals t = th->sum;

			totals_add(&cur, &t);
			tracepoint |= (th->flags & KT_THREAD_VCPU) != 0;
			kernel |= (th->flags & KT_THREAD_GUEST_TIME) != 0;
		}
	}
	choose_guest_source(a, vs, tracepoint || cur.exits, kernel || cur.kernel_guest_ns);
	d = totals_advance(&vs->reported, &cur);
	snprintf(r->vm, sizeof(r->vm), "%s", vs->name);
	snprintf(r->uuid, sizeof(r->uuid), "%s", vs->uuid);
	r->pid = vs->tgid;
	r->final = sv->dead;
	if (vs->guest_source != GUEST_SOURCE_TRACEPOINT)
		kvm_stats_read(a, vs, &kvm_now);
	r->nr_vcpus = vcpu_rows(a, vs, s, &kvm_now, r->vcpu);
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
	} else {
		kvm_stats_figures(vs, &kvm_now, r);
		vs->kvm_last = kvm_now;
		if (vs->guest_source == GUEST_SOURCE_KERNEL)
			r->cpu_guest_ns = d.kernel_guest_ns;
		else
			r->exits = 0;
	}
	r->cpu_hyp_ns = r->cpu_total_ns > r->cpu_guest_ns ? r->cpu_total_ns - r->cpu_guest_ns : 0;
	split_hyp(a, vs, sv->dead, r);
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
	if (!a->records || !a->vcpu_pool || !a->exit_pool)
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
