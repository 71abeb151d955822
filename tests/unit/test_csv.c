// SPDX-License-Identifier: GPL-2.0
/*
 * CSV sink: exact rows, quoting, empty-vs-0, safe file names, and the file handling (header
 * check, setting foreign files aside, appending, symlink refusal, write failures).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <zlib.h>

#include "csv.h"

static const struct interval_info iv = {
	.timestamp = "2026-11-22T16:47:36.123Z",
	.epoch_s = 1795366056.123,
	.interval_s = 1.00025,
};

#define T "2026-11-22T16:47:36.123Z,1795366056.123,1.000250,"

/* The headers as text; test_headers() checks they are what the sink exports. */
#define VM_HDR_TEXT "timestamp,epoch_s,interval_s,vm,uuid,pid,vcpus,cpu_total_ns,cpu_guest_ns," \
	"cpu_hyp_ns,cpu_hyp_user_ns,cpu_hyp_kernel_ns,exits,exit_handling_ns,run_delay_ns," \
	"top_exit_reason,net_rx_bytes,net_tx_bytes,net_rx_packets,net_tx_packets,mem_rss_bytes," \
	"mem_guest_bytes,disk_read_bytes,disk_write_bytes,disk_read_ops,disk_write_ops," \
	"disk_lat_avg_us,host_power_w,vm_power_w,power_source,host_energy_j,guest_cycles," \
	"host_cycles,guest_instructions,host_instructions,cache_misses,branch_misses," \
	"hyp_qemu_user_ns,hyp_kvm_ns,hyp_vhost_ns,hyp_tap_ns,hyp_bridge_ns,hyp_net_ns," \
	"hyp_block_ns,hyp_sched_ns,hyp_other_kernel_ns,ext_vhost_ns,ext_tap_ns,ext_bridge_ns," \
	"ext_net_ns,guest_source"
#define VCPU_HDR_TEXT "timestamp,epoch_s,interval_s,vm,pid,tid,vcpu,thread,cpu_total_ns," \
	"cpu_guest_ns,exits,exit_handling_ns,run_delay_ns"
#define EXITS_HDR_TEXT "timestamp,epoch_s,interval_s,vm,pid,isa,reason_code,reason,count," \
	"handling_ns"
#define VM_HDR VM_HDR_TEXT "\n"
#define VCPU_HDR VCPU_HDR_TEXT "\n"
#define EXITS_HDR EXITS_HDR_TEXT "\n"
/* The counter and component columns of a run without counters or sampler: 19 empty fields. */
#define UNSAMPLED ",,,,,,,,,,,,,,,,,,,,"
#define UUID "5f3c2a9e-1b2c-4d5e-8f90-a1b2c3d4e5f6"

static struct vcpu_record vcpus[2];
static struct exit_record exits[3];

/* A VM with everything measured: 2 vCPU threads and 3 exit reasons. */
static void full_record(struct vm_record *r)
{
	memset(r, 0, sizeof(*r));
	strcpy(r->vm, "web-01");
	strcpy(r->uuid, UUID);
	r->pid = 4242;
	r->vcpus = 2;
	r->cpu_total_ns = 1500000000;
	r->cpu_guest_ns = 1200000000;
	r->cpu_hyp_ns = 300000000;
	r->cpu_hyp_user_ns = 100000000;
	r->cpu_hyp_kernel_ns = 200000000;
	r->exits = 12345;
	r->exit_handling_ns = 45000000;
	r->run_delay_ns = 2500000;
	strcpy(r->top_exit_reason, "EPT_VIOLATION");
	r->guest_valid = true;
	r->guest_source = GUEST_SOURCE_TRACEPOINT;
	r->hyp_split_valid = true;
	r->net_valid = true;
	r->net_rx_bytes = 1000;
	r->net_tx_bytes = 2000;
	r->net_rx_packets = 10;
	r->net_tx_packets = 20;
	r->mem_rss_bytes = 536870912;
	r->mem_guest_bytes = 1073741824;
	r->disk_valid = true;
	r->disk_read_bytes = 65536;
	r->disk_write_bytes = 8388608;
	r->disk_read_ops = 16;
	r->disk_write_ops = 128;
	r->disk_lat_avg_us = 412.5;
	r->host_power_w = 120.5;
	r->vm_power_w = 30.25;
	r->power_source = "rapl";
	r->host_energy_j = 120.5;
	/* The default counters, one of them not counted here; the sampler ran. */
	r->nr_counters = 4;
	r->counter[0] = (struct counter_record){ "cycles", "cycles", true, 3000000, 1000000 };
	r->counter[1] = (struct counter_record){ "instructions", "instructions", true, 4000000,
						 500000 };
	r->counter[2] = (struct counter_record){ "cache-misses", "cache_misses", true, 700, 300 };
	r->counter[3] = (struct counter_record){ "branch-misses", "branch_misses", false, 0, 0 };
	r->hyp_components_valid = true;
	r->hyp_component_ns[KT_COMP_QEMU_USER] = 100000000;
	r->hyp_component_ns[KT_COMP_KVM] = 150000000;
	r->hyp_component_ns[KT_COMP_OTHER_KERNEL] = 50000000;
	r->ext_components_valid = true;
	r->ext_component_ns[KT_COMP_BRIDGE] = 2000000;

	memset(vcpus, 0, sizeof(vcpus));
	vcpus[0] = (struct vcpu_record){ .tid = 4250, .vcpu = 0, .thread = "CPU 0/KVM",
		.cpu_total_ns = 800000000, .cpu_guest_ns = 700000000, .exits = 6000,
		.exit_handling_ns = 20000000, .run_delay_ns = 1000000 };
	vcpus[1] = (struct vcpu_record){ .tid = 4251, .vcpu = -1, .thread = "vcpu,\"x\"",
		.cpu_total_ns = 0, .cpu_guest_ns = 0, .exits = 0, .exit_handling_ns = 0,
		.run_delay_ns = 0 };
	r->nr_vcpus = 2;
	r->vcpu = vcpus;

	memset(exits, 0, sizeof(exits));
	exits[0] = (struct exit_record){ .isa = 1, .reason = 48, .name = "EPT_VIOLATION",
		.count = 10000, .handling_ns = 40000000 };
	exits[1] = (struct exit_record){ .isa = 2, .reason = 0x7b, .name = "",
		.count = 2345, .handling_ns = 5000000 };
	exits[2] = (struct exit_record){ .isa = 9, .reason = 3, .name = "", .count = 0,
		.handling_ns = 0 };
	r->nr_exits = 3;
	r->exit = exits;
}

/* A VM never seen in guest mode, with unknown UUID and vCPU count. */
static void bare_record(struct vm_record *r)
{
	memset(r, 0, sizeof(*r));
	strcpy(r->vm, "web-02");
	r->pid = 77;
	r->vcpus = -1;
	r->cpu_total_ns = 1000;
	r->cpu_hyp_ns = 1000;
	r->cpu_hyp_user_ns = 600;
	r->cpu_hyp_kernel_ns = 400;
	r->exits = 99;
	r->exit_handling_ns = 98;
	r->run_delay_ns = 5;
	strcpy(r->top_exit_reason, "HLT");
	r->hyp_split_valid = true;
	/* No tap known (net empty), RSS read, no libvirt (guest memory empty). */
	r->mem_rss_bytes = 4096;
	r->mem_guest_bytes = -1;
	r->host_power_w = r->vm_power_w = r->host_energy_j = -1;
	r->power_source = "none";
}

#define VM_ROW_FULL T "web-01," UUID ",4242,2,1500000000,1200000000,300000000,100000000," \
	"200000000,12345,45000000,2500000,EPT_VIOLATION,1000,2000,10,20,536870912,1073741824," \
	"65536,8388608,16,128,412.5,120.500,30.250,rapl,120.500,3000000,1000000,4000000,500000," \
	"1000,,100000000,150000000,0,0,0,0,0,0,50000000,0,0,2000000,0,tracepoint\n"
#define VCPU_ROWS_FULL                                                                    \
	T "web-01,4242,4250,0,CPU 0/KVM,800000000,700000000,6000,20000000,1000000\n"      \
	T "web-01,4242,4251,,\"vcpu,\"\"x\"\"\",0,0,0,0,0\n"
#define EXIT_ROWS_FULL                                                                    \
	T "web-01,4242,vmx,48,EPT_VIOLATION,10000,40000000\n"                             \
	T "web-01,4242,svm,123,IOIO,2345,5000000\n"                                       \
	T "web-01,4242,9,3,ISA9_3,0,0\n"

static char *fmt_buf;
static size_t fmt_len;

static FILE *mem(void)
{
	FILE *f;

	free(fmt_buf);
	fmt_buf = NULL;
	f = open_memstream(&fmt_buf, &fmt_len);
	assert_non_null(f);
	return f;
}

static void test_headers(void **state)
{
	(void)state;
	/* Spelled out once more here, as the contract with users' scripts. */
	assert_string_equal(CSV_VM_HEADER,
		"timestamp,epoch_s,interval_s,vm,uuid,pid,vcpus,cpu_total_ns,cpu_guest_ns,"
		"cpu_hyp_ns,cpu_hyp_user_ns,cpu_hyp_kernel_ns,exits,exit_handling_ns,"
		"run_delay_ns,top_exit_reason,net_rx_bytes,net_tx_bytes,net_rx_packets,"
		"net_tx_packets,mem_rss_bytes,mem_guest_bytes,disk_read_bytes,disk_write_bytes,"
		"disk_read_ops,disk_write_ops,disk_lat_avg_us,host_power_w,vm_power_w,"
		"power_source,host_energy_j,guest_cycles,host_cycles,guest_instructions,"
		"host_instructions,cache_misses,branch_misses,hyp_qemu_user_ns,hyp_kvm_ns,"
		"hyp_vhost_ns,hyp_tap_ns,hyp_bridge_ns,hyp_net_ns,hyp_block_ns,hyp_sched_ns,"
		"hyp_other_kernel_ns,ext_vhost_ns,ext_tap_ns,ext_bridge_ns,ext_net_ns,guest_source");
	assert_string_equal(CSV_VCPU_HEADER,
		"timestamp,epoch_s,interval_s,vm,pid,tid,vcpu,thread,cpu_total_ns,cpu_guest_ns,"
		"exits,exit_handling_ns,run_delay_ns");
	assert_string_equal(CSV_EXITS_HEADER,
		"timestamp,epoch_s,interval_s,vm,pid,isa,reason_code,reason,count,handling_ns");
	assert_string_equal(CSV_VM_HEADER, VM_HDR_TEXT);
	assert_string_equal(CSV_VCPU_HEADER, VCPU_HDR_TEXT);
	assert_string_equal(CSV_EXITS_HEADER, EXITS_HDR_TEXT);
}

static void test_rows_full_record(void **state)
{
	struct vm_record r;
	FILE *f;
	size_t i;

	(void)state;
	full_record(&r);
	f = mem();
	csv_format_vm_row(f, &iv, &r);
	fclose(f);
	assert_string_equal(fmt_buf, VM_ROW_FULL);

	f = mem();
	for (i = 0; i < r.nr_vcpus; i++)
		csv_format_vcpu_row(f, &iv, &r, &r.vcpu[i]);
	fclose(f);
	assert_string_equal(fmt_buf, VCPU_ROWS_FULL);

	f = mem();
	for (i = 0; i < r.nr_exits; i++)
		csv_format_exit_row(f, &iv, &r, &r.exit[i]);
	fclose(f);
	assert_string_equal(fmt_buf, EXIT_ROWS_FULL);
}

/* Unknown figures are empty; measured zeros are "0". */
/* The host's row: power, its split, and the CPU time it was split by; empty when unknown. */
static void test_host_row(void **state)
{
	struct host_record h = {
		.valid = true, .source = "edimax", .host_power_w = 101.25, .host_energy_j = 101.3,
		.idle_w = 60, .vms_w = 30.5, .rest_w = 10.75, .cpu_busy_ns = 1200000000,
		.cpu_capacity_ns = 2000000000,
	};
	FILE *f;

	(void)state;
	assert_string_equal(CSV_HOST_HEADER, "timestamp,epoch_s,interval_s,power_source,"
			    "host_power_w,host_energy_j,idle_w,vms_w,rest_w,cpu_busy_ns,"
			    "cpu_capacity_ns");
	f = mem();
	csv_format_host_row(f, &iv, &h);
	h.valid = false;
	csv_format_host_row(f, &iv, &h);
	fclose(f);
	assert_string_equal(fmt_buf,
		T "edimax,101.250,101.300,60.000,30.500,10.750,1200000000,2000000000\n"
		T "edimax,,,,,,1200000000,2000000000\n");
}

static void test_empty_vs_zero(void **state)
{
	struct vcpu_record v = { .tid = 80, .vcpu = 3, .thread = "CPU 3/KVM", .cpu_total_ns = 9,
				 .cpu_guest_ns = 8, .exits = 7, .exit_handling_ns = 6,
				 .run_delay_ns = 5 };
	struct vm_record r;
	FILE *f;

	(void)state;
	bare_record(&r);
	f = mem();
	csv_format_vm_row(f, &iv, &r);
	csv_format_vcpu_row(f, &iv, &r, &v);
	fclose(f);
	/* Hypervisor time is always there; guest, exits and reason are not. */
	assert_string_equal(fmt_buf,
		T "web-02,,77,,1000,,1000,600,400,,,5,,,,,,4096,,,,,,,,,none," UNSAMPLED "\n"
		T "web-02,77,80,3,CPU 3/KVM,9,,,,5\n");

	/* No tick told user from kernel time: the split is empty, hyp itself stays. */
	r.hyp_split_valid = false;
	f = mem();
	csv_format_vm_row(f, &iv, &r);
	fclose(f);
	assert_string_equal(fmt_buf, T "web-02,,77,,1000,,1000,,,,,5,,,,,,4096,,,,,,,,,none," UNSAMPLED "\n");

	/* guest_valid with zero figures: zeros, not empty; an empty top reason stays empty. */
	memset(&r, 0, sizeof(r));
	strcpy(r.vm, "idle");
	r.guest_valid = true;
	r.guest_source = GUEST_SOURCE_TRACEPOINT;
	r.hyp_split_valid = true;
	r.vcpus = 0;
	f = mem();
	csv_format_vm_row(f, &iv, &r);
	fclose(f);
	assert_string_equal(fmt_buf, T "idle,,0,0,0,0,0,0,0,0,0,0,,,,,,0,0,,,,,,0.000,0.000,none,0.000" UNSAMPLED "tracepoint\n");
}

/* Counters beyond the default four get columns at the end; without guest mode the guest
 * share is empty and the host share is all of it. */
static void test_extra_counters(void **state)
{
	char header[CSV_VM_HEADER_MAX];
	struct vm_record r;
	FILE *f;

	(void)state;
	bare_record(&r);
	r.nr_counters = 3;
	r.counter[0] = (struct counter_record){ "cpu-clock", "cpu_clock_ns", true, 0, 999000 };
	r.counter[1] = (struct counter_record){ "cycles", "cycles", true, 0, 5000 };
	r.counter[2] = (struct counter_record){ "page-faults", "page_faults", false, 0, 0 };
	assert_string_equal(csv_vm_header(&r, header, sizeof(header)),
			    VM_HDR_TEXT ",cpu_clock_ns,page_faults");
	f = mem();
	csv_format_vm_row(f, &iv, &r);
	fclose(f);
	assert_string_equal(fmt_buf, T "web-02,,77,,1000,,1000,600,400,,,5,,,,,,4096,,,,,,,,,"
			    "none,,,5000,,,,,,,,,,,,,,,,,,,999000,\n");
}

static void test_quoting(void **state)
{
	struct vm_record r;
	FILE *f;

	(void)state;
	f = mem();
	csv_field(f, "plain name");
	fputc('|', f);
	csv_field(f, "a,b");
	fputc('|', f);
	csv_field(f, "say \"hi\"");
	fputc('|', f);
	csv_field(f, "two\nlines");
	fputc('|', f);
	csv_field(f, "cr\r");
	fputc('|', f);
	csv_field(f, "");
	fputc('|', f);
	csv_field(f, "\"");
	fclose(f);
	assert_string_equal(fmt_buf, "plain name|\"a,b\"|\"say \"\"hi\"\"\"|\"two\nlines\"|"
			    "\"cr\r\"||\"\"\"\"");

	bare_record(&r);
	strcpy(r.vm, "vm, \"quoted\"\nnext");
	f = mem();
	csv_format_vm_row(f, &iv, &r);
	fclose(f);
	assert_string_equal(fmt_buf,
			    T "\"vm, \"\"quoted\"\"\nnext\",,77,,1000,,1000,600,400,,,5,,,,,,4096,,,,,,,,,none," UNSAMPLED "\n");
}

/* FNV-1a 32, checked below against the published test vectors. */
static uint32_t ref_fnv(const char *s)
{
	uint32_t h = 0x811c9dc5;

	while (*s) {
		h ^= (unsigned char)*s++;
		h *= 0x01000193;
	}
	return h;
}

static char *safe(const char *name)
{
	static char out[128];

	assert_int_equal(csv_safe_name(name, out, sizeof(out)), 0);
	return out;
}

static void assert_safe(const char *name, const char *kept, bool hashed)
{
	char want[160];

	if (hashed)
		snprintf(want, sizeof(want), "%s-%08x", kept, ref_fnv(name));
	else
		snprintf(want, sizeof(want), "%s", kept);
	assert_string_equal(safe(name), want);
}

static void test_safe_name(void **state)
{
	char in[301], kept[101], other[128];

	(void)state;
	assert_int_equal(ref_fnv(""), 0x811c9dc5);
	assert_int_equal(ref_fnv("a"), 0xe40c292c);
	assert_int_equal(ref_fnv("foobar"), 0xbf9cf968);

	assert_safe("web-01", "web-01", false);
	assert_safe("Win_10.x86+64", "Win_10.x86+64", false);
	assert_safe("a_b", "a_b", false);
	assert_safe("a b", "a_b", true);
	assert_safe("my vm", "my_vm", true);
	assert_safe("quote\"s", "quote_s", true);
	assert_safe("vm's", "vm_s", true);
	assert_safe("v\xc3\xa9", "v__", true);		/* "vé": one '_' per byte */
	assert_safe(".hidden", "_hidden", true);
	assert_safe(".", "_", true);
	assert_safe("..", "_.", true);
	assert_safe("/", "_", true);
	assert_safe("a/b", "a_b", true);
	assert_safe("../../etc/passwd", "_._.._etc_passwd", true);
	assert_safe("tab\there", "tab_here", true);
	/* Empty: "vm", hashed, so a VM really called "vm" keeps its own file. */
	assert_string_equal(safe(""), "vm-811c9dc5");
	assert_safe("vm", "vm", false);

	/* Distinct names that sanitize alike stay distinct. */
	strcpy(other, safe("a b"));
	assert_string_not_equal(other, safe("a_b"));
	assert_string_not_equal(other, safe("a/b"));
	assert_string_not_equal(other, safe("a\tb"));

	/* Long names: 100 characters kept, then the hash. */
	memset(in, 'a', 300);
	in[300] = '\0';
	memset(kept, 'a', 100);
	kept[100] = '\0';
	assert_safe(in, kept, true);
	assert_int_equal(strlen(safe(in)), 109);
	strcpy(other, safe(in));
	in[250] = 'b';
	assert_string_not_equal(other, safe(in));
	in[100] = '\0';
	assert_safe(in, in, false);
	in[100] = 'a';
	in[101] = '\0';
	assert_safe(in, kept, true);

	/* Never '/', never "." or "..", never a hidden file. */
	{
		static const char *const nasty[] = { ".", "..", "...", "/", "//", "./x", "../x",
						      "\n", " ", "-", "a/../b" };
		size_t k;

		for (k = 0; k < sizeof(nasty) / sizeof(nasty[0]); k++) {
			const char *s = safe(nasty[k]);

			assert_null(strchr(s, '/'));
			assert_true(s[0] != '.');
			assert_true(strlen(s) > 0);
		}
	}
}

static void test_safe_name_small_buffer(void **state)
{
	char out[16];

	(void)state;
	assert_int_equal(csv_safe_name("web", out, 15), -1);
	assert_int_equal(csv_safe_name("web", out, 16), 0);
	assert_string_equal(out, "web");
	/* 16 bytes keep 6 characters and the hash. */
	assert_int_equal(csv_safe_name("abcdefghij", out, 16), 0);
	assert_int_equal(strlen(out), 15);
	assert_true(strncmp(out, "abcdef-", 7) == 0);
	for (int i = 0; i < 5; i++) {
		char name[8];

		snprintf(name, sizeof(name), "%c", 'p' + i);
		assert_int_equal(csv_safe_name(name, out, 16), 0);
		assert_string_equal(out, name);
	}
}

/* File tests run in a fresh folder each. */
static char dir[64];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup_dir(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/kt-csv-test-XXXXXX");
	umask(022);
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
	(void)state;
	umount2(dir, MNT_DETACH);
	return nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static char *path(const char *name)
{
	static char p[4][512];
	static int n;

	n = (n + 1) % 4;
	snprintf(p[n], sizeof(p[n]), "%s/%s", dir, name);
	return p[n];
}

/* The whole file, or NULL if it does not exist. */
static char *slurp(const char *file)
{
	static char *buf[4];
	static int n;
	FILE *f = fopen(path(file), "r");
	size_t len = 0;

	if (!f)
		return NULL;
	n = (n + 1) % 4;
	free(buf[n]);
	buf[n] = calloc(1, 1 << 20);
	assert_non_null(buf[n]);
	len = fread(buf[n], 1, (1 << 20) - 1, f);
	buf[n][len] = '\0';
	fclose(f);
	return buf[n];
}

static void put_file(const char *file, const char *text)
{
	FILE *f = fopen(path(file), "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static int count_entries(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}


static void test_sink_full_record(void **state)
{
	struct csv_sink *s;
	struct vm_record r;
	struct stat st;

	(void)state;
	s = csv_sink_open(dir);
	assert_non_null(s);
	full_record(&r);
	assert_int_equal(csv_sink_write(s, &iv, &r), 0);
	assert_int_equal(csv_sink_flush(s), 0);

	assert_string_equal(slurp("web-01.csv"), VM_HDR VM_ROW_FULL);
	assert_string_equal(slurp("web-01.vcpu.csv"), VCPU_HDR VCPU_ROWS_FULL);
	assert_string_equal(slurp("web-01.exits.csv"), EXITS_HDR EXIT_ROWS_FULL);
	assert_int_equal(stat(path("web-01.csv"), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);

	/* A second interval appends rows, no second header. */
	assert_int_equal(csv_sink_write(s, &iv, &r), 0);
	assert_int_equal(csv_sink_flush(s), 0);
	assert_string_equal(slurp("web-01.csv"), VM_HDR VM_ROW_FULL VM_ROW_FULL);
	assert_string_equal(slurp("web-01.exits.csv"),
			    EXITS_HDR EXIT_ROWS_FULL EXIT_ROWS_FULL);
	csv_sink_close(s);
	assert_int_equal(count_entries(), 3);
}

/* vCPU and exit files only appear once there is a row for them. */
static void test_sink_lazy_files(void **state)
{
	struct csv_sink *s = csv_sink_open(dir);
	struct vm_record r;

	(void)state;
	assert_non_null(s);
	bare_record(&r);
	assert_int_equal(csv_sink_write(s, &iv, &r), 0);
	assert_int_equal(csv_sink_flush(s), 0);
	assert_string_equal(slurp("web-02.csv"),
			    VM_HDR T "web-02,,77,,1000,,1000,600,400,,,5,,,,,,4096,,,,,,,,,none," UNSAMPLED "\n");
	assert_null(slurp("web-02.vcpu.csv"));
	assert_null(slurp("web-02.exits.csv"));
	assert_int_equal(count_entries(), 1);
	csv_sink_close(s);
}

/* A later run appends to the files of an earlier one, under the one header. */
static void test_sink_append_across_runs(void **state)
{
	struct csv_sink *s;
	struct vm_record r;

	(void)state;
	bare_record(&r);
	s = csv_sink_open(dir);
	assert_int_equal(csv_sink_write(s, &iv, &r), 0);
	csv_sink_close(s);
	s = csv_sink_open(dir);
	r.pid = 78;
	assert_int_equal(csv_sink_write(s, &iv, &r), 0);
	assert_int_equal(csv_sink_flush(s), 0);
	csv_sink_close(s);
	assert_string_equal(slurp("web-02.csv"), VM_HDR
			    T "web-02,,77,,1000,,1000,600,400,,,5,,,,,,4096,,,,,,,,,none," UNSAMPLED "\n"
			    T "web-02,,78,,1000,,1000,600,400,,,5,,,,,,4096,,,,,,,,,none," UNSAMPLED "\n");
	assert_int_equal(count_entries(), 1);
}

/* Finds the one file named <prefix><digits>; returns its name. */
static const char *find_aside(const char *prefix, long long lo, long long hi)
{
	static char found[256];
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d))) {
		size_t pl = strlen(prefix);
		char *end;
		long long t;

		if (strncmp(e->d_name, prefix, pl))
			continue;
		t = strtoll(e->d_name + pl, &end, 10);
		if (*end || t < lo || t > hi)
			continue;
		snprintf(found, sizeof(found), "%s", e->d_name);
		n++;
	}
	closedir(d);
	assert_int_equal(n, 1);
	return found;
}

static void test_sink_header_mismatch(void **state)
{
	static const char old[] = "time,vm,cpu\n1,web-02,5\n2,web-02,6\n";
	struct csv_sink *s;
	struct vm_record r;
	long long t0, t1;
	const char *aside;

	(void)state;
	put_file("web-02.csv", old);
	t0 = time(NULL);
	s = csv_sink_open(dir);
	bare_record(&r);
	assert_int_equal(csv_sink_write(s, &iv, &r), 0);
	assert_int_equal(csv_sink_flush(s), 0);
	csv_sink_close(s);
	t1 = time(NULL);

	/* The old file is kept whole under <name>.<unix seconds>; the new one is ours. */
	aside = find_aside("web-02.csv.", t0, t1);
	assert_string_equal(slurp(aside), old);
	assert_string_equal(slurp("web-02.csv"),
			    VM_HDR T "web-02,,77,,1000,,1000,600,400,,,5,,,,,,4096,,,,,,,,,none," UNSAMPLED "\n");

	/* Again in the same second: a second aside name, nothing replaced. */
	put_file("web-02.csv", "other\n");
	s = csv_sink_open(dir);
	assert_int_equal(csv_sink_write(s, &iv, &r), 0);
	assert_int_equal(csv_sink_flush(s), 0);
	csv_sink_close(s);
	assert_int_equal(count_entries(), 3);
	assert_string_equal(slurp(aside), old);
	assert_string_equal(slurp("web-02.csv"),
			    VM_HDR T "web-02,,77,,1000,,1000,600,400,,,5,,,,,,4096,,,,,,,,,none," UNSAMPLED "\n");
}

/* A header that is a prefix of ours (an older version, fewer columns) is not ours either. */
static void test_sink_header_prefix(void **state)
{
	struct csv_sink *s;
	struct vm_record r;

	(void)state;
	put_file("web-02.csv", "timestamp,epoch_s\n");
	s = csv_sink_open(dir);
	bare_record(&r);
	assert_int_equal(csv_sink_write(s, &iv, &r), 0);
	csv_sink_close(s);
	assert_int_equal(count_entries(), 2);
	assert_string_equal(slurp("web-02.csv"),
			    VM_HDR T "web-02,,77,,1000,,1000,600,400,,,5,,,,,,4096,,,,,,,,,none," UNSAMPLED "\n");
}

/* A torn last line (a crash mid-write) is cut before appending; an empty file gets a header. */
static void test_sink_torn_tail(void **state)
{
	struct csv_sink *s;
	struct vm_record r;

	(void)state;
	put_file("web-02.csv", VM_HDR "earlier,row\n2026-11-22T16:4");
	put_file("web-02.vcpu.csv", "");
	s = csv_sink_open(dir);
	bare_record(&r);
	r.vcpus = 1;
	r.nr_vcpus = 1;
	r.vcpu = &(struct vcpu_record){ .tid = 1, .vcpu = 0, .thread = "t" };
	assert_int_equal(csv_sink_write(s, &iv, &r), 0);
	csv_sink_close(s);
	assert_string_equal(slurp("web-02.csv"),
			    VM_HDR "earlier,row\n" T "web-02,,77,1,1000,,1000,600,400,,,5,,,,,,4096,,,,,,,,,none," UNSAMPLED "\n");
	assert_string_equal(slurp("web-02.vcpu.csv"),
			    VCPU_HDR T "web-02,77,1,0,t,0,,,,0\n");
	assert_int_equal(count_entries(), 2);
}

/* O_NOFOLLOW: a symlink planted in the folder is never written through. */
static void test_sink_symlink_refused(void **state)
{
	struct csv_sink *s;
	struct vm_record r;

	(void)state;
	put_file("target", "precious\n");
	assert_int_equal(symlink(path("target"), path("web-01.csv")), 0);
	s = csv_sink_open(dir);
	full_record(&r);
	errno = 0;
	assert_int_equal(csv_sink_write(s, &iv, &r), -1);
	assert_int_equal(errno, ELOOP);
	assert_int_equal(csv_sink_flush(s), 0);
	assert_string_equal(slurp("target"), "precious\n");

	/* Only a new VM's vCPU file is a link: its other files are written, the error reported. */
	strcpy(r.vm, "web-09");
	assert_int_equal(symlink(path("target"), path("web-09.vcpu.csv")), 0);
	errno = 0;
	assert_int_equal(csv_sink_write(s, &iv, &r), -1);
	assert_int_equal(errno, ELOOP);
	assert_int_equal(csv_sink_flush(s), 0);
	assert_string_equal(slurp("target"), "precious\n");
	assert_non_null(strstr(slurp("web-09.csv"), "\n" T "web-09," UUID ",4242,"));
	assert_non_null(strstr(slurp("web-09.exits.csv"), "\n" T "web-09,4242,svm,123,IOIO,"));

	/* The link stays refused at every interval; nothing reaches the target. */
	assert_int_equal(csv_sink_write(s, &iv, &r), -1);
	assert_int_equal(errno, ELOOP);
	assert_int_equal(csv_sink_flush(s), 0);
	assert_string_equal(slurp("target"), "precious\n");
	csv_sink_close(s);
}

static void test_sink_not_regular(void **state)
{
	struct csv_sink *s;
	struct vm_record r;

	(void)state;
	assert_int_equal(mkfifo(path("web-02.csv"), 0600), 0);
	s = csv_sink_open(dir);
	bare_record(&r);
	assert_int_equal(csv_sink_write(s, &iv, &r), -1);
	csv_sink_close(s);
}

static void test_sink_open_errors(void **state)
{
	(void)state;
	errno = 0;
	assert_null(csv_sink_open(path("missing")));
	assert_int_equal(errno, ENOENT);
	put_file("file", "x");
	errno = 0;
	assert_null(csv_sink_open(path("file")));
	assert_int_equal(errno, ENOTDIR);
}

/* Odd names reach the files under their safe name, and the rows under their real one. */
static void test_sink_odd_names(void **state)
{
	static const char *const names[] = { "my vm", "a,\"b\"", "../../etc/passwd", "", "..",
					     "v\xc3\xa9" };
	struct csv_sink *s = csv_sink_open(dir);
	char file[160], want[4096], quoted[64];
	struct vm_record r;
	size_t i;
	FILE *f;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		bare_record(&r);
		strcpy(r.vm, names[i]);
		assert_int_equal(csv_sink_write(s, &iv, &r), 0);
	}
	assert_int_equal(csv_sink_flush(s), 0);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_int_equal(csv_safe_name(names[i], file, sizeof(file) - 4), 0);
		strcat(file, ".csv");
		memset(quoted, 0, sizeof(quoted));
		f = fmemopen(quoted, sizeof(quoted) - 1, "w");
		csv_field(f, names[i]);
		fclose(f);
		snprintf(want, sizeof(want), VM_HDR T "%s,,77,,1000,,1000,600,400,,,5,,,,,,4096,,,,,,,,,none," UNSAMPLED "\n", quoted);
		assert_non_null(slurp(file));
		assert_string_equal(slurp(file), want);
	}
	assert_int_equal(count_entries(), 6);
	csv_sink_close(s);
}

/* More VMs than the sink keeps open: old ones are closed and reopened, rows all land. */
static void test_sink_many_vms(void **state)
{
	struct csv_sink *s = csv_sink_open(dir);
	struct vm_record r;
	char name[32], want[4096];
	int i, pass, fds = 0;
	DIR *d;

	(void)state;
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < 300; i++) {
			bare_record(&r);
			snprintf(r.vm, sizeof(r.vm), "vm%03d", i);
			assert_int_equal(csv_sink_write(s, &iv, &r), 0);
		}
		assert_int_equal(csv_sink_flush(s), 0);
	}
	d = opendir("/proc/self/fd");
	while (readdir(d))
		fds++;
	closedir(d);
	assert_true(fds < 3 * 128 + 16);
	csv_sink_close(s);

	for (i = 0; i < 300; i += 37) {
		snprintf(name, sizeof(name), "vm%03d.csv", i);
		snprintf(want, sizeof(want), VM_HDR T "vm%03d,,77,,1000,,1000,600,400,,,5,,,,,,4096,,,,,,,,,none," UNSAMPLED "\n"
			 T "vm%03d,,77,,1000,,1000,600,400,,,5,,,,,,4096,,,,,,,,,none," UNSAMPLED "\n", i, i);
		assert_string_equal(slurp(name), want);
	}
}

/* forget flushes and closes a VM's files; a deleted file is recreated at the next write. */
static void test_sink_forget_and_deleted(void **state)
{
	struct csv_sink *s = csv_sink_open(dir);
	struct vm_record r;

	(void)state;
	bare_record(&r);
	assert_int_equal(csv_sink_write(s, &iv, &r), 0);
	csv_sink_forget(s, "web-02");
	assert_string_equal(slurp("web-02.csv"),
			    VM_HDR T "web-02,,77,,1000,,1000,600,400,,,5,,,,,,4096,,,,,,,,,none," UNSAMPLED "\n");
	csv_sink_forget(s, "never-seen");

	assert_int_equal(csv_sink_write(s, &iv, &r), 0);
	assert_int_equal(csv_sink_flush(s), 0);
	assert_int_equal(unlink(path("web-02.csv")), 0);
	assert_int_equal(csv_sink_flush(s), 0);
	assert_int_equal(csv_sink_write(s, &iv, &r), 0);
	assert_int_equal(csv_sink_flush(s), 0);
	assert_string_equal(slurp("web-02.csv"),
			    VM_HDR T "web-02,,77,,1000,,1000,600,400,,,5,,,,,,4096,,,,,,,,,none," UNSAMPLED "\n");
	csv_sink_close(s);
}

/* Every line is a whole row: ends in '\n' and has the header's number of commas. */
static void assert_whole_rows(const char *text, size_t *rows)
{
	size_t commas = 0, want = 0, n = 0;
	const char *p;

	for (p = CSV_VM_HEADER; *p; p++)
		want += *p == ',';
	assert_true(strlen(text) > 0);
	assert_int_equal(text[strlen(text) - 1], '\n');
	for (p = text; *p; p++) {
		if (*p == ',') {
			commas++;
		} else if (*p == '\n') {
			assert_int_equal(commas, want);
			commas = 0;
			n++;
		}
	}
	*rows = n - 1;
}

/*
 * A failed write (here EFBIG from RLIMIT_FSIZE, which needs no privilege) is reported by
 * csv_sink_flush(), leaves no torn row, and the sink keeps working once writes succeed again.
 */
static void test_sink_write_failure_fsize(void **state)
{
	struct rlimit old, lim;
	struct csv_sink *s = csv_sink_open(dir);
	struct vm_record r;
	size_t rows, good_size;
	const char *text;
	int i;

	(void)state;
	bare_record(&r);
	assert_int_equal(csv_sink_write(s, &iv, &r), 0);
	assert_int_equal(csv_sink_flush(s), 0);
	good_size = strlen(slurp("web-02.csv"));

	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = good_size + 100;	/* room for part of one more row, not two */
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	for (i = 0; i < 10; i++)
		assert_int_equal(csv_sink_write(s, &iv, &r), 0);
	errno = 0;
	assert_int_equal(csv_sink_flush(s), -1);
	assert_int_equal(errno, EFBIG);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);

	/* Cut back to the last good flush: no part of the lost rows stays. */
	text = slurp("web-02.csv");
	assert_int_equal(strlen(text), good_size);
	assert_whole_rows(text, &rows);
	assert_int_equal(rows, 1);

	/* The error was reported once; the sink goes on. */
	assert_int_equal(csv_sink_flush(s), 0);
	r.pid = 78;
	assert_int_equal(csv_sink_write(s, &iv, &r), 0);
	assert_int_equal(csv_sink_flush(s), 0);
	assert_string_equal(slurp("web-02.csv"), VM_HDR
			    T "web-02,,77,,1000,,1000,600,400,,,5,,,,,,4096,,,,,,,,,none," UNSAMPLED "\n"
			    T "web-02,,78,,1000,,1000,600,400,,,5,,,,,,4096,,,,,,,,,none," UNSAMPLED "\n");
	csv_sink_close(s);
}

/* The same with a real ENOSPC, on a tiny tmpfs (needs CAP_SYS_ADMIN: skipped otherwise). */
static void test_sink_enospc_tmpfs(void **state)
{
	struct csv_sink *s;
	struct vm_record r;
	size_t rows, before_rows = 0;
	int i, rc = 0, fd;
	char block[4096];

	(void)state;
	if (mount("kt-csv-test", dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "size=64k,mode=0700")) {
		fprintf(stderr, "[  SKIP    ] tmpfs mount failed (%s): ENOSPC not tested\n",
			strerror(errno));
		skip();
	}
	/* A filler file to free later, so the test can show the sink recovering. */
	fd = open(path("filler"), O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	memset(block, 'x', sizeof(block));
	for (i = 0; i < 8; i++)
		assert_int_equal(write(fd, block, sizeof(block)), sizeof(block));
	close(fd);

	s = csv_sink_open(dir);
	assert_non_null(s);
	bare_record(&r);
	for (i = 0; i < 10000 && !rc; i++) {
		int k;

		for (k = 0; k < 7; k++)
			assert_int_equal(csv_sink_write(s, &iv, &r), 0);
		rc = csv_sink_flush(s);
		if (!rc)
			before_rows += 7;
	}
	assert_int_equal(rc, -1);
	assert_int_equal(errno, ENOSPC);

	assert_whole_rows(slurp("web-02.csv"), &rows);
	assert_int_equal(rows, before_rows);

	assert_int_equal(unlink(path("filler")), 0);
	r.pid = 78;
	assert_int_equal(csv_sink_write(s, &iv, &r), 0);
	assert_int_equal(csv_sink_flush(s), 0);
	assert_whole_rows(slurp("web-02.csv"), &rows);
	assert_int_equal(rows, before_rows + 1);
	assert_non_null(strstr(slurp("web-02.csv"),
			       "\n" T "web-02,,77,,1000,,1000,600,400,,,5,,,,,,4096,,,,,,,,,none," UNSAMPLED "\n"
			       T "web-02,,78,,1000,,1000,600,400,,,5,,,,,,4096,,,,,,,,,none," UNSAMPLED "\n"));
	csv_sink_close(s);
}

static int teardown_all(void **state)
{
	(void)state;
	free(fmt_buf);
	return 0;
}

#define BARE_ROW(t, pid) t "web-02,," pid ",,1000,,1000,600,400,,,5,,,,,,4096,,,,,,,,,none," \
	UNSAMPLED "\n"

/* The whole of a gzip file, decompressed. */
static char *gunzip(const char *file)
{
	static char buf[1 << 16];
	gzFile gz = gzopen(path(file), "rb");
	int n;

	assert_non_null(gz);
	n = gzread(gz, buf, sizeof(buf) - 1);
	assert_true(n >= 0);
	buf[n] = '\0';
	gzclose(gz);
	return buf;
}

/* The one entry of the folder whose name starts with prefix and ends with suffix. */
static const char *find_entry(const char *prefix, const char *suffix)
{
	static char name[256];
	DIR *d = opendir(dir);
	struct dirent *e;
	int found = 0;

	assert_non_null(d);
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name), k = strlen(suffix);

		if (!strncmp(e->d_name, prefix, strlen(prefix)) && n > k &&
		    !strcmp(e->d_name + n - k, suffix)) {
			snprintf(name, sizeof(name), "%s", e->d_name);
			found++;
		}
	}
	closedir(d);
	assert_int_equal(found, 1);
	return name;
}

/* SIGHUP after logrotate moved the file: the next rows go to a new file with its header. */
static void test_sink_reopen(void **state)
{
	struct csv_sink *s = csv_sink_open(dir);
	struct vm_record r;
	char moved[600];

	(void)state;
	bare_record(&r);
	assert_int_equal(csv_sink_write(s, &iv, &r), 0);
	assert_int_equal(csv_sink_flush(s), 0);
	snprintf(moved, sizeof(moved), "%s", path("web-02.csv.1"));
	assert_int_equal(rename(path("web-02.csv"), moved), 0);
	assert_int_equal(csv_sink_reopen(s), 0);
	r.pid = 78;
	assert_int_equal(csv_sink_write(s, &iv, &r), 0);
	assert_int_equal(csv_sink_flush(s), 0);
	csv_sink_close(s);
	assert_string_equal(slurp("web-02.csv.1"), VM_HDR BARE_ROW(T, "77"));
	assert_string_equal(slurp("web-02.csv"), VM_HDR BARE_ROW(T, "78"));
}

/* Daily rotation: the first row of a new UTC day starts a new file; the old one is gzipped. */
static void test_sink_rotate_daily(void **state)
{
	struct csv_rotation daily = { .daily = true };
	struct interval_info tomorrow = iv;
	struct csv_sink *s = csv_sink_open(dir);
	struct vm_record r;

	(void)state;
	csv_sink_set_rotation(s, &daily);
	bare_record(&r);
	assert_int_equal(csv_sink_write(s, &iv, &r), 0);
	assert_int_equal(csv_sink_write(s, &iv, &r), 0);	/* the same day: same file */
	assert_int_equal(csv_sink_flush(s), 0);
	tomorrow.epoch_s = (double)time(NULL) + 86400;
	r.pid = 78;
	assert_int_equal(csv_sink_write(s, &tomorrow, &r), 0);
	assert_int_equal(csv_sink_flush(s), 0);
	csv_sink_close(s);
	assert_string_equal(gunzip(find_entry("web-02.csv.", "Z.gz")),
			    VM_HDR BARE_ROW(T, "77") BARE_ROW(T, "77"));
	assert_int_equal(strncmp(slurp("web-02.csv"), VM_HDR, strlen(VM_HDR)), 0);
	assert_non_null(strstr(slurp("web-02.csv"), ",1.000250,web-02,,78,"));
	assert_int_equal(count_entries(), 2);
}

/* Size rotation: a file at its limit is closed before the next row, never in its middle. */
static void test_sink_rotate_size(void **state)
{
	struct csv_rotation small = { .max_bytes = 100 };
	struct csv_sink *s = csv_sink_open(dir);
	struct vm_record r;
	struct stat st;
	const char *gz;

	(void)state;
	csv_sink_set_rotation(s, &small);
	bare_record(&r);
	assert_int_equal(csv_sink_write(s, &iv, &r), 0);
	assert_int_equal(csv_sink_flush(s), 0);
	r.pid = 78;
	assert_int_equal(csv_sink_write(s, &iv, &r), 0);
	assert_int_equal(csv_sink_flush(s), 0);
	csv_sink_close(s);
	gz = find_entry("web-02.csv.", ".gz");
	assert_string_equal(gunzip(gz), VM_HDR BARE_ROW(T, "77"));
	assert_int_equal(stat(path(gz), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	assert_string_equal(slurp("web-02.csv"), VM_HDR BARE_ROW(T, "78"));
}

#define FILE_TEST(t) cmocka_unit_test_setup_teardown(t, setup_dir, teardown_dir)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_rows_full_record),
		cmocka_unit_test(test_host_row),
		cmocka_unit_test(test_empty_vs_zero),
		cmocka_unit_test(test_extra_counters),
		cmocka_unit_test(test_quoting),
		cmocka_unit_test(test_safe_name),
		cmocka_unit_test(test_safe_name_small_buffer),
		FILE_TEST(test_sink_full_record),
		FILE_TEST(test_sink_lazy_files),
		FILE_TEST(test_sink_append_across_runs),
		FILE_TEST(test_sink_header_mismatch),
		FILE_TEST(test_sink_header_prefix),
		FILE_TEST(test_sink_torn_tail),
		FILE_TEST(test_sink_symlink_refused),
		FILE_TEST(test_sink_not_regular),
		FILE_TEST(test_sink_open_errors),
		FILE_TEST(test_sink_odd_names),
		FILE_TEST(test_sink_many_vms),
		FILE_TEST(test_sink_forget_and_deleted),
		FILE_TEST(test_sink_write_failure_fsize),
		FILE_TEST(test_sink_enospc_tmpfs),
		FILE_TEST(test_sink_reopen),
		FILE_TEST(test_sink_rotate_daily),
		FILE_TEST(test_sink_rotate_size),
	};

	return cmocka_run_group_tests(tests, NULL, teardown_all);
}
