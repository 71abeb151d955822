// SPDX-License-Identifier: GPL-2.0
/*
 * Prometheus series: exact exposition lines over two intervals (counters add up, gauges are
 * the latest), label escaping, unmeasured figures left out, ended VMs dropped after one scrape
 * or after five minutes, OpenMetrics, the tracer's own cost, and counters that are the records'
 * running totals. The records come with their totals as the interval core gives them
 * (account_totals.h). Serving them over HTTP is test_metrics.c's.
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

#define WEB "vm=\"web-01\",uuid=\"" UUID "\""

static const struct host_record host = {
	.valid = true, .source = "rapl", .host_power_w = 80, .host_energy_j = 80.08,
	.idle_w = 40, .vms_w = 12.25, .rest_w = 27.75, .cpu_busy_ns = 1, .cpu_capacity_ns = 2,
	.tracer_cpu_ns = 4000000, .tracer_bpf_ns = 300000, .sampler_hz = 416,
	.sampler_cost_ns = 4800000,
};

/* full_record() with a clock event too, for its family. */
static void clocked_record(struct vm_record *r)
{
	full_record(r);
	r->counter[r->nr_counters++] = counter("cpu-clock", "cpu_clock_ns", true, 1200000000,
					       300000000);
}

/* A store fed as the interval core feeds it, and its latest scrape. */
struct fixture {
	struct metrics_store *m;
	struct account_totals *totals;
	char *text;
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	*state = fx;
	fx->m = metrics_store_new();
	fx->totals = account_totals_new();
	return fx->m && fx->totals ? 0 : -1;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	free(fx->text);
	metrics_store_free(fx->m);
	account_totals_free(fx->totals);
	free(fx);
	return 0;
}

/* The interval that ended at epoch_s, its running totals added as the interval core adds them. */
static void publish(struct fixture *fx, double epoch_s, struct vm_record *r, size_t n,
		    const struct host_record *h, const struct tracer_health *health)
{
	struct interval_info iv = interval(epoch_s);
	struct host_record with_total;

	assert_int_equal(account_totals_update(fx->totals, r, n), 0);
	if (h) {
		with_total = *h;
		account_totals_host(fx->totals, &with_total);
	}
	metrics_store_publish(fx->m, &iv, r, n, h ? &with_total : NULL, health);
}

/* The exposition a scrape would get (and, as a scrape, it lets ended VMs go). */
static char *scrape(struct fixture *fx, bool om)
{
	struct expo o = { .om = om };

	free(fx->text);
	metrics_store_render(fx->m, &o);
	fx->text = o.buf;
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
	struct tracer_health health = { .interval_lag_s = 0.0015, .plug_failures = 2 };
	struct fixture *fx = *state;
	struct vm_record r;
	char *t;

	health.drops[KT_DROP_THREAD_FULL] = 7;
	health.nr_progs = 1;
	strcpy(health.prog[0].name, "kt_sched_switch");
	health.prog[0].run_cnt = 1000;
	health.prog[0].run_time_ns = 2500000;

	clocked_record(&r);
	publish(fx, 1795366056.123, &r, 1, &host, &health);
	clocked_record(&r);
	r.mem_rss_bytes = 310000000;
	r.vm_power_w = 13.5;
	health.prog[0].run_cnt = 2100;
	publish(fx, 1795366057.125, &r, 1, &host, &health);
	t = scrape(fx, false);

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
	assert_line(t, "kvmtrace_vm_external_seconds_total{" WEB ",component=\"bridge\"} "
		    "0.004000000");
	assert_line(t, "kvmtrace_vm_external_seconds_total{" WEB ",component=\"net\"} 0.000000000");
	assert_no_line(t, "kvmtrace_vm_external_seconds_total{" WEB ",component=\"kvm\"}");
	assert_line(t, "kvmtrace_vm_run_delay_seconds_total{" WEB "} 0.005000000");
	assert_line(t, "kvmtrace_vm_exits_total{" WEB ",reason=\"EPT_VIOLATION\"} 20000");
	assert_line(t, "kvmtrace_vm_exits_total{" WEB ",reason=\"IOIO\"} 4690");
	assert_line(t, "kvmtrace_vm_exit_handling_seconds_total{" WEB ",reason=\"EPT_VIOLATION\"} "
		    "0.080000000");
	assert_line(t, "kvmtrace_vm_network_receive_bytes_total{" WEB "} 2000");
	assert_line(t, "kvmtrace_vm_network_transmit_bytes_total{" WEB "} 4000");
	assert_line(t, "kvmtrace_vm_network_receive_packets_total{" WEB "} 20");
	assert_line(t, "kvmtrace_vm_network_transmit_packets_total{" WEB "} 40");
	assert_line(t, "kvmtrace_vm_disk_read_bytes_total{" WEB "} 131072");
	assert_line(t, "kvmtrace_vm_disk_write_bytes_total{" WEB "} 16777216");
	assert_line(t, "kvmtrace_vm_disk_read_ops_total{" WEB "} 32");
	assert_line(t, "kvmtrace_vm_disk_write_ops_total{" WEB "} 256");
	assert_line(t, "kvmtrace_vm_perf_events_total{" WEB ",event=\"cycles\",mode=\"guest\"} "
		    "6000000");
	assert_line(t, "kvmtrace_vm_perf_events_total{" WEB ",event=\"cycles\",mode=\"host\"} "
		    "2000000");
	assert_line(t, "kvmtrace_vm_perf_clock_seconds_total{" WEB ",event=\"cpu-clock\","
		    "mode=\"guest\"} 2.400000000");
	assert_line(t, "kvmtrace_vm_perf_clock_seconds_total{" WEB ",event=\"cpu-clock\","
		    "mode=\"host\"} 0.600000000");
	assert_null(strstr(t, "branch-misses"));
	assert_line(t, "kvmtrace_vcpu_cpu_seconds_total{" WEB ",vcpu=\"0\"} 1.600000000");
	assert_line(t, "kvmtrace_vcpu_guest_seconds_total{" WEB ",vcpu=\"0\"} 1.400000000");
	assert_line(t, "kvmtrace_vcpu_run_delay_seconds_total{" WEB ",vcpu=\"0\"} 0.002000000");
	assert_line(t, "kvmtrace_vcpu_exits_total{" WEB ",vcpu=\"0\"} 12000");
	/* A vCPU thread without an index has no series. */
	assert_null(strstr(t, "vcpu=\"-1\""));
	assert_line(t, "kvmtrace_host_energy_joules_total{source=\"rapl\"} 160.160");

	/* Gauges: the latest interval. */
	assert_line(t, "# TYPE kvmtrace_vm_memory_rss_bytes gauge");
	assert_line(t, "kvmtrace_vm_memory_rss_bytes{" WEB "} 310000000");
	assert_line(t, "kvmtrace_vm_memory_guest_bytes{" WEB "} 1073741824");
	assert_line(t, "kvmtrace_vm_vcpus{" WEB "} 2");
	assert_line(t, "kvmtrace_vm_power_watts{" WEB "} 13.500");
	assert_line(t, "kvmtrace_vm_disk_latency_average_seconds{" WEB "} 0.000412500");
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
	assert_line(t, "# HELP kvmtrace_tracer_cpu_seconds_total CPU time of the tracer's process, "
		    "user and system.");
	assert_line(t, "# TYPE kvmtrace_tracer_cpu_seconds_total counter");
	assert_line(t, "kvmtrace_tracer_cpu_seconds_total 0.008000000");
	assert_line(t, "# TYPE kvmtrace_tracer_bpf_seconds_total counter");
	assert_line(t, "kvmtrace_tracer_bpf_seconds_total 0.000600000");
	assert_null(strstr(t, "# EOF"));
}

/* A whole exposition, exactly: the smallest VM, no host power, no health. */
static void test_exact_text(void **state)
{
	struct fixture *fx = *state;
	struct vm_record r;

	tcg_record(&r, "tcg");
	publish(fx, 1795366056.5, &r, 1, NULL, NULL);
	assert_string_equal(scrape(fx, false),
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
}

static void test_openmetrics(void **state)
{
	struct fixture *fx = *state;
	struct vm_record r;
	char *t;

	full_record(&r);
	publish(fx, 1795366056.5, &r, 1, &host, NULL);
	t = scrape(fx, true);
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
	assert_line(t, "# TYPE kvmtrace_tracer_cpu_seconds counter");
	assert_line(t, "# UNIT kvmtrace_tracer_cpu_seconds seconds");
	assert_line(t, "kvmtrace_tracer_cpu_seconds_total 0.004000000");
	assert_no_line(t, "# TYPE kvmtrace_vm_cpu_seconds_total");
	/* The exposition ends with # EOF, and only there. */
	assert_true(strlen(t) > 6);
	assert_string_equal(t + strlen(t) - 6, "# EOF\n");
	assert_ptr_equal(strstr(t, "# EOF"), t + strlen(t) - 6);
}

static void test_label_escaping(void **state)
{
	static const char *const line = "kvmtrace_vm_cpu_seconds_total{vm=\"a\\\"b\\\\c\\nd "
					"\xc3\xa9\xef\xbf\xbd\",uuid=\"u\\\"1\"} 0.250000000";
	struct fixture *fx = *state;
	struct vm_record r;

	/* A quote, a backslash, a newline, and a byte that is not UTF-8 after valid UTF-8. */
	tcg_record(&r, "a\"b\\c\nd \xc3\xa9\xff");
	strcpy(r.uuid, "u\"1");
	publish(fx, 100, &r, 1, NULL, NULL);
	assert_line(scrape(fx, false), line);
	assert_line(scrape(fx, true), line);
}

static void test_unmeasured_omitted(void **state)
{
	struct fixture *fx = *state;
	struct vm_record r;
	char *t;

	clocked_record(&r);
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
	publish(fx, 100, &r, 1, &(struct host_record){ .source = "edimax" }, NULL);
	t = scrape(fx, false);
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
	/* No power read: no energy either, not 0 J. */
	assert_null(strstr(t, "kvmtrace_host_"));
	assert_line(t, "kvmtrace_vcpu_cpu_seconds_total{" WEB ",vcpu=\"0\"} 0.800000000");

	/* Measured from the second interval on: the counters hold that interval only. */
	clocked_record(&r);
	r.mem_guest_bytes = -1;
	publish(fx, 101, &r, 1, &host, NULL);
	t = scrape(fx, false);
	assert_line(t, "kvmtrace_vm_cpu_seconds_total{" WEB "} 3.000000000");
	assert_line(t, "kvmtrace_vm_guest_seconds_total{" WEB "} 1.200000000");
	assert_line(t, "kvmtrace_vm_network_receive_bytes_total{" WEB "} 1000");
	assert_line(t, "kvmtrace_vm_memory_rss_bytes{" WEB "} 536870912");
	assert_null(strstr(t, "kvmtrace_vm_memory_guest_bytes{"));
	assert_line(t, "kvmtrace_host_energy_joules_total{source=\"rapl\"} 80.080");

	/* The host's power unread again: its gauges go, its energy total stays. */
	publish(fx, 102, &r, 1, &(struct host_record){ .source = "rapl" }, NULL);
	t = scrape(fx, false);
	assert_null(strstr(t, "kvmtrace_host_power_watts{"));
	assert_line(t, "kvmtrace_host_energy_joules_total{source=\"rapl\"} 80.080");
}

static void test_final_dropped_after_scrape(void **state)
{
	struct fixture *fx = *state;
	struct vm_record r[2];
	char *t;

	tcg_record(&r[0], "ends");
	tcg_record(&r[1], "stays");
	publish(fx, 100, r, 2, NULL, NULL);
	r[0].final = true;
	publish(fx, 101, r, 2, NULL, NULL);
	/* Another publish before any scrape: the ended VM's last figures are still there. */
	publish(fx, 102, &r[1], 1, NULL, NULL);
	t = scrape(fx, false);
	assert_line(t, "kvmtrace_vm_cpu_seconds_total{vm=\"ends\",uuid=\"\"} 0.500000000");
	assert_line(t, "kvmtrace_vm_cpu_seconds_total{vm=\"stays\",uuid=\"\"} 0.750000000");
	t = scrape(fx, false);
	assert_null(strstr(t, "vm=\"ends\""));
	assert_line(t, "kvmtrace_vm_cpu_seconds_total{vm=\"stays\",uuid=\"\"} 0.750000000");
}

static void test_final_dropped_after_five_minutes(void **state)
{
	struct fixture *fx = *state;
	struct vm_record r[2];
	char *t;

	tcg_record(&r[0], "ends");
	tcg_record(&r[1], "stays");
	r[0].final = true;
	publish(fx, 1000, r, 2, NULL, NULL);
	publish(fx, 1000 + 299.9, &r[1], 1, NULL, NULL);
	publish(fx, 1000 + 300, &r[1], 1, NULL, NULL);
	t = scrape(fx, false);
	assert_null(strstr(t, "vm=\"ends\""));
	assert_line(t, "kvmtrace_vm_cpu_seconds_total{vm=\"stays\",uuid=\"\"} 0.750000000");
}

/* A VM known by its command line first, then by libvirt's name: the old series goes. */
static void test_renamed(void **state)
{
	struct fixture *fx = *state;
	struct vm_record r;
	char *t;

	tcg_record(&r, "qemu-system-x86-77");
	publish(fx, 100, &r, 1, NULL, NULL);
	tcg_record(&r, "web");
	publish(fx, 101, &r, 1, NULL, NULL);
	t = scrape(fx, false);
	assert_line(t, "kvmtrace_vm_cpu_seconds_total{vm=\"qemu-system-x86-77\",uuid=\"\"} "
		    "0.250000000");
	assert_line(t, "kvmtrace_vm_cpu_seconds_total{vm=\"web\",uuid=\"\"} 0.250000000");
	t = scrape(fx, false);
	assert_null(strstr(t, "qemu-system-x86-77"));
	assert_line(t, "kvmtrace_vm_cpu_seconds_total{vm=\"web\",uuid=\"\"} 0.250000000");
}

/* A VMM that restarts keeps its series (same vm and uuid): its last row and its new rows add. */
static void test_restart_continues(void **state)
{
	struct fixture *fx = *state;
	struct vm_record r[2];
	char *t;

	tcg_record(&r[0], "web");
	tcg_record(&r[1], "web");
	r[0].mem_rss_bytes = 1000;
	publish(fx, 100, r, 1, NULL, NULL);
	r[0].final = true;
	r[0].mem_rss_bytes = -1;
	r[1].pid = 78;
	r[1].mem_rss_bytes = 500;
	publish(fx, 101, r, 2, NULL, NULL);
	t = scrape(fx, false);
	assert_line(t, "kvmtrace_vm_cpu_seconds_total{vm=\"web\",uuid=\"\"} 0.750000000");
	assert_line(t, "kvmtrace_vm_memory_rss_bytes{vm=\"web\",uuid=\"\"} 500");
	t = scrape(fx, false);
	assert_line(t, "kvmtrace_vm_cpu_seconds_total{vm=\"web\",uuid=\"\"} 0.750000000");
}

/* The tracer's cost: its CPU every interval, its BPF programs' time once bpf_stats counted an
 * interval (none before, not 0); neither resets while bpf_stats or the host record is missing. */
static void test_tracer_cost(void **state)
{
	struct host_record h = { .source = "none", .tracer_cpu_ns = 5000000, .tracer_bpf_ns = -1 };
	struct fixture *fx = *state;
	struct vm_record r;
	char *t;

	tcg_record(&r, "tcg");
	publish(fx, 100, &r, 1, &h, NULL);
	t = scrape(fx, false);
	assert_line(t, "kvmtrace_tracer_cpu_seconds_total 0.005000000");
	assert_null(strstr(t, "kvmtrace_tracer_bpf"));

	h.tracer_bpf_ns = 300000;
	publish(fx, 101, &r, 1, &h, NULL);
	t = scrape(fx, false);
	assert_line(t, "kvmtrace_tracer_cpu_seconds_total 0.010000000");
	assert_line(t, "# TYPE kvmtrace_tracer_bpf_seconds_total counter");
	assert_line(t, "kvmtrace_tracer_bpf_seconds_total 0.000300000");

	/* bpf_stats off again, then an interval without a host record: the totals stay. */
	h.tracer_bpf_ns = -1;
	publish(fx, 102, &r, 1, &h, NULL);
	publish(fx, 103, &r, 1, NULL, NULL);
	t = scrape(fx, false);
	assert_line(t, "kvmtrace_tracer_cpu_seconds_total 0.015000000");
	assert_line(t, "kvmtrace_tracer_bpf_seconds_total 0.000300000");
}

static bool is_counter(const struct field *f)
{
	return f->family != FAM_NONE && families[f->family].type == METRIC_COUNTER;
}

/* Every counter's sample is its own running total, not a sum kept here. */
static void test_totals_taken(void **state)
{
	const struct field_list *l = fields_of(FIELDS_VM);
	struct interval_info iv = interval(101);
	struct fixture *fx = *state;
	struct host_record h = host;
	char want[256], value[32];
	struct vm_record r;
	const struct field *f;
	size_t i;
	char *t;

	clocked_record(&r);
	publish(fx, 100, &r, 1, &host, NULL);
	for (i = 0; i < l->n; i++)
		if (is_counter(&l->field[i]))
			*(uint64_t *)field_total(&l->field[i], &(struct field_row){ .vm = &r }) =
				(i + 1) * 1000000000ull;
	r.vcpu[0].total.exits = 123456;
	r.exit[0].total.count = 777;
	r.counter[r.nr_counters - 1].total_host = 86400000000000ull;
	h.total.host_energy_j = 5000.25;
	h.total.tracer_cpu_ns = 7200000000000ull;
	h.total.tracer_bpf_ns = 1500000000;
	metrics_store_publish(fx->m, &iv, &r, 1, &h, NULL);
	t = scrape(fx, false);
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
	assert_line(t, "kvmtrace_vcpu_exits_total{" WEB ",vcpu=\"0\"} 123456");
	assert_line(t, "kvmtrace_vm_exits_total{" WEB ",reason=\"EPT_VIOLATION\"} 777");
	assert_line(t, "kvmtrace_vm_exits_total{" WEB ",reason=\"IOIO\"} 2345");
	assert_line(t, "kvmtrace_vm_perf_clock_seconds_total{" WEB ",event=\"cpu-clock\","
		    "mode=\"host\"} 86400.000000000");
	assert_line(t, "kvmtrace_vm_perf_events_total{" WEB ",event=\"cycles\",mode=\"guest\"} "
		    "3000000");
	assert_line(t, "kvmtrace_host_energy_joules_total{source=\"rapl\"} 5000.250");
	assert_line(t, "kvmtrace_tracer_cpu_seconds_total 7200.000000000");
	assert_line(t, "kvmtrace_tracer_bpf_seconds_total 1.500000000");
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
	bool seen[NR_FAMILIES] = { false };
	char labels[128], *line, *save = NULL;
	struct fixture *fx = *state;
	const char *p, *end;
	struct vm_record r;
	size_t n, name_len;
	int id;

	strcpy(health.prog[0].name, "kt_sched_switch");
	clocked_record(&r);
	publish(fx, 100, &r, 1, &host, &health);
	for (line = strtok_r(scrape(fx, false), "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
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
}

#define TEST(t) cmocka_unit_test_setup_teardown(t, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_two_intervals),
		TEST(test_exact_text),
		TEST(test_openmetrics),
		TEST(test_label_escaping),
		TEST(test_unmeasured_omitted),
		TEST(test_final_dropped_after_scrape),
		TEST(test_final_dropped_after_five_minutes),
		TEST(test_restart_continues),
		TEST(test_renamed),
		TEST(test_tracer_cost),
		TEST(test_totals_taken),
		TEST(test_samples_as_declared),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
