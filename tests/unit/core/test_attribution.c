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

/* Two VMs, one with twice the CPU time of the other, on a host of 8 s of CPU an interval. */
struct scene {
	struct power_model m;
	struct host_record h;
	struct vm_record r[2];
};

static void scene_init(struct scene *s, double idle_watts)
{
	power_model_init(&s->m, idle_watts);
	memset(s->r, 0, sizeof(s->r));
	s->r[0].cpu_total_ns = 2000000000;
	s->r[1].cpu_total_ns = 1000000000;
}

/* An interval of a second with a known reading: as many joules as watts. */
static void interval(struct scene *s, const char *source, double watts, uint64_t busy_ns)
{
	power_attribute(&s->m, source, true, watts, watts, busy_ns, 8000000000, s->r, 2, &s->h);
}

/* Every interval: the VMs' shares, the rest of the host and idle add up to the host's power,
 * and a VM with twice the CPU time of another gets twice its share. */
static void test_split_adds_up(void **state)
{
	struct scene s;

	(void)state;
	scene_init(&s, 40);
	interval(&s, "rapl", 100, 4000000000);
	NEAR(s.h.idle_w, 40);
	NEAR(s.r[0].vm_power_w, 30);
	NEAR(s.r[1].vm_power_w, 15);
	NEAR(s.h.rest_w, 15);
	NEAR(s.r[0].vm_power_w + s.r[1].vm_power_w + s.h.rest_w + s.h.idle_w, s.h.host_power_w);
	NEAR(s.r[0].vm_power_w, 2 * s.r[1].vm_power_w);
	NEAR(s.r[1].host_power_w, 100);
	NEAR(s.r[1].host_energy_j, 100);
	assert_string_equal(s.r[0].power_source, "rapl");
	assert_string_equal(s.h.source, "rapl");
}

/* Learned idle power: the lowest seen so far; the first interval is all idle. */
static void test_learned_idle(void **state)
{
	struct scene s;

	(void)state;
	scene_init(&s, -1);
	interval(&s, "edimax", 80, 3000000000);
	NEAR(s.h.idle_w, 80);
	NEAR(s.r[0].vm_power_w, 0);
	interval(&s, "edimax", 110, 3000000000);
	NEAR(s.h.idle_w, 80);
	NEAR(s.r[0].vm_power_w, 20);
	NEAR(s.r[1].vm_power_w, 10);
	NEAR(s.h.rest_w, 0);
	interval(&s, "edimax", 70, 3000000000);
	NEAR(s.h.idle_w, 70);
}

/* The host's tick-based busy time below the VMs' exact time: shares still add up. */
static void test_busy_below_vms(void **state)
{
	struct scene s;

	(void)state;
	scene_init(&s, 10);
	interval(&s, "rapl", 40, 2900000000);
	NEAR(s.r[0].vm_power_w, 20);
	NEAR(s.r[1].vm_power_w, 10);
	NEAR(s.h.rest_w, 0);
	/* A configured idle above the reading: all of it is idle, no share is negative. */
	interval(&s, "rapl", 5, 2900000000);
	NEAR(s.h.idle_w, 5);
	NEAR(s.r[0].vm_power_w, 0);
	NEAR(s.h.rest_w, 0);
}

/* Unknown power: every power field says so, the host record too. */
static void test_unknown(void **state)
{
	struct scene s;

	(void)state;
	scene_init(&s, -1);
	power_attribute(&s.m, "edimax", false, 0, 0, 3000000000, 8000000000, s.r, 2, &s.h);
	assert_false(s.h.valid);
	assert_true(s.r[0].host_power_w < 0 && s.r[0].vm_power_w < 0 && s.r[0].host_energy_j < 0);
	assert_string_equal(s.r[1].power_source, "edimax");
	/* Nor does it teach the model an idle power. */
	assert_true(s.m.idle_w < 0);
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
