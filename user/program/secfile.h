/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Files a root daemon takes settings or secrets from (the -C config file, the plug's
 * credentials): read only when nobody but root or this user could have written them.
 */
#ifndef KT_SECFILE_H
#define KT_SECFILE_H

#include <stddef.h>
#include <stdio.h>

enum secfile_kind {
	SECFILE_SETTINGS,	/* others may read it, but not change it */
	SECFILE_SECRET,		/* others may neither read nor change it (execute bits are fine) */
};

/*
 * Opens path for reading if it is a regular file (a FIFO is refused, not waited on) that
 * belongs to root or this user and whose group and others have none of the permissions kind
 * forbids. The checks are made on the open file, so the file checked is the file read.
 * NULL with errno set (ENOENT: there is no such file) and a one-line reason in why that names
 * the file as what: "config file '/etc/x.conf' is writable by group or others (mode 0666):
 * chmod go-w it".
 */
FILE *secfile_open(const char *path, enum secfile_kind kind, const char *what, char *why,
		   size_t len);

#endif /* KT_SECFILE_H */
