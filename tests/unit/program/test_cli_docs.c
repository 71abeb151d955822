// SPDX-License-Identifier: GPL-2.0
/* The hand-written documents against the option table: the man page documents every option
 * (with its letter, and a value if it takes one) and no other, and lists every config key;
 * the shipped config file shows every key and no other. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdbool.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cli.h"

/* A file of the repository, found from this source's path (tests build from the top folder). */
static char *repo_file(const char *name)
{
	const char *slash = strstr(__FILE__, "tests/unit/");
	char path[512], *text;
	long n;
	FILE *f;

	snprintf(path, sizeof(path), "%.*s%s", slash ? (int)(slash - __FILE__) : 0, __FILE__,
		 name);
	f = fopen(path, "r");
	if (!f)
		fail_msg("cannot read %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	text = calloc(1, (size_t)n + 1);
	assert_non_null(text);
	assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return text;
}

/* The lines of a man page section, from ".SH NAME" up to the next ".SH" (cut off in page). */
static char *man_section(char *page, const char *name)
{
	char head[64], *start, *end;

	snprintf(head, sizeof(head), "\n.SH %s\n", name);
	start = strstr(page, head);
	if (!start)
		fail_msg("the man page has no section %s", name);
	start += strlen(head);
	end = strstr(start, "\n.SH ");
	if (end)
		end[1] = '\0';
	return start;
}

/* What an option's tag line (the one after .TP) names: its long options, its letter, and
 * whether anything else is there, the value. */
struct man_tag {
	char longs[4][32];
	int nr_longs;
	char letter;
	bool value;
};

static void read_tag(const char *s, const char *end, struct man_tag *t)
{
	size_t n;

	memset(t, 0, sizeof(*t));
	/* Past the macro (.B, .BI, .BR). */
	while (s < end && *s != ' ')
		s++;
	while (s < end) {
		if (!strncmp(s, "\\-\\-", 4) && t->nr_longs < 4) {
			for (s += 4, n = 0; n < sizeof(t->longs[0]) - 1; n++) {
				if (!strncmp(s, "\\-", 2)) {
					t->longs[t->nr_longs][n] = '-';
					s += 2;
				} else if (isalnum((unsigned char)*s)) {
					t->longs[t->nr_longs][n] = *s++;
				} else {
					break;
				}
			}
			t->nr_longs++;
		} else if (!strncmp(s, "\\-", 2) && isalpha((unsigned char)s[2]) &&
			   !isalnum((unsigned char)s[3])) {
			t->letter = s[2];
			s += 3;
		} else if (s[0] == '\\' && s[1] == 'f' && s[2]) {
			s += 3;	/* a font change */
		} else {
			t->value |= !strchr(" \",", *s);
			s++;
		}
	}
}

/* OPTIONS documents each option of the table once, with its letter and a value if it takes
 * one, and no option the table lacks. */
static void test_man_options(void **state)
{
	char *page = repo_file("dist/kvmtrace-bpf.8"), *sec, *p, *eol;
	int found[CLI_MAX_OPTIONS] = { 0 };
	const struct cli_option *opt;
	struct man_tag t;
	char want[64];
	int i;

	(void)state;
	sec = man_section(page, "OPTIONS");
	for (p = strstr(sec, ".TP\n"); p; p = strstr(eol, ".TP\n")) {
		p += 4;
		eol = strchr(p, '\n');
		assert_non_null(eol);
		read_tag(p, eol, &t);
		if (!t.nr_longs)
			fail_msg("man page option '%.*s' has no long name", (int)(eol - p), p);
		for (i = 0; i < t.nr_longs; i++) {
			for (opt = cli_options; opt->name && strcmp(opt->name, t.longs[i]); opt++)
				;
			if (!opt->name)
				fail_msg("the man page documents --%s, no option", t.longs[i]);
			found[opt - cli_options]++;
			if (t.letter == opt->letter && t.value == !!opt->arg)
				continue;
			if (opt->letter)
				snprintf(want, sizeof(want), "-%c/--%s", opt->letter, opt->name);
			else
				snprintf(want, sizeof(want), "--%s", opt->name);
			fail_msg("the man page's '%.*s' does not match %s%s", (int)(eol - p), p,
				 want, opt->arg ? " VALUE" : "");
		}
	}
	for (opt = cli_options; opt->name; opt++)
		if (found[opt - cli_options] != 1)
			fail_msg("the man page documents --%s %d times", opt->name,
				 found[opt - cli_options]);
	free(page);
}

/* The man page's list of config keys and the shipped file's lines are the table's settings. */
static void test_config_keys_documented(void **state)
{
	char *page = repo_file("dist/kvmtrace-bpf.8"), *conf = repo_file("dist/kvmtrace-bpf.conf");
	int in_man[CLI_MAX_OPTIONS] = { 0 }, in_conf[CLI_MAX_OPTIONS] = { 0 };
	char *sec, *list, *end, *p, *eol, key[32];
	const struct cli_option *opt;
	size_t n;

	(void)state;
	sec = man_section(page, "CONFIGURATION FILE");
	list = strstr(sec, "The keys are the long options without their dashes:\n");
	end = list ? strstr(list, "\nThe file's settings become") : NULL;
	if (!end)
		fail_msg("CONFIGURATION FILE does not list the keys where this test looks");
	/* One ".BR key ," or ".B key" line each, the key escaped as the page writes it. */
	for (p = strchr(list, '\n') + 1; p < end; p = eol + 1) {
		eol = strchr(p, '\n');
		if (strncmp(p, ".B", 2))
			continue;
		for (p = strchr(p, ' ') + 1, n = 0; p < eol && *p != ' ' && n < sizeof(key) - 1;)
			key[n++] = !strncmp(p, "\\-", 2) ? (p += 2, '-') : *p++;
		key[n] = '\0';
		for (opt = cli_options; opt->name && strcmp(opt->name, key); opt++)
			;
		if (!opt->name || opt->key == CLI_KEY_NONE)
			fail_msg("the man page lists key '%s', which is no setting", key);
		in_man[opt - cli_options]++;
	}
	/* "key = value" or "#key = value" (the default, commented out). */
	for (p = conf; *p; p = *eol ? eol + 1 : eol) {
		eol = strchrnul(p, '\n');
		if (*p == '#')
			p++;
		n = strspn(p, "abcdefghijklmnopqrstuvwxyz-");
		if (!n || strncmp(p + n, " = ", 3))
			continue;
		snprintf(key, sizeof(key), "%.*s", (int)n, p);
		for (opt = cli_options; opt->name && strcmp(opt->name, key); opt++)
			;
		if (!opt->name || opt->key == CLI_KEY_NONE)
			fail_msg("the config file shows key '%s', which is no setting", key);
		in_conf[opt - cli_options]++;
	}
	for (opt = cli_options; opt->name; opt++) {
		if (opt->key == CLI_KEY_NONE)
			continue;
		if (in_man[opt - cli_options] != 1)
			fail_msg("the man page lists key '%s' %d times", opt->name,
				 in_man[opt - cli_options]);
		if (!in_conf[opt - cli_options])
			fail_msg("dist/kvmtrace-bpf.conf does not show key '%s'", opt->name);
	}
	free(page);
	free(conf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_man_options),
		cmocka_unit_test(test_config_keys_documented),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
