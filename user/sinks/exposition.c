// SPDX-License-Identifier: GPL-2.0
/*
 * The exposition's text (exposition.h): the Prometheus text format 0.0.4 and OpenMetrics 1.0.0,
 * which differ in the family's name and type lines, UNIT and the closing "# EOF".
 *
 * Seconds are written from integer ns as exact decimals ("12.000000345"): float sums would
 * drift from the CSV's integers after a few days of 1 s intervals.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exposition.h"

#define NS_PER_S	((uint64_t)1000000000)

void expo_put(struct expo *o, const char *s, size_t n)
{
	size_t cap;
	char *p;

	if (o->failed)
		return;
	if (o->len + n + 1 > o->cap) {
		cap = o->cap ? o->cap : 16384;
		while (o->len + n + 1 > cap)
			cap *= 2;
		p = realloc(o->buf, cap);
		if (!p) {
			o->failed = true;
			return;
		}
		o->buf = p;
		o->cap = cap;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

void expo_puts(struct expo *o, const char *s)
{
	expo_put(o, s, strlen(s));
}

static void __attribute__((format(printf, 2, 3))) expo_printf(struct expo *o, const char *fmt,
								 ...)
{
	char small[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		o->failed = true;
		return;
	}
	/* Only fixed text and numbers come through here: 256 is plenty. */
	expo_put(o, small, (size_t)n < sizeof(small) ? (size_t)n : sizeof(small) - 1);
}

/*
 * Length of the valid UTF-8 sequence at s (at most n bytes), or 0. Prometheus rejects a whole
 * scrape over one label value that is not UTF-8, and a VM name may be any bytes.
 */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t len, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, UTF-16 surrogates and code points past U+10FFFF are not UTF-8. */
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

void expo_label_value(struct expo *o, const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strnlen(s, max), i = 0, len;

	while (i < n) {
		if (p[i] == '\\' || p[i] == '"') {
			expo_put(o, "\\", 1);
			expo_put(o, s + i, 1);
			i++;
			continue;
		}
		if (p[i] == '\n') {
			expo_puts(o, "\\n");
			i++;
			continue;
		}
		len = utf8_len(p + i, n - i);
		if (!len) {
			expo_puts(o, "\xef\xbf\xbd");
			i++;
			continue;
		}
		expo_put(o, s + i, len);
		i += len;
	}
}

static const char *suffix(const struct family *f)
{
	return f->type == METRIC_COUNTER ? "_total" : f->type == METRIC_INFO ? "_info" : "";
}

/* "# WHAT NAME TEXT": piece by piece, for a help text has no bound. */
static void header_line(struct expo *o, const char *what, const char *name, const char *sfx,
			const char *text)
{
	expo_puts(o, what);
	expo_puts(o, name);
	expo_puts(o, sfx);
	expo_puts(o, " ");
	expo_puts(o, text);
	expo_puts(o, "\n");
}

static void header(struct expo *o, const struct family *f)
{
	static const char *const om_type[] = { "counter", "gauge", "info" };

	if (o->om) {
		header_line(o, "# HELP ", f->name, "", f->help);
		header_line(o, "# TYPE ", f->name, "", om_type[f->type]);
		if (f->unit)
			header_line(o, "# UNIT ", f->name, "", f->unit);
		return;
	}
	/* The 0.0.4 format names the family after its samples and has no info type. */
	header_line(o, "# HELP ", f->name, suffix(f), f->help);
	header_line(o, "# TYPE ", f->name, suffix(f),
		    f->type == METRIC_COUNTER ? "counter" : "gauge");
}

void expo_sample(struct expo *o, const struct family *f, const char *labels, const char *k1,
		 const char *v1, const char *k2, const char *v2, const char *value)
{
	bool any = labels && *labels;

	if (o->fam != f) {
		header(o, f);
		o->fam = f;
	}
	expo_puts(o, f->name);
	expo_puts(o, suffix(f));
	if (any || k1)
		expo_puts(o, "{");
	if (any)
		expo_puts(o, labels);
	if (k1) {
		expo_printf(o, "%s%s=\"", any ? "," : "", k1);
		expo_label_value(o, v1, SIZE_MAX);
		expo_puts(o, "\"");
	}
	if (k2) {
		expo_printf(o, ",%s=\"", k2);
		expo_label_value(o, v2, SIZE_MAX);
		expo_puts(o, "\"");
	}
	if (any || k1)
		expo_puts(o, "}");
	expo_printf(o, " %s\n", value);
}

const char *expo_ns(struct num *n, uint64_t ns)
{
	snprintf(n->s, sizeof(n->s), "%" PRIu64 ".%09" PRIu64, ns / NS_PER_S, ns % NS_PER_S);
	return n->s;
}

const char *expo_u64(struct num *n, uint64_t v)
{
	snprintf(n->s, sizeof(n->s), "%" PRIu64, v);
	return n->s;
}

/* Numbers assume the C locale, as the CSV does: no setlocale() in this program. */
const char *expo_double(struct num *n, int decimals, double v)
{
	snprintf(n->s, sizeof(n->s), "%.*f", decimals, v);
	return n->s;
}

void expo_end(struct expo *o)
{
	if (o->om)
		expo_puts(o, "# EOF\n");
}
