// SPDX-License-Identifier: GPL-2.0
/*
 * Prometheus series: exact exposition lines over two intervals (counters add up, gauges are
 * the latest), label escaping, unmeasured figures left out, ended VMs dropped after one scrape
 * or after five minutes, OpenMetrics, and counters from the records' running totals where the
 * accounting fills them. Serving them over HTTP is test_metrics.c's.
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

#include "metrics_store.h"
#include "records.h"

#define UUID "5f3c2a9e-1b2c-4d5e-8f90-a1b2c3d4e5f6"
#define WEB "vm=\"web-01\",uuid=\"" UUID "\""

static struct vcpu_record vcpus[2];
static struct exit_record exits[2];

/* A VM with every figure measured: 2 vCPU threads, 2 exit reasons, 3 counters. */
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
	r->exits = 300;
	r->exit_handling_ns = 45000000;
	r->run_delay_ns = 2500000;
	r->guest_valid = true;
	r->guest_source = GUEST_SOURCE_TRACEPOINT;
	r->hyp_split_valid = true;
	r->net_valid = true;
	r->net_rx_bytes = 1000;
	r->net_tx_bytes = 2000;
	r->net_rx_packets = 10;
	r->net_tx_packets = 20;
	r->mem_rss_bytes = 300000000;
	r->mem_guest_bytes = 268435456;
	r->disk_valid = true;
	r->disk_read_bytes = 4096;
	r->disk_write_bytes = 8192;
	r->disk_read_ops = 1;
	r->disk_write_ops = 2;
	r->disk_lat_avg_us = 250.5;
	r->host_power_w = 80;
	r->vm_power_w = 12.25;
	r->host_energy_j = 80;
	r->power_source = "rapl";
	r->nr_counters = 3;
	r->counter[0] = counter("cycles", "cycles", true, 3000000, 1000000);
	r->counter[1] = counter("cpu-clock", "cpu_clock_ns", true, 1200000000, 300000000);
	r->counter[2] = counter("instructions", "instructions", false, 0, 0);
	r->hyp_components_valid = true;
	r->hyp_component_ns[KT_COMP_QEMU_USER] = 100000000;
	r->hyp_component_ns[KT_COMP_KVM] = 150000000;
	r->hyp_component_ns[KT_COMP_OTHER_KERNEL] = 50000000;
	r->ext_components_valid = true;
	r->ext_component_ns[KT_COMP_VHOST] = 2000000;
	r->ext_component_ns[KT_COMP_NET] = 1000000;
	vcpus[0] = (struct vcpu_record){ .tid = 4250, .vcpu = 0, .thread = "CPU 0/KVM",
					 .cpu_total_ns = 700000000, .cpu_guest_ns = 600000000,
					 .exits = 100, .exit_handling_ns = 1000000,
					 .run_delay_ns = 1000000 };
	vcpus[1] = (struct vcpu_record){ .tid = 4251, .vcpu = 1, .thread = "CPU 1/KVM",
					 .cpu_total_ns = 700000000, .cpu_guest_ns = 600000000,
					 .exits = 200, .exit_handling_ns = 2000000,
					 .run_delay_ns = 1500000 };
	r->nr_vcpus = 2;
	r->vcpu = vcpus;
	exits[0] = exits_of(2, 0x78, 200, 40000000);
	exits[1] = exits_of(2, 0x400, 100, 5000000);
	r->nr_exits = 2;
	r->exit = exits;
}

/* What a TCG guest gives: on-CPU time, run delay and the hypervisor split, nothing more. */
static void bare_record(struct vm_record *r, const char *name)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->vm, sizeof(r->vm), "%s", name);
	r->pid = 77;
	r->vcpus = -1;
	r->cpu_total_ns = 250000000;
	r->cpu_hyp_ns = 250000000;
	r->run_delay_ns = 1000;
	r->mem_rss_bytes = -1;
	r->mem_guest_bytes = -1;
	r->disk_lat_avg_us = -1;
	r->host_power_w = r->vm_power_w = r->host_energy_j = -1;
	r->power_source = "none";
}


static const struct host_record host = {
	.valid = true, .source = "rapl", .host_power_w = 80, .host_energy_j = 80.08,
	.idle_w = 40, .vms_w = 12.25, .rest_w = 27.75, .cpu_busy_ns = 1, .cpu_capacity_ns = 2,
};


static struct metrics_store *open_store(void)
{
	struct metrics_store *m = metrics_store_new();

	assert_non_null(m);
	return m;
}

/* The exposition a scrape would get (and, as a scrape, it lets ended VMs go). */
static char *render(struct metrics_store *m, bool om)
{
	struct expo o = { .om = om };

	metrics_store_render(m, &o);
	assert_false(o.failed);
	assert_non_null(o.buf);
	assert_int_equal(strlen(o.buf), o.len);
	return o.buf;
}

/* line must be one whole line of text. */
static void assert_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	const char *p;

	for (p = text; (p = strstr(p, line)); p++)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return;
	fail_msg("line not found: %s\n--- in:\n%s", line, text);
}

static void assert_no_line(const char *text, const char *prefix)
{
	const char *p;

	for (p = text; (p = strstr(p, prefix)); p++)
		if (p == text || p[-1] == '\n')
			fail_msg("unexpected line starting '%s'", prefix);
}

static void test_two_intervals(void **state)
{
	struct interval_info iv1 = interval(1795366056.123), iv2 = interval(1795366057.125);
	struct tracer_health health = { .interval_lag_s = 0.0015, .plug_failures = 2 };
	struct metrics_store *m = open_store();
	struct vm_record r;
	char *t;

	(void)state;
	health.drops[KT_DROP_THREAD_FULL] = 7;
	health.nr_progs = 1;
	strcpy(health.prog[0].name, "kt_sched_switch");
	health.prog[0].run_cnt = 1000;
	health.prog[0].run_time_ns = 2500000;

	full_record(&r);
	metrics_store_publish(m, &iv1, &r, 1, &host, &health);
	full_record(&r);
	r.mem_rss_bytes = 310000000;
	r.vm_power_w = 13.5;
	health.prog[0].run_cnt = 2100;
	metrics_store_publish(m, &iv2, &r, 1, &host, &health);
	t = render(m, false);

	/* Counters: two intervals added up. */
	assert_line(t, "# HELP kvmtrace_vm_cpu_seconds_total On-CPU time of all the VMM's "
		    "threads.");
	assert_line(t, "# TYPE kvmtrace_vm_cpu_seconds_total counter");
	assert_line(t, "kvmtrace_vm_cpu_seconds_total{" WEB "} 3.000000000");
	assert_line(t, "kvmtrace_vm_guest_seconds_total{" WEB "} 2.400000000");
	assert_line(t, "kvmtrace_vm_hypervisor_seconds_total{" WEB ",mode=\"user\"} 0.200000000");
	assert_line(t, "kvmtrace_vm_hypervisor_seconds_total{" WEB ",mode=\"kernel\"} 0.400000000");
	assert_line(t, "kvmtrace_vm_hypervisor_component_seconds_total{" WEB
		    ",component=\"qemu_user\"} 0.200000000");
	assert_line(t, "kvmtrace_vm_hypervisor_component_seconds_total{" WEB
		    ",component=\"kvm\"} 0.300000000");
	assert_line(t, "kvmtrace_vm_hypervisor_component_seconds_total{" WEB
		    ",component=\"block\"} 0.000000000");
	assert_line(t, "kvmtrace_vm_external_seconds_total{" WEB ",component=\"vhost\"} "
		    "0.004000000");
	assert_line(t, "kvmtrace_vm_external_seconds_total{" WEB ",component=\"net\"} 0.002000000");
	assert_no_line(t, "kvmtrace_vm_external_seconds_total{" WEB ",component=\"kvm\"}");
	assert_line(t, "kvmtrace_vm_run_delay_seconds_total{" WEB "} 0.005000000");
	assert_line(t, "kvmtrace_vm_exits_total{" WEB ",reason=\"HLT\"} 400");
	assert_line(t, "kvmtrace_vm_exits_total{" WEB ",reason=\"NPF\"} 200");
	assert_line(t, "kvmtrace_vm_exit_handling_seconds_total{" WEB ",reason=\"HLT\"} "
		    "0.080000000");
	assert_line(t, "kvmtrace_vm_network_receive_bytes_total{" WEB "} 2000");
	assert_line(t, "kvmtrace_vm_network_transmit_bytes_total{" WEB "} 4000");
	assert_line(t, "kvmtrace_vm_network_receive_packets_total{" WEB "} 20");
	assert_line(t, "kvmtrace_vm_network_transmit_packets_total{" WEB "} 40");
	assert_line(t, "kvmtrace_vm_disk_read_bytes_total{" WEB "} 8192");
	assert_line(t, "kvmtrace_vm_disk_write_bytes_total{" WEB "} 16384");
	assert_line(t, "kvmtrace_vm_disk_read_ops_total{" WEB "} 2");
	assert_line(t, "kvmtrace_vm_disk_write_ops_total{" WEB "} 4");
	assert_line(t, "kvmtrace_vm_perf_events_total{" WEB ",event=\"cycles\",mode=\"guest\"} "
		    "6000000");
	assert_line(t, "kvmtrace_vm_perf_events_total{" WEB ",event=\"cycles\",mode=\"host\"} "
		    "2000000");
	assert_line(t, "kvmtrace_vm_perf_clock_seconds_total{" WEB ",event=\"cpu-clock\","
		    "mode=\"guest\"} 2.400000000");
	assert_line(t, "kvmtrace_vm_perf_clock_seconds_total{" WEB ",event=\"cpu-clock\","
		    "mode=\"host\"} 0.600000000");
	assert_null(strstr(t, "instructions"));
	assert_line(t, "kvmtrace_vcpu_cpu_seconds_total{" WEB ",vcpu=\"1\"} 1.400000000");
	assert_line(t, "kvmtrace_vcpu_guest_seconds_total{" WEB ",vcpu=\"0\"} 1.200000000");
	assert_line(t, "kvmtrace_vcpu_run_delay_seconds_total{" WEB ",vcpu=\"1\"} 0.003000000");
	assert_line(t, "kvmtrace_vcpu_exits_total{" WEB ",vcpu=\"1\"} 400");
	assert_line(t, "kvmtrace_host_energy_joules_total{source=\"rapl\"} 160.160");

	/* Gauges: the latest interval. */
	assert_line(t, "# TYPE kvmtrace_vm_memory_rss_bytes gauge");
	assert_line(t, "kvmtrace_vm_memory_rss_bytes{" WEB "} 310000000");
	assert_line(t, "kvmtrace_vm_memory_guest_bytes{" WEB "} 268435456");
	assert_line(t, "kvmtrace_vm_vcpus{" WEB "} 2");
	assert_line(t, "kvmtrace_vm_power_watts{" WEB "} 13.500");
	assert_line(t, "kvmtrace_vm_disk_latency_average_seconds{" WEB "} 0.000250500");
	assert_line(t, "kvmtrace_host_power_watts{source=\"rapl\"} 80.000");
	assert_line(t, "kvmtrace_host_idle_power_watts{source=\"rapl\"} 40.000");
	assert_line(t, "kvmtrace_host_rest_power_watts{source=\"rapl\"} 27.750");

	/* The tracer itself. */
	assert_line(t, "kvmtrace_build_info{version=\"" KT_VERSION "\"} 1");
	assert_line(t, "# TYPE kvmtrace_build_info gauge");
	assert_line(t, "kvmtrace_intervals_total 2");
	assert_line(t, "kvmtrace_last_interval_timestamp_seconds 1795366057.125");
	assert_line(t, "kvmtrace_interval_seconds 1.000250");
	assert_line(t, "kvmtrace_interval_lag_seconds 0.001500");
	assert_line(t, "kvmtrace_drops_total{reason=\"thread_table_full\"} 7");
	assert_line(t, "kvmtrace_drops_total{reason=\"vm_table_full\"} 0");
	assert_line(t, "kvmtrace_drops_total{reason=\"unseen_switch_in\"} 0");
	assert_line(t, "kvmtrace_power_read_failures_total 2");
	assert_line(t, "kvmtrace_bpf_program_runs_total{program=\"kt_sched_switch\"} 2100");
	assert_line(t, "kvmtrace_bpf_program_run_seconds_total{program=\"kt_sched_switch\"} "
		    "0.002500000");
	assert_null(strstr(t, "# EOF"));
	free(t);
	metrics_store_free(m);
}

/* A whole exposition, exactly: the smallest VM, no host power, no health. */
static void test_exact_text(void **state)
{
	struct interval_info iv = interval(1795366056.5);
	struct metrics_store *m = open_store();
	struct vm_record r;
	char *t;

	(void)state;
	bare_record(&r, "tcg");
	metrics_store_publish(m, &iv, &r, 1, NULL, NULL);
	t = render(m, false);
	assert_string_equal(t,
		"# HELP kvmtrace_build_info The version of kvmtrace-bpf serving these.\n"
		"# TYPE kvmtrace_build_info gauge\n"
		"kvmtrace_build_info{version=\"" KT_VERSION "\"} 1\n"
		"# HELP kvmtrace_intervals_total Intervals published.\n"
		"# TYPE kvmtrace_intervals_total counter\n"
		"kvmtrace_intervals_total 1\n"
		"# HELP kvmtrace_last_interval_timestamp_seconds End of the latest interval, "
		"Unix time: the epoch_s of its CSV rows.\n"
		"# TYPE kvmtrace_last_interval_timestamp_seconds gauge\n"
		"kvmtrace_last_interval_timestamp_seconds 1795366056.500\n"
		"# HELP kvmtrace_interval_seconds Measured length of the latest interval.\n"
		"# TYPE kvmtrace_interval_seconds gauge\n"
		"kvmtrace_interval_seconds 1.000250\n"
		"# HELP kvmtrace_vm_cpu_seconds_total On-CPU time of all the VMM's threads.\n"
		"# TYPE kvmtrace_vm_cpu_seconds_total counter\n"
		"kvmtrace_vm_cpu_seconds_total{vm=\"tcg\",uuid=\"\"} 0.250000000\n"
		"# HELP kvmtrace_vm_run_delay_seconds_total Time the VM's threads were runnable "
		"but waiting for a CPU.\n"
		"# TYPE kvmtrace_vm_run_delay_seconds_total counter\n"
		"kvmtrace_vm_run_delay_seconds_total{vm=\"tcg\",uuid=\"\"} 0.000001000\n");
	free(t);
	metrics_store_free(m);
}

static void test_openmetrics(void **state)
{
	struct interval_info iv = interval(1795366056.5);
	struct metrics_store *m = open_store();
	struct vm_record r;
	char *t;

	(void)state;
	full_record(&r);
	metrics_store_publish(m, &iv, &r, 1, &host, NULL);
	t = render(m, true);
	/* Families are named without _total; info is a type of its own; UNIT where there is one. */
	assert_line(t, "# HELP kvmtrace_vm_cpu_seconds On-CPU time of all the VMM's threads.");
	assert_line(t, "# TYPE kvmtrace_vm_cpu_seconds counter");
	assert_line(t, "# UNIT kvmtrace_vm_cpu_seconds seconds");
	assert_line(t, "kvmtrace_vm_cpu_seconds_total{" WEB "} 1.500000000");
	assert_line(t, "# TYPE kvmtrace_vm_exits counter");
	assert_no_line(t, "# UNIT kvmtrace_vm_exits ");
	assert_line(t, "# TYPE kvmtrace_build info");
	assert_line(t, "kvmtrace_build_info{version=\"" KT_VERSION "\"} 1");
	assert_line(t, "# UNIT kvmtrace_vm_memory_rss_bytes bytes");
	assert_line(t, "# UNIT kvmtrace_host_energy_joules joules");
	assert_line(t, "kvmtrace_host_energy_joules_total{source=\"rapl\"} 80.080");
	assert_no_line(t, "# TYPE kvmtrace_vm_cpu_seconds_total");
	/* The exposition ends with # EOF, and only there. */
	assert_true(strlen(t) > 6);
	assert_string_equal(t + strlen(t) - 6, "# EOF\n");
	assert_ptr_equal(strstr(t, "# EOF"), t + strlen(t) - 6);
	free(t);
	metrics_store_free(m);
}

static void test_label_escaping(void **state)
{
	struct interval_info iv = interval(100);
	struct metrics_store *m = open_store();
	struct vm_record r;
	char *t;

	(void)state;
	/* A quote, a backslash, a newline, and a byte that is not UTF-8 after valid UTF-8. */
	bare_record(&r, "a\"b\\c\nd \xc3\xa9\xff");
	strcpy(r.uuid, "u\"1");
	metrics_store_publish(m, &iv, &r, 1, NULL, NULL);
	t = render(m, false);
	assert_line(t, "kvmtrace_vm_cpu_seconds_total{vm=\"a\\\"b\\\\c\\nd \xc3\xa9\xef\xbf\xbd\","
		    "uuid=\"u\\\"1\"} 0.250000000");
	free(t);
	t = render(m, true);
	assert_line(t, "kvmtrace_vm_cpu_seconds_total{vm=\"a\\\"b\\\\c\\nd \xc3\xa9\xef\xbf\xbd\","
		    "uuid=\"u\\\"1\"} 0.250000000");
	free(t);
	metrics_store_free(m);
}

static void test_unmeasured_omitted(void **state)
{
	struct interval_info iv1 = interval(100), iv2 = interval(101);
	struct metrics_store *m = open_store();
	struct vm_record r;
	char *t;

	(void)state;
	full_record(&r);
	r.guest_valid = false;
	r.guest_source = GUEST_SOURCE_NONE;
	r.hyp_split_valid = false;
	r.net_valid = false;
	r.disk_valid = false;
	r.hyp_components_valid = false;
	r.ext_components_valid = false;
	r.mem_rss_bytes = r.mem_guest_bytes = -1;
	r.vcpus = -1;
	r.vm_power_w = -1;
	r.nr_exits = 0;
	r.counter[0].valid = false;
	metrics_store_publish(m, &iv1, &r, 1, &(struct host_record){ .source = "edimax" }, NULL);
	t = render(m, false);
	assert_line(t, "kvmtrace_vm_cpu_seconds_total{" WEB "} 1.500000000");
	assert_line(t, "kvmtrace_vm_run_delay_seconds_total{" WEB "} 0.002500000");
	/* Host mode of a counter is all of it without guest mode; the guest share is unknown. */
	assert_line(t, "kvmtrace_vm_perf_clock_seconds_total{" WEB ",event=\"cpu-clock\","
		    "mode=\"host\"} 0.300000000");
	assert_null(strstr(t, "mode=\"guest\""));
	assert_null(strstr(t, "kvmtrace_vm_guest_seconds"));
	assert_null(strstr(t, "kvmtrace_vm_hypervisor"));
	assert_null(strstr(t, "kvmtrace_vm_external"));
	assert_null(strstr(t, "kvmtrace_vm_network"));
	assert_null(strstr(t, "kvmtrace_vm_disk"));
	assert_null(strstr(t, "kvmtrace_vm_memory"));
	assert_null(strstr(t, "kvmtrace_vm_vcpus"));
	assert_null(strstr(t, "kvmtrace_vm_power"));
	assert_null(strstr(t, "kvmtrace_vm_exits"));
	assert_null(strstr(t, "kvmtrace_vcpu_guest"));
	assert_null(strstr(t, "kvmtrace_vcpu_exits"));
	assert_null(strstr(t, "event=\"cycles\""));
	assert_null(strstr(t, "kvmtrace_host_"));
	assert_line(t, "kvmtrace_vcpu_cpu_seconds_total{" WEB ",vcpu=\"0\"} 0.700000000");
	free(t);

	/* Measured from the second interval on: the counters hold that interval only. */
	full_record(&r);
	r.mem_guest_bytes = -1;
	metrics_store_publish(m, &iv2, &r, 1, NULL, NULL);
	t = render(m, false);
	assert_line(t, "kvmtrace_vm_cpu_seconds_total{" WEB "} 3.000000000");
	assert_line(t, "kvmtrace_vm_guest_seconds_total{" WEB "} 1.200000000");
	assert_line(t, "kvmtrace_vm_network_receive_bytes_total{" WEB "} 1000");
	assert_line(t, "kvmtrace_vm_memory_rss_bytes{" WEB "} 300000000");
	assert_null(strstr(t, "kvmtrace_vm_memory_guest_bytes{"));
	free(t);
	metrics_store_free(m);
}

static void test_final_dropped_after_scrape(void **state)
{
	struct interval_info iv1 = interval(100), iv2 = interval(101), iv3 = interval(102);
	struct metrics_store *m = open_store();
	struct vm_record r[2];
	char *t;

	(void)state;
	bare_record(&r[0], "ends");
	bare_record(&r[1], "stays");
	metrics_store_publish(m, &iv1, r, 2, NULL, NULL);
	r[0].final = true;
	metrics_store_publish(m, &iv2, r, 2, NULL, NULL);
	/* Another publish before any scrape: the ended VM's last figures are still there. */
	metrics_store_publish(m, &iv3, &r[1], 1, NULL, NULL);
	t = render(m, false);
	assert_line(t, "kvmtrace_vm_cpu_seconds_total{vm=\"ends\",uuid=\"\"} 0.500000000");
	assert_line(t, "kvmtrace_vm_cpu_seconds_total{vm=\"stays\",uuid=\"\"} 0.750000000");
	free(t);
	t = render(m, false);
	assert_null(strstr(t, "vm=\"ends\""));
	assert_line(t, "kvmtrace_vm_cpu_seconds_total{vm=\"stays\",uuid=\"\"} 0.750000000");
	free(t);
	metrics_store_free(m);
}

static void test_final_dropped_after_five_minutes(void **state)
{
	struct interval_info iv1 = interval(1000), iv2 = interval(1000 + 299.9);
	struct interval_info iv3 = interval(1000 + 300);
	struct metrics_store *m = open_store();
	struct vm_record r[2];
	char *t;

	(void)state;
	bare_record(&r[0], "ends");
	bare_record(&r[1], "stays");
	r[0].final = true;
	metrics_store_publish(m, &iv1, r, 2, NULL, NULL);
	metrics_store_publish(m, &iv2, &r[1], 1, NULL, NULL);
	metrics_store_publish(m, &iv3, &r[1], 1, NULL, NULL);
	t = render(m, false);
	assert_null(strstr(t, "vm=\"ends\""));
	assert_line(t, "kvmtrace_vm_cpu_seconds_total{vm=\"stays\",uuid=\"\"} 0.750000000");
	free(t);
	metrics_store_free(m);
}

/* A VM known by its command line first, then by libvirt's name: the old series goes. */
static void test_renamed(void **state)
{
	struct interval_info iv1 = interval(100), iv2 = interval(101);
	struct metrics_store *m = open_store();
	struct vm_record r;
	char *t;

	(void)state;
	bare_record(&r, "qemu-system-x86-77");
	metrics_store_publish(m, &iv1, &r, 1, NULL, NULL);
	bare_record(&r, "web");
	metrics_store_publish(m, &iv2, &r, 1, NULL, NULL);
	t = render(m, false);
	assert_line(t, "kvmtrace_vm_cpu_seconds_total{vm=\"qemu-system-x86-77\",uuid=\"\"} "
		    "0.250000000");
	assert_line(t, "kvmtrace_vm_cpu_seconds_total{vm=\"web\",uuid=\"\"} 0.250000000");
	free(t);
	t = render(m, false);
	assert_null(strstr(t, "qemu-system-x86-77"));
	assert_line(t, "kvmtrace_vm_cpu_seconds_total{vm=\"web\",uuid=\"\"} 0.250000000");
	free(t);
	metrics_store_free(m);
}

/* A VMM that restarts keeps its series (same vm and uuid): its last row and its new rows add. */
static void test_restart_continues(void **state)
{
	struct interval_info iv1 = interval(100), iv2 = interval(101);
	struct metrics_store *m = open_store();
	struct vm_record r[2];
	char *t;

	(void)state;
	bare_record(&r[0], "web");
	bare_record(&r[1], "web");
	r[0].mem_rss_bytes = 1000;
	metrics_store_publish(m, &iv1, r, 1, NULL, NULL);
	r[0].final = true;
	r[0].mem_rss_bytes = -1;
	r[1].pid = 78;
	r[1].mem_rss_bytes = 500;
	metrics_store_publish(m, &iv2, r, 2, NULL, NULL);
	t = render(m, false);
	assert_line(t, "kvmtrace_vm_cpu_seconds_total{vm=\"web\",uuid=\"\"} 0.750000000");
	assert_line(t, "kvmtrace_vm_memory_rss_bytes{vm=\"web\",uuid=\"\"} 500");
	free(t);
	t = render(m, false);
	assert_line(t, "kvmtrace_vm_cpu_seconds_total{vm=\"web\",uuid=\"\"} 0.750000000");
	free(t);
	metrics_store_free(m);
}

static bool is_counter(const struct field *f)
{
	return f->family != FAM_NONE && families[f->family].type == METRIC_COUNTER;
}

static void set_total(const struct field *f, const struct field_row *row, uint64_t k)
{
	if (is_counter(f) && field_measured(f, row))
		*(uint64_t *)field_total(f, row) = k * field_u64(f, row);
}

/*
 * What the accounting is to fill (record.h): each counter's running total. Here k times the
 * record's figures, as after k intervals of the same record.
 */
static void set_totals(struct vm_record *r, uint64_t k)
{
	const struct field_list *vm = fields_of(FIELDS_VM), *vcpu = fields_of(FIELDS_VCPU);
	const struct field_list *ex = fields_of(FIELDS_EXITS);
	struct field_row row = { .vm = r };
	size_t i, j;

	r->total.valid = true;
	for (i = 0; i < vm->n; i++)
		set_total(&vm->field[i], &row, k);
	for (j = 0; j < r->nr_vcpus; j++)
		for (row.vcpu = &r->vcpu[j], i = 0; i < vcpu->n; i++)
			set_total(&vcpu->field[i], &row, k);
	row.vcpu = NULL;
	for (j = 0; j < r->nr_exits; j++)
		for (row.exit = &r->exit[j], i = 0; i < ex->n; i++)
			set_total(&ex->field[i], &row, k);
	for (i = 0; i < r->nr_counters; i++) {
		r->counter[i].total_guest = k * r->counter[i].guest;
		r->counter[i].total_host = k * r->counter[i].host;
	}
}

/* Records whose running totals are their figures summed give the same exposition as before. */
static void test_totals_as_sums(void **state)
{
	struct interval_info iv1 = interval(100), iv2 = interval(101);
	struct metrics_store *sums = open_store(), *totals = open_store();
	struct vm_record r;
	char *a, *b;

	(void)state;
	full_record(&r);
	metrics_store_publish(sums, &iv1, &r, 1, &host, NULL);
	metrics_store_publish(sums, &iv2, &r, 1, &host, NULL);
	set_totals(&r, 1);
	metrics_store_publish(totals, &iv1, &r, 1, &host, NULL);
	full_record(&r);
	set_totals(&r, 2);
	metrics_store_publish(totals, &iv2, &r, 1, &host, NULL);
	a = render(sums, false);
	b = render(totals, false);
	assert_string_equal(a, b);
	free(a);
	free(b);
	metrics_store_free(sums);
	metrics_store_free(totals);
}

/* Every counter's sample is its own running total, not a sum kept here. */
static void test_totals_taken(void **state)
{
	const struct field_list *l = fields_of(FIELDS_VM);
	struct interval_info iv1 = interval(100), iv2 = interval(101);
	struct metrics_store *m = open_store();
	char want[256], value[32];
	struct vm_record r;
	const struct field *f;
	size_t i;
	char *t;

	(void)state;
	full_record(&r);
	set_totals(&r, 1);
	metrics_store_publish(m, &iv1, &r, 1, NULL, NULL);
	for (i = 0; i < l->n; i++)
		if (is_counter(&l->field[i]))
			*(uint64_t *)field_total(&l->field[i], &(struct field_row){ .vm = &r }) =
				(i + 1) * 1000000000ull;
	vcpus[1].total.exits = 123456;
	exits[0].total.count = 777;
	r.counter[1].total_host = 86400000000000ull;
	metrics_store_publish(m, &iv2, &r, 1, NULL, NULL);
	t = render(m, false);
	for (i = 0; i < l->n; i++) {
		f = &l->field[i];
		if (!is_counter(f))
			continue;
		if (!strcmp(f->unit, "ns"))
			snprintf(value, sizeof(value), "%zu.000000000", i + 1);
		else
			snprintf(value, sizeof(value), "%zu000000000", i + 1);
		if (f->label)
			snprintf(want, sizeof(want), "%s_total{" WEB ",%s=\"%s\"} %s",
				 families[f->family].name, f->label, field_label_value(f), value);
		else
			snprintf(want, sizeof(want), "%s_total{" WEB "} %s",
				 families[f->family].name, value);
		assert_line(t, want);
	}
	assert_line(t, "kvmtrace_vcpu_exits_total{" WEB ",vcpu=\"1\"} 123456");
	assert_line(t, "kvmtrace_vcpu_exits_total{" WEB ",vcpu=\"0\"} 100");
	assert_line(t, "kvmtrace_vm_exits_total{" WEB ",reason=\"HLT\"} 777");
	assert_line(t, "kvmtrace_vm_exits_total{" WEB ",reason=\"NPF\"} 100");
	assert_line(t, "kvmtrace_vm_perf_clock_seconds_total{" WEB ",event=\"cpu-clock\","
		    "mode=\"host\"} 86400.000000000");
	assert_line(t, "kvmtrace_vm_perf_events_total{" WEB ",event=\"cycles\",mode=\"guest\"} "
		    "3000000");
	free(t);
	metrics_store_free(m);
}

/* The family a sample line belongs to, by its name (the 0.0.4 format: with its suffix). */
static int family_of(const char *line, size_t len)
{
	const char *suffix;
	size_t n;
	int id;

	for (id = FAM_NONE + 1; id < NR_FAMILIES; id++) {
		n = strlen(families[id].name);
		suffix = families[id].type == METRIC_COUNTER ? "_total" :
			 families[id].type == METRIC_INFO ? "_info" : "";
		if (len == n + strlen(suffix) && !strncmp(line, families[id].name, n) &&
		    !strncmp(line + n, suffix, strlen(suffix)))
			return id;
	}
	return FAM_NONE;
}

/* Every family of the table has samples, and each sample the labels its family declares. */
static void test_samples_as_declared(void **state)
{
	struct tracer_health health = { .nr_progs = 1 };
	struct interval_info iv = interval(100);
	struct metrics_store *m = open_store();
	bool seen[NR_FAMILIES] = { false };
	char labels[128], *t, *line, *save = NULL;
	const char *p, *end;
	struct vm_record r;
	size_t n, name_len;
	int id;

	(void)state;
	strcpy(health.prog[0].name, "kt_sched_switch");
	full_record(&r);
	metrics_store_publish(m, &iv, &r, 1, &host, &health);
	t = render(m, false);
	for (line = strtok_r(t, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#')
			continue;
		name_len = strcspn(line, "{ ");
		id = family_of(line, name_len);
		if (id == FAM_NONE)
			fail_msg("sample of no family: %s", line);
		seen[id] = true;
		/* The label names, in order: vm="..",uuid="..",mode=".." gives "vm, uuid, mode". */
		labels[0] = '\0';
		for (n = 0, p = line + name_len; *p == '{' || *p == ','; p = end + 1) {
			end = strchr(p + 1, '=');
			assert_non_null(end);
			n += snprintf(labels + n, sizeof(labels) - n, "%s%.*s", n ? ", " : "",
				      (int)(end - p - 1), p + 1);
			/* Past the value, which may hold an escaped quote. */
			for (end += 2; *end != '"'; end++)
				end += *end == '\\';
		}
		assert_string_equal(labels, families[id].labels);
	}
	for (id = FAM_NONE + 1; id < NR_FAMILIES; id++)
		if (!seen[id])
			fail_msg("no sample of %s", families[id].name);
	free(t);
	metrics_store_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_intervals),
		cmocka_unit_test(test_exact_text),
		cmocka_unit_test(test_openmetrics),
		cmocka_unit_test(test_label_escaping),
		cmocka_unit_test(test_unmeasured_omitted),
		cmocka_unit_test(test_final_dropped_after_scrape),
		cmocka_unit_test(test_final_dropped_after_five_minutes),
		cmocka_unit_test(test_restart_continues),
		cmocka_unit_test(test_renamed),
		cmocka_unit_test(test_totals_as_sums),
		cmocka_unit_test(test_totals_taken),
		cmocka_unit_test(test_samples_as_declared),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
