// SPDX-License-Identifier: GPL-2.0
/*
 * CSV rows: exact headers and rows, quoting, empty-vs-0, the extra counters' columns (the
 * files they go to are test_csv_files.c's).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "csv_fixture.h"

static char *fmt_buf;
static size_t fmt_len;

static FILE *mem(void)
{
	FILE *f;

	free(fmt_buf);
	fmt_buf = NULL;
	f = open_memstream(&fmt_buf, &fmt_len);
	assert_non_null(f);
	return f;
}

static void test_headers(void **state)
{
	(void)state;
	/* Spelled out once more here, as the contract with users' scripts. */
	assert_string_equal(CSV_VM_HEADER,
		"timestamp,epoch_s,interval_s,vm,uuid,pid,vcpus,cpu_total_ns,cpu_guest_ns,"
		"cpu_hyp_ns,cpu_hyp_user_ns,cpu_hyp_kernel_ns,exits,exit_handling_ns,"
		"run_delay_ns,top_exit_reason,net_rx_bytes,net_tx_bytes,net_rx_packets,"
		"net_tx_packets,mem_rss_bytes,mem_guest_bytes,disk_read_bytes,disk_write_bytes,"
		"disk_read_ops,disk_write_ops,disk_lat_avg_us,host_power_w,vm_power_w,"
		"power_source,host_energy_j,guest_cycles,host_cycles,guest_instructions,"
		"host_instructions,cache_misses,branch_misses,hyp_qemu_user_ns,hyp_kvm_ns,"
		"hyp_vhost_ns,hyp_tap_ns,hyp_bridge_ns,hyp_net_ns,hyp_block_ns,hyp_sched_ns,"
		"hyp_other_kernel_ns,ext_vhost_ns,ext_tap_ns,ext_bridge_ns,ext_net_ns,guest_source,"
		"exit_handling_cpu_ns,exit_wait_ns");
	assert_string_equal(CSV_VCPU_HEADER,
		"timestamp,epoch_s,interval_s,vm,pid,tid,vcpu,thread,cpu_total_ns,cpu_guest_ns,"
		"exits,exit_handling_ns,run_delay_ns");
	assert_string_equal(CSV_EXITS_HEADER,
		"timestamp,epoch_s,interval_s,vm,pid,isa,reason_code,reason,count,handling_ns");
	assert_string_equal(CSV_VM_HEADER, VM_HDR_TEXT);
	assert_string_equal(CSV_VCPU_HEADER, VCPU_HDR_TEXT);
	assert_string_equal(CSV_EXITS_HEADER, EXITS_HDR_TEXT);
}

static void test_rows_full_record(void **state)
{
	struct vm_record r;
	FILE *f;
	size_t i;

	(void)state;
	full_record(&r);
	f = mem();
	csv_format_vm_row(f, &iv, &r);
	fclose(f);
	assert_string_equal(fmt_buf, VM_ROW_FULL);

	f = mem();
	for (i = 0; i < r.nr_vcpus; i++)
		csv_format_vcpu_row(f, &iv, &r, &r.vcpu[i]);
	fclose(f);
	assert_string_equal(fmt_buf, VCPU_ROWS_FULL);

	f = mem();
	for (i = 0; i < r.nr_exits; i++)
		csv_format_exit_row(f, &iv, &r, &r.exit[i]);
	fclose(f);
	assert_string_equal(fmt_buf, EXIT_ROWS_FULL);
}

/* Unknown figures are empty; measured zeros are "0". */
/* The host's row: power, its split, and the CPU time it was split by; empty when unknown. */
static void test_host_row(void **state)
{
	struct host_record h = {
		.valid = true, .source = "edimax", .host_power_w = 101.25, .host_energy_j = 101.3,
		.idle_w = 60, .vms_w = 30.5, .rest_w = 10.75, .cpu_busy_ns = 1200000000,
		.cpu_capacity_ns = 2000000000, .tracer_cpu_ns = 4000000, .tracer_bpf_ns = 300000,
		.sampler_hz = 416, .sampler_cost_ns = 4800000,
	};
	FILE *f;

	(void)state;
	assert_string_equal(CSV_HOST_HEADER, "timestamp,epoch_s,interval_s,power_source,"
			    "host_power_w,host_energy_j,idle_w,vms_w,rest_w,cpu_busy_ns,"
			    "cpu_capacity_ns,tracer_cpu_ns,tracer_bpf_ns,sampler_hz,sampler_cost_ns");
	f = mem();
	csv_format_host_row(f, &iv, &h);
	h.valid = false;
	h.tracer_bpf_ns = -1;	/* bpf_stats off: not counted */
	h.sampler_cost_ns = -1;	/* not measured */
	csv_format_host_row(f, &iv, &h);
	fclose(f);
	assert_string_equal(fmt_buf,
		T "edimax,101.250,101.300,60.000,30.500,10.750,1200000000,2000000000,4000000,"
		  "300000,416,4800000\n"
		T "edimax,,,,,,1200000000,2000000000,4000000,,416,\n");
}

static void test_empty_vs_zero(void **state)
{
	struct vcpu_record v = { .tid = 80, .vcpu = 3, .thread = "CPU 3/KVM", .cpu_total_ns = 9,
				 .cpu_guest_ns = 8, .exits = 7, .exit_handling_ns = 6,
				 .run_delay_ns = 5 };
	struct vm_record r;
	FILE *f;

	(void)state;
	bare_record(&r);
	f = mem();
	csv_format_vm_row(f, &iv, &r);
	csv_format_vcpu_row(f, &iv, &r, &v);
	fclose(f);
	/* Hypervisor time is always there; guest, exits and reason are not. */
	assert_string_equal(fmt_buf,
		T "web-02,,77,,1000,,1000,600,400,,,5,,,,,,4096,,,,,,,,,none," UNSAMPLED "\n"
		T "web-02,77,80,3,CPU 3/KVM,9,,,,5\n");

	/* No tick told user from kernel time: the split is empty, hyp itself stays. */
	r.hyp_split_valid = false;
	f = mem();
	csv_format_vm_row(f, &iv, &r);
	fclose(f);
	assert_string_equal(fmt_buf, T "web-02,,77,,1000,,1000,,,,,5,,,,,,4096,,,,,,,,,none," UNSAMPLED "\n");

	/* guest_valid with zero figures: zeros, not empty; an empty top reason stays empty. */
	memset(&r, 0, sizeof(r));
	strcpy(r.vm, "idle");
	r.guest_valid = true;
	r.guest_source = GUEST_SOURCE_TRACEPOINT;
	r.hyp_split_valid = true;
	r.vcpus = 0;
	f = mem();
	csv_format_vm_row(f, &iv, &r);
	fclose(f);
	assert_string_equal(fmt_buf, T "idle,,0,0,0,0,0,0,0,0,0,0,,,,,,0,0,,,,,,0.000,0.000,none,0.000,,,,,,,,,,,,,,,,,,,,tracepoint,0,0\n");
}

/* Counters beyond the default four get columns at the end; without guest mode the guest
 * share is empty and the host share is all of it. */
static void test_extra_counters(void **state)
{
	char header[CSV_VM_HEADER_MAX];
	struct vm_record r;
	FILE *f;

	(void)state;
	bare_record(&r);
	r.nr_counters = 3;
	r.counter[0] = counter("cpu-clock", "cpu_clock_ns", true, 0, 999000);
	r.counter[1] = counter("cycles", "cycles", true, 0, 5000);
	r.counter[2] = counter("page-faults", "page_faults", false, 0, 0);
	assert_string_equal(csv_vm_header(&r, header, sizeof(header)),
			    VM_HDR_TEXT ",cpu_clock_ns,page_faults");
	f = mem();
	csv_format_vm_row(f, &iv, &r);
	fclose(f);
	assert_string_equal(fmt_buf, T "web-02,,77,,1000,,1000,600,400,,,5,,,,,,4096,,,,,,,,,"
			    "none,,,5000,,,,,,,,,,,,,,,,,,,,,999000,\n");
}

static void test_quoting(void **state)
{
	struct vm_record r;
	FILE *f;

	(void)state;
	f = mem();
	csv_field(f, "plain name");
	fputc('|', f);
	csv_field(f, "a,b");
	fputc('|', f);
	csv_field(f, "say \"hi\"");
	fputc('|', f);
	csv_field(f, "two\nlines");
	fputc('|', f);
	csv_field(f, "cr\r");
	fputc('|', f);
	csv_field(f, "");
	fputc('|', f);
	csv_field(f, "\"");
	fclose(f);
	assert_string_equal(fmt_buf, "plain name|\"a,b\"|\"say \"\"hi\"\"\"|\"two\nlines\"|"
			    "\"cr\r\"||\"\"\"\"");

	bare_record(&r);
	strcpy(r.vm, "vm, \"quoted\"\nnext");
	f = mem();
	csv_format_vm_row(f, &iv, &r);
	fclose(f);
	assert_string_equal(fmt_buf,
			    T "\"vm, \"\"quoted\"\"\nnext\",,77,,1000,,1000,600,400,,,5,,,,,,4096,,,,,,,,,none," UNSAMPLED "\n");
}

/* Integers at their extremes, written digit by digit as printf would. */
static void test_integer_extremes(void **state)
{
	struct vm_record r;
	FILE *f;

	(void)state;
	bare_record(&r);
	r.pid = 2147483647;
	r.cpu_total_ns = UINT64_MAX;
	r.cpu_hyp_ns = 0;
	r.mem_rss_bytes = INT64_MAX;
	f = mem();
	csv_format_vm_row(f, &iv, &r);
	fclose(f);
	assert_string_equal(fmt_buf, T "web-02,,2147483647,,18446744073709551615,,0,600,400,,,5,"
			    ",,,,,9223372036854775807,,,,,,,,,none," UNSAMPLED "\n");
}

static int teardown_all(void **state)
{
	(void)state;
	free(fmt_buf);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_rows_full_record),
		cmocka_unit_test(test_host_row),
		cmocka_unit_test(test_empty_vs_zero),
		cmocka_unit_test(test_extra_counters),
		cmocka_unit_test(test_quoting),
		cmocka_unit_test(test_integer_extremes),
	};

	return cmocka_run_group_tests(tests, NULL, teardown_all);
}
