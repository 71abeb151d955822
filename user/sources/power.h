/* SPDX-License-Identifier: GPL-2.0 */
/* Host power over each interval, from an Edimax smart plug, RAPL, or nothing. */
#ifndef KT_POWER_H
#define KT_POWER_H

#include <stdbool.h>
#include <stddef.h>

struct power_reading {
	bool valid;		/* false: this interval's power is unknown (empty CSV field) */
	double watts;		/* average host power over the interval */
	/* Energy over the interval: watts * interval for a plug, the counter delta for RAPL. */
	double energy_j;
};

struct power_source;

/* spec: "edimax:HOST[:PORT]", "rapl", "none", or NULL for the default: RAPL where readable, else
 * none (said once with kt_info). sysfs_root: "/sys" normally, a fake tree in tests. interval_s:
 * the sampling interval (the plug's request time limit is derived from it).
 *
 * Returns NULL with a one-line reason in why when the spec is unusable: an unknown kind, a bad
 * HOST[:PORT], a credentials file that is readable or writable by group or others (or missing
 * when KVMTRACE_PLUG_CONFIG names it). "rapl" asked for but absent or unreadable is not fatal:
 * it is said once with kt_warn and the source reports invalid readings, so that a run on a host
 * without RAPL still produces its other columns, as with a plug that stops answering. */
struct power_source *power_open(const char *spec, const char *sysfs_root, double interval_s,
				char *why, size_t len);

/* Called once at the end of each interval (never blocks on the network): the power over the
 * interval of length interval_s that just ended. */
void power_sample(struct power_source *p, double interval_s, struct power_reading *out);

/* "edimax", "rapl" or "none": the CSV's power_source column. */
const char *power_source_name(const struct power_source *p);

void power_close(struct power_source *p);

#endif /* KT_POWER_H */
