// SPDX-License-Identifier: GPL-2.0
/* The kallsyms loader: the fixture's ranges, the search, errors, limits, modules, this host. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "components.h"
#include "ksyms.h"

#define FIXTURE_KALLSYMS	"tests/unit/fixtures/kallsyms"
#define FIXTURE_MODULES		"tests/unit/fixtures/modules"

/* The fixture's ranges, worked out by hand from its symbols. */
static const struct kt_ksym_range fixture_ranges[] = {
	{ 0xffffffff81000000, KT_COMP_OTHER_KERNEL, 0 },	/* _stext, entry code */
	{ 0xffffffff81001100, KT_COMP_NET, 0 },		/* __pfx___x64_sys_sendmsg */
	{ 0xffffffff81001200, KT_COMP_OTHER_KERNEL, 0 },	/* __x64_sys_read */
	{ 0xffffffff81001300, KT_COMP_SCHED, 0 },		/* __x64_sys_sched_yield */
	{ 0xffffffff81001400, KT_COMP_BLOCK, 0 },		/* __x64_sys_io_submit */
	{ 0xffffffff81001500, KT_COMP_OTHER_KERNEL, 0 },	/* tune_lru_gen */
	/* update_curr .. pick_next_task_fair, with two static helpers filled in. */
	{ 0xffffffff81010000, KT_COMP_SCHED, 0 },
	{ 0xffffffff81010500, KT_COMP_OTHER_KERNEL, 0 },	/* tracing glue stays other */
	{ 0xffffffff81010600, KT_COMP_SCHED, 0 },		/* try_to_wake_up */
	/* schedule_on_each_cpu, then nr_running, which a decided other does not donate to */
	{ 0xffffffff81010700, KT_COMP_OTHER_KERNEL, 0 },
	{ 0xffffffff81010900, KT_COMP_SCHED, 0 },		/* wake_up_process */
	{ 0xffffffff81011000, KT_COMP_OTHER_KERNEL, 0 },	/* rt_mutex_lock */
	/* __brelse .. bio_endio: 8 buffer-head helpers (and their __pfx_) filled in */
	{ 0xffffffff81011100, KT_COMP_BLOCK, 0 },
	{ 0xffffffff81700000, KT_COMP_TAP, 0 },		/* tap_get_socket */
	{ 0xffffffff81700100, KT_COMP_OTHER_KERNEL, 0 },	/* 9 loopback functions: too many */
	{ 0xffffffff81700a00, KT_COMP_TAP, 0 },		/* tun_get_user */
	{ 0xffffffff81800000, KT_COMP_NET, 0 },		/* netif_rx */
	{ 0xffffffff81800100, KT_COMP_OTHER_KERNEL, 0 },	/* __traceiter_net_dev_xmit */
	{ 0xffffffff81800200, KT_COMP_NET, 0 },		/* napi_gro_receive .. tcp_sendmsg */
	{ 0xffffffff81900000, KT_COMP_BRIDGE, 0 },		/* br_handle_frame */
	{ 0xffffffff81900300, KT_COMP_VHOST, 0 },		/* vhost_task_fn */
	{ 0xffffffff81a00000, KT_COMP_OTHER_KERNEL, 0 },	/* security_file_open */
	{ 0xffffffff82000000, KT_COMP_SCHED, 0 },		/* __schedule, not its marker */
	{ 0xffffffff82000500, KT_COMP_OTHER_KERNEL, 0 },	/* mutex_lock in .sched.text */
	{ 0xffffffff82000600, KT_COMP_SCHED, 0 },		/* schedule_timeout */
	/* _raw_spin_lock, _etext, then init code, freed: other whatever its names */
	{ 0xffffffff82000700, KT_COMP_OTHER_KERNEL, 0 },
	{ 0xffffffffc0900000, KT_COMP_KVM, 0 },		/* [kvm], then [kvm_intel] */
	{ 0xffffffffc0b00000, KT_COMP_TAP, 0 },		/* [tun] */
	{ 0xffffffffc0c00000, KT_COMP_BRIDGE, 0 },		/* [bridge] */
	{ 0xffffffffc0d00000, KT_COMP_VHOST, 0 },		/* [vhost_net], then [vhost] */
	{ 0xffffffffc0e00000, KT_COMP_NET, 0 },		/* [virtio_net] */
	{ 0xffffffffc0f00000, KT_COMP_BLOCK, 0 },		/* [ext4] */
	{ 0xffffffffc1000000, KT_COMP_OTHER_KERNEL, 0 },	/* [i2c_piix4], then [bpf] */
};

#define NR_FIXTURE_RANGES (sizeof(fixture_ranges) / sizeof(fixture_ranges[0]))

static void test_load_fixture(void **state)
{
	struct ksym_ranges r;
	size_t i;

	(void)state;
	assert_int_equal(ksym_ranges_load(FIXTURE_KALLSYMS, &r), 0);
	for (i = 0; i < r.nr && i < NR_FIXTURE_RANGES; i++) {
		if (r.range[i].start != fixture_ranges[i].start ||
		    r.range[i].component != fixture_ranges[i].component)
			fail_msg("range %zu: %#llx %s, want %#llx %s", i,
				 (unsigned long long)r.range[i].start,
				 component_name(r.range[i].component),
				 (unsigned long long)fixture_ranges[i].start,
				 component_name(fixture_ranges[i].component));
		assert_int_equal(r.range[i].pad, 0);
	}
	assert_int_equal(r.nr, NR_FIXTURE_RANGES);
	assert_int_equal(r.text_start, 0xffffffff81000000ULL);
	/* Sorted and merged: the BPF search relies on both. */
	for (i = 1; i < r.nr; i++) {
		assert_true(r.range[i - 1].start < r.range[i].start);
		assert_int_not_equal(r.range[i - 1].component, r.range[i].component);
	}
	ksym_ranges_free(&r);
	assert_null(r.range);
	assert_int_equal(r.nr, 0);
	/* Freeing twice is harmless. */
	ksym_ranges_free(&r);
}

/* The component of the range addr falls in, or -1 below the first. */
static int component_at(const struct ksym_ranges *r, uint64_t addr)
{
	long i = ksym_ranges_find(r, addr);

	return i < 0 ? -1 : (int)r->range[i].component;
}

static void test_find(void **state)
{
	struct ksym_ranges r, empty = { 0 };
	size_t i;

	(void)state;
	assert_int_equal(ksym_ranges_load(FIXTURE_KALLSYMS, &r), 0);
	assert_int_equal(r.nr, NR_FIXTURE_RANGES);
	for (i = 0; i < r.nr; i++) {
		/* At the exact start, and just before the next range. */
		assert_int_equal(ksym_ranges_find(&r, r.range[i].start), i);
		if (i + 1 < r.nr)
			assert_int_equal(ksym_ranges_find(&r, r.range[i + 1].start - 1), i);
	}
	/* Inside: vmx_vcpu_run's body is kvm; tcp_sendmsg's is net; mutex_lock's is not sched. */
	assert_int_equal(component_at(&r, 0xffffffffc0a00123), KT_COMP_KVM);
	assert_int_equal(component_at(&r, 0xffffffff81800a42), KT_COMP_NET);
	assert_int_equal(component_at(&r, 0xffffffff82000510), KT_COMP_OTHER_KERNEL);
	/* Init code, freed after boot, is other even where its names say kvm. */
	assert_int_equal(component_at(&r, 0xffffffff83000100), KT_COMP_OTHER_KERNEL);
	/* Below the first range: user space. */
	assert_int_equal(ksym_ranges_find(&r, r.text_start - 1), -1);
	assert_int_equal(ksym_ranges_find(&r, 0x7f0000001000), -1);
	assert_int_equal(ksym_ranges_find(&r, 0), -1);
	/* Above the last: the last range extends upward. */
	assert_int_equal(ksym_ranges_find(&r, 0xffffffffc1100010), r.nr - 1);
	assert_int_equal(ksym_ranges_find(&r, UINT64_MAX), r.nr - 1);
	assert_int_equal(ksym_ranges_find(&empty, 0xffffffff81000000), -1);
	ksym_ranges_free(&r);
}

/* Writes text to a new temporary file and returns its name (static storage). */
static const char *temp_file(const char *text)
{
	static char path[64];
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "/tmp/test_ksyms.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	return path;
}

static void test_errors(void **state)
{
	/* What a process without CAP_SYSLOG reads under kptr_restrict. */
	static const char restricted[] =
		"0000000000000000 T _stext\n"
		"0000000000000000 t tcp_sendmsg\n"
		"0000000000000000 t vmx_vcpu_run\t[kvm_intel]\n"
		"0000000000000000 D jiffies\n";
	static const char no_text[] =
		"ffffffff82200000 D jiffies\n"
		"ffffffff82300000 B __bss_start\n"
		"garbage\n"
		"\n";
	struct ksym_ranges r = { (void *)1, 42, 42 };
	const char *path;

	(void)state;
	path = temp_file(restricted);
	assert_int_equal(ksym_ranges_load(path, &r), -EPERM);
	unlink(path);
	assert_null(r.range);
	assert_int_equal(r.nr, 0);
	assert_int_equal(r.text_start, 0);

	path = temp_file(no_text);
	assert_int_equal(ksym_ranges_load(path, &r), -ENODATA);
	unlink(path);
	assert_null(r.range);

	assert_int_equal(ksym_ranges_load("tests/unit/fixtures/no-such-file", &r), -ENOENT);
	assert_null(r.range);
	assert_int_equal(r.nr, 0);
}

/* A kallsyms of n symbols alternating between two components: n ranges. */
static const char *alternating(size_t n)
{
	size_t i, len = 0, cap = n * 48 + 1;
	char *text = malloc(cap);
	const char *path;

	assert_non_null(text);
	for (i = 0; i < n; i++)
		len += snprintf(text + len, cap - len, "%016llx t %s_%zu\n",
				0xffffffff81000000ULL + i * 16, i % 2 ? "ext4" : "tcp", i);
	path = temp_file(text);
	free(text);
	return path;
}

static void test_too_many_ranges(void **state)
{
	struct ksym_ranges r;
	const char *path;

	(void)state;
	path = alternating(KT_MAX_KSYM_RANGES);
	assert_int_equal(ksym_ranges_load(path, &r), 0);
	unlink(path);
	assert_int_equal(r.nr, KT_MAX_KSYM_RANGES);
	ksym_ranges_free(&r);

	path = alternating(KT_MAX_KSYM_RANGES + 1);
	assert_int_equal(ksym_ranges_load(path, &r), -E2BIG);
	unlink(path);
	assert_null(r.range);
	assert_int_equal(r.nr, 0);
}

static void test_exists(void **state)
{
	(void)state;
	/* Text, data, module and zero-address symbols all count; prefixes do not. */
	assert_true(ksym_exists(FIXTURE_KALLSYMS, "tcp_sendmsg"));
	assert_true(ksym_exists(FIXTURE_KALLSYMS, "jiffies"));
	assert_true(ksym_exists(FIXTURE_KALLSYMS, "vmx_vcpu_run"));
	assert_true(ksym_exists(FIXTURE_KALLSYMS, "fixed_percpu_data"));
	assert_true(ksym_exists(FIXTURE_KALLSYMS, "bpf_prog_6deef7357e7b4530_sd_fw_egress"));
	assert_false(ksym_exists(FIXTURE_KALLSYMS, "tcp_send"));
	assert_false(ksym_exists(FIXTURE_KALLSYMS, "kvm_intel"));
	assert_false(ksym_exists(FIXTURE_KALLSYMS, "T"));
	assert_false(ksym_exists(FIXTURE_KALLSYMS, ""));
	assert_false(ksym_exists("tests/unit/fixtures/no-such-file", "tcp_sendmsg"));
}

/* Reads a whole small file into a malloc'ed string. */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *text = calloc(1, 65536);
	size_t n;

	assert_non_null(f);
	assert_non_null(text);
	n = fread(text, 1, 65535, f);
	assert_true(n > 0);
	fclose(f);
	return text;
}

static uint64_t fingerprint_of(const char *text)
{
	const char *path = temp_file(text);
	uint64_t h = ksym_modules_fingerprint(path);

	unlink(path);
	return h;
}

static void test_fingerprint(void **state)
{
	char *text = slurp(FIXTURE_MODULES), *p;
	uint64_t base;

	(void)state;
	base = ksym_modules_fingerprint(FIXTURE_MODULES);
	assert_int_not_equal(base, 0);
	assert_int_equal(ksym_modules_fingerprint(FIXTURE_MODULES), base);
	assert_int_equal(fingerprint_of(text), base);

	/* A reference count or a size says nothing about the code: no change. */
	p = strstr(text, "tun 61440 2");
	assert_non_null(p);
	p[10] = '3';
	assert_int_equal(fingerprint_of(text), base);

	/* tun reloaded at another address: a new fingerprint. */
	p = strstr(text, "0xffffffffc0b00000");
	assert_non_null(p);
	p[12] = 'c';
	assert_int_not_equal(fingerprint_of(text), base);
	p[12] = 'b';
	assert_int_equal(fingerprint_of(text), base);

	/* A module unloaded: the last line goes. */
	p = strstr(text, "ext4 ");
	assert_non_null(p);
	*p = '\0';
	assert_int_not_equal(fingerprint_of(text), base);

	/* No modules at all is something, and so not a read failure. */
	assert_int_not_equal(fingerprint_of(""), 0);
	assert_int_not_equal(fingerprint_of(""), base);
	assert_int_equal(ksym_modules_fingerprint("tests/unit/fixtures/no-such-file"), 0);
	free(text);
}

/* The address of a text symbol in a kallsyms file, or 0. */
static uint64_t symbol_address(const char *path, const char *name)
{
	char line[512], type, sym[256];
	unsigned long long addr;
	uint64_t found = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		if (sscanf(line, "%llx %c %255s", &addr, &type, sym) == 3 && strchr("tT", type) &&
		    !strcmp(sym, name))
			found = addr;
	fclose(f);
	return found;
}

static void test_real_kallsyms(void **state)
{
	static const struct {
		const char *name;
		enum kt_component comp;
	} known[] = {
		{ "__schedule", KT_COMP_SCHED },
		{ "try_to_wake_up", KT_COMP_SCHED },
		{ "netif_receive_skb", KT_COMP_NET },
		{ "tcp_sendmsg", KT_COMP_NET },
		{ "submit_bio_noacct", KT_COMP_BLOCK },
		{ "kvm_vcpu_ioctl", KT_COMP_KVM },
		{ "tun_get_user", KT_COMP_TAP },
		{ "br_handle_frame", KT_COMP_BRIDGE },
		{ "_raw_spin_lock", KT_COMP_OTHER_KERNEL },
	};
	const char *path = "/proc/kallsyms";
	struct ksym_ranges r;
	size_t i, checked = 0;
	long idx;
	int err;

	(void)state;
	err = ksym_ranges_load(path, &r);
	if (err == -EPERM || err == -ENOENT || err == -EACCES) {
		print_message("/proc/kallsyms not readable here (%s): skipped\n", strerror(-err));
		skip();
	}
	assert_int_equal(err, 0);
	print_message("/proc/kallsyms: %zu ranges, kernel text from %#llx\n", r.nr,
		      (unsigned long long)r.text_start);
	assert_true(r.nr > 0);
	assert_true(r.nr < KT_MAX_KSYM_RANGES);
	assert_true(r.text_start != 0);
	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		uint64_t addr = symbol_address(path, known[i].name);

		/* kvm, tun, bridge may be modules that are not loaded, or not built at all. */
		if (!addr)
			continue;
		idx = ksym_ranges_find(&r, addr);
		assert_true(idx >= 0);
		if (r.range[idx].component != known[i].comp)
			fail_msg("%s at %#llx: %s, want %s", known[i].name,
				 (unsigned long long)addr, component_name(r.range[idx].component),
				 component_name(known[i].comp));
		checked++;
	}
	/* __schedule and netif_receive_skb are in every kernel. */
	assert_true(checked >= 2);
	ksym_ranges_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_fixture),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_too_many_ranges),
		cmocka_unit_test(test_exists),
		cmocka_unit_test(test_fingerprint),
		cmocka_unit_test(test_real_kallsyms),
	};

	return cmocka_run_group_tests_name("ksyms", tests, NULL, NULL);
}
