/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The live table's text: each VM's (and vCPU's) figures in the columns' units, a cell's text,
 * which columns fit a terminal's width, the order of the lines, the host line, and the plain
 * lines written when stdout is no terminal. Pure functions of the interval record: the terminal
 * itself is live.c's.
 */
#ifndef KT_TABLE_H
#define KT_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "interval.h"
#include "record.h"

/* The columns, left to right. */
enum table_col {
	TABLE_NAME,
	TABLE_PID,
	TABLE_CPU,
	TABLE_GUEST,
	TABLE_HYP,
	TABLE_DELAY,
	TABLE_EXITS,
	TABLE_REASON,
	TABLE_READ,
	TABLE_WRITE,
	TABLE_RX,
	TABLE_TX,
	TABLE_RSS,
	TABLE_POWER,
	TABLE_NR_COLS
};

struct table_col_info {
	const char *header;	/* its letter key in it, but for none */
	const char *unit;	/* the second header line */
	const char *help;	/* what it shows, for the help screen */
	char key;		/* the key that sorts by it */
	int width;		/* of its cells; the name's: the least it narrows to */
	bool text;		/* left aligned */
	bool ascending;		/* sorted lowest first unless reversed (names, PIDs) */
};

extern const struct table_col_info table_cols[TABLE_NR_COLS];

/* Columns in the order they leave a narrow terminal; the name and CPU always stay. */
#define TABLE_NR_DROPS	(TABLE_NR_COLS - 2)
extern const enum table_col table_drop_order[TABLE_NR_DROPS];

/* The column a key sorts by, or -1. */
int table_col_of_key(int key);

/* One line's figures, in the columns' units (% of one CPU, ms/s, /s, MB/s, Mbit/s, bytes, W). */
struct table_row {
	char name[KT_NAME_MAX];
	char reason[KT_REASON_MAX];
	double v[TABLE_NR_COLS];	/* the numeric columns' figures */
	unsigned int unmeasured;	/* bit per column: not measured, shown "-" */
	unsigned int blank;		/* bit per column: none on this line (a vCPU's RSS) */
	int vcpu;			/* a vCPU line's index (-1 unknown); -1 on a VM line */
	bool is_vcpu;
	size_t nr_vcpus;		/* a VM line: how many vCPU lines follow it in a frame */
};

/* A VM's line over an interval of interval_s seconds (rates are "-" when it is not > 0). */
void table_row_vm(struct table_row *row, const struct vm_record *r, double interval_s);

/* A vCPU's line under its VM's: CPU, guest, run delay and exits; TID in the PID column. */
void table_row_vcpu(struct table_row *row, const struct vm_record *vm,
		    const struct vcpu_record *v, double interval_s);

/*
 * Writes s into buf (size bytes) as at most cols columns, one per code point (a cut text ends in
 * '~'), padded with spaces to cols unless pad is false. Control characters and bad UTF-8 become '?'
 * (names come from guests' configuration and must not drive the terminal), and so does any
 * non-ASCII character when ascii is set (a terminal that is not UTF-8). Returns the columns used.
 */
int table_text(char *buf, size_t size, const char *s, size_t len, int cols, bool pad, bool ascii);

/*
 * v in at most width characters: with prec decimals, else fewer, else in k, M, G or T (1000s).
 * Returns the length, or -1 with "*" when nothing fits.
 */
int table_num(char *buf, size_t size, double v, int prec, int width);

/* Bytes in binary multiples (K, M, G, T: 1024s), one decimal below 100, in width characters. */
int table_bytes(char *buf, size_t size, double bytes, int width);

/* A cell's text, aligned in width columns: the figure, "-" when not measured, blank when none. */
void table_cell(char *buf, size_t size, const struct table_row *row, enum table_col col,
		int width, bool ascii);

/* Where the columns go on a line of a given width. */
struct table_layout {
	int width[TABLE_NR_COLS];	/* 0: the column does not fit */
	int x[TABLE_NR_COLS];		/* where it starts */
	int total;			/* the line's length */
};

/*
 * The columns that fit in cols characters, the name wanting name_cols (its longest, at least the
 * name column's width): the name narrows to that width first, then columns drop in
 * table_drop_order; a terminal too narrow even for the name and CPU gets them both, cut.
 */
void table_fit(struct table_layout *l, int cols, int name_cols);

/* One line of cells as the layout places them (the header's two lines: table_header()). */
void table_line(char *buf, size_t size, const struct table_layout *l, const struct table_row *row,
		bool ascii);

/* The header's names (units false) or units line. */
void table_header(char *buf, size_t size, const struct table_layout *l, bool units);

/*
 * Orders two lines by a column: figures highest first, names and PIDs lowest first, unless
 * reverse; lines without the figure last either way; ties by name then PID, so that lines keep
 * their places from one interval to the next.
 */
int table_compare(const struct table_row *a, const struct table_row *b, enum table_col col,
		  bool reverse);

void table_sort(const struct table_row **rows, size_t n, enum table_col col, bool reverse);

/* The host line's figures; NAN where not known. */
struct table_host {
	double power_w;		/* the host's */
	double idle_w;
	double busy_pct;	/* the host's busy CPU time, % of its capacity */
	double vm_cpu_pct;	/* the VMs' CPU time summed, % of one CPU */
	double guest_pct;	/* guest share of the CPU time of VMs whose guest time is known */
	double vm_power_w;	/* the VMs' shares summed */
	double tracer_cpu_pct;	/* the tracer's process's CPU time, % of one CPU */
	double tracer_bpf_pct;	/* its BPF programs' run time (kernel.bpf_stats_enabled) */
	unsigned int sampler_hz;	/* 0: off */
	double sampler_pct;	/* what the sampler took from the CPUs, % of one CPU */
};

void table_host(struct table_host *h, const struct interval_record *rec);

/* The host line in at most cols characters: its least needed parts drop first. */
void table_host_line(char *buf, size_t size, const struct table_host *h, int cols);

/*
 * Plain lines for a pipe or a file, no terminal codes: the header first when header is set, then
 * one line per VM with the interval's end before it; names are never cut.
 */
void table_print(FILE *out, const struct interval_record *rec, bool header);

#endif /* KT_TABLE_H */
