// SPDX-License-Identifier: GPL-2.0
/* The live table: one line per VM, busiest first. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "table.h"

#define VM_COLS		20
#define REASON_COLS	20

/*
 * Writes s into out padded or cut to cols columns (one per code point; a cut name ends in
 * '~'). Control characters and bad UTF-8 become '?': names come from guests' configuration and
 * must not drive the terminal.
 */
static void put_text(FILE *out, const char *s, size_t size, int cols)
{
	const unsigned char *p = (const unsigned char *)s;
	const unsigned char *end = p + strnlen(s, size);
	char buf[4 * 64 + 1];
	size_t n = 0;
	int used = 0;

	while (p < end) {
		unsigned char c = *p;
		int len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 :
			  (c & 0xf8) == 0xf0 ? 4 : 0;
		uint32_t cp = len == 1 ? c : len == 2 ? c & 0x1f : len == 3 ? c & 0x0f : c & 0x07;
		bool ok = len > 0 && end - p >= len;
		int i;

		for (i = 1; ok && i < len; i++) {
			if ((p[i] & 0xc0) != 0x80)
				ok = false;
			else
				cp = cp << 6 | (p[i] & 0x3f);
		}
		/* Bad UTF-8: one '?' per byte, and resync on the next one. */
		if (!ok)
			len = 1;
		/* C0, DEL and C1 controls (some terminals act on C1 as escapes) are not shown. */
		if (ok && (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)))
			ok = false;

		if (used == cols - 1 && p + len < end) {
			buf[n++] = '~';
			used++;
			break;
		}
		if (ok) {
			memcpy(buf + n, p, len);
			n += len;
		} else {
			buf[n++] = '?';
		}
		used++;
		p += len;
		if (used == cols)
			break;
	}
	buf[n] = '\0';
	fprintf(out, "%s%*s", buf, cols - used, "");
}

/* A figure, or "-" when it was not measured. */
static void put_num(FILE *out, bool ok, int width, int prec, double v)
{
	if (ok)
		fprintf(out, " %*.*f", width, prec, v);
	else
		fprintf(out, " %*s", width, "-");
}

static int by_cpu_desc(const void *a, const void *b)
{
	const struct vm_record *x = *(const struct vm_record *const *)a;
	const struct vm_record *y = *(const struct vm_record *const *)b;
	int c;

	if (x->cpu_total_ns != y->cpu_total_ns)
		return x->cpu_total_ns < y->cpu_total_ns ? 1 : -1;
	/* Ties in a stable order, so rows do not swap places from one interval to the next. */
	c = strncmp(x->vm, y->vm, KT_NAME_MAX);
	if (c)
		return c;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

static void put_row(FILE *out, const struct vm_record *r, double interval_s)
{
	bool ok = interval_s > 0 && isfinite(interval_s);
	bool gv = r->guest_valid;
	double ns = ok ? interval_s * 1e9 : 1;

	put_text(out, r->vm, sizeof(r->vm), VM_COLS);
	fprintf(out, " %7d", r->pid);
	put_num(out, ok, 6, 1, r->cpu_total_ns / ns * 100);
	put_num(out, ok && gv, 6, 1, r->cpu_guest_ns / ns * 100);
	put_num(out, ok, 6, 1, r->cpu_hyp_ns / ns * 100);
	put_num(out, ok && gv && !r->exits_unmeasured, 9, 0, r->exits / (ok ? interval_s : 1));
	fputc(' ', out);
	if (gv && r->top_exit_reason[0])
		put_text(out, r->top_exit_reason, sizeof(r->top_exit_reason), REASON_COLS);
	else
		put_text(out, "-", 2, REASON_COLS);
	/* Run delay in ms per s: how long the VM's threads waited for a CPU. */
	put_num(out, ok, 12, 1, r->run_delay_ns / 1e6 / (ok ? interval_s : 1));
	fputc('\n', out);
}

void table_print(FILE *out, const struct interval_info *iv, const struct vm_record *recs,
		 size_t n, bool clear)
{
	const struct vm_record **order;
	size_t i;

	if (clear)
		fputs("\033[H\033[2J", out);
	fprintf(out, "kvmtrace-bpf  %.*s  %zu VM%s  interval %.3f s\n", (int)sizeof(iv->timestamp),
		iv->timestamp, n, n == 1 ? "" : "s", iv->interval_s);
	if (n == 0) {
		/* Say so, so that an operator sees the tracer is alive. */
		fputs("no VM is running: waiting for KVM guests to start\n", out);
		fflush(out);
		return;
	}

	fprintf(out, "%-*s %7s %6s %6s %6s %9s %-*s %12s\n", VM_COLS, "VM", "PID", "CPU%",
		"GUEST%", "HYP%", "EXITS/s", REASON_COLS, "TOP EXIT", "RUNDLY(ms/s)");

	order = malloc(n * sizeof(*order));
	if (order) {
		for (i = 0; i < n; i++)
			order[i] = &recs[i];
		qsort(order, n, sizeof(*order), by_cpu_desc);
	}
	/* Without memory for the order, the rows still print, unsorted. */
	for (i = 0; i < n; i++)
		put_row(out, order ? order[i] : &recs[i], iv->interval_s);
	free(order);
	fflush(out);
}
