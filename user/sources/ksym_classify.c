// SPDX-License-Identifier: GPL-2.0
/* Rules 1 and 2 of ksyms.h for one symbol: the longest rule of ksym_rules.txt that matches. */
#include <stdbool.h>
#include <string.h>

#include "ksym_classify.h"

#define ARRAY_LEN(a)	(sizeof(a) / sizeof((a)[0]))

static void index_rules(struct ksym_rule_index *x, const struct ksym_rule_table *t)
{
	const struct ksym_rule *rules = t->rule;
	unsigned short next[UCHAR_MAX + 1];
	size_t i, c;

	memset(x, 0, sizeof(*x));
	x->rules = rules;
	for (i = 0; i < t->nr; i++) {
		if (rules[i].kind == KSYM_MATCH_SUFFIX)
			x->suffix[x->nr_suffix++] = i;
		else
			x->first[(unsigned char)rules[i].text[0] + 1]++;
	}
	for (c = 1; c < ARRAY_LEN(x->first); c++)
		x->first[c] += x->first[c - 1];
	memcpy(next, x->first, sizeof(next));
	/* In table order within a bucket, so ties go to the rule written first. */
	for (i = 0; i < t->nr; i++)
		if (rules[i].kind != KSYM_MATCH_SUFFIX)
			x->by_first[next[(unsigned char)rules[i].text[0]]++] = i;
}

void ksym_classifier_init(struct ksym_classifier *c)
{
	index_rules(&c->name, &ksym_name_rules);
	index_rules(&c->module, &ksym_module_rules);
	index_rules(&c->syscall, &ksym_syscall_rules);
}

/* Does rule r match name[0..len)? Sets *score to how specific the match is. */
static bool rule_matches(const struct ksym_rule *r, const char *name, size_t len, size_t *score)
{
	*score = r->len;
	if (r->len > len)
		return false;
	switch (r->kind) {
	case KSYM_MATCH_EXACT:
		/* An exact match beats a prefix of the same text. */
		(*score)++;
		return r->len == len && !memcmp(r->text, name, len);
	case KSYM_MATCH_PREFIX:
		return !memcmp(r->text, name, r->len);
	default:
		return !memcmp(r->text, name + len - r->len, r->len);
	}
}

/*
 * The longest rule matching name[0..len) (not NUL-terminated there). Returns the rule's
 * component and sets *matched, or returns OTHER_KERNEL.
 */
static enum kt_component match_rules(const struct ksym_rule_index *x, const char *name,
				     size_t len, bool *matched)
{
	enum kt_component comp = KT_COMP_OTHER_KERNEL;
	size_t i, end, score, best = 0;
	unsigned char c;

	*matched = false;
	if (!len)
		return comp;
	c = name[0];
	for (i = x->first[c], end = x->first[c + 1]; i < end; i++) {
		const struct ksym_rule *r = &x->rules[x->by_first[i]];

		if (rule_matches(r, name, len, &score) && score > best) {
			best = score;
			comp = r->comp;
			*matched = true;
		}
	}
	for (i = 0; i < x->nr_suffix; i++) {
		const struct ksym_rule *r = &x->rules[x->suffix[i]];

		if (rule_matches(r, name, len, &score) && score > best) {
			best = score;
			comp = r->comp;
			*matched = true;
		}
	}
	return comp;
}

/* Skips s's prefix p if it has it. */
static const char *skip_prefix(const char *s, const char *p)
{
	size_t n = strlen(p);

	return strncmp(s, p, n) ? s : s + n;
}

/* Rule 2 of ksyms.h; *matched tells a rule's verdict from the OTHER_KERNEL of no rule. */
static enum kt_component classify_name(const struct ksym_classifier *c, const char *name,
				       bool *matched)
{
	enum kt_component comp;
	const char *s = name, *call;
	size_t i, len;

	for (i = 0; i < ksym_helper_prefixes.nr; i++)
		s = skip_prefix(s, ksym_helper_prefixes.name[i]);
	len = strcspn(s, ".");
	for (i = 0; i < ksym_syscall_prefixes.nr; i++) {
		call = skip_prefix(s, ksym_syscall_prefixes.name[i]);
		if (call == s)
			continue;
		comp = match_rules(&c->syscall, call, len - (call - s), matched);
		if (*matched)
			return comp;
		/* Other calls are named like their implementation: sched_yield. */
		len -= call - s;
		s = call;
		break;
	}
	return match_rules(&c->name, s, len, matched);
}

static bool is_readiness_poll(const char *name)
{
	const char *const *poll = ksym_readiness_polls.name;
	size_t i, len = strcspn(name, ".");

	for (i = 0; i < ksym_readiness_polls.nr; i++)
		if (strlen(poll[i]) == len && !strncmp(name, poll[i], len))
			return true;
	return false;
}

enum kt_component ksym_classify_builtin(const struct ksym_classifier *c, const char *name,
					bool *decided)
{
	if (is_readiness_poll(name)) {
		*decided = true;
		return KT_COMP_OTHER_KERNEL;
	}
	return classify_name(c, name, decided);
}

enum kt_component ksym_classify_module(const struct ksym_classifier *c, const char *name,
				       const char *module)
{
	bool matched;

	if (is_readiness_poll(name))
		return KT_COMP_OTHER_KERNEL;
	return match_rules(&c->module, module, strlen(module), &matched);
}

enum kt_component ksym_classify(const char *name, const char *module)
{
	struct ksym_classifier c;
	bool decided;

	ksym_classifier_init(&c);
	if (module && module[0])
		return ksym_classify_module(&c, name, module);
	return ksym_classify_builtin(&c, name, &decided);
}
