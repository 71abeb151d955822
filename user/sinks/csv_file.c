// SPDX-License-Identifier: GPL-2.0
/*
 * One CSV file kept safe (csv_file.h): opened append-only and never through a symlink, checked
 * for our header, cut back to whole rows after a crash or a failed write, set aside rather
 * than overwritten, compressed when rotated.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "csv_file.h"
#include "csv_rows.h"

void csv_file_close(struct csv_file *cf)
{
	if (!cf->f)
		return;
	__fpurge(cf->f);
	fclose(cf->f);
	free(cf->buf);
	cf->f = NULL;
	cf->buf = NULL;
}

void csv_file_repair(struct csv_file *cf)
{
	struct stat st;
	int fd = fileno(cf->f);

	__fpurge(cf->f);
	clearerr(cf->f);
	cf->unflushed = 0;
	if (fstat(fd, &st) || (st.st_size > cf->good && ftruncate(fd, cf->good)))
		csv_file_close(cf);
}

/* Repairs the file after a failed write or flush, keeping that failure's errno. */
static int fail_repaired(struct csv_file *cf)
{
	int err = errno;

	csv_file_repair(cf);
	errno = err;
	return -1;
}

int csv_file_put(struct csv_file *cf, const char *buf, size_t n)
{
	if (fwrite(buf, 1, n, cf->f) != n || ferror(cf->f))
		return fail_repaired(cf);
	cf->unflushed += n;
	return 0;
}

int csv_file_flush(struct csv_file *cf)
{
	if (fflush(cf->f))
		return fail_repaired(cf);
	cf->good += (off_t)cf->unflushed;
	cf->unflushed = 0;
	return 0;
}

void csv_file_check_link(struct csv_file *cf)
{
	struct stat st;

	if (!fstat(fileno(cf->f), &st)) {
		cf->good = st.st_size;
		cf->unlinked = st.st_nlink == 0;
	}
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

int csv_rename_aside(int dirfd, const char *name, const char *tag, char *out, size_t len)
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
	char aside[NAME_MAX + 1], tag[24];

	snprintf(tag, sizeof(tag), "%lld", (long long)time(NULL));
	return csv_rename_aside(dirfd, name, tag, aside, sizeof(aside));
}

int csv_file_open(struct csv_file *cf, int dirfd, const char *name, const char *header)
{
	struct stat st;
	int fd = -1, state = 2, tries, err;
	FILE *f;

	for (tries = 0; tries < 3 && state == 2; tries++) {
		/* Read-write for the header check; O_NOFOLLOW: never write through a symlink. */
		fd = openat(dirfd, name, O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
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
			if (move_aside(dirfd, name))
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
	cf->unflushed = 0;
	cf->unlinked = false;
	cf->day = (state == 0 ? time(NULL) : st.st_mtime) / 86400;
	if (state == 0) {
		if (csv_file_put(cf, header, strlen(header)) || csv_file_put(cf, "\n", 1) ||
		    csv_file_flush(cf)) {
			err = errno;
			csv_file_close(cf);
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

int csv_gzip(int dirfd, const char *name)
{
	char gzname[NAME_MAX + 1], chunk[64 * 1024];
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
