/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The rule data of kernel symbol classification (rules 1 and 2 of ksyms.h): which module, name
 * prefix, suffix or exact name belongs to which component. Tables only, generated at build time
 * from ksym_rules.txt by scripts/gen-ksym-rules.awk; ksym_classify.c applies them.
 */
#ifndef KT_KSYM_RULES_H
#define KT_KSYM_RULES_H

#include <stddef.h>

#include "kvmtrace.h"

enum ksym_match {
	KSYM_MATCH_EXACT,
	KSYM_MATCH_PREFIX,
	KSYM_MATCH_SUFFIX,
};

/* One classification rule; the length is kept so matching ~150k symbols needs no strlen. */
struct ksym_rule {
	const char *text;
	unsigned char len;
	unsigned char kind;	/* enum ksym_match */
	unsigned char comp;	/* enum kt_component */
};

/* No table is longer: the classifier indexes rules with unsigned short. */
#define KSYM_MAX_RULES	1024

struct ksym_rule_table {
	const struct ksym_rule *rule;
	size_t nr;
};

struct ksym_name_list {
	const char *const *name;
	size_t nr;
};

/* Modules, by their name in kallsyms (the kernel turns '-' in file names into '_'). */
extern const struct ksym_rule_table ksym_module_rules;
/* Built-in code, by symbol name once the prefixes and suffixes of rule 2 are gone. */
extern const struct ksym_rule_table ksym_name_rules;
/* What a system call wrapper's name says once the wrapper's prefix is gone. */
extern const struct ksym_rule_table ksym_syscall_rules;

/* Prefixes of a function's helpers (padding, CFI hash, pv-call thunk), stripped before matching. */
extern const struct ksym_name_list ksym_helper_prefixes;
/* Prefixes of system call wrappers, whose call's name decides by ksym_syscall_rules. */
extern const struct ksym_name_list ksym_syscall_prefixes;
/* Readiness polls: other kernel code wherever they live, modules included. */
extern const struct ksym_name_list ksym_readiness_polls;

#endif /* KT_KSYM_RULES_H */
