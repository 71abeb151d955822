// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "outdir.h"

bool outdir_is_system(const char *path)
{
	static const char *const system_dirs[] = {
		"/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/proc",
		"/sbin", "/sys", "/usr",
	};
	size_t i, n;

	if (!strcmp(path, "/"))
		return true;
	for (i = 0; i < sizeof(system_dirs) / sizeof(system_dirs[0]); i++) {
		n = strlen(system_dirs[i]);
		if (!strncmp(path, system_dirs[i], n) && (path[n] == '\0' || path[n] == '/'))
			return true;
	}
	return false;
}

/* Creating an unnamed file is the test of writability that holds for root, whom access(2)
 * lets write into immutable folders. */
static int try_write(const char *dir)
{
	int fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	char path[PATH_MAX + 32];

	if (fd >= 0) {
		close(fd);
		return 0;
	}
	if (errno != EOPNOTSUPP && errno != EISDIR)
		return -1;
	/* Filesystems without O_TMPFILE. */
	snprintf(path, sizeof(path), "%s/.kvmtrace-bpf-XXXXXX", dir);
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	close(fd);
	unlink(path);
	return 0;
}

/*
 * Makes dir and its missing parents (mode 0750), a component at a time from an open folder,
 * and follows no symbolic link on the way: a link in the path, or one put in place of a folder
 * just made, is refused (ELOOP or ENOTDIR), never written through.
 */
static int make_folders(const char *dir)
{
	char path[PATH_MAX], *comp, *save;
	int fd, next, err = 0;

	if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(dir[0] == '/' ? "/" : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	for (comp = strtok_r(path, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
		if (mkdirat(fd, comp, 0750) && errno != EEXIST) {
			err = errno;
			break;
		}
		next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0) {
			err = errno;
			break;
		}
		close(fd);
		fd = next;
	}
	close(fd);
	errno = err;
	return err ? -1 : 0;
}

/* The absolute form of dir, without resolving links (it may not exist yet). */
static void absolute(const char *dir, char *out, size_t len)
{
	char cwd[PATH_MAX];

	if (dir[0] == '/' || !getcwd(cwd, sizeof(cwd)))
		snprintf(out, len, "%s", dir);
	else
		snprintf(out, len, "%s/%s", strcmp(cwd, "/") ? cwd : "", dir);
}

int outdir_check(const char *dir, bool create, char *why, size_t len)
{
	char real[PATH_MAX], abs[2 * PATH_MAX];
	struct stat st;

	if (lstat(dir, &st) && errno == ENOENT && create) {
		absolute(dir, abs, sizeof(abs));
		if (outdir_is_system(abs)) {
			snprintf(why, len, "output folder '%s' would be in a system folder: choose a "
				 "folder of your own with -o", dir);
			return -1;
		}
		if (make_folders(dir)) {
			snprintf(why, len, "cannot create output folder '%s': %s%s: create it or "
				 "choose another with -o", dir, strerror(errno),
				 errno == ELOOP || errno == ENOTDIR ?
				 " (a symbolic link or a file in its path is not followed)" : "");
			return -1;
		}
	}
	if (lstat(dir, &st)) {
		snprintf(why, len, "output folder '%s': %s: create it or choose another with -o",
			 dir, strerror(errno));
		return -1;
	}
	if (!realpath(dir, real)) {
		snprintf(why, len, "output folder '%s': %s: choose another with -o", dir,
			 strerror(errno));
		return -1;
	}
	if (outdir_is_system(real)) {
		snprintf(why, len, "output folder '%s'%s%s is a system folder: choose a folder of "
			 "your own with -o", dir, S_ISLNK(st.st_mode) ? " -> " : "",
			 S_ISLNK(st.st_mode) ? real : "");
		return -1;
	}
	if (stat(real, &st) || !S_ISDIR(st.st_mode)) {
		snprintf(why, len, "output folder '%s' is not a folder: choose a folder with -o",
			 dir);
		return -1;
	}
	if (try_write(real)) {
		snprintf(why, len, "cannot write in output folder '%s': %s: choose another with -o",
			 dir, strerror(errno));
		return -1;
	}
	return 0;
}
