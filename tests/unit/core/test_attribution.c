// SPDX-License-Identifier: GPL-2.0
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "attribution.h"

#define NEAR(a, b) assert_true((a) > (b) - 1e-9 && (a) < (b) + 1e-9)

static void test_parse_host_cpu(void **state)
{
	struct host_cpu cpu;

	(void)state;
	assert_int_equal(parse_host_cpu("cpu  100 5 50 800 10 3 2 7 40 0\n", &cpu), 0);
	assert_int_equal(cpu.busy, 100 + 5 + 50 + 3 + 2);
	assert_int_equal(cpu.all, 160 + 800 + 10);
	assert_int_equal(parse_host_cpu("cpu0 1 2 3 4 5 6 7 8", &cpu), -1);
	assert_int_equal(parse_host_cpu("intr 1 2", &cpu), -1);
}

static void two_vms(struct vm_record *r)
{
	memset(r, 0, 2 * sizeof(*r));
	r[0].cpu_total_ns = 2000000000;
	r[1].cpu_total_ns = 1000000000;
}

/* Every interval: the VMs' shares, the rest of the host and idle add up to the host's power,
 * and a VM with twice the CPU time of another gets twice its share. */
static void test_split_adds_up(void **state)
{
	struct power_model m;
	struct host_record h;
	struct vm_record r[2];

	(void)state;
	power_model_init(&m, 40);
	two_vms(r);
	power_attribute(&m, "rapl", true, 100, 100, 4000000000, 8000000000, r, 2, &h);
	NEAR(h.idle_w, 40);
	NEAR(r[0].vm_power_w, 30);
	NEAR(r[1].vm_power_w, 15);
	NEAR(h.rest_w, 15);
	NEAR(r[0].vm_power_w + r[1].vm_power_w + h.rest_w + h.idle_w, h.host_power_w);
	NEAR(r[0].vm_power_w, 2 * r[1].vm_power_w);
	NEAR(r[1].host_power_w, 100);
	NEAR(r[1].host_energy_j, 100);
	assert_string_equal(r[0].power_source, "rapl");
	assert_string_equal(h.source, "rapl");
}

/* Learned idle power: the lowest seen so far; the first interval is all idle. */
static void test_learned_idle(void **state)
{
	struct power_model m;
	struct host_record h;
	struct vm_record r[2];

	(void)state;
	power_model_init(&m, -1);
	two_vms(r);
	power_attribute(&m, "edimax", true, 80, 80, 3000000000, 8000000000, r, 2, &h);
	NEAR(h.idle_w, 80);
	NEAR(r[0].vm_power_w, 0);
	power_attribute(&m, "edimax", true, 110, 110, 3000000000, 8000000000, r, 2, &h);
	NEAR(h.idle_w, 80);
	NEAR(r[0].vm_power_w, 20);
	NEAR(r[1].vm_power_w, 10);
	NEAR(h.rest_w, 0);
	power_attribute(&m, "edimax", true, 70, 70, 3000000000, 8000000000, r, 2, &h);
	NEAR(h.idle_w, 70);
}

/* The host's tick-based busy time below the VMs' exact time: shares still add up. */
static void test_busy_below_vms(void **state)
{
	struct power_model m;
	struct host_record h;
	struct vm_record r[2];

	(void)state;
	power_model_init(&m, 10);
	two_vms(r);
	power_attribute(&m, "rapl", true, 40, 40, 2900000000, 8000000000, r, 2, &h);
	NEAR(r[0].vm_power_w, 20);
	NEAR(r[1].vm_power_w, 10);
	NEAR(h.rest_w, 0);
	/* A configured idle above the reading: all of it is idle, no share is negative. */
	power_attribute(&m, "rapl", true, 5, 5, 2900000000, 8000000000, r, 2, &h);
	NEAR(h.idle_w, 5);
	NEAR(r[0].vm_power_w, 0);
	NEAR(h.rest_w, 0);
}

/* Unknown power: every power field says so, the host record too. */
static void test_unknown(void **state)
{
	struct power_model m;
	struct host_record h;
	struct vm_record r[2];

	(void)state;
	power_model_init(&m, -1);
	two_vms(r);
	power_attribute(&m, "edimax", false, 0, 0, 3000000000, 8000000000, r, 2, &h);
	assert_false(h.valid);
	assert_true(r[0].host_power_w < 0 && r[0].vm_power_w < 0 && r[0].host_energy_j < 0);
	assert_string_equal(r[1].power_source, "edimax");
	/* Nor does it teach the model an idle power. */
	assert_true(m.idle_w < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_host_cpu),
		cmocka_unit_test(test_split_adds_up),
		cmocka_unit_test(test_learned_idle),
		cmocka_unit_test(test_busy_below_vms),
		cmocka_unit_test(test_unknown),
	};

	return cmocka_run_group_tests_name("attribution", tests, NULL, NULL);
}
