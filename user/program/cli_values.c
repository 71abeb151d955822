// SPDX-License-Identifier: GPL-2.0
/* The values options take, parsed strictly: what is not exactly a number is refused. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli_values.h"

int cli_decimal(const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	if (!*s || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int cli_seconds(const char *s, double max, double *out)
{
	double v;

	if (cli_decimal(s, 0, max, &v) || v == 0)
		return -1;
	*out = v;
	return 0;
}

int cli_digits(const char *s, long max, long *out)
{
	long v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (max - (*s - '0')) / 10)
			return -1;
		v = v * 10 + (*s - '0');
	}
	*out = v;
	return 0;
}

int cli_positive(const char *s, long max, long *out)
{
	long v;

	if (cli_digits(s, max, &v) || v <= 0)
		return -1;
	*out = v;
	return 0;
}

int cli_rotation(const char *s, struct csv_rotation *r)
{
	static const char units[] = "KMG";
	const char *unit;
	long n;
	char *end;
	int i;

	memset(r, 0, sizeof(*r));
	if (!strcmp(s, "daily")) {
		r->daily = true;
		return 0;
	}
	errno = 0;
	if (!isdigit((unsigned char)*s))
		return -1;
	n = strtol(s, &end, 10);
	if (errno || n <= 0)
		return -1;
	r->max_bytes = n;
	if (*end) {
		unit = strchr(units, toupper((unsigned char)*end));
		if (!unit || end[1])
			return -1;
		for (i = 0; i <= unit - units; i++) {
			if (r->max_bytes > LONG_MAX / 1024)
				return -1;
			r->max_bytes *= 1024;
		}
	}
	return r->max_bytes < 64 * 1024 ? -1 : 0;
}
