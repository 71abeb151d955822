/* SPDX-License-Identifier: GPL-2.0 */
/* The records and the rows they make that the CSV tests share (test_csv.c, test_csv_files.c). */
#ifndef KT_TEST_CSV_FIXTURE_H
#define KT_TEST_CSV_FIXTURE_H

#include <string.h>

#include "csv.h"
#include "records.h"

static const struct interval_info iv = {
	.timestamp = "2026-11-22T16:47:36.123Z",
	.epoch_s = 1795366056.123,
	.interval_s = 1.00025,
};

#define T "2026-11-22T16:47:36.123Z,1795366056.123,1.000250,"

/* The headers as text; test_headers() checks they are what the sink exports. */
#define VM_HDR_TEXT "timestamp,epoch_s,interval_s,vm,uuid,pid,vcpus,cpu_total_ns,cpu_guest_ns," \
	"cpu_hyp_ns,cpu_hyp_user_ns,cpu_hyp_kernel_ns,exits,exit_handling_ns,run_delay_ns," \
	"top_exit_reason,net_rx_bytes,net_tx_bytes,net_rx_packets,net_tx_packets,mem_rss_bytes," \
	"mem_guest_bytes,disk_read_bytes,disk_write_bytes,disk_read_ops,disk_write_ops," \
	"disk_lat_avg_us,host_power_w,vm_power_w,power_source,host_energy_j,guest_cycles," \
	"host_cycles,guest_instructions,host_instructions,cache_misses,branch_misses," \
	"hyp_qemu_user_ns,hyp_kvm_ns,hyp_vhost_ns,hyp_tap_ns,hyp_bridge_ns,hyp_net_ns," \
	"hyp_block_ns,hyp_sched_ns,hyp_other_kernel_ns,ext_vhost_ns,ext_tap_ns,ext_bridge_ns," \
	"ext_net_ns,guest_source,exit_handling_cpu_ns,exit_wait_ns"
#define VCPU_HDR_TEXT "timestamp,epoch_s,interval_s,vm,pid,tid,vcpu,thread,cpu_total_ns," \
	"cpu_guest_ns,exits,exit_handling_ns,run_delay_ns"
#define EXITS_HDR_TEXT "timestamp,epoch_s,interval_s,vm,pid,isa,reason_code,reason,count," \
	"handling_ns"
#define VM_HDR VM_HDR_TEXT "\n"
#define VCPU_HDR VCPU_HDR_TEXT "\n"
#define EXITS_HDR EXITS_HDR_TEXT "\n"
/* The counter and component columns of a run without counters or sampler: 19 empty fields. */
#define UNSAMPLED ",,,,,,,,,,,,,,,,,,,,,,"
#define UUID "5f3c2a9e-1b2c-4d5e-8f90-a1b2c3d4e5f6"

static struct vcpu_record vcpus[2];
static struct exit_record exits[3];

/* A VM with everything measured: 2 vCPU threads and 3 exit reasons. */
static void full_record(struct vm_record *r)
{
	memset(r, 0, sizeof(*r));
	strcpy(r->vm, "web-01");
	strcpy(r->uuid, UUID);
	r->pid = 4242;
	r->vcpus = 2;
	r->cpu_total_ns = 1500000000;
	r->cpu_guest_ns = 1200000000;
	r->cpu_hyp_ns = 300000000;
	r->cpu_hyp_user_ns = 100000000;
	r->cpu_hyp_kernel_ns = 200000000;
	r->exits = 12345;
	r->exit_handling_ns = 45000000;
	r->run_delay_ns = 2500000;
	strcpy(r->top_exit_reason, "EPT_VIOLATION");
	r->guest_valid = true;
	r->guest_source = GUEST_SOURCE_TRACEPOINT;
	r->hyp_split_valid = true;
	r->net_valid = true;
	r->net_rx_bytes = 1000;
	r->net_tx_bytes = 2000;
	r->net_rx_packets = 10;
	r->net_tx_packets = 20;
	r->mem_rss_bytes = 536870912;
	r->mem_guest_bytes = 1073741824;
	r->disk_valid = true;
	r->disk_read_bytes = 65536;
	r->disk_write_bytes = 8388608;
	r->disk_read_ops = 16;
	r->disk_write_ops = 128;
	r->disk_lat_avg_us = 412.5;
	r->host_power_w = 120.5;
	r->vm_power_w = 30.25;
	r->power_source = "rapl";
	r->host_energy_j = 120.5;
	/* The default counters, one of them not counted here; the sampler ran. */
	r->nr_counters = 4;
	r->counter[0] = counter("cycles", "cycles", true, 3000000, 1000000);
	r->counter[1] = counter("instructions", "instructions", true, 4000000, 500000);
	r->counter[2] = counter("cache-misses", "cache_misses", true, 700, 300);
	r->counter[3] = counter("branch-misses", "branch_misses", false, 0, 0);
	r->hyp_components_valid = true;
	r->hyp_component_ns[KT_COMP_QEMU_USER] = 100000000;
	r->hyp_component_ns[KT_COMP_KVM] = 150000000;
	r->hyp_component_ns[KT_COMP_OTHER_KERNEL] = 50000000;
	r->ext_components_valid = true;
	r->ext_component_ns[KT_COMP_BRIDGE] = 2000000;

	memset(vcpus, 0, sizeof(vcpus));
	vcpus[0] = (struct vcpu_record){ .tid = 4250, .vcpu = 0, .thread = "CPU 0/KVM",
		.cpu_total_ns = 800000000, .cpu_guest_ns = 700000000, .exits = 6000,
		.exit_handling_ns = 20000000, .run_delay_ns = 1000000 };
	vcpus[1] = (struct vcpu_record){ .tid = 4251, .vcpu = -1, .thread = "vcpu,\"x\"",
		.cpu_total_ns = 0, .cpu_guest_ns = 0, .exits = 0, .exit_handling_ns = 0,
		.run_delay_ns = 0 };
	r->nr_vcpus = 2;
	r->vcpu = vcpus;

	exits[0] = exits_of(1, 48, 10000, 40000000);
	exits[1] = exits_of(2, 0x7b, 2345, 5000000);
	exits[2] = exits_of(9, 3, 0, 0);
	r->nr_exits = 3;
	r->exit = exits;
}

/* A VM never seen in guest mode, with unknown UUID and vCPU count. */
static void bare_record(struct vm_record *r)
{
	memset(r, 0, sizeof(*r));
	strcpy(r->vm, "web-02");
	r->pid = 77;
	r->vcpus = -1;
	r->cpu_total_ns = 1000;
	r->cpu_hyp_ns = 1000;
	r->cpu_hyp_user_ns = 600;
	r->cpu_hyp_kernel_ns = 400;
	r->exits = 99;
	r->exit_handling_ns = 98;
	r->run_delay_ns = 5;
	strcpy(r->top_exit_reason, "HLT");
	r->hyp_split_valid = true;
	/* No tap known (net empty), RSS read, no libvirt (guest memory empty). */
	r->mem_rss_bytes = 4096;
	r->mem_guest_bytes = -1;
	r->host_power_w = r->vm_power_w = r->host_energy_j = -1;
	r->power_source = "none";
}

#define VM_ROW_FULL T "web-01," UUID ",4242,2,1500000000,1200000000,300000000,100000000," \
	"200000000,12345,45000000,2500000,EPT_VIOLATION,1000,2000,10,20,536870912,1073741824," \
	"65536,8388608,16,128,412.5,120.500,30.250,rapl,120.500,3000000,1000000,4000000,500000," \
	"1000,,100000000,150000000,0,0,0,0,0,0,50000000,0,0,2000000,0,tracepoint,0,0\n"
#define VCPU_ROWS_FULL                                                                    \
	T "web-01,4242,4250,0,CPU 0/KVM,800000000,700000000,6000,20000000,1000000\n"      \
	T "web-01,4242,4251,,\"vcpu,\"\"x\"\"\",0,0,0,0,0\n"
#define EXIT_ROWS_FULL                                                                    \
	T "web-01,4242,vmx,48,EPT_VIOLATION,10000,40000000\n"                             \
	T "web-01,4242,svm,123,IOIO,2345,5000000\n"                                       \
	T "web-01,4242,9,3,ISA9_3,0,0\n"
#define BARE_ROW(t, pid) t "web-02,," pid ",,1000,,1000,600,400,,,5,,,,,,4096,,,,,,,,,none," \
	UNSAMPLED "\n"

#endif /* KT_TEST_CSV_FIXTURE_H */
