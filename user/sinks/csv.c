// SPDX-License-Identifier: GPL-2.0
/*
 * CSV sink: per-VM files in one folder, appended to in whole rows (csv_rows.c makes them).
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
#include <sys/inotify.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "csv.h"
#include "csv_file.h"

/*
 * At most this much of a VM name is kept in a file name, so "<safe>.exits.csv.<epoch>.<n>"
 * stays far below NAME_MAX (255).
 */
#define NAME_KEEP_MAX	100
#define HASH_SUFFIX_LEN	9	/* '-' and 8 hex digits */
#define SAFE_NAME_SIZE	(NAME_KEEP_MAX + HASH_SUFFIX_LEN + 1)

/*
 * VMs whose files stay open: one per VM the tracer can track, as far as the fd limit allows
 * (3 files each, with room for the tracer's other descriptors); beyond, the least recently
 * written VM's files are closed and reopened when needed.
 */
#define CSV_MAX_OPEN_VMS	KT_MAX_VMS
#define CSV_FDS_KEPT		256

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

enum csv_kind { CSV_VM, CSV_VCPU, CSV_EXITS, CSV_NR_KINDS };

static const char *const csv_suffix[CSV_NR_KINDS] = {
	[CSV_VM] = ".csv",
	[CSV_VCPU] = ".vcpu.csv",
	[CSV_EXITS] = ".exits.csv",
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
	int watch;	/* inotify of deletions in dir; -1: none, every flush checks its file */
	struct csv_rotation rotation;
	int err;	/* first write error since the last csv_sink_flush(), reported there */
	unsigned long long clock;
	int max_open;	/* VMs whose files may be open at once */
	struct csv_vm vms[CSV_MAX_OPEN_VMS];
	struct csv_file host;	/* CSV_HOST_FILE */
};

static void note_error(struct csv_sink *s, int err)
{
	if (!s->err)
		s->err = err ? err : EIO;
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
	if (csv_file_flush(cf)) {
		note_error(s, errno);
		return;
	}
	csv_file_close(cf);
	strftime(tag, sizeof(tag), "%Y%m%dT%H%M%SZ", gmtime(&now));
	if (csv_rename_aside(s->dirfd, name, tag, aside, sizeof(aside)) ||
	    csv_gzip(s->dirfd, aside))
		note_error(s, errno);
}

/* Hands one record's rows for one file to stdio; I/O errors are kept for csv_sink_flush(). */
static void emit(struct csv_sink *s, struct csv_file *cf, const char *buf, size_t n)
{
	/* Flush first when the chunk would not fit, so each write(2) ends at a line end. */
	if (__fpending(cf->f) + n > __fbufsize(cf->f) && csv_file_flush(cf)) {
		note_error(s, errno);
		return;
	}
	if (csv_file_put(cf, buf, n))
		note_error(s, errno);
}

static void vm_close(struct csv_sink *s, struct csv_vm *v)
{
	int k;

	for (k = 0; k < CSV_NR_KINDS; k++) {
		if (v->file[k].f && csv_file_flush(&v->file[k]))
			note_error(s, errno);
		csv_file_close(&v->file[k]);
	}
	v->in_use = false;
}

/* The least recently written VM with files open, other than keep; NULL if none. */
static struct csv_vm *vm_lru(struct csv_sink *s, const struct csv_vm *keep)
{
	struct csv_vm *lru = NULL;
	int i;

	for (i = 0; i < s->max_open; i++)
		if (s->vms[i].in_use && &s->vms[i] != keep && (!lru || s->vms[i].used < lru->used))
			lru = &s->vms[i];
	return lru;
}

/*
 * Opens a file of VM keep (NULL: the host's). Out of descriptors, which the VMs' own sources
 * share (their KVM statistics, /proc files) and the budget of open_vms_allowed() does not
 * count, other VMs' files make room, the least recently written first: their next rows reopen
 * them.
 */
static int file_open(struct csv_sink *s, const struct csv_vm *keep, struct csv_file *cf,
		     const char *name, const char *header)
{
	struct csv_vm *lru;

	while (csv_file_open(cf, s->dirfd, name, header)) {
		lru = errno == EMFILE ? vm_lru(s, keep) : NULL;
		if (!lru)
			return -1;
		vm_close(s, lru);
	}
	return 0;
}

static int write_rows(struct csv_sink *s, struct csv_vm *v, enum csv_kind k,
		      const struct interval_info *iv, const struct vm_record *r)
{
	struct csv_file *cf = &v->file[k];
	char name[SAFE_NAME_SIZE + 16], header[CSV_VM_HEADER_MAX];
	const char *hdr;
	char *buf = NULL;
	size_t len = 0, i;
	FILE *m;

	snprintf(name, sizeof(name), "%s%s", v->safe, csv_suffix[k]);
	/* The VM file's columns depend on the run's counters. */
	hdr = k == CSV_VM ? csv_vm_header(r, header, sizeof(header)) :
	      k == CSV_VCPU ? CSV_VCPU_HEADER : CSV_EXITS_HEADER;
	rotate_if_due(s, cf, name, iv);
	if (!cf->f && file_open(s, v, cf, name, hdr))
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

static struct csv_vm *vm_find(struct csv_sink *s, const char *vm)
{
	int i;

	for (i = 0; i < s->max_open; i++) {
		/* Compared as stored: at most KT_NAME_MAX - 1 characters. */
		if (s->vms[i].in_use && !strncmp(s->vms[i].vm, vm, KT_NAME_MAX - 1))
			return &s->vms[i];
	}
	return NULL;
}

static struct csv_vm *vm_get(struct csv_sink *s, const char *vm)
{
	struct csv_vm *v = vm_find(s, vm);
	size_t n;
	int i;

	if (v)
		return v;
	for (i = 0; i < s->max_open && !v; i++)
		if (!s->vms[i].in_use)
			v = &s->vms[i];
	if (!v) {
		/* Full: close the least recently written VM; its files are reopened if needed. */
		v = vm_lru(s, NULL);
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

/*
 * A file deleted under us is found by an fstat after its flush; where inotify can watch the
 * folder, only after it reported a deletion there: 3 system calls per VM and interval, not 6.
 */
static void watch_folder(struct csv_sink *s)
{
	if (s->watch >= 0)
		close(s->watch);
	s->watch = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (s->watch >= 0 && inotify_add_watch(s->watch, s->dir, IN_DELETE | IN_DELETE_SELF |
					       IN_MOVE_SELF | IN_ONLYDIR) < 0) {
		close(s->watch);
		s->watch = -1;
	}
}

/* Whether a file of ours may have been deleted since the last flush: drains the events. */
static bool folder_changed(struct csv_sink *s)
{
	char events[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool changed = false;
	ssize_t n;

	if (s->watch < 0)
		return true;
	while ((n = read(s->watch, events, sizeof(events))) > 0)
		changed = true;
	return changed || errno != EAGAIN;
}

static int open_vms_allowed(void)
{
	struct rlimit fds;
	rlim_t n;

	if (getrlimit(RLIMIT_NOFILE, &fds) || fds.rlim_cur == RLIM_INFINITY)
		return CSV_MAX_OPEN_VMS;
	n = fds.rlim_cur > 2 * CSV_FDS_KEPT ? (fds.rlim_cur - CSV_FDS_KEPT) / CSV_NR_KINDS : 16;
	return n < CSV_MAX_OPEN_VMS ? (int)n : CSV_MAX_OPEN_VMS;
}

struct csv_sink *csv_sink_open(const char *dir)
{
	struct csv_sink *s;
	int err;

	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->max_open = open_vms_allowed();
	s->watch = -1;
	s->dir = strdup(dir);
	s->dirfd = s->dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (s->dirfd < 0) {
		err = s->dir ? errno : ENOMEM;
		free(s->dir);
		free(s);
		errno = err;
		return NULL;
	}
	watch_folder(s);
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

	for (i = 0; i < s->max_open; i++) {
		if (s->vms[i].in_use)
			vm_close(s, &s->vms[i]);
	}
	if (s->host.f && csv_file_flush(&s->host))
		note_error(s, errno);
	csv_file_close(&s->host);
}

int csv_sink_reopen(struct csv_sink *s)
{
	int fd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	close_files(s);
	if (fd < 0)
		return -1;	/* keep the old folder: better than nowhere */
	close(s->dirfd);
	s->dirfd = fd;
	watch_folder(s);
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

static void sink_flush_file(struct csv_sink *s, struct csv_file *cf, bool check_link)
{
	if (!cf->f)
		return;
	if (csv_file_flush(cf)) {
		note_error(s, errno);
		return;
	}
	if (!cf->f || !check_link)
		return;
	/* Deleted under us: reopen next time, not write into a lost inode. */
	csv_file_check_link(cf);
	if (cf->unlinked)
		csv_file_close(cf);
}

int csv_sink_flush(struct csv_sink *s)
{
	bool check_links = folder_changed(s);
	int i, k, err;

	for (i = 0; i < s->max_open; i++) {
		struct csv_vm *v = &s->vms[i];

		if (!v->in_use)
			continue;
		for (k = 0; k < CSV_NR_KINDS; k++)
			sink_flush_file(s, &v->file[k], check_links);
	}
	sink_flush_file(s, &s->host, check_links);
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
	if (!s->host.f && file_open(s, NULL, &s->host, CSV_HOST_FILE, CSV_HOST_HEADER))
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
	if (s->watch >= 0)
		close(s->watch);
	free(s->dir);
	free(s);
}
