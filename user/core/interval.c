// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "account_totals.h"
#include "domains.h"
#include "interval.h"
#include "log.h"
#include "sampler_budget.h"

#define NS_PER_S 1000000000ull
/* The sampler's programs (kt_sample, kt_sample_softirq_flag), whose cost its budget bounds. */
#define SAMPLER_PROGS	"kt_sample"

struct interval_core {
	struct tracer *tracer;
	struct host *host;
	struct account *account;
	struct lifecycle *lifecycle;
	struct power_source *power;
	struct power_model power_model;
	struct account_totals *totals;	/* the records' running totals, for counter sinks */
	struct snapshot snap;
	uint64_t last_drain_ns;
	struct host_cpu cpu_last;	/* the host's CPU ticks at the last drain */
	uint64_t power_failures;	/* intervals whose power could not be read */
	uint64_t drops_seen[KT_NR_DROPS];
	uint64_t self_cpu_ns;		/* this process's CPU time at the last drain */
	uint64_t bpf_run_ns;		/* its BPF programs' run time then; 0: not counted */
	struct sampler_budget *budget;	/* NULL: no sampler */
	uint64_t sampler_runs, sampler_ns;	/* its programs' then; 0: not counted */
};

struct interval_core *interval_core_new(struct tracer *tr, struct host *host, struct account *a,
					struct lifecycle *lc, struct power_source *power,
					double idle_watts)
{
	struct interval_core *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->tracer = tr;
	c->host = host;
	c->account = a;
	c->lifecycle = lc;
	c->power = power;
	power_model_init(&c->power_model, idle_watts);
	c->totals = account_totals_new();
	if (!c->totals) {
		free(c);
		return NULL;
	}
	return c;
}

void interval_core_free(struct interval_core *c)
{
	if (!c)
		return;
	snapshot_free(&c->snap);
	account_totals_free(c->totals);
	free(c);
}

/* The interval ends at the drain: its wall-clock stamp is the drain's, not the time of writing. */
static void interval_stamp(struct interval_info *iv, const struct timespec *wall, uint64_t ns)
{
	char date[24];
	struct tm tm;

	gmtime_r(&wall->tv_sec, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(iv->timestamp, sizeof(iv->timestamp), "%s.%03dZ", date,
		 (int)(wall->tv_nsec / 1000000));
	iv->epoch_s = wall->tv_sec + wall->tv_nsec / 1e9;
	iv->interval_s = ns / 1e9;
}

static const char *const drop_what[KT_NR_DROPS] = {
	[KT_DROP_VM_FULL] = "VMs not tracked: the VM table is full",
	[KT_DROP_THREAD_FULL] = "thread events not counted: the thread table is full",
	[KT_DROP_EXIT_FULL] = "exits not counted by reason: the exit-reason table is full",
	[KT_DROP_DEAD_FULL] = "ended VMs lost their last row: too many VMs ended in one interval",
	[KT_DROP_OPEN_GUEST] = "guest intervals dropped: their kvm_exit was never seen",
	[KT_DROP_NET_FULL] = "tap frames not counted: the network table is full",
	[KT_DROP_BIO_FULL] = "disk requests without latency: their set of the in-flight table was full",
	[KT_DROP_PERCPU_FULL] = "counter and sampler figures lost: the per-VM table is full",
	[KT_DROP_UNSEEN_SWITCH_IN] = "thread slices whose switch-in the kernel did not report "
		"(sched_switch): their on-CPU time and clock counters are exact, their other "
		"counters uncounted",
	[KT_DROP_READING_RACE] = "thread counter readings left to the next one: they lost four "
		"races in a row with other readings of the same thread",
};

/* Kernel quirks, not overflows: said once, when first seen, rather than every interval. */
static bool drop_is_quirk(int i)
{
	return i == KT_DROP_UNSEEN_SWITCH_IN || i == KT_DROP_READING_RACE;
}

/* Overflow is reported, never silent: one line per counter that grew in this interval. */
static void report_drops(const struct snapshot *s, uint64_t *seen)
{
	int i;

	for (i = 0; i < KT_NR_DROPS; i++) {
		if (s->drops[i] > seen[i] && (!drop_is_quirk(i) || !seen[i]))
			kt_warn("%llu %s%s", (unsigned long long)(s->drops[i] - seen[i]), drop_what[i],
				drop_is_quirk(i) ? " (said once)" : "");
		seen[i] = s->drops[i];
	}
}

/* The host's busy and total CPU time since the last drain, in ns (ticks: /proc/stat). */
static void host_cpu_delta(struct interval_core *c, uint64_t *busy_ns, uint64_t *capacity_ns)
{
	uint64_t tick_ns = NS_PER_S / sysconf(_SC_CLK_TCK);
	struct host_cpu now;

	*busy_ns = *capacity_ns = 0;
	if (read_host_cpu("/proc", &now))
		return;
	*busy_ns = (now.busy - c->cpu_last.busy) * tick_ns;
	*capacity_ns = (now.all - c->cpu_last.all) * tick_ns;
	c->cpu_last = now;
}

/* The host's power over the interval, and each VM's share of it (attribution.h). */
static void attribute_power(struct interval_core *c, struct interval_record *r)
{
	uint64_t busy_ns, capacity_ns;
	struct power_reading power;

	host_cpu_delta(c, &busy_ns, &capacity_ns);
	power_sample(c->power, r->iv.interval_s, &power);
	if (!power.valid && strcmp(power_source_name(c->power), "none"))
		c->power_failures++;
	power_attribute(&c->power_model, power_source_name(c->power), power.valid, power.watts,
			power.energy_j, busy_ns, capacity_ns, r->vms, r->nr_vms, &r->host);
}

/* This process's CPU time so far, user and system. */
static uint64_t self_cpu_ns(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru))
		return 0;
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * NS_PER_S +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ull;
}

/* The runs and run time so far of the programs whose names start with prefix ("": all). */
static void prog_totals(const struct tracer_health *h, const char *prefix, uint64_t *runs,
			uint64_t *ns)
{
	size_t i;

	*runs = *ns = 0;
	for (i = 0; i < h->nr_progs; i++) {
		if (strncmp(h->prog[i].name, prefix, strlen(prefix)))
			continue;
		*runs += h->prog[i].run_cnt;
		*ns += h->prog[i].run_time_ns;
	}
}

/*
 * How much a bpf_stats total grew since the last drain: known over an interval only when the
 * kernel counted at both of its ends (-1 otherwise). seen: the total then, 0 when not counted.
 */
static int64_t stats_growth(const struct tracer_health *h, uint64_t now, uint64_t *seen)
{
	int64_t grew = h->nr_progs && *seen && now >= *seen ? (int64_t)(now - *seen) : -1;

	*seen = h->nr_progs ? now : 0;
	return grew;
}

/* The tracer's own cost since the last drain, into the host row. */
static void tracer_cost(struct interval_core *c, struct interval_record *r)
{
	uint64_t cpu = self_cpu_ns(), runs, ns;

	r->host.tracer_cpu_ns = cpu > c->self_cpu_ns ? cpu - c->self_cpu_ns : 0;
	c->self_cpu_ns = cpu;
	prog_totals(&r->health, "", &runs, &ns);
	r->host.tracer_bpf_ns = stats_growth(&r->health, ns, &c->bpf_run_ns);
}

/*
 * The sampler's rate and cost in the interval, into the host row; then its rate from now on,
 * within the budget: the next interval's hits stand for the new period.
 */
static void sampler_review(struct interval_core *c, struct interval_record *r)
{
	struct sampler_budget *b = c->budget;
	int64_t runs, ns;
	uint64_t now_runs, now_ns;
	unsigned int hz;
	char why[256];

	r->host.sampler_hz = b ? b->hz : 0;
	r->host.sampler_cost_ns = 0;	/* no sampler, no cost */
	if (!b)
		return;
	prog_totals(&r->health, SAMPLER_PROGS, &now_runs, &now_ns);
	runs = stats_growth(&r->health, now_runs, &c->sampler_runs);
	ns = stats_growth(&r->health, now_ns, &c->sampler_ns);
	r->host.sampler_cost_ns = sampler_budget_cost_ns(b, r->iv.interval_s, ns);
	hz = sampler_budget_review(b, runs > 0 ? runs : 0, runs > 0 ? ns : 0);
	if (hz == b->hz)
		return;
	if (tracer_set_sample_hz(c->tracer, hz, why, sizeof(why))) {
		kt_warn("cannot change the sampler's rate to %u Hz: %s; it stays at %u Hz", hz,
			why, b->hz);
		return;
	}
	b->hz = hz;
	account_set_sample_period(c->account, tracer_sample_period_ns(c->tracer));
	sampler_budget_explain(b, hz, why, sizeof(why));
	kt_info("%s", why);
}

void interval_core_set_budget(struct interval_core *c, struct sampler_budget *b)
{
	c->budget = b;
}

/* Drains the maps into this interval's VM records. Returns how many, or -1. */
static long drain_and_account(struct interval_core *c, struct vm_record **recs)
{
	long n;
	int err;

	domains_refresh(c->host->domains);
	lifecycle_before_drain(c->lifecycle, &c->snap);
	err = tracer_drain(c->tracer, &c->snap);
	if (err) {
		kt_error("cannot read the BPF maps: %s", strerror(-err));
		return -1;
	}
	/* The taps of the VMs just drained count from now on: a VM's traffic from the drain after
	 * the one that found it (at the start, from the first interval). */
	host_find_taps(c->host, &c->snap);
	tracer_set_ifaces(c->tracer, c->host->taps, c->host->nr_taps);
	n = account_update(c->account, &c->snap, recs);
	if (n < 0)
		kt_error("out of memory");
	else
		lifecycle_after_account(c->lifecycle, &c->snap);
	return n;
}

int interval_prime(struct interval_core *c)
{
	struct tracer_health health;
	struct vm_record *recs;
	uint64_t runs;

	if (drain_and_account(c, &recs) < 0)
		return -1;
	c->last_drain_ns = c->snap.mono_ns;
	read_host_cpu("/proc", &c->cpu_last);
	c->self_cpu_ns = self_cpu_ns();
	health.nr_progs = tracer_prog_stats(c->tracer, health.prog, METRICS_MAX_PROGS);
	prog_totals(&health, "", &runs, &c->bpf_run_ns);
	prog_totals(&health, SAMPLER_PROGS, &c->sampler_runs, &c->sampler_ns);
	interval_done(c);
	return 0;
}

int interval_next(struct interval_core *c, double lag_s, struct interval_record *out)
{
	long n;

	memset(out, 0, sizeof(*out));
	n = drain_and_account(c, &out->vms);
	if (n < 0)
		return -1;
	out->nr_vms = n;
	/* The interval is what separates two drains, as the maps saw it. */
	interval_stamp(&out->iv, &c->snap.wall, c->snap.mono_ns - c->last_drain_ns);
	c->last_drain_ns = c->snap.mono_ns;
	attribute_power(c, out);
	/* From the first interval on: the priming drain's figures are in no row. */
	if (account_totals_update(c->totals, out->vms, out->nr_vms)) {
		kt_error("out of memory");
		return -1;
	}
	memcpy(out->health.drops, c->snap.drops, sizeof(out->health.drops));
	out->health.interval_lag_s = lag_s;
	out->health.plug_failures = c->power_failures;
	out->health.nr_progs = tracer_prog_stats(c->tracer, out->health.prog, METRICS_MAX_PROGS);
	/* The host's totals take the tracer's cost too: after it is known. */
	tracer_cost(c, out);
	sampler_review(c, out);
	account_totals_host(c->totals, &out->host);
	return 0;
}

size_t interval_done(struct interval_core *c)
{
	size_t live = lifecycle_after_sinks(c->lifecycle, &c->snap);

	report_drops(&c->snap, c->drops_seen);
	return live;
}
