/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The running totals the records carry for sinks that export counters (struct vm_totals,
 * struct host_totals): each figure summed over the intervals it was measured in, the VMs' per
 * identity (name and UUID), so that a restarted or daemonized VM's processes continue one
 * series.
 */
#ifndef KT_ACCOUNT_TOTALS_H
#define KT_ACCOUNT_TOTALS_H

#include <stddef.h>

#include "attribution.h"
#include "record.h"

struct account_totals;

struct account_totals *account_totals_new(void);

/*
 * Adds this interval's records to their identities' totals and writes the totals back into
 * every record (all of one identity's records in an interval carry the same). An identity
 * without a record in an interval is forgotten: a later one starts again from 0, as Prometheus
 * reads a counter reset. Returns 0, or -1 when out of memory: the totals are then part-added,
 * not to be published.
 */
int account_totals_update(struct account_totals *t, struct vm_record *recs, size_t n);

/* Adds this interval's host figures to the host's totals and writes them into h. */
void account_totals_host(struct account_totals *t, struct host_record *h);

void account_totals_free(struct account_totals *t);

#endif /* KT_ACCOUNT_TOTALS_H */
