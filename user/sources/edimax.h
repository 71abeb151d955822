/* SPDX-License-Identifier: GPL-2.0 */
/* Edimax SP-2101W smart plug: host watts polled over HTTP in a thread of its own, so that the
 * tracer's sampling never waits for the plug. Its target and credentials: edimax_conf.h; the
 * query and the reading of the reply: edimax_proto.h. */
#ifndef KT_EDIMAX_H
#define KT_EDIMAX_H

#include <stdbool.h>
#include <stddef.h>

#include "edimax_conf.h"

/* The plug degrades when polled faster than this. */
#define EDIMAX_MIN_PERIOD_S	1.0
#define EDIMAX_MAX_LIMIT_S	5.0

struct edimax;

/* Starts polling http://HOST:PORT/smartplug.cgi in a thread: about once per interval, never
 * more often than once per min_period_s (EDIMAX_MIN_PERIOD_S outside tests), each request
 * bounded by min(0.8 * period, 5 s) in total. NULL with a reason in why when libcurl or the
 * thread cannot be set up; an unreachable plug is not an error here. */
struct edimax *edimax_open(const char *host, unsigned int port, const struct edimax_creds *c,
			   double interval_s, double min_period_s, char *why, size_t len);

/* At the end of an interval of interval_s: true with the watts of the newest reading completed
 * during it (since the previous call and within the last interval_s), false when none was.
 * Takes a lock the poller holds only to store a reading, and asks for the next interval's
 * poll. */
bool edimax_sample(struct edimax *e, double interval_s, double *watts);

/* Stops the poller, interrupting a request in flight, and frees everything. */
void edimax_close(struct edimax *e);

#endif /* KT_EDIMAX_H */
