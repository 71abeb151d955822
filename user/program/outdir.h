/* SPDX-License-Identifier: GPL-2.0 */
/* Validation of the output folder given with -o, before anything is traced. */
#ifndef KT_OUTDIR_H
#define KT_OUTDIR_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Checks that dir is a folder we can write CSVs into and not a system folder (itself or
 * through a symlink). With create, a missing dir is made (mode 0750), its missing parents too,
 * following no symbolic link. Returns 0, or -1 with a one-line reason that says what to do in
 * why.
 */
int outdir_check(const char *dir, bool create, char *why, size_t len);

/* Is path (absolute, resolved) a system folder or inside one? */
bool outdir_is_system(const char *path);

#endif /* KT_OUTDIR_H */
