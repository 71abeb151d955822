// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edimax.h"
#include "log.h"
#include "power.h"
#include "rapl.h"

enum power_kind {
	POWER_NONE,
	POWER_RAPL,
	POWER_EDIMAX,
};

struct power_source {
	enum power_kind kind;
	struct rapl *rapl;	/* NULL for a RAPL asked for but not readable */
	struct edimax *plug;
};

static struct power_source *new_source(enum power_kind kind, char *why, size_t len)
{
	struct power_source *p = calloc(1, sizeof(*p));

	if (!p)
		snprintf(why, len, "out of memory");
	else
		p->kind = kind;
	return p;
}

static struct power_source *open_edimax(const char *target, double interval_s, char *why,
					size_t len)
{
	char host[256];
	struct edimax_creds creds;
	struct power_source *p;
	unsigned int port;

	if (edimax_parse_target(target, host, sizeof(host), &port, why, len))
		return NULL;
	/* Wipes what it read when it refuses. */
	if (edimax_load_creds(&creds, why, len))
		return NULL;
	p = new_source(POWER_EDIMAX, why, len);
	if (p) {
		p->plug = edimax_open(host, port, &creds, interval_s, EDIMAX_MIN_PERIOD_S, why,
				      len);
		if (!p->plug) {
			free(p);
			p = NULL;
		}
	}
	if (p && creds.factory)
		kt_info("power from the plug at %s:%u with the factory admin/1234: no credentials in "
			EDIMAX_ENV_USER "/" EDIMAX_ENV_PASSWORD " or " EDIMAX_CONFIG_DEFAULT, host,
			port);
	else if (p)
		kt_info("power from the plug at %s:%u, credentials from %s", host, port,
			creds.source);
	/* libcurl has its own copy now. */
	explicit_bzero(&creds, sizeof(creds));
	return p;
}

struct power_source *power_open(const char *spec, const char *sysfs_root, double interval_s,
				char *why, size_t len)
{
	struct power_source *p;
	struct rapl *r;
	char reason[256];

	if (!sysfs_root)
		sysfs_root = "/sys";
	if (!(interval_s > 0)) {
		snprintf(why, len, "power: the interval must be positive");
		return NULL;
	}
	if (!spec || !strcmp(spec, "rapl")) {
		r = rapl_open(sysfs_root, reason, sizeof(reason));
		if (!r && !spec) {
			kt_info("no power source: %s (power columns empty)", reason);
			return new_source(POWER_NONE, why, len);
		}
		/* Asked for by name: the run goes on, and says why its power is empty. */
		if (!r)
			kt_warn("power source rapl: %s (power columns empty)", reason);
		else
			kt_info("power from RAPL: %s", rapl_describe(r));
		p = new_source(POWER_RAPL, why, len);
		if (!p) {
			rapl_close(r);
			return NULL;
		}
		p->rapl = r;
		return p;
	}
	if (!strcmp(spec, "none"))
		return new_source(POWER_NONE, why, len);
	if (!strncmp(spec, "edimax:", 7))
		return open_edimax(spec + 7, interval_s, why, len);
	if (!strcmp(spec, "edimax")) {
		snprintf(why, len, "the edimax power source needs a host: edimax:HOST[:PORT]");
		return NULL;
	}
	snprintf(why, len,
		 "unknown power source '%.64s': expected edimax:HOST[:PORT], rapl or none", spec);
	return NULL;
}

void power_sample(struct power_source *p, double interval_s, struct power_reading *out)
{
	double v, span;

	out->valid = false;
	out->watts = 0;
	out->energy_j = 0;
	if (!p || !(interval_s > 0))
		return;
	switch (p->kind) {
	case POWER_RAPL:
		/* The counters' delta covers the time between two reads: interval_s in steady
		 * state (one read per interval, at the same point of it), longer for the first
		 * interval, whose baseline was read at power_open(), before the tracer's first
		 * interval began. Power is that delta over the time it covers, so that the first
		 * interval is right too; energy is that power over the interval, which is the
		 * delta itself when the two spans agree. */
		if (p->rapl && rapl_sample(p->rapl, &v, &span) && span > 0) {
			out->valid = true;
			out->watts = v / span;
			out->energy_j = out->watts * interval_s;
		}
		break;
	case POWER_EDIMAX:
		/* The plug gives an instantaneous reading: it stands for the whole interval. */
		if (edimax_sample(p->plug, interval_s, &v)) {
			out->valid = true;
			out->watts = v;
			out->energy_j = v * interval_s;
		}
		break;
	case POWER_NONE:
		break;
	}
}

const char *power_source_name(const struct power_source *p)
{
	if (!p)
		return "none";
	switch (p->kind) {
	case POWER_RAPL:
		return "rapl";
	case POWER_EDIMAX:
		return "edimax";
	case POWER_NONE:
		break;
	}
	return "none";
}

void power_close(struct power_source *p)
{
	if (!p)
		return;
	rapl_close(p->rapl);
	edimax_close(p->plug);
	free(p);
}
