// SPDX-License-Identifier: GPL-2.0
/*
 * The CSV files' rows, column by column as the table of fields says: a figure that was not
 * measured is an empty field, never 0.
 *
 * Fields are quoted as RFC 4180 says, but lines end in "\n" rather than its CRLF: pandas, R,
 * Python's csv module and the usual spreadsheets all read LF files, and line-based Unix tools
 * (tail -f, grep, awk) expect LF. Numbers assume the C locale (no setlocale() in this
 * program): a decimal comma would split a field.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "csv_rows.h"

static char headers[NR_FIELD_FILES][CSV_VM_HEADER_MAX];
static pthread_once_t headers_once = PTHREAD_ONCE_INIT;

static void make_headers(void)
{
	const struct field_list *l;
	size_t file, i, n;

	for (file = 0; file < NR_FIELD_FILES; file++) {
		l = fields_of(file);
		for (i = n = 0; i < l->n && n < sizeof(headers[file]); i++)
			n += snprintf(headers[file] + n, sizeof(headers[file]) - n, "%s%s",
				      i ? "," : "", l->field[i].column);
	}
}

const char *csv_header(enum field_file file)
{
	pthread_once(&headers_once, make_headers);
	return headers[file];
}

void csv_field(FILE *f, const char *s)
{
	if (!s)
		return;
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

const char *csv_vm_header(const struct vm_record *r, char *buf, size_t len)
{
	size_t i, n = snprintf(buf, len, "%s", CSV_VM_HEADER);

	for (i = 0; i < r->nr_counters && n < len; i++)
		if (!counter_has_column(r->counter[i].name))
			n += snprintf(buf + n, len - n, ",%s", r->counter[i].column);
	return buf;
}

/*
 * An integer's digits, made here: most of a row's fields are integers, and fprintf's parsing
 * of its format for each took more than the rest of the row's making.
 */
static void put_int(FILE *f, uint64_t magnitude, bool negative)
{
	char digits[24], *p = digits + sizeof(digits);

	do {
		*--p = (char)('0' + magnitude % 10);
		magnitude /= 10;
	} while (magnitude);
	if (negative)
		*--p = '-';
	fwrite(p, 1, digits + sizeof(digits) - p, f);
}

static void put_u64(FILE *f, uint64_t v)
{
	put_int(f, v, false);
}

static void put_i64(FILE *f, int64_t v)
{
	/* Unsigned negation: INT64_MIN has no positive twin. */
	put_int(f, v < 0 ? 0 - (uint64_t)v : (uint64_t)v, v < 0);
}

/* One field's text: empty when it was not measured. */
static void put_value(FILE *f, const struct field *fd, const struct field_row *row)
{
	char text[KT_NAME_MAX + 1];

	if (!field_measured(fd, row))
		return;
	switch (fd->type) {
	case FT_TEXT:
	case FT_NAME:
		csv_field(f, field_text(fd, row, text, sizeof(text)));
		break;
	case FT_DOUBLE:
		fprintf(f, "%.*f", fd->decimals, field_double(fd, row));
		break;
	case FT_INT:
	case FT_I64:
		put_i64(f, (int64_t)field_u64(fd, row));
		break;
	default:
		put_u64(f, field_u64(fd, row));
	}
}

/* The file's columns of one row, without the line's end. */
static void put_fields(FILE *f, enum field_file file, const struct field_row *row)
{
	const struct field_list *l = fields_of(file);
	size_t i;

	for (i = 0; i < l->n; i++) {
		if (i)
			fputc(',', f);
		put_value(f, &l->field[i], row);
	}
}

void csv_format_vm_row(FILE *f, const struct interval_info *iv, const struct vm_record *r)
{
	const struct counter_record *c;
	size_t i;

	put_fields(f, FIELDS_VM, &(struct field_row){ .iv = iv, .vm = r });
	/* The counters without a column of their own, as csv_vm_header() names them. */
	for (i = 0; i < r->nr_counters; i++) {
		c = &r->counter[i];
		if (counter_has_column(c->name))
			continue;
		fputc(',', f);
		if (c->valid)
			put_u64(f, c->guest + c->host);
	}
	fputc('\n', f);
}

void csv_format_vcpu_row(FILE *f, const struct interval_info *iv, const struct vm_record *r,
			 const struct vcpu_record *v)
{
	put_fields(f, FIELDS_VCPU, &(struct field_row){ .iv = iv, .vm = r, .vcpu = v });
	fputc('\n', f);
}

void csv_format_exit_row(FILE *f, const struct interval_info *iv, const struct vm_record *r,
			 const struct exit_record *e)
{
	put_fields(f, FIELDS_EXITS, &(struct field_row){ .iv = iv, .vm = r, .exit = e });
	fputc('\n', f);
}

void csv_format_host_row(FILE *f, const struct interval_info *iv, const struct host_record *h)
{
	put_fields(f, FIELDS_HOST, &(struct field_row){ .iv = iv, .host = h });
	fputc('\n', f);
}
