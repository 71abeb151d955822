/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The power model: the host's power over an interval is an idle part and an active part; the
 * active part is shared among the VMs, and the rest of the host, by CPU time. Each VM gets
 *
 *	vm_power_w = (host_w - idle_w) * vm_cpu_ns / max(host_busy_ns, sum of the VMs' cpu_ns)
 *
 * and the rest of the host what the VMs leave of the active part, so that, every interval,
 * sum(vm_power_w) + rest_w + idle_w = host_w exactly. idle_w is --idle-watts, or else the
 * lowest host power seen so far in the run (an estimate that only improves).
 */
#ifndef KT_ATTRIBUTION_H
#define KT_ATTRIBUTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "record.h"

/* The host's CPU time in clock ticks, from the first line of /proc/stat. */
struct host_cpu {
	uint64_t busy;		/* user, nice, system, irq, softirq (guest time is in user) */
	uint64_t all;		/* the above plus idle and iowait: the CPUs' capacity */
};

/* Parses the "cpu ..." line of /proc/stat. Returns 0, or -1 when it is not one. */
int parse_host_cpu(const char *line, struct host_cpu *cpu);

/* Reads PROC/stat. Returns 0 or -1. */
int read_host_cpu(const char *proc, struct host_cpu *cpu);

/*
 * The host's running totals since the run began, for sinks that export counters (Prometheus):
 * each figure summed over the intervals it was measured in (account_totals.h).
 */
struct host_totals {
	double host_energy_j;
	uint64_t tracer_cpu_ns;
	uint64_t tracer_bpf_ns;	/* of the intervals bpf_stats counted in */
	uint64_t sampler_cost_ns;	/* of the intervals it was known in */
};

/* The host's side of an interval's power, written to the host file beside the VMs'. */
struct host_record {
	bool valid;		/* the power of this interval is known */
	const char *source;	/* "edimax", "rapl" or "none" */
	double host_power_w;
	double host_energy_j;
	double idle_w;
	double vms_w;		/* the VMs' shares summed */
	double rest_w;		/* the active part no VM's threads used */
	uint64_t cpu_busy_ns;	/* the host's busy CPU time in the interval */
	uint64_t cpu_capacity_ns;
	/* The tracer's own cost in the interval: its process's CPU time, and its BPF programs'
	 * run time as the kernel counts it (kernel.bpf_stats_enabled; -1 while that is off). */
	uint64_t tracer_cpu_ns;
	int64_t tracer_bpf_ns;
	/* The sampler's rate per CPU in the interval (0: it does not run), and what it cost the
	 * CPUs it interrupted (sampler_budget.h; -1: unknown). */
	uint32_t sampler_hz;
	int64_t sampler_cost_ns;
	struct host_totals total;
};

struct power_model {
	double idle_w;		/* fixed (--idle-watts), or the lowest power seen; < 0: none yet */
	bool learn_idle;
};

/* idle_watts < 0: learn the idle power as the lowest host power seen. */
void power_model_init(struct power_model *m, double idle_watts);

/*
 * Splits an interval's host power (from source; valid, watts, energy) among the records by their
 * cpu_total_ns; busy_ns and capacity_ns are the host's CPU time over the interval. Fills each
 * record's host_power_w, vm_power_w and host_energy_j (all < 0 when the power is unknown) and
 * the host record.
 */
void power_attribute(struct power_model *m, const char *source, bool valid, double watts,
		     double energy_j, uint64_t busy_ns, uint64_t capacity_ns, struct vm_record *recs,
		     size_t n, struct host_record *host);

#endif /* KT_ATTRIBUTION_H */
