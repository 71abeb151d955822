/* SPDX-License-Identifier: GPL-2.0 */
/*
 * CSV sink: one file per VM (<safe name>.csv) in the output folder, plus <safe name>.vcpu.csv
 * and <safe name>.exits.csv, each with a header row, and the host's file. Files are appended to
 * across runs, only ever in whole rows, and never opened through a symlink (csv_file.h); the
 * rows are csv_rows.h's.
 */
#ifndef KT_CSV_H
#define KT_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "attribution.h"
#include "csv_rows.h"
#include "record.h"

/* The host's file beside the VMs': '@' never appears in a VM's file name (csv_safe_name). */
#define CSV_HOST_FILE "@host.csv"

/*
 * Writes a file-name-safe form of a VM name into out (size len, at least 16): characters other
 * than [A-Za-z0-9_.+-] become '_', a leading '.' becomes '_', and when anything was changed a
 * '-' and 8 hex digits of a hash of the original name are appended, so distinct names stay
 * distinct. An empty name becomes "vm" plus that hash ("vm-811c9dc5"), so it differs from a VM
 * named "vm". Never contains '/' and is never "." or "..".
 * Returns 0, or -1 if len is too small.
 */
int csv_safe_name(const char *name, char *out, size_t len);

struct csv_sink;

/* Optional rotation of the sink's files: at a UTC day change, or at a size. */
struct csv_rotation {
	bool daily;
	off_t max_bytes;	/* 0: no size limit */
};

/* Opens the sink on an existing folder (dirfd kept, O_DIRECTORY). NULL with errno on failure. */
struct csv_sink *csv_sink_open(const char *dir);

/*
 * Appends the record's rows to its VM's files, creating them (0640, O_NOFOLLOW) with a header
 * when new or empty. A file whose header differs from ours is renamed aside
 * (<name>.csv.<epoch>) so no written data is lost. Returns 0, or -1 with errno set.
 */
int csv_sink_write(struct csv_sink *s, const struct interval_info *iv, const struct vm_record *r);

/* Appends the interval's host row (power and its split) to DIR/@host.csv. */
int csv_sink_write_host(struct csv_sink *s, const struct interval_info *iv,
			const struct host_record *h);

/*
 * Rotates the sink's files from now on: a full file is renamed <file>.<UTC time> and compressed
 * (<file>.<UTC time>.gz, zlib) before the next row starts a new one.
 */
void csv_sink_set_rotation(struct csv_sink *s, const struct csv_rotation *r);

/*
 * Closes every file and the folder and opens them again by name (SIGHUP, after logrotate or an
 * operator moved them). Returns 0, or -1 if the folder cannot be opened (the old one is kept).
 */
int csv_sink_reopen(struct csv_sink *s);

/* Flushes every open file (after each interval). Returns 0, or -1 if a write failed. */
int csv_sink_flush(struct csv_sink *s);

/* Closes the files of a VM that ended (after its final row). */
void csv_sink_forget(struct csv_sink *s, const char *vm);

void csv_sink_close(struct csv_sink *s);

#endif /* KT_CSV_H */
