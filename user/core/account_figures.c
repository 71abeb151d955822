// SPDX-License-Identifier: GPL-2.0
/* The figures of one VM's record, each from the drained snapshot and the VM's running state. */
#include <stdio.h>
#include <string.h>

#include "account.h"
#include "account_priv.h"
#include "exit_reasons.h"

/*
 * A process's life ticks move a tick at a time: they are read again every LIFE_REREAD intervals
 * that need them (a /proc read per VM whose threads the kernel has not yet ticked while traced).
 */
#define LIFE_REREAD	10

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
size_t vcpu_rows(struct account *a, struct vm_state *vs, const struct snapshot *s,
		 struct thread_span threads, const struct kvm_exit_counts *kvm_now,
		 struct vcpu_record *out)
{
	bool kernel = vs->guest_source == GUEST_SOURCE_KERNEL;
	const struct kt_thread *t;
	struct thread_state *ts;
	struct kt_totals cur, d;
	size_t i, k, n = 0;
	int index;

	for (k = 0; k < threads.n; k++) {
		i = threads.idx[k];
		t = &s->threads[i].t;
		ts = thread_state_get(vs, s->threads[i].tid, t);
		if (!ts)
			continue;
		cur = t->sum;
		d = totals_advance(&ts->reported, &cur);
		/*
		 * Threads name themselves after they start: a name is read at the thread's first
		 * interval, and again only once it was renamed (a /proc read per thread otherwise).
		 */
		if (!ts->name[0] || (t->flags & KT_THREAD_RENAMES) != ts->renames) {
			ts->renames = t->flags & KT_THREAD_RENAMES;
			a->src.thread_name(a->src.ctx, vs->tgid, ts->tid, ts->name, sizeof(ts->name));
		}
		index = (t->flags & (KT_THREAD_VCPU | KT_THREAD_IN_KVM_RUN)) ? (int)t->kvm.vcpu_id :
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
	thread_states_sweep(vs);
	return n;
}

size_t exit_rows(struct vm_state *vs, const struct snapshot *s, struct exit_record *out)
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

/* Splits hyp_ns by user ticks (guest ticks taken out: utime includes them) to system ticks. */
static bool split_by_kernel_ticks(struct vm_record *r, uint64_t user, uint64_t system,
				  uint64_t guest)
{
	return split_by_ticks(r->cpu_hyp_ns, user > guest ? user - guest : 0, system,
			      &r->cpu_hyp_user_ns, &r->cpu_hyp_kernel_ns);
}

/*
 * Splits the hypervisor time by the kernel's user/system ticks of the VM's threads, as the
 * drain took them: this interval's, or, when no tick fell in it, those since it was tracked,
 * or, before any, those of the process's whole life (/proc/PID/stat, the one read left).
 */
void split_hyp(struct account *a, struct vm_state *vs, const struct kt_totals *cur, bool dead,
	       struct vm_record *r)
{
	struct kernel_ticks *t = &vs->ticks_reported;
	uint64_t du = mono_advance(&t->user_ns, cur->user_ns);
	uint64_t ds = mono_advance(&t->system_ns, cur->system_ns);
	uint64_t dg = mono_advance(&t->guest_ns, cur->kernel_guest_ns);
	struct proc_cputime *life = &vs->proc_life;

	/* Nothing to split: both parts are truly 0. */
	r->hyp_split_valid = !r->cpu_hyp_ns;
	if (r->hyp_split_valid || split_by_kernel_ticks(r, du, ds, dg) ||
	    split_by_kernel_ticks(r, t->user_ns, t->system_ns, t->guest_ns)) {
		r->hyp_split_valid = true;
		return;
	}
	/* A dead VM's process is gone: its last row uses its life as last read. */
	if (!dead && vs->life_needs++ % LIFE_REREAD == 0)
		a->src.cputime(a->src.ctx, vs->tgid, life);
	r->hyp_split_valid = split_by_kernel_ticks(r, life->utime, life->stime, life->guest);
}

/* Traffic on the VM's taps; the record's net columns are valid when it has taps we count. */
void net_figures(struct account *a, struct vm_state *vs, const struct snapshot *s,
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

const struct kt_vm_percpu *percpu_of(const struct snapshot *s, const struct vm_state *vs)
{
	size_t i;

	for (i = 0; i < s->nr_percpu; i++)
		if (s->percpu[i].key.tgid == vs->tgid && s->percpu[i].key.birth_ns == vs->birth_ns)
			return &s->percpu[i].sum;
	return NULL;
}

/* The perf counters' growth, split guest/host where guest mode is observed. */
void counter_figures(struct account *a, struct vm_state *vs,
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

static bool is_network(size_t c)
{
	return c == KT_COMP_TAP || c == KT_COMP_BRIDGE || c == KT_COMP_NET;
}

/*
 * cpu_hyp_ns by component: the interval's sampler hits give the shares; an interval without a
 * hit (a VM that barely ran) takes the shares of its whole life, so the parts still sum to the
 * exact figure. Network code the VM's threads ran is its network work when it moved packets in
 * the interval (on its taps, counted); otherwise it counts as other kernel work: in softirq it
 * was other traffic's, processed on the VM's time because softirq interrupted its thread; in
 * its own context it was no guest traffic (the VMM's monitor or VNC sockets), or traffic the
 * taps' counters did not see yet (the interval that found the VM). The rest of its softirq time
 * was others' too. Work outside the VM's threads is counted in samples times the period.
 */
void component_figures(struct account *a, struct vm_state *vs,
		       const struct kt_vm_percpu *cur, struct vm_record *r)
{
	struct kt_vm_percpu *rep = &vs->percpu_reported;
	bool moved = r->net_valid && r->net_rx_packets + r->net_tx_packets > 0;
	uint64_t hits[KT_NR_COMPONENTS] = { 0 }, own, in_softirq;
	bool any = false;
	size_t c;

	if (!a->opts.sample_period_ns)
		return;
	for (c = 0; c < KT_NR_COMPONENTS; c++) {
		own = mono_advance(&rep->samples_own[c], cur->samples_own[c]);
		hits[moved || !is_network(c) ? c : KT_COMP_OTHER_KERNEL] += own;
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
			hits[c] = moved || !is_network(c) ? rep->samples_own[c] : 0;
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
void share_network_work(struct account *a, const struct snapshot *s,
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
 * This drain's reading of KVM's statistics for the VM, or the last one when none can be made.
 * Read for a dead VM too: the duplicated stats fds keep its counters to the end.
 */
void read_kvm_exits(struct account *a, const struct vm_state *vs,
		    struct kvm_exit_counts *now)
{
	if (a->src.kvm_exits(a->src.ctx, vs->tgid, now))
		*now = vs->kvm_last;
}

/*
 * Exits as KVM's per-vCPU statistics count them, for a VM on the kernel source. Taken while the
 * VM has no source yet too, so that its first row starts from the reading before it.
 */
void kvm_exit_figures(struct vm_state *vs, const struct kvm_exit_counts *now,
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
