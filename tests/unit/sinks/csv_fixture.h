/* SPDX-License-Identifier: GPL-2.0 */
/* What the CSV tests share (test_csv.c, test_csv_files.c): the rows of records.h's records. */
#ifndef KT_TEST_CSV_FIXTURE_H
#define KT_TEST_CSV_FIXTURE_H

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

/* A VM never seen in guest mode, with unknown UUID and vCPU count. */
static void bare_record(struct vm_record *r)
{
	*r = (struct vm_record){
		.vm = "web-02", .pid = 77, .vcpus = -1, .cpu_total_ns = 1000, .cpu_hyp_ns = 1000,
		.cpu_hyp_user_ns = 600, .cpu_hyp_kernel_ns = 400, .hyp_split_valid = true,
		.exits = 99, .exit_handling_ns = 98, .run_delay_ns = 5, .top_exit_reason = "HLT",
		/* No tap known (net empty), RSS read, no libvirt (guest memory empty). */
		.mem_rss_bytes = 4096, .mem_guest_bytes = -1,
		.host_power_w = -1, .vm_power_w = -1, .host_energy_j = -1, .power_source = "none",
	};
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
