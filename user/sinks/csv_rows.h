/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The rows of the CSV files: their headers and their text, made from the table of fields
 * (fields.c), with RFC 4180 quoting. No file I/O: csv.h writes them to files.
 */
#ifndef KT_CSV_ROWS_H
#define KT_CSV_ROWS_H

#include <stddef.h>
#include <stdio.h>

#include "attribution.h"
#include "fields.h"
#include "record.h"

/* A file's header row, its columns in order (later issues only append columns). */
const char *csv_header(enum field_file file);

#define CSV_VM_HEADER		csv_header(FIELDS_VM)	/* then the extra counters' columns */
#define CSV_VCPU_HEADER		csv_header(FIELDS_VCPU)
#define CSV_EXITS_HEADER	csv_header(FIELDS_EXITS)
#define CSV_HOST_HEADER		csv_header(FIELDS_HOST)

/* Room for any header: CSV_VM_HEADER with KT_MAX_COUNTERS extra counter columns. */
#define CSV_VM_HEADER_MAX	2048

/* Writes one field with RFC 4180 quoting (quoted when it holds , " CR or LF). */
void csv_field(FILE *f, const char *s);

/*
 * The VM file's header for the run that made r: CSV_VM_HEADER, then a column for each perf
 * counter that has none of its own in the table.
 */
const char *csv_vm_header(const struct vm_record *r, char *buf, size_t len);

/* Formats the rows of one record. */
void csv_format_vm_row(FILE *f, const struct interval_info *iv, const struct vm_record *r);
void csv_format_vcpu_row(FILE *f, const struct interval_info *iv, const struct vm_record *r,
			 const struct vcpu_record *v);
void csv_format_exit_row(FILE *f, const struct interval_info *iv, const struct vm_record *r,
			 const struct exit_record *e);
void csv_format_host_row(FILE *f, const struct interval_info *iv, const struct host_record *h);

#endif /* KT_CSV_ROWS_H */
