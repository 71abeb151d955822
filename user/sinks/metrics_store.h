/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The Prometheus sink's series: what the interval records published so far add up to, per VM
 * (vm and uuid), vCPU, exit reason and for the host, rendered for each scrape from the table
 * of fields (fields.h: which family each figure feeds, and when it counts as measured).
 *
 * Counters (_total) are the records' own running totals (struct vm_totals, struct host_totals),
 * never sums kept here. Gauges are the latest publish's. A figure that is not measured is left
 * out, never exported as 0: a counter has a sample once its figure was measured.
 */
#ifndef KT_METRICS_STORE_H
#define KT_METRICS_STORE_H

#include <stddef.h>

#include "attribution.h"
#include "exposition.h"
#include "metrics.h"
#include "record.h"

struct metrics_store;

struct metrics_store *metrics_store_new(void);
void metrics_store_free(struct metrics_store *s);

/* metrics_publish() (metrics.h), for the store: it takes its own lock. */
void metrics_store_publish(struct metrics_store *s, const struct interval_info *iv,
			   const struct vm_record *r, size_t n, const struct host_record *h,
			   const struct tracer_health *health);

/*
 * Writes the whole exposition into o, under the store's lock, so that a scrape sees one publish
 * entirely; then (unless o ran out of memory) drops the ended VMs, which have been seen once.
 */
void metrics_store_render(struct metrics_store *s, struct expo *o);

#endif /* KT_METRICS_STORE_H */
