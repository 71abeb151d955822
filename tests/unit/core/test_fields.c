// SPDX-License-Identifier: GPL-2.0
/*
 * The table of fields against itself and against the README: the CSV headers are its columns,
 * each metric family has the fields, units and labels it says, and the README's column tables
 * (DIR/<vm>.csv, the vCPU, exit and host files) and its Prometheus table list exactly what the
 * table declares, in the files' column order.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <fnmatch.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "csv.h"
#include "fields.h"

#define README		"README.md"
#define MAX_ITEMS	128
#define ITEM_LEN	256

/* A list of short strings parsed from the README. */
struct items {
	size_t n;
	char s[MAX_ITEMS][ITEM_LEN];
};

static void add_item(struct items *it, const char *s, size_t len)
{
	assert_true(it->n < MAX_ITEMS);
	assert_true(len < ITEM_LEN);
	memcpy(it->s[it->n], s, len);
	it->s[it->n][len] = '\0';
	it->n++;
}

static bool has_item(const struct items *it, const char *s)
{
	size_t i;

	for (i = 0; i < it->n; i++)
		if (!strcmp(it->s[i], s))
			return true;
	return false;
}

static char *readme;

static int load_readme(void **state)
{
	FILE *f = fopen(README, "r");
	size_t n;

	(void)state;
	if (!f)
		return -1;
	readme = calloc(1, 1 << 20);
	n = readme ? fread(readme, 1, (1 << 20) - 1, f) : 0;
	fclose(f);
	return n ? 0 : -1;
}

static int free_readme(void **state)
{
	(void)state;
	free(readme);
	return 0;
}

/* The README's text from the line that starts with marker to the next blank line. */
static char *paragraph(const char *marker)
{
	const char *p = readme, *end;
	char *out;

	while ((p = strstr(p, marker)) && p != readme && p[-1] != '\n')
		p++;
	if (!p)
		fail_msg("README has no line starting %s", marker);
	end = strstr(p, "\n\n");
	out = strndup(p, end ? (size_t)(end - p) : strlen(p));
	assert_non_null(out);
	return out;
}

/* The `code` spans of s, in order. */
static void spans(const char *s, size_t len, struct items *out)
{
	const char *end = s + len, *a, *b;

	for (a = memchr(s, '`', len); a && a < end; a = memchr(b + 1, '`', end - b - 1)) {
		b = memchr(a + 1, '`', end - a - 1);
		if (!b)
			break;
		add_item(out, a + 1, b - a - 1);
		if (b + 1 >= end)
			break;
	}
}

/* Whether a table cell is nothing but `names`, separated by commas. */
static bool only_spans(const char *s, size_t len)
{
	bool in = false;
	size_t i;

	for (i = 0; i < len; i++) {
		if (s[i] == '`')
			in = !in;
		else if (!in && s[i] != ',' && s[i] != ' ')
			return false;
	}
	return true;
}

/* A markdown table row's cells (a "\|" is part of its cell), trimmed; returns how many. */
static size_t cells(const char *line, size_t len, const char **cell, size_t *cell_len, size_t max)
{
	size_t n = 0, i, start = 1;

	if (!len || line[0] != '|')
		return 0;
	for (i = 1; i < len && n < max; i++) {
		if (line[i] != '|' || line[i - 1] == '\\')
			continue;
		while (line[start] == ' ')
			start++;
		cell[n] = line + start;
		cell_len[n] = i - start;
		while (cell_len[n] && cell[n][cell_len[n] - 1] == ' ')
			cell_len[n]--;
		n++;
		start = i + 1;
	}
	return n;
}

/* Calls row() for every body row of the tables between the lines starting from and to. */
static void table_rows(const char *from, const char *to,
		       void (*row)(const char **cell, size_t *len, size_t n, void *ctx), void *ctx)
{
	const char *p = strstr(readme, from), *end, *nl;
	const char *cell[8];
	size_t len[8], n;

	assert_non_null(p);
	end = to ? strstr(p + strlen(from), to) : NULL;
	if (!end)
		end = p + strlen(p);
	for (; p < end; p = nl + 1) {
		nl = strchr(p, '\n');
		if (!nl)
			break;
		n = cells(p, nl - p, cell, len, 8);
		if (n < 2 || !strncmp(cell[0], "---", 3) ||
		    (len[0] == 6 && !strncmp(cell[0], "column", 6)) ||
		    (len[0] == 6 && !strncmp(cell[0], "metric", 6)))
			continue;
		row(cell, len, n, ctx);
	}
}

/* ---------------------------------------------------------------- the table itself */

static void test_headers_are_columns(void **state)
{
	enum field_file file;
	char want[CSV_VM_HEADER_MAX];
	size_t i, j, n;

	(void)state;
	for (file = 0; file < NR_FIELD_FILES; file++) {
		const struct field_list *l = fields_of(file);

		for (i = n = 0; i < l->n; i++) {
			n += snprintf(want + n, sizeof(want) - n, "%s%s", i ? "," : "",
				      l->field[i].column);
			for (j = 0; j < i; j++)
				assert_string_not_equal(l->field[i].column, l->field[j].column);
		}
		assert_string_equal(csv_header(file), want);
	}
}

/* The labels a family's scope gives its samples, before a field's own. */
static const char *scope_labels(enum family_scope scope)
{
	switch (scope) {
	case SCOPE_VM:
		return "vm, uuid";
	case SCOPE_VCPU:
		return "vm, uuid, vcpu";
	case SCOPE_EXIT:
		return "vm, uuid, reason";
	case SCOPE_HOST:
		return "source";
	default:
		return NULL;
	}
}

/* The OpenMetrics unit of a family fed by figures of this unit. */
static const char *om_unit(const char *unit)
{
	if (!strcmp(unit, "ns") || !strcmp(unit, "µs"))
		return "seconds";
	if (!strcmp(unit, "bytes"))
		return "bytes";
	if (!strcmp(unit, "W"))
		return "watts";
	if (!strcmp(unit, "J"))
		return "joules";
	if (!strcmp(unit, "Hz"))
		return "hertz";
	return NULL;
}

static void test_families_and_fields(void **state)
{
	static const enum family_scope scope_of_src[] = {
		[SRC_VM] = SCOPE_VM, [SRC_VCPU] = SCOPE_VCPU, [SRC_EXIT] = SCOPE_EXIT,
		[SRC_HOST] = SCOPE_HOST,
	};
	bool fed[NR_FAMILIES] = { false };
	const struct family *fam;
	const char *scope;
	const struct field *f;
	enum field_file file;
	char labels[128];
	size_t i, j;
	int id;

	(void)state;
	for (file = 0; file < NR_FIELD_FILES; file++) {
		const struct field_list *l = fields_of(file);

		for (i = 0; i < l->n; i++) {
			f = &l->field[i];
			if (f->family == FAM_NONE)
				continue;
			fam = &families[f->family];
			fed[f->family] = true;
			assert_int_not_equal(f->src, SRC_INTERVAL);
			/* The host file holds the tracer's own cost too, which has no source. */
			if (fam->scope == SCOPE_TRACER)
				assert_int_equal(f->src, SRC_HOST);
			else
				assert_int_equal(fam->scope, scope_of_src[f->src]);
			if (om_unit(f->unit) || fam->unit)
				assert_string_equal(fam->unit, om_unit(f->unit));
			scope = fam->scope == SCOPE_TRACER ? "" : scope_labels(fam->scope);
			snprintf(labels, sizeof(labels), "%s%s%s", scope,
				 f->label && scope[0] ? ", " : "", f->label ? f->label : "");
			assert_string_equal(fam->labels, labels);
			assert_true(!f->label == !field_label_value(f));
			/* Each counter has a running total of its own: one left undeclared would
			 * read its file's first. */
			for (j = 0; fam->type == METRIC_COUNTER && j < i; j++)
				if (l->field[j].family != FAM_NONE &&
				    families[l->field[j].family].type == METRIC_COUNTER)
					assert_int_not_equal(l->field[j].total, f->total);
		}
	}
	for (id = FAM_NONE + 1; id < NR_FAMILIES; id++) {
		fam = &families[id];
		assert_non_null(fam->name);
		assert_non_null(fam->help);
		assert_null(strpbrk(fam->help, "\\\"\n"));
		if (fam->unit)
			assert_non_null(strstr(fam->name, fam->unit));
		/* Families of records are fed by fields, but for the perf counters' own. */
		if (scope_labels(fam->scope))
			assert_true(fed[id]);
	}
}

/* ---------------------------------------------------------------- the README's columns */

struct column_rows {
	const struct field_list *l;
	size_t next;		/* the field the README's next column must be */
	bool others;		/* the row of the extra counters' columns was seen */
};

static void column_row(const char **cell, size_t *len, size_t n, void *ctx)
{
	struct column_rows *c = ctx;
	struct items names = { 0 };
	const struct field *f;
	char unit[ITEM_LEN];
	size_t i;

	assert_true(n >= 3);
	snprintf(unit, sizeof(unit), "%.*s", (int)len[1], cell[1]);
	if (!only_spans(cell[0], len[0])) {
		/* The one row that is no column: the extra counters, which come last. */
		assert_non_null(strstr(cell[0], "other counter"));
		c->others = true;
		return;
	}
	assert_false(c->others);
	spans(cell[0], len[0], &names);
	for (i = 0; i < names.n; i++) {
		if (c->next >= c->l->n)
			fail_msg("README column %s is not in the table", names.s[i]);
		f = &c->l->field[c->next++];
		assert_string_equal(names.s[i], f->column);
		assert_string_equal(unit, f->unit);
	}
}

static void test_readme_vm_columns(void **state)
{
	struct column_rows c = { .l = fields_of(FIELDS_VM) };

	(void)state;
	table_rows("\n`DIR/<vm>.csv`\n", "\n`DIR/<vm>.vcpu.csv`", column_row, &c);
	assert_int_equal(c.next, c.l->n);
	assert_true(c.others);
}

/* A file's columns as the README lists them: the `a, b, c` spans of its paragraph. */
static void readme_list(const char *marker, enum field_file file)
{
	const struct field_list *l = fields_of(file);
	struct items sp = { 0 }, cols = { 0 };
	char *text = paragraph(marker), *tok, *save = NULL;
	size_t i;

	spans(text, strlen(text), &sp);
	for (i = 0; i < sp.n; i++) {
		if (!strchr(sp.s[i], ','))
			continue;
		tok = strtok_r(sp.s[i], ", \n", &save);
		for (; tok; tok = strtok_r(NULL, ", \n", &save))
			add_item(&cols, tok, strlen(tok));
	}
	free(text);
	assert_int_equal(cols.n, l->n);
	for (i = 0; i < l->n; i++)
		assert_string_equal(cols.s[i], l->field[i].column);
}

static void test_readme_other_files(void **state)
{
	(void)state;
	readme_list("`DIR/<vm>.vcpu.csv`, one row", FIELDS_VCPU);
	readme_list("`DIR/<vm>.exits.csv`, one row", FIELDS_EXITS);
	readme_list("`host_energy_j` (J over the interval), and `DIR/@host.csv`", FIELDS_HOST);
}

/* ---------------------------------------------------------------- the README's metrics */

/* name with its first {a,b} expanded, recursively, into out. */
static void expand_braces(const char *name, struct items *out)
{
	const char *open = strchr(name, '{'), *close, *alt, *comma;
	char buf[ITEM_LEN];

	if (!open) {
		add_item(out, name, strlen(name));
		return;
	}
	close = strchr(open, '}');
	assert_non_null(close);
	for (alt = open + 1; alt < close; alt = comma + 1) {
		comma = memchr(alt, ',', close - alt);
		if (!comma)
			comma = close;
		snprintf(buf, sizeof(buf), "%.*s%.*s%s", (int)(open - name), name,
			 (int)(comma - alt), alt, close + 1);
		expand_braces(buf, out);
	}
}

static const char *sample_suffix(const struct family *f)
{
	return f->type == METRIC_COUNTER ? "_total" : f->type == METRIC_INFO ? "_info" : "";
}

static int family_of_sample(const char *sample)
{
	char name[ITEM_LEN];
	int id;

	for (id = FAM_NONE + 1; id < NR_FAMILIES; id++) {
		snprintf(name, sizeof(name), "%s%s", families[id].name,
			 sample_suffix(&families[id]));
		if (!strcmp(name, sample))
			return id;
	}
	return FAM_NONE;
}

/* "vm, uuid, mode=`user`\|`kernel`" as label names ("vm, uuid, mode") and mode's values. */
static void label_cell(const char *cell, size_t len, char *names, size_t size,
		       struct items *values, char *valued, size_t valued_size)
{
	char buf[256], *tok, *save = NULL, *eq;
	size_t n = 0;

	snprintf(buf, sizeof(buf), "%.*s", (int)len, cell);
	names[0] = valued[0] = '\0';
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		tok += strspn(tok, " ");
		eq = strchr(tok, '=');
		if (eq) {
			*eq = '\0';
			snprintf(valued, valued_size, "%s", tok);
			spans(eq + 1, strlen(eq + 1), values);
		}
		n += snprintf(names + n, size - n, "%s%s", n ? ", " : "", tok);
	}
}

/* Whether the fields that feed the row's families are those its "from" cell names. */
static void check_from(const bool *row_fam, const char *from, size_t len)
{
	static const char *const file_of[NR_FIELD_FILES] = {
		[FIELDS_VCPU] = "vcpu.csv", [FIELDS_EXITS] = "exits.csv",
		[FIELDS_HOST] = "@host.csv",
	};
	struct items patterns = { 0 };
	bool used[MAX_ITEMS] = { false }, match, fed = false;
	const struct field *f;
	enum field_file file;
	size_t i, k;

	spans(from, len, &patterns);
	for (file = 0; file < NR_FIELD_FILES; file++) {
		const struct field_list *l = fields_of(file);

		for (i = 0; i < l->n; i++) {
			f = &l->field[i];
			if (!row_fam[f->family] || f->family == FAM_NONE)
				continue;
			fed = true;
			if (!patterns.n) {
				/* Named by its file rather than its columns. */
				assert_non_null(file_of[file]);
				assert_int_equal(len, strlen(file_of[file]));
				assert_memory_equal(from, file_of[file], len);
				continue;
			}
			for (k = 0, match = false; k < patterns.n; k++)
				if (!fnmatch(patterns.s[k], f->column, 0))
					match = used[k] = true;
			if (!match)
				fail_msg("%s is fed by %s, which the README does not name",
					 families[f->family].name, f->column);
		}
	}
	for (k = 0; fed && k < patterns.n; k++)
		if (!used[k])
			fail_msg("the README names %s, which feeds no metric of its row",
				 patterns.s[k]);
}

struct metric_rows {
	bool seen[NR_FAMILIES];
};

static void metric_row(const char **cell, size_t *len, size_t n, void *ctx)
{
	struct metric_rows *m = ctx;
	struct items names = { 0 }, samples = { 0 }, values = { 0 }, fed = { 0 };
	bool row_fam[NR_FAMILIES] = { false };
	char labels[128], valued[32], type[16];
	const struct field_list *l;
	enum field_file file;
	size_t i, j;
	int id;

	assert_int_equal(n, 4);
	spans(cell[0], len[0], &names);
	for (i = 0; i < names.n; i++)
		expand_braces(names.s[i], &samples);
	label_cell(cell[2], len[2], labels, sizeof(labels), &values, valued, sizeof(valued));
	snprintf(type, sizeof(type), "%.*s", (int)len[1], cell[1]);
	for (i = 0; i < samples.n; i++) {
		id = family_of_sample(samples.s[i]);
		if (id == FAM_NONE)
			fail_msg("README metric %s is not in the table", samples.s[i]);
		assert_false(m->seen[id]);
		m->seen[id] = row_fam[id] = true;
		if (type[0])
			assert_string_equal(type, families[id].type == METRIC_COUNTER ? "counter" :
					    "gauge");
		if (labels[0])
			assert_string_equal(labels, families[id].labels);
		/* The values of a label the fields give ("mode=user"): those the README lists. */
		for (file = 0; valued[0] && file < NR_FIELD_FILES; file++)
			for (l = fields_of(file), j = 0; j < l->n; j++)
				if ((int)l->field[j].family == id && l->field[j].label &&
				    !strcmp(l->field[j].label, valued) &&
				    !has_item(&fed, field_label_value(&l->field[j])))
					add_item(&fed, field_label_value(&l->field[j]),
						 strlen(field_label_value(&l->field[j])));
		for (j = 0; j < fed.n; j++)
			assert_true(has_item(&values, fed.s[j]));
		assert_true(!fed.n || fed.n == values.n);
	}
	check_from(row_fam, cell[3], len[3]);
}

static void test_readme_metrics(void **state)
{
	struct metric_rows m = { { false } };
	int id;

	(void)state;
	table_rows("| metric | type | labels | from |", "\n\n", metric_row, &m);
	for (id = FAM_NONE + 1; id < NR_FAMILIES; id++)
		if (!m.seen[id])
			fail_msg("%s%s is not in the README", families[id].name,
				 sample_suffix(&families[id]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_headers_are_columns),
		cmocka_unit_test(test_families_and_fields),
		cmocka_unit_test(test_readme_vm_columns),
		cmocka_unit_test(test_readme_other_files),
		cmocka_unit_test(test_readme_metrics),
	};

	return cmocka_run_group_tests(tests, load_readme, free_readme);
}
