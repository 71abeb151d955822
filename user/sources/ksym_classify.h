/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Classification of one kernel text symbol by its name and module: rules 1 and 2 of ksyms.h,
 * applied with the tables of ksym_rules.txt. Rules 3 and 4 need the neighbouring symbols and are
 * the loader's (ksyms.c).
 */
#ifndef KT_KSYM_CLASSIFY_H
#define KT_KSYM_CLASSIFY_H

#include <limits.h>
#include <stdbool.h>

#include "ksym_rules.h"

/* One table's rules by first byte, so that a name meets only the rules that can match it. */
struct ksym_rule_index {
	const struct ksym_rule *rules;
	unsigned short first[UCHAR_MAX + 2];	/* by_first[first[c]..first[c + 1]) start with c */
	unsigned short by_first[KSYM_MAX_RULES];
	unsigned short suffix[KSYM_MAX_RULES];	/* suffix rules, tried on every name */
	unsigned short nr_suffix;
};

/* All three tables, indexed once per load: a few thousand steps against ~150k symbols. */
struct ksym_classifier {
	struct ksym_rule_index name, module, syscall;
};

void ksym_classifier_init(struct ksym_classifier *c);

/*
 * A built-in symbol (rule 2, readiness polls included). *decided tells a rule's verdict from
 * the OTHER_KERNEL of no rule, which rule 3 may still relabel.
 */
enum kt_component ksym_classify_builtin(const struct ksym_classifier *c, const char *name,
					bool *decided);

/* A symbol of module (rule 1): the module decides, but for readiness polls. */
enum kt_component ksym_classify_module(const struct ksym_classifier *c, const char *name,
				       const char *module);

/*
 * Component of one kernel text symbol; module is the kallsyms "[module]" name without brackets,
 * or NULL/"" for built-in code. Indexes the tables on every call: for single symbols (tests);
 * the loader keeps one ksym_classifier for a whole file.
 */
enum kt_component ksym_classify(const char *name, const char *module);

#endif /* KT_KSYM_CLASSIFY_H */
