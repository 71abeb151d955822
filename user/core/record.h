/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one per-VM record built once per interval from the drained maps. Every sink (CSV files,
 * live table, Prometheus) formats this record and never recomputes a figure; which of its
 * members each column and metric family shows, and when, is declared in fields.c.
 */
#ifndef KT_RECORD_H
#define KT_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kvmtrace.h"

#define KT_NAME_MAX	256
#define KT_UUID_LEN	37
#define KT_REASON_MAX	48
#define KT_THREAD_NAME	16

/* When an interval ended and how long it was. */
struct interval_info {
	char timestamp[32];	/* ISO 8601 UTC with ms, e.g. 2026-11-22T16:47:36.123Z */
	double epoch_s;		/* the same instant as Unix time, s */
	double interval_s;	/* measured length of the interval, s */
};

/* Where a row's guest figures come from; one source per row, never a mix. */
enum guest_source {
	GUEST_SOURCE_NONE,		/* guest mode not observed: guest and exit columns empty */
	GUEST_SOURCE_TRACEPOINT,	/* kvm_entry/kvm_exit: exact, exits by reason */
	/* The kernel's own accounting (task->gtime, a tick at a time) where the tracepoints do
	 * not fire; exits from KVM's per-vCPU statistics. */
	GUEST_SOURCE_KERNEL,
};

/* "tracepoint", "kernel", or "" for none: the guest_source column. */
const char *guest_source_name(enum guest_source source);

/* Running totals of a VM's vCPU of one index (struct vm_totals). */
struct vcpu_totals {
	uint64_t cpu_total_ns;
	uint64_t cpu_guest_ns;
	uint64_t run_delay_ns;
	uint64_t exits;
};

/* One vCPU thread's share of the interval. */
struct vcpu_record {
	int tid;
	int vcpu;		/* vCPU index (KVM vcpu_id, or N of QEMU's "CPU N/..."); -1 unknown */
	char thread[KT_THREAD_NAME];
	uint64_t cpu_total_ns;
	uint64_t cpu_guest_ns;	/* valid when the VM's guest_valid is set */
	uint64_t exits;
	/* The kernel source: its vCPU, or KVM's statistics of it, are not known. */
	bool exits_unmeasured;
	uint64_t exit_handling_ns;
	uint64_t run_delay_ns;
	struct vcpu_totals total;
};

/* One perf counter's growth over the interval, split at VM entry and exit. */
struct counter_record {
	const char *name;	/* perf's name: "cycles", "cpu-clock" ... */
	const char *column;	/* CSV column when it is not one of the default four */
	bool valid;		/* counted here (a hardware counter needs a PMU) */
	uint64_t guest;		/* valid with the VM's guest_valid */
	uint64_t host;		/* everything else; all of it when guest mode is not observed */
	uint64_t total_guest;	/* running totals of the two, by name (struct vm_totals) */
	uint64_t total_host;
};

/* Running totals of a VM's exits of one name (struct vm_totals). */
struct exit_totals {
	uint64_t count;
	uint64_t handling_ns;
};

/* VM exits of one reason during the interval. */
struct exit_record {
	uint32_t isa;		/* 1 = VMX (Intel), 2 = SVM (AMD) */
	uint32_t reason;
	char name[KT_REASON_MAX];
	uint64_t count;
	uint64_t handling_ns;
	struct exit_totals total;
};

/*
 * Running totals, for sinks that export counters (Prometheus): the sums of a VM's interval
 * figures, each over the intervals in which it was measured, since the tracer first saw the
 * VM (its vm and uuid, across the processes that continue it), this record included. The
 * vCPU, exit and counter records carry theirs.
 */
struct vm_totals {
	uint64_t cpu_total_ns;
	uint64_t cpu_guest_ns;
	uint64_t cpu_hyp_user_ns;
	uint64_t cpu_hyp_kernel_ns;
	uint64_t run_delay_ns;
	uint64_t net_rx_bytes;
	uint64_t net_tx_bytes;
	uint64_t net_rx_packets;
	uint64_t net_tx_packets;
	uint64_t disk_read_bytes;
	uint64_t disk_write_bytes;
	uint64_t disk_read_ops;
	uint64_t disk_write_ops;
	uint64_t hyp_component_ns[KT_NR_COMPONENTS];
	uint64_t ext_component_ns[KT_NR_COMPONENTS];
	uint64_t exit_handling_cpu_ns;
	uint64_t exit_wait_ns;
};

struct vm_record {
	char vm[KT_NAME_MAX];	/* libvirt name, QEMU -name, or comm-PID */
	char uuid[KT_UUID_LEN];	/* empty when unknown */
	int pid;
	int vcpus;		/* -1 when unknown */

	uint64_t cpu_total_ns;
	uint64_t cpu_guest_ns;
	uint64_t cpu_hyp_ns;	/* cpu_total_ns - cpu_guest_ns */
	uint64_t cpu_hyp_user_ns;
	uint64_t cpu_hyp_kernel_ns;
	uint64_t exits;
	uint64_t exit_handling_ns;
	/* Of it, the vCPUs were on a CPU (KVM's and the VMM's work) or off one (halted, waiting,
	 * stopped); tracepoint source only. */
	uint64_t exit_handling_cpu_ns;
	uint64_t exit_wait_ns;
	uint64_t run_delay_ns;
	char top_exit_reason[KT_REASON_MAX];	/* empty when no exit in the interval */

	/* Disk I/O charged to the VM by the kernel's per-task accounting; ops are bios it queued. */
	bool disk_valid;	/* the kernel keeps per-task I/O accounting */
	uint64_t disk_read_bytes;
	uint64_t disk_write_bytes;
	uint64_t disk_read_ops;
	uint64_t disk_write_ops;
	double disk_lat_avg_us;	/* mean queue-to-completion time; < 0 when no request completed */

	/* Frames on the VM's taps, from the guest's point of view (rx: host to guest). */
	bool net_valid;		/* the VM has taps we count; else the net columns are empty */
	uint64_t net_rx_bytes;
	uint64_t net_tx_bytes;
	uint64_t net_rx_packets;
	uint64_t net_tx_packets;
	int64_t mem_rss_bytes;	/* the VMM's resident memory at the drain; -1 unknown */
	int64_t mem_guest_bytes; /* the guest's memory as libvirt has it (balloon); -1 unknown */

	/* The host's power over the interval and this VM's share (attribution.h); < 0: unknown. */
	double host_power_w;
	double vm_power_w;
	double host_energy_j;
	const char *power_source; /* "edimax", "rapl" or "none" */

	size_t nr_counters;
	struct counter_record counter[KT_MAX_COUNTERS];

	/*
	 * cpu_hyp_ns by component (enum kt_component), from the sampler's shares scaled to the
	 * exact figure, so they sum to it; valid when the sampler runs and has sampled the VM.
	 */
	bool hyp_components_valid;
	uint64_t hyp_component_ns[KT_NR_COMPONENTS];
	/*
	 * Kernel work for the VM outside its own threads (vhost kernel threads; network softirq
	 * shared among VMs by bytes), estimated as samples times the sampling period: only the
	 * vhost, tap, bridge and net components occur.
	 */
	bool ext_components_valid;
	uint64_t ext_component_ns[KT_NR_COMPONENTS];

	/* Guest mode was observed for this VM: guest, exit and reason columns are meaningful,
	 * but for what the source below does not measure. */
	bool guest_valid;
	enum guest_source guest_source;
	/* The kernel source without KVM statistics (the VMM holds no stats fd): no exit counts. */
	bool exits_unmeasured;
	/* The kernel source: KVM's statistics count exits, not the time they take. */
	bool exit_handling_unmeasured;
	/* The kernel gave a user/system split of the VM's time: the cpu_hyp_user/kernel columns. */
	bool hyp_split_valid;
	/* The VM's process ended during this interval: this is its last row. */
	bool final;

	size_t nr_vcpus;
	struct vcpu_record *vcpu;
	size_t nr_exits;
	struct exit_record *exit;

	struct vm_totals total;
};

#endif /* KT_RECORD_H */
