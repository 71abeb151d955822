// SPDX-License-Identifier: GPL-2.0
/*
 * Perf events: parsing of every event spelling, the CPU list parser, counters opened into a
 * PERF_EVENT_ARRAY and read back from BPF on each CPU, and the sampler running a program.
 * The open tests need root; they hold whether or not the machine has a hardware PMU.
 */
#include <ctype.h>
#include <sched.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <cmocka.h>

#include "perf_events.h"
#include "sampler_cost.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

struct parsed {
	int n;
	struct counter_spec spec[16];
	char why[256];
};

static int parse(struct parsed *p, const char *list, size_t max)
{
	memset(p, 0, sizeof(*p));
	assert_true(max <= ARRAY_LEN(p->spec));
	p->n = counters_parse(list, p->spec, max, p->why, sizeof(p->why));
	return p->n;
}

/* A list of one event, and what it parses to. */
struct one_event {
	const char *in, *name, *column;
	__u32 type;
	__u64 config;
};

static void assert_one(const struct one_event *e)
{
	struct parsed p;

	if (parse(&p, e->in, 8) != 1)
		fail_msg("\"%s\": %d (%s)", e->in, p.n, p.why);
	assert_string_equal(p.spec[0].name, e->name);
	assert_string_equal(p.spec[0].column, e->column);
	assert_int_equal(p.spec[0].type, e->type);
	assert_int_equal(p.spec[0].config, e->config);
	assert_int_equal(p.spec[0].needs_pmu, e->type != PERF_TYPE_SOFTWARE);
}

static void assert_events(const struct one_event *e, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		assert_one(&e[i]);
}

static void assert_error(const char *list, size_t max, const char *why)
{
	struct parsed p;

	if (parse(&p, list, max) != -1)
		fail_msg("\"%s\" was accepted (%d)", list, p.n);
	assert_string_equal(p.why, why);
}

/* A list the parser refuses with at most max events, and why. */
struct bad_list {
	const char *list;
	size_t max;
	const char *why;
};

static void assert_errors(const struct bad_list *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		assert_error(b[i].list, b[i].max, b[i].why);
}

/* Names of no event: each refused, quoted as it was given. */
static void assert_unknown(const char *const *names, size_t n)
{
	char why[256];
	size_t i;

	for (i = 0; i < n; i++) {
		snprintf(why, sizeof(why), "unknown event \"%s\"", names[i]);
		assert_error(names[i], 8, why);
	}
}

static void test_parse_default(void **state)
{
	struct parsed p;

	(void)state;
	assert_int_equal(parse(&p, COUNTERS_DEFAULT, 8), 4);
	assert_string_equal(p.spec[0].name, "cycles");
	assert_string_equal(p.spec[1].name, "instructions");
	assert_string_equal(p.spec[2].name, "cache-misses");
	assert_string_equal(p.spec[3].name, "branch-misses");
	assert_string_equal(p.spec[2].column, "cache_misses");
	assert_int_equal(p.spec[0].config, PERF_COUNT_HW_CPU_CYCLES);
	assert_int_equal(p.spec[3].config, PERF_COUNT_HW_BRANCH_MISSES);
}

static void test_parse_named(void **state)
{
	/* Every spelling, with the numbers from the perf ABI written out. */
	static const struct one_event cases[] = {
		{ "cycles", "cycles", "cycles", 0, 0 },
		{ "cpu-cycles", "cycles", "cycles", 0, 0 },
		{ "instructions", "instructions", "instructions", 0, 1 },
		{ "cache-references", "cache-references", "cache_references", 0, 2 },
		{ "cache-misses", "cache-misses", "cache_misses", 0, 3 },
		{ "branches", "branches", "branches", 0, 4 },
		{ "branch-instructions", "branches", "branches", 0, 4 },
		{ "branch-misses", "branch-misses", "branch_misses", 0, 5 },
		{ "bus-cycles", "bus-cycles", "bus_cycles", 0, 6 },
		{ "stalled-cycles-frontend", "stalled-cycles-frontend",
		  "stalled_cycles_frontend", 0, 7 },
		{ "idle-cycles-frontend", "stalled-cycles-frontend",
		  "stalled_cycles_frontend", 0, 7 },
		{ "stalled-cycles-backend", "stalled-cycles-backend",
		  "stalled_cycles_backend", 0, 8 },
		{ "idle-cycles-backend", "stalled-cycles-backend", "stalled_cycles_backend", 0, 8 },
		{ "ref-cycles", "ref-cycles", "ref_cycles", 0, 9 },
		{ "cpu-clock", "cpu-clock", "cpu_clock_ns", 1, 0 },
		{ "task-clock", "task-clock", "task_clock_ns", 1, 1 },
		{ "page-faults", "page-faults", "page_faults", 1, 2 },
		{ "faults", "page-faults", "page_faults", 1, 2 },
		{ "context-switches", "context-switches", "context_switches", 1, 3 },
		{ "cs", "context-switches", "context_switches", 1, 3 },
		{ "cpu-migrations", "cpu-migrations", "cpu_migrations", 1, 4 },
		{ "migrations", "cpu-migrations", "cpu_migrations", 1, 4 },
		{ "minor-faults", "minor-faults", "minor_faults", 1, 5 },
		{ "major-faults", "major-faults", "major_faults", 1, 6 },
		{ "alignment-faults", "alignment-faults", "alignment_faults", 1, 7 },
		{ "emulation-faults", "emulation-faults", "emulation_faults", 1, 8 },
		{ "CPU-Cycles", "cycles", "cycles", 0, 0 },
		{ " \tcs  ", "context-switches", "context_switches", 1, 3 },
	};

	(void)state;
	assert_events(cases, ARRAY_LEN(cases));
}

static void test_parse_cache(void **state)
{
	static const char *const caches[] = {
		"L1-dcache", "L1-icache", "LLC", "dTLB", "iTLB", "branch", "node",
	};
	/* Operation and result of each access, in the kernel's numbering. */
	static const struct {
		const char *name;
		unsigned int op, result;
	} accesses[] = {
		{ "loads", 0, 0 }, { "load-misses", 0, 1 },
		{ "stores", 1, 0 }, { "store-misses", 1, 1 },
		{ "prefetches", 2, 0 }, { "prefetch-misses", 2, 1 },
	};
	/* A few encodings spelled out, so the loop below cannot be wrong the same way. */
	static const struct one_event spelled[] = {
		{ "LLC-load-misses", "LLC-load-misses", "llc_load_misses", 3, 0x10002 },
		{ "dTLB-store-misses", "dTLB-store-misses", "dtlb_store_misses", 3, 0x10103 },
		{ "L1-icache-prefetches", "L1-icache-prefetches", "l1_icache_prefetches", 3,
		  0x201 },
		{ "l1-DCACHE-loads", "L1-dcache-loads", "l1_dcache_loads", 3, 0 },
	};
	static const char *const unknown[] = {
		"LLC", "LLC-", "LLC-misses", "L2-dcache-loads", "LLCloads",
	};
	char in[64], column[64];
	struct one_event e;
	size_t c, a, i;

	(void)state;
	for (c = 0; c < ARRAY_LEN(caches); c++) {
		for (a = 0; a < ARRAY_LEN(accesses); a++) {
			snprintf(in, sizeof(in), "%s-%s", caches[c], accesses[a].name);
			for (i = 0; in[i]; i++)
				column[i] = in[i] == '-' ? '_' : (char)tolower(in[i]);
			column[i] = '\0';
			e = (struct one_event){ in, in, column, PERF_TYPE_HW_CACHE,
				c | accesses[a].op << 8 | accesses[a].result << 16 };
			assert_one(&e);
		}
	}
	assert_events(spelled, ARRAY_LEN(spelled));
	assert_unknown(unknown, ARRAY_LEN(unknown));
}

static void test_parse_raw(void **state)
{
	static const struct one_event cases[] = {
		{ "r01c2", "r01c2", "r01c2", PERF_TYPE_RAW, 0x1c2 },
		{ "R1C2", "r1c2", "r1c2", PERF_TYPE_RAW, 0x1c2 },
		{ "r0", "r0", "r0", PERF_TYPE_RAW, 0 },
		{ "rffffffffffffffff", "rffffffffffffffff", "rffffffffffffffff", PERF_TYPE_RAW,
		  UINT64_MAX },
	};
	static const char *const unknown[] = {
		"r", "r1ffffffffffffffff", "r01c2g", "r 1", "r0x1c2", "r-1",
	};

	(void)state;
	assert_events(cases, ARRAY_LEN(cases));
	assert_unknown(unknown, ARRAY_LEN(unknown));
}

static void test_parse_lists(void **state)
{
	static const struct bad_list with_none[] = {
		{ "none,cycles", 8, "\"none\" cannot be combined with other events" },
		{ "cycles,none", 8, "\"none\" cannot be combined with other events" },
		{ "none,none", 8, "\"none\" cannot be combined with other events" },
	};
	struct parsed p;

	(void)state;
	assert_int_equal(parse(&p, " cycles ,\tcpu-clock,r3c , LLC-loads ", 8), 4);
	assert_string_equal(p.spec[0].name, "cycles");
	assert_string_equal(p.spec[1].name, "cpu-clock");
	assert_string_equal(p.spec[2].name, "r3c");
	assert_string_equal(p.spec[3].name, "LLC-loads");
	/* Raw 0x3c is the PMU's own encoding, not a duplicate of the generic cycles. */
	assert_int_equal(parse(&p, "cycles,r3c,r0", 8), 3);
	assert_int_equal(parse(&p, "cycles,instructions", 2), 2);
	assert_int_equal(parse(&p, "cycles,instructions", 1), -1);

	assert_int_equal(parse(&p, "none", 8), 0);
	assert_int_equal(parse(&p, " none ", 8), 0);
	assert_int_equal(parse(&p, "NONE", 0), 0);
	assert_errors(with_none, ARRAY_LEN(with_none));
}

static void test_parse_errors(void **state)
{
	static const char *const unknown[] = { "foo", "cpu clock", "cycles:u" };
	static const struct bad_list cases[] = {
		{ "cycles,foo", 8, "unknown event \"foo\"" },
		{ "", 8, "empty event name in the counter list" },
		{ "  ", 8, "empty event name in the counter list" },
		{ "cycles,", 8, "empty event name in the counter list" },
		{ ",cycles", 8, "empty event name in the counter list" },
		{ "cycles, ,instructions", 8, "empty event name in the counter list" },

		{ "cycles,cycles", 8, "duplicate event \"cycles\"" },
		{ "cycles,cpu-cycles", 8, "duplicate event \"cpu-cycles\" (same as \"cycles\")" },
		{ "page-faults,faults", 8, "duplicate event \"faults\" (same as \"page-faults\")" },
		{ "cs , context-switches", 8, "duplicate event \"context-switches\"" },
		{ "r1c2,r01c2", 8, "duplicate event \"r01c2\" (same as \"r1c2\")" },
		{ "LLC-loads,llc-loads", 8,
		  "duplicate event \"llc-loads\" (same as \"LLC-loads\")" },

		{ "cycles,instructions,branches", 2, "more than 2 events" },
		{ "cycles", 0, "more than 0 events" },
		{ COUNTERS_DEFAULT ",cs,cpu-clock,faults,migrations,task-clock", 8,
		  "more than 8 events" },

		/* Names are quoted safely: control bytes replaced, long ones shortened. */
		{ "cyc\x1b[2Jles", 8, "unknown event \"cyc?[2Jles\"" },
	};
	char long_name[200];

	(void)state;
	assert_unknown(unknown, ARRAY_LEN(unknown));
	assert_errors(cases, ARRAY_LEN(cases));
	memset(long_name, 'x', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	assert_error(long_name, 8,
		     "unknown event \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...\"");
}

static void test_parse_tiny_why(void **state)
{
	struct counter_spec spec[2];
	char why[8];

	(void)state;
	/* A short buffer truncates the reason; no buffer at all is allowed. */
	assert_int_equal(counters_parse("foo", spec, 2, why, sizeof(why)), -1);
	assert_string_equal(why, "unknown");
	assert_int_equal(counters_parse("foo", spec, 2, NULL, 0), -1);
}

static void test_cpu_list(void **state)
{
	static const char *const bad[] = { "2-1", "1-", "x", "1;2", "-1" };
	bool cpus[8];
	size_t i;

	(void)state;
	assert_int_equal(cpu_list_parse("0-3,5,7-8\n", cpus, 8), 0);
	assert_true(cpus[0] && cpus[1] && cpus[2] && cpus[3] && cpus[5] && cpus[7]);
	assert_false(cpus[4] || cpus[6]);
	assert_int_equal(cpu_list_parse("0\n", cpus, 8), 0);
	assert_true(cpus[0]);
	assert_false(cpus[1]);
	assert_int_equal(cpu_list_parse("\n", cpus, 8), 0);
	assert_false(cpus[0]);
	assert_int_equal(cpu_list_parse("", cpus, 8), 0);
	for (i = 0; i < ARRAY_LEN(bad); i++)
		assert_int_equal(cpu_list_parse(bad[i], cpus, 8), -1);
}

/* stderr redirected to a temporary file while warnings are expected. */
struct captured {
	FILE *file;
	int saved;
	char text[4096];
};

static void capture_start(struct captured *c)
{
	fflush(stderr);
	c->file = tmpfile();
	c->saved = dup(STDERR_FILENO);
	assert_non_null(c->file);
	assert_true(c->saved >= 0);
	dup2(fileno(c->file), STDERR_FILENO);
}

/* Restores stderr, echoes what was caught and returns how many lines it holds. */
static int capture_end(struct captured *c)
{
	size_t n;
	int lines = 0;
	char *p;

	fflush(stderr);
	dup2(c->saved, STDERR_FILENO);
	close(c->saved);
	rewind(c->file);
	n = fread(c->text, 1, sizeof(c->text) - 1, c->file);
	c->text[n] = '\0';
	fclose(c->file);
	fputs(c->text, stderr);
	for (p = c->text; *p; p++)
		lines += *p == '\n';
	return lines;
}

static bool is_root(void)
{
	if (geteuid() == 0)
		return true;
	fprintf(stderr, "[  SKIP    ] needs root for perf events and BPF\n");
	return false;
}

/* Whether the machine counts cycles at all, asked of the kernel directly. */
static bool have_cycles(void)
{
	struct perf_event_attr attr = {
		.size = sizeof(attr),
		.type = PERF_TYPE_HARDWARE,
		.config = PERF_COUNT_HW_CPU_CYCLES,
	};
	int fd = syscall(__NR_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static int counters_map(int nr_cpus)
{
	int fd = bpf_map_create(BPF_MAP_TYPE_PERF_EVENT_ARRAY, "counters", sizeof(__u32),
				sizeof(__u32), nr_cpus * KT_MAX_COUNTERS, NULL);

	assert_true(fd >= 0);
	return fd;
}

#define INSN(c, d, s, o, i) ((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), \
						 .off = (o), .imm = (i) })

/*
 * A raw tracepoint program that reads map slot key with bpf_perf_event_read_value() as the
 * product's programs do: returns the helper's error, 1 if the counter is non-zero, else 0.
 */
static int read_slot_prog(int map_fd, __u32 key)
{
	const struct bpf_insn insns[] = {
		INSN(BPF_LD | BPF_DW | BPF_IMM, 1, BPF_PSEUDO_MAP_FD, 0, map_fd),
		INSN(0, 0, 0, 0, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, 2, 0, 0, key),
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, 3, BPF_REG_10, 0, 0),
		INSN(BPF_ALU64 | BPF_ADD | BPF_K, 3, 0, 0, -24),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, 4, 0, 0, 24),
		INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_perf_event_read_value),
		INSN(BPF_JMP | BPF_JNE | BPF_K, 0, 0, 3, 0),
		INSN(BPF_LDX | BPF_MEM | BPF_DW, 0, BPF_REG_10, -24, 0),
		INSN(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 1),
		INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
	};
	char log[4096] = "";
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .log_buf = log, .log_size = sizeof(log),
		    .log_level = 1);
	int fd = bpf_prog_load(BPF_PROG_TYPE_RAW_TRACEPOINT, "kt_read_slot", "GPL", insns,
			       ARRAY_LEN(insns), &opts);

	if (fd < 0)
		fail_msg("loading the slot reader: %s\n%s", strerror(errno), log);
	return fd;
}

/* What the slot reader returns on cpu: 1 (counting), 0 (no growth yet) or -errno. */
static int read_slot(int map_fd, int cpu, __u32 key)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .flags = BPF_F_TEST_RUN_ON_CPU, .cpu = cpu);
	int prog = read_slot_prog(map_fd, key), err;

	err = bpf_prog_test_run_opts(prog, &opts);
	close(prog);
	if (err)
		fail_msg("test run on CPU %d: %s", cpu, strerror(errno));
	return (int)opts.retval;
}

static void test_counters_open(void **state)
{
	struct counter_spec spec[KT_MAX_COUNTERS];
	int nr = libbpf_num_possible_cpus(), map_fd, cpu, lines;
	bool cycles = have_cycles();
	struct counter_set *cs;
	struct captured cap;
	char why[128];
	char buf[4096] = "";
	bool *online;
	FILE *f;

	(void)state;
	if (!is_root())
		return;
	assert_true(nr > 0);
	online = calloc(nr, sizeof(*online));
	assert_non_null(online);
	f = fopen("/sys/devices/system/cpu/online", "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_int_equal(cpu_list_parse(buf, online, nr), 0);

	assert_int_equal(counters_parse("cpu-clock,page-faults,cycles", spec, KT_MAX_COUNTERS, why,
					sizeof(why)), 3);
	map_fd = counters_map(nr);
	capture_start(&cap);
	cs = counters_open(spec, 3, map_fd);
	lines = capture_end(&cap);
	assert_non_null(cs);
	assert_true(counters_active(cs, 0));
	assert_true(counters_active(cs, 1));
	assert_int_equal(counters_active(cs, 2), cycles);
	assert_false(counters_active(cs, 3));
	assert_false(counters_active(NULL, 0));
	if (cycles) {
		assert_int_equal(lines, 0);
	} else {
		assert_int_equal(lines, 1);
		assert_non_null(strstr(cap.text, "kvmtrace-bpf: warning: cannot count cycles: "
					"no hardware PMU here (perf_event_open: "));
		assert_non_null(strstr(cap.text, "); its columns will be empty\n"));
	}

	/* What the BPF programs will see: each CPU's events at its own slots, and no others. */
	usleep(10000);
	for (cpu = 0; cpu < nr; cpu++) {
		if (!online[cpu])
			continue;
		assert_int_equal(read_slot(map_fd, cpu, cpu * KT_MAX_COUNTERS + 0), 1);
		assert_true(read_slot(map_fd, cpu, cpu * KT_MAX_COUNTERS + 1) >= 0);
		assert_int_equal(read_slot(map_fd, cpu, cpu * KT_MAX_COUNTERS + 2) >= 0, cycles);
		assert_int_equal(read_slot(map_fd, cpu, cpu * KT_MAX_COUNTERS + 3), -ENOENT);
		if (nr > 1 && online[(cpu + 1) % nr])
			assert_int_equal(read_slot(map_fd, cpu, (cpu + 1) % nr * KT_MAX_COUNTERS),
					 -EINVAL);
	}
	counters_close(cs);
	counters_close(NULL);
	/* The events live in the map, not in the set. */
	assert_int_equal(read_slot(map_fd, 0, 0), 1);
	close(map_fd);
	free(online);
}

static void test_counters_open_failures(void **state)
{
	struct counter_spec spec[KT_MAX_COUNTERS + 1];
	int nr = libbpf_num_possible_cpus(), map_fd;
	struct counter_set *cs;
	char why[128];

	(void)state;
	if (!is_root())
		return;
	assert_int_equal(counters_parse("cpu-clock,task-clock", spec, 2, why, sizeof(why)), 2);

	errno = 0;
	assert_null(counters_open(spec, 2, -1));
	assert_int_equal(errno, EBADF);

	/* A map too small for the layout is the loader's bug: refused, not half-filled. */
	map_fd = bpf_map_create(BPF_MAP_TYPE_PERF_EVENT_ARRAY, "small", 4, 4, 1, NULL);
	assert_true(map_fd >= 0);
	errno = 0;
	assert_null(counters_open(spec, nr > 1 ? 1 : 2, map_fd));
	assert_int_equal(errno, E2BIG);
	assert_int_equal(read_slot(map_fd, 0, 0), -ENOENT);
	close(map_fd);

	map_fd = counters_map(nr);
	errno = 0;
	assert_null(counters_open(spec, KT_MAX_COUNTERS + 1, map_fd));
	assert_int_equal(errno, EINVAL);

	/* No counters at all ("none") is a valid, empty set. */
	cs = counters_open(spec, 0, map_fd);
	assert_non_null(cs);
	assert_false(counters_active(cs, 0));
	counters_close(cs);
	close(map_fd);
}

/* A perf_event program that only returns: enough to see the sampler run it. */
static int sampler_prog(enum bpf_prog_type type)
{
	const struct bpf_insn insns[] = {
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0),
		INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
	};
	int fd = bpf_prog_load(type, "kt_sample", "GPL", insns, ARRAY_LEN(insns), NULL);

	assert_true(fd >= 0);
	return fd;
}

static __u64 run_count(int prog_fd)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	assert_int_equal(bpf_obj_get_info_by_fd(prog_fd, &info, &len), 0);
	return info.run_cnt;
}

static void burn_cpu(long ns)
{
	struct timespec t;
	long start;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	start = t.tv_sec * 1000000000L + t.tv_nsec;
	do
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	while (t.tv_sec * 1000000000L + t.tv_nsec - start < ns);
}

static void test_sampler(void **state)
{
	int prog, stats, wrong;
	struct sampler *s;
	char why[256];

	(void)state;
	if (!is_root())
		return;
	prog = sampler_prog(BPF_PROG_TYPE_PERF_EVENT);
	/* Run counts are kept only while statistics are on. */
	stats = bpf_enable_stats(BPF_STATS_RUN_TIME);

	s = sampler_open_fd(prog, 1000, why, sizeof(why));
	if (!s)
		fail_msg("sampler_open_fd: %s", why);
	assert_int_equal(sampler_period_ns(s), 1000000);
	assert_int_equal(sampler_hz(s), 1000);
	assert_int_equal(sampler_nr_cpus(s), sysconf(_SC_NPROCESSORS_ONLN));
	burn_cpu(100000000);
	if (stats >= 0)
		assert_true(run_count(prog) >= 10);
	sampler_close(s);
	sampler_close(NULL);
	assert_int_equal(sampler_hz(NULL), 0);
	assert_int_equal(sampler_nr_cpus(NULL), 0);

	s = sampler_open_fd(prog, 3, why, sizeof(why));
	assert_non_null(s);
	assert_int_equal(sampler_period_ns(s), 333333333);
	sampler_close(s);

	errno = 0;
	assert_null(sampler_open_fd(prog, 0, why, sizeof(why)));
	assert_int_equal(errno, EINVAL);
	assert_string_equal(why, "sampling rate 0 Hz is out of range (1 to 100000)");
	assert_null(sampler_open_fd(prog, 100001, why, sizeof(why)));
	assert_string_equal(why, "sampling rate 100001 Hz is out of range (1 to 100000)");
	assert_int_equal(errno, EINVAL);
	assert_null(sampler_open_fd(-1, 99, why, sizeof(why)));
	assert_string_equal(why, "the sampling program is not loaded");
	assert_null(sampler_open(NULL, 99, why, sizeof(why)));
	assert_string_equal(why, "no sampling program");

	/* A program of the wrong type is refused by the kernel at attach. */
	wrong = sampler_prog(BPF_PROG_TYPE_SOCKET_FILTER);
	errno = 0;
	assert_null(sampler_open_fd(wrong, 99, why, sizeof(why)));
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(why, "cannot attach the sampling program on CPU "));
	close(wrong);

	if (stats >= 0)
		close(stats);
	close(prog);
}

/* Runs of prog per second, on all CPUs, while this thread burns 200 ms of CPU time. */
static double runs_per_s(int prog)
{
	__u64 before = run_count(prog);
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	burn_cpu(200000000);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (run_count(prog) - before) /
	       (t1.tv_sec - t0.tv_sec + (t1.tv_nsec - t0.tv_nsec) / 1e9);
}

/* A running sampler with its program, and bpf_stats on (stats < 0: the kernel cannot). */
struct sampler_fixture {
	int prog, stats;
	struct sampler *s;
};

static int sampler_setup(void **state)
{
	static struct sampler_fixture fx;
	char why[256];

	if (!is_root()) {
		*state = NULL;
		return 0;
	}
	fx.prog = sampler_prog(BPF_PROG_TYPE_PERF_EVENT);
	fx.stats = bpf_enable_stats(BPF_STATS_RUN_TIME);
	fx.s = sampler_open_fd(fx.prog, 100, why, sizeof(why));
	*state = &fx;
	return fx.s ? 0 : -1;
}

static int sampler_teardown(void **state)
{
	struct sampler_fixture *fx = *state;

	if (!fx)
		return 0;
	sampler_close(fx->s);
	if (fx->stats >= 0)
		close(fx->stats);
	close(fx->prog);
	return 0;
}

/* A new rate takes at once, on the events already running; out of range, nothing changes. */
static void test_sampler_new_rate(void **state)
{
	struct sampler_fixture *fx = *state;
	char why[256];
	double rate;

	if (!fx)
		return;
	assert_int_equal(sampler_set_hz(fx->s, 1000, why, sizeof(why)), 0);
	assert_int_equal(sampler_hz(fx->s), 1000);
	assert_int_equal(sampler_period_ns(fx->s), 1000000);
	/* The CPU this thread keeps busy samples at 1000 Hz, whatever the others do. */
	rate = runs_per_s(fx->prog);
	if (fx->stats >= 0 && rate < 900)
		fail_msg("%.0f runs per second at 1000 Hz", rate);
	assert_int_equal(sampler_set_hz(fx->s, 0, why, sizeof(why)), -1);
	assert_string_equal(why, "sampling rate 0 Hz is out of range (1 to 100000)");
	assert_int_equal(sampler_hz(fx->s), 1000);
	assert_true(sampler_max_hz() >= 1000 && sampler_max_hz() <= 100000);
}

/*
 * What a sample costs, measured: some time, less than a millisecond even on a nested VM; the
 * thread may run anywhere again afterwards, and the measuring events are gone.
 */
static void test_sampler_cost(void **state)
{
	struct sampler_fixture *fx = *state;
	cpu_set_t before, after;
	char why[256];
	double cost;

	if (!fx)
		return;
	assert_int_equal(sched_getaffinity(0, sizeof(before), &before), 0);
	cost = sampler_cost_measure(fx->s, why, sizeof(why));
	if (cost < 0)
		fail_msg("sampler_cost_measure: %s", why);
	assert_true(cost < 1e6);
	assert_int_equal(sched_getaffinity(0, sizeof(after), &after), 0);
	assert_true(CPU_EQUAL(&before, &after));
	/* Only the sampler's 100 Hz per CPU run the program now. */
	if (fx->stats >= 0 && runs_per_s(fx->prog) > 150 * sysconf(_SC_NPROCESSORS_ONLN))
		fail_msg("the probe event still samples");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_default),
		cmocka_unit_test(test_parse_named),
		cmocka_unit_test(test_parse_cache),
		cmocka_unit_test(test_parse_raw),
		cmocka_unit_test(test_parse_lists),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_parse_tiny_why),
		cmocka_unit_test(test_cpu_list),
		cmocka_unit_test_setup_teardown(test_sampler_new_rate, sampler_setup,
						sampler_teardown),
		cmocka_unit_test_setup_teardown(test_sampler_cost, sampler_setup, sampler_teardown),
		cmocka_unit_test(test_counters_open),
		cmocka_unit_test(test_counters_open_failures),
		cmocka_unit_test(test_sampler),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
