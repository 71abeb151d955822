// SPDX-License-Identifier: GPL-2.0
/* Settings and secrets files, opened only when nobody else could have written them. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "secfile.h"

static const struct {
	mode_t forbidden;	/* of group and others */
	const char *says;
	const char *fix;
} rules[] = {
	/* Settings tell a root daemon where to write: nobody else may edit them. */
	[SECFILE_SETTINGS] = { S_IWGRP | S_IWOTH, "writable by group or others", "chmod go-w it" },
	[SECFILE_SECRET] = { S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH,
			     "readable or writable by others", "chmod 600 it" },
};

FILE *secfile_open(const char *path, enum secfile_kind kind, const char *what, char *why,
		   size_t len)
{
	struct stat st;
	FILE *f;
	int fd, err;

	/* O_NONBLOCK: a FIFO given by mistake is refused below instead of waiting for a writer. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		err = errno;
		snprintf(why, len, "cannot read %s '%s': %s", what, path, strerror(err));
		goto fail;
	}
	if (fstat(fd, &st)) {
		err = errno;
		snprintf(why, len, "cannot read %s '%s': %s", what, path, strerror(err));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		err = EINVAL;
		snprintf(why, len, "%s '%s' is not a regular file", what, path);
		goto fail;
	}
	if (st.st_mode & rules[kind].forbidden) {
		err = EACCES;
		snprintf(why, len, "%s '%s' is %s (mode %04o): %s", what, path, rules[kind].says,
			 (unsigned int)(st.st_mode & 07777), rules[kind].fix);
		goto fail;
	}
	/* Someone else's file could say anything; ours or root's only, as ssh does. */
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		err = EACCES;
		snprintf(why, len, "%s '%s' belongs to uid %u, not to root or this user", what,
			 path, (unsigned int)st.st_uid);
		goto fail;
	}
	f = fdopen(fd, "r");
	if (f)
		return f;
	err = errno;
	snprintf(why, len, "cannot read %s '%s': %s", what, path, strerror(err));
fail:
	if (fd >= 0)
		close(fd);
	errno = err;
	return NULL;
}
