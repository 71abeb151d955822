// SPDX-License-Identifier: GPL-2.0
/* The live table's text: figures of a record in the columns' units, laid out to a width. */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "table.h"

/* Names in plain lines get at least this many columns, so that most lines align. */
#define PLAIN_NAME_COLS	20
#define NS_PER_S	1e9

const struct table_col_info table_cols[TABLE_NR_COLS] = {
	[TABLE_NAME] = { "NAME", "", "the VM's name (vCPU lines: vcpu N)", 'n', 12, true, true },
	[TABLE_PID] = { "PID", "", "the VMM's PID (vCPU lines: the thread's)", 'i', 7, false,
			true },
	[TABLE_CPU] = { "CPU", "%", "on-CPU time of its threads, % of one CPU", 'c', 6, false,
			false },
	[TABLE_GUEST] = { "GUEST", "%", "of which in guest mode", 'g', 6, false, false },
	[TABLE_HYP] = { "HYP", "%", "of which hypervisor (QEMU, KVM, I/O)", 'h', 6, false, false },
	[TABLE_DELAY] = { "DELAY", "ms/s", "run delay: waiting for a CPU", 'd', 7, false, false },
	[TABLE_EXITS] = { "EXITS", "/s", "VM exits", 'e', 7, false, false },
	[TABLE_REASON] = { "TOP EXIT", "", "the most frequent exit reason", 'o', 15, true, true },
	[TABLE_READ] = { "READ", "MB/s", "disk bytes read", 'r', 6, false, false },
	[TABLE_WRITE] = { "WRITE", "MB/s", "disk bytes written", 'w', 6, false, false },
	[TABLE_RX] = { "RX", "Mbit/s", "network, host to guest", 'x', 6, false, false },
	[TABLE_TX] = { "TX", "Mbit/s", "network, guest to host", 't', 6, false, false },
	[TABLE_RSS] = { "RSS", "", "the VMM's resident memory", 's', 6, false, false },
	[TABLE_POWER] = { "WATTS", "", "the VM's share of the host's power", 'a', 6, false,
			  false },
};

const enum table_col table_drop_order[TABLE_NR_DROPS] = {
	TABLE_PID, TABLE_RSS, TABLE_TX, TABLE_RX, TABLE_WRITE, TABLE_READ,
	TABLE_REASON, TABLE_POWER, TABLE_EXITS, TABLE_DELAY, TABLE_HYP, TABLE_GUEST,
};

/* Decimals of each numeric column; the RSS has its own format. */
static const int col_prec[TABLE_NR_COLS] = {
	[TABLE_CPU] = 1, [TABLE_GUEST] = 1, [TABLE_HYP] = 1, [TABLE_DELAY] = 1,
	[TABLE_READ] = 1, [TABLE_WRITE] = 1, [TABLE_RX] = 1, [TABLE_TX] = 1, [TABLE_POWER] = 1,
};

int table_col_of_key(int key)
{
	int i;

	for (i = 0; i < TABLE_NR_COLS; i++)
		if (table_cols[i].key == key)
			return i;
	return -1;
}

static unsigned int bit(enum table_col col)
{
	return 1u << col;
}

static void set(struct table_row *row, enum table_col col, bool measured, double v)
{
	if (measured && isfinite(v))
		row->v[col] = v;
	else
		row->unmeasured |= bit(col);
}

void table_row_vm(struct table_row *row, const struct vm_record *r, double interval_s)
{
	bool ok = interval_s > 0 && isfinite(interval_s);
	bool exits = r->guest_valid && !r->exits_unmeasured;
	double ns = interval_s * NS_PER_S;

	memset(row, 0, sizeof(*row));
	row->vcpu = -1;
	memcpy(row->name, r->vm, sizeof(row->name));
	row->name[sizeof(row->name) - 1] = '\0';
	row->v[TABLE_PID] = r->pid;
	set(row, TABLE_CPU, ok, r->cpu_total_ns / ns * 100);
	set(row, TABLE_GUEST, ok && r->guest_valid, r->cpu_guest_ns / ns * 100);
	set(row, TABLE_HYP, ok, r->cpu_hyp_ns / ns * 100);
	set(row, TABLE_DELAY, ok, r->run_delay_ns / 1e6 / interval_s);
	set(row, TABLE_EXITS, ok && exits, r->exits / interval_s);
	/* No exit in the interval: no reason, which is not a reason unmeasured. */
	if (!exits)
		row->unmeasured |= bit(TABLE_REASON);
	else if (!r->top_exit_reason[0])
		row->blank |= bit(TABLE_REASON);
	memcpy(row->reason, r->top_exit_reason, sizeof(row->reason));
	row->reason[sizeof(row->reason) - 1] = '\0';
	set(row, TABLE_READ, ok && r->disk_valid, r->disk_read_bytes / 1e6 / interval_s);
	set(row, TABLE_WRITE, ok && r->disk_valid, r->disk_write_bytes / 1e6 / interval_s);
	set(row, TABLE_RX, ok && r->net_valid, r->net_rx_bytes * 8 / 1e6 / interval_s);
	set(row, TABLE_TX, ok && r->net_valid, r->net_tx_bytes * 8 / 1e6 / interval_s);
	set(row, TABLE_RSS, r->mem_rss_bytes >= 0, r->mem_rss_bytes);
	set(row, TABLE_POWER, r->vm_power_w >= 0, r->vm_power_w);
}

void table_row_vcpu(struct table_row *row, const struct vm_record *vm,
		    const struct vcpu_record *v, double interval_s)
{
	bool ok = interval_s > 0 && isfinite(interval_s);
	double ns = interval_s * NS_PER_S;

	memset(row, 0, sizeof(*row));
	row->is_vcpu = true;
	row->vcpu = v->vcpu;
	/* Indented under the VM's line; the thread's name where KVM's index is not known. */
	if (v->vcpu >= 0)
		snprintf(row->name, sizeof(row->name), "  vcpu %d", v->vcpu);
	else
		snprintf(row->name, sizeof(row->name), "  %.*s", (int)sizeof(v->thread), v->thread);
	row->v[TABLE_PID] = v->tid;
	set(row, TABLE_CPU, ok, v->cpu_total_ns / ns * 100);
	set(row, TABLE_GUEST, ok && vm->guest_valid, v->cpu_guest_ns / ns * 100);
	set(row, TABLE_DELAY, ok, v->run_delay_ns / 1e6 / interval_s);
	set(row, TABLE_EXITS, ok && vm->guest_valid && !v->exits_unmeasured, v->exits / interval_s);
	/* The record has these per VM only. */
	row->blank = bit(TABLE_HYP) | bit(TABLE_REASON) | bit(TABLE_READ) | bit(TABLE_WRITE) |
		     bit(TABLE_RX) | bit(TABLE_TX) | bit(TABLE_RSS) | bit(TABLE_POWER);
}

int table_text(char *buf, size_t size, const char *s, size_t len, int cols, bool pad, bool ascii)
{
	const unsigned char *p = (const unsigned char *)s;
	const unsigned char *end = p + strnlen(s, len);
	size_t n = 0;
	int used = 0;

	if (!size)
		return 0;
	while (p < end && used < cols) {
		unsigned char c = *p;
		int clen = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 :
			   (c & 0xf8) == 0xf0 ? 4 : 0;
		uint32_t cp = clen == 1 ? c : clen == 2 ? c & 0x1f : clen == 3 ? c & 0x0f :
			      c & 0x07;
		bool ok = clen > 0 && end - p >= clen;
		int i;

		for (i = 1; ok && i < clen; i++) {
			if ((p[i] & 0xc0) != 0x80)
				ok = false;
			else
				cp = cp << 6 | (p[i] & 0x3f);
		}
		/* Bad UTF-8: one '?' per byte, and resync on the next one. */
		if (!ok)
			clen = 1;
		/* C0, DEL and C1 controls (some terminals act on C1 as escapes) are not shown. */
		if (ok && (cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || (ascii && cp >= 0x80)))
			ok = false;
		if (n + (ok ? clen : 1) + 1 > size)
			break;
		if (used == cols - 1 && p + clen < end) {
			buf[n++] = '~';
			used++;
			break;
		}
		if (ok) {
			memcpy(buf + n, p, clen);
			n += clen;
		} else {
			buf[n++] = '?';
		}
		used++;
		p += clen;
	}
	while (pad && used < cols && n + 1 < size) {
		buf[n++] = ' ';
		used++;
	}
	buf[n] = '\0';
	return used;
}

int table_num(char *buf, size_t size, double v, int prec, int width)
{
	static const char suffix[] = "\0kMGT";
	double scaled = v;
	size_t s;
	int p, n;

	for (s = 0; s < sizeof(suffix) - 1; s++, scaled /= 1000) {
		for (p = prec; p >= 0; p--) {
			n = snprintf(buf, size, "%.*f%.1s", p, scaled, &suffix[s]);
			if (n <= width)
				return n;
		}
	}
	snprintf(buf, size, "*");
	return -1;
}

int table_bytes(char *buf, size_t size, double bytes, int width)
{
	static const char unit[] = "KMGTP";
	double v = bytes / 1024;
	size_t u = 0;
	int n;

	while (v >= 1000 && u < sizeof(unit) - 2) {
		v /= 1024;
		u++;
	}
	n = snprintf(buf, size, "%.*f%c", v < 100 ? 1 : 0, v, unit[u]);
	if (n > width)
		n = snprintf(buf, size, "%.0f%c", v, unit[u]);
	return n;
}

void table_cell(char *buf, size_t size, const struct table_row *row, enum table_col col,
		int width, bool ascii)
{
	const struct table_col_info *c = &table_cols[col];
	char num[64];
	const char *s = num;

	if (row->blank & bit(col)) {
		s = "";
	} else if (row->unmeasured & bit(col)) {
		s = "-";
	} else if (col == TABLE_NAME || col == TABLE_REASON) {
		if (col == TABLE_NAME)
			table_text(buf, size, row->name, sizeof(row->name), width, true, ascii);
		else
			table_text(buf, size, row->reason, sizeof(row->reason), width, true, ascii);
		return;
	} else if (col == TABLE_RSS) {
		table_bytes(num, sizeof(num), row->v[col], width);
	} else {
		table_num(num, sizeof(num), row->v[col], col_prec[col], width);
	}
	snprintf(buf, size, c->text ? "%-*s" : "%*s", width, s);
}

void table_fit(struct table_layout *l, int cols, int name_cols)
{
	int least = table_cols[TABLE_NAME].width, total = least, x = 0, i;
	bool shown[TABLE_NR_COLS];

	for (i = 0; i < TABLE_NR_COLS; i++) {
		shown[i] = true;
		if (i != TABLE_NAME)
			total += 1 + table_cols[i].width;
	}
	for (i = 0; i < TABLE_NR_DROPS && total > cols; i++) {
		shown[table_drop_order[i]] = false;
		total -= 1 + table_cols[table_drop_order[i]].width;
	}
	/* The name takes what the others leave, up to its longest; at least one column. */
	if (name_cols < least)
		name_cols = least;
	total -= least;
	if (name_cols > cols - total)
		name_cols = cols - total;
	if (name_cols < 1)
		name_cols = 1;
	for (i = 0; i < TABLE_NR_COLS; i++) {
		l->width[i] = shown[i] ? i == TABLE_NAME ? name_cols : table_cols[i].width : 0;
		l->x[i] = x;
		if (shown[i])
			x += l->width[i] + 1;
	}
	l->total = x - 1;
}

/* Appends s to buf (of size, holding *n bytes). */
static void append(char *buf, size_t size, size_t *n, const char *s)
{
	size_t len = strlen(s);

	if (*n + len + 1 > size)
		len = size - *n - 1;
	memcpy(buf + *n, s, len);
	*n += len;
	buf[*n] = '\0';
}

/* Lines end at their last figure: a pipe gets no trailing blanks. */
static void trim(char *buf, size_t n)
{
	while (n && buf[n - 1] == ' ')
		n--;
	buf[n] = '\0';
}

void table_line(char *buf, size_t size, const struct table_layout *l, const struct table_row *row,
		bool ascii)
{
	char cell[4 * KT_NAME_MAX + 1];
	size_t n = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; i < TABLE_NR_COLS; i++) {
		if (!l->width[i])
			continue;
		if (n)
			append(buf, size, &n, " ");
		table_cell(cell, sizeof(cell), row, i, l->width[i], ascii);
		append(buf, size, &n, cell);
	}
	trim(buf, n);
}

void table_header(char *buf, size_t size, const struct table_layout *l, bool units)
{
	char cell[KT_NAME_MAX + 1];
	size_t n = 0;
	int i, w;

	buf[0] = '\0';
	for (i = 0; i < TABLE_NR_COLS; i++) {
		w = l->width[i];
		if (!w)
			continue;
		if (n)
			append(buf, size, &n, " ");
		/* Over their cells: names to the left, figures to the right. */
		snprintf(cell, sizeof(cell), table_cols[i].text ? "%-*.*s" : "%*.*s", w, w,
			 units ? table_cols[i].unit : table_cols[i].header);
		append(buf, size, &n, cell);
	}
	trim(buf, n);
}

int table_compare(const struct table_row *a, const struct table_row *b, enum table_col col,
		  bool reverse)
{
	bool ma = (a->unmeasured | a->blank) & bit(col);
	bool mb = (b->unmeasured | b->blank) & bit(col);
	int c = 0;

	if (ma != mb)
		return ma ? 1 : -1;
	if (!ma) {
		if (col == TABLE_NAME)
			c = strcmp(a->name, b->name);
		else if (col == TABLE_REASON)
			c = strcmp(a->reason, b->reason);
		else
			c = (a->v[col] > b->v[col]) - (a->v[col] < b->v[col]);
		if (!table_cols[col].ascending)
			c = -c;
		if (reverse)
			c = -c;
	}
	if (!c)
		c = strcmp(a->name, b->name);
	if (!c)
		c = (a->v[TABLE_PID] > b->v[TABLE_PID]) - (a->v[TABLE_PID] < b->v[TABLE_PID]);
	return c;
}

struct sort_by {
	enum table_col col;
	bool reverse;
};

static int compare_rows(const void *a, const void *b, void *arg)
{
	const struct sort_by *by = arg;

	return table_compare(*(const struct table_row *const *)a,
			     *(const struct table_row *const *)b, by->col, by->reverse);
}

void table_sort(const struct table_row **rows, size_t n, enum table_col col, bool reverse)
{
	struct sort_by by = { col, reverse };

	qsort_r(rows, n, sizeof(*rows), compare_rows, &by);
}

void table_host(struct table_host *h, const struct interval_record *rec)
{
	const struct host_record *host = &rec->host;
	double ns = rec->iv.interval_s * NS_PER_S;
	bool ok = rec->iv.interval_s > 0 && isfinite(rec->iv.interval_s);
	uint64_t cpu = 0, known = 0, guest = 0;
	size_t i;

	for (i = 0; i < rec->nr_vms; i++) {
		cpu += rec->vms[i].cpu_total_ns;
		if (rec->vms[i].guest_valid) {
			known += rec->vms[i].cpu_total_ns;
			guest += rec->vms[i].cpu_guest_ns;
		}
	}
	h->power_w = host->valid && host->host_power_w >= 0 ? host->host_power_w : NAN;
	h->idle_w = host->valid && host->idle_w >= 0 ? host->idle_w : NAN;
	h->busy_pct = host->cpu_capacity_ns ? 100.0 * host->cpu_busy_ns / host->cpu_capacity_ns
					    : NAN;
	h->vm_cpu_pct = ok ? cpu / ns * 100 : NAN;
	h->guest_pct = known ? 100.0 * guest / known : NAN;
	h->vm_power_w = host->valid ? host->vms_w : NAN;
	h->tracer_cpu_pct = ok ? host->tracer_cpu_ns / ns * 100 : NAN;
	h->tracer_bpf_pct = ok && host->tracer_bpf_ns >= 0 ? host->tracer_bpf_ns / ns * 100 : NAN;
	h->sampler_hz = host->sampler_hz;
	h->sampler_pct = ok && host->sampler_cost_ns >= 0 ? host->sampler_cost_ns / ns * 100 : NAN;
}

/* "label figure unit", or "label -". */
static void part(char *buf, size_t size, const char *label, double v, int prec, const char *unit)
{
	if (isfinite(v))
		snprintf(buf, size, "%s %.*f%s", label, prec, v, unit);
	else
		snprintf(buf, size, "%s -", label);
}

void table_host_line(char *buf, size_t size, const struct table_host *h, int cols)
{
	/* Left to right; keep[] lists them from the most needed. */
	enum { POWER, IDLE, BUSY, VM_CPU, GUEST, VM_POWER, TRACER_CPU, TRACER_BPF, SAMPLER,
	       NR_PARTS };
	static const int keep[NR_PARTS] = { POWER, VM_CPU, GUEST, TRACER_BPF, VM_POWER, TRACER_CPU,
					    IDLE, BUSY, SAMPLER };
	char text[NR_PARTS][48], label[32];
	bool shown[NR_PARTS] = {};
	int used = 0, i, len;
	size_t n = 0;

	part(text[POWER], sizeof(text[0]), "host power", h->power_w, 1, " W");
	part(text[IDLE], sizeof(text[0]), "idle", h->idle_w, 1, " W");
	part(text[BUSY], sizeof(text[0]), "host CPU", h->busy_pct, 1, "%");
	part(text[VM_CPU], sizeof(text[0]), "VMs CPU", h->vm_cpu_pct, 1, "%");
	part(text[GUEST], sizeof(text[0]), "guest share", h->guest_pct, 1, "%");
	part(text[VM_POWER], sizeof(text[0]), "VMs power", h->vm_power_w, 1, " W");
	part(text[TRACER_CPU], sizeof(text[0]), "tracer CPU", h->tracer_cpu_pct, 2, "%");
	part(text[TRACER_BPF], sizeof(text[0]), "tracer BPF", h->tracer_bpf_pct, 2, "%");
	if (h->sampler_hz) {
		snprintf(label, sizeof(label), "sampler %u Hz", h->sampler_hz);
		part(text[SAMPLER], sizeof(text[0]), label, h->sampler_pct, 2, "%");
	} else {
		snprintf(text[SAMPLER], sizeof(text[0]), "sampler off");
	}
	for (i = 0; i < NR_PARTS; i++) {
		len = strlen(text[keep[i]]) + (used ? 2 : 0);
		if (used + len > cols)
			break;
		shown[keep[i]] = true;
		used += len;
	}
	buf[0] = '\0';
	for (i = 0; i < NR_PARTS; i++) {
		if (!shown[i])
			continue;
		if (n)
			append(buf, size, &n, "  ");
		append(buf, size, &n, text[i]);
	}
	/* Too narrow for even the first part: cut it. */
	if (!n && cols > 0)
		snprintf(buf, size, "%.*s", cols, text[POWER]);
}

void table_print(FILE *out, const struct interval_record *rec, bool header)
{
	int tcols = (int)strnlen(rec->iv.timestamp, sizeof(rec->iv.timestamp));
	char line[8 * KT_NAME_MAX], name[4 * KT_NAME_MAX + 1];
	struct table_layout l;
	struct table_row row;
	size_t i;
	int cols;

	if (header) {
		table_fit(&l, INT_MAX, PLAIN_NAME_COLS);
		table_header(line, sizeof(line), &l, false);
		fprintf(out, "%-*s %s\n", tcols, "TIME", line);
		table_header(line, sizeof(line), &l, true);
		fprintf(out, "%-*s %s\n", tcols, "", line);
	}
	for (i = 0; i < rec->nr_vms; i++) {
		table_row_vm(&row, &rec->vms[i], rec->iv.interval_s);
		cols = table_text(name, sizeof(name), row.name, sizeof(row.name), KT_NAME_MAX,
				  false, false);
		table_fit(&l, INT_MAX, cols > PLAIN_NAME_COLS ? cols : PLAIN_NAME_COLS);
		table_line(line, sizeof(line), &l, &row, false);
		fprintf(out, "%.*s %s\n", tcols, rec->iv.timestamp, line);
	}
	fflush(out);
}
