/* SPDX-License-Identifier: GPL-2.0 */
/* One-line messages on stderr, each starting "kvmtrace-bpf: ". */
#ifndef KT_LOG_H
#define KT_LOG_H

#include <stdbool.h>

void kt_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kt_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kt_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Printed even with -q: the end of a condition a warning reported, or an operator's request
 * carried out. */
void kt_notice(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#include <stddef.h>

/* Fills a caller's "why" buffer (a one-line reason, as the modules' failures give); why may be
 * NULL. */
void kt_why(char *why, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Suppresses kt_info (for -q). Errors and warnings are always printed. */
void kt_log_quiet(bool quiet);

#endif /* KT_LOG_H */
