// SPDX-License-Identifier: GPL-2.0
/*
 * CSV files: safe file names, and the file handling (header check, setting foreign files aside,
 * appending, symlink refusal, write failures, reopening, rotation).
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

#include "csv_fixture.h"

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

/* A sink opened under a soft fd limit of cur; *was gets the limit to restore. */
static struct csv_sink *sink_under_fd_limit(rlim_t cur, struct rlimit *was)
{
	struct rlimit low;
	struct csv_sink *s;

	assert_int_equal(getrlimit(RLIMIT_NOFILE, was), 0);
	low = *was;
	low.rlim_cur = cur;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	s = csv_sink_open(dir);
	assert_non_null(s);
	return s;
}

/* Two intervals of bare rows for VMs vm000 .. vm<n - 1>, each flushed. */
static void write_bare_vms(struct csv_sink *s, int n)
{
	struct vm_record r;
	int i, pass;

	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < n; i++) {
			bare_record(&r);
			snprintf(r.vm, sizeof(r.vm), "vm%03d", i);
			assert_int_equal(csv_sink_write(s, &iv, &r), 0);
		}
		assert_int_equal(csv_sink_flush(s), 0);
	}
}

/* Every step-th of those VMs' files holds its two rows. */
static void check_bare_vms(int n, int step)
{
	char name[32], want[4096];
	int i;

	for (i = 0; i < n; i += step) {
		snprintf(name, sizeof(name), "vm%03d.csv", i);
		snprintf(want, sizeof(want), VM_HDR T "vm%03d,,77,,1000,,1000,600,400,,,5,,,,,,4096,,,,,,,,,none," UNSAMPLED "\n"
			 T "vm%03d,,77,,1000,,1000,600,400,,,5,,,,,,4096,,,,,,,,,none," UNSAMPLED "\n", i, i);
		assert_string_equal(slurp(name), want);
	}
}

/*
 * More VMs than the fd limit lets the sink keep open (512, too low to keep 256 other
 * descriptors twice over: 16 VMs): old ones are closed and reopened, rows all land, the limit
 * is kept.
 */
static void test_sink_many_vms(void **state)
{
	struct rlimit was;
	struct csv_sink *s;
	int fds = 0;
	DIR *d;

	(void)state;
	s = sink_under_fd_limit(512, &was);
	write_bare_vms(s, 300);
	d = opendir("/proc/self/fd");
	while (readdir(d))
		fds++;
	closedir(d);
	assert_true(fds < 3 * 16 + 16);
	csv_sink_close(s);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &was), 0);
	check_bare_vms(300, 37);
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
 * Descriptors taken after the sink sized its budget (the VMs' own sources hold some: KVM
 * statistics, /proc files): out of them, the sink closes other VMs' files to open the next
 * one, and no row is lost.
 */
static void test_sink_fds_taken_by_others(void **state)
{
	int taken[900], nr_taken = 0;
	struct csv_sink *s;
	struct rlimit was;

	(void)state;
	s = sink_under_fd_limit(1024, &was);
	/* The sink counts on 256 VMs beside 256 other descriptors: room is left for some 110. */
	while (nr_taken < 900 && (taken[nr_taken] = open("/dev/null", O_RDONLY)) >= 0)
		nr_taken++;
	assert_int_equal(nr_taken, 900);
	write_bare_vms(s, 200);
	csv_sink_close(s);
	while (nr_taken)
		close(taken[--nr_taken]);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &was), 0);
	check_bare_vms(200, 23);
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
		FILE_TEST(test_sink_fds_taken_by_others),
		FILE_TEST(test_sink_forget_and_deleted),
		FILE_TEST(test_sink_write_failure_fsize),
		FILE_TEST(test_sink_enospc_tmpfs),
		FILE_TEST(test_sink_reopen),
		FILE_TEST(test_sink_rotate_daily),
		FILE_TEST(test_sink_rotate_size),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
