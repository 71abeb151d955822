// SPDX-License-Identifier: GPL-2.0
/*
 * The table of figures (fields.h): the Prometheus families, then the fields of each file in
 * column order. The hypervisor components' columns come from components.c, one per component:
 * a row marked EACH_* here stands for all of them and is expanded once, at first use.
 */
#include <pthread.h>
#include <string.h>

#include "components.h"
#include "exit_reasons.h"
#include "fields.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

#define VM_LABELS	"vm, uuid"

const struct family families[NR_FAMILIES] = {
	[FAM_BUILD] = { "kvmtrace_build", METRIC_INFO, SCOPE_TRACER, NULL, "version",
			"The version of kvmtrace-bpf serving these." },
	[FAM_INTERVALS] = { "kvmtrace_intervals", METRIC_COUNTER, SCOPE_TRACER, NULL, "",
			    "Intervals published." },
	[FAM_LAST] = { "kvmtrace_last_interval_timestamp_seconds", METRIC_GAUGE, SCOPE_TRACER,
		       "seconds", "",
		       "End of the latest interval, Unix time: the epoch_s of its CSV rows." },
	[FAM_INTERVAL] = { "kvmtrace_interval_seconds", METRIC_GAUGE, SCOPE_TRACER, "seconds", "",
			   "Measured length of the latest interval." },
	[FAM_LAG] = { "kvmtrace_interval_lag_seconds", METRIC_GAUGE, SCOPE_TRACER, "seconds", "",
		      "How late the latest drain was against its schedule." },
	[FAM_DROPS] = { "kvmtrace_drops", METRIC_COUNTER, SCOPE_TRACER, NULL, "reason",
			"Events lost to full BPF maps, or kernel quirks seen, by reason." },
	[FAM_POWER_FAILURES] = { "kvmtrace_power_read_failures", METRIC_COUNTER, SCOPE_TRACER,
				 NULL, "", "Intervals whose host power could not be read." },
	[FAM_PROG_RUNS] = { "kvmtrace_bpf_program_runs", METRIC_COUNTER, SCOPE_TRACER, NULL,
			    "program",
			    "Runs of each BPF program (only while kernel.bpf_stats_enabled is "
			    "on)." },
	[FAM_PROG_TIME] = { "kvmtrace_bpf_program_run_seconds", METRIC_COUNTER, SCOPE_TRACER,
			    "seconds", "program",
			    "Time spent in each BPF program (only while kernel.bpf_stats_enabled "
			    "is on)." },
	[FAM_TRACER_CPU] = { "kvmtrace_tracer_cpu_seconds", METRIC_COUNTER, SCOPE_TRACER,
			     "seconds", "", "CPU time of the tracer's process, user and system." },
	[FAM_TRACER_BPF] = { "kvmtrace_tracer_bpf_seconds", METRIC_COUNTER, SCOPE_TRACER,
			     "seconds", "",
			     "Time spent in all the tracer's BPF programs (only while "
			     "kernel.bpf_stats_enabled is on)." },
	[FAM_SAMPLER_HZ] = { "kvmtrace_sampler_hertz", METRIC_GAUGE, SCOPE_TRACER, "hertz", "",
			     "The sampler's rate per CPU in the latest interval (--sample-hz, "
			     "lowered to keep within --overhead-budget)." },
	[FAM_SAMPLER_COST] = { "kvmtrace_sampler_cost_seconds", METRIC_COUNTER, SCOPE_TRACER,
			       "seconds", "",
			       "CPU time the sampler took from the CPUs it interrupted: its "
			       "samples times their cost measured at start-up, and its program's "
			       "time while kernel.bpf_stats_enabled is on." },

	[FAM_CPU] = { "kvmtrace_vm_cpu_seconds", METRIC_COUNTER, SCOPE_VM, "seconds", VM_LABELS,
		      "On-CPU time of all the VMM's threads." },
	[FAM_GUEST] = { "kvmtrace_vm_guest_seconds", METRIC_COUNTER, SCOPE_VM, "seconds",
			VM_LABELS,
			"Of the on-CPU time, time in guest mode (kvm_entry to kvm_exit)." },
	[FAM_HYP] = { "kvmtrace_vm_hypervisor_seconds", METRIC_COUNTER, SCOPE_VM, "seconds",
		      VM_LABELS ", mode",
		      "Of the on-CPU time, time outside guest mode: in the VMM's user space or in "
		      "the kernel." },
	[FAM_HYP_COMP] = { "kvmtrace_vm_hypervisor_component_seconds", METRIC_COUNTER, SCOPE_VM,
			   "seconds", VM_LABELS ", component",
			   "Time outside guest mode by component: sampled shares of the exact "
			   "total." },
	[FAM_EXT] = { "kvmtrace_vm_external_seconds", METRIC_COUNTER, SCOPE_VM, "seconds",
		      VM_LABELS ", component",
		      "Kernel work for the VM outside its threads, estimated from samples." },
	[FAM_RUN_DELAY] = { "kvmtrace_vm_run_delay_seconds", METRIC_COUNTER, SCOPE_VM, "seconds",
			    VM_LABELS,
			    "Time the VM's threads were runnable but waiting for a CPU." },
	[FAM_EXIT_HANDLING_CPU] = { "kvmtrace_vm_exit_handling_cpu_seconds", METRIC_COUNTER,
				    SCOPE_VM, "seconds", VM_LABELS,
				    "Of the time from VM exits to the next entries, the vCPUs were on "
				    "a CPU: KVM's and the VMM's work for them." },
	[FAM_EXIT_WAIT] = { "kvmtrace_vm_exit_wait_seconds", METRIC_COUNTER, SCOPE_VM, "seconds",
			    VM_LABELS,
			    "Of the time from VM exits to the next entries, the vCPUs were off a "
			    "CPU: halted, waiting for one, or stopped." },
	[FAM_EXITS] = { "kvmtrace_vm_exits", METRIC_COUNTER, SCOPE_EXIT, NULL, VM_LABELS ", reason",
			"VM exits by reason." },
	[FAM_EXIT_TIME] = { "kvmtrace_vm_exit_handling_seconds", METRIC_COUNTER, SCOPE_EXIT,
			    "seconds", VM_LABELS ", reason",
			    "Time from each VM exit to the vCPU's next entry, by exit reason." },
	[FAM_NET_RX_BYTES] = { "kvmtrace_vm_network_receive_bytes", METRIC_COUNTER, SCOPE_VM,
			       "bytes", VM_LABELS,
			       "Bytes of the frames the host sent to the guest on its taps." },
	[FAM_NET_TX_BYTES] = { "kvmtrace_vm_network_transmit_bytes", METRIC_COUNTER, SCOPE_VM,
			       "bytes", VM_LABELS,
			       "Bytes of the frames the guest sent on its taps." },
	[FAM_NET_RX_PACKETS] = { "kvmtrace_vm_network_receive_packets", METRIC_COUNTER, SCOPE_VM,
				 NULL, VM_LABELS,
				 "Frames the host sent to the guest on its taps." },
	[FAM_NET_TX_PACKETS] = { "kvmtrace_vm_network_transmit_packets", METRIC_COUNTER, SCOPE_VM,
				 NULL, VM_LABELS, "Frames the guest sent on its taps." },
	[FAM_DISK_READ_BYTES] = { "kvmtrace_vm_disk_read_bytes", METRIC_COUNTER, SCOPE_VM,
				  "bytes", VM_LABELS, "Bytes the VM's threads read from storage." },
	[FAM_DISK_WRITE_BYTES] = { "kvmtrace_vm_disk_write_bytes", METRIC_COUNTER, SCOPE_VM,
				   "bytes", VM_LABELS,
				   "Bytes the VM's threads wrote (buffered: when dirtied)." },
	[FAM_DISK_READ_OPS] = { "kvmtrace_vm_disk_read_ops", METRIC_COUNTER, SCOPE_VM, NULL,
				VM_LABELS, "Read requests (bios) the VM's threads queued." },
	[FAM_DISK_WRITE_OPS] = { "kvmtrace_vm_disk_write_ops", METRIC_COUNTER, SCOPE_VM, NULL,
				 VM_LABELS, "Write requests (bios) the VM's threads queued." },
	[FAM_DISK_LAT] = { "kvmtrace_vm_disk_latency_average_seconds", METRIC_GAUGE, SCOPE_VM,
			   "seconds", VM_LABELS,
			   "Mean queue-to-completion time of the VM's disk requests that completed "
			   "in the latest interval." },
	[FAM_RSS] = { "kvmtrace_vm_memory_rss_bytes", METRIC_GAUGE, SCOPE_VM, "bytes", VM_LABELS,
		      "Resident memory of the VMM process." },
	[FAM_GUEST_MEM] = { "kvmtrace_vm_memory_guest_bytes", METRIC_GAUGE, SCOPE_VM, "bytes",
			    VM_LABELS,
			    "The guest's current memory as libvirt has it (balloon size)." },
	[FAM_VCPUS] = { "kvmtrace_vm_vcpus", METRIC_GAUGE, SCOPE_VM, NULL, VM_LABELS,
			"vCPUs of the VM." },
	[FAM_VM_POWER] = { "kvmtrace_vm_power_watts", METRIC_GAUGE, SCOPE_VM, "watts", VM_LABELS,
			   "The VM's share of the host's power over the latest interval." },
	[FAM_PERF] = { "kvmtrace_vm_perf_events", METRIC_COUNTER, SCOPE_PERF, NULL,
		       VM_LABELS ", event, mode",
		       "Perf counter counts of the VM's threads, in guest mode and outside it (all "
		       "in host where guest mode is not observed)." },
	[FAM_PERF_CLOCK] = { "kvmtrace_vm_perf_clock_seconds", METRIC_COUNTER, SCOPE_PERF,
			     "seconds", VM_LABELS ", event, mode",
			     "Perf clock events (cpu-clock, task-clock) of the VM's threads, in "
			     "guest mode and outside it." },

	[FAM_VCPU_CPU] = { "kvmtrace_vcpu_cpu_seconds", METRIC_COUNTER, SCOPE_VCPU, "seconds",
			   VM_LABELS ", vcpu", "On-CPU time of a vCPU thread." },
	[FAM_VCPU_GUEST] = { "kvmtrace_vcpu_guest_seconds", METRIC_COUNTER, SCOPE_VCPU, "seconds",
			     VM_LABELS ", vcpu", "Time of a vCPU thread in guest mode." },
	[FAM_VCPU_RUN_DELAY] = { "kvmtrace_vcpu_run_delay_seconds", METRIC_COUNTER, SCOPE_VCPU,
				 "seconds", VM_LABELS ", vcpu",
				 "Time a vCPU thread was runnable but waiting for a CPU." },
	[FAM_VCPU_EXITS] = { "kvmtrace_vcpu_exits", METRIC_COUNTER, SCOPE_VCPU, NULL,
			     VM_LABELS ", vcpu", "VM exits of a vCPU thread." },

	[FAM_HOST_POWER] = { "kvmtrace_host_power_watts", METRIC_GAUGE, SCOPE_HOST, "watts",
			     "source", "The host's average power over the latest interval." },
	[FAM_HOST_IDLE] = { "kvmtrace_host_idle_power_watts", METRIC_GAUGE, SCOPE_HOST, "watts",
			    "source", "The idle part of the host's power in the model." },
	[FAM_HOST_REST] = { "kvmtrace_host_rest_power_watts", METRIC_GAUGE, SCOPE_HOST, "watts",
			    "source",
			    "The active part of the host's power that no VM's threads used." },
	[FAM_HOST_ENERGY] = { "kvmtrace_host_energy_joules", METRIC_COUNTER, SCOPE_HOST, "joules",
			      "source",
			      "The host's energy over the intervals whose power was read." },
};

/* Text fields whose value is made of the row rather than read from it. */
static const char *vm_power_source(const struct field_row *row, char *buf, size_t len)
{
	(void)buf;
	(void)len;
	return row->vm->power_source ? row->vm->power_source : "none";
}

static const char *guest_source(const struct field_row *row, char *buf, size_t len)
{
	(void)buf;
	(void)len;
	return guest_source_name(row->vm->guest_source);
}

static const char *exit_isa(const struct field_row *row, char *buf, size_t len)
{
	return exit_isa_name(row->exit->isa, buf, len);
}

static const char *host_power_source(const struct field_row *row, char *buf, size_t len)
{
	(void)buf;
	(void)len;
	return row->host->source ? row->host->source : "none";
}

/* Where a value is; a counter's running total has the same name in the record's totals. */
#define AT(s, st, m)		.src = SRC_##s, .off = offsetof(struct st, m)
#define TEXT(s, st, m)		.type = FT_TEXT, AT(s, st, m), .size = sizeof(((struct st *)0)->m)
#define IV_AT(m)		AT(INTERVAL, interval_info, m)
#define VM_AT(m)		AT(VM, vm_record, m)
#define VCPU_AT(m)		AT(VCPU, vcpu_record, m)
#define EXIT_AT(m)		AT(EXIT, exit_record, m)
#define HOST_AT(m)		AT(HOST, host_record, m)
#define VM_COUNTER(m)		VM_AT(m), .total = offsetof(struct vm_totals, m)
#define VCPU_COUNTER(m)		VCPU_AT(m), .total = offsetof(struct vcpu_totals, m)
#define EXIT_COUNTER(m)		EXIT_AT(m), .total = offsetof(struct exit_totals, m)
#define HOST_COUNTER(m)		HOST_AT(m), .total = offsetof(struct host_totals, m)

/* Every file's first columns: when its interval ended and how long it was. */
#define INTERVAL_FIELDS									\
	{ "timestamp", "ISO 8601 UTC, ms", TEXT(INTERVAL, interval_info, timestamp) },	\
	{ "epoch_s", "s", FT_DOUBLE, IV_AT(epoch_s), .decimals = 3 },			\
	{ "interval_s", "s", FT_DOUBLE, IV_AT(interval_s), .decimals = 6 }

static const struct field vm_table[] = {
	INTERVAL_FIELDS,
	{ "vm", "", TEXT(VM, vm_record, vm) },
	{ "uuid", "", TEXT(VM, vm_record, uuid) },
	{ "pid", "", FT_INT, VM_AT(pid) },
	{ "vcpus", "count", FT_INT, VM_AT(vcpus), .when = WHEN_KNOWN, .family = FAM_VCPUS },
	{ "cpu_total_ns", "ns", FT_U64, VM_COUNTER(cpu_total_ns), .family = FAM_CPU },
	{ "cpu_guest_ns", "ns", FT_U64, VM_COUNTER(cpu_guest_ns), .when = WHEN_GUEST,
	  .family = FAM_GUEST },
	{ "cpu_hyp_ns", "ns", FT_U64, VM_AT(cpu_hyp_ns) },
	{ "cpu_hyp_user_ns", "ns", FT_U64, VM_COUNTER(cpu_hyp_user_ns), .when = WHEN_HYP_SPLIT,
	  .family = FAM_HYP, .label = "mode", .value = "user" },
	{ "cpu_hyp_kernel_ns", "ns", FT_U64, VM_COUNTER(cpu_hyp_kernel_ns), .when = WHEN_HYP_SPLIT,
	  .family = FAM_HYP, .label = "mode", .value = "kernel" },
	{ "exits", "count", FT_U64, VM_AT(exits), .when = WHEN_EXITS },
	{ "exit_handling_ns", "ns", FT_U64, VM_AT(exit_handling_ns), .when = WHEN_EXIT_TIME },
	{ "run_delay_ns", "ns", FT_U64, VM_COUNTER(run_delay_ns), .family = FAM_RUN_DELAY },
	{ "top_exit_reason", "", TEXT(VM, vm_record, top_exit_reason), .when = WHEN_GUEST },
	{ "net_rx_bytes", "bytes", FT_U64, VM_COUNTER(net_rx_bytes), .when = WHEN_NET,
	  .family = FAM_NET_RX_BYTES },
	{ "net_tx_bytes", "bytes", FT_U64, VM_COUNTER(net_tx_bytes), .when = WHEN_NET,
	  .family = FAM_NET_TX_BYTES },
	{ "net_rx_packets", "count", FT_U64, VM_COUNTER(net_rx_packets), .when = WHEN_NET,
	  .family = FAM_NET_RX_PACKETS },
	{ "net_tx_packets", "count", FT_U64, VM_COUNTER(net_tx_packets), .when = WHEN_NET,
	  .family = FAM_NET_TX_PACKETS },
	{ "mem_rss_bytes", "bytes", FT_I64, VM_AT(mem_rss_bytes), .when = WHEN_KNOWN,
	  .family = FAM_RSS },
	{ "mem_guest_bytes", "bytes", FT_I64, VM_AT(mem_guest_bytes), .when = WHEN_KNOWN,
	  .family = FAM_GUEST_MEM },
	{ "disk_read_bytes", "bytes", FT_U64, VM_COUNTER(disk_read_bytes), .when = WHEN_DISK,
	  .family = FAM_DISK_READ_BYTES },
	{ "disk_write_bytes", "bytes", FT_U64, VM_COUNTER(disk_write_bytes), .when = WHEN_DISK,
	  .family = FAM_DISK_WRITE_BYTES },
	{ "disk_read_ops", "count", FT_U64, VM_COUNTER(disk_read_ops), .when = WHEN_DISK,
	  .family = FAM_DISK_READ_OPS },
	{ "disk_write_ops", "count", FT_U64, VM_COUNTER(disk_write_ops), .when = WHEN_DISK,
	  .family = FAM_DISK_WRITE_OPS },
	{ "disk_lat_avg_us", "µs", FT_DOUBLE, VM_AT(disk_lat_avg_us), .decimals = 1,
	  .when = WHEN_DISK_LAT, .family = FAM_DISK_LAT, .mean = true },
	{ "host_power_w", "W", FT_DOUBLE, VM_AT(host_power_w), .decimals = 3, .when = WHEN_KNOWN },
	{ "vm_power_w", "W", FT_DOUBLE, VM_AT(vm_power_w), .decimals = 3, .when = WHEN_KNOWN,
	  .family = FAM_VM_POWER },
	{ "power_source", "", FT_NAME, .src = SRC_VM, .name = vm_power_source },
	{ "host_energy_j", "J", FT_DOUBLE, VM_AT(host_energy_j), .decimals = 3,
	  .when = WHEN_KNOWN },
	{ "guest_cycles", "count", FT_COUNTER, .src = SRC_VM, .counter = "cycles",
	  .share = SHARE_GUEST, .when = WHEN_COUNTER_GUEST },
	{ "host_cycles", "count", FT_COUNTER, .src = SRC_VM, .counter = "cycles",
	  .share = SHARE_HOST, .when = WHEN_COUNTER },
	{ "guest_instructions", "count", FT_COUNTER, .src = SRC_VM, .counter = "instructions",
	  .share = SHARE_GUEST, .when = WHEN_COUNTER_GUEST },
	{ "host_instructions", "count", FT_COUNTER, .src = SRC_VM, .counter = "instructions",
	  .share = SHARE_HOST, .when = WHEN_COUNTER },
	{ "cache_misses", "count", FT_COUNTER, .src = SRC_VM, .counter = "cache-misses",
	  .share = SHARE_BOTH, .when = WHEN_COUNTER },
	{ "branch_misses", "count", FT_COUNTER, .src = SRC_VM, .counter = "branch-misses",
	  .share = SHARE_BOTH, .when = WHEN_COUNTER },
	{ NULL, "ns", FT_U64, VM_COUNTER(hyp_component_ns[0]), .each = EACH_COMPONENT,
	  .when = WHEN_HYP_COMPONENTS, .family = FAM_HYP_COMP, .label = "component" },
	{ NULL, "ns", FT_U64, VM_COUNTER(ext_component_ns[0]), .each = EACH_EXT_COMPONENT,
	  .when = WHEN_EXT_COMPONENTS, .family = FAM_EXT, .label = "component" },
	{ "guest_source", "", FT_NAME, .src = SRC_VM, .name = guest_source },
	{ "exit_handling_cpu_ns", "ns", FT_U64, VM_COUNTER(exit_handling_cpu_ns),
	  .when = WHEN_EXIT_TIME, .family = FAM_EXIT_HANDLING_CPU },
	{ "exit_wait_ns", "ns", FT_U64, VM_COUNTER(exit_wait_ns), .when = WHEN_EXIT_TIME,
	  .family = FAM_EXIT_WAIT },
};

static const struct field vcpu_table[] = {
	INTERVAL_FIELDS,
	{ "vm", "", TEXT(VM, vm_record, vm) },
	{ "pid", "", FT_INT, VM_AT(pid) },
	{ "tid", "", FT_INT, VCPU_AT(tid) },
	{ "vcpu", "", FT_INT, VCPU_AT(vcpu), .when = WHEN_KNOWN },
	{ "thread", "", TEXT(VCPU, vcpu_record, thread) },
	{ "cpu_total_ns", "ns", FT_U64, VCPU_COUNTER(cpu_total_ns), .family = FAM_VCPU_CPU },
	{ "cpu_guest_ns", "ns", FT_U64, VCPU_COUNTER(cpu_guest_ns), .when = WHEN_GUEST,
	  .family = FAM_VCPU_GUEST },
	{ "exits", "count", FT_U64, VCPU_COUNTER(exits), .when = WHEN_VCPU_EXITS,
	  .family = FAM_VCPU_EXITS },
	{ "exit_handling_ns", "ns", FT_U64, VCPU_AT(exit_handling_ns), .when = WHEN_EXIT_TIME },
	{ "run_delay_ns", "ns", FT_U64, VCPU_COUNTER(run_delay_ns), .family = FAM_VCPU_RUN_DELAY },
};

static const struct field exits_table[] = {
	INTERVAL_FIELDS,
	{ "vm", "", TEXT(VM, vm_record, vm) },
	{ "pid", "", FT_INT, VM_AT(pid) },
	{ "isa", "", FT_NAME, .src = SRC_EXIT, .name = exit_isa },
	{ "reason_code", "", FT_U32, EXIT_AT(reason) },
	{ "reason", "", TEXT(EXIT, exit_record, name) },
	{ "count", "count", FT_U64, EXIT_COUNTER(count), .family = FAM_EXITS },
	{ "handling_ns", "ns", FT_U64, EXIT_COUNTER(handling_ns), .family = FAM_EXIT_TIME },
};

static const struct field host_table[] = {
	INTERVAL_FIELDS,
	{ "power_source", "", FT_NAME, .src = SRC_HOST, .name = host_power_source },
	{ "host_power_w", "W", FT_DOUBLE, HOST_AT(host_power_w), .decimals = 3,
	  .when = WHEN_POWER, .family = FAM_HOST_POWER },
	{ "host_energy_j", "J", FT_DOUBLE, HOST_COUNTER(host_energy_j), .decimals = 3,
	  .when = WHEN_POWER, .family = FAM_HOST_ENERGY },
	{ "idle_w", "W", FT_DOUBLE, HOST_AT(idle_w), .decimals = 3, .when = WHEN_POWER,
	  .family = FAM_HOST_IDLE },
	{ "vms_w", "W", FT_DOUBLE, HOST_AT(vms_w), .decimals = 3, .when = WHEN_POWER },
	{ "rest_w", "W", FT_DOUBLE, HOST_AT(rest_w), .decimals = 3, .when = WHEN_POWER,
	  .family = FAM_HOST_REST },
	{ "cpu_busy_ns", "ns", FT_U64, HOST_AT(cpu_busy_ns) },
	{ "cpu_capacity_ns", "ns", FT_U64, HOST_AT(cpu_capacity_ns) },
	{ "tracer_cpu_ns", "ns", FT_U64, HOST_COUNTER(tracer_cpu_ns), .family = FAM_TRACER_CPU },
	{ "tracer_bpf_ns", "ns", FT_I64, HOST_COUNTER(tracer_bpf_ns), .when = WHEN_KNOWN,
	  .family = FAM_TRACER_BPF },
	{ "sampler_hz", "Hz", FT_U32, HOST_AT(sampler_hz), .family = FAM_SAMPLER_HZ },
	{ "sampler_cost_ns", "ns", FT_I64, HOST_COUNTER(sampler_cost_ns), .when = WHEN_KNOWN,
	  .family = FAM_SAMPLER_COST },
};

static const struct {
	const struct field *table;
	size_t n;
} tables[NR_FIELD_FILES] = {
	[FIELDS_VM] = { vm_table, ARRAY_SIZE(vm_table) },
	[FIELDS_VCPU] = { vcpu_table, ARRAY_SIZE(vcpu_table) },
	[FIELDS_EXITS] = { exits_table, ARRAY_SIZE(exits_table) },
	[FIELDS_HOST] = { host_table, ARRAY_SIZE(host_table) },
};

/* The VM file is the longest, and the one with rows for every component (two of them). */
#define MAX_FIELDS	(ARRAY_SIZE(vm_table) + 2 * KT_NR_COMPONENTS)

static struct field expanded[NR_FIELD_FILES][MAX_FIELDS];
static struct field_list lists[NR_FIELD_FILES];
static pthread_once_t expand_once = PTHREAD_ONCE_INIT;

/* A row for every component becomes one field per component, at its index in the arrays. */
static void expand(void)
{
	const struct field *t;
	struct field *out;
	const char *column;
	size_t file, i, n, c;

	for (file = 0; file < NR_FIELD_FILES; file++) {
		out = expanded[file];
		/* A table that outgrew MAX_FIELDS is cut short, which test_fields.c reports. */
		for (i = n = 0; i < tables[file].n && n < MAX_FIELDS; i++) {
			t = &tables[file].table[i];
			if (t->each == EACH_NONE) {
				out[n++] = *t;
				continue;
			}
			for (c = 0; c < KT_NR_COMPONENTS && n < MAX_FIELDS; c++) {
				column = t->each == EACH_EXT_COMPONENT ? components[c].ext_column :
					 components[c].hyp_column;
				if (!column)
					continue;
				out[n] = *t;
				out[n].column = column;
				out[n].component = c;
				out[n].off += c * sizeof(uint64_t);
				out[n].total += c * sizeof(uint64_t);
				n++;
			}
		}
		lists[file] = (struct field_list){ out, n };
	}
}

const struct field_list *fields_of(enum field_file file)
{
	pthread_once(&expand_once, expand);
	return &lists[file];
}

const char *field_label_value(const struct field *f)
{
	if (f->value || f->each == EACH_NONE)
		return f->value;
	return components[f->component].name;
}

static const char *base_of(const struct field *f, const struct field_row *row)
{
	switch (f->src) {
	case SRC_INTERVAL:
		return (const char *)row->iv;
	case SRC_VM:
		return (const char *)row->vm;
	case SRC_VCPU:
		return (const char *)row->vcpu;
	case SRC_EXIT:
		return (const char *)row->exit;
	case SRC_HOST:
		return (const char *)row->host;
	}
	return NULL;
}

const struct counter_record *record_counter(const struct vm_record *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->nr_counters && i < KT_MAX_COUNTERS; i++)
		if (r->counter[i].valid && r->counter[i].name && !strcmp(r->counter[i].name, name))
			return &r->counter[i];
	return NULL;
}

bool counter_has_column(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(vm_table); i++)
		if (vm_table[i].type == FT_COUNTER && !strcmp(vm_table[i].counter, name))
			return true;
	return false;
}

static uint64_t counter_share(const struct field *f, const struct vm_record *r)
{
	const struct counter_record *c = record_counter(r, f->counter);

	if (!c)
		return 0;
	return f->share == SHARE_GUEST ? c->guest : f->share == SHARE_HOST ? c->host :
	       c->guest + c->host;
}

const char *field_text(const struct field *f, const struct field_row *row, char *buf,
		       size_t len)
{
	const char *p = base_of(f, row) + f->off;
	size_t n;

	if (f->type == FT_NAME)
		return f->name(row, buf, len);
	if (f->type != FT_TEXT || !len)
		return "";
	/* The record's text is a fixed array: never trusted to hold a NUL. */
	n = strnlen(p, f->size < len ? f->size : len - 1);
	memcpy(buf, p, n);
	buf[n] = '\0';
	return buf;
}

uint64_t field_u64(const struct field *f, const struct field_row *row)
{
	const char *p = base_of(f, row) + f->off;

	switch (f->type) {
	case FT_U64:
		return *(const uint64_t *)p;
	case FT_U32:
		return *(const uint32_t *)p;
	case FT_INT:
		return (uint64_t)(int64_t)*(const int *)p;
	case FT_I64:
		return (uint64_t)*(const int64_t *)p;
	case FT_COUNTER:
		return counter_share(f, row->vm);
	default:
		return 0;
	}
}

double field_double(const struct field *f, const struct field_row *row)
{
	if (f->type == FT_DOUBLE)
		return *(const double *)(base_of(f, row) + f->off);
	return (double)field_u64(f, row);
}

/* A signed figure or a double is unknown when it is < 0. */
static bool known(const struct field *f, const struct field_row *row)
{
	if (f->type == FT_DOUBLE)
		return field_double(f, row) >= 0;
	if (f->type == FT_INT || f->type == FT_I64)
		return (int64_t)field_u64(f, row) >= 0;
	return true;
}

bool field_measured(const struct field *f, const struct field_row *row)
{
	const struct vm_record *r = row->vm;

	switch (f->when) {
	case WHEN_ALWAYS:
		return true;
	case WHEN_KNOWN:
		return known(f, row);
	case WHEN_GUEST:
		return r->guest_valid;
	case WHEN_EXITS:
		return r->guest_valid && !r->exits_unmeasured;
	case WHEN_VCPU_EXITS:
		return r->guest_valid && !row->vcpu->exits_unmeasured;
	case WHEN_EXIT_TIME:
		return r->guest_valid && !r->exit_handling_unmeasured;
	case WHEN_HYP_SPLIT:
		return r->hyp_split_valid;
	case WHEN_NET:
		return r->net_valid;
	case WHEN_DISK:
		return r->disk_valid;
	case WHEN_DISK_LAT:
		return r->disk_valid && known(f, row);
	case WHEN_HYP_COMPONENTS:
		return r->hyp_components_valid;
	case WHEN_EXT_COMPONENTS:
		return r->ext_components_valid;
	case WHEN_COUNTER:
		return record_counter(r, f->counter);
	case WHEN_COUNTER_GUEST:
		return record_counter(r, f->counter) && r->guest_source == GUEST_SOURCE_TRACEPOINT;
	case WHEN_POWER:
		return row->host->valid && known(f, row);
	}
	return false;
}

const void *field_total(const struct field *f, const struct field_row *row)
{
	const char *totals;

	switch (f->src) {
	case SRC_VM:
		totals = (const char *)&row->vm->total;
		break;
	case SRC_VCPU:
		totals = (const char *)&row->vcpu->total;
		break;
	case SRC_EXIT:
		totals = (const char *)&row->exit->total;
		break;
	case SRC_HOST:
		totals = (const char *)&row->host->total;
		break;
	default:
		return NULL;
	}
	return totals + f->total;
}
