/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The interval core: once per interval, one drain of the BPF maps, the accounting, the power
 * model and the tracer's own health make one record, complete before any sink sees it. Sinks
 * (CSV, Prometheus, the live table) format that record and never reach back.
 */
#ifndef KT_INTERVAL_H
#define KT_INTERVAL_H

#include <stddef.h>

#include "account.h"
#include "attribution.h"
#include "lifecycle.h"
#include "metrics.h"
#include "power.h"
#include "record.h"
#include "tracer.h"
#include "vmsource.h"

/* One interval, as every sink gets it. Valid until the next interval_next(). */
struct interval_record {
	struct interval_info iv;
	struct vm_record *vms;		/* sorted by name */
	size_t nr_vms;
	struct host_record host;	/* the host's power and CPU, with the VMs' share */
	struct tracer_health health;
};

struct interval_core;

struct interval_core *interval_core_new(struct tracer *tr, struct host *host, struct account *a,
					struct lifecycle *lc, struct power_source *power,
					double idle_watts);

struct sampler_budget;

/* The sampler's budget (sampler_budget.h), reviewed after each interval; NULL: no sampler. */
void interval_core_set_budget(struct interval_core *c, struct sampler_budget *b);

/* The first drain: baselines, so that the first record covers only the first interval. */
int interval_prime(struct interval_core *c);

/*
 * Drains and builds this interval's record into out; lag_s: how late the drain is against its
 * schedule. Returns 0, or -1 (said why) when the maps cannot be read or memory ran out.
 */
int interval_next(struct interval_core *c, double lag_s, struct interval_record *out);

/* After every sink had the record: ended VMs leave, drops are said. Returns VMs still running. */
size_t interval_done(struct interval_core *c);

void interval_core_free(struct interval_core *c);

#endif /* KT_INTERVAL_H */
