// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel text table from /proc/kallsyms: reads the text symbols, classifies each
 * (ksym_classify.c), applies the rules that need the neighbours (3 and 4 of ksyms.h), sorts and
 * merges them into the ranges the BPF sampler searches. Also the two other looks at kallsyms and
 * /proc/modules the tracer needs: does a symbol exist, have modules changed.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ksym_classify.h"
#include "ksyms.h"

#define ARRAY_LEN(a)	(sizeof(a) / sizeof((a)[0]))

/* One text symbol while the table is built. */
struct ksym {
	uint64_t addr;
	unsigned char comp;	/* enum kt_component */
	bool builtin;
	bool decided;		/* a rule or the module gave comp: neighbours cannot relabel it */
	bool helper;		/* __pfx_ or __cfi_: part of the function that follows */
	bool mixed;		/* in a section gathering functions from all over the kernel */
};

/*
 * The longest run of unmatched functions that rule 3 relabels. Longer runs are more often
 * another file (drivers/net/loopback.c between macvtap.c and tun.c) than helpers.
 */
#define FILL_MAX_FUNCS	8

/*
 * Sections the linker fills by property, not by file: .entry.text, .noinstr.text, .sched.text,
 * .text.unlikely (cold parts), ... The kernel marks each with __NAME_text_start/_end symbols;
 * neighbours in them say nothing about each other.
 */
#define MAX_SECTION_MARKS	64
#define SECTION_NAME_LEN	48

struct section_mark {
	char stem[SECTION_NAME_LEN];	/* the symbol's name without "_start"/"_end" */
	uint64_t addr;
	bool start;
};

struct text_layout {
	uint64_t init_start, init_end;	/* _sinittext, _einittext; 0 if absent */
	struct section_mark mark[MAX_SECTION_MARKS];
	size_t nr_marks;
};

struct ksym_vec {
	struct ksym *sym;
	size_t nr, cap;
};

static int ksym_push(struct ksym_vec *v, const struct ksym *s)
{
	struct ksym *grown;

	if (v->nr == v->cap) {
		v->cap = v->cap ? v->cap * 2 : 4096;
		grown = realloc(v->sym, v->cap * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		v->sym = grown;
	}
	v->sym[v->nr++] = *s;
	return 0;
}

/* Address order; at one address the specific component first, then a decided symbol. */
static int ksym_cmp(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (x->comp != y->comp)
		return x->comp < y->comp ? -1 : 1;
	return (int)y->decided - (int)x->decided;
}

/*
 * Parses "ADDR TYPE NAME[\t[MODULE]]". Returns 1 for a text symbol (name and module point into
 * line, which is modified), 0 for any other line.
 */
static int parse_line(char *line, uint64_t *addr, char **name, char **module)
{
	char *p, *end;

	*addr = strtoull(line, &end, 16);
	if (end == line || *end != ' ' || !end[1] || end[2] != ' ')
		return 0;
	if (!strchr("tTwW", end[1]))
		return 0;
	p = end + 3;
	*name = p;
	p += strcspn(p, " \t\n");
	if (p == *name)
		return 0;
	*module = NULL;
	if (*p) {
		*p++ = '\0';
		p += strspn(p, " \t");
		if (*p == '[') {
			*module = ++p;
			p[strcspn(p, "]\n")] = '\0';
		}
	}
	return 1;
}

/*
 * Notes the kernel's layout markers among the built-in symbols (rules 3 and 4). Returns true
 * for a section marker, which is no code of its own: it must not win the address it shares
 * with a function (__sched_text_start would look like the scheduler).
 */
static bool note_layout(struct text_layout *t, const char *name, uint64_t addr)
{
	static const char *const ends[] = { "_text_start", "_text_end" };
	size_t len = strlen(name), i, n;
	struct section_mark *m;

	if (!strcmp(name, "_sinittext"))
		t->init_start = addr;
	else if (!strcmp(name, "_einittext"))
		t->init_end = addr;
	for (i = 0; i < ARRAY_LEN(ends); i++) {
		n = strlen(ends[i]);
		if (len < n || strcmp(name + len - n, ends[i]))
			continue;
		if (t->nr_marks == MAX_SECTION_MARKS)
			return true;
		m = &t->mark[t->nr_marks++];
		snprintf(m->stem, sizeof(m->stem), "%.*s", (int)(len - n), name);
		m->addr = addr;
		m->start = i == 0;
		return true;
	}
	return false;
}

/* Reads the text symbols of path into v, classified by rules 1 and 2. */
static int read_symbols(const char *path, struct ksym_vec *v, struct text_layout *t)
{
	struct ksym_classifier c;
	size_t cap = 0, text = 0;
	char *line = NULL, *name, *module;
	struct ksym s;
	uint64_t addr;
	int err = 0;
	FILE *f;

	f = fopen(path, "re");
	if (!f)
		return -errno;
	ksym_classifier_init(&c);
	while (getline(&line, &cap, f) > 0) {
		if (!parse_line(line, &addr, &name, &module))
			continue;
		text++;
		/* Undefined weak symbols and, without privilege, everything read 0. */
		if (!addr)
			continue;
		memset(&s, 0, sizeof(s));
		s.addr = addr;
		s.builtin = !module || !module[0];
		if (s.builtin) {
			if (note_layout(t, name, addr))
				continue;
			s.comp = ksym_classify_builtin(&c, name, &s.decided);
			s.helper = !strncmp(name, "__pfx_", 6) || !strncmp(name, "__cfi_", 6);
		} else {
			s.comp = ksym_classify_module(&c, name, module);
			s.decided = true;
		}
		err = ksym_push(v, &s);
		if (err)
			break;
	}
	if (!err && ferror(f))
		err = -EIO;
	free(line);
	fclose(f);
	if (!err && !text)
		err = -ENODATA;
	else if (!err && !v->nr)
		err = -EPERM;
	return err;
}

/* Marks the symbols in [start, end) of sorted sym: mixed, or freed init code (rule 4). */
static void mark_span(struct ksym *sym, size_t nr, uint64_t start, uint64_t end, bool init)
{
	size_t lo = 0, hi = nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (sym[mid].addr < start)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < nr && sym[lo].addr < end; lo++) {
		if (!sym[lo].builtin)
			continue;
		if (init) {
			sym[lo].comp = KT_COMP_OTHER_KERNEL;
			sym[lo].decided = true;
		} else {
			sym[lo].mixed = true;
		}
	}
}

/* Applies the layout markers to the sorted symbols, before rule 3 looks at neighbours. */
static void apply_layout(struct ksym *sym, size_t nr, const struct text_layout *t)
{
	const struct section_mark *a, *b;

	if (t->init_start && t->init_start < t->init_end)
		mark_span(sym, nr, t->init_start, t->init_end, true);
	for (a = t->mark; a < t->mark + t->nr_marks; a++) {
		if (!a->start)
			continue;
		for (b = t->mark; b < t->mark + t->nr_marks; b++)
			if (!b->start && !strcmp(a->stem, b->stem) && a->addr < b->addr)
				mark_span(sym, nr, a->addr, b->addr, false);
	}
}

/* Can sym take part in rule 3 at all: as a run member (undecided) or as a neighbour? */
static bool fill_candidate(const struct ksym *sym)
{
	return sym->builtin && !sym->mixed;
}

/*
 * Rule 3 of ksyms.h: a run of at most FILL_MAX_FUNCS undecided functions between two built-in
 * symbols of one component joins it.
 */
static void fill_gaps(struct ksym *sym, size_t nr)
{
	size_t i, j, k, funcs;

	for (i = 1; i < nr; i = j) {
		j = i + 1;
		if (sym[i].decided || !fill_candidate(&sym[i]))
			continue;
		funcs = !sym[i].helper;
		while (j < nr && !sym[j].decided && fill_candidate(&sym[j]))
			funcs += !sym[j++].helper;
		if (j == nr || funcs > FILL_MAX_FUNCS || !fill_candidate(&sym[i - 1]) ||
		    !fill_candidate(&sym[j]) || sym[i - 1].comp != sym[j].comp ||
		    sym[j].comp == KT_COMP_OTHER_KERNEL)
			continue;
		for (k = i; k < j; k++)
			sym[k].comp = sym[j].comp;
	}
}

int ksym_ranges_load(const char *path, struct ksym_ranges *out)
{
	struct text_layout layout = { 0 };
	struct ksym_vec v = { 0 };
	struct kt_ksym_range *range;
	size_t i, n, nr = 0;
	int err;

	memset(out, 0, sizeof(*out));
	err = read_symbols(path, &v, &layout);
	if (err)
		goto out;
	qsort(v.sym, v.nr, sizeof(*v.sym), ksym_cmp);
	/* One symbol per address: the first, which ksym_cmp made the most specific. */
	for (i = 0, n = 0; i < v.nr; i++)
		if (!n || v.sym[n - 1].addr != v.sym[i].addr)
			v.sym[n++] = v.sym[i];
	v.nr = n;
	apply_layout(v.sym, v.nr, &layout);
	fill_gaps(v.sym, v.nr);
	for (i = 0; i < v.nr; i++)
		if (!i || v.sym[i].comp != v.sym[i - 1].comp)
			nr++;
	if (nr > KT_MAX_KSYM_RANGES) {
		err = -E2BIG;
		goto out;
	}
	range = calloc(nr, sizeof(*range));
	if (!range) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0, n = 0; i < v.nr; i++) {
		if (i && v.sym[i].comp == v.sym[i - 1].comp)
			continue;
		range[n].start = v.sym[i].addr;
		range[n].component = v.sym[i].comp;
		n++;
	}
	out->range = range;
	out->nr = nr;
	out->text_start = range[0].start;
out:
	free(v.sym);
	return err;
}

void ksym_ranges_free(struct ksym_ranges *r)
{
	free(r->range);
	memset(r, 0, sizeof(*r));
}

long ksym_ranges_find(const struct ksym_ranges *r, uint64_t addr)
{
	size_t lo = 0, hi = r->nr;

	/* Invariant: ranges below lo start <= addr, ranges from hi on start above it. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r->range[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (long)lo - 1;
}

bool ksym_exists(const char *path, const char *name)
{
	size_t cap = 0, len = strlen(name);
	char *line = NULL, *p;
	bool found = false;
	FILE *f;

	f = len ? fopen(path, "re") : NULL;
	if (!f)
		return false;
	while (!found && getline(&line, &cap, f) > 0) {
		/* "ADDR TYPE NAME[\t[MODULE]]": the third field. */
		p = line + strcspn(line, " ");
		p += strspn(p, " ");
		p += strcspn(p, " ");
		p += strspn(p, " ");
		found = !strncmp(p, name, len) && (!p[len] || strchr(" \t\n", p[len]));
	}
	free(line);
	fclose(f);
	return found;
}

#define FNV64_OFFSET	0xcbf29ce484222325ULL
#define FNV64_PRIME	0x100000001b3ULL

static uint64_t fnv1a(uint64_t h, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= FNV64_PRIME;
	}
	return h;
}

uint64_t ksym_modules_fingerprint(const char *path)
{
	uint64_t h = FNV64_OFFSET;
	char *line = NULL, *field[6], *save;
	size_t cap = 0;
	int i, err;
	FILE *f;

	f = fopen(path, "re");
	if (!f)
		return 0;
	/* "name size refcount deps state address": the name and the address say it all. */
	while (getline(&line, &cap, f) > 0) {
		field[0] = strtok_r(line, " \t\n", &save);
		for (i = 1; field[i - 1] && i < 6; i++)
			field[i] = strtok_r(NULL, " \t\n", &save);
		if (!field[0])
			continue;
		h = fnv1a(h, field[0], strlen(field[0]) + 1);
		if (i == 6 && field[5])
			h = fnv1a(h, field[5], strlen(field[5]));
		/* A line separator, so "a" + "b1" and "ab" + "1" differ. */
		h = fnv1a(h, "\n", 1);
	}
	err = ferror(f);
	free(line);
	fclose(f);
	if (err)
		return 0;
	/* 0 means "could not read". */
	return h ? h : 1;
}
