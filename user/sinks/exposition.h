/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The text of a Prometheus exposition, written into memory: family headers, samples with
 * their labels escaped, and the values' text. What the samples are is metrics.c's.
 */
#ifndef KT_EXPOSITION_H
#define KT_EXPOSITION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fields.h"

struct expo {
	char *buf;		/* NUL-terminated; the caller frees it */
	size_t len, cap;
	bool failed;		/* out of memory: the scrape fails rather than lie */
	bool om;		/* OpenMetrics rather than the 0.0.4 text format */
	const struct family *fam;	/* whose header was written last */
};

void expo_put(struct expo *o, const char *s, size_t n);
void expo_puts(struct expo *o, const char *s);

/* A label value (at most max bytes of s) as both formats want it: \\, \" and \n escaped, and
 * bytes that are not UTF-8 as U+FFFD, since Prometheus rejects the whole scrape over one. */
void expo_label_value(struct expo *o, const char *s, size_t max);

/*
 * One sample of family f: labels (already escaped, may be empty) and up to two more label
 * pairs (k1 NULL: none) whose values are escaped here. A family's header comes before its
 * first sample, so a family without samples is left out; the samples of one family must come
 * together.
 */
void expo_sample(struct expo *o, const struct family *f, const char *labels, const char *k1,
		 const char *v1, const char *k2, const char *v2, const char *value);

/* The end of the exposition: "# EOF" in OpenMetrics. */
void expo_end(struct expo *o);

/* A value's text, in the caller's buffer. */
struct num {
	char s[48];
};

const char *expo_ns(struct num *n, uint64_t ns);	/* ns as exact seconds */
const char *expo_u64(struct num *n, uint64_t v);
const char *expo_double(struct num *n, int decimals, double v);

#endif /* KT_EXPOSITION_H */
