/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Perf counters: at each accounting point of a tracked thread, what this CPU's counters grew
 * by since their last reading goes to the VM's guest or host share.
 */
#ifndef KT_COUNTERS_BPF_H
#define KT_COUNTERS_BPF_H

#include "kt_maps.bpf.h"

/* Above this, a helper's return is a negative error code. */
#define KT_MAX_ERRNO	4095

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

/* The count alone: no enabled and running times, which cost the helper a clock read. */
static __always_inline bool kt_counter_read_count(const struct kt_readings *fake, __u32 i,
						  __u64 *count)
{
	__u64 slot = bpf_get_smp_processor_id() * KT_MAX_COUNTERS + i;

	if (fake) {
		*count = fake->v[i].counter;
		return true;
	}
	*count = bpf_perf_event_read(&counters, slot);
	return *count < (__u64)-KT_MAX_ERRNO;	/* above: a negative error code */
}

/*
 * What a counter grew by between two full readings scaled up to the time it was enabled: a
 * PMU with more events than registers multiplexes them, and counts only while an event is on
 * it, as perf stat does. Of grew, a part of what it grew by in between.
 */
static __always_inline __u64 kt_counter_scaled(__u64 grew, const struct bpf_perf_event_value *from,
					       const struct bpf_perf_event_value *to)
{
	__u64 enabled = to->enabled - from->enabled, running = to->running - from->running;

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
 * At a kvm hook of the thread whose counters were last read on this CPU by a full reading that
 * knew its VM: what they grew by since goes to its pending guest (at kvm_exit) or host share.
 * False: a full reading is needed (kt_counters_take).
 */
static __always_inline bool kt_counters_quick(const struct kt_readings *fake, __u32 tid,
					      bool guest, __u64 now)
{
	struct kt_counter_base *base;
	__u64 count, *pending;
	__u32 zero = 0, i;

	if (!nr_counters)
		return true;
	base = bpf_map_lookup_elem(&counter_base, &zero);
	if (!base || !base->owner_tgid || base->tid != tid)
		return false;
	pending = guest ? base->quick_guest : base->quick_host;
	for (i = 0; i < KT_MAX_COUNTERS && i < nr_counters; i++) {
		if (!kt_counter_read_count(fake, i, &count))
			continue;
		if (count > base->raw[i])
			pending[i] += count - base->raw[i];
		base->raw[i] = count;
	}
	base->quick++;
	base->at_ns = now;
	return true;
}

/* The VM whose counters' pending shares are in base: charge_to's (at hand) or another's. */
static __always_inline struct kt_vm_percpu *kt_counters_owner(const struct kt_counter_base *base,
							      const struct kt_thread *charge_to,
							      struct kt_vm_percpu *charged)
{
	if (!base->quick || !base->owner_tgid)
		return NULL;
	if (charged && charge_to->tgid == base->owner_tgid &&
	    charge_to->vm_birth_ns == base->owner_birth_ns)
		return charged;
	return kt_vm_percpu_get(base->owner_tgid, base->owner_birth_ns);
}

/*
 * A full reading at an accounting point of a tracked thread (switch, a kvm hook the quick one
 * could not serve, the drain's flush): what the counters grew by since the last reading on
 * this CPU is charged to the VM of charge_to, to its guest or host share, when that reading was
 * taken for the same thread; the pending shares of the quick readings before go to their VM,
 * scaled alike; then this reading becomes the base for base_tid (0: the CPU leaves tracked
 * threads), whose quick readings may follow when charge_to is base_tid's entry.
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
	struct kt_vm_percpu *st = NULL, *owner;
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
	owner = kt_counters_owner(base, charge_to, st);
	if (st) {
		/* Keeps the compiler from offsetting st before the verifier has seen it checked. */
		asm volatile("" : "+r"(st));
		bucket = guest ? st->counter_guest : st->counter_host;
	}
	for (i = 0; i < KT_MAX_COUNTERS && i < nr_counters; i++) {
		if (!kt_counter_read(fake, i, &v))
			continue;
		if (owner) {
			owner->counter_guest[i] += kt_counter_scaled(base->quick_guest[i],
								     &base->v[i], &v);
			owner->counter_host[i] += kt_counter_scaled(base->quick_host[i],
								    &base->v[i], &v);
		}
		if (bucket) {
			grew = v.counter > base->raw[i] ? v.counter - base->raw[i] : 0;
			grew = kt_counter_scaled(grew, &base->v[i], &v);
			if (!span)
				bucket[i] += grew;
			else if (clock_counters & (1U << i))
				bucket[i] += kt_share_of(grew, slice_ns, span);
			else
				lost = true;
		}
		base->v[i] = v;
		base->raw[i] = v.counter;
		base->quick_guest[i] = 0;
		base->quick_host[i] = 0;
	}
	if (lost)
		kt_count_drop(KT_DROP_UNSEEN_SWITCH_IN);
	base->quick = 0;
	base->owner_tgid = charge_to && tid && base_tid == tid ? charge_to->tgid : 0;
	base->owner_birth_ns = charge_to ? charge_to->vm_birth_ns : 0;
	base->tid = base_tid;
	base->at_ns = now;
}

#endif /* KT_COUNTERS_BPF_H */
