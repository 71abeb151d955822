// SPDX-License-Identifier: GPL-2.0
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "sampler_budget.h"

/* 0.5% of a CPU, 499 Hz asked on 2 CPUs. */
static struct sampler_budget budget(double sample_ns)
{
	struct sampler_budget b;

	sampler_budget_init(&b, 0.005, 499, 2, sample_ns);
	return b;
}

/* Within the budget the asked rate stays; beyond it, a tenth below the bound, at least 1 Hz. */
static void test_rate(void **state)
{
	struct sampler_budget b = budget(5000);

	(void)state;
	/* 499 x 2 x 5 us = 0.499% of a CPU: fits. */
	assert_int_equal(sampler_budget_rate(&b), 499);
	assert_int_equal(b.hz, 499);
	/* 40 us: 0.5% allows 62.5 Hz; 90% of that. */
	b = budget(40000);
	assert_int_equal(sampler_budget_rate(&b), 56);
	/* A cost too large for even 1 Hz keeps 1 Hz. */
	b = budget(1e9);
	assert_int_equal(sampler_budget_rate(&b), 1);
	/* Unknown or nil: nothing to bound. */
	b = budget(-1);
	assert_int_equal(sampler_budget_rate(&b), 499);
	b = budget(0);
	assert_int_equal(sampler_budget_rate(&b), 499);
	/* The program's counted time adds to the interrupt's, once it is known from enough runs. */
	b = budget(4000);
	b.prog_ns = 1000;
	b.prog_runs = SAMPLER_COST_MIN_RUNS;
	assert_int_equal(sampler_budget_rate(&b), 499);
	b.prog_ns = 1100;
	assert_int_equal(sampler_budget_rate(&b), 441);	/* 0.9 x 0.005e9 / (2 x 5100) */
	b.prog_runs = SAMPLER_COST_MIN_RUNS - 1;
	assert_int_equal(sampler_budget_rate(&b), 499);
}

/*
 * Each interval's program time refines the cost: the rate goes down once it is over the budget,
 * not for noise below it, and up only by a quarter or back to the asked rate. Intervals of a
 * billion runs here, so that each one's cost is the average's.
 */
static void test_review(void **state)
{
	struct sampler_budget b = budget(4000);
	const uint64_t runs = 1000000000;

	(void)state;
	assert_int_equal(sampler_budget_review(&b, 0, 0), 499);	/* not counted */
	assert_int_equal(sampler_budget_review(&b, runs, runs * 1000), 499);	/* 1 us a run */
	assert_float_equal(b.prog_ns, 1000, 1e-9);
	/* 2 us a run: 499 Hz takes 0.599%: down to 375. */
	assert_int_equal(sampler_budget_review(&b, runs, runs * 2000), 375);
	b.hz = 375;
	/* A little dearer, still within the budget at 375 Hz: stays. */
	assert_int_equal(sampler_budget_review(&b, runs, runs * 2200), 375);
	/* Dearer still, over it at 375 Hz: down. */
	assert_int_equal(sampler_budget_review(&b, runs, runs * 3000), 321);
	b.hz = 321;
	/* Cheaper by a little: not worth a change; by much: up; back to fitting: the asked rate. */
	assert_int_equal(sampler_budget_review(&b, runs, runs * 2500), 321);
	assert_int_equal(sampler_budget_review(&b, runs, runs * 1500), 409);
	b.hz = 409;
	assert_int_equal(sampler_budget_review(&b, runs, runs * 900), 499);
	/* An interval bpf_stats did not count keeps the last cost known. */
	b.hz = 499;
	assert_int_equal(sampler_budget_review(&b, 0, 0), 499);
	assert_float_equal(b.prog_ns, 900, 0.01);
}

/*
 * At a few Hz an interval's few runs do not make the cost: the average of the latest
 * SAMPLER_COST_RUNS does.
 */
static void test_review_averages(void **state)
{
	struct sampler_budget b = budget(4000);
	int i;

	(void)state;
	/* Too few runs yet to count: the rate stays whatever they cost. */
	for (i = 0; i < SAMPLER_COST_MIN_RUNS / 10 - 1; i++)
		assert_int_equal(sampler_budget_review(&b, 10, 10 * 100000), 499);
	b.prog_ns = b.prog_runs = 0;
	for (i = 0; i < SAMPLER_COST_RUNS / 10; i++)
		sampler_budget_review(&b, 10, 10 * 1000);
	assert_float_equal(b.prog_ns, 1000, 1e-6);
	assert_int_equal(b.prog_runs, SAMPLER_COST_RUNS);
	/* A run ten times dearer moves the average by a two-thousandth of the difference. */
	sampler_budget_review(&b, 1, 10000);
	assert_float_equal(b.prog_ns, 1000 + 9000.0 / (SAMPLER_COST_RUNS + 1), 1e-6);
	assert_int_equal(b.prog_runs, SAMPLER_COST_RUNS);
}

/* An interval's cost: its samples times their cost, and the program's counted time. */
static void test_cost(void **state)
{
	struct sampler_budget b = budget(5000);

	(void)state;
	b.hz = 100;
	/* 100 Hz x 2 CPUs x 1.5 s x 5 us = 1.5 ms. */
	assert_int_equal(sampler_budget_cost_ns(&b, 1.5, -1), 1500000);
	assert_int_equal(sampler_budget_cost_ns(&b, 1.5, 20000), 1520000);
	b = budget(-1);
	assert_int_equal(sampler_budget_cost_ns(&b, 1.5, 20000), -1);
}

static void test_explain(void **state)
{
	struct sampler_budget b = budget(40000);
	char line[320];

	(void)state;
	sampler_budget_explain(&b, 56, line, sizeof(line));
	assert_string_equal(line, "sampler at 56 Hz per CPU, not 499: a sample costs 40.0 us here "
			    "(its timer interrupt and program, measured at start-up), so 499 Hz "
			    "on 2 CPUs would take 3.99% of a CPU, over --overhead-budget 0.5%");
	/* The asked rate, within the budget: what it costs. */
	b.sample_ns = 5000;
	sampler_budget_explain(&b, 499, line, sizeof(line));
	assert_string_equal(line, "sampler at 499 Hz per CPU: a sample costs 5.0 us here, 0.499% "
			    "of a CPU in all, within --overhead-budget 0.5%");
	b.sample_ns = 40000;
	b.prog_ns = 2000;
	b.prog_runs = SAMPLER_COST_RUNS;
	b.nr_cpus = 1;
	sampler_budget_explain(&b, 100, line, sizeof(line));
	assert_string_equal(line, "sampler at 100 Hz per CPU, not 499: a sample costs 42.0 us "
			    "here (its timer interrupt measured at start-up, its program by "
			    "bpf_stats), so 499 Hz on 1 CPU would take 2.10% of a CPU, over "
			    "--overhead-budget 0.5%");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rate),
		cmocka_unit_test(test_review),
		cmocka_unit_test(test_review_averages),
		cmocka_unit_test(test_cost),
		cmocka_unit_test(test_explain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
