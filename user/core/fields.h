/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The table of figures: every column of the CSV files and every Prometheus family, declared
 * once. A field is one column: its unit, the structure and offset its value is read from, when
 * it counts as measured (else its CSV field is empty and it has no sample), and the family
 * and label it feeds. The CSV headers and rows (csv_rows.c) and the exposition
 * (metrics_store.c) are made from it; tests/unit/test_fields.c checks it against the README.
 *
 * A new per-VM figure: its member in struct vm_record (and in struct vm_totals for a
 * counter), one row in fields.c where its column goes, and for a new metric one family.
 */
#ifndef KT_FIELDS_H
#define KT_FIELDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attribution.h"
#include "record.h"

/* The files of a run, each a list of fields in column order. */
enum field_file { FIELDS_VM, FIELDS_VCPU, FIELDS_EXITS, FIELDS_HOST, NR_FIELD_FILES };

/* The structure of a row that a field's offset is into. */
enum field_src { SRC_INTERVAL, SRC_VM, SRC_VCPU, SRC_EXIT, SRC_HOST };

enum field_type {
	FT_U64,
	FT_U32,
	FT_INT,
	FT_I64,
	FT_DOUBLE,	/* written with .decimals digits after the point */
	FT_TEXT,	/* a char array of .size bytes, not trusted to hold a NUL */
	FT_NAME,	/* text that .name() makes of the row */
	FT_COUNTER,	/* the .share of the perf counter named .counter */
};

/* When a field is measured. */
enum field_when {
	WHEN_ALWAYS,
	WHEN_KNOWN,		/* its value is >= 0 (-1: unknown) */
	WHEN_GUEST,		/* vm_record.guest_valid */
	WHEN_EXITS,		/* guest_valid, not vm_record.exits_unmeasured */
	WHEN_VCPU_EXITS,	/* guest_valid, not vcpu_record.exits_unmeasured */
	WHEN_EXIT_TIME,		/* guest_valid, not vm_record.exit_handling_unmeasured */
	WHEN_HYP_SPLIT,		/* hyp_split_valid */
	WHEN_NET,		/* net_valid */
	WHEN_DISK,		/* disk_valid */
	WHEN_DISK_LAT,		/* disk_valid, and a request completed (>= 0) */
	WHEN_HYP_COMPONENTS,	/* hyp_components_valid */
	WHEN_EXT_COMPONENTS,	/* ext_components_valid */
	WHEN_COUNTER,		/* the perf counter was counted (counter_record.valid) */
	WHEN_COUNTER_GUEST,	/* ... and the tracepoints bound guest mode (guest_source) */
	WHEN_POWER,		/* host_record.valid, and the value is >= 0 */
};

enum counter_share { SHARE_GUEST, SHARE_HOST, SHARE_BOTH };

/* A column per hypervisor component (or per one with an ext_ column), from components.c. */
enum field_each { EACH_NONE, EACH_COMPONENT, EACH_EXT_COMPONENT };

enum metric_type { METRIC_COUNTER, METRIC_GAUGE, METRIC_INFO };

/* What a family's samples are of: which labels come before a field's own. */
enum family_scope {
	SCOPE_TRACER,	/* the tracer itself: drops, programs, the publishes, its cost */
	SCOPE_VM,	/* vm, uuid */
	SCOPE_PERF,	/* vm, uuid, event, mode: the record's perf counters, fields or not */
	SCOPE_VCPU,	/* vm, uuid, vcpu */
	SCOPE_EXIT,	/* vm, uuid, reason */
	SCOPE_HOST,	/* source */
};

/* The families, in the order of the exposition. */
enum family_id {
	FAM_NONE,
	FAM_BUILD,
	FAM_INTERVALS,
	FAM_LAST,
	FAM_INTERVAL,
	FAM_LAG,
	FAM_DROPS,
	FAM_POWER_FAILURES,
	FAM_PROG_RUNS,
	FAM_PROG_TIME,
	FAM_TRACER_CPU,
	FAM_TRACER_BPF,
	FAM_SAMPLER_HZ,
	FAM_SAMPLER_COST,
	FAM_CPU,
	FAM_GUEST,
	FAM_HYP,
	FAM_HYP_COMP,
	FAM_EXT,
	FAM_RUN_DELAY,
	FAM_EXIT_HANDLING_CPU,
	FAM_EXIT_WAIT,
	FAM_EXITS,
	FAM_EXIT_TIME,
	FAM_NET_RX_BYTES,
	FAM_NET_TX_BYTES,
	FAM_NET_RX_PACKETS,
	FAM_NET_TX_PACKETS,
	FAM_DISK_READ_BYTES,
	FAM_DISK_WRITE_BYTES,
	FAM_DISK_READ_OPS,
	FAM_DISK_WRITE_OPS,
	FAM_DISK_LAT,
	FAM_RSS,
	FAM_GUEST_MEM,
	FAM_VCPUS,
	FAM_VM_POWER,
	FAM_PERF,
	FAM_PERF_CLOCK,
	FAM_VCPU_CPU,
	FAM_VCPU_GUEST,
	FAM_VCPU_RUN_DELAY,
	FAM_VCPU_EXITS,
	FAM_HOST_POWER,
	FAM_HOST_IDLE,
	FAM_HOST_REST,
	FAM_HOST_ENERGY,
	NR_FAMILIES,
};

struct family {
	const char *name;	/* the OpenMetrics family; samples add _total (counters), _info */
	enum metric_type type;
	enum family_scope scope;
	const char *unit;	/* OpenMetrics UNIT, a suffix of name; NULL: none */
	const char *labels;	/* all of its samples' labels, as the README lists them */
	const char *help;	/* no '\\' or '"': both formats take it as it is */
};

extern const struct family families[NR_FAMILIES];

/* The structures one row is made of; those its file does not use may be NULL. */
struct field_row {
	const struct interval_info *iv;
	const struct vm_record *vm;
	const struct vcpu_record *vcpu;
	const struct exit_record *exit;
	const struct host_record *host;
};

struct field {
	const char *column;	/* the CSV column; components.c's for a component's */
	const char *unit;	/* as the README's tables give it; "" for names */
	enum field_type type;
	enum field_src src;
	size_t off;		/* of the value in its structure */
	size_t size;		/* FT_TEXT: of the array */
	enum field_when when;
	int decimals;		/* FT_DOUBLE */
	enum field_each each;	/* one of the columns that fields.c declares in one row */
	enum kt_component component;	/* with each: the component of this column */
	const char *counter;	/* FT_COUNTER: the perf event, as perf names it */
	enum counter_share share;
	/* FT_NAME: the text, in buf or static. */
	const char *(*name)(const struct field_row *row, char *buf, size_t len);
	enum family_id family;	/* FAM_NONE: a column only */
	const char *label;	/* a label of its own in the family ("mode"), or NULL */
	const char *value;	/* the label's value; NULL: the component's name */
	/* A counter's running total, of the field's type (a uint64_t for FT_I64: the sum of its
	 * known values): its offset in the totals of its source (struct vm_totals, vcpu_totals,
	 * exit_totals or host_totals). */
	size_t total;
	bool mean;		/* a gauge that is a mean: two processes' do not add up */
};

struct field_list {
	const struct field *field;
	size_t n;
};

/* A file's fields, one a column (the table's rows for every component expanded). */
const struct field_list *fields_of(enum field_file file);

/* The value of the field's own label: .value, or the component's name. */
const char *field_label_value(const struct field *f);

bool field_measured(const struct field *f, const struct field_row *row);

/* A text field's value (FT_TEXT, FT_NAME), NUL-terminated, in buf or static. */
const char *field_text(const struct field *f, const struct field_row *row, char *buf,
		       size_t len);

/* A numeric field's value (FT_U64 ... FT_I64, FT_COUNTER), or a double one's. */
uint64_t field_u64(const struct field *f, const struct field_row *row);
double field_double(const struct field *f, const struct field_row *row);

/* The address of a counter field's running total in row's totals: a double for FT_DOUBLE. */
const void *field_total(const struct field *f, const struct field_row *row);

/* The record's counter of that perf name, if it was counted; else NULL. */
const struct counter_record *record_counter(const struct vm_record *r, const char *name);

/* Whether a field gives the perf counter a column of its own (else it gets one at the end). */
bool counter_has_column(const char *name);

#endif /* KT_FIELDS_H */
