/* SPDX-License-Identifier: GPL-2.0 */
/* Host energy from RAPL counters through powercap (Intel, and AMD Zen with the same driver). */
#ifndef KT_RAPL_H
#define KT_RAPL_H

#include <stdbool.h>
#include <stddef.h>

struct rapl;

/* Finds the zones under SYSFS_ROOT/class/powercap that together cover the host without
 * overlap: the packages ("package-N", "package-N-die-M") and the dram zones. core and uncore
 * are inside their package and psys contains it, so they are left out. Takes a baseline so the
 * first rapl_sample() has a previous value. NULL with a one-line reason in why when there is no
 * such zone or a counter cannot be read (root-only since CVE-2020-8694). */
struct rapl *rapl_open(const char *sysfs_root, char *why, size_t len);

/* Joules used since the previous call (or rapl_open), counter wraparound included, and the
 * seconds between the two reads (CLOCK_MONOTONIC). false when a counter could not be read, said
 * once per outage; the next call then starts from a new baseline and is false too. */
bool rapl_sample(struct rapl *r, double *joules, double *span_s);

/* "2 packages and 1 dram zone", for messages. */
const char *rapl_describe(const struct rapl *r);

void rapl_close(struct rapl *r);

#endif /* KT_RAPL_H */
