/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One file of the CSV sink, kept safe: appended to only in whole rows under our header, never
 * opened through a symlink, and never overwritten (a foreign file is set aside).
 */
#ifndef KT_CSV_FILE_H
#define KT_CSV_FILE_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

/* Each file's stdio buffer: rows are handed over whole, at most this much at a time. */
#define CSV_FILE_BUF		(32 * 1024)

struct csv_file {
	FILE *f;	/* NULL: closed */
	char *buf;	/* our own stdio buffer, so its size is known */
	off_t good;	/* file size at the last successful flush: ends at a line end */
	size_t unflushed;	/* bytes handed to stdio since then */
	long day;	/* UTC day (days since 1970) of its last change when opened, for rotation */
	bool unlinked;	/* deleted under us, as csv_file_check_link() found */
};

/*
 * Opens name in the folder dirfd for appending (0640, O_NOFOLLOW), writing header when it is
 * new or empty. A file that does not start with header is renamed aside (<name>.<unix time>)
 * first; a torn last line (a crash mid-write) is cut off. Returns 0, or -1 with errno.
 */
int csv_file_open(struct csv_file *cf, int dirfd, const char *name, const char *header);

/* Hands n bytes (whole rows) to stdio. Returns 0, or -1 with errno after csv_file_repair(). */
int csv_file_put(struct csv_file *cf, const char *buf, size_t n);

/*
 * Flushes the file; its good size grows by what was flushed, without asking the kernel.
 * Returns 0, or -1 with errno after repairing it (csv_file_repair()).
 */
int csv_file_flush(struct csv_file *cf);

/* After a flush: notes from one fstat whether the file is still linked, and its true size. */
void csv_file_check_link(struct csv_file *cf);

/*
 * After a failed write: drops what stdio still holds and cuts the file back to its last good
 * size, so no torn row stays in it. If even that fails, the file is closed; reopening it cuts
 * a torn last line.
 */
void csv_file_repair(struct csv_file *cf);

/* Closes the file; callers flush first, and what is left unflushed is dropped. */
void csv_file_close(struct csv_file *cf);

/*
 * Renames name to "<name>.<tag>" (".<tag>.N" if taken), never over another file; the new
 * name in out. Returns 0, or -1 with errno.
 */
int csv_rename_aside(int dirfd, const char *name, const char *tag, char *out, size_t len);

/* Compresses a closed file to <name>.gz (0640) and removes it; on failure both stay. */
int csv_gzip(int dirfd, const char *name);

#endif /* KT_CSV_FILE_H */
