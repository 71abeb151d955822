// SPDX-License-Identifier: GPL-2.0
/* Configuration file: key = value lines turned into long options for the CLI parser. */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "config.h"
#include "edimax_conf.h"
#include "secfile.h"

/* Far beyond any sensible line; a longer one is more likely a wrong file than a setting. */
#define CONFIG_MAX_LINE	4096

/* This file is group-readable; the plug's password must not be. */
#define NOT_CREDENTIALS	"plug credentials do not belong here: put user= and password= in " \
			EDIMAX_CONFIG_DEFAULT " (mode 0600)"

/* Keys that look like settings but are not, and what to do instead. The keys that are settings
 * are the options of cli_options[] that have one. */
static const struct {
	const char *name;
	const char *why;
} refused[] = {
	{ "config", "a config file cannot name another one" },
	{ "user", NOT_CREDENTIALS },
	{ "password", NOT_CREDENTIALS },
	{ "plug-user", NOT_CREDENTIALS },
	{ "plug-password", NOT_CREDENTIALS },
};

struct args {
	char **v;
	int n, cap;
};

static int push(struct args *a, const char *prefix, const char *s)
{
	size_t plen = strlen(prefix), slen = strlen(s);
	char **v, *copy;
	int cap;

	/* One slot more than the options: argv ends with NULL. */
	if (a->n + 2 > a->cap) {
		cap = a->cap ? a->cap * 2 : 16;
		v = realloc(a->v, cap * sizeof(*v));
		if (!v)
			return -1;
		a->v = v;
		a->cap = cap;
	}
	copy = malloc(plen + slen + 1);
	if (!copy)
		return -1;
	memcpy(copy, prefix, plen);
	memcpy(copy + plen, s, slen + 1);
	a->v[a->n++] = copy;
	a->v[a->n] = NULL;
	return 0;
}

static bool blank(char c)
{
	return c == ' ' || c == '\t';
}

static char *skip_blanks(char *s)
{
	while (blank(*s))
		s++;
	return s;
}

static void trim_end(char *s)
{
	size_t n = strlen(s);

	while (n && (blank(s[n - 1]) || s[n - 1] == '\r' || s[n - 1] == '\n'))
		s[--n] = '\0';
}

/* What the file said, made safe for a one-line message: short, no control characters. */
static const char *shown(const char *s, char *buf, size_t len)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < len; i++)
		buf[i] = iscntrl((unsigned char)s[i]) ? '?' : s[i];
	buf[i] = '\0';
	if (s[i] && len > 4)
		memcpy(buf + len - 4, "...", 4);
	return buf;
}

/*
 * The value after '=': quoted ("..." or '...', taken as is) or bare (up to a '#' that follows
 * a blank, trailing blanks dropped). NULL with a reason in err for a broken quote.
 */
static char *parse_value(char *s, const char **err)
{
	char *end, *p;

	s = skip_blanks(s);
	if (*s == '"' || *s == '\'') {
		end = strchr(s + 1, *s);
		if (!end) {
			*err = "the quote is not closed";
			return NULL;
		}
		*end = '\0';
		p = skip_blanks(end + 1);
		if (*p && *p != '#') {
			*err = "text after the closing quote";
			return NULL;
		}
		return s + 1;
	}
	/* A '#' inside a word (a URI's fragment) is part of the value. */
	for (p = s; *p; p++) {
		if (*p == '#' && (p == s || blank(p[-1]))) {
			*p = '\0';
			break;
		}
	}
	trim_end(s);
	return s;
}

/* yes/no and their usual spellings: 1 yes, 0 no, -1 neither. */
static int parse_bool(const char *s)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcasecmp(s, yes[i]))
			return 1;
		if (!strcasecmp(s, no[i]))
			return 0;
	}
	return -1;
}

/* One "key = value" line into a; 0, or -1 with the reason (after "FILE:LINE: ") in why. */
static int parse_line(char *line, struct args *a, int *first_line, int lineno, char *why,
		      size_t len)
{
	char *key, *val, *eq, shown_key[40], shown_val[40];
	const struct cli_option *opt;
	const char *err = NULL;
	size_t i;
	int b;

	key = skip_blanks(line);
	eq = strchr(key, '=');
	if (!eq) {
		snprintf(why, len, "expected key = value, got '%s'",
			 shown(key, shown_key, sizeof(shown_key)));
		return -1;
	}
	*eq = '\0';
	trim_end(key);
	if (!*key) {
		snprintf(why, len, "no key before '='");
		return -1;
	}
	shown(key, shown_key, sizeof(shown_key));
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		if (!strcmp(key, refused[i].name)) {
			snprintf(why, len, "key '%s' is not allowed: %s", shown_key,
				 refused[i].why);
			return -1;
		}
	}
	for (opt = cli_options; opt->name && strcmp(key, opt->name); opt++)
		;
	if (!opt->name) {
		snprintf(why, len, "unknown key '%s': keys are the long options without their "
			 "dashes (kvmtrace-bpf --help)", shown_key);
		return -1;
	}
	if (opt->key == CLI_KEY_NONE) {
		snprintf(why, len, "key '%s' is not allowed: it is not a setting: run "
			 "kvmtrace-bpf --%s", shown_key, opt->name);
		return -1;
	}
	i = (size_t)(opt - cli_options);
	val = parse_value(eq + 1, &err);
	if (!val) {
		snprintf(why, len, "key '%s': %s", shown_key, err);
		return -1;
	}
	if (!*val) {
		snprintf(why, len, "key '%s' has no value", shown_key);
		return -1;
	}
	if (opt->key != CLI_KEY_REPEAT && first_line[i]) {
		snprintf(why, len, "key '%s' is already set on line %d", shown_key, first_line[i]);
		return -1;
	}
	first_line[i] = lineno;
	if (opt->key == CLI_KEY_FLAG) {
		b = parse_bool(val);
		if (b < 0) {
			snprintf(why, len, "key '%s' takes yes or no, not '%s'", shown_key,
				 shown(val, shown_val, sizeof(shown_val)));
			return -1;
		}
		if (b && push(a, "--", opt->name))
			goto nomem;
		return 0;
	}
	if (push(a, "--", opt->name) || push(a, "", val))
		goto nomem;
	return 0;
nomem:
	snprintf(why, len, "out of memory");
	return -1;
}

int config_load(const char *path, int *argc_out, char ***argv_out, char *why, size_t len)
{
	/* The line each option was set on, by its index in cli_options[]. */
	int first_line[CLI_MAX_OPTIONS] = { 0 }, lineno = 0, ret = -1;
	struct args a = {};
	char reason[256];
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f;

	*argc_out = 0;
	*argv_out = NULL;
	f = secfile_open(path, SECFILE_SETTINGS, "config file", why, len);
	if (!f)
		return -1;
	errno = 0;
	while ((n = getline(&line, &cap, f)) >= 0) {
		lineno++;
		if (n > CONFIG_MAX_LINE) {
			snprintf(why, len, "%s:%d: line longer than %d characters", path, lineno,
				 CONFIG_MAX_LINE);
			goto out;
		}
		/* A NUL would silently cut the line short: this is not a text file. */
		if (strlen(line) != (size_t)n) {
			snprintf(why, len, "%s:%d: NUL byte: not a text file", path, lineno);
			goto out;
		}
		trim_end(line);
		if (!*skip_blanks(line) || *skip_blanks(line) == '#')
			continue;
		if (parse_line(line, &a, first_line, lineno, reason, sizeof(reason))) {
			snprintf(why, len, "%s:%d: %s", path, lineno, reason);
			goto out;
		}
	}
	if (ferror(f)) {
		snprintf(why, len, "cannot read config file '%s': %s", path, strerror(errno));
		goto out;
	}
	/* A file of comments only is fine: it sets nothing, and argv is still an array. */
	if (!a.v)
		a.v = calloc(1, sizeof(*a.v));
	if (!a.v) {
		snprintf(why, len, "out of memory");
		goto out;
	}
	*argc_out = a.n;
	*argv_out = a.v;
	a.v = NULL;
	ret = 0;
out:
	free(line);
	fclose(f);
	config_free(a.n, a.v);
	return ret;
}

void config_free(int argc, char **argv)
{
	int i;

	if (!argv)
		return;
	for (i = 0; i < argc; i++)
		free(argv[i]);
	free(argv);
}

char **config_prepend(int file_argc, char **file_argv, int argc, char **argv, int *argc_out)
{
	char **v;
	int i, n = 0;

	if (argc < 1)
		return NULL;
	v = calloc((size_t)file_argc + argc + 1, sizeof(*v));
	if (!v)
		return NULL;
	v[n++] = argv[0];
	for (i = 0; i < file_argc; i++)
		v[n++] = file_argv[i];
	for (i = 1; i < argc; i++)
		v[n++] = argv[i];
	*argc_out = n;
	return v;
}
