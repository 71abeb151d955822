// SPDX-License-Identifier: GPL-2.0
#include <math.h>
#include <stdio.h>

#include "sampler_budget.h"

void sampler_budget_init(struct sampler_budget *b, double share, unsigned int asked_hz,
			 unsigned int nr_cpus, double sample_ns)
{
	*b = (struct sampler_budget){
		.share = share, .asked_hz = asked_hz, .hz = asked_hz, .nr_cpus = nr_cpus,
		.sample_ns = sample_ns,
	};
}

/* ns one sample costs, all told; 0 when nothing is known of it. */
static double per_sample_ns(const struct sampler_budget *b)
{
	return (b->sample_ns > 0 ? b->sample_ns : 0) +
	       (b->prog_runs >= SAMPLER_COST_MIN_RUNS ? b->prog_ns : 0);
}

/* The share of one CPU the sampler takes at hz. */
static double share_at(const struct sampler_budget *b, unsigned int hz)
{
	return hz * (double)b->nr_cpus * per_sample_ns(b) / 1e9;
}

unsigned int sampler_budget_rate(const struct sampler_budget *b)
{
	double allowed;

	if (share_at(b, b->asked_hz) <= b->share)
		return b->asked_hz;
	/* A tenth below the bound, so that the noise of the cost does not cross it again. */
	allowed = floor(0.9 * b->share * 1e9 / (b->nr_cpus * per_sample_ns(b)));
	return allowed < 1 ? 1 : (unsigned int)allowed;
}

unsigned int sampler_budget_review(struct sampler_budget *b, uint64_t runs, uint64_t prog_ns)
{
	unsigned int hz;

	if (runs) {
		b->prog_ns = (b->prog_ns * b->prog_runs + prog_ns) / (b->prog_runs + runs);
		b->prog_runs = b->prog_runs + runs < SAMPLER_COST_RUNS ? b->prog_runs + runs
								       : SAMPLER_COST_RUNS;
	}
	hz = sampler_budget_rate(b);
	if (hz < b->hz)
		return share_at(b, b->hz) > b->share ? hz : b->hz;
	if (hz > b->hz && (hz == b->asked_hz || hz >= b->hz + b->hz / 4))
		return hz;
	return b->hz;
}

int64_t sampler_budget_cost_ns(const struct sampler_budget *b, double interval_s,
			       int64_t prog_ns)
{
	if (b->sample_ns < 0)
		return -1;
	return llround(b->hz * (double)b->nr_cpus * interval_s * b->sample_ns) +
	       (prog_ns > 0 ? prog_ns : 0);
}

void sampler_budget_explain(const struct sampler_budget *b, unsigned int hz, char *buf,
			    size_t len)
{
	const char *how = b->prog_runs >= SAMPLER_COST_MIN_RUNS ?
			  "its timer interrupt measured at start-up, its program by bpf_stats" :
			  "its timer interrupt and program, measured at start-up";

	if (hz == b->asked_hz) {
		snprintf(buf, len, "sampler at %u Hz per CPU: a sample costs %.1f us here, %.3f%% "
			 "of a CPU in all, within --overhead-budget %g%%", hz,
			 per_sample_ns(b) / 1000, share_at(b, hz) * 100, b->share * 100);
		return;
	}

	snprintf(buf, len, "sampler at %u Hz per CPU, not %u: a sample costs %.1f us here "
		 "(%s), so %u Hz on %u CPU%s would take %.2f%% of a CPU, over "
		 "--overhead-budget %g%%", hz, b->asked_hz, per_sample_ns(b) / 1000, how,
		 b->asked_hz, b->nr_cpus, b->nr_cpus == 1 ? "" : "s",
		 share_at(b, b->asked_hz) * 100, b->share * 100);
}
