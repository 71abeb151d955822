// SPDX-License-Identifier: GPL-2.0
/* The live table: exact text for known records, sorting, "-" for unmeasured figures. */
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

static char *print(const struct interval_info *iv, const struct vm_record *recs, size_t n,
		   bool clear)
{
	/* Static: GCC takes a local whose address went to open_memstream() for a dangling one. */
	static char *buf;
	static size_t len;
	FILE *f;

	buf = NULL;
	f = open_memstream(&buf, &len);

	assert_non_null(f);
	table_print(f, iv, recs, n, clear);
	fclose(f);
	return buf;
}

/* A busy VM with guest figures, over a 2 s interval. */
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
}

/* A VM never seen in guest mode, with a name too long for its column. */
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
}

static const char HEADER[] =
	"VM                       PID   CPU% GUEST%   HYP%   EXITS/s TOP EXIT             "
	"RUNDLY(ms/s)\n";

static void test_two_records(void **state)
{
	struct vm_record recs[2];
	char *out;

	(void)state;
	db(&recs[0]);
	web(&recs[1]);
	out = print(&iv2, recs, 2, false);
	/* Busiest first, whatever the input order. */
	assert_string_equal(out,
		"kvmtrace-bpf  2026-11-22T16:47:36.123Z  2 VMs  interval 2.000 s\n"
		"VM                       PID   CPU% GUEST%   HYP%   EXITS/s TOP EXIT             "
		"RUNDLY(ms/s)\n"
		"web-01                  4242  150.0  120.0   30.0     12345 EPT_VIOLATION        "
		"         2.5\n"
		"db-very-long-name-e~      77   50.0      -   50.0         - -                    "
		"         0.0\n");
	free(out);
}

static void test_clear_and_one_vm(void **state)
{
	struct vm_record r;
	char *out;

	(void)state;
	web(&r);
	out = print(&iv2, &r, 1, true);
	assert_true(strncmp(out, "\033[H\033[2J", 7) == 0);
	assert_true(strncmp(out + 7, "kvmtrace-bpf  2026-11-22T16:47:36.123Z  1 VM  interval", 53)
		    == 0);
	assert_non_null(strstr(out, HEADER));
	free(out);
}

static void test_no_vm(void **state)
{
	char *out;

	(void)state;
	out = print(&iv2, NULL, 0, false);
	assert_string_equal(out,
		"kvmtrace-bpf  2026-11-22T16:47:36.123Z  0 VMs  interval 2.000 s\n"
		"no VM is running: waiting for KVM guests to start\n");
	free(out);

	out = print(&iv2, NULL, 0, true);
	assert_true(strncmp(out, "\033[H\033[2Jkvmtrace-bpf  ", 21) == 0);
	free(out);
}

/* Same CPU: by name, so rows keep their place from one interval to the next. */
static void test_ties_sorted_by_name(void **state)
{
	struct vm_record recs[3];
	char *out, *a, *b, *c;

	(void)state;
	web(&recs[0]);
	strcpy(recs[0].vm, "charlie");
	web(&recs[1]);
	strcpy(recs[1].vm, "alpha");
	web(&recs[2]);
	strcpy(recs[2].vm, "bravo");
	recs[2].cpu_total_ns = 1;
	out = print(&iv2, recs, 3, false);
	a = strstr(out, "\nalpha ");
	b = strstr(out, "\nbravo ");
	c = strstr(out, "\ncharlie ");
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	assert_true(a < c && c < b);
	free(out);
}

/* Names come from guest configuration: no terminal escapes, UTF-8 kept and cut whole. */
static void test_names_sanitized(void **state)
{
	struct vm_record r;
	char *out, *line;
	int i;

	(void)state;
	web(&r);
	strcpy(r.vm, "evil\033[2J\nname\x7f");
	out = print(&iv2, &r, 1, false);
	assert_null(strchr(out + 1, '\033'));
	line = strstr(out, "\nevil?[2J?name? ");
	assert_non_null(line);
	assert_true(strncmp(line + 1, "evil?[2J?name?          4242", 28) == 0);
	free(out);

	/* 2-byte characters count as one column each; a cut never splits one. */
	web(&r);
	strcpy(r.vm, "");
	for (i = 0; i < 25; i++)
		strcat(r.vm, "\xc3\xa9");
	out = print(&iv2, &r, 1, false);
	line = strstr(out, "RUNDLY(ms/s)\n") + 13;
	for (i = 0; i < 19; i++)
		assert_memory_equal(line + 2 * i, "\xc3\xa9", 2);
	assert_true(strncmp(line + 38, "~    4242", 9) == 0);
	free(out);

	/* Bad UTF-8 and C1 controls become '?'. */
	web(&r);
	strcpy(r.vm, "a\xff" "b\xc2\x9b" "c");
	out = print(&iv2, &r, 1, false);
	assert_non_null(strstr(out, "\na?b?c                   4242"));
	free(out);
}

static void test_bad_interval(void **state)
{
	struct interval_info iv = iv2;
	struct vm_record r;
	char *out;

	(void)state;
	web(&r);
	iv.interval_s = 0;
	out = print(&iv, &r, 1, false);
	assert_non_null(strstr(out, "\nweb-01                  4242      -      -      -         - "
			       "EPT_VIOLATION                   -\n"));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_records),
		cmocka_unit_test(test_clear_and_one_vm),
		cmocka_unit_test(test_no_vm),
		cmocka_unit_test(test_ties_sorted_by_name),
		cmocka_unit_test(test_names_sanitized),
		cmocka_unit_test(test_bad_interval),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
