// SPDX-License-Identifier: GPL-2.0
/*
 * CSV sink: per-VM files in one folder, appended to in whole rows.
 *
 * Fields are quoted as RFC 4180 says, but lines end in "\n" rather than its CRLF: pandas, R,
 * Python's csv module and the usual spreadsheets all read LF files, and line-based Unix tools
 * (tail -f, grep, awk) expect LF.
 *
 * Whole rows only: each record's rows for one file are formatted in memory and handed to stdio
 * in one fwrite, and a file's buffer is flushed before a chunk that would not fit in it, so each
 * write(2) ends at a line end. If a write fails (ENOSPC, EFBIG, EIO) the file is cut back to its
 * size at the last good flush, so a torn row never stays behind and later rows start on a line
 * of their own. The lost rows are reported by csv_sink_flush().
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "csv.h"
#include "exit_reasons.h"

const char CSV_VM_HEADER[] =
	"timestamp,epoch_s,interval_s,vm,uuid,pid,vcpus,cpu_total_ns,cpu_guest_ns,cpu_hyp_ns,"
	"cpu_hyp_user_ns,cpu_hyp_kernel_ns,exits,exit_handling_ns,run_delay_ns,top_exit_reason,"
	"net_rx_bytes,net_tx_bytes,net_rx_packets,net_tx_packets,mem_rss_bytes,mem_guest_bytes,"
	"disk_read_bytes,disk_write_bytes,disk_read_ops,disk_write_ops,disk_lat_avg_us,"
	"host_power_w,vm_power_w,power_source,host_energy_j,"
	"guest_cycles,host_cycles,guest_instructions,host_instructions,cache_misses,branch_misses,"
	"hyp_qemu_user_ns,hyp_kvm_ns,hyp_vhost_ns,hyp_tap_ns,hyp_bridge_ns,hyp_net_ns,hyp_block_ns,"
	"hyp_sched_ns,hyp_other_kernel_ns,ext_vhost_ns,ext_tap_ns,ext_bridge_ns,ext_net_ns,"
	"guest_source";
const char CSV_VCPU_HEADER[] =
	"timestamp,epoch_s,interval_s,vm,pid,tid,vcpu,thread,cpu_total_ns,cpu_guest_ns,exits,"
	"exit_handling_ns,run_delay_ns";
const char CSV_HOST_HEADER[] =
	"timestamp,epoch_s,interval_s,power_source,host_power_w,host_energy_j,idle_w,vms_w,rest_w,"
	"cpu_busy_ns,cpu_capacity_ns";
const char CSV_EXITS_HEADER[] =
	"timestamp,epoch_s,interval_s,vm,pid,isa,reason_code,reason,count,handling_ns";

/*
 * At most this much of a VM name is kept in a file name, so "<safe>.exits.csv.<epoch>.<n>"
 * stays far below NAME_MAX (255).
 */
#define NAME_KEEP_MAX	100
#define HASH_SUFFIX_LEN	9	/* '-' and 8 hex digits */
#define SAFE_NAME_SIZE	(NAME_KEEP_MAX + HASH_SUFFIX_LEN + 1)

/* Open VMs are bounded so that 3 files each stay well below the usual 1024 fd limit. */
#define CSV_MAX_OPEN_VMS	128
#define CSV_FILE_BUF		(32 * 1024)

/* FNV-1a, 32 bits: tiny, and good enough to tell sanitized names apart. */
static uint32_t fnv1a32(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h;
}

static bool name_char_ok(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '+' || c == '-';
}

int csv_safe_name(const char *name, char *out, size_t len)
{
	size_t keep, n = 0, i;
	bool changed = false;

	if (!out || len < 16) {
		errno = EINVAL;
		return -1;
	}
	if (!name)
		name = "";

	/* Room for the hash whenever it may be needed, and a cap to leave room for suffixes. */
	keep = len - 1 - HASH_SUFFIX_LEN;
	if (keep > NAME_KEEP_MAX)
		keep = NAME_KEEP_MAX;

	if (!*name) {
		/* Hashed too, so that "" and a VM called "vm" get different files. */
		snprintf(out, len, "vm-%08" PRIx32, fnv1a32(name));
		return 0;
	}

	for (i = 0; name[i]; i++) {
		unsigned char c = name[i];

		if (n == keep) {
			changed = true;
			break;
		}
		/* A leading dot would hide the file, and "." or ".." would name a folder. */
		if (!name_char_ok(c) || (i == 0 && c == '.')) {
			c = '_';
			changed = true;
		}
		out[n++] = c;
	}
	out[n] = '\0';
	if (changed)
		snprintf(out + n, len - n, "-%08" PRIx32, fnv1a32(name));
	return 0;
}

void csv_field(FILE *f, const char *s)
{
	if (!s)
		return;
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

/* Text fields of a record are fixed arrays: never trust them to hold a NUL. */
static void field_arr(FILE *f, const char *s, size_t size)
{
	char buf[KT_NAME_MAX + 1];
	size_t n = strnlen(s, size < sizeof(buf) ? size : sizeof(buf) - 1);

	memcpy(buf, s, n);
	buf[n] = '\0';
	csv_field(f, buf);
}

#define FIELD(f, arr) field_arr(f, arr, sizeof(arr))

/* Numbers assume the C locale (no setlocale() in this program): a decimal comma would split. */
static void put_interval(FILE *f, const struct interval_info *iv)
{
	FIELD(f, iv->timestamp);
	fprintf(f, ",%.3f,%.6f,", iv->epoch_s, iv->interval_s);
}

/* A figure that was not measured (no guest mode observed, no tick split): empty, not 0. */
static void put_optional_u64(FILE *f, bool valid, uint64_t v)
{
	if (valid)
		fprintf(f, "%" PRIu64, v);
}

/* Numbers assume the C locale (as put_interval); an unknown figure is an empty field. */
static void put_optional_double(FILE *f, double v, const char *format)
{
	fputc(',', f);
	if (v >= 0)
		fprintf(f, format, v);
}

/* ",v1,v2,...": a group of columns measured together, all empty when not measured. */
static void put_optional_list(FILE *f, bool valid, const uint64_t *values, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		fputc(',', f);
		put_optional_u64(f, valid, values[i]);
	}
}

/* The counters with columns of their own in CSV_VM_HEADER; any other gets one at the end. */
static const char *const fixed_counters[] = { "cycles", "instructions", "cache-misses",
					      "branch-misses" };

static bool counter_is_fixed(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(fixed_counters) / sizeof(fixed_counters[0]); i++)
		if (!strcmp(name, fixed_counters[i]))
			return true;
	return false;
}

static const struct counter_record *counter_named(const struct vm_record *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->nr_counters; i++)
		if (r->counter[i].valid && !strcmp(r->counter[i].name, name))
			return &r->counter[i];
	return NULL;
}

const char *csv_vm_header(const struct vm_record *r, char *buf, size_t len)
{
	size_t i, n = snprintf(buf, len, "%s", CSV_VM_HEADER);

	for (i = 0; i < r->nr_counters && n < len; i++)
		if (!counter_is_fixed(r->counter[i].name))
			n += snprintf(buf + n, len - n, ",%s", r->counter[i].column);
	return buf;
}

/* ",guest,host" of a counter split at VM entry and exit; guest is empty without guest mode. */
static void put_split_counter(FILE *f, const struct vm_record *r, const char *name)
{
	const struct counter_record *c = counter_named(r, name);

	fputc(',', f);
	put_optional_u64(f, c && r->guest_source == GUEST_SOURCE_TRACEPOINT, c ? c->guest : 0);
	fputc(',', f);
	put_optional_u64(f, c, c ? c->host : 0);
}

static void put_total_counter(FILE *f, const struct counter_record *c)
{
	fputc(',', f);
	put_optional_u64(f, c && c->valid, c ? c->guest + c->host : 0);
}

static void put_counters_and_components(FILE *f, const struct vm_record *r)
{
	const uint64_t *ext = r->ext_component_ns;
	size_t i;

	put_split_counter(f, r, "cycles");
	put_split_counter(f, r, "instructions");
	put_total_counter(f, counter_named(r, "cache-misses"));
	put_total_counter(f, counter_named(r, "branch-misses"));
	put_optional_list(f, r->hyp_components_valid, r->hyp_component_ns, KT_NR_COMPONENTS);
	put_optional_list(f, r->ext_components_valid, (const uint64_t[]){ ext[KT_COMP_VHOST],
			  ext[KT_COMP_TAP], ext[KT_COMP_BRIDGE], ext[KT_COMP_NET] }, 4);
	fputc(',', f);
	csv_field(f, guest_source_name(r->guest_source));
	for (i = 0; i < r->nr_counters; i++)
		if (!counter_is_fixed(r->counter[i].name))
			put_total_counter(f, &r->counter[i]);
}

void csv_format_vm_row(FILE *f, const struct interval_info *iv, const struct vm_record *r)
{
	bool gv = r->guest_valid;

	put_interval(f, iv);
	FIELD(f, r->vm);
	fputc(',', f);
	FIELD(f, r->uuid);
	fprintf(f, ",%d,", r->pid);
	if (r->vcpus >= 0)
		fprintf(f, "%d", r->vcpus);
	fprintf(f, ",%" PRIu64 ",", r->cpu_total_ns);
	put_optional_u64(f, gv, r->cpu_guest_ns);
	fprintf(f, ",%" PRIu64 ",", r->cpu_hyp_ns);
	put_optional_u64(f, r->hyp_split_valid, r->cpu_hyp_user_ns);
	fputc(',', f);
	put_optional_u64(f, r->hyp_split_valid, r->cpu_hyp_kernel_ns);
	fputc(',', f);
	put_optional_u64(f, gv && !r->exits_unmeasured, r->exits);
	fputc(',', f);
	put_optional_u64(f, gv && !r->exit_handling_unmeasured, r->exit_handling_ns);
	fprintf(f, ",%" PRIu64 ",", r->run_delay_ns);
	if (gv)
		FIELD(f, r->top_exit_reason);
	put_optional_list(f, r->net_valid, (const uint64_t[]){ r->net_rx_bytes, r->net_tx_bytes,
			  r->net_rx_packets, r->net_tx_packets }, 4);
	put_optional_list(f, r->mem_rss_bytes >= 0, (const uint64_t[]){ r->mem_rss_bytes }, 1);
	put_optional_list(f, r->mem_guest_bytes >= 0, (const uint64_t[]){ r->mem_guest_bytes }, 1);
	put_optional_list(f, r->disk_valid, (const uint64_t[]){ r->disk_read_bytes,
			  r->disk_write_bytes, r->disk_read_ops, r->disk_write_ops }, 4);
	fputc(',', f);
	if (r->disk_valid && r->disk_lat_avg_us >= 0)
		fprintf(f, "%.1f", r->disk_lat_avg_us);
	put_optional_double(f, r->host_power_w, "%.3f");
	put_optional_double(f, r->vm_power_w, "%.3f");
	fputc(',', f);
	FIELD(f, r->power_source ? r->power_source : "none");
	put_optional_double(f, r->host_energy_j, "%.3f");
	put_counters_and_components(f, r);
	fputc('\n', f);
}

void csv_format_vcpu_row(FILE *f, const struct interval_info *iv, const struct vm_record *r,
			 const struct vcpu_record *v)
{
	bool gv = r->guest_valid;

	put_interval(f, iv);
	FIELD(f, r->vm);
	fprintf(f, ",%d,%d,", r->pid, v->tid);
	if (v->vcpu >= 0)
		fprintf(f, "%d", v->vcpu);
	fputc(',', f);
	FIELD(f, v->thread);
	fprintf(f, ",%" PRIu64 ",", v->cpu_total_ns);
	put_optional_u64(f, gv, v->cpu_guest_ns);
	fputc(',', f);
	put_optional_u64(f, gv && !v->exits_unmeasured, v->exits);
	fputc(',', f);
	put_optional_u64(f, gv && r->guest_source != GUEST_SOURCE_KERNEL, v->exit_handling_ns);
	fprintf(f, ",%" PRIu64 "\n", v->run_delay_ns);
}

void csv_format_exit_row(FILE *f, const struct interval_info *iv, const struct vm_record *r,
			 const struct exit_record *e)
{
	char name[KT_REASON_MAX], isa[16];

	put_interval(f, iv);
	FIELD(f, r->vm);
	fprintf(f, ",%d,%s", r->pid, exit_isa_name(e->isa, isa, sizeof(isa)));
	fprintf(f, ",%" PRIu32 ",", e->reason);
	if (e->name[0])
		FIELD(f, e->name);
	else
		csv_field(f, exit_reason_name(e->isa, e->reason, name, sizeof(name)));
	fprintf(f, ",%" PRIu64 ",%" PRIu64 "\n", e->count, e->handling_ns);
}

void csv_format_host_row(FILE *f, const struct interval_info *iv, const struct host_record *h)
{
	put_interval(f, iv);
	FIELD(f, h->source ? h->source : "none");
	put_optional_double(f, h->valid ? h->host_power_w : -1, "%.3f");
	put_optional_double(f, h->valid ? h->host_energy_j : -1, "%.3f");
	put_optional_double(f, h->valid ? h->idle_w : -1, "%.3f");
	put_optional_double(f, h->valid ? h->vms_w : -1, "%.3f");
	put_optional_double(f, h->valid ? h->rest_w : -1, "%.3f");
	fprintf(f, ",%" PRIu64 ",%" PRIu64 "\n", h->cpu_busy_ns, h->cpu_capacity_ns);
}

enum csv_kind { CSV_VM, CSV_VCPU, CSV_EXITS, CSV_NR_KINDS };

static const struct {
	const char *suffix;
	const char *header;
} csv_kinds[CSV_NR_KINDS] = {
	[CSV_VM] = { ".csv", NULL },	/* csv_vm_header(): the run's counters add columns */
	[CSV_VCPU] = { ".vcpu.csv", CSV_VCPU_HEADER },
	[CSV_EXITS] = { ".exits.csv", CSV_EXITS_HEADER },
};

struct csv_file {
	FILE *f;
	char *buf;	/* our own stdio buffer, so its size is known */
	off_t good;	/* file size at the last successful flush: ends at a line end */
	long day;	/* UTC day (days since 1970) of its last change when opened, for rotation */
};

struct csv_vm {
	bool in_use;
	unsigned long long used;	/* sink clock at the last write, for LRU eviction */
	char vm[KT_NAME_MAX];
	char safe[SAFE_NAME_SIZE];
	struct csv_file file[CSV_NR_KINDS];
};

struct csv_sink {
	int dirfd;
	char *dir;	/* reopened by csv_sink_reopen() */
	struct csv_rotation rotation;
	int err;	/* first write error since the last csv_sink_flush(), reported there */
	unsigned long long clock;
	struct csv_vm vms[CSV_MAX_OPEN_VMS];
	struct csv_file host;	/* CSV_HOST_FILE */
};

static void note_error(struct csv_sink *s, int err)
{
	if (!s->err)
		s->err = err ? err : EIO;
}

/* Callers flush first (file_flush() repairs a failure); what is left here is dropped. */
static void file_close(struct csv_file *cf)
{
	if (!cf->f)
		return;
	__fpurge(cf->f);
	fclose(cf->f);
	free(cf->buf);
	cf->f = NULL;
	cf->buf = NULL;
}

/*
 * After a failed write: drops what stdio still holds and cuts the file back to its last good
 * size, so no torn row stays in it. If even that fails, the file is closed; reopening it cuts
 * a torn last line (see check_file()).
 */
static void file_repair(struct csv_file *cf)
{
	struct stat st;
	int fd = fileno(cf->f);

	__fpurge(cf->f);
	clearerr(cf->f);
	if (fstat(fd, &st) || (st.st_size > cf->good && ftruncate(fd, cf->good)))
		file_close(cf);
}

/* Flushes one file. Returns 0, or -1 with errno after repairing the file. */
static int file_flush(struct csv_file *cf)
{
	struct stat st;
	int err;

	if (fflush(cf->f)) {
		err = errno;
		file_repair(cf);
		errno = err;
		return -1;
	}
	if (!fstat(fileno(cf->f), &st))
		cf->good = st.st_size;
	return 0;
}

/*
 * Returns the offset just past the last '\n' in [min, size) of the file, or min if there is
 * none there, or -1. Used to cut a torn last line (a crash mid-write) off a file we append to.
 */
static off_t last_line_end(int fd, off_t size, off_t min)
{
	char buf[4096];
	off_t end = size;

	while (end > min) {
		size_t n = end - min < (off_t)sizeof(buf) ? (size_t)(end - min) : sizeof(buf);
		off_t start = end - (off_t)n;

		if (pread(fd, buf, n, start) != (ssize_t)n)
			return -1;
		for (; n > 0; n--) {
			if (buf[n - 1] == '\n')
				return start + (off_t)n;
		}
		end = start;
	}
	return min;
}

/*
 * Checks an existing file. Returns 1 if it starts with our header (a torn last line is cut
 * off), 0 if it is empty, 2 if it holds something else, -1 on error.
 */
static int check_file(int fd, const char *header, off_t *size)
{
	size_t hlen = strlen(header);
	char buf[CSV_VM_HEADER_MAX + 1];
	off_t end;

	if (*size == 0)
		return 0;
	if (hlen + 1 > sizeof(buf) || *size < (off_t)(hlen + 1))
		return 2;
	if (pread(fd, buf, hlen + 1, 0) != (ssize_t)(hlen + 1))
		return -1;
	if (memcmp(buf, header, hlen) || buf[hlen] != '\n')
		return 2;

	end = last_line_end(fd, *size, hlen + 1);
	if (end < 0)
		return -1;
	if (end != *size) {
		if (ftruncate(fd, end))
			return -1;
		*size = end;
	}
	return 1;
}

/*
 * Renames a file whose columns are not ours to <name>.<unix seconds> (or .<n> after that if
 * taken), never replacing anything, so no data is lost.
 */
/* Renames name to "<name>.<tag>" (".<tag>.N" if taken), never over a file; the new name in out. */
static int rename_aside(int dirfd, const char *name, const char *tag, char *out, size_t len)
{
	int i;

	for (i = 0; i < 100; i++) {
		if (i == 0)
			snprintf(out, len, "%s.%s", name, tag);
		else
			snprintf(out, len, "%s.%s.%d", name, tag, i);
		if (!renameat2(dirfd, name, dirfd, out, RENAME_NOREPLACE))
			return 0;
		if (errno == EEXIST)
			continue;
		if (errno != EINVAL && errno != ENOSYS)
			return -1;
		/* File systems without RENAME_NOREPLACE: check first (racy, but only with us). */
		if (!faccessat(dirfd, out, F_OK, AT_SYMLINK_NOFOLLOW))
			continue;
		return renameat(dirfd, name, dirfd, out);
	}
	errno = EEXIST;
	return -1;
}

/* A file with other columns is set aside as <name>.<unix time>, so no written data is lost. */
static int move_aside(int dirfd, const char *name)
{
	char aside[SAFE_NAME_SIZE + 64], tag[24];

	snprintf(tag, sizeof(tag), "%lld", (long long)time(NULL));
	return rename_aside(dirfd, name, tag, aside, sizeof(aside));
}

/* Opens (creating, or setting aside a foreign file) one of a VM's files. Returns 0 or -1. */
static int file_open(struct csv_sink *s, struct csv_file *cf, const char *name,
		     const char *header)
{
	struct stat st;
	int fd = -1, state = 2, tries, err;
	FILE *f;

	for (tries = 0; tries < 3 && state == 2; tries++) {
		/* Read-write for the header check; O_NOFOLLOW: never write through a symlink. */
		fd = openat(s->dirfd, name, O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
			    0640);
		if (fd < 0)
			return -1;
		if (fstat(fd, &st))
			goto fail;
		if (!S_ISREG(st.st_mode)) {
			errno = EINVAL;
			goto fail;
		}
		state = check_file(fd, header, &st.st_size);
		if (state < 0)
			goto fail;
		if (state == 2) {
			if (move_aside(s->dirfd, name))
				goto fail;
			close(fd);
			fd = -1;
		}
	}
	if (state == 2) {
		errno = EEXIST;
		return -1;
	}

	cf->buf = malloc(CSV_FILE_BUF);
	f = cf->buf ? fdopen(fd, "a") : NULL;
	if (!f)
		goto fail;
	setvbuf(f, cf->buf, _IOFBF, CSV_FILE_BUF);
	cf->f = f;
	cf->good = st.st_size;
	cf->day = (state == 0 ? time(NULL) : st.st_mtime) / 86400;
	if (state == 0) {
		fputs(header, f);
		fputc('\n', f);
		if (file_flush(cf)) {
			err = errno;
			file_close(cf);
			errno = err;
			return -1;
		}
	}
	return 0;

fail:
	err = errno;
	if (fd >= 0)
		close(fd);
	free(cf->buf);
	cf->buf = NULL;
	errno = err;
	return -1;
}

/* Compresses a closed file to <name>.gz (0640) and removes it; on failure both stay. */
static int gzip_file(int dirfd, const char *name)
{
	char gzname[SAFE_NAME_SIZE + 96], chunk[64 * 1024];
	int in, out, err = 0;
	ssize_t n;
	gzFile gz;

	snprintf(gzname, sizeof(gzname), "%s.gz", name);
	in = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0)
		return -1;
	out = openat(dirfd, gzname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
	gz = out >= 0 ? gzdopen(out, "wb") : NULL;
	if (!gz) {
		err = errno ? errno : ENOMEM;
		if (out >= 0)
			close(out);
		close(in);
		errno = err;
		return -1;
	}
	while ((n = read(in, chunk, sizeof(chunk))) > 0)
		if (gzwrite(gz, chunk, n) != n) {
			err = EIO;
			break;
		}
	if (n < 0)
		err = errno;
	if (gzclose(gz) != Z_OK && !err)
		err = EIO;
	close(in);
	if (!err && unlinkat(dirfd, name, 0))
		err = errno;
	if (err) {
		unlinkat(dirfd, gzname, 0);
		errno = err;
		return -1;
	}
	return 0;
}

/*
 * Rotation, when configured: a file whose last change was on an earlier UTC day than this row,
 * or that has reached the size limit, is closed, renamed to <name>.<UTC time> and compressed;
 * the row then starts a new file with its header. Rows are never split between files.
 */
static void rotate_if_due(struct csv_sink *s, struct csv_file *cf, const char *name,
			  const struct interval_info *iv)
{
	const struct csv_rotation *r = &s->rotation;
	char aside[SAFE_NAME_SIZE + 64], tag[24];
	time_t now = time(NULL);
	bool due;

	if (!cf->f)
		return;
	due = (r->daily && (long)(iv->epoch_s / 86400) > cf->day) ||
	      (r->max_bytes && cf->good >= r->max_bytes);
	if (!due)
		return;
	if (file_flush(cf)) {
		note_error(s, errno);
		return;
	}
	file_close(cf);
	strftime(tag, sizeof(tag), "%Y%m%dT%H%M%SZ", gmtime(&now));
	if (rename_aside(s->dirfd, name, tag, aside, sizeof(aside)) ||
	    gzip_file(s->dirfd, aside))
		note_error(s, errno);
}

/* Hands one record's rows for one file to stdio; I/O errors are kept for csv_sink_flush(). */
static void emit(struct csv_sink *s, struct csv_file *cf, const char *buf, size_t n)
{
	/* Flush first when the chunk would not fit, so each write(2) ends at a line end. */
	if (__fpending(cf->f) + n > __fbufsize(cf->f) && file_flush(cf)) {
		note_error(s, errno);
		return;
	}
	if (fwrite(buf, 1, n, cf->f) != n || ferror(cf->f)) {
		note_error(s, errno);
		file_repair(cf);
	}
}

static int write_rows(struct csv_sink *s, struct csv_vm *v, enum csv_kind k,
		      const struct interval_info *iv, const struct vm_record *r)
{
	struct csv_file *cf = &v->file[k];
	char name[SAFE_NAME_SIZE + 16], header[CSV_VM_HEADER_MAX];
	const char *hdr = csv_kinds[k].header;
	char *buf = NULL;
	size_t len = 0, i;
	FILE *m;

	snprintf(name, sizeof(name), "%s%s", v->safe, csv_kinds[k].suffix);
	if (k == CSV_VM)
		hdr = csv_vm_header(r, header, sizeof(header));
	rotate_if_due(s, cf, name, iv);
	if (!cf->f && file_open(s, cf, name, hdr))
		return -1;

	m = open_memstream(&buf, &len);
	if (!m)
		return -1;
	if (k == CSV_VM) {
		csv_format_vm_row(m, iv, r);
	} else if (k == CSV_VCPU) {
		for (i = 0; i < r->nr_vcpus; i++)
			csv_format_vcpu_row(m, iv, r, &r->vcpu[i]);
	} else {
		for (i = 0; i < r->nr_exits; i++)
			csv_format_exit_row(m, iv, r, &r->exit[i]);
	}
	if (fclose(m)) {
		free(buf);
		return -1;
	}
	if (cf->f)
		emit(s, cf, buf, len);
	free(buf);
	return 0;
}

static void vm_close(struct csv_sink *s, struct csv_vm *v)
{
	int k;

	for (k = 0; k < CSV_NR_KINDS; k++) {
		if (v->file[k].f && file_flush(&v->file[k]))
			note_error(s, errno);
		file_close(&v->file[k]);
	}
	v->in_use = false;
}

static struct csv_vm *vm_find(struct csv_sink *s, const char *vm)
{
	int i;

	for (i = 0; i < CSV_MAX_OPEN_VMS; i++) {
		/* Compared as stored: at most KT_NAME_MAX - 1 characters. */
		if (s->vms[i].in_use && !strncmp(s->vms[i].vm, vm, KT_NAME_MAX - 1))
			return &s->vms[i];
	}
	return NULL;
}

static struct csv_vm *vm_get(struct csv_sink *s, const char *vm)
{
	struct csv_vm *v = vm_find(s, vm), *lru = NULL;
	size_t n;
	int i;

	if (v)
		return v;
	for (i = 0; i < CSV_MAX_OPEN_VMS && !v; i++) {
		if (!s->vms[i].in_use)
			v = &s->vms[i];
		else if (!lru || s->vms[i].used < lru->used)
			lru = &s->vms[i];
	}
	if (!v) {
		/* Full: close the least recently written VM; its files are reopened if needed. */
		v = lru;
		vm_close(s, v);
	}
	memset(v, 0, sizeof(*v));
	n = strnlen(vm, KT_NAME_MAX - 1);
	memcpy(v->vm, vm, n);
	v->vm[n] = '\0';
	if (csv_safe_name(v->vm, v->safe, sizeof(v->safe)))
		return NULL;
	v->in_use = true;
	return v;
}

struct csv_sink *csv_sink_open(const char *dir)
{
	struct csv_sink *s;
	int err;

	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->dir = strdup(dir);
	s->dirfd = s->dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (s->dirfd < 0) {
		err = s->dir ? errno : ENOMEM;
		free(s->dir);
		free(s);
		errno = err;
		return NULL;
	}
	return s;
}

void csv_sink_set_rotation(struct csv_sink *s, const struct csv_rotation *r)
{
	s->rotation = *r;
}

/* Flushes and closes every file; the next rows open them again by name. */
static void close_files(struct csv_sink *s)
{
	int i;

	for (i = 0; i < CSV_MAX_OPEN_VMS; i++) {
		if (s->vms[i].in_use)
			vm_close(s, &s->vms[i]);
	}
	if (s->host.f && file_flush(&s->host))
		note_error(s, errno);
	file_close(&s->host);
}

int csv_sink_reopen(struct csv_sink *s)
{
	int fd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	close_files(s);
	if (fd < 0)
		return -1;	/* keep the old folder: better than nowhere */
	close(s->dirfd);
	s->dirfd = fd;
	return 0;
}

int csv_sink_write(struct csv_sink *s, const struct interval_info *iv, const struct vm_record *r)
{
	struct csv_vm *v = vm_get(s, r->vm);
	int err = 0;

	if (!v)
		return -1;
	v->used = ++s->clock;

	/* Try every file even if one fails, and report the first failure. */
	if (write_rows(s, v, CSV_VM, iv, r))
		err = errno;
	if (r->nr_vcpus && write_rows(s, v, CSV_VCPU, iv, r) && !err)
		err = errno;
	if (r->nr_exits && write_rows(s, v, CSV_EXITS, iv, r) && !err)
		err = errno;
	if (err) {
		errno = err;
		return -1;
	}
	return 0;
}

static void sink_flush_file(struct csv_sink *s, struct csv_file *cf)
{
	struct stat st;

	if (!cf->f)
		return;
	if (file_flush(cf)) {
		note_error(s, errno);
		return;
	}
	/* Deleted under us: reopen next time, not write into a lost inode. */
	if (cf->f && !fstat(fileno(cf->f), &st) && st.st_nlink == 0)
		file_close(cf);
}

int csv_sink_flush(struct csv_sink *s)
{
	int i, k, err;

	for (i = 0; i < CSV_MAX_OPEN_VMS; i++) {
		struct csv_vm *v = &s->vms[i];

		if (!v->in_use)
			continue;
		for (k = 0; k < CSV_NR_KINDS; k++)
			sink_flush_file(s, &v->file[k]);
	}
	sink_flush_file(s, &s->host);
	if (s->err) {
		err = s->err;
		s->err = 0;
		errno = err;
		return -1;
	}
	return 0;
}

int csv_sink_write_host(struct csv_sink *s, const struct interval_info *iv,
			const struct host_record *h)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m;

	rotate_if_due(s, &s->host, CSV_HOST_FILE, iv);
	if (!s->host.f && file_open(s, &s->host, CSV_HOST_FILE, CSV_HOST_HEADER))
		return -1;
	m = open_memstream(&buf, &len);
	if (!m)
		return -1;
	csv_format_host_row(m, iv, h);
	if (fclose(m)) {
		free(buf);
		return -1;
	}
	emit(s, &s->host, buf, len);
	free(buf);
	return 0;
}

void csv_sink_forget(struct csv_sink *s, const char *vm)
{
	struct csv_vm *v = vm_find(s, vm);

	if (v)
		vm_close(s, v);
}

void csv_sink_close(struct csv_sink *s)
{
	if (!s)
		return;
	close_files(s);
	close(s->dirfd);
	free(s->dir);
	free(s);
}
