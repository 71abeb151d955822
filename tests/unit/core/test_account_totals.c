// SPDX-License-Identifier: GPL-2.0
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "account_totals.h"

static struct vcpu_record vcpus[2];
static struct exit_record exits[1];

static void record(struct vm_record *r, const char *vm, int pid, uint64_t cpu, uint64_t guest)
{
	memset(r, 0, sizeof(*r));
	strcpy(r->vm, vm);
	strcpy(r->uuid, "6f1e2a3b-0000-4000-8000-00000000a1fa");
	r->pid = pid;
	r->cpu_total_ns = cpu;
	r->cpu_guest_ns = guest;
	r->guest_valid = guest > 0;
	r->guest_source = guest ? GUEST_SOURCE_TRACEPOINT : GUEST_SOURCE_NONE;
	r->run_delay_ns = 5;
	r->net_rx_bytes = 100;		/* not measured: net_valid is false */
}

/* Figures add up per identity, each only where measured; the records carry the totals. */
static void test_sums_where_measured(void **state)
{
	struct account_totals *t = account_totals_new();
	struct vm_record r[2];

	(void)state;
	record(&r[0], "web", 100, 1000, 600);
	r[0].nr_vcpus = 1;
	r[0].vcpu = vcpus;
	vcpus[0] = (struct vcpu_record){ .tid = 101, .vcpu = 0, .cpu_total_ns = 900,
					 .cpu_guest_ns = 600, .exits = 7 };
	r[0].nr_exits = 1;
	r[0].exit = exits;
	exits[0] = (struct exit_record){ .name = "HLT", .count = 3, .handling_ns = 30 };
	r[0].nr_counters = 1;
	r[0].counter[0] = (struct counter_record){ .name = "cycles", .valid = true, .guest = 10,
						   .host = 20 };
	assert_int_equal(account_totals_update(t, r, 1), 0);
	assert_int_equal(r[0].total.cpu_total_ns, 1000);
	assert_int_equal(r[0].total.net_rx_bytes, 0);
	assert_int_equal(r[0].vcpu[0].total.exits, 7);
	assert_int_equal(r[0].exit[0].total.count, 3);
	assert_int_equal(r[0].counter[0].total_guest, 10);

	/* Next interval: the same again, and a restart of it (another PID, same identity). */
	record(&r[0], "web", 100, 400, 0);		/* its last row: no guest measured */
	record(&r[1], "web", 200, 300, 100);	/* the new process */
	r[0].nr_vcpus = 1;
	r[0].vcpu = vcpus;
	vcpus[0].cpu_total_ns = 10;
	assert_int_equal(account_totals_update(t, r, 2), 0);
	assert_int_equal(r[0].total.cpu_total_ns, 1000 + 400 + 300);
	assert_int_equal(r[1].total.cpu_total_ns, 1000 + 400 + 300);
	assert_int_equal(r[1].total.cpu_guest_ns, 600 + 100);
	assert_int_equal(r[1].total.run_delay_ns, 15);
	/* The vCPU's guest time counts only where the VM's guest time is measured. */
	assert_int_equal(r[0].vcpu[0].total.cpu_total_ns, 910);
	assert_int_equal(r[0].vcpu[0].total.cpu_guest_ns, 600);

	/* An interval without it: forgotten; it starts again from 0. */
	record(&r[0], "other", 300, 50, 0);
	assert_int_equal(account_totals_update(t, r, 1), 0);
	record(&r[0], "web", 400, 70, 0);
	assert_int_equal(account_totals_update(t, r, 1), 0);
	assert_int_equal(r[0].total.cpu_total_ns, 70);
	account_totals_free(t);
}

/* Many identities, met in any order, each keep their own totals (a name with two UUIDs too). */
static void test_identities_apart(void **state)
{
	static const char *const names[] = { "c", "a", "b", "a" };
	static const size_t later[] = { 1, 3, 0, 2 };
	struct account_totals *t = account_totals_new();
	struct vm_record r[4];
	size_t i;

	(void)state;
	for (i = 0; i < 4; i++) {
		record(&r[i], names[i], 100 + i, 10 * (i + 1), 0);
		r[i].uuid[0] = (char)('0' + i);
	}
	assert_int_equal(account_totals_update(t, r, 4), 0);
	for (i = 0; i < 4; i++) {
		record(&r[i], names[later[i]], 100 + later[i], 1, 0);
		r[i].uuid[0] = (char)('0' + later[i]);
	}
	assert_int_equal(account_totals_update(t, r, 4), 0);
	for (i = 0; i < 4; i++)
		assert_int_equal(r[i].total.cpu_total_ns, 10 * (later[i] + 1) + 1);
	account_totals_free(t);
}

/* The host's energy adds up over the intervals whose power was read, and only those. */
static void test_host_energy(void **state)
{
	struct account_totals *t = account_totals_new();
	struct host_record h = { .valid = true, .host_energy_j = 80.5 };

	(void)state;
	account_totals_host(t, &h);
	assert_true(h.total.host_energy_j == 80.5);
	h = (struct host_record){ .host_energy_j = -1 };
	account_totals_host(t, &h);
	assert_true(h.total.host_energy_j == 80.5);
	h = (struct host_record){ .valid = true, .host_energy_j = 19.5 };
	account_totals_host(t, &h);
	assert_true(h.total.host_energy_j == 100);
	account_totals_free(t);
}

/* The tracer's CPU time adds up every interval, power read or not; its BPF programs' time over
 * the intervals bpf_stats counted it in (-1: off), so turning it off keeps the total. */
static void test_tracer_cost(void **state)
{
	static const struct { uint64_t cpu; int64_t bpf; uint64_t cpu_total, bpf_total; } iv[] = {
		{ 4000000, -1, 4000000, 0 },
		{ 6000000, 300000, 10000000, 300000 },
		{ 0, -1, 10000000, 300000 },
		{ 2000000, 200000, 12000000, 500000 },
	};
	struct account_totals *t = account_totals_new();
	struct host_record h;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(iv) / sizeof(iv[0]); i++) {
		h = (struct host_record){ .host_energy_j = -1, .tracer_cpu_ns = iv[i].cpu,
					  .tracer_bpf_ns = iv[i].bpf };
		account_totals_host(t, &h);
		assert_int_equal(h.total.tracer_cpu_ns, iv[i].cpu_total);
		assert_int_equal(h.total.tracer_bpf_ns, iv[i].bpf_total);
		assert_true(h.total.host_energy_j == 0);
	}
	account_totals_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sums_where_measured),
		cmocka_unit_test(test_identities_apart),
		cmocka_unit_test(test_host_energy),
		cmocka_unit_test(test_tracer_cost),
	};

	return cmocka_run_group_tests_name("account_totals", tests, NULL, NULL);
}
