/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The running totals a VM's records carry for sinks that export counters (struct vm_totals):
 * each figure summed over the intervals it was measured in, per VM identity (name and UUID),
 * so that a restarted or daemonized VM's processes continue one series.
 */
#ifndef KT_ACCOUNT_TOTALS_H
#define KT_ACCOUNT_TOTALS_H

#include <stddef.h>

#include "record.h"

struct account_totals;

struct account_totals *account_totals_new(void);

/*
 * Adds this interval's records to their identities' totals and writes the totals back into
 * every record (all of one identity's records in an interval carry the same). An identity
 * without a record in an interval is forgotten: a later one starts again from 0, as Prometheus
 * reads a counter reset. Returns 0, or -1 when out of memory (the records' totals stay invalid).
 */
int account_totals_update(struct account_totals *t, struct vm_record *recs, size_t n);

void account_totals_free(struct account_totals *t);

#endif /* KT_ACCOUNT_TOTALS_H */
