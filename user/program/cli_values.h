/* SPDX-License-Identifier: GPL-2.0 */
/* The values options take (cli.c): numbers, seconds and sizes, each 0 or -1 when not valid. */
#ifndef KT_CLI_VALUES_H
#define KT_CLI_VALUES_H

#include "csv.h"

/* A plain decimal number (no blanks, no "inf" or "nan") within [min, max]. */
int cli_decimal(const char *s, double min, double max, double *out);

/* Seconds: a decimal number > 0 and <= max. */
int cli_seconds(const char *s, double max, double *out);

/* A decimal integer from 0 up to max, digits only (fd numbers, indices in /proc links). */
int cli_digits(const char *s, long max, long *out);

/* A positive decimal integer up to max, digits only. */
int cli_positive(const char *s, long max, long *out);

/* "daily", or a size with an optional K, M or G suffix (powers of 1024), at least 64 KiB. */
int cli_rotation(const char *s, struct csv_rotation *r);

#endif /* KT_CLI_VALUES_H */
