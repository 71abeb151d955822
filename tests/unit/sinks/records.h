/* SPDX-License-Identifier: GPL-2.0 */
/* The interval records the sinks' tests feed them, as the interval core makes them. */
#ifndef KT_TEST_RECORDS_H
#define KT_TEST_RECORDS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "account_totals.h"
#include "exit_reasons.h"
#include "record.h"

#define UUID "5f3c2a9e-1b2c-4d5e-8f90-a1b2c3d4e5f6"

/* An interval of 1.00025 s that ended at epoch_s. */
static inline struct interval_info interval(double epoch_s)
{
	struct interval_info iv = { .epoch_s = epoch_s, .interval_s = 1.00025 };

	snprintf(iv.timestamp, sizeof(iv.timestamp), "t%.3f", epoch_s);
	return iv;
}

static inline struct counter_record counter(const char *name, const char *column, bool valid,
					    uint64_t guest, uint64_t host)
{
	return (struct counter_record){ .name = name, .column = column, .valid = valid,
					.guest = guest, .host = host };
}

/* Exits of one reason, named as the accounting names them. */
static inline struct exit_record exits_of(uint32_t isa, uint32_t reason, uint64_t count,
					  uint64_t handling_ns)
{
	struct exit_record e = { .isa = isa, .reason = reason, .count = count,
				 .handling_ns = handling_ns };

	exit_reason_name(isa, reason, e.name, sizeof(e.name));
	return e;
}

/*
 * A VM with everything measured: 2 vCPU threads (one without an index), 3 exit reasons (one of
 * an ISA the accounting does not know) and the default counters, one of them not counted here;
 * the sampler ran. Its vCPU threads and exits stay until the next call.
 */
static inline void full_record(struct vm_record *r)
{
	static struct vcpu_record vcpus[2];
	static struct exit_record exits[3];

	*r = (struct vm_record){
		.vm = "web-01", .uuid = UUID, .pid = 4242, .vcpus = 2,
		.cpu_total_ns = 1500000000, .cpu_guest_ns = 1200000000, .cpu_hyp_ns = 300000000,
		.cpu_hyp_user_ns = 100000000, .cpu_hyp_kernel_ns = 200000000, .exits = 12345,
		.exit_handling_ns = 45000000, .run_delay_ns = 2500000,
		.top_exit_reason = "EPT_VIOLATION", .guest_valid = true,
		.guest_source = GUEST_SOURCE_TRACEPOINT, .hyp_split_valid = true,
		.net_valid = true, .net_rx_bytes = 1000, .net_tx_bytes = 2000, .net_rx_packets = 10,
		.net_tx_packets = 20, .mem_rss_bytes = 536870912, .mem_guest_bytes = 1073741824,
		.disk_valid = true, .disk_read_bytes = 65536, .disk_write_bytes = 8388608,
		.disk_read_ops = 16, .disk_write_ops = 128, .disk_lat_avg_us = 412.5,
		.host_power_w = 120.5, .vm_power_w = 30.25, .power_source = "rapl",
		.host_energy_j = 120.5, .nr_counters = 4,
		.counter = {
			counter("cycles", "cycles", true, 3000000, 1000000),
			counter("instructions", "instructions", true, 4000000, 500000),
			counter("cache-misses", "cache_misses", true, 700, 300),
			counter("branch-misses", "branch_misses", false, 0, 0),
		},
		.hyp_components_valid = true,
		.hyp_component_ns = { [KT_COMP_QEMU_USER] = 100000000, [KT_COMP_KVM] = 150000000,
				      [KT_COMP_OTHER_KERNEL] = 50000000 },
		.ext_components_valid = true, .ext_component_ns = { [KT_COMP_BRIDGE] = 2000000 },
		.nr_vcpus = 2, .vcpu = vcpus, .nr_exits = 3, .exit = exits,
	};
	vcpus[0] = (struct vcpu_record){ .tid = 4250, .vcpu = 0, .thread = "CPU 0/KVM",
		.cpu_total_ns = 800000000, .cpu_guest_ns = 700000000, .exits = 6000,
		.exit_handling_ns = 20000000, .run_delay_ns = 1000000 };
	vcpus[1] = (struct vcpu_record){ .tid = 4251, .vcpu = -1, .thread = "vcpu,\"x\"" };
	exits[0] = exits_of(1, 48, 10000, 40000000);
	exits[1] = exits_of(2, 0x7b, 2345, 5000000);
	exits[2] = exits_of(9, 3, 0, 0);
}

/* What a TCG guest gives: on-CPU time and run delay, nothing more. */
static inline void tcg_record(struct vm_record *r, const char *name)
{
	*r = (struct vm_record){
		.pid = 77, .vcpus = -1, .cpu_total_ns = 250000000, .cpu_hyp_ns = 250000000,
		.run_delay_ns = 1000, .mem_rss_bytes = -1, .mem_guest_bytes = -1,
		.disk_lat_avg_us = -1, .host_power_w = -1, .vm_power_w = -1, .host_energy_j = -1,
		.power_source = "none",
	};
	snprintf(r->vm, sizeof(r->vm), "%s", name);
}

/* The running totals the interval core gives the records of their VMs' first interval. */
static inline int first_totals(struct vm_record *r, size_t n)
{
	struct account_totals *t = account_totals_new();
	int err = t ? account_totals_update(t, r, n) : -1;

	account_totals_free(t);
	return err;
}

#endif /* KT_TEST_RECORDS_H */
