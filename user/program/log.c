// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <stdio.h>

#include "log.h"

static bool quiet_info;

void kt_log_quiet(bool quiet)
{
	quiet_info = quiet;
}

static void emit(const char *kind, const char *fmt, va_list ap)
{
	/* One fprintf per line so lines from several threads never interleave. */
	char line[1024];

	vsnprintf(line, sizeof(line), fmt, ap);
	fprintf(stderr, "kvmtrace-bpf: %s%s\n", kind, line);
}

void kt_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit("", fmt, ap);
	va_end(ap);
}

void kt_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit("warning: ", fmt, ap);
	va_end(ap);
}

void kt_info(const char *fmt, ...)
{
	va_list ap;

	if (quiet_info)
		return;
	va_start(ap, fmt);
	emit("", fmt, ap);
	va_end(ap);
}

void kt_notice(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit("", fmt, ap);
	va_end(ap);
}

void kt_why(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!why || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
}
