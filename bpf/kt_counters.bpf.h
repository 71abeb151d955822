/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Perf counters: at each accounting point of a tracked thread, what this CPU's counters grew
 * by since their last reading goes to the VM's guest or host share.
 */
#ifndef KT_COUNTERS_BPF_H
#define KT_COUNTERS_BPF_H

#include "kt_maps.bpf.h"

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

#endif /* KT_COUNTERS_BPF_H */
