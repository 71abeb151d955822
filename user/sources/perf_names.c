// SPDX-License-Identifier: GPL-2.0
/* perf's event names, as `perf stat -e` spells them, parsed into counter specs. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "perf_names.h"

/* A named generic event; alias is the other spelling perf accepts, or NULL. */
struct named_event {
	const char *name;
	const char *alias;
	__u32 type;
	__u64 config;
};

static const struct named_event named_events[] = {
	{ "cycles", "cpu-cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES },
	{ "instructions", NULL, PERF_TYPE_HARDWARE, PERF_COUNT_HW_INSTRUCTIONS },
	{ "cache-references", NULL, PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_REFERENCES },
	{ "cache-misses", NULL, PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_MISSES },
	{ "branches", "branch-instructions", PERF_TYPE_HARDWARE,
	  PERF_COUNT_HW_BRANCH_INSTRUCTIONS },
	{ "branch-misses", NULL, PERF_TYPE_HARDWARE, PERF_COUNT_HW_BRANCH_MISSES },
	{ "bus-cycles", NULL, PERF_TYPE_HARDWARE, PERF_COUNT_HW_BUS_CYCLES },
	{ "stalled-cycles-frontend", "idle-cycles-frontend", PERF_TYPE_HARDWARE,
	  PERF_COUNT_HW_STALLED_CYCLES_FRONTEND },
	{ "stalled-cycles-backend", "idle-cycles-backend", PERF_TYPE_HARDWARE,
	  PERF_COUNT_HW_STALLED_CYCLES_BACKEND },
	{ "ref-cycles", NULL, PERF_TYPE_HARDWARE, PERF_COUNT_HW_REF_CPU_CYCLES },
	{ "cpu-clock", NULL, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_CLOCK },
	{ "task-clock", NULL, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_TASK_CLOCK },
	{ "page-faults", "faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS },
	{ "context-switches", "cs", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CONTEXT_SWITCHES },
	{ "cpu-migrations", "migrations", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_MIGRATIONS },
	{ "minor-faults", NULL, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS_MIN },
	{ "major-faults", NULL, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS_MAJ },
	{ "alignment-faults", NULL, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_ALIGNMENT_FAULTS },
	{ "emulation-faults", NULL, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_EMULATION_FAULTS },
};

/* Generic cache events are "<cache>-<access>"; perf's spellings of both halves. */
static const struct {
	const char *name;
	__u32 id;
} cache_names[] = {
	{ "L1-dcache", PERF_COUNT_HW_CACHE_L1D },
	{ "L1-icache", PERF_COUNT_HW_CACHE_L1I },
	{ "LLC", PERF_COUNT_HW_CACHE_LL },
	{ "dTLB", PERF_COUNT_HW_CACHE_DTLB },
	{ "iTLB", PERF_COUNT_HW_CACHE_ITLB },
	{ "branch", PERF_COUNT_HW_CACHE_BPU },
	{ "node", PERF_COUNT_HW_CACHE_NODE },
};

static const struct {
	const char *name;
	__u32 op;
	__u32 result;
} cache_accesses[] = {
	{ "loads", PERF_COUNT_HW_CACHE_OP_READ, PERF_COUNT_HW_CACHE_RESULT_ACCESS },
	{ "load-misses", PERF_COUNT_HW_CACHE_OP_READ, PERF_COUNT_HW_CACHE_RESULT_MISS },
	{ "stores", PERF_COUNT_HW_CACHE_OP_WRITE, PERF_COUNT_HW_CACHE_RESULT_ACCESS },
	{ "store-misses", PERF_COUNT_HW_CACHE_OP_WRITE, PERF_COUNT_HW_CACHE_RESULT_MISS },
	{ "prefetches", PERF_COUNT_HW_CACHE_OP_PREFETCH, PERF_COUNT_HW_CACHE_RESULT_ACCESS },
	{ "prefetch-misses", PERF_COUNT_HW_CACHE_OP_PREFETCH, PERF_COUNT_HW_CACHE_RESULT_MISS },
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* A user's name made safe to quote in a one-line message: shortened, control bytes as '?'. */
static void printable(const char *s, size_t n, char *out, size_t outlen)
{
	size_t i, max = outlen - sizeof("...");

	for (i = 0; i < n && i < max; i++)
		out[i] = isprint((unsigned char)s[i]) ? s[i] : '?';
	strcpy(out + i, i < n ? "..." : "");
}

static void fill_spec(struct counter_spec *spec, const char *name, __u32 type, __u64 config)
{
	size_t i;

	memset(spec, 0, sizeof(*spec));
	snprintf(spec->name, sizeof(spec->name), "%s", name);
	for (i = 0; name[i] && i + 1 < sizeof(spec->column); i++)
		spec->column[i] = name[i] == '-' ? '_' : tolower((unsigned char)name[i]);
	/* The clocks count nanoseconds; the unit belongs in the column name. */
	if (type == PERF_TYPE_SOFTWARE &&
	    (config == PERF_COUNT_SW_CPU_CLOCK || config == PERF_COUNT_SW_TASK_CLOCK))
		strcat(spec->column, "_ns");
	spec->type = type;
	spec->config = config;
	spec->needs_pmu = type != PERF_TYPE_SOFTWARE;
}

static bool parse_named(const char *tok, struct counter_spec *spec)
{
	const struct named_event *e;

	for (e = named_events; e < named_events + ARRAY_LEN(named_events); e++) {
		if (!strcasecmp(tok, e->name) || (e->alias && !strcasecmp(tok, e->alias))) {
			fill_spec(spec, e->name, e->type, e->config);
			return true;
		}
	}
	return false;
}

static bool parse_cache(const char *tok, struct counter_spec *spec)
{
	char name[sizeof(spec->name)];
	size_t c, a, n;

	for (c = 0; c < ARRAY_LEN(cache_names); c++) {
		n = strlen(cache_names[c].name);
		if (strncasecmp(tok, cache_names[c].name, n) || tok[n] != '-')
			continue;
		for (a = 0; a < ARRAY_LEN(cache_accesses); a++) {
			if (strcasecmp(tok + n + 1, cache_accesses[a].name))
				continue;
			snprintf(name, sizeof(name), "%s-%s", cache_names[c].name,
				 cache_accesses[a].name);
			/* The kernel's encoding: cache id, operation and result, a byte each. */
			fill_spec(spec, name, PERF_TYPE_HW_CACHE,
				  cache_names[c].id | cache_accesses[a].op << 8 |
				  cache_accesses[a].result << 16);
			return true;
		}
	}
	return false;
}

/* rNNNN: up to 16 hex digits, the config as the PMU takes it. */
static bool parse_raw(const char *tok, struct counter_spec *spec)
{
	char name[sizeof(spec->name)];
	size_t n, i;

	if (tok[0] != 'r' && tok[0] != 'R')
		return false;
	n = strlen(tok + 1);
	if (!n || n > 16 || strspn(tok + 1, "0123456789abcdefABCDEF") != n)
		return false;
	name[0] = 'r';
	for (i = 0; i <= n; i++)
		name[i + 1] = tolower((unsigned char)tok[i + 1]);
	fill_spec(spec, name, PERF_TYPE_RAW, strtoull(tok + 1, NULL, 16));
	return true;
}

int counters_parse(const char *list, struct counter_spec *out, size_t max, char *why, size_t len)
{
	const char *p = list, *end;
	char tok[64], shown[48];
	struct counter_spec spec;
	size_t n = 0, tokens = 0, tlen, i;
	bool none = false;

	for (;;) {
		end = p + strcspn(p, ",");
		while (p < end && isspace((unsigned char)*p))
			p++;
		tlen = end - p;
		while (tlen && isspace((unsigned char)p[tlen - 1]))
			tlen--;
		printable(p, tlen, shown, sizeof(shown));
		if (!tlen) {
			kt_why(why, len, "empty event name in the counter list");
			return -1;
		}
		if (tlen >= sizeof(tok)) {
			kt_why(why, len, "unknown event \"%s\"", shown);
			return -1;
		}
		memcpy(tok, p, tlen);
		tok[tlen] = '\0';
		tokens++;

		if (!strcasecmp(tok, "none")) {
			none = true;
		} else if (!parse_named(tok, &spec) && !parse_cache(tok, &spec) &&
			   !parse_raw(tok, &spec)) {
			kt_why(why, len, "unknown event \"%s\"", shown);
			return -1;
		} else {
			/* Aliases and raw spellings with leading zeros are caught here too. */
			for (i = 0; i < n; i++) {
				if (out[i].type != spec.type || out[i].config != spec.config)
					continue;
				if (strcmp(tok, out[i].name))
					kt_why(why, len, "duplicate event \"%s\" (same as \"%s\")",
						shown, out[i].name);
				else
					kt_why(why, len, "duplicate event \"%s\"", shown);
				return -1;
			}
			if (n >= max) {
				kt_why(why, len, "more than %zu events", max);
				return -1;
			}
			out[n++] = spec;
		}
		if (none && tokens > 1) {
			kt_why(why, len, "\"none\" cannot be combined with other events");
			return -1;
		}
		if (!*end)
			break;
		p = end + 1;
	}
	return (int)n;
}

bool counter_is_clock(const struct counter_spec *spec)
{
	return spec->type == PERF_TYPE_SOFTWARE && (spec->config == PERF_COUNT_SW_CPU_CLOCK ||
						    spec->config == PERF_COUNT_SW_TASK_CLOCK);
}
