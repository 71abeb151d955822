/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The sampler's rate under --overhead-budget: the highest rate, up to the one asked, at which
 * what the sampler costs (the timer interrupt behind each sample, measured at start-up, and its
 * program's time per run where bpf_stats counts it) stays within a share of one CPU.
 */
#ifndef KT_SAMPLER_BUDGET_H
#define KT_SAMPLER_BUDGET_H

#include <stddef.h>
#include <stdint.h>

struct sampler_budget {
	double share;		/* of one CPU the sampler may take: 0.005 for 0.5% */
	unsigned int asked_hz;	/* --sample-hz */
	unsigned int hz;	/* in force: the caller sets it once the sampler runs at it */
	unsigned int nr_cpus;	/* sampled */
	double sample_ns;	/* one sample's cost beside the program's counted time; < 0: unknown */
	double prog_ns;		/* the program's time per run (bpf_stats); 0 while not counted */
	uint64_t prog_runs;	/* the runs prog_ns averages, at most SAMPLER_COST_RUNS */
};

/* How many of the latest runs the program's cost is averaged over: a few seconds' at the
 * default rate, so that a rate of a few Hz does not follow the noise of a few runs; and how
 * many it takes before that average counts at all. */
#define SAMPLER_COST_RUNS	2000
#define SAMPLER_COST_MIN_RUNS	100

/* hz starts at asked_hz; sample_ns < 0 when it could not be measured. */
void sampler_budget_init(struct sampler_budget *b, double share, unsigned int asked_hz,
			 unsigned int nr_cpus, double sample_ns);

/* The rate within the budget: the asked one, or lower (at least 1 Hz). */
unsigned int sampler_budget_rate(const struct sampler_budget *b);

/*
 * After an interval in which the sampler's programs ran runs times for prog_ns (runs 0: not
 * counted), averaged into the cost per run: the rate to run at from now on. Lower at once when
 * over the budget; higher only by a quarter or more (or back to the asked rate), so that noise
 * does not move it.
 */
unsigned int sampler_budget_review(struct sampler_budget *b, uint64_t runs, uint64_t prog_ns);

/*
 * What the sampler cost over an interval of interval_s s at b->hz: its samples times their
 * measured cost, plus prog_ns, its programs' counted time (< 0: not counted). -1: unknown.
 */
int64_t sampler_budget_cost_ns(const struct sampler_budget *b, double interval_s,
			       int64_t prog_ns);

/* One line on a rate of hz: what it costs within the budget, or, when it is not the asked one,
 * why, with the figures behind it. */
void sampler_budget_explain(const struct sampler_budget *b, unsigned int hz, char *buf,
			    size_t len);

#endif /* KT_SAMPLER_BUDGET_H */
