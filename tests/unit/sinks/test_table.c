// SPDX-License-Identifier: GPL-2.0
/*
 * The live table's text: each cell's format, "-" for figures not measured, which columns fit a
 * width and in what order they drop, the order of lines, the host line and the plain lines.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "table.h"

static const struct interval_info iv2 = {
	.timestamp = "2026-11-22T16:47:36.123Z",
	.epoch_s = 1795366056.123,
	.interval_s = 2.0,
};

/* A busy VM with every figure, over a 2 s interval. */
static void web(struct vm_record *r)
{
	memset(r, 0, sizeof(*r));
	strcpy(r->vm, "web-01");
	r->pid = 4242;
	r->vcpus = 4;
	r->cpu_total_ns = 3000000000ull;	/* 150 % of one CPU over 2 s */
	r->cpu_guest_ns = 2400000000ull;	/* 120 % */
	r->cpu_hyp_ns = 600000000ull;		/* 30 % */
	r->exits = 24690;			/* 12345 /s */
	r->run_delay_ns = 5000000;		/* 2.5 ms/s */
	strcpy(r->top_exit_reason, "EPT_VIOLATION");
	r->guest_valid = true;
	r->guest_source = GUEST_SOURCE_TRACEPOINT;
	r->disk_valid = true;
	r->disk_read_bytes = 4000000;		/* 2 MB/s */
	r->disk_write_bytes = 1000000;		/* 0.5 MB/s */
	r->net_valid = true;
	r->net_rx_bytes = 25000000;		/* 100 Mbit/s */
	r->net_tx_bytes = 2500000;		/* 10 Mbit/s */
	r->mem_rss_bytes = 1536ll << 20;	/* 1.5 GiB */
	r->vm_power_w = 42.3;
	r->host_power_w = 120;
}

/* A VM never seen in guest mode, without taps, disk accounting, RSS or power. */
static void db(struct vm_record *r)
{
	memset(r, 0, sizeof(*r));
	strcpy(r->vm, "db-very-long-name-exceeding-twenty");
	r->pid = 77;
	r->vcpus = -1;
	r->cpu_total_ns = 1000000000ull;	/* 50 % */
	r->cpu_hyp_ns = 1000000000ull;
	r->exits = 99;				/* not shown: guest_valid is false */
	strcpy(r->top_exit_reason, "HLT");	/* likewise */
	r->mem_rss_bytes = -1;
	r->vm_power_w = -1;
	r->host_power_w = -1;
}

static const char *cell(const struct table_row *row, enum table_col col)
{
	static char buf[1024];

	table_cell(buf, sizeof(buf), row, col, table_cols[col].width, false);
	return buf;
}

static void test_num(void **state)
{
	char buf[32];

	(void)state;
	assert_int_equal(table_num(buf, sizeof(buf), 150, 1, 6), 5);
	assert_string_equal(buf, "150.0");
	/* Fewer decimals before a multiple. */
	table_num(buf, sizeof(buf), 12800, 1, 6);
	assert_string_equal(buf, "12800");
	table_num(buf, sizeof(buf), 12345678, 0, 7);
	assert_string_equal(buf, "12346k");
	table_num(buf, sizeof(buf), 1234567.8, 1, 6);
	assert_string_equal(buf, "1235k");
	table_num(buf, sizeof(buf), 4.2e9, 0, 4);
	assert_string_equal(buf, "4G");
	table_num(buf, sizeof(buf), 0.04, 1, 6);
	assert_string_equal(buf, "0.0");
	assert_int_equal(table_num(buf, sizeof(buf), 1e30, 1, 3), -1);
	assert_string_equal(buf, "*");

	table_bytes(buf, sizeof(buf), 1536.0 * (1 << 20), 6);
	assert_string_equal(buf, "1.5G");
	table_bytes(buf, sizeof(buf), 512.0 * (1 << 20), 6);
	assert_string_equal(buf, "512M");
	table_bytes(buf, sizeof(buf), 86.25 * (1 << 20), 6);
	assert_string_equal(buf, "86.2M");
	/* 1000 MiB and more: in GiB, never four digits. */
	table_bytes(buf, sizeof(buf), 1000.0 * (1 << 20), 6);
	assert_string_equal(buf, "1.0G");
	table_bytes(buf, sizeof(buf), 300 * 1024, 6);
	assert_string_equal(buf, "300K");
}

static void test_cells(void **state)
{
	struct table_row row;
	struct vm_record r;
	int i;

	(void)state;
	web(&r);
	table_row_vm(&row, &r, iv2.interval_s);
	assert_string_equal(cell(&row, TABLE_NAME), "web-01      ");
	assert_string_equal(cell(&row, TABLE_PID), "   4242");
	assert_string_equal(cell(&row, TABLE_CPU), " 150.0");
	assert_string_equal(cell(&row, TABLE_GUEST), " 120.0");
	assert_string_equal(cell(&row, TABLE_HYP), "  30.0");
	assert_string_equal(cell(&row, TABLE_DELAY), "    2.5");
	assert_string_equal(cell(&row, TABLE_EXITS), "  12345");
	assert_string_equal(cell(&row, TABLE_REASON), "EPT_VIOLATION  ");
	assert_string_equal(cell(&row, TABLE_READ), "   2.0");
	assert_string_equal(cell(&row, TABLE_WRITE), "   0.5");
	assert_string_equal(cell(&row, TABLE_RX), " 100.0");
	assert_string_equal(cell(&row, TABLE_TX), "  10.0");
	assert_string_equal(cell(&row, TABLE_RSS), "  1.5G");
	assert_string_equal(cell(&row, TABLE_POWER), "  42.3");

	/* Not measured: "-", never 0. The name is cut with '~'. */
	db(&r);
	table_row_vm(&row, &r, iv2.interval_s);
	assert_string_equal(cell(&row, TABLE_NAME), "db-very-lon~");
	assert_string_equal(cell(&row, TABLE_CPU), "  50.0");
	assert_string_equal(cell(&row, TABLE_HYP), "  50.0");
	for (i = 0; i < TABLE_NR_COLS; i++) {
		bool unmeasured = i == TABLE_GUEST || i == TABLE_EXITS || i == TABLE_REASON ||
				  i == TABLE_READ || i == TABLE_WRITE || i == TABLE_RX ||
				  i == TABLE_TX || i == TABLE_RSS || i == TABLE_POWER;

		assert_int_equal(!!(row.unmeasured & 1u << i), unmeasured);
		if (unmeasured)
			assert_non_null(strstr(cell(&row, i), "-"));
	}
	assert_string_equal(cell(&row, TABLE_REASON), "-              ");

	/* Guest mode seen but exits not counted (no KVM stats fd): exits and reason "-". */
	web(&r);
	r.exits_unmeasured = true;
	r.top_exit_reason[0] = '\0';
	table_row_vm(&row, &r, iv2.interval_s);
	assert_string_equal(cell(&row, TABLE_GUEST), " 120.0");
	assert_string_equal(cell(&row, TABLE_EXITS), "      -");
	assert_string_equal(cell(&row, TABLE_REASON), "-              ");

	/* Exits counted, none in the interval: no reason, which is not "not measured". */
	web(&r);
	r.exits = 0;
	r.top_exit_reason[0] = '\0';
	table_row_vm(&row, &r, iv2.interval_s);
	assert_string_equal(cell(&row, TABLE_EXITS), "      0");
	assert_string_equal(cell(&row, TABLE_REASON), "               ");

	/* No interval length: every rate "-"; RSS, power and the reason do not need one. */
	web(&r);
	table_row_vm(&row, &r, 0);
	assert_string_equal(cell(&row, TABLE_CPU), "     -");
	assert_string_equal(cell(&row, TABLE_DELAY), "      -");
	assert_string_equal(cell(&row, TABLE_READ), "     -");
	assert_string_equal(cell(&row, TABLE_RSS), "  1.5G");
	assert_string_equal(cell(&row, TABLE_POWER), "  42.3");
	assert_string_equal(cell(&row, TABLE_REASON), "EPT_VIOLATION  ");
}

static void test_vcpu_cells(void **state)
{
	struct vcpu_record v = { .tid = 4250, .vcpu = 3, .cpu_total_ns = 1000000000ull,
				 .cpu_guest_ns = 900000000ull, .exits = 200,
				 .run_delay_ns = 20000000 };
	struct table_row row;
	struct vm_record r;

	(void)state;
	web(&r);
	table_row_vcpu(&row, &r, &v, iv2.interval_s);
	assert_true(row.is_vcpu);
	assert_int_equal(row.vcpu, 3);
	assert_string_equal(cell(&row, TABLE_NAME), "  vcpu 3    ");
	assert_string_equal(cell(&row, TABLE_PID), "   4250");
	assert_string_equal(cell(&row, TABLE_CPU), "  50.0");
	assert_string_equal(cell(&row, TABLE_GUEST), "  45.0");
	assert_string_equal(cell(&row, TABLE_DELAY), "   10.0");
	assert_string_equal(cell(&row, TABLE_EXITS), "    100");
	/* Figures the record has per VM only: blank, not "-". */
	assert_string_equal(cell(&row, TABLE_HYP), "      ");
	assert_string_equal(cell(&row, TABLE_RSS), "      ");
	assert_string_equal(cell(&row, TABLE_REASON), "               ");

	/* Index unknown: the thread's name; exits of the VM only (kernel source). */
	v.vcpu = -1;
	strcpy(v.thread, "CPU 0/TCG");
	v.exits_unmeasured = true;
	r.guest_valid = false;
	table_row_vcpu(&row, &r, &v, iv2.interval_s);
	assert_string_equal(cell(&row, TABLE_NAME), "  CPU 0/TCG ");
	assert_string_equal(cell(&row, TABLE_GUEST), "     -");
	assert_string_equal(cell(&row, TABLE_EXITS), "      -");
}

/* Names come from guest configuration: no terminal escapes, UTF-8 kept and cut whole. */
static void test_text_sanitized(void **state)
{
	char buf[256], name[128];
	int i;

	(void)state;
	assert_int_equal(table_text(buf, sizeof(buf), "evil\033[2J\nname\x7f", 64, 20, true, false),
			 20);
	assert_string_equal(buf, "evil?[2J?name?      ");

	/* 2-byte characters count as one column each; a cut never splits one. */
	name[0] = '\0';
	for (i = 0; i < 25; i++)
		strcat(name, "\xc3\xa9");
	assert_int_equal(table_text(buf, sizeof(buf), name, sizeof(name), 20, true, false), 20);
	for (i = 0; i < 19; i++)
		assert_memory_equal(buf + 2 * i, "\xc3\xa9", 2);
	assert_string_equal(buf + 38, "~");
	/* A terminal that is not UTF-8 gets '?' for them. */
	table_text(buf, sizeof(buf), "caf\xc3\xa9", 16, 8, false, true);
	assert_string_equal(buf, "caf?");

	/* Bad UTF-8 and C1 controls become '?'; unpadded text takes only its columns. */
	assert_int_equal(table_text(buf, sizeof(buf), "a\xff" "b\xc2\x9b" "c", 16, 20, false,
				    false), 5);
	assert_string_equal(buf, "a?b?c");

	/* Exactly the width: no cut mark. */
	table_text(buf, sizeof(buf), "abcdef", 16, 6, true, false);
	assert_string_equal(buf, "abcdef");
	table_text(buf, sizeof(buf), "abcdefg", 16, 6, true, false);
	assert_string_equal(buf, "abcde~");
}

static int shown(const struct table_layout *l)
{
	int i, n = 0;

	for (i = 0; i < TABLE_NR_COLS; i++)
		n += l->width[i] > 0;
	return n;
}

static void test_fit_wide(void **state)
{
	static const int x[TABLE_NR_COLS] = { 0, 13, 21, 28, 35, 42, 50, 58, 74, 81, 88, 95, 102,
					      109 };
	struct table_layout l;
	int i;

	(void)state;
	table_fit(&l, 160, 6);
	assert_int_equal(shown(&l), TABLE_NR_COLS);
	assert_int_equal(l.total, 115);
	for (i = 0; i < TABLE_NR_COLS; i++)
		assert_int_equal(l.x[i], x[i]);
	/* The name grows into what is left, up to its longest. */
	table_fit(&l, 160, 30);
	assert_int_equal(l.width[TABLE_NAME], 30);
	assert_int_equal(l.total, 133);
	table_fit(&l, 120, 30);
	assert_int_equal(shown(&l), TABLE_NR_COLS);
	assert_int_equal(l.width[TABLE_NAME], 17);
	assert_int_equal(l.total, 120);
}

static void test_fit_drops_in_order(void **state)
{
	struct table_layout l;
	int cols, i, dropped, prev = 0;

	(void)state;
	/* An 80-column terminal: PID, RSS, TX, RX and WRITE go. */
	table_fit(&l, 80, 30);
	assert_int_equal(l.width[TABLE_PID], 0);
	assert_int_equal(l.width[TABLE_RSS], 0);
	assert_int_equal(l.width[TABLE_TX], 0);
	assert_int_equal(l.width[TABLE_RX], 0);
	assert_int_equal(l.width[TABLE_WRITE], 0);
	assert_int_equal(l.width[TABLE_READ], 6);
	assert_int_equal(l.width[TABLE_POWER], 6);
	assert_int_equal(l.width[TABLE_NAME], 13);
	assert_int_equal(l.total, 80);

	/* Narrower and narrower: the dropped ones are always the first of the stated order. */
	for (cols = 200; cols > 0; cols--) {
		table_fit(&l, cols, 20);
		dropped = TABLE_NR_COLS - shown(&l);
		assert_true(dropped >= prev);
		for (i = 0; i < TABLE_NR_DROPS; i++)
			assert_int_equal(l.width[table_drop_order[i]] == 0, i < dropped);
		assert_true(l.width[TABLE_NAME] > 0 && l.width[TABLE_CPU] > 0);
		/* The least line is the name's least width and CPU's. */
		if (cols >= table_cols[TABLE_NAME].width + 1 + table_cols[TABLE_CPU].width)
			assert_true(l.total <= cols);
		prev = dropped;
	}
	/* Too narrow for even those two: both, the name cut short. */
	table_fit(&l, 10, 20);
	assert_int_equal(shown(&l), 2);
	assert_int_equal(l.width[TABLE_NAME], 3);
	assert_int_equal(l.total, 10);
}

static void test_drop_order_complete(void **state)
{
	bool seen[TABLE_NR_COLS] = {};
	int i;

	(void)state;
	for (i = 0; i < TABLE_NR_DROPS; i++) {
		assert_false(seen[table_drop_order[i]]);
		seen[table_drop_order[i]] = true;
	}
	assert_false(seen[TABLE_NAME]);
	assert_false(seen[TABLE_CPU]);
}

/* Every column has a key of its own, in its header, and none is a key of the view's. */
static void test_keys(void **state)
{
	int i;

	(void)state;
	for (i = 0; i < TABLE_NR_COLS; i++) {
		assert_int_equal(table_col_of_key(table_cols[i].key), i);
		assert_non_null(strchr(table_cols[i].header, table_cols[i].key - 'a' + 'A'));
		assert_true((int)strlen(table_cols[i].header) <= table_cols[i].width);
		assert_true((int)strlen(table_cols[i].unit) <= table_cols[i].width);
	}
	assert_int_equal(table_col_of_key('q'), -1);
	assert_int_equal(table_col_of_key('p'), -1);
	assert_int_equal(table_col_of_key(' '), -1);
	assert_int_equal(table_col_of_key('v'), -1);
	assert_int_equal(table_col_of_key('?'), -1);
}

static void test_lines(void **state)
{
	struct table_layout l;
	struct table_row row;
	struct vm_record r;
	char buf[1024];

	(void)state;
	table_fit(&l, 160, 6);
	table_header(buf, sizeof(buf), &l, false);
	assert_string_equal(buf, "NAME             PID    CPU  GUEST    HYP   DELAY   EXITS "
			    "TOP EXIT          READ  WRITE     RX     TX    RSS  WATTS");
	table_header(buf, sizeof(buf), &l, true);
	assert_string_equal(buf, "                          %      %      %    ms/s      /s       "
			    "            MB/s   MB/s Mbit/s Mbit/s");
	web(&r);
	table_row_vm(&row, &r, iv2.interval_s);
	table_line(buf, sizeof(buf), &l, &row, false);
	assert_string_equal(buf, "web-01          4242  150.0  120.0   30.0     2.5   12345 "
			    "EPT_VIOLATION      2.0    0.5  100.0   10.0   1.5G   42.3");

	table_fit(&l, 80, 6);
	table_header(buf, sizeof(buf), &l, false);
	assert_string_equal(buf, "NAME            CPU  GUEST    HYP   DELAY   EXITS TOP EXIT       "
			    "   READ  WATTS");
	table_line(buf, sizeof(buf), &l, &row, false);
	assert_string_equal(buf, "web-01        150.0  120.0   30.0     2.5   12345 EPT_VIOLATION  "
			    "    2.0   42.3");
	assert_true(strlen(buf) <= 80);
}

static void sorted(struct table_row *rows, size_t n, enum table_col col, bool reverse,
		   const char *want)
{
	const struct table_row *order[8];
	char got[256] = "";
	size_t i;

	for (i = 0; i < n; i++)
		order[i] = &rows[i];
	table_sort(order, n, col, reverse);
	for (i = 0; i < n; i++) {
		strcat(got, order[i]->name);
		strcat(got, i + 1 < n ? " " : "");
	}
	assert_string_equal(got, want);
}

static void test_sort(void **state)
{
	struct table_row rows[4];
	struct vm_record r;

	(void)state;
	web(&r);
	strcpy(r.vm, "charlie");
	table_row_vm(&rows[0], &r, 2);
	strcpy(r.vm, "alpha");
	r.pid = 9;
	r.cpu_guest_ns = 100;
	r.net_rx_bytes = 1;
	table_row_vm(&rows[1], &r, 2);
	strcpy(r.vm, "bravo");
	r.cpu_total_ns = 1;
	r.net_valid = false;
	table_row_vm(&rows[2], &r, 2);
	db(&r);
	strcpy(r.vm, "delta");
	table_row_vm(&rows[3], &r, 2);

	/* Highest first; ties by name, so lines keep their places. */
	sorted(rows, 4, TABLE_CPU, false, "alpha charlie delta bravo");
	sorted(rows, 4, TABLE_CPU, true, "bravo delta alpha charlie");
	/* Names and PIDs lowest first. */
	sorted(rows, 4, TABLE_NAME, false, "alpha bravo charlie delta");
	sorted(rows, 4, TABLE_NAME, true, "delta charlie bravo alpha");
	sorted(rows, 4, TABLE_PID, false, "alpha bravo delta charlie");
	/* Without the figure ("-"): last, whichever the direction. */
	sorted(rows, 4, TABLE_GUEST, false, "charlie alpha bravo delta");
	sorted(rows, 4, TABLE_GUEST, true, "alpha bravo charlie delta");
	sorted(rows, 4, TABLE_RX, false, "charlie alpha bravo delta");
	sorted(rows, 4, TABLE_RX, true, "alpha charlie bravo delta");
	sorted(rows, 4, TABLE_REASON, false, "alpha bravo charlie delta");
}

static void test_host_line(void **state)
{
	struct vm_record vms[2];
	struct interval_record rec = { .iv = iv2, .vms = vms, .nr_vms = 2 };
	struct table_host h;
	char buf[256];

	(void)state;
	web(&vms[0]);
	db(&vms[1]);
	rec.host = (struct host_record){ .valid = true, .source = "rapl", .host_power_w = 123.4,
					 .idle_w = 80, .vms_w = 45, .rest_w = -1.6,
					 .cpu_busy_ns = 5000000000ull,
					 .cpu_capacity_ns = 16000000000ull,
					 .tracer_cpu_ns = 6000000, .tracer_bpf_ns = 16200000,
					 .sampler_hz = 416, .sampler_cost_ns = 9600000 };
	table_host(&h, &rec);
	table_host_line(buf, sizeof(buf), &h, 200);
	/* VMs: 150% + 50%; guest share: of the VM whose guest time is known only. */
	assert_string_equal(buf, "host power 123.4 W  idle 80.0 W  host CPU 31.2%  VMs CPU 200.0%  "
			    "guest share 80.0%  VMs power 45.0 W  tracer CPU 0.30%  "
			    "tracer BPF 0.81%  sampler 416 Hz 0.48%");
	/*
	 * Narrow: the sampler, the host's CPU and idle power go first, then the tracer's
	 * process, the VMs' power and the tracer's programs.
	 */
	table_host_line(buf, sizeof(buf), &h, 150);
	assert_string_equal(buf, "host power 123.4 W  idle 80.0 W  host CPU 31.2%  VMs CPU 200.0%  "
			    "guest share 80.0%  VMs power 45.0 W  tracer CPU 0.30%  "
			    "tracer BPF 0.81%");
	table_host_line(buf, sizeof(buf), &h, 107);
	assert_string_equal(buf, "host power 123.4 W  VMs CPU 200.0%  guest share 80.0%  "
			    "VMs power 45.0 W  tracer CPU 0.30%  tracer BPF 0.81%");
	table_host_line(buf, sizeof(buf), &h, 106);
	assert_string_equal(buf, "host power 123.4 W  VMs CPU 200.0%  guest share 80.0%  "
			    "VMs power 45.0 W  tracer BPF 0.81%");
	table_host_line(buf, sizeof(buf), &h, 88);
	assert_string_equal(buf, "host power 123.4 W  VMs CPU 200.0%  guest share 80.0%  "
			    "tracer BPF 0.81%");
	table_host_line(buf, sizeof(buf), &h, 60);
	assert_string_equal(buf, "host power 123.4 W  VMs CPU 200.0%  guest share 80.0%");
	table_host_line(buf, sizeof(buf), &h, 10);
	assert_string_equal(buf, "host power");

	/* Power unknown, bpf_stats off, no VM with guest time, the sampler's cost unknown: "-". */
	rec.host.valid = false;
	rec.host.tracer_bpf_ns = -1;
	rec.host.sampler_cost_ns = -1;
	rec.nr_vms = 1;
	rec.vms = &vms[1];
	table_host(&h, &rec);
	table_host_line(buf, sizeof(buf), &h, 200);
	assert_string_equal(buf, "host power -  idle -  host CPU 31.2%  VMs CPU 50.0%  "
			    "guest share -  VMs power -  tracer CPU 0.30%  tracer BPF -  "
			    "sampler 416 Hz -");
	rec.host.sampler_hz = 0;
	table_host(&h, &rec);
	table_host_line(buf, sizeof(buf), &h, 200);
	assert_non_null(strstr(buf, "tracer BPF -  sampler off"));
}

static char *plain(const struct interval_record *rec, bool header)
{
	/* Static: GCC takes a local whose address went to open_memstream() for a dangling one. */
	static char *buf;
	static size_t len;
	FILE *f;

	buf = NULL;
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	table_print(f, rec, header);
	fclose(f);
	return buf;
}

static void test_plain(void **state)
{
	struct vm_record vms[2];
	struct interval_record rec = { .iv = iv2, .vms = vms, .nr_vms = 2 };
	char *out;

	(void)state;
	web(&vms[0]);
	db(&vms[1]);
	strcpy(vms[1].vm, "db\033[31m-very-long-name-exceeding-twenty");
	out = plain(&rec, true);
	assert_string_equal(out,
		"TIME                     NAME                     PID    CPU  GUEST    HYP   DELAY"
		"   EXITS TOP EXIT          READ  WRITE     RX     TX    RSS  WATTS\n"
		"                                                           %      %      %    ms/s"
		"      /s                   MB/s   MB/s Mbit/s Mbit/s\n"
		"2026-11-22T16:47:36.123Z web-01                  4242  150.0  120.0   30.0     2.5"
		"   12345 EPT_VIOLATION      2.0    0.5  100.0   10.0   1.5G   42.3\n"
		"2026-11-22T16:47:36.123Z db?[31m-very-long-name-exceeding-twenty      77   50.0"
		"      -   50.0     0.0       - -                    -      -      -      -      -"
		"      -\n");
	assert_null(strchr(out, '\033'));
	free(out);

	/* Later intervals: the lines only; no VM: nothing. */
	out = plain(&rec, false);
	assert_true(strncmp(out, "2026-11-22T16:47:36.123Z web-01 ", 32) == 0);
	free(out);
	rec.nr_vms = 0;
	out = plain(&rec, false);
	assert_string_equal(out, "");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_num),
		cmocka_unit_test(test_cells),
		cmocka_unit_test(test_vcpu_cells),
		cmocka_unit_test(test_text_sanitized),
		cmocka_unit_test(test_fit_wide),
		cmocka_unit_test(test_fit_drops_in_order),
		cmocka_unit_test(test_drop_order_complete),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_sort),
		cmocka_unit_test(test_host_line),
		cmocka_unit_test(test_plain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
